/* walk.h: the one tree walker.  Every walk over OUT_DIR, the image store
 * and attestations goes through it, and so does fs_rm_rf.
 *
 * The trees it walks are written by someone we do not trust (a build
 * script's OUT_DIR, an image's files), sometimes while we walk them.  So
 * it works like bubblewrap and the escape-battery fixes: one directory fd
 * per level and every operation relative to it.  Each entry is stat'ed
 * with fstatat (AT_SYMLINK_NOFOLLOW); a directory is entered with
 * openat2 (O_NOFOLLOW | O_DIRECTORY, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
 * and RESOLVE_NO_XDEV for WALK_SAME_MOUNT; openat where the kernel or a
 * seccomp filter refuses openat2), and what was opened must be the
 * directory that was stat'ed (device and inode): a directory swapped for a
 * symlink or for another directory during the walk is an error, never a
 * way out of the tree.  Symlinks are reported, never followed.
 *
 * Depth is bounded (each level holds an fd): a deeper tree is an error,
 * not cut short, because the walks that check a tree must see all of it.
 * Entries come in readdir's order; callers that need an order sort.
 * An entry that disappears between readdir and fstatat is not reported.
 */
#ifndef OHR_UTIL_WALK_H
#define OHR_UTIL_WALK_H

#include <stdbool.h>
#include <sys/stat.h>

#include "util/error.h"

/* The default bound: levels below the root (the root's entries are 1). */
#define WALK_MAX_DEPTH 256

struct walk_entry
{
  int rootfd;            /* the walk's root directory */
  int dirfd;             /* the directory holding the entry */
  const char *name;      /* its name in dirfd */
  const char *path;      /* relative to the root: "a/b/name" */
  const struct stat *st; /* of the entry itself, never a link's target */
  unsigned depth;        /* 1: an entry of the root */
  bool post;             /* WALK_POST: a directory after its entries */
};

/* A callback returns WALK_CONTINUE, WALK_SKIP (a directory: do not enter
 * it; nothing else), or a negative value with *err set to stop the walk,
 * which then returns that value. */
enum
{
  WALK_CONTINUE = 0,
  WALK_SKIP = 1,
};

typedef int (*walk_fn) (const struct walk_entry *e, void *ctx,
                        ohr_error_t *err);

enum
{
  /* call the callback again for each directory after its entries (with
   * post set), as rm -rf needs */
  WALK_POST = 1 << 0,
  /* never enter a directory on another mount (device or mount point):
   * such a directory is an error */
  WALK_SAME_MOUNT = 1 << 1,
  /* the root itself must not be a symlink (otherwise the caller's path is
   * followed, as `find DIR` does with the DIR it is given) */
  WALK_ROOT_NOFOLLOW = 1 << 2,
};

struct walk_options
{
  unsigned flags;
  unsigned max_depth; /* 0: WALK_MAX_DEPTH */
};

/* Walk the directory path (relative to dirfd, or AT_FDCWD), calling fn for
 * every entry below it (not for the root).  opts may be NULL. */
int walk_tree (int dirfd, const char *path, const struct walk_options *opts,
               walk_fn fn, void *ctx, ohr_error_t *err);

/* The same from an open directory fd (not closed); what names it in
 * messages. */
int walk_fd (int fd, const char *what, const struct walk_options *opts,
             walk_fn fn, void *ctx, ohr_error_t *err);

/* Open rel (a path a walk reported, relative to its root) beneath rootfd
 * without following any symlink on the way: openat2 with RESOLVE_BENEATH
 * and RESOLVE_NO_SYMLINKS, or, without openat2, component by component
 * with O_NOFOLLOW.  flags as openat's (O_CLOEXEC is added); -1 and errno
 * on failure (EXDEV for a ".." component). */
int walk_open_beneath (int rootfd, const char *rel, int flags);

/* Whether rel, resolved from rootfd as the kernel would (every symlink
 * followed), leaves rootfd's tree: openat2 with RESOLVE_BENEATH says so
 * (EXDEV), or a loop of links (ELOOP).  A path that dangles inside does
 * not leave.  false as well where openat2 is missing (kernel < 5.6):
 * callers that must know keep a textual check beside it. */
bool walk_escapes (int rootfd, const char *rel);

#endif
