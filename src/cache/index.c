/* index.c: see index.h.  No libostree here: the lookup helper links it. */
#define _GNU_SOURCE
#include "cache/index.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/decide.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/walk.h"

#define INDEX_MAGIC "ohr-result-index 1 "
#define INDEX_MAX (64u << 20)
#define BLOB_MAX (256u << 20)

static int add_line (struct buf *b, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static int
add_line (struct buf *b, const char *fmt, ...)
{
  va_list ap;
  char *s = NULL;
  va_start (ap, fmt);
  int n = vasprintf (&s, fmt, ap);
  va_end (ap);
  int r = n < 0 || buf_add (b, s, (size_t)n) < 0 ? -1 : 0;
  free (s);
  return r;
}

static bool
writable (const char *s)
{
  return s[0] != '\0' && strchr (s, '\n') == NULL;
}

static bool
checksum_ok (const char *c)
{
  return strlen (c) == 64 && strspn (c, "0123456789abcdef") == 64;
}

int
cache_index_begin (struct buf *b, int64_t wall_ns)
{
  return add_line (b, INDEX_MAGIC "%" PRId64 "\n", wall_ns);
}

int
cache_index_blob (struct buf *b, char which, const char *checksum,
                  uint64_t size, bool *bad)
{
  if (!checksum_ok (checksum))
    *bad = true;
  return add_line (b, "%c %s %" PRIu64 "\n", which, checksum, size);
}

int
cache_index_dir (struct buf *b, const char *path, mode_t mode, bool *bad)
{
  if (!writable (path))
    *bad = true;
  return add_line (b, "d %o %s\n", (unsigned)(mode & 07777), path);
}

int
cache_index_file (struct buf *b, const char *path, mode_t mode,
                  const char *checksum, uint64_t size, bool *bad)
{
  if (!writable (path) || !checksum_ok (checksum))
    *bad = true;
  return add_line (b, "f %o %s %" PRIu64 " %s\n", (unsigned)(mode & 07777),
                   checksum, size, path);
}

int
cache_index_symlink (struct buf *b, const char *path, const char *target,
                     bool *bad)
{
  if (!writable (path) || !writable (target))
    *bad = true;
  return add_line (b, "l %zu %s %s\n", strlen (path), path, target);
}

static char *
index_path (const char *store_dir, const char *hex)
{
  char *p = NULL;
  return asprintf (&p, "%s/" CACHE_INDEX_DIR "/%s", store_dir, hex) < 0 ? NULL
                                                                        : p;
}

int
cache_index_save (const char *store_dir, const char *hex, const struct buf *b,
                  ohr_error_t *err)
{
  cleanup_free char *dir = fs_path_join (store_dir, CACHE_INDEX_DIR);
  cleanup_free char *path = index_path (store_dir, hex);
  if (dir == NULL || path == NULL)
    return ohr_error_nomem (err);
  if (mkdir (dir, 0700) < 0 && errno != EEXIST)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            dir);
  return fs_write_atomic (path, b->data ? b->data : "", b->len, 0600, true,
                          err);
}

void
cache_index_remove (const char *store_dir, const char *hex)
{
  cleanup_free char *path = index_path (store_dir, hex);
  if (path)
    unlink (path);
}

/* ---- reading */

struct restore
{
  const char *store_dir;
  int out_fd;
  bool chown_to;
  uid_t uid;
  gid_t gid;
};

/* A path relative to OUT_DIR that stays inside it. */
static bool
relative_ok (const char *p)
{
  if (p[0] == '\0' || p[0] == '/')
    return false;
  for (const char *c = p; *c;)
    {
      size_t n = strcspn (c, "/");
      if (n == 0 || (n == 1 && c[0] == '.')
          || (n == 2 && c[0] == '.' && c[1] == '.'))
        return false;
      c += n;
      if (*c == '/')
        c++;
    }
  return true;
}

static int
open_object (const struct restore *rs, const char *checksum, uint64_t size)
{
  char path[PATH_MAX];
  if (!checksum_ok (checksum)
      || snprintf (path, sizeof path, "%s/repo/objects/%.2s/%s.file",
                   rs->store_dir, checksum, checksum + 2)
             >= (int)sizeof path)
    return -1;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  struct stat st;
  if (fd >= 0
      && (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode)
          || (uint64_t)st.st_size != size))
    {
      close (fd);
      return -1;
    }
  return fd;
}

static int
read_blob (const struct restore *rs, const char *checksum, uint64_t size,
           struct buf *out)
{
  cleanup_close int fd
      = size <= BLOB_MAX ? open_object (rs, checksum, size) : -1;
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t ignored = NULL;
  if (fd < 0
      || fs_read_fd (fd, checksum, BLOB_MAX, OHR_ERR_INTERNAL, &data, &len,
                     &ignored)
             < 0
      || len != size || buf_add (out, data ? data : "", len) < 0)
    {
      ohr_error_free (&ignored);
      return -1;
    }
  return 0;
}

static int
give (const struct restore *rs, int dirfd, const char *name)
{
  if (!rs->chown_to)
    return 0;
  return fchownat (dirfd, name, rs->uid, rs->gid, AT_SYMLINK_NOFOLLOW);
}

/* The directory holding path (relative to OUT_DIR), opened beneath
 * OUT_DIR without following any symlink on the way (walk.h), and path's
 * last component in *name: a tampered index that made a symlink first
 * cannot have a file, a directory or a link made through it, outside
 * OUT_DIR.  -1 on failure. */
static int
open_parent (const struct restore *rs, char *path, const char **name)
{
  char *slash = strrchr (path, '/');
  if (slash == NULL)
    {
      *name = path;
      return fcntl (rs->out_fd, F_DUPFD_CLOEXEC, 3);
    }
  *slash = '\0';
  int fd = walk_open_beneath (rs->out_fd, path, O_RDONLY | O_DIRECTORY);
  *slash = '/';
  *name = slash + 1;
  return fd;
}

static int
copy_object (const struct restore *rs, int dirfd, const char *name,
             mode_t mode, const char *checksum, uint64_t size)
{
  cleanup_close int src = open_object (rs, checksum, size);
  if (src < 0)
    return -1;
  cleanup_close int dst = openat (
      dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dst < 0)
    return -1;
  /* a copy, never a link into the store */
  for (uint64_t left = size; left > 0;)
    {
      ssize_t n = copy_file_range (src, NULL, dst, NULL, left, 0);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          /* another file system that cannot: by hand */
          char b[65536];
          n = read (src, b, sizeof b);
          if (n < 0 && errno == EINTR)
            continue;
          if (n <= 0 || write (dst, b, (size_t)n) != n)
            return -1;
        }
      left -= (uint64_t)n;
    }
  return fchmod (dst, mode & 07777) < 0 ? -1 : give (rs, dirfd, name);
}

static int
restore_line (const struct restore *rs, char *line, struct buf *out,
              struct buf *errb)
{
  unsigned mode;
  char sum[65];
  uint64_t size;
  size_t len;
  int off = 0;
  cleanup_close int dirfd = -1;
  const char *name = NULL;
  switch (line[0])
    {
    case 'o':
    case 'e':
      if (sscanf (line + 1, " %64s %" SCNu64 "%n", sum, &size, &off) != 2
          || line[1 + off] != '\0')
        return -1;
      return read_blob (rs, sum, size, line[0] == 'o' ? out : errb);
    case 'd':
      if (sscanf (line + 1, " %o %n", &mode, &off) != 1 || off == 0
          || !relative_ok (line + 1 + off))
        return -1;
      line += 1 + off;
      if ((dirfd = open_parent (rs, line, &name)) < 0
          || mkdirat (dirfd, name, 0700) < 0
          || fchmodat (dirfd, name, mode & 07777, 0) < 0)
        return -1;
      return give (rs, dirfd, name);
    case 'f':
      if (sscanf (line + 1, " %o %64s %" SCNu64 " %n", &mode, sum, &size, &off)
              != 3
          || off == 0 || !relative_ok (line + 1 + off))
        return -1;
      if ((dirfd = open_parent (rs, line + 1 + off, &name)) < 0)
        return -1;
      return copy_object (rs, dirfd, name, mode, sum, size);
    case 'l':
      if (sscanf (line + 1, " %zu %n", &len, &off) != 1 || off == 0
          || strnlen (line + 1 + off, len + 1) <= len
          || line[1 + off + len] != ' ')
        return -1;
      line += 1 + off;
      line[len] = '\0';
      if (!relative_ok (line) || (dirfd = open_parent (rs, line, &name)) < 0
          || symlinkat (line + len + 1, dirfd, name) < 0)
        return -1;
      return give (rs, dirfd, name);
    default:
      return -1;
    }
}

int
cache_index_restore (const char *store_dir, const char *hex,
                     const char *out_dir, struct buf *out, struct buf *errb,
                     int64_t *wall_ns)
{
  cleanup_free char *path = index_path (store_dir, hex);
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t ignored = NULL;
  if (path == NULL
      || fs_read_file (path, INDEX_MAX, &data, &len, &ignored) < 0)
    {
      ohr_error_free (&ignored);
      return 0;
    }
  struct restore rs = { .store_dir = store_dir };
  struct stat st;
  long long ns = -1;
  int off = 0;
  if (strncmp (data, INDEX_MAGIC, strlen (INDEX_MAGIC)) != 0
      || sscanf (data + strlen (INDEX_MAGIC), "%lld%n", &ns, &off) != 1
      || ns < 0
      || (rs.out_fd
          = open (out_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC))
             < 0)
    return 0;
  if (fstat (rs.out_fd, &st) == 0)
    {
      rs.chown_to = st.st_uid != geteuid () || st.st_gid != getegid ();
      rs.uid = st.st_uid;
      rs.gid = st.st_gid;
    }
  int r = 0;
  char *line = data + strlen (INDEX_MAGIC) + off;
  if (*line != '\n' || data[len - 1] != '\n')
    r = -1;
  int have = 0; /* stdout and stderr both named */
  for (line++; r == 0 && line < data + len;)
    {
      char *nl = memchr (line, '\n', (size_t)(data + len - line));
      *nl = '\0';
      if (strlen (line) != (size_t)(nl - line))
        r = -1; /* a NUL inside */
      else
        {
          have |= line[0] == 'o' ? 1 : line[0] == 'e' ? 2 : 0;
          r = restore_line (&rs, line, out, errb);
        }
      line = nl + 1;
    }
  close (rs.out_fd);
  if (r < 0 || have != 3)
    {
      buf_clear (out);
      buf_clear (errb);
      cache_dir_empty_out (out_dir);
      return 0;
    }
  *wall_ns = ns;
  return 1;
}

void
cache_index_log (const char *store_dir, const char *event, const char *hex,
                 int64_t ns)
{
  cleanup_free char *path = fs_path_join (store_dir, "results.log");
  char line[160];
  int n = snprintf (line, sizeof line, "%s %s %lld %lld\n", event, hex,
                    (long long)ns, (long long)time (NULL));
  cleanup_close int fd
      = path ? open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)
             : -1;
  /* one write under PIPE_BUF: whole lines however many runs append */
  if (fd >= 0 && n > 0 && (size_t)n < sizeof line
      && write (fd, line, (size_t)n) < 0)
    return;
}
