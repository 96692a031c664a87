/* procfs.c: see procfs.h */
#define _GNU_SOURCE
#include "util/procfs.h"

#include <fcntl.h>
#include <stdlib.h>
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
