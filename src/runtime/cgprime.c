/* cgprime.c: see cgprime.h */
#define _GNU_SOURCE
#include "runtime/cgprime.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

char *
cgprime_procs_path (const char *text, const char *root, const char *controller)
{
  size_t clen = strlen (controller);
  for (const char *line = text; line && *line;)
    {
      const char *end = strchrnul (line, '\n');
      /* "ID:CONTROLLERS:PATH", CONTROLLERS a comma-separated list */
      const char *c = memchr (line, ':', (size_t)(end - line));
      const char *p = c ? memchr (c + 1, ':', (size_t)(end - c - 1)) : NULL;
      for (const char *w = c ? c + 1 : NULL; w && p && w < p;)
        {
          const char *we = memchr (w, ',', (size_t)(p - w));
          if (we == NULL)
            we = p;
          if ((size_t)(we - w) == clen && memcmp (w, controller, clen) == 0
              && p[1] == '/')
            {
              char *out = NULL;
              if (asprintf (&out, "%s/%s%.*s%scgroup.procs", root, controller,
                            (int)(end - p - 1), p + 1,
                            end[-1] == '/' ? "" : "/")
                  < 0)
                return NULL;
              return out;
            }
          w = we + 1;
        }
      line = *end ? end + 1 : NULL;
    }
  return NULL;
}

static void *
prime (void *arg)
{
  struct cgprime *p = arg;
  int fd = open (p->procs, O_WRONLY | O_CLOEXEC);
  if (fd >= 0)
    {
      char pid[24];
      int n = snprintf (pid, sizeof pid, "%d", (int)getpid ());
      /* a failure only means no head start */
      if (write (fd, pid, (size_t)n) < 0)
        {
        }
      close (fd);
    }
  return NULL;
}

void
cgprime_start (struct cgprime *p, const char *text)
{
  memset (p, 0, sizeof *p);
  if (text == NULL)
    return;
  /* pids: a hierarchy both runtimes join, and a cheap one */
  p->procs = cgprime_procs_path (text, "/sys/fs/cgroup", "pids");
  if (p->procs == NULL)
    return;
  /* the thread must never take a signal meant for the runner, which
   * reads them from a signalfd */
  sigset_t all, old;
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  p->started = pthread_create (&p->thread, NULL, prime, p) == 0;
  pthread_sigmask (SIG_SETMASK, &old, NULL);
}

void
cgprime_finish (struct cgprime *p)
{
  if (p->started)
    pthread_join (p->thread, NULL);
  free (p->procs);
  memset (p, 0, sizeof *p);
}
