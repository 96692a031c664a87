/* memcg.c: see memcg.h */
#define _GNU_SOURCE
#include "runtime/memcg.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/cgprime.h"
#include "util/cleanup.h"
#include "util/fs.h"

char *
memcg_parent_dir (const char *text, const char *root)
{
  char *procs = cgprime_procs_path (text, root, "memory");
  if (procs == NULL)
    return NULL;
  /* ".../cgroup.procs" -> "..." */
  char *slash = strrchr (procs, '/');
  *slash = '\0';
  return procs;
}

char *
memcg_parent_usable (const char *text)
{
  char *dir = text ? memcg_parent_dir (text, "/sys/fs/cgroup") : NULL;
  if (dir && access (dir, W_OK | X_OK) < 0)
    {
      free (dir);
      return NULL;
    }
  return dir;
}

char *
memcg_parent_here (void)
{
  cleanup_free char *text = NULL;
  ohr_error_t e = NULL;
  if (fs_read_file ("/proc/self/cgroup", 1 << 16, &text, NULL, &e) < 0)
    {
      ohr_error_free (&e);
      return NULL;
    }
  return memcg_parent_usable (text);
}

static int
write_at (int dfd, const char *file, const char *value)
{
  cleanup_close int fd = openat (dfd, file, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  size_t len = strlen (value);
  ssize_t n = write (fd, value, len);
  return n == (ssize_t)len ? 0 : -1;
}

int
memcg_create (struct memcg *m, const char *parent, const char *name,
              uint64_t limit, ohr_error_t *err)
{
  *m = (struct memcg)MEMCG_INIT;
  cleanup_free char *dir = fs_path_join (parent, name);
  if (dir == NULL)
    return ohr_error_nomem (err);
  if (mkdir (dir, 0700) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_RUNTIME,
                            "cannot make the memory cgroup %s", dir);
  cleanup_close int dfd = open (dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  char value[24];
  snprintf (value, sizeof value, "%" PRIu64, limit);
  const char *failed = NULL;
  if (dfd < 0)
    failed = dir;
  else if (write_at (dfd, "memory.limit_in_bytes", value) < 0)
    failed = "memory.limit_in_bytes";
  /* absent without swap accounting: then there is no swap to bound */
  else if (write_at (dfd, "memory.memsw.limit_in_bytes", value) < 0
           && errno != ENOENT)
    failed = "memory.memsw.limit_in_bytes";
  if (failed == NULL)
    {
      m->procs_fd = openat (dfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
      if (m->procs_fd < 0)
        failed = "cgroup.procs";
    }
  if (failed)
    {
      int e = errno;
      rmdir (dir);
      return ohr_error_errno (err, e, OHR_ERR_RUNTIME,
                              "cannot set up the memory cgroup %s (%s)", dir,
                              failed);
    }
  m->dir = steal_pointer (&dir);
  return 0;
}

uint64_t
memcg_oom_kills (const struct memcg *m)
{
  if (m->dir == NULL)
    return 0;
  cleanup_free char *path = fs_path_join (m->dir, "memory.oom_control");
  cleanup_free char *text = NULL;
  ohr_error_t e = NULL;
  if (path == NULL || fs_read_file (path, 4096, &text, NULL, &e) < 0)
    {
      ohr_error_free (&e);
      return 0;
    }
  /* "oom_kill_disable 0\nunder_oom 0\noom_kill 1\n" */
  for (const char *p = text; p && *p;
       p = strchr (p, '\n') ? strchr (p, '\n') + 1 : NULL)
    {
      uint64_t n;
      if (sscanf (p, "oom_kill %" SCNu64, &n) == 1)
        return n;
    }
  return 0;
}

/* An emptied cgroup can stay busy for a moment while its last exiting
 * task is released: a few short waits, then the sweep's turn. */
static bool
remove_dir (const char *dir)
{
  for (int i = 0; i < 20; i++)
    {
      if (rmdir (dir) == 0 || errno == ENOENT)
        return true;
      if (errno != EBUSY)
        return false;
      usleep (1000);
    }
  return false;
}

bool
memcg_remove (struct memcg *m)
{
  if (m->procs_fd >= 0)
    close (m->procs_fd);
  m->procs_fd = -1;
  if (m->dir == NULL)
    return true;
  bool ok = remove_dir (m->dir);
  free (m->dir);
  m->dir = NULL;
  return ok;
}

bool
memcg_remove_stale (const char *parent, const char *name)
{
  cleanup_free char *dir = fs_path_join (parent, name);
  if (dir == NULL || !fs_is_dir (dir))
    return false;
  return rmdir (dir) == 0;
}
