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
 *            stderr and OUT_DIR's Tree, the run's start and end; for a
 *            run with --attest, the digest of its statement as the
 *            output file CACHE_STATEMENT_PATH)
 *   statement  the run's in-toto statement (docs/attestations.md), when
 *            it was attested
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

/* The ActionResult's output file that names a run's attestation
 * statement (its bytes are the commit's "statement", the remote's CAS
 * blob of that digest). */
#define CACHE_STATEMENT_PATH "oci-host-runner/statement.intoto.json"

enum cache_statement
{
  CACHE_STATEMENT_NONE,    /* stored by a run without --attest */
  CACHE_STATEMENT_OK,      /* in hit->statement, its digest checked */
  CACHE_STATEMENT_CHANGED, /* its bytes do not match the result's digest */
};

struct cache_hit
{
  struct buf out, err; /* stdout, stderr */
  struct buf statement;
  enum cache_statement has_statement;
  struct reapi_action_result result;
};

/* 1: a hit, OUT_DIR (empty) restored and *hit filled; 0: no result for
 * hex; -1 with *err (OUT_DIR left empty again). */
int cache_local_get (struct store *st, const char *hex, const char *out_dir,
                     struct cache_hit *hit, ohr_error_t *err);

/* The outputs of a run: stdout, stderr, its attestation statement (NULL
 * when it was not attested), its start and end. */
struct cache_outputs
{
  const struct buf *out, *err, *statement;
  struct timespec start, end;
};

/* Store the result of a successful run: OUT_DIR as it is now and o. */
int cache_local_put (struct store *st, const char *hex, const char *out_dir,
                     const struct cache_outputs *o, ohr_error_t *err);

/* The ActionResult of a run (Tree of OUT_DIR as it is now, the digests of
 * o's blobs, its start and end) as cache_local_put stores it, into *res;
 * with tree_out, the Tree's bytes too (for the remote cache). */
int cache_local_result (const char *out_dir, const struct cache_outputs *o,
                        struct buf *res, struct buf *tree_out,
                        ohr_error_t *err);

void cache_hit_clear (struct cache_hit *h);

/* Give what the helper made in OUT_DIR to OUT_DIR's owner (as root: the
 * owner a script's files would have had), as a restore does. */
int cache_local_restore_owner (const char *out_dir, ohr_error_t *err);

/* Append "EVENT KEY NS TIME\n" to the results log (best effort): hit
 * (NS: the original run's wall time), miss, stored (NS: the run's). */
void cache_local_log (struct store *st, const char *event, const char *hex,
                      int64_t ns);

#endif
