/* bundle.h: the per-run OCI bundle directory (config.json, the runtime's
 * log and stderr, the scratch upper layer over the package source),
 * created under the state directory and removed after the run, or by the
 * start-up sweep of a later run when its runner died (src/cli/sweep.c).  The
 * rootfs is not in the bundle: config.json points at the image's prepared
 * rootfs, so creating a bundle is a few mkdirs and one write. */
#ifndef OHR_BUNDLE_H
#define OHR_BUNDLE_H

#include <stddef.h>

#include "util/error.h"

struct bundle
{
  char *id;         /* container id, unique per run */
  char *dir;        /* bundle directory */
  char *log;        /* runtime log file inside it (JSON lines) */
  char *stderr_log; /* the runtime's own stderr */
  char *upper;      /* overlay upper dir over the package source */
  char *work;       /* overlay work dir */
  char *scratch;    /* the tmpfs holding upper and work, or NULL */
  int lock_fd; /* the directory, flock'ed while this run lives (sweep.h) */
};

/* Make the directory (and the overlay dirs). */
int bundle_create (const char *state_base, struct bundle *out,
                   ohr_error_t *err);

/* Move the overlay's upper and work dirs onto a tmpfs of SIZE bytes
 * mounted at STATE_BASE/scratch (an empty directory on the host), so that
 * a script writing its source gets ENOSPC at SIZE instead of filling the
 * state directory's file system (/run as root).  Only in a mount
 * namespace of the runner's own (runtime_private_ns): the host and other
 * runners never see the mount, and it goes away with the runner, whatever
 * kills it, so bundle_finish leaves it mounted.  Needs CAP_SYS_ADMIN
 * there. */
int bundle_bound_scratch (struct bundle *b, const char *state_base,
                          unsigned long long size, ohr_error_t *err);

/* Write config.json into it. */
int bundle_write_config (const struct bundle *b, const char *config,
                         size_t config_len, ohr_error_t *err);

/* Remove the bundle directory (not when keep: then it is marked
 * BUNDLE_KEPT_MARKER); frees the fields. */
void bundle_finish (struct bundle *b, int keep);

/* A bundle's id is ohr-PID-START-RANDOM: the runner's pid and start time
 * (procfs_start_time), so that a later run tells from the name alone,
 * with one read of /proc/PID/stat, whether its runner is still there.
 * That is a pre-filter: the runner also holds an flock on the directory
 * (close-on-exec, so only the runner), which the kernel drops when it
 * dies, whatever PID namespace it ran in. */
enum bundle_owner
{
  BUNDLE_OWNER_ALIVE,
  BUNDLE_OWNER_GONE,
  BUNDLE_OWNER_UNKNOWN, /* not a bundle id */
};

enum bundle_owner bundle_owner_of (const char *name);

/* A file in a bundle kept by --keep-bundle. */
#define BUNDLE_KEPT_MARKER "kept"

/* Each bundle under state_base whose run is over without its runner
 * (owner gone, lock free, not kept), claimed: fn gets the bundles
 * directory, the bundle's name and its directory fd, which holds the lock
 * until fn returns (fn NULL: only count).  Returns how many. */
size_t bundle_each_stale (const char *state_base,
                          void (*fn) (int bundles_fd, const char *name,
                                      int dfd, void *ctx),
                          void *ctx);

#endif
