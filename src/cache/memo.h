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
 * Kept in shards, one file per tree a key walks (memo_scope: a package's
 * source, the toolchain, a dependency's OUT_DIR, the script; the host
 * image's fingerprint in the shard of "/"), named after
 * the tree's root in the directory given to memo_load.  A run reads only
 * the shards of the trees it walks: what a hit costs does not grow with
 * every crate the store has ever seen (one file for all was 2,500 lines,
 * 1.7 ms to parse on every run, after one build of tests/corpus).  A
 * shard read and not written for a day has its mtime set to now, so that
 * `cache gc` can tell the unused ones (memo_prune).
 *
 * The memo is a cache: a shard that is missing, unreadable or malformed
 * is empty; each is written back atomically (temp + rename), and two
 * runs writing at once lose only entries, never correctness.
 */
#ifndef OHR_CACHE_MEMO_H
#define OHR_CACHE_MEMO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "util/error.h"

/* in the store directory */
#define CACHE_MEMO_DIR "results-memo.d"
#define CACHE_MEMO_LEGACY "results-memo" /* before shards */

/* cache gc removes shards no run has read for this long */
#define MEMO_UNUSED_S (30LL * 86400)

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

struct memo_shard
{
  char name[17];        /* the file's name: 16 hex digits of the root */
  struct memo_entry *v; /* open addressing by path */
  size_t cap, n;
  bool loaded, dirty;
};

struct memo
{
  char *dir;                 /* where the shards are; NULL: none kept */
  struct memo_shard *shards; /* those this run used */
  size_t n_shards;
  size_t cur;       /* the scope's shard (an index into shards) */
  long long now_ns; /* when this run started hashing */
};

/* A memo whose shards are files in dir (created on the first save; NULL:
 * nothing is read or written).  Reads nothing yet.  Never fails but for
 * memory. */
int memo_load (const char *dir, struct memo *out, ohr_error_t *err);

/* Entries from now on belong to the tree at root (an absolute path): its
 * shard is read on first use.  Before any scope, the shard of "/". */
int memo_scope (struct memo *m, const char *root, ohr_error_t *err);

/* The remembered sha256 hex of path when st still matches, else NULL. */
const char *memo_get (struct memo *m, const char *path, const struct stat *st);

/* Remember hex for path as st describes it (unless racy). */
int memo_put (struct memo *m, const char *path, const struct stat *st,
              const char *hex, ohr_error_t *err);

/* Write back the shards that changed. */
int memo_save (struct memo *m, ohr_error_t *err);

/* Remove the shards in dir not used for max_age_s seconds (by mtime;
 * memo_load's reads refresh it daily), and the single-file memo of
 * earlier versions beside dir (legacy, or NULL); *removed counts them. */
int memo_prune (const char *dir, const char *legacy, long long max_age_s,
                size_t *removed, ohr_error_t *err);

void memo_clear (struct memo *m);

#endif
