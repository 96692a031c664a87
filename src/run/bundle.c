/* bundle.c: see bundle.h */
#define _GNU_SOURCE
#include "run/bundle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/procfs.h"

static int
make_id (char **out)
{
  unsigned long long start = procfs_start_time (getpid ());
  unsigned char r[6] = { 0 };
  if (getrandom (r, sizeof r, GRND_NONBLOCK) < 0)
    {
      /* no entropy yet: pid and address are unique enough for an id */
      unsigned long v = (unsigned long)getpid () ^ (unsigned long)(void *)r;
      memcpy (r, &v, sizeof r);
    }
  return asprintf (out, "ohr-%d-%llu-%02x%02x%02x%02x%02x%02x", getpid (),
                   start, r[0], r[1], r[2], r[3], r[4], r[5]);
}

enum bundle_owner
bundle_owner_of (const char *name)
{
  char *end;
  if (strncmp (name, "ohr-", 4) != 0)
    return BUNDLE_OWNER_UNKNOWN;
  long pid = strtol (name + 4, &end, 10);
  if (pid <= 0 || *end != '-')
    return BUNDLE_OWNER_UNKNOWN;
  const char *rest = end + 1;
  unsigned long long start = strtoull (rest, &end, 10);
  /* ohr-PID-RANDOM, from before the start time was recorded: the pid
   * alone (a reused pid keeps it, harmlessly, until that process ends) */
  bool legacy = *end != '-' || end == rest;
  if (legacy && strspn (rest, "0123456789abcdef") != 12)
    return BUNDLE_OWNER_UNKNOWN;
  unsigned long long now = procfs_start_time (pid);
  if (now == 0)
    return BUNDLE_OWNER_GONE;
  return legacy || now == start ? BUNDLE_OWNER_ALIVE : BUNDLE_OWNER_GONE;
}

static int
paths (const char *state_base, struct bundle *b)
{
  if (make_id (&b->id) < 0
      || asprintf (&b->dir, "%s/bundles/%s", state_base, b->id) < 0
      || asprintf (&b->log, "%s/runtime.log", b->dir) < 0
      || asprintf (&b->stderr_log, "%s/runtime.stderr", b->dir) < 0
      || asprintf (&b->upper, "%s/source-upper", b->dir) < 0
      || asprintf (&b->work, "%s/source-work", b->dir) < 0)
    return -1;
  return 0;
}

int
bundle_create (const char *state_base, struct bundle *out, ohr_error_t *err)
{
  struct bundle b = { .lock_fd = -1 };
  cleanup_free char *parent = fs_path_join (state_base, "bundles");
  if (parent == NULL || paths (state_base, &b) < 0)
    {
      bundle_finish (&b, 1);
      return ohr_error_nomem (err);
    }
  if (mkdir (b.dir, 0700) < 0
      && (errno != ENOENT || fs_mkdir_p (parent, 0700, err) < 0
          || mkdir (b.dir, 0700) < 0))
    {
      if (err && *err == NULL)
        ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                         "cannot create bundle directory '%s'", b.dir);
      bundle_finish (&b, 1);
      return -1;
    }
  /* 0755: the container's root (the user's uid when rootless) writes here */
  if (mkdir (b.upper, 0755) < 0 || mkdir (b.work, 0700) < 0)
    {
      ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                       "cannot create the source overlay in '%s'", b.dir);
      bundle_finish (&b, 0);
      return -1;
    }
  /* held until bundle_finish: a later run's sweep takes it only once we
   * are gone (LOCK_EX on a directory we just made cannot block) */
  b.lock_fd = open (b.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (b.lock_fd < 0 || flock (b.lock_fd, LOCK_EX) < 0)
    {
      ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                       "cannot lock bundle directory '%s'", b.dir);
      bundle_finish (&b, 0);
      return -1;
    }
  *out = b;
  return 0;
}

int
bundle_bound_scratch (struct bundle *b, const char *state_base,
                      unsigned long long size, ohr_error_t *err)
{
  cleanup_free char *scratch = fs_path_join (state_base, "scratch");
  cleanup_free char *upper = fs_path_join (scratch, "upper");
  cleanup_free char *work = fs_path_join (scratch, "work");
  char opts[64];
  snprintf (opts, sizeof opts, "mode=0755,size=%llu", size);
  if (scratch == NULL || upper == NULL || work == NULL)
    return ohr_error_nomem (err);
  if ((mkdir (scratch, 0700) < 0 && errno != EEXIST)
      || mount ("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, opts) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot mount the source overlay's scratch "
                            "tmpfs on '%s'",
                            scratch);
  if (mkdir (upper, 0755) < 0 || mkdir (work, 0700) < 0)
    {
      int e = errno;
      umount2 (scratch, MNT_DETACH);
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL,
                              "cannot create the source overlay in '%s'",
                              scratch);
    }
  /* the plain directories bundle_create made are not used */
  rmdir (b->upper);
  rmdir (b->work);
  free_many (b->upper, b->work);
  b->upper = steal_pointer (&upper);
  b->work = steal_pointer (&work);
  b->scratch = steal_pointer (&scratch);
  return 0;
}

int
bundle_write_config (const struct bundle *b, const char *config,
                     size_t config_len, ohr_error_t *err)
{
  cleanup_free char *cfg = fs_path_join (b->dir, "config.json");
  if (cfg == NULL)
    return ohr_error_nomem (err);
  /* Thrown away after the run (and on tmpfs when /run is): no fsync. */
  return fs_write_new (cfg, config, config_len, 0600, err);
}

void
bundle_finish (struct bundle *b, int keep)
{
  /* the scratch tmpfs stays mounted: it goes with the runner's mount
   * namespace, and an unmount here would wait for an RCU grace period */
  if (b->dir && !keep)
    fs_rm_rf (b->dir, NULL);
  else if (b->dir)
    {
      /* asked for: the start-up sweep leaves it alone */
      cleanup_free char *m = fs_path_join (b->dir, BUNDLE_KEPT_MARKER);
      ohr_error_t ignored = NULL;
      if (m && fs_write_new (m, "", 0, 0600, &ignored) < 0)
        ohr_error_free (&ignored);
    }
  if (b->lock_fd > 0) /* 0: a zeroed struct, never ours (that is stdin) */
    close (b->lock_fd);
  free_many (b->id, b->dir, b->log, b->stderr_log, b->upper, b->work,
             b->scratch);
  memset (b, 0, sizeof *b);
  b->lock_fd = -1;
}

/* The bundle's directory, locked, when its run is over without its
 * runner; else -1. */
static int
claim_stale (int bundles_fd, const char *name)
{
  if (bundle_owner_of (name) != BUNDLE_OWNER_GONE)
    return -1;
  cleanup_close int dfd = openat (
      bundles_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  /* its runner (alive after all: another PID namespace) or another sweep
   * holds the lock; once a sweep is done the directory is gone (no link
   * left) */
  struct stat st;
  if (dfd < 0 || flock (dfd, LOCK_EX | LOCK_NB) < 0 || fstat (dfd, &st) < 0
      || st.st_nlink == 0
      || faccessat (dfd, BUNDLE_KEPT_MARKER, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    return -1;
  return steal_fd (&dfd);
}

size_t
bundle_each_stale (const char *state_base,
                   void (*fn) (int bundles_fd, const char *name, int dfd,
                               void *ctx),
                   void *ctx)
{
  cleanup_free char *bundles = fs_path_join (state_base, "bundles");
  cleanup_close int bundles_fd
      = bundles ? open (bundles, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
  if (bundles_fd < 0)
    return 0; /* no run yet */
  int scan_fd = dup (bundles_fd);
  cleanup_dir DIR *d = scan_fd >= 0 ? fdopendir (scan_fd) : NULL;
  if (d == NULL)
    {
      if (scan_fd >= 0)
        close (scan_fd);
      return 0;
    }
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.')
        continue;
      cleanup_close int dfd = claim_stale (bundles_fd, e->d_name);
      if (dfd < 0)
        continue;
      n++;
      if (fn)
        fn (bundles_fd, e->d_name, dfd, ctx);
    }
  return n;
}
