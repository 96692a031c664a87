/* run-cache.h: run mode's side of the result cache (src/cache/): decide
 * whether this run may be cached, ask the store helper for its result
 * (which restores OUT_DIR on a hit), and after a miss keep what the
 * script printed (stdout in container form, as it reaches the directive
 * mapping; stderr through a tee that still streams it) to store it when
 * the run succeeded.  Run mode loads no libcrypto or libostree: it keys
 * a run itself (a SHA-256 of its own, src/util/sha256-plain.c) to find
 * a hit in the store's hit index (src/cache/index.h); the store itself
 * and the remote are the helper's (src/cli/cache-cmd.c).
 *
 * The cache never fails a build: a store that cannot be read or written
 * is a notice, and the run goes on uncached. */
#ifndef OHR_CLI_RUN_CACHE_H
#define OHR_CLI_RUN_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cache/decide.h"
#include "cache/plan.h"
#include "util/buf.h"

struct run_cache
{
  bool active; /* a miss was looked up: capture, then store a success */
  char key[65];
  char *dir;   /* the bundle: the request and the outputs go there */
  char *store; /* the store directory */
  char *out_dir;
  char *helper;
  struct buf out, err; /* what the script printed */
  struct buf hit_out, hit_err;
  int64_t saved_ns; /* a hit: the original run's wall time */
  int err_r, err_w; /* the stderr tee's pipe, -1 when none */
  pthread_t tee;
  bool teeing;
  char *line;   /* for -v: "result-cache: ..." */
  char *remote; /* the remote's settings for the helper, or NULL */
  char *note;   /* the helper's last note about the remote, for -v */
  bool remote_hit;
  /* --attest: a hit must bring the statement of the run it reuses
   * (hit_statement); a miss stores the run's (statement, its path) */
  bool attest;
  struct buf hit_statement;
  char *statement;
  char *why; /* why an attested run missed, for -v */
};

void run_cache_init (struct run_cache *c);

/* A remote cache at url behind the local store (src/cache/remote.h):
 * read_only never uploads, sign (or NULL) signs uploads, trust lists the
 * public keys (or "any") whose entries are used, state_dir keeps the
 * "down once per build" markers.  0, or -1 when a setting holds a
 * newline (nothing set). */
int run_cache_set_remote (struct run_cache *c, const char *url, bool read_only,
                          const char *sign, char *const *trust,
                          const char *state_dir);

/* The fast path, before any container set-up: key the run in this
 * process and, when the store's hit index knows the key, restore OUT_DIR
 * from it.  1: a hit (replay hit_out and hit_err; c->line says so), 0:
 * not cached, or not a hit the index knows (OUT_DIR left empty: ask
 * run_cache_lookup).  Silent: the store helper reports what is wrong. */
int run_cache_lookup_index (struct run_cache *c,
                            const struct cache_facts *facts,
                            const struct cache_plan_input *plan,
                            const char *store_dir);

/* Ask the store helper (the local store, then the remote): 1: a hit
 * (OUT_DIR restored; replay hit_out and hit_err; with attest,
 * hit_statement is the reused run's statement), 0: run the
 * script.  Never fails: c->line says why nothing was cached, a notice on
 * stderr why the store could not be asked. */
int run_cache_lookup (struct run_cache *c, const struct cache_facts *facts,
                      const struct cache_plan_input *plan,
                      const char *store_dir, const char *bundle_dir);

/* The fd to give the script as stderr: a tee's pipe while active, else
 * STDERR_FILENO. */
int run_cache_stderr_fd (struct run_cache *c);

/* The runtime has returned: the tee drains what is left. */
void run_cache_stderr_done (struct run_cache *c);

/* Bytes of the script's stdout as it printed them. */
void run_cache_capture (struct run_cache *c, const void *buf, size_t len);

/* After the run: store its result when code is 0 (c->line says what was
 * done), with the statement at c->statement when it is set. */
void run_cache_finish (struct run_cache *c, int code,
                       const struct timespec *started,
                       const struct timespec *finished);

void run_cache_clear (struct run_cache *c);

#endif
