/* bundle.c: see bundle.h */
#define _GNU_SOURCE
#include "run/bundle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

static int
make_id (char **out)
{
  unsigned char r[6] = { 0 };
  if (getrandom (r, sizeof r, GRND_NONBLOCK) < 0)
    {
      /* no entropy yet: pid and address are unique enough for an id */
      unsigned long v = (unsigned long)getpid () ^ (unsigned long)(void *)r;
      memcpy (r, &v, sizeof r);
    }
  return asprintf (out, "ohr-%d-%02x%02x%02x%02x%02x%02x", getpid (), r[0],
                   r[1], r[2], r[3], r[4], r[5]);
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
  struct bundle b = { 0 };
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
  *out = b;
  return 0;
}

int
bundle_bound_scratch (struct bundle *b, unsigned long long size,
                      ohr_error_t *err)
{
  cleanup_free char *scratch = fs_path_join (b->dir, "scratch");
  cleanup_free char *upper = fs_path_join (scratch, "upper");
  cleanup_free char *work = fs_path_join (scratch, "work");
  char opts[64];
  snprintf (opts, sizeof opts, "mode=0755,size=%llu", size);
  if (scratch == NULL || upper == NULL || work == NULL)
    return ohr_error_nomem (err);
  if (mkdir (scratch, 0700) < 0
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
  /* the tmpfs first: its files go with it, and its mount point can then
   * be removed */
  if (b->scratch)
    umount2 (b->scratch, MNT_DETACH);
  if (b->dir && !keep)
    fs_rm_rf (b->dir, NULL);
  free_many (b->id, b->dir, b->log, b->stderr_log, b->upper, b->work,
             b->scratch);
  memset (b, 0, sizeof *b);
}
