/* cache-cmd.c: see cache-cmd.h */
#define _GNU_SOURCE
#include "cli/cache-cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/decide.h"
#include "cache/key.h"
#include "cache/local.h"
#include "cache/memo.h"
#include "cache/remote.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define OUTPUT_MAX (256u << 20)
/* the statement of an attested run that is to be stored (run mode) */
#define RUN_STATEMENT "run-statement"

static int
read_into (const char *dir, const char *name, struct buf *out,
           ohr_error_t *err)
{
  cleanup_free char *p = fs_path_join (dir, name);
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (p == NULL)
    return ohr_error_nomem (err);
  if (fs_read_file (p, OUTPUT_MAX, &data, &len, err) < 0)
    return -1;
  return buf_add (out, data, len) < 0 ? ohr_error_nomem (err) : 0;
}

static int
write_out (const char *dir, const char *name, const struct buf *b,
           ohr_error_t *err)
{
  cleanup_free char *p = fs_path_join (dir, name);
  if (p == NULL)
    return ohr_error_nomem (err);
  return fs_write_atomic (p, b->data ? b->data : "", b->len, 0600, false, err);
}

static int64_t
ns_between (const struct timespec *a, const struct timespec *b)
{
  return (int64_t)(b->tv_sec - a->tv_sec) * 1000000000LL
         + (b->tv_nsec - a->tv_nsec);
}

/* The key of the request in file path (the memo spares unchanged files). */
static int
key_of (const char *store, const char *path, struct cache_key *out,
        ohr_error_t *err)
{
  return cache_key_of_file (store, path, out, err);
}

/* ---- the remote cache (src/cache/remote.h), behind the local store.
 * Its troubles are never the run's: they become lines after the answer,
 * "warning TEXT" (run mode prints them) or "note TEXT" (for -v). */

static char **remote_lines;

static void
remote_line (const char *kind, const char *text)
{
  /* out of memory: the line is lost, the answer is not */
  (void)strv_pushf (&remote_lines, "%s %s", kind, text);
}

static void
remote_notes (void)
{
  for (char **l = remote_lines; l && *l; l++)
    printf ("%s\n", *l);
  strv_free (remote_lines);
  remote_lines = NULL;
}

/* A failure of the remote: a warning, but only the first time in this
 * build (down.h: later runs skip the server, CACHE_HTTP_SKIPPED, and say
 * so only to -v). */
static void
remote_trouble (ohr_error_t *e)
{
  if (*e)
    remote_line ((*e)->status == CACHE_HTTP_SKIPPED ? "note" : "warning",
                 (*e)->msg);
  ohr_error_free (e);
}

/* ---- --attest (docs/attestations.md, "Cache hits"): run mode leaves
 * DIR/cache-attest when the run is attested.  A hit then needs the
 * statement of the run that stored it: a result stored without one, or
 * whose statement does not match the digest its ActionResult recorded, is
 * a miss (the script runs and stores the result again, with its
 * statement), never a hit whose statement names no provenance. */

#define ATTEST_MARK "cache-attest"
#define HIT_STATEMENT "hit-statement"

static bool
attest_wanted (const char *dir)
{
  cleanup_free char *p = fs_path_join (dir, ATTEST_MARK);
  return p && fs_exists (p);
}

/* Whether hit may serve this run; when not, OUT_DIR is emptied again, the
 * hit cleared, and the answer says why. */
static bool
attested_hit (const char *hex, const char *out_dir, const char *dir,
              struct cache_hit *hit)
{
  if (!attest_wanted (dir) || hit->has_statement == CACHE_STATEMENT_OK)
    return true;
  if (hit->has_statement == CACHE_STATEMENT_CHANGED)
    {
      cleanup_free char *w = NULL;
      if (asprintf (&w,
                    "result %.12s: its stored statement does not match "
                    "the digest its result recorded: not used",
                    hex)
          >= 0)
        remote_line ("warning", w);
      remote_line ("attest", "its stored statement was changed");
    }
  else
    remote_line ("attest", "stored without a statement (a run without "
                           "--attest): run to store one");
  cache_hit_clear (hit);
  cache_dir_empty_out (out_dir);
  return false;
}

static int
write_statement (const char *dir, const struct cache_hit *hit,
                 ohr_error_t *err)
{
  if (!attest_wanted (dir))
    return 0;
  return write_out (dir, HIT_STATEMENT, &hit->statement, err);
}

/* A local miss: ask the remote.  A hit's OUT_DIR is restored from the
 * fetched blobs (each checked against its digest, copies made by the
 * helper), then imported into the local store from there (so that the
 * next run hits locally) and served as it is: no second restore out of
 * the store.  1 (the answer printed), 0 (a miss), -1 only when writing
 * the answer fails.  A hit that cannot be imported is still served, with
 * a warning: its bytes are the verified ones either way. */
static int
remote_get (struct store *st, const char *hex, const char *out_dir,
            const char *dir, ohr_error_t *err)
{
  struct cache_remote rc;
  ohr_error_t e = NULL;
  int r = cache_remote_open (dir, &rc, &e);
  if (r <= 0)
    {
      remote_trouble (&e);
      return 0;
    }
  struct cache_hit hit = { 0 };
  struct cache_outputs o = { .out = &hit.out, .err = &hit.err };
  cleanup_free char *warning = NULL;
  r = cache_remote_fetch (&rc, hex, out_dir, &hit.out, &hit.err,
                          &hit.statement, &o.start, &o.end, &warning, &e);
  cache_remote_close (&rc);
  if (warning)
    remote_line ("warning", warning);
  remote_trouble (&e);
  /* the statement was a blob of the entry, checked against its digest */
  hit.has_statement
      = hit.statement.data ? CACHE_STATEMENT_OK : CACHE_STATEMENT_NONE;
  o.statement = hit.statement.data ? &hit.statement : NULL;
  if (r == 1 && cache_local_put (st, hex, out_dir, &o, &e) < 0)
    {
      remote_line ("warning", e->msg);
      ohr_error_free (&e);
    }
  if (r == 1 && cache_local_restore_owner (out_dir, &e) < 0)
    {
      remote_line ("warning", e->msg);
      ohr_error_free (&e);
      r = 0;
    }
  if (r == 1 && !attested_hit (hex, out_dir, dir, &hit))
    r = 0;
  if (r != 1)
    {
      cache_hit_clear (&hit);
      cache_dir_empty_out (out_dir);
      return 0;
    }
  if (write_out (dir, "hit-stdout", &hit.out, err) < 0
      || write_out (dir, "hit-stderr", &hit.err, err) < 0
      || write_statement (dir, &hit, err) < 0)
    r = -1;
  else
    {
      int64_t ns = ns_between (&o.start, &o.end);
      cache_local_log (st, "hit", hex, ns);
      printf ("hit %s %" PRId64 " remote\n", hex, ns);
    }
  cache_hit_clear (&hit);
  return r;
}

/* After a result was stored locally: upload it (read-write, with a
 * signing key), blobs first and the entry last. */
static void
remote_put (const char *hex, const char *out_dir, const char *dir,
            const struct cache_outputs *o)
{
  struct cache_remote rc;
  ohr_error_t e = NULL;
  int r = cache_remote_open (dir, &rc, &e);
  if (r <= 0)
    {
      remote_trouble (&e);
      return;
    }
  if (!rc.write)
    remote_line ("note", "not uploaded (--result-cache-mode read)");
  else if (rc.sign_key == NULL)
    remote_line ("note", "not uploaded (no --result-cache-sign key)");
  else
    {
      struct buf res = { 0 }, tree = { 0 };
      r = cache_local_result (out_dir, o, &res, &tree, &e);
      if (r == 0)
        r = cache_remote_upload (&rc, hex, out_dir, &res, &tree, o->out,
                                 o->err, o->statement, &e);
      buf_clear (&res);
      buf_clear (&tree);
      if (r == 0)
        remote_line ("note", "uploaded");
      remote_trouble (&e);
    }
  cache_remote_close (&rc);
}

int
cache_cmd_get (const char *store_dir, char *const *args, ohr_error_t *err)
{
  struct cache_key key;
  if (key_of (store_dir, args[0], &key, err) < 0)
    return ohr_error_wrap (err, "result cache key");
  cleanup_store struct store *st = NULL;
  struct cache_hit hit;
  int r = store_open (store_dir, geteuid () != 0, &st, err);
  if (r == 0)
    r = cache_local_get (st, key.hex, args[1], &hit, err);
  if (r == 1 && !attested_hit (key.hex, args[1], args[2], &hit))
    r = 0;
  if (r == 1)
    {
      if (write_out (args[2], "hit-stdout", &hit.out, err) < 0
          || write_out (args[2], "hit-stderr", &hit.err, err) < 0
          || write_statement (args[2], &hit, err) < 0)
        r = -1;
      else
        {
          int64_t ns
              = hit.result.has_times
                    ? ns_between (&hit.result.exec_start, &hit.result.exec_end)
                    : 0;
          cache_local_log (st, "hit", key.hex, ns);
          printf ("hit %s %" PRId64 "\n", key.hex, ns);
        }
      cache_hit_clear (&hit);
    }
  else if (r == 0
           && (r = remote_get (st, key.hex, args[1], args[2], err)) == 0)
    {
      cache_local_log (st, "miss", key.hex, 0);
      printf ("miss %s\n", key.hex);
    }
  if (r >= 0)
    remote_notes ();
  cache_key_clear (&key);
  return r < 0 ? -1 : 0;
}

static int
parse_ns (const char *s, struct timespec *out, ohr_error_t *err)
{
  char *end;
  errno = 0;
  long long v = strtoll (s, &end, 10);
  if (errno || *end || v < 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "'%s' is not a time", s);
  out->tv_sec = (time_t)(v / 1000000000LL);
  out->tv_nsec = (long)(v % 1000000000LL);
  return 0;
}

int
cache_cmd_put (const char *store_dir, char *const *args, ohr_error_t *err)
{
  const char *hex = args[0];
  if (strlen (hex) != 64 || strspn (hex, "0123456789abcdef") != 64)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "'%s' is not a key",
                          hex);
  struct buf out = { 0 }, errb = { 0 }, statement = { 0 };
  struct cache_outputs o = { .out = &out, .err = &errb };
  cleanup_store struct store *st = NULL;
  cleanup_free char *spath = fs_path_join (args[2], RUN_STATEMENT);
  if (spath == NULL)
    return ohr_error_nomem (err);
  int r
      = parse_ns (args[3], &o.start, err) < 0
                || parse_ns (args[4], &o.end, err) < 0
                || read_into (args[2], "run-stdout", &out, err) < 0
                || read_into (args[2], "run-stderr", &errb, err) < 0
                || (fs_exists (spath)
                    && read_into (args[2], RUN_STATEMENT, &statement, err) < 0)
                || store_open (store_dir, geteuid () != 0, &st, err) < 0
            ? -1
            : 0;
  o.statement = statement.data ? &statement : NULL;
  if (r == 0)
    r = cache_local_put (st, hex, args[1], &o, err);
  if (r == 0)
    {
      cache_local_log (st, "stored", hex, ns_between (&o.start, &o.end));
      printf ("stored %s\n", hex);
      remote_put (hex, args[1], args[2], &o);
      remote_notes ();
    }
  buf_clear (&out);
  buf_clear (&errb);
  buf_clear (&statement);
  return r;
}
