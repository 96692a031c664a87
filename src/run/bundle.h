/* bundle.h: the per-run OCI bundle directory (config.json, the runtime's
 * log and stderr, the scratch upper layer over the package source),
 * created under the state directory and removed after the run.  The
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
};

/* Make the directory (and the overlay dirs). */
int bundle_create (const char *state_base, struct bundle *out,
                   ohr_error_t *err);

/* Move the overlay's upper and work dirs onto a tmpfs of SIZE bytes
 * mounted at DIR/scratch, so that a script writing its source gets ENOSPC
 * at SIZE instead of filling the state directory's file system (/run as
 * root).  Only in a mount namespace of the runner's own
 * (runtime_private_ns): the host never sees the mount, and it goes away
 * with the runner, whatever kills it.  Needs CAP_SYS_ADMIN there. */
int bundle_bound_scratch (struct bundle *b, unsigned long long size,
                          ohr_error_t *err);

/* Write config.json into it. */
int bundle_write_config (const struct bundle *b, const char *config,
                         size_t config_len, ohr_error_t *err);

/* Remove the bundle directory (not when keep); frees the fields. */
void bundle_finish (struct bundle *b, int keep);

#endif
