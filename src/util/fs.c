/* fs.c: see fs.h */
#define _GNU_SOURCE
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/walk.h"

int
fs_mkdir_p (const char *path, mode_t mode, ohr_error_t *err)
{
  cleanup_free char *p = strdup (path);
  if (p == NULL)
    return ohr_error_nomem (err);
  size_t len = strlen (p);
  for (size_t i = 1; i <= len; i++)
    {
      if (p[i] != '/' && p[i] != '\0')
        continue;
      char saved = p[i];
      p[i] = '\0';
      if (mkdir (p, mode) < 0 && errno != EEXIST)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot create directory '%s'", p);
      p[i] = saved;
    }
  if (!fs_is_dir (path))
    return ohr_error_set (err, ENOTDIR, OHR_ERR_INTERNAL,
                          "'%s' exists and is not a directory", path);
  return 0;
}

static int
write_all (int fd, const void *data, size_t len)
{
  const char *p = data;
  while (len > 0)
    {
      ssize_t w = write (fd, p, len);
      if (w < 0)
        {
          if (errno == EINTR)
            continue;
          return -1;
        }
      p += w;
      len -= (size_t)w;
    }
  return 0;
}

int
fs_write_atomic (const char *path, const void *data, size_t len, mode_t mode,
                 bool durable, ohr_error_t *err)
{
  cleanup_free char *tmp = NULL;
  if (asprintf (&tmp, "%s.tmp.%d", path, getpid ()) < 0)
    return ohr_error_nomem (err);
  cleanup_close int fd
      = open (tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            tmp);
  /* fchmod: open() applied the umask, the caller asked for this mode */
  if (write_all (fd, data, len) < 0 || fchmod (fd, mode) < 0
      || (durable && fsync (fd) < 0))
    {
      int e = errno;
      unlink (tmp);
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL, "cannot write '%s'",
                              tmp);
    }
  if (rename (tmp, path) < 0)
    {
      int e = errno;
      unlink (tmp);
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL,
                              "cannot rename '%s' to '%s'", tmp, path);
    }
  return 0;
}

int
fs_write_new (const char *path, const void *data, size_t len, mode_t mode,
              ohr_error_t *err)
{
  cleanup_close int fd
      = open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            path);
  if (write_all (fd, data, len) < 0)
    {
      int e = errno;
      unlink (path);
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL, "cannot write '%s'",
                              path);
    }
  return 0;
}

int
fs_read_fd (int fd, const char *what, size_t max, enum ohr_error_kind kind,
            char **out, size_t *out_len, ohr_error_t *err)
{
  /* One byte beyond max tells "exactly max" from "too large". */
  size_t cap = max < 4096 ? max + 1 : 4096, len = 0;
  cleanup_free char *buf = malloc (cap + 1);
  if (buf == NULL)
    return ohr_error_nomem (err);
  while (len <= max)
    {
      if (len == cap)
        {
          cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
          char *nb = realloc (buf, cap + 1);
          if (nb == NULL)
            return ohr_error_nomem (err);
          buf = nb;
        }
      ssize_t r = read (fd, buf + len, cap - len);
      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0 && what)
        return ohr_error_errno (err, errno, kind, "cannot read '%s'", what);
      if (r < 0)
        return ohr_error_errno (err, errno, kind, "cannot read");
      if (r == 0)
        break;
      len += (size_t)r;
    }
  buf[len] = '\0';
  *out_len = len;
  *out = steal_pointer (&buf);
  return 0;
}

/* fs_read_fd, and more than max bytes is an error. */
static int
read_fd (int fd, const char *what, size_t max, char **out, size_t *out_len,
         ohr_error_t *err)
{
  cleanup_free char *buf = NULL;
  size_t len = 0;
  if (fs_read_fd (fd, what, max, OHR_ERR_INTERNAL, &buf, &len, err) < 0)
    return -1;
  if (len > max)
    return ohr_error_set (err, EFBIG, OHR_ERR_INTERNAL,
                          "'%s' is larger than %zu bytes", what, max);
  if (out_len)
    *out_len = len;
  *out = steal_pointer (&buf);
  return 0;
}

int
fs_read_file (const char *path, size_t max, char **out, size_t *out_len,
              ohr_error_t *err)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot open '%s'",
                            path);
  return read_fd (fd, path, max, out, out_len, err);
}

int
fs_read_file_at (int dirfd, const char *name, const char *what, size_t max,
                 char **out, size_t *out_len, ohr_error_t *err)
{
  cleanup_close int fd = openat (
      dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot open '%s'",
                            what);
  if (!S_ISREG (st.st_mode))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "'%s' is not a regular file", what);
  return read_fd (fd, what, max, out, out_len, err);
}

/* A rootless owner cannot empty a directory it may not write or search
 * (an image's 0555 directories in a store checkout, the mode-000
 * work/work directory overlayfs leaves): open it up first.  Root needs
 * nothing; a directory of another owner stays as it is. */
static void
make_removable (int dfd, const char *name, const struct stat *st)
{
  uid_t euid = geteuid ();
  if (euid == 0 || st->st_uid != euid || (st->st_mode & 0700) == 0700)
    return;
  /* a failure shows when the directory cannot be emptied */
  if (fchmodat (dfd, name, 0700, AT_SYMLINK_NOFOLLOW) == 0)
    return;
  /* no fchmodat2, and no /proc for glibc to do without it: st says this
   * is a directory, not a link */
  if ((errno == ENOTSUP || errno == ENOSYS || errno == ENOENT)
      && fchmodat (dfd, name, 0700, 0) < 0)
    errno = 0;
}

static int
rm_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  const char *root = ctx;
  if (!S_ISDIR (e->st->st_mode))
    {
      if (unlinkat (e->dirfd, e->name, 0) < 0 && errno != ENOENT)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot remove '%s/%s'", root, e->path);
      return WALK_CONTINUE;
    }
  if (!e->post)
    {
      make_removable (e->dirfd, e->name, e->st);
      return WALK_CONTINUE;
    }
  if (unlinkat (e->dirfd, e->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot remove directory '%s/%s'", root, e->path);
  return WALK_CONTINUE;
}

int
fs_rm_rf_at (int dirfd, const char *name, ohr_error_t *err)
{
  struct stat st;
  if (fstatat (dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
    return errno == ENOENT ? 0
                           : ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                              "cannot stat '%s'", name);
  if (!S_ISDIR (st.st_mode))
    {
      if (unlinkat (dirfd, name, 0) < 0 && errno != ENOENT)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot remove '%s'", name);
      return 0;
    }
  make_removable (dirfd, name, &st);
  /* the walk empties it, directories last; never into another mount */
  struct walk_options opts
      = { .flags = WALK_POST | WALK_SAME_MOUNT | WALK_ROOT_NOFOLLOW };
  int r = walk_tree (dirfd, name, &opts, rm_entry, (void *)name, err);
  if (r < 0)
    return r;
  if (unlinkat (dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot remove directory '%s'", name);
  return 0;
}

int
fs_rm_rf (const char *path, ohr_error_t *err)
{
  return fs_rm_rf_at (AT_FDCWD, path, err);
}

static int
copy_symlink (const char *src, const char *dst, ohr_error_t *err)
{
  char target[4096];
  ssize_t n = readlink (src, target, sizeof target - 1);
  if (n < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot read link '%s'", src);
  target[n] = '\0';
  cleanup_free char *tmp = NULL;
  if (asprintf (&tmp, "%s.tmp.%d", dst, getpid ()) < 0)
    return ohr_error_nomem (err);
  unlink (tmp);
  if (symlink (target, tmp) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot create link '%s'", tmp);
  if (rename (tmp, dst) < 0)
    {
      int e = errno;
      unlink (tmp);
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL, "cannot rename '%s'",
                              tmp);
    }
  return 0;
}

int
fs_copy_entry (const char *src, const char *dst, ohr_error_t *err)
{
  struct stat st;
  if (lstat (src, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot stat '%s'",
                            src);
  if (S_ISLNK (st.st_mode))
    return copy_symlink (src, dst, err);
  if (!S_ISREG (st.st_mode))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "'%s' is not a regular file or symlink", src);
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file (src, 64 << 20, &data, &len, err) < 0)
    return -1;
  if (fs_write_atomic (dst, data, len, st.st_mode & 07777, true, err) < 0)
    return -1;
  struct timespec times[2] = { st.st_atim, st.st_mtim };
  if (utimensat (AT_FDCWD, dst, times, 0) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot set times of '%s'", dst);
  return 0;
}

/* fd's content to a new file at dst, with mode */
static int
copy_fd_to (int fd, const char *dst, mode_t mode, ohr_error_t *err)
{
  cleanup_close int out
      = open (dst, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            dst);
  char b[65536];
  for (;;)
    {
      ssize_t n = read (fd, b, sizeof b);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot read the source of '%s'", dst);
      if (n == 0)
        break;
      if (write_all (out, b, (size_t)n) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot write '%s'", dst);
    }
  if (fchmod (out, mode & 07777) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot set the mode of '%s'", dst);
  return 0;
}

struct copy_tree
{
  const char *src, *dst;
};

static int
copy_tree_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  const struct copy_tree *c = ctx;
  cleanup_free char *to = fs_path_join (c->dst, e->path);
  if (to == NULL)
    return ohr_error_nomem (err);
  mode_t mode = e->st->st_mode;
  if (S_ISDIR (mode))
    {
      if (mkdir (to, (mode & 07777) | S_IRWXU) < 0
          || chmod (to, (mode & 07777) | S_IRWXU) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot create directory '%s'", to);
      return WALK_CONTINUE;
    }
  if (S_ISLNK (mode))
    {
      char target[4096];
      ssize_t n = readlinkat (e->dirfd, e->name, target, sizeof target - 1);
      if (n < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot read link '%s/%s'", c->src, e->path);
      target[n] = '\0';
      if (symlink (target, to) < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot create link '%s'", to);
      return WALK_CONTINUE;
    }
  if (!S_ISREG (mode))
    return WALK_CONTINUE;
  cleanup_close int fd = openat (
      e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat (fd, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot open '%s/%s'", c->src, e->path);
  if (!S_ISREG (st.st_mode) || st.st_ino != e->st->st_ino
      || st.st_dev != e->st->st_dev)
    return ohr_error_set (err, EAGAIN, OHR_ERR_INTERNAL,
                          "'%s/%s' changed during the copy", c->src, e->path);
  return copy_fd_to (fd, to, mode, err);
}

int
fs_copy_tree (const char *src, const char *dst, ohr_error_t *err)
{
  struct stat st;
  if (lstat (src, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot stat '%s'",
                            src);
  if (!S_ISDIR (st.st_mode))
    return ohr_error_set (err, ENOTDIR, OHR_ERR_INTERNAL,
                          "'%s' is not a directory", src);
  if (mkdir (dst, (st.st_mode & 07777) | S_IRWXU) < 0
      || chmod (dst, (st.st_mode & 07777) | S_IRWXU) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot create directory '%s'", dst);
  struct copy_tree c = { .src = src, .dst = dst };
  struct walk_options opts = { .flags = WALK_ROOT_NOFOLLOW };
  return walk_tree (AT_FDCWD, src, &opts, copy_tree_entry, &c, err);
}

int
fs_ensure_private_dir (const char *path, ohr_error_t *err)
{
  if (fs_mkdir_p (path, 0700, err) < 0)
    return -1;
  struct stat st;
  if (lstat (path, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot stat '%s'",
                            path);
  if (!S_ISDIR (st.st_mode) || st.st_uid != geteuid ()
      || (st.st_mode & 022) != 0)
    return ohr_error_set (err, EPERM, OHR_ERR_INTERNAL,
                          "'%s' must be a directory owned by uid %u and "
                          "writable only by it; remove it or choose another "
                          "with --state-dir",
                          path, (unsigned)geteuid ());
  return 0;
}

int
fs_sync_dir (const char *dir, bool whole_fs, enum ohr_error_kind kind,
             ohr_error_t *err)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || (whole_fs ? syncfs (fd) : fsync (fd)) < 0)
    return ohr_error_errno (err, errno, kind, "cannot sync '%s'", dir);
  return 0;
}

bool
fs_is_dir (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISDIR (st.st_mode);
}

bool
fs_exists (const char *path)
{
  struct stat st;
  return lstat (path, &st) == 0;
}

bool
fs_path_is_under (const char *path, const char *dir)
{
  size_t n = strlen (dir);
  if (n == 1 && dir[0] == '/')
    return path[0] == '/';
  return strncmp (path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

/* Collapse "//", "/." and a trailing "/" of an absolute path; ".." either
 * removes the component before it (pop) or makes the result NULL. */
static char *
collapse (const char *path, bool pop)
{
  char *out = malloc (strlen (path) + 2);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  for (const char *p = path; *p;)
    {
      while (*p == '/')
        p++;
      if (*p == '\0')
        break;
      const char *end = strchrnul (p, '/');
      size_t n = (size_t)(end - p);
      if (n == 2 && p[0] == '.' && p[1] == '.')
        {
          if (!pop)
            {
              free (out);
              return NULL;
            }
          while (o > 0 && out[--o] != '/')
            ;
        }
      else if (!(n == 1 && p[0] == '.'))
        {
          out[o++] = '/';
          memcpy (out + o, p, n);
          o += n;
        }
      p = end;
    }
  if (o == 0)
    out[o++] = '/';
  out[o] = '\0';
  return out;
}

char *
fs_path_normalize (const char *path)
{
  if (path == NULL || path[0] != '/')
    return NULL;
  return collapse (path, false);
}

char *
fs_path_lexical (const char *base, const char *path)
{
  cleanup_free char *joined
      = path[0] == '/' ? strdup (path) : fs_path_join (base, path);
  return joined ? collapse (joined, true) : NULL;
}

char *
fs_path_join (const char *a, const char *b)
{
  char *s = NULL;
  size_t la = strlen (a);
  while (la > 0 && a[la - 1] == '/')
    la--; /* "/" joins as "" + "/" + b */
  while (*b == '/')
    b++;
  if (asprintf (&s, "%.*s/%s", (int)la, a, b) < 0)
    return NULL;
  return s;
}
