/* outcheck.c: see outcheck.h */
#define _GNU_SOURCE
#include "run/outcheck.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/fs.h"

/* Binary detection looks at this much; text files are scanned up to the
 * cap (a generated source file of more than 16 MiB is not plausible). */
#define SNIFF_BYTES 8192
#define TEXT_CAP (16 << 20)

typedef int (*visit_fn) (const char *root, const char *rel,
                         const struct stat *st, void *ctx, ohr_error_t *err);

static int
walk (const char *root, const char *rel, visit_fn fn, void *ctx,
      ohr_error_t *err)
{
  cleanup_free char *path = rel[0] ? fs_path_join (root, rel) : strdup (root);
  if (path == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "scan");
  cleanup_dir DIR *d = opendir (path);
  if (d == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot read '%s'",
                            path);
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    {
      if (strcmp (de->d_name, ".") == 0 || strcmp (de->d_name, "..") == 0)
        continue;
      cleanup_free char *child
          = rel[0] ? fs_path_join (rel, de->d_name) : strdup (de->d_name);
      struct stat st;
      if (child == NULL
          || fstatat (dirfd (d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        continue;
      if (fn (root, child, &st, ctx, err) < 0)
        return -1;
      if (S_ISDIR (st.st_mode) && walk (root, child, fn, ctx, err) < 0)
        return -1;
    }
  return 0;
}

static int
add (struct outcheck_report *r, const char *path, int line, const char *what,
     ohr_error_t *err)
{
  struct outcheck_finding *nv = realloc (r->v, (r->n + 1) * sizeof *nv);
  if (nv == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "scan");
  r->v = nv;
  nv[r->n].path = strdup (path);
  nv[r->n].line = line;
  nv[r->n].what = strdup (what);
  r->n++;
  return 0;
}

static bool
path_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* prefix at p on both boundaries: not inside a longer name */
static bool
prefix_at (const char *start, const char *p, const char *prefix, size_t n)
{
  if (strncmp (p, prefix, n) != 0)
    return false;
  if (p > start && (path_char (p[-1]) || p[-1] == '/'))
    return false;
  return !path_char (p[n]);
}

struct prefix_scan
{
  char *const *prefixes;
  struct outcheck_report *out;
};

static const char *
find_prefix (const char *data, size_t len, char *const *prefixes, int *line)
{
  *line = 1;
  for (size_t i = 0; i < len; i++)
    {
      if (data[i] == '\n')
        (*line)++;
      if (data[i] != '/')
        continue;
      for (size_t k = 0; prefixes[k]; k++)
        if (prefix_at (data, data + i, prefixes[k], strlen (prefixes[k])))
          return prefixes[k];
    }
  return NULL;
}

static int
scan_file (const char *root, const char *rel, const struct stat *st, void *ctx,
           ohr_error_t *err)
{
  struct prefix_scan *ps = ctx;
  if (!S_ISREG (st->st_mode) || st->st_size == 0 || st->st_size > TEXT_CAP)
    return 0;
  cleanup_free char *path = fs_path_join (root, rel);
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t ignored = NULL;
  if (path == NULL || fs_read_file (path, TEXT_CAP, &data, &len, &ignored) < 0)
    {
      ohr_error_free (&ignored);
      return 0; /* unreadable: the script's problem, not a leak */
    }
  if (memchr (data, '\0', len < SNIFF_BYTES ? len : SNIFF_BYTES))
    return 0; /* binary */
  int line = 0;
  const char *hit = find_prefix (data, len, ps->prefixes, &line);
  return hit ? add (ps->out, rel, line, hit, err) : 0;
}

int
outcheck_prefixes (const char *dir, char *const *prefixes,
                   struct outcheck_report *out, ohr_error_t *err)
{
  struct prefix_scan ps = { .prefixes = prefixes, .out = out };
  return walk (dir, "", scan_file, &ps, err);
}

/* Does target, relative to the link's directory rel_dir, leave the tree? */
static bool
escapes (const char *rel, const char *target)
{
  if (target[0] == '/')
    return true;
  int depth = 0;
  for (const char *p = rel; *p; p++)
    if (*p == '/')
      depth++;
  for (const char *p = target; *p;)
    {
      const char *end = strchrnul (p, '/');
      size_t n = (size_t)(end - p);
      if (n == 2 && p[0] == '.' && p[1] == '.')
        depth--;
      else if (n > 0 && !(n == 1 && p[0] == '.'))
        depth++;
      if (depth < 0)
        return true;
      p = *end ? end + 1 : end;
    }
  return false;
}

struct link_scan
{
  int root_fd;
  struct outcheck_report *out;
};

/* Resolve rel as the kernel would, but beneath root: a chain of links
 * that each look harmless (s -> ., u -> s/..) can still climb out, which
 * only a full resolution shows. */
static bool
resolves_outside (int root_fd, const char *rel)
{
  struct open_how how = { .flags = O_PATH | O_CLOEXEC,
                          .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS };
  int fd = (int)syscall (SYS_openat2, root_fd, rel, &how, sizeof how);
  if (fd >= 0)
    {
      close (fd);
      return false;
    }
  /* ENOENT: dangling inside; ENOSYS (kernel < 5.6): the textual check
   * below has to do */
  return errno == EXDEV || errno == ELOOP;
}

static int
check_link (const char *root, const char *rel, const struct stat *st,
            void *ctx, ohr_error_t *err)
{
  struct link_scan *ls = ctx;
  if (!S_ISLNK (st->st_mode))
    return 0;
  cleanup_free char *path = fs_path_join (root, rel);
  char target[4096];
  ssize_t n = path ? readlink (path, target, sizeof target - 1) : -1;
  if (n < 0)
    return 0;
  target[n] = '\0';
  if (escapes (rel, target) || resolves_outside (ls->root_fd, rel))
    return add (ls->out, rel, 0, target, err);
  return 0;
}

int
outcheck_symlinks (const char *dir, struct outcheck_report *out,
                   ohr_error_t *err)
{
  cleanup_close int fd
      = open (dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot open '%s'",
                            dir);
  struct link_scan ls = { .root_fd = fd, .out = out };
  return walk (dir, "", check_link, &ls, err);
}

/* setuid/setgid bits and file capabilities: a build script runs as the
 * user (as root: root), so what it marks setuid would be a setuid binary
 * of that user on the host. */
static int
strip_setid (const char *root, const char *rel, const struct stat *st,
             void *ctx, ohr_error_t *err)
{
  if (S_ISLNK (st->st_mode) || S_ISDIR (st->st_mode))
    return 0;
  cleanup_free char *path = fs_path_join (root, rel);
  if (path == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "scan");
  bool caps = lgetxattr (path, "security.capability", NULL, 0) >= 0;
  if (!(st->st_mode & (S_ISUID | S_ISGID)) && !caps)
    return 0;
  if (st->st_mode & (S_ISUID | S_ISGID))
    chmod (path, st->st_mode & 0777 & ~(mode_t)(S_ISUID | S_ISGID));
  if (caps)
    lremovexattr (path, "security.capability");
  return add (ctx, rel, 0,
              st->st_mode & (S_ISUID | S_ISGID) ? "setuid/setgid"
                                                : "file capabilities",
              err);
}

int
outcheck_strip_setid (const char *dir, struct outcheck_report *out,
                      ohr_error_t *err)
{
  return walk (dir, "", strip_setid, out, err);
}

static int
overlay_entry (const char *root, const char *rel, const struct stat *st,
               void *ctx, ohr_error_t *err)
{
  (void)root;
  /* overlayfs records a deletion as a 0/0 character device */
  if (S_ISCHR (st->st_mode) && major (st->st_rdev) == 0
      && minor (st->st_rdev) == 0)
    return add (ctx, rel, 0, "deleted", err);
  if (S_ISDIR (st->st_mode))
    return 0;
  return add (ctx, rel, 0, "written", err);
}

int
outcheck_overlay_changes (const char *upper, struct outcheck_report *out,
                          ohr_error_t *err)
{
  return walk (upper, "", overlay_entry, out, err);
}

void
outcheck_report_clear (struct outcheck_report *r)
{
  for (size_t i = 0; i < r->n; i++)
    {
      free (r->v[i].path);
      free (r->v[i].what);
    }
  free (r->v);
  r->v = NULL;
  r->n = 0;
}

char *
outcheck_summary (const struct outcheck_report *r, size_t max)
{
  char *s = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&s, &len);
  if (f == NULL)
    return NULL;
  for (size_t i = 0; i < r->n && i < max; i++)
    fprintf (f, "%s%s", i ? ", " : "", r->v[i].path);
  if (r->n > max)
    fprintf (f, " and %zu more", r->n - max);
  fclose (f);
  return s;
}
