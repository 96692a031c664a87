/* maint.h: `oci-host-runner cache stats|gc|rm`: the local result store's
 * upkeep (local.h), in the store helper.
 *
 * Sizes are the storage sizes of the ostree objects the results reach,
 * each object counted once however many results share it (objects shared
 * with images count too: they would stay for the images).  gc removes
 * the least recently used results (the last hit, else when stored) until
 * the rest fit in the size given, then drops the objects nothing
 * references any more (the image store's own gc). */
#ifndef OHR_CACHE_MAINT_H
#define OHR_CACHE_MAINT_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

struct cache_stats
{
  size_t entries;
  uint64_t bytes;
  uint64_t hits, misses, stored;
  int64_t saved_ns; /* the hits' original wall time, summed */
};

int cache_maint_stats (struct store *st, struct cache_stats *out,
                       ohr_error_t *err);

/* Remove results until those left take at most max_bytes; *removed and
 * *freed say what went. */
int cache_maint_gc (struct store *st, uint64_t max_bytes, size_t *removed,
                    uint64_t *freed, ohr_error_t *err);

/* Remove the result of KEY (64 hex digits, or a unique prefix of at least
 * 12, as -v prints it). */
int cache_maint_rm (struct store *st, const char *key, char out_hex[65],
                    ohr_error_t *err);

#endif
