/* fs.h: filesystem helpers: directories, atomic writes, recursive removal,
 * path checks.  Every writer leaves either the old or the new content,
 * never a half-written file (temp + fsync + rename). */
#ifndef OHR_UTIL_FS_H
#define OHR_UTIL_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

/* mkdir -p with the given mode for created components. */
int fs_mkdir_p (const char *path, mode_t mode, ohr_error_t *err);

/* Write data to path atomically (temp file in the same directory, fsync,
 * rename).  When durable is false the fsync is skipped: for state that is
 * thrown away after the run and lives on tmpfs. */
int fs_write_atomic (const char *path, const void *data, size_t len,
                     mode_t mode, bool durable, ohr_error_t *err);

/* Write data to a new file that must not exist (O_EXCL), no fsync. */
int fs_write_new (const char *path, const void *data, size_t len, mode_t mode,
                  ohr_error_t *err);

/* Read fd to its end into *out (NUL-terminated) and *out_len, keeping at
 * most max + 1 bytes: a length of max + 1 says the file is larger than
 * max, for the caller to word.  A read error is "cannot read 'WHAT'" (just
 * "cannot read" when what is NULL: the caller's wrapping names it), of
 * the given kind. */
int fs_read_fd (int fd, const char *what, size_t max, enum ohr_error_kind kind,
                char **out, size_t *out_len, ohr_error_t *err);

/* Read a whole (small) file, at most max bytes; NUL-terminated. */
int fs_read_file (const char *path, size_t max, char **out, size_t *out_len,
                  ohr_error_t *err);

/* The same, for a file met in a tree walk (walk.h): name relative to
 * dirfd, opened without following a symlink, and only a regular file;
 * what names it in messages. */
int fs_read_file_at (int dirfd, const char *name, const char *what, size_t max,
                     char **out, size_t *out_len, ohr_error_t *err);

/* The one rm -rf: on the tree walker (walk.h), so it never follows a
 * symlink and never enters another mount (that is an error); directories
 * the caller owns but may not write or search (an image's 0555 ones) are
 * opened up first.  A missing path is not an error. */
int fs_rm_rf (const char *path, ohr_error_t *err);

/* The same for name relative to dirfd (AT_FDCWD: a path). */
int fs_rm_rf_at (int dirfd, const char *name, ohr_error_t *err);

/* Copy a regular file or a symlink (as a symlink), keeping mode and mtime,
 * atomically. */
int fs_copy_entry (const char *src, const char *dst, ohr_error_t *err);

/* Copy the directory tree src to dst, which must not exist: directories
 * (their mode, and always writable by us), regular files (content and
 * mode) and symlinks (as symlinks, never followed); sockets, fifos and
 * devices are left out.  On the tree walker (walk.h): a tree that changes
 * under the copy is an error, never a way out of it.  Not durable: for a
 * scratch copy.  Errors of kind OHR_ERR_INTERNAL. */
int fs_copy_tree (const char *src, const char *dst, ohr_error_t *err);

/* mkdir -p, then insist the directory is ours and private: owned by the
 * effective uid, not a symlink, not writable by group or others (state in
 * a shared /tmp must not be pre-created by someone else). */
int fs_ensure_private_dir (const char *path, ohr_error_t *err);

/* Make what dir holds durable: its entries (fsync of the directory, after
 * a rename into it) or, with whole_fs, everything written to its
 * filesystem (syncfs, for a tree just made).  Errors of the given kind. */
int fs_sync_dir (const char *dir, bool whole_fs, enum ohr_error_kind kind,
                 ohr_error_t *err);

bool fs_is_dir (const char *path);
bool fs_exists (const char *path);

/* true when path equals dir or lies below it (both absolute, normalized). */
bool fs_path_is_under (const char *path, const char *dir);

/* Lexically normalize an absolute path: collapse //, /./ and trailing /;
 * ".." components are refused (returns NULL) because symlinks make their
 * meaning depend on the filesystem. */
char *fs_path_normalize (const char *path);

/* path (absolute, or relative to the absolute base) with ".", "//" and
 * ".." collapsed by the letters alone, as a shell's "cd -L" does (".." at
 * the root stays there).  Only for naming a path in a message or matching
 * it against prefixes, never for opening it: symlinks can make the real
 * ".." elsewhere.  NULL when out of memory. */
char *fs_path_lexical (const char *base, const char *path);

/* Join a and b with exactly one slash. */
char *fs_path_join (const char *a, const char *b);

#endif
