/* fuzz-tmpdir.h: a scratch directory for a fuzz target, PARENT/NAME-PID.
 * libFuzzer ends a run with _Exit or a signal, so no exit handler removes
 * it: each start removes those of processes that are gone instead. */
#ifndef OHR_FUZZ_TMPDIR_H
#define OHR_FUZZ_TMPDIR_H

#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static inline void
fuzz_tmpdir (const char *parent, const char *name, char *out, size_t size)
{
  DIR *d = opendir (parent);
  struct dirent *de;
  size_t n = strlen (name);
  while (d && (de = readdir (d)) != NULL)
    {
      char *end = NULL;
      if (strncmp (de->d_name, name, n) != 0 || de->d_name[n] != '-')
        continue;
      long pid = strtol (de->d_name + n + 1, &end, 10);
      if (*end || pid <= 0 || (kill ((pid_t)pid, 0) < 0 && errno == EPERM)
          || kill ((pid_t)pid, 0) == 0)
        continue;
      char cmd[512];
      snprintf (cmd, sizeof cmd, "rm -rf '%s/%s'", parent, de->d_name);
      if (system (cmd) != 0)
        fprintf (stderr, "%s: cannot remove %s/%s\n", name, parent,
                 de->d_name);
    }
  if (d)
    closedir (d);
  snprintf (out, size, "%s/%s-%d", parent, name, (int)getpid ());
  if (mkdir (out, 0700) < 0)
    abort ();
}

#endif
