/* walk.c: see walk.h */
#define _GNU_SOURCE
#include "util/walk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/cleanup.h"

struct walker
{
  const char *what; /* the root, for messages */
  int rootfd;
  unsigned flags, max_depth;
  dev_t root_dev;
  walk_fn fn;
  void *ctx;
  ohr_error_t *err;
  char *path; /* the current entry, relative to the root */
  size_t len, cap;
};

/* The kernel has no openat2 (ENOSYS): openat from then on. */
static bool no_openat2;

static int
open_dir_at (int dirfd, const char *name, bool same_mount)
{
  if (!no_openat2)
    {
      /* for one path component O_NOFOLLOW already refuses a symlink; the
       * RESOLVE_ flags say the same to the kernel, and RESOLVE_NO_XDEV
       * also catches a bind mount of the same filesystem, which a device
       * comparison cannot see */
      struct open_how how
          = { .flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
              .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
                         | RESOLVE_NO_MAGICLINKS
                         | (same_mount ? RESOLVE_NO_XDEV : 0) };
      int fd = (int)syscall (SYS_openat2, dirfd, name, &how, sizeof how);
      if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return fd;
      /* EPERM: a seccomp filter that does not know openat2 */
      if (errno == ENOSYS)
        no_openat2 = true;
    }
  return openat (dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* "cannot stat 'ROOT/PATH'": fmt names the entry with WHERE */
#define WHERE "'%s%s%s'"
#define WHERE_ARGS(w) (w)->what, (w)->path[0] ? "/" : "", (w)->path
#define FAIL(w, e, fmt)                                                       \
  ohr_error_errno ((w)->err, (e), OHR_ERR_INTERNAL, fmt, WHERE_ARGS (w))

/* Append "/name" (or "name" at the top) to w->path. */
static int
push (struct walker *w, const char *name)
{
  size_t n = strlen (name), need = w->len + (w->len ? 1 : 0) + n + 1;
  if (need > w->cap)
    {
      size_t cap = need * 2;
      char *p = realloc (w->path, cap);
      if (p == NULL)
        return -1;
      w->path = p;
      w->cap = cap;
    }
  if (w->len)
    w->path[w->len++] = '/';
  memcpy (w->path + w->len, name, n + 1);
  w->len += n;
  return 0;
}

static int walk_dir (struct walker *w, int fd, unsigned depth);

static int
walk_entry (struct walker *w, int dfd, const char *name, unsigned depth)
{
  struct stat st;
  if (fstatat (dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0 : FAIL (w, errno, "cannot stat " WHERE);
  struct walk_entry e = { .rootfd = w->rootfd,
                          .dirfd = dfd,
                          .name = name,
                          .path = w->path,
                          .st = &st,
                          .depth = depth };
  int r = w->fn (&e, w->ctx, w->err);
  if (r < 0)
    return r;
  if (r == WALK_SKIP || !S_ISDIR (st.st_mode))
    return 0;
  if (depth >= w->max_depth)
    return ohr_error_set (w->err, ELOOP, OHR_ERR_INTERNAL,
                          WHERE " is more than %u levels deep", WHERE_ARGS (w),
                          w->max_depth);
  bool same_mount = (w->flags & WALK_SAME_MOUNT) != 0;
  if (same_mount && st.st_dev != w->root_dev)
    return ohr_error_set (w->err, EXDEV, OHR_ERR_INTERNAL,
                          WHERE " is a mount point", WHERE_ARGS (w));
  int fd = open_dir_at (dfd, name, same_mount);
  if (fd < 0 && errno == ENOENT)
    return 0; /* removed since: nothing to walk */
  if (fd < 0 && errno == EXDEV && same_mount)
    return ohr_error_set (w->err, EXDEV, OHR_ERR_INTERNAL,
                          WHERE " is a mount point", WHERE_ARGS (w));
  if (fd < 0)
    return FAIL (w, errno, "cannot open " WHERE);
  struct stat now;
  if (fstat (fd, &now) < 0 || now.st_dev != st.st_dev
      || now.st_ino != st.st_ino)
    {
      close (fd);
      return ohr_error_set (w->err, ESTALE, OHR_ERR_INTERNAL,
                            WHERE " was replaced during the walk",
                            WHERE_ARGS (w));
    }
  if (walk_dir (w, fd, depth + 1) < 0)
    return -1;
  if ((w->flags & WALK_POST) == 0)
    return 0;
  e.path = w->path; /* the buffer may have moved */
  e.post = true;
  r = w->fn (&e, w->ctx, w->err);
  return r < 0 ? r : 0;
}

/* Takes fd. */
static int
walk_dir (struct walker *w, int fd, unsigned depth)
{
  cleanup_dir DIR *d = fdopendir (fd);
  if (d == NULL)
    {
      int e = errno;
      close (fd);
      return FAIL (w, e, "cannot read " WHERE);
    }
  size_t len = w->len;
  for (;;)
    {
      errno = 0;
      struct dirent *de = readdir (d);
      if (de == NULL)
        {
          if (errno != 0)
            return FAIL (w, errno, "cannot read " WHERE);
          return 0;
        }
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      if (push (w, de->d_name) < 0)
        return ohr_error_nomem (w->err);
      int r = walk_entry (w, dirfd (d), de->d_name, depth);
      w->len = len;
      w->path[len] = '\0';
      if (r < 0)
        return r;
    }
}

int
walk_fd (int fd, const char *what, const struct walk_options *opts, walk_fn fn,
         void *ctx, ohr_error_t *err)
{
  struct stat st;
  /* a fresh open file description: readdir's position is not shared with
   * the caller's fd */
  int own = openat (fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (own < 0 || fstat (own, &st) < 0)
    {
      int e = errno;
      if (own >= 0)
        close (own);
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL,
                              "cannot open directory '%s'", what);
    }
  struct walker w = { .what = what,
                      .rootfd = fd,
                      .flags = opts ? opts->flags : 0,
                      .max_depth = opts && opts->max_depth ? opts->max_depth
                                                           : WALK_MAX_DEPTH,
                      .root_dev = st.st_dev,
                      .fn = fn,
                      .ctx = ctx,
                      .err = err };
  if ((w.path = calloc (1, w.cap = 256)) == NULL)
    {
      close (own);
      return ohr_error_nomem (err);
    }
  int r = walk_dir (&w, own, 1);
  free (w.path);
  return r < 0 ? r : 0;
}

int
walk_tree (int dirfd, const char *path, const struct walk_options *opts,
           walk_fn fn, void *ctx, ohr_error_t *err)
{
  int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  if (opts && (opts->flags & WALK_ROOT_NOFOLLOW))
    flags |= O_NOFOLLOW;
  cleanup_close int fd = openat (dirfd, path, flags);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot open directory '%s'", path);
  return walk_fd (fd, path, opts, fn, ctx, err);
}

int
walk_open_beneath (int rootfd, const char *rel, int flags)
{
  if (!no_openat2)
    {
      struct open_how how
          = { .flags = (unsigned)flags | O_NOFOLLOW | O_CLOEXEC,
              .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
                         | RESOLVE_NO_MAGICLINKS };
      int fd = (int)syscall (SYS_openat2, rootfd, rel, &how, sizeof how);
      if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return fd;
      if (errno == ENOSYS)
        no_openat2 = true;
    }
  cleanup_free char *copy = strdup (rel);
  if (copy == NULL)
    return -1;
  int fd = -1; /* -1: still rootfd */
  char *save = NULL;
  char *name = strtok_r (copy, "/", &save);
  while (name)
    {
      char *next = strtok_r (NULL, "/", &save);
      if (strcmp (name, "..") == 0)
        {
          if (fd >= 0)
            close (fd);
          errno = EXDEV;
          return -1;
        }
      int f = next ? O_PATH | O_DIRECTORY : flags;
      int nfd
          = openat (fd >= 0 ? fd : rootfd, name, f | O_NOFOLLOW | O_CLOEXEC);
      int e = errno;
      if (fd >= 0)
        close (fd);
      if (nfd < 0)
        {
          errno = e;
          return -1;
        }
      fd = nfd;
      name = next;
    }
  /* "" or only slashes: the root itself */
  return fd >= 0 ? fd : openat (rootfd, ".", flags | O_CLOEXEC);
}

bool
walk_escapes (int rootfd, const char *rel)
{
  struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                          .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
  int fd = (int)syscall (SYS_openat2, rootfd, rel, &how, sizeof how);
  if (fd >= 0)
    {
      close (fd);
      return false;
    }
  /* ENOENT: dangling inside; ENOSYS: not known here */
  return errno == EXDEV || errno == ELOOP;
}
