/* proc.c: see proc.h */
#define _GNU_SOURCE
#include "util/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"

#define CAPTURE_MAX (1 << 20)

struct capture
{
  char *buf;
  size_t len;
};

static void
append (struct capture *c, const char *data, size_t n)
{
  if (c->len + n > CAPTURE_MAX)
    n = CAPTURE_MAX - c->len;
  char *nb = realloc (c->buf, c->len + n + 1);
  if (nb == NULL)
    return;
  c->buf = nb;
  memcpy (c->buf + c->len, data, n);
  c->len += n;
  c->buf[c->len] = '\0';
}

static void
collect (int out_fd, int err_fd, struct capture *out, struct capture *err)
{
  struct pollfd p[2] = { { .fd = out_fd, .events = POLLIN },
                         { .fd = err_fd, .events = POLLIN } };
  while (p[0].fd >= 0 || p[1].fd >= 0)
    {
      if (poll (p, 2, -1) < 0 && errno != EINTR)
        return;
      for (int i = 0; i < 2; i++)
        {
          if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
          char buf[8192];
          ssize_t n = read (p[i].fd, buf, sizeof buf);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0)
            p[i].fd = -1;
          else
            append (i == 0 ? out : err, buf, (size_t)n);
        }
    }
}

int
proc_run (char *const *argv, struct proc_result *res, ohr_error_t *err)
{
  int o[2], e[2];
  if (pipe2 (o, O_CLOEXEC) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "pipe");
  if (pipe2 (e, O_CLOEXEC) < 0)
    {
      close (o[0]);
      close (o[1]);
      return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "pipe");
    }
  pid_t pid = fork ();
  if (pid == 0)
    {
      dup2 (o[1], 1);
      dup2 (e[1], 2);
      execv (argv[0], argv);
      _exit (127);
    }
  close (o[1]);
  close (e[1]);
  struct capture out = { 0 }, errc = { 0 };
  if (pid > 0)
    collect (o[0], e[0], &out, &errc);
  close (o[0]);
  close (e[0]);
  if (pid < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot fork");
  int status = 0;
  while (waitpid (pid, &status, 0) < 0 && errno == EINTR)
    ;
  res->status
      = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  res->out = out.buf ? out.buf : strdup ("");
  res->err = errc.buf ? errc.buf : strdup ("");
  return 0;
}

void
proc_result_clear (struct proc_result *r)
{
  free (r->out);
  free (r->err);
  r->out = r->err = NULL;
}
