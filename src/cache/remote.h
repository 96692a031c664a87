/* remote.h: the remote result cache behind the local store (issue 13,
 * parts 5 and 6), as the store helper uses it: fetch a result by its key
 * (verify its signature, check every blob, rebuild OUT_DIR) and upload a
 * stored one (blobs first, the action entry last).
 *
 * Layout on the server (Bazel's HTTP cache protocol, http.h):
 *   ac/KEY          the REAPI ActionResult, as the local store keeps it
 *                   (Tree of OUT_DIR named "out", stdout, stderr, times)
 *   ac/SIG          SIG = sha256("oci-host-runner result-cache
 *                   signature v1 " KEY): an ActionResult whose stdout_raw
 *                   (field 5) is the DSSE envelope of sign.h over KEY and
 *                   the sha256 of ac/KEY's bytes
 *   cas/HEX         the blobs: stdout, stderr, the Tree, every file, and
 *                   the run's attestation statement when it was attested
 *                   (the ActionResult's output file CACHE_STATEMENT_PATH,
 *                   local.h: bazel-remote checks that it is there)
 * The signature cannot live inside the ActionResult it signs; this is the
 * second of the two ways src/cache/README.md proposes (a second AC entry,
 * which bazel-remote's default validation accepts: it names no blob).
 *
 * Run mode hands the helper its remote settings in a file, not argv (a
 * URL may carry credentials, and argv is world-readable in /proc): lines
 * "url URL", "mode read|read-write", "sign PATH", "trust SPEC" (any
 * number), "state DIR", "build-pid PID" (the runner's parent: the build,
 * down.h).  May call http.h, sign.h, merkle.h, reapi.h and
 * src/util/. */
#ifndef OHR_CACHE_REMOTE_H
#define OHR_CACHE_REMOTE_H

#include <stdbool.h>
#include <time.h>

#include "cache/http.h"
#include "cache/sign.h"
#include "util/buf.h"
#include "util/error.h"

#define CACHE_REMOTE_CONFIG "cache-remote"

struct cache_remote
{
  char *url;
  bool write;     /* mode read-write */
  char *sign_key; /* or NULL: nothing is uploaded */
  struct cache_trust trust;
  char *state_dir;
  char *build_pid;
  struct cache_http *http; /* opened by cache_remote_open */
};

/* Read DIR/cache-remote: 1 (*out filled, the client made), 0 when there
 * is none, -1 with *err. */
int cache_remote_open (const char *dir, struct cache_remote *out,
                       ohr_error_t *err);

void cache_remote_close (struct cache_remote *r);

/* The name of KEY's signature entry (65 bytes). */
void cache_remote_sig_name (const char *hex, char out[65]);

/* Fetch result hex into the empty directory out_dir and its stdout and
 * stderr into out and errb, its attestation statement (when the result
 * names one; else it stays empty) into statement, its times into *start
 * and *end.  1: a hit;
 * 0: a miss, *warning set when the entry was there but not used
 * (untrusted, tampered, a bad blob: out_dir emptied again);
 * CACHE_HTTP_UNAVAILABLE or -1 with *err (out_dir emptied again). */
int cache_remote_fetch (struct cache_remote *r, const char *hex,
                        const char *out_dir, struct buf *out, struct buf *errb,
                        struct buf *statement, struct timespec *start,
                        struct timespec *end, char **warning,
                        ohr_error_t *err);

/* Upload the result hex: its ActionResult bytes res, the Tree bytes tree,
 * OUT_DIR's files (read from out_dir), stdout, stderr and the statement
 * (NULL: none); then the
 * signature entry, then ac/hex last.  0, CACHE_HTTP_UNAVAILABLE or -1. */
int cache_remote_upload (struct cache_remote *r, const char *hex,
                         const char *out_dir, const struct buf *res,
                         const struct buf *tree, const struct buf *out,
                         const struct buf *errb, const struct buf *statement,
                         ohr_error_t *err);

#endif
