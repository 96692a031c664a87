/* index.h: the hit index of the local result store (issue 13, part 9).
 *
 * Beside each result commit (local.c) the store helper writes
 * STORE/results-index/<key>: a text file naming, for stdout, stderr and
 * every entry of OUT_DIR, the repo's content object that holds its bytes
 * (bare and bare-user repos keep a file's bytes as is in
 * repo/objects/XX/YYYY.file).  A hit then needs no libostree: run mode
 * (src/cli/run-cache.h) keys the run and copies the objects named here
 * into OUT_DIR, each entry made in its parent directory opened beneath
 * OUT_DIR without following a symlink (walk_open_beneath): an index that
 * was tampered with cannot make anything outside OUT_DIR.  The file is written
 * after the commit and its ref (temp + fsync + rename: never half visible) and
 * removed before the ref (cache rm, cache gc).  Anything that does not hold
 * (no index, an object gone, a size that differs) is "not known here": OUT_DIR
 * is emptied again and the store helper answers as it did before.
 *
 * Format, one entry a line, paths relative to OUT_DIR, no newline in any
 * path or link target (such a result gets no index):
 *   ohr-result-index 1 WALL_NS
 *   o CHECKSUM SIZE            stdout
 *   e CHECKSUM SIZE            stderr
 *   d MODE PATH                a directory (before what it holds)
 *   f MODE CHECKSUM SIZE PATH  a regular file
 *   l LEN PATH TARGET          a symlink; LEN is the length of PATH
 */
#ifndef OHR_CACHE_INDEX_H
#define OHR_CACHE_INDEX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/buf.h"
#include "util/error.h"

#define CACHE_INDEX_DIR "results-index"

/* Writing (the store helper, after a commit).  Each returns -1 when out
 * of memory; an entry that cannot be written in the format sets *bad
 * (then the result gets no index). */
int cache_index_begin (struct buf *b, int64_t wall_ns);
int cache_index_blob (struct buf *b, char which, const char *checksum,
                      uint64_t size, bool *bad);
int cache_index_dir (struct buf *b, const char *path, mode_t mode, bool *bad);
int cache_index_file (struct buf *b, const char *path, mode_t mode,
                      const char *checksum, uint64_t size, bool *bad);
int cache_index_symlink (struct buf *b, const char *path, const char *target,
                         bool *bad);
int cache_index_save (const char *store_dir, const char *hex,
                      const struct buf *b, ohr_error_t *err);
/* Before the result's ref goes; nothing when there is none. */
void cache_index_remove (const char *store_dir, const char *hex);

/* Reading (the lookup helper): 1 restored into the empty out_dir, with
 * stdout, stderr and the original wall time; 0 not known here (out_dir
 * is left empty); never fails. */
int cache_index_restore (const char *store_dir, const char *hex,
                         const char *out_dir, struct buf *out,
                         struct buf *errb, int64_t *wall_ns);

/* STORE/results.log, which cache stats reads: one line an event. */
void cache_index_log (const char *store_dir, const char *event,
                      const char *hex, int64_t ns);

#endif
