/* lookup-main.c: oci-host-runner-lookup, the result cache's fast path
 * (issue 13, part 9).  Run mode execs it first for every cacheable run:
 * it keys the request (libc only, with its own SHA-256,
 * src/util/sha256-plain.c: no libcrypto, no libostree, no libcurl, whose
 * start-up alone costs the store helper ~11 ms) and, when the local
 * store's hit index (src/cache/index.h) knows the key, restores OUT_DIR
 * from the repo's objects and hands back stdout and stderr.  Anything
 * else is the store helper's to answer, as before.
 *
 *   oci-host-runner-lookup result-get --store STORE REQUEST OUT_DIR DIR
 *
 * prints `hit KEY WALL_NS` (DIR/hit-stdout and DIR/hit-stderr written,
 * the hit logged for cache stats) or `unknown KEY` (OUT_DIR left empty).
 * Errors: one line on stderr, exit 121 (usage) or 125.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/decide.h"
#include "cache/index.h"
#include "cache/key.h"
#include "cli/exitcodes.h"
#include "util/fs.h"

static int
write_out (const char *dir, const char *name, const struct buf *b)
{
  char *p = fs_path_join (dir, name);
  ohr_error_t err = NULL;
  int r = p ? fs_write_atomic (p, b->data ? b->data : "", b->len, 0600, false,
                               &err)
            : -1;
  ohr_error_free (&err);
  free (p);
  return r;
}

int
main (int argc, char **argv)
{
  if (argc != 7 || strcmp (argv[1], "result-get") != 0
      || strcmp (argv[2], "--store") != 0)
    {
      fprintf (stderr, "Usage: oci-host-runner-lookup result-get --store "
                       "STORE REQUEST OUT_DIR DIR\n");
      return OHR_EXIT_USAGE;
    }
  const char *store = argv[3], *out_dir = argv[5], *dir = argv[6];
  struct cache_key key;
  ohr_error_t err = NULL;
  if (cache_key_of_file (store, argv[4], &key, &err) < 0)
    {
      fprintf (stderr, "oci-host-runner-lookup: result cache key: %s\n",
               err->msg);
      ohr_error_free (&err);
      return OHR_EXIT_RUNTIME;
    }
  struct buf out = { 0 }, errb = { 0 };
  int64_t ns = 0;
  int hit = cache_index_restore (store, key.hex, out_dir, &out, &errb, &ns);
  if (hit
      && (write_out (dir, "hit-stdout", &out) < 0
          || write_out (dir, "hit-stderr", &errb) < 0))
    {
      cache_dir_empty_out (out_dir);
      hit = 0;
    }
  if (hit)
    {
      cache_index_log (store, "hit", key.hex, ns);
      printf ("hit %s %" PRId64 "\n", key.hex, ns);
    }
  else
    printf ("unknown %s\n", key.hex);
  buf_clear (&out);
  buf_clear (&errb);
  cache_key_clear (&key);
  return fflush (stdout) == 0 ? 0 : OHR_EXIT_RUNTIME;
}
