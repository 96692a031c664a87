/* procfs.c: see procfs.h */
#define _GNU_SOURCE
#include "util/procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
