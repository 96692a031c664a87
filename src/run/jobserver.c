/* jobserver.c: see jobserver.h */
#define _GNU_SOURCE
#include "run/jobserver.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/strv.h"

static bool
fd_open (int fd)
{
  return fd >= 0 && fcntl (fd, F_GETFD) >= 0;
}

static bool
parse_fds (const char *v, int *r, int *w)
{
  char *end;
  long a = strtol (v, &end, 10);
  if (end == v || *end != ',')
    return false;
  const char *p = end + 1;
  long b = strtol (p, &end, 10);
  if (end == p || *end != '\0' || a < 0 || b < 0 || a > 1 << 20 || b > 1 << 20)
    return false;
  *r = (int)a;
  *w = (int)b;
  return true;
}

/* One word of MAKEFLAGS: rewrite it, keep it, or drop it (NULL). */
static char *
rewrite_word (const char *word, int first_fd, struct jobserver *js)
{
  static const char *const keys[]
      = { "--jobserver-auth=", "--jobserver-fds=" };
  for (size_t k = 0; k < 2; k++)
    {
      size_t n = strlen (keys[k]);
      if (strncmp (word, keys[k], n) != 0)
        continue;
      const char *v = word + n;
      if (strncmp (v, "fifo:", 5) == 0)
        {
          if (js->fifo == NULL)
            js->fifo = strdup (v + 5);
          return strdup (word);
        }
      int r, w;
      if (!parse_fds (v, &r, &w) || !fd_open (r) || !fd_open (w))
        return NULL;
      if (js->read_fd < 0)
        {
          js->read_fd = r;
          js->write_fd = w;
        }
      char *out = NULL;
      if (asprintf (&out, "%s%d,%d", keys[k], first_fd, first_fd + 1) < 0)
        return NULL;
      return out;
    }
  return strdup (word);
}

int
jobserver_parse (const char *makeflags, int first_fd, struct jobserver *out,
                 ohr_error_t *err)
{
  struct jobserver js = { .read_fd = -1, .write_fd = -1, .fifo_fd = -1 };
  if (makeflags == NULL)
    {
      *out = js;
      return 0;
    }
  cleanup_free char *copy = strdup (makeflags);
  size_t cap = strlen (makeflags) + 64, len = 0;
  cleanup_free char *res = malloc (cap);
  if (copy == NULL || res == NULL)
    return ohr_error_nomem (err);
  res[0] = '\0';
  char *save = NULL;
  for (char *w = strtok_r (copy, " ", &save); w;
       w = strtok_r (NULL, " ", &save))
    {
      cleanup_free char *nw = rewrite_word (w, first_fd, &js);
      if (nw == NULL)
        continue;
      size_t n = strlen (nw);
      if (len + n + 2 > cap)
        {
          cap = (len + n + 2) * 2;
          char *nr = realloc (res, cap);
          if (nr == NULL)
            {
              jobserver_clear (&js);
              return ohr_error_nomem (err);
            }
          res = nr;
        }
      len += (size_t)sprintf (res + len, "%s%s", len ? " " : "", nw);
    }
  js.makeflags = steal_pointer (&res);
  *out = js;
  return 0;
}

int
jobserver_open_fifo (struct jobserver *js, int first_fd, ohr_error_t *err)
{
  if (js->fifo == NULL || js->makeflags == NULL)
    return 0;
  cleanup_free char *word = NULL, *fds = NULL;
  if (asprintf (&word, "--jobserver-auth=fifo:%s", js->fifo) < 0
      || asprintf (&fds, "--jobserver-auth=%d,%d", first_fd, first_fd + 1) < 0)
    return ohr_error_nomem (err);
  char *at = strstr (js->makeflags, word);
  if (at == NULL)
    return 0;
  /* O_RDWR: never blocks on open, whoever else has it open */
  int fd = open (js->fifo, O_RDWR | O_CLOEXEC);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_CONTEXT,
                            "cannot open the jobserver fifo '%s'", js->fifo);
  char *nm = NULL;
  if (asprintf (&nm, "%.*s%s%s", (int)(at - js->makeflags), js->makeflags, fds,
                at + strlen (word))
      < 0)
    {
      close (fd);
      return ohr_error_nomem (err);
    }
  free (js->makeflags);
  js->makeflags = nm;
  free (js->fifo);
  js->fifo = NULL;
  js->fifo_fd = js->read_fd = js->write_fd = fd;
  return 0;
}

void
jobserver_clear (struct jobserver *js)
{
  free (js->fifo);
  free (js->makeflags);
  if (js->fifo_fd >= 0)
    close (js->fifo_fd);
  js->fifo = js->makeflags = NULL;
  js->read_fd = js->write_fd = js->fifo_fd = -1;
}
