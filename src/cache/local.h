/* local.h: the local result store: results as commits in the image
 * store's libostree repository (src/store/), so that identical files
 * across results (and images) are stored once.
 *
 * A result is the commit of ref ohr/result/<key hex>, whose tree holds
 *   out/     OUT_DIR as the script left it (modes, directories, symlinks;
 *            owners made 0, setuid and setgid bits never kept)
 *   stdout   what the script printed, in container form (the directive
 *            mapping runs at replay, for the checkout at hand)
 *   stderr
 *   result   the REAPI ActionResult (exit code, the digests of stdout,
 *            stderr and OUT_DIR's Tree, the run's start and end)
 * A commit is whole or absent (one transaction): a result half-written
 * is never visible.  A restore copies (never hard links: a later run
 * could write through a link into the store).
 *
 * Events (hit, miss, stored) are appended to DIR/results.log for `cache
 * stats`.
 */
#ifndef OHR_CACHE_LOCAL_H
#define OHR_CACHE_LOCAL_H

#include <stdint.h>
#include <time.h>

#include "cache/reapi.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/error.h"

struct cache_hit
{
  struct buf out, err; /* stdout, stderr */
  struct reapi_action_result result;
};

/* 1: a hit, OUT_DIR (empty) restored and *hit filled; 0: no result for
 * hex; -1 with *err (OUT_DIR left empty again). */
int cache_local_get (struct store *st, const char *hex, const char *out_dir,
                     struct cache_hit *hit, ohr_error_t *err);

/* Store the result of a successful run: OUT_DIR as it is now, the
 * script's stdout and stderr, its start and end. */
int cache_local_put (struct store *st, const char *hex, const char *out_dir,
                     const struct buf *out, const struct buf *errb,
                     const struct timespec *start, const struct timespec *end,
                     ohr_error_t *err);

/* The ActionResult of a run (Tree of OUT_DIR as it is now, stdout and
 * stderr, its start and end) as cache_local_put stores it, into *res;
 * with tree_out, the Tree's bytes too (for the remote cache). */
int cache_local_result (const char *out_dir, const struct buf *out,
                        const struct buf *errb, const struct timespec *start,
                        const struct timespec *end, struct buf *res,
                        struct buf *tree_out, ohr_error_t *err);

void cache_hit_clear (struct cache_hit *h);

/* Append "EVENT KEY NS TIME\n" to the results log (best effort): hit
 * (NS: the original run's wall time), miss, stored (NS: the run's). */
void cache_local_log (struct store *st, const char *event, const char *hex,
                      int64_t ns);

#endif
