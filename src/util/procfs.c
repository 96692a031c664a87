/* procfs.c: see procfs.h */
#define _GNU_SOURCE
#include "util/procfs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

long
procfs_read_long (const char *path, long missing)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return missing;
  char buf[32];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return missing;
  buf[n] = '\0';
  return strtol (buf, NULL, 10);
}

unsigned long long
procfs_start_time (long pid)
{
  char path[64], buf[1024];
  snprintf (path, sizeof path, "/proc/%ld/stat", pid);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return 0;
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return 0;
  buf[n] = '\0';
  /* "pid (comm) state ...": comm may hold spaces and parentheses; the
   * fields after the last ")" start with " state", field 3: step to the space
   * before field 22 */
  char *p = strrchr (buf, ')');
  if (p == NULL)
    return 0;
  p++;
  for (int field = 3; field < 22 && p; field++)
    p = strchr (p + 1, ' ');
  return p ? strtoull (p + 1, NULL, 10) : 0;
}
