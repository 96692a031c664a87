/* tree.c: digests of files and trees: the subjects of a statement (every
 * regular file of OUT_DIR), the canonical list of a source tree, and the
 * named digest lists statements are made of.  Trees are walked with the
 * one walker (util/walk.h): no symlink is followed, and a tree deeper
 * than WALK_MAX_DEPTH is an error rather than a partial digest. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/walk.h"

/* The directory part of a path ("." when none). */
char *
attest_dir_of (const char *path)
{
  const char *slash = strrchr (path, '/');
  if (slash == NULL)
    return strdup (".");
  if (slash == path)
    return strdup ("/");
  return strndup (path, (size_t)(slash - path));
}

const char *
attest_base_of (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

struct entry
{
  char *rel;
  mode_t mode;
  char digest[DIGEST_STRING_LEN + 1];
};

struct entries
{
  struct entry *v;
  size_t n, cap;
};

static void
entries_clear (struct entries *e)
{
  for (size_t i = 0; i < e->n; i++)
    free (e->v[i].rel);
  free (e->v);
  *e = (struct entries){ 0 };
}

DEFINE_CLEANUP_CLEAR (entries, struct entries, entries_clear)
#define cleanup_entries CLEANUP (entries)

static struct entry *
entries_add (struct entries *e, const char *rel, mode_t mode)
{
  if (e->n == e->cap)
    {
      size_t cap = e->cap ? e->cap * 2 : 64;
      struct entry *nv = realloc (e->v, cap * sizeof *nv);
      if (nv == NULL)
        return NULL;
      e->v = nv;
      e->cap = cap;
    }
  struct entry *x = &e->v[e->n];
  if ((x->rel = strdup (rel)) == NULL)
    return NULL;
  x->mode = mode;
  x->digest[0] = '\0';
  e->n++;
  return x;
}

static int
compare_entries (const void *a, const void *b)
{
  return strcmp (((const struct entry *)a)->rel,
                 ((const struct entry *)b)->rel);
}

struct tree
{
  const char *root;
  bool links;           /* list symlinks too (source trees) */
  bool top_skips;       /* skip top-level target/ and .git/ */
  const char *skip_dir; /* absolute; not descended into */
  struct entries *out;
};

static int
tree_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  struct tree *t = ctx;
  if (S_ISDIR (e->st->st_mode))
    {
      if (t->top_skips && e->depth == 1
          && (strcmp (e->name, "target") == 0
              || strcmp (e->name, ".git") == 0))
        return WALK_SKIP;
      cleanup_free char *abs = fs_path_join (t->root, e->path);
      if (abs == NULL)
        return ohr_error_nomem (err);
      if (t->skip_dir && strcmp (abs, t->skip_dir) == 0)
        return WALK_SKIP;
      return WALK_CONTINUE;
    }
  if (S_ISREG (e->st->st_mode))
    {
      cleanup_close int fd = openat (
          e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      cleanup_free char *abs = fs_path_join (t->root, e->path);
      if (abs == NULL)
        return ohr_error_nomem (err);
      if (fd < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot open '%s'", abs);
      struct entry *x = entries_add (t->out, e->path, e->st->st_mode);
      if (x == NULL)
        return ohr_error_nomem (err);
      return digest_fd (fd, abs, x->digest, err);
    }
  if (S_ISLNK (e->st->st_mode) && t->links)
    {
      char target[PATH_MAX];
      ssize_t n = readlinkat (e->dirfd, e->name, target, sizeof target);
      if (n < 0 || (size_t)n >= sizeof target)
        return ohr_error_errno (err, n < 0 ? errno : ENAMETOOLONG,
                                OHR_ERR_INTERNAL, "cannot read link '%s/%s'",
                                t->root, e->path);
      struct entry *x = entries_add (t->out, e->path, e->st->st_mode);
      if (x == NULL)
        return ohr_error_nomem (err);
      digest_sha256 (target, (size_t)n, x->digest);
    }
  /* sockets, fifos, devices: not content */
  return WALK_CONTINUE;
}

/* t->out: the entries of the tree at t->root, sorted by path. */
static int
walk_entries (struct tree *t, ohr_error_t *err)
{
  if (walk_tree (AT_FDCWD, t->root, NULL, tree_entry, t, err) < 0)
    return -1;
  if (t->out->n)
    qsort (t->out->v, t->out->n, sizeof *t->out->v, compare_entries);
  return 0;
}

void
attest_files_clear (struct attest_files *f)
{
  for (size_t i = 0; i < f->n; i++)
    free (f->v[i].name);
  free (f->v);
  f->v = NULL;
  f->n = 0;
}

int
attest_files_add (struct attest_files *f, const char *name, const char *digest)
{
  struct attest_file *nv = realloc (f->v, (f->n + 1) * sizeof *nv);
  if (nv == NULL)
    return -1;
  f->v = nv;
  if ((nv[f->n].name = strdup (name)) == NULL)
    return -1;
  snprintf (nv[f->n].digest, sizeof nv[f->n].digest, "%s", digest);
  f->n++;
  return 0;
}

int
attest_files_compare (const void *a, const void *b)
{
  return strcmp (((const struct attest_file *)a)->name,
                 ((const struct attest_file *)b)->name);
}

const struct attest_file *
attest_files_find (const struct attest_files *f, const char *name)
{
  struct attest_file key = { .name = (char *)name };
  return f->n ? bsearch (&key, f->v, f->n, sizeof *f->v, attest_files_compare)
              : NULL;
}

int
attest_tree_files (const char *dir, const char *prefix,
                   struct attest_files *out, ohr_error_t *err)
{
  cleanup_entries struct entries e = { 0 };
  struct tree t = { .root = dir, .out = &e };
  if (walk_entries (&t, err) < 0)
    return -1;
  struct attest_files f = { 0 };
  for (size_t i = 0; i < e.n; i++)
    {
      cleanup_free char *name = NULL;
      if (asprintf (&name, "%s%s", prefix ? prefix : "", e.v[i].rel) < 0
          || attest_files_add (&f, name, e.v[i].digest) < 0)
        {
          attest_files_clear (&f);
          return ohr_error_nomem (err);
        }
    }
  /* the prefix is the same for all: the order stays sorted */
  *out = f;
  return 0;
}

/* The canonical list (attest_tree_list) of the tree t describes. */
static int
tree_list (struct tree *t, char **out, size_t *out_len, ohr_error_t *err)
{
  cleanup_entries struct entries e = { 0 };
  t->links = true;
  t->out = &e;
  if (walk_entries (t, err) < 0)
    return -1;
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream (&buf, &len);
  if (f == NULL)
    return ohr_error_nomem (err);
  for (size_t i = 0; i < e.n; i++)
    {
      const char *mode = S_ISLNK (e.v[i].mode)          ? "120000"
                         : (e.v[i].mode & S_IXUSR) != 0 ? "100755"
                                                        : "100644";
      fprintf (f, "%s %s %s", mode, e.v[i].digest, e.v[i].rel);
      fputc ('\0', f);
    }
  if (fclose (f) != 0)
    {
      free (buf);
      return ohr_error_nomem (err);
    }
  *out = buf;
  *out_len = len;
  return 0;
}

int
attest_tree_list (const char *root, const char *skip_dir, char **out,
                  size_t *out_len, ohr_error_t *err)
{
  struct tree t = { .root = root, .top_skips = true, .skip_dir = skip_dir };
  return tree_list (&t, out, out_len, err);
}

int
attest_tree_digest (const char *root, char out[DIGEST_STRING_LEN + 1],
                    ohr_error_t *err)
{
  struct tree t = { .root = root };
  cleanup_free char *list = NULL;
  size_t len = 0;
  if (tree_list (&t, &list, &len, err) < 0)
    return -1;
  digest_sha256 (list, len, out);
  return 0;
}

/* The Cargo target directory holding out_dir, when it lies inside the
 * package source: the nearest ancestor with Cargo's CACHEDIR.TAG, else
 * what <target>/<profile>/build/<pkg>-<hash>/out makes it. */
static char *
target_dir_inside (const char *manifest_dir, const char *out_dir)
{
  if (!fs_path_is_under (out_dir, manifest_dir)
      || strcmp (out_dir, manifest_dir) == 0)
    return NULL;
  size_t root_len = strlen (manifest_dir);
  cleanup_free char *p = strdup (out_dir);
  if (p == NULL)
    return NULL;
  int up = 0;
  char *shape = NULL;
  while (strlen (p) > root_len)
    {
      cleanup_free char *tag = fs_path_join (p, "CACHEDIR.TAG");
      if (tag && fs_exists (tag))
        {
          free (shape);
          return strdup (p);
        }
      if (up == 4 && shape == NULL)
        shape = strdup (p);
      *strrchr (p, '/') = '\0';
      up++;
    }
  return shape;
}

int
attest_source_digest (const char *manifest_dir, const char *out_dir,
                      char out[DIGEST_STRING_LEN + 1], ohr_error_t *err)
{
  cleanup_free char *skip
      = out_dir ? target_dir_inside (manifest_dir, out_dir) : NULL;
  cleanup_free char *list = NULL;
  size_t len = 0;
  if (attest_tree_list (manifest_dir, skip, &list, &len, err) < 0)
    return ohr_error_wrap (err, "package source '%s'", manifest_dir);
  digest_sha256 (list, len, out);
  return 0;
}
