/* outcheck.c: see outcheck.h */
#define _GNU_SOURCE
#include "run/outcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "run/idshift.h"
#include "run/pathmatch.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/walk.h"

/* Binary detection looks at this much; text files are scanned up to the
 * cap (a generated source file of more than 16 MiB is not plausible). */
#define SNIFF_BYTES 8192
#define TEXT_CAP (16 << 20)

int
outcheck_report_add (struct outcheck_report *r, const char *path, int line,
                     const char *what, ohr_error_t *err)
{
  struct outcheck_finding *nv = realloc (r->v, (r->n + 1) * sizeof *nv);
  if (nv == NULL)
    return ohr_error_nomem (err);
  r->v = nv;
  char *p = strdup (path), *w = strdup (what);
  if (p == NULL || w == NULL)
    {
      free_many (p, w);
      return ohr_error_nomem (err);
    }
  nv[r->n] = (struct outcheck_finding){ .path = p, .line = line, .what = w };
  r->n++;
  return 0;
}

/* ---- container paths in generated text */

static const char *
find_prefix (const char *data, size_t len, char *const *prefixes, int *line)
{
  *line = 1;
  for (size_t i = 0; i < len; i++)
    {
      if (data[i] == '\n')
        (*line)++;
      if (data[i] != '/' || !path_may_start (data, data + i))
        continue;
      for (size_t k = 0; prefixes[k]; k++)
        {
          size_t n = strlen (prefixes[k]);
          if (strncmp (data + i, prefixes[k], n) == 0
              && path_may_end (data[i + n]))
            return prefixes[k];
        }
    }
  return NULL;
}

int
outcheck_read_text_at (int dirfd, const char *name, const char *what,
                       char **out, size_t *out_len)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t ignored = NULL;
  if (fs_read_file_at (dirfd, name, what, TEXT_CAP, &data, &len, &ignored) < 0)
    {
      ohr_error_free (&ignored);
      return 0; /* unreadable: the script's problem, not a leak */
    }
  if (len == 0 || memchr (data, '\0', len < SNIFF_BYTES ? len : SNIFF_BYTES))
    return 0; /* binary */
  *out = steal_pointer (&data);
  *out_len = len;
  return 1;
}

static int
scan_file (const struct walk_entry *e, char *const *prefixes,
           struct outcheck_report *out, ohr_error_t *err)
{
  if (e->st->st_size == 0 || e->st->st_size > TEXT_CAP)
    return 0;
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (!outcheck_read_text_at (e->dirfd, e->name, e->path, &data, &len))
    return 0;
  int line = 0;
  const char *hit = find_prefix (data, len, prefixes, &line);
  return hit ? outcheck_report_add (out, e->path, line, hit, err) : 0;
}

/* ---- symlinks out of OUT_DIR */

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

/* A link that leaves the tree, by its text or, resolved as the kernel
 * would beneath the root, through a chain of links that each look
 * harmless (s -> ., u -> s/..).  Removed after the walk, so that every
 * link is judged in the tree as the script left it. */
static int
check_link (const struct walk_entry *e, struct outcheck_report *out,
            struct outcheck_report *inside, ohr_error_t *err)
{
  char target[4096];
  ssize_t n = readlinkat (e->dirfd, e->name, target, sizeof target - 1);
  if (n < 0)
    return 0;
  target[n] = '\0';
  if (escapes (e->path, target) || walk_escapes (e->rootfd, e->path))
    return outcheck_report_add (out, e->path, 0, target, err);
  /* kept: what names the link reads its target (outreach.h) */
  return inside ? outcheck_report_add (inside, e->path, 0, target, err) : 0;
}

/* A later step (rustc, a dependent's build script) would follow the link
 * into the host. */
static void
remove_link (int rootfd, const char *rel)
{
  const char *slash = strrchr (rel, '/');
  cleanup_free char *parent
      = slash ? strndup (rel, (size_t)(slash - rel)) : strdup (".");
  cleanup_close int fd
      = parent ? walk_open_beneath (rootfd, parent, O_PATH | O_DIRECTORY) : -1;
  if (fd >= 0)
    unlinkat (fd, slash ? slash + 1 : rel, 0);
}

/* ---- setuid/setgid bits and file capabilities */

/* A name the xattr calls (which have no *at form) resolve relative to the
 * entry's directory fd, through /proc/self/fd; without /proc, the path
 * from the root. */
static char *
xattr_path (const struct walk_entry *e, const char *root)
{
  static int have_proc = -1;
  if (have_proc < 0)
    have_proc = access ("/proc/self/fd", X_OK) == 0;
  char *p = NULL;
  if (!have_proc)
    return fs_path_join (root, e->path);
  return asprintf (&p, "/proc/self/fd/%d/%s", e->dirfd, e->name) < 0 ? NULL
                                                                     : p;
}

/* A build script runs as the user (as root: root), so what it marks
 * setuid would be a setuid binary of that user on the host. */
static int
strip_setid (const struct walk_entry *e, const char *root,
             struct outcheck_report *out, ohr_error_t *err)
{
  cleanup_free char *path = xattr_path (e, root);
  if (path == NULL)
    return ohr_error_nomem (err);
  mode_t mode = e->st->st_mode;
  bool caps = lgetxattr (path, "security.capability", NULL, 0) >= 0;
  if (!(mode & (S_ISUID | S_ISGID)) && !caps)
    return 0;
  /* a failure (an immutable file, a read-only mount, a file of another
   * uid) is recorded with the finding: the caller must not say cleared */
  int failed = 0;
  if ((mode & (S_ISUID | S_ISGID))
      && fchmodat (e->dirfd, e->name,
                   mode & 0777 & ~(mode_t)(S_ISUID | S_ISGID), 0)
             < 0)
    failed = errno;
  if (caps && lremovexattr (path, "security.capability") < 0 && !failed)
    failed = errno;
  if (outcheck_report_add (out, e->path, 0,
                           mode & (S_ISUID | S_ISGID) ? "setuid/setgid"
                                                      : "file capabilities",
                           err)
      < 0)
    return -1;
  out->v[out->n - 1].error = failed;
  return 0;
}

/* ---- the one pass */

struct out_dir_scan
{
  const char *root;
  char *const *prefixes;
  const struct idshift_owner *owner;
  struct outcheck_out_dir *out;
};

static int
out_dir_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  struct out_dir_scan *s = ctx;
  mode_t mode = e->st->st_mode;
  if (S_ISLNK (mode)
      && check_link (e, &s->out->links, s->prefixes ? &s->out->files : NULL,
                     err)
             < 0)
    return -1;
  if (!S_ISDIR (mode) && !S_ISLNK (mode)
      && strip_setid (e, s->root, &s->out->setid, err) < 0)
    return -1;
  /* setid bits first, then the owner: never setid under the owner's ids */
  if (s->owner && idshift_give_back_entry (e, s->owner, err) < 0)
    return -1;
  if (S_ISREG (mode) && s->prefixes
      && (scan_file (e, s->prefixes, &s->out->prefixes, err) < 0
          || outcheck_report_add (&s->out->files, e->path, 0, "", err) < 0))
    return -1;
  return WALK_CONTINUE;
}

int
outcheck_out_dir (const char *dir, char *const *prefixes,
                  struct outcheck_out_dir *out, ohr_error_t *err)
{
  return outcheck_out_dir_give_back (dir, prefixes, NULL, out, err);
}

int
outcheck_out_dir_give_back (const char *dir, char *const *prefixes,
                            const struct idshift_owner *owner,
                            struct outcheck_out_dir *out, ohr_error_t *err)
{
  cleanup_close int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot open directory '%s'", dir);
  struct out_dir_scan s
      = { .root = dir, .prefixes = prefixes, .owner = owner, .out = out };
  if (walk_fd (fd, dir, NULL, out_dir_entry, &s, err) < 0)
    return -1;
  if (owner && idshift_give_back_fd (fd, owner, err) < 0)
    return ohr_error_wrap (err, "'%s'", dir);
  for (size_t i = 0; i < out->links.n; i++)
    remove_link (fd, out->links.v[i].path);
  return 0;
}

void
outcheck_out_dir_clear (struct outcheck_out_dir *r)
{
  outcheck_report_clear (&r->setid);
  outcheck_report_clear (&r->links);
  outcheck_report_clear (&r->prefixes);
  outcheck_report_clear (&r->files);
}

/* ---- writes into the source overlay */

static int
overlay_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  const struct stat *st = e->st;
  /* overlayfs records a deletion as a 0/0 character device */
  if (S_ISCHR (st->st_mode) && major (st->st_rdev) == 0
      && minor (st->st_rdev) == 0)
    return outcheck_report_add (ctx, e->path, 0, "deleted", err);
  if (S_ISDIR (st->st_mode))
    return WALK_CONTINUE;
  return outcheck_report_add (ctx, e->path, 0, "written", err);
}

static int
compare_findings (const void *a, const void *b)
{
  const struct outcheck_finding *x = a, *y = b;
  return strcmp (x->path, y->path);
}

int
outcheck_overlay_changes (const char *upper, struct outcheck_report *out,
                          ohr_error_t *err)
{
  if (walk_tree (AT_FDCWD, upper, NULL, overlay_entry, out, err) < 0)
    return -1;
  /* in path order: the directory order of the upper's file system (a
   * tmpfs lists newest first) must not decide what a message names */
  if (out->n > 1)
    qsort (out->v, out->n, sizeof *out->v, compare_findings);
  return 0;
}

void
outcheck_report_clear (struct outcheck_report *r)
{
  for (size_t i = 0; i < r->n; i++)
    free_many (r->v[i].path, r->v[i].what, r->v[i].why);
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
