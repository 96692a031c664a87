/* memo.h: what a file's sha256 was, by path and stat, so that an
 * unchanged crate or toolchain is not read again on every run.
 *
 * An entry is used only when device, inode, size, mtime (ns) and ctime
 * (ns) all still match: a write changes mtime and ctime, and ctime cannot
 * be set back (touch -d sets mtime only), so a file edited and "restored"
 * to its old mtime is still hashed again.  A file whose mtime or ctime is
 * within MEMO_RACY_NS of when it was hashed is not remembered (git's
 * "racily clean" problem: a write in the same clock tick as our read
 * would leave every stat field as it was).
 *
 * The memo is a cache: a file that is missing, unreadable or malformed is
 * an empty memo; it is written back atomically (temp + rename), and two
 * runs writing at once lose only entries, never correctness.
 */
#ifndef OHR_CACHE_MEMO_H
#define OHR_CACHE_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "util/error.h"

#define MEMO_RACY_NS 2000000000LL /* 2 s, coarser than any file system's */

struct memo_entry
{
  char *path;
  dev_t dev;
  ino_t ino;
  off_t size;
  long long mtime_ns, ctime_ns;
  char hex[65];
};

struct memo
{
  struct memo_entry *v; /* open addressing by path */
  size_t cap, n;
  bool dirty;
  long long now_ns; /* when this run started hashing */
};

/* Load path (missing or malformed: empty).  Never fails but for memory. */
int memo_load (const char *path, struct memo *out, ohr_error_t *err);

/* The remembered sha256 hex of path when st still matches, else NULL. */
const char *memo_get (const struct memo *m, const char *path,
                      const struct stat *st);

/* Remember hex for path as st describes it (unless racy). */
int memo_put (struct memo *m, const char *path, const struct stat *st,
              const char *hex, ohr_error_t *err);

/* Write it back when something changed. */
int memo_save (struct memo *m, const char *path, ohr_error_t *err);

void memo_clear (struct memo *m);

#endif
