/* procfs.c: see procfs.h */
#define _GNU_SOURCE
#include "util/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/strv.h"

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

int
procfs_list_pids (const char *proc_dir, char ***out, ohr_error_t *err)
{
  cleanup_dir DIR *d = opendir (proc_dir);
  if (d == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot list '%s'",
                            proc_dir);
  cleanup_strv char **v = NULL;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] >= '1' && de->d_name[0] <= '9'
        && strspn (de->d_name, "0123456789") == strlen (de->d_name)
        && strv_push (&v, de->d_name) < 0)
      return ohr_error_nomem (err);
  if (v == NULL && (v = calloc (1, sizeof *v)) == NULL)
    return ohr_error_nomem (err);
  *out = steal_pointer (&v);
  return 0;
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
