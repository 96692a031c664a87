/* cache-cmd.c: see cache-cmd.h */
#define _GNU_SOURCE
#include "cli/cache-cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/key.h"
#include "cache/local.h"
#include "cache/memo.h"
#include "store/store.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define OUTPUT_MAX (256u << 20)

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
  if (r == 1)
    {
      if (write_out (args[2], "hit-stdout", &hit.out, err) < 0
          || write_out (args[2], "hit-stderr", &hit.err, err) < 0)
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
  else if (r == 0)
    {
      cache_local_log (st, "miss", key.hex, 0);
      printf ("miss %s\n", key.hex);
    }
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
  struct timespec start, end;
  struct buf out = { 0 }, errb = { 0 };
  cleanup_store struct store *st = NULL;
  int r = parse_ns (args[3], &start, err) < 0
                  || parse_ns (args[4], &end, err) < 0
                  || read_into (args[2], "run-stdout", &out, err) < 0
                  || read_into (args[2], "run-stderr", &errb, err) < 0
                  || store_open (store_dir, geteuid () != 0, &st, err) < 0
              ? -1
              : 0;
  if (r == 0)
    r = cache_local_put (st, hex, args[1], &out, &errb, &start, &end, err);
  if (r == 0)
    {
      cache_local_log (st, "stored", hex, ns_between (&start, &end));
      printf ("stored %s\n", hex);
    }
  buf_clear (&out);
  buf_clear (&errb);
  return r;
}
