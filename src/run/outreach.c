/* outreach.c: see outreach.h */
#define _GNU_SOURCE
#include "run/outreach.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/strv.h"
#include "util/walk.h"

/* a file name (NAME_MAX), the most a literal's last component can name */
#define NAME_LEN_MAX 255

static bool
ends_with (const char *s, const char *suffix)
{
  size_t n = strlen (s), k = strlen (suffix);
  return n >= k && strcmp (s + n - k, suffix) == 0;
}

static const char *
base_name (const char *path)
{
  const char *slash = strrchr (path, '/');
  return slash ? slash + 1 : path;
}

/* files lists symlinks kept in OUT_DIR with their target in what */
static bool
is_link (const struct outcheck_finding *f)
{
  return f->what[0] != '\0';
}

/* ---- names at the end of string literals */

struct name
{
  char *name;
  const char *origin; /* owned by names.origins */
};

struct names
{
  struct name *v;
  size_t n;
  char **origins;
};

static void
names_clear (struct names *ns)
{
  for (size_t i = 0; i < ns->n; i++)
    free (ns->v[i].name);
  free (ns->v);
  strv_free (ns->origins);
  *ns = (struct names){ 0 };
}

static int
names_add (struct names *ns, const char *s, size_t n, const char *origin)
{
  if (ns->n % 64 == 0)
    {
      struct name *v = realloc (ns->v, (ns->n + 64) * sizeof *v);
      if (v == NULL)
        return -1;
      ns->v = v;
    }
  char *copy = strndup (s, n);
  if (copy == NULL)
    return -1;
  ns->v[ns->n++] = (struct name){ copy, origin };
  return 0;
}

/* Every last component of a string literal in text: the bytes before a
 * '"' (and a '/' right before it: "assets/"), back to a '/' or a '"'.
 * The opening quote of a literal yields a name too when a '/' or '"'
 * comes earlier on its line: harmless, it can only name more. */
static int
names_collect (struct names *ns, const char *text, size_t len,
               const char *origin_text)
{
  char *origin = strdup (origin_text);
  if (origin == NULL || strv_push_owned (&ns->origins, origin) < 0)
    return -1;
  for (const char *q = memchr (text, '"', len); q;
       q = memchr (q + 1, '"', len - (size_t)(q + 1 - text)))
    {
      const char *end = q;
      if (end > text && end[-1] == '/')
        end--;
      const char *start = end;
      while (start > text && (size_t)(end - start) < NAME_LEN_MAX
             && !strchr ("\"/\n\\", start[-1]))
        start--;
      if (start == end || start == text || !strchr ("\"/", start[-1]))
        continue;
      if (names_add (ns, start, (size_t)(end - start), origin) < 0)
        return -1;
    }
  return 0;
}

static int
compare_names (const void *a, const void *b)
{
  return strcmp (((const struct name *)a)->name,
                 ((const struct name *)b)->name);
}

static void
names_sort (struct names *ns)
{
  if (ns->n > 1)
    qsort (ns->v, ns->n, sizeof *ns->v, compare_names);
}

/* The origin of a name that is path's file name or one of its
 * directories', or NULL. */
static const char *
names_find (const struct names *ns, const char *path)
{
  char comp[NAME_LEN_MAX + 1];
  for (const char *p = path; *p;)
    {
      const char *end = strchrnul (p, '/');
      size_t n = (size_t)(end - p);
      if (n > 0 && n <= NAME_LEN_MAX)
        {
          memcpy (comp, p, n);
          comp[n] = '\0';
          struct name key = { comp, NULL };
          const struct name *hit = ns->n
                                       ? bsearch (&key, ns->v, ns->n,
                                                  sizeof *ns->v, compare_names)
                                       : NULL;
          if (hit)
            return hit->origin;
        }
      p = *end ? end + 1 : end;
    }
  return NULL;
}

/* ---- the state of one split */

struct reach
{
  const struct outreach_input *in;
  const struct outcheck_report *files;
  char **why;     /* per file: why it is read, or NULL */
  bool *scanned;  /* per file: its names were collected */
  bool *hit;      /* per file: a finding is about it */
  size_t pending; /* findings about files not known to be read */
};

static int
mark (struct reach *r, size_t i, char *why, ohr_error_t *err)
{
  if (why == NULL)
    return ohr_error_nomem (err);
  r->why[i] = why;
  if (r->hit[i])
    r->pending--;
  return 1;
}

/* Mark the files not yet read that ns names; 1 if any was. */
static int
mark_named (struct reach *r, const struct names *ns, ohr_error_t *err)
{
  int any = 0;
  for (size_t i = 0; i < r->files->n; i++)
    {
      if (r->why[i])
        continue;
      const char *origin = names_find (ns, r->files->v[i].path);
      if (origin == NULL)
        continue;
      char *why = NULL;
      if (asprintf (&why, "named in %s", origin) < 0)
        why = NULL;
      if (mark (r, i, why, err) < 0)
        return -1;
      any = 1;
    }
  return any;
}

/* ---- what the directives hand on */

/* path (a container path, maybe with "." or "..") relative to base, lexically;
 * "" for base itself; NULL when it is not under base. */
static char *
relative_to (const char *path, const char *base)
{
  size_t len = strlen (path);
  cleanup_free char *norm = malloc (len + 2);
  if (norm == NULL)
    return NULL;
  size_t n = 0;
  for (const char *p = path; *p;)
    {
      const char *end = strchrnul (p, '/');
      size_t k = (size_t)(end - p);
      if (k == 2 && p[0] == '.' && p[1] == '.')
        {
          while (n > 0 && norm[n - 1] != '/')
            n--;
          if (n > 0)
            n--;
        }
      else if (k > 0 && !(k == 1 && p[0] == '.'))
        {
          norm[n++] = '/';
          memcpy (norm + n, p, k);
          n += k;
        }
      p = *end ? end + 1 : end;
    }
  norm[n] = '\0';
  size_t b = strlen (base);
  while (b > 0 && base[b - 1] == '/')
    b--;
  if (strncmp (norm, base, b) != 0 || (norm[b] != '/' && norm[b] != '\0'))
    return NULL;
  return strdup (norm[b] ? norm + b + 1 : "");
}

static bool
is_header (const char *name)
{
  static const char *const exts[] = { "h",   "hh",  "hpp", "hxx", "h++", "inc",
                                      "inl", "ipp", "tcc", "tpp", "def" };
  const char *dot = strrchr (name, '.');
  if (dot == NULL)
    return false;
  for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
    if (strcasecmp (dot + 1, exts[i]) == 0)
      return true;
  return false;
}

/* rest, relative to a directory handed to dependents as a prefix: what
 * an installed prefix gives them (outreach.h). */
static bool
installed (const char *rest)
{
  static const char *const dirs[]
      = { "include/", "lib/",   "lib32/",           "lib64/",
          "bin/",     "cmake/", "share/pkgconfig/", "share/cmake/" };
  if (is_header (base_name (rest)))
    return true;
  if (strchr (rest, '/') == NULL
      && (ends_with (rest, ".pc") || ends_with (rest, ".cmake")
          || ends_with (rest, ".la")))
    return true;
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    if (strncmp (rest, dirs[i], strlen (dirs[i])) == 0)
      return true;
  return false;
}

static bool
linker_key (const char *key)
{
  return strcmp (key, "rustc-link-search") == 0
         || strcmp (key, "rustc-flags") == 0
         || strncmp (key, "rustc-link-arg", 14) == 0
         || strcmp (key, "rustc-cdylib-link-arg") == 0;
}

/* Whether the directive (key, rel: relative to OUT_DIR) makes the file
 * (or link) at path read later: 1 and *why, 0, or -1 out of memory. */
static int
export_reaches (const char *key, const char *rel, const char *path, bool link,
                char **why)
{
  size_t n = strlen (rel), k = strlen (path);
  /* a link on the way counts as named: what it leads to is */
  if (strcmp (path, rel) == 0
      || (link && strncmp (rel, path, k) == 0 && rel[k] == '/'))
    return asprintf (why, "named by cargo:%s", key) < 0 ? -1 : 1;
  if (n > 0 && (strncmp (path, rel, n) != 0 || path[n] != '/'))
    return 0;
  const char *rest = n ? path + n + 1 : path;
  const char *how;
  if (linker_key (key))
    {
      if (strchr (rest, '/'))
        return 0;
      how = "which the linker searches";
    }
  else if (strcmp (key, "rustc-env") == 0
           || strcasestr (key, "include") != NULL || installed (rest))
    how = "which it hands on";
  else
    return 0;
  return asprintf (why, "in OUT_DIR%s%s, %s (cargo:%s)", n ? "/" : "", rel,
                   how, key)
                 < 0
             ? -1
             : 1;
}

static int
mark_exported (struct reach *r, ohr_error_t *err)
{
  const struct directive_exports *x = r->in->exports;
  for (size_t k = 0; k < x->n && r->pending; k++)
    {
      cleanup_free char *rel
          = relative_to (x->v[k].path, r->in->out_container);
      if (rel == NULL)
        continue; /* not in OUT_DIR */
      for (size_t i = 0; i < r->files->n; i++)
        {
          char *why = NULL;
          int e = r->why[i]
                      ? 0
                      : export_reaches (x->v[k].key, rel, r->files->v[i].path,
                                        is_link (&r->files->v[i]), &why);
          if (e < 0 || (e > 0 && mark (r, i, why, err) < 0))
            return ohr_error_nomem (err);
        }
    }
  return 0;
}

/* ---- the package's own Rust sources */

struct source_scan
{
  struct names names;
  bool says_out_dir;
};

static int
source_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  struct source_scan *s = ctx;
  if (S_ISDIR (e->st->st_mode))
    {
      /* hidden, the target dir, the build script's modules, another
       * package */
      cleanup_free char *nested = NULL;
      if (e->name[0] == '.'
          || (e->depth == 1
              && (strcmp (e->name, "target") == 0
                  || strcmp (e->name, "build") == 0)))
        return WALK_SKIP;
      if (asprintf (&nested, "%s/Cargo.toml", e->name) < 0)
        return ohr_error_nomem (err);
      return faccessat (e->dirfd, nested, F_OK, AT_SYMLINK_NOFOLLOW) == 0
                 ? WALK_SKIP
                 : WALK_CONTINUE;
    }
  if (!S_ISREG (e->st->st_mode) || !ends_with (e->name, ".rs")
      || (e->depth == 1 && strcmp (e->name, "build.rs") == 0))
    return WALK_CONTINUE;
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (!outcheck_read_text_at (e->dirfd, e->name, e->path, &data, &len))
    return WALK_CONTINUE;
  if (memmem (data, len, "OUT_DIR", 7))
    s->says_out_dir = true;
  cleanup_free char *origin = NULL;
  if (asprintf (&origin, "the package's %s", e->path) < 0
      || names_collect (&s->names, data, len, origin) < 0)
    return ohr_error_nomem (err);
  return WALK_CONTINUE;
}

static int
mark_from_sources (struct reach *r, ohr_error_t *err)
{
  struct source_scan s = { 0 };
  ohr_error_t werr = NULL;
  int ret = 0;
  if (walk_tree (AT_FDCWD, r->in->source_dir, NULL, source_entry, &s, &werr)
      < 0)
    {
      /* sources we cannot read all of could name anything */
      bool oom = werr && werr->status == ENOMEM;
      ohr_error_free (&werr);
      names_clear (&s.names);
      if (oom)
        return ohr_error_nomem (err);
      for (size_t i = 0; i < r->files->n; i++)
        if (!r->why[i]
            && mark (r, i, strdup ("the package's sources cannot be read"),
                     err)
                   < 0)
          return -1;
      return 0;
    }
  if (s.says_out_dir)
    {
      names_sort (&s.names);
      ret = mark_named (r, &s.names, err) < 0 ? -1 : 0;
    }
  names_clear (&s.names);
  return ret;
}

/* ---- symlinks kept in OUT_DIR */

/* A link read later makes its target read: the file, or everything under
 * the directory, it leads to (resolved lexically from the link's
 * directory; links out of OUT_DIR were removed).  1 if any was marked. */
static int
mark_through_links (struct reach *r, ohr_error_t *err)
{
  int any = 0;
  for (size_t l = 0; l < r->files->n && r->pending; l++)
    {
      const struct outcheck_finding *link = &r->files->v[l];
      if (!is_link (link) || !r->why[l] || r->scanned[l])
        continue;
      r->scanned[l] = true;
      const char *slash = strrchr (link->path, '/');
      cleanup_free char *joined = NULL;
      if (asprintf (&joined, "/%.*s/%s", slash ? (int)(slash - link->path) : 0,
                    link->path, link->what)
          < 0)
        return ohr_error_nomem (err);
      cleanup_free char *t = relative_to (joined, "/");
      if (t == NULL)
        return ohr_error_nomem (err);
      size_t n = strlen (t);
      for (size_t i = 0; i < r->files->n; i++)
        {
          const char *p = r->files->v[i].path;
          if (r->why[i]
              || !(n == 0
                   || (strncmp (p, t, n) == 0
                       && (p[n] == '\0' || p[n] == '/'))))
            continue;
          char *why = NULL;
          if (asprintf (&why, "through the link %s", link->path) < 0)
            why = NULL;
          if (mark (r, i, why, err) < 0)
            return -1;
          any = 1;
        }
    }
  return any;
}

/* ---- files read later that name more files */

static int
scan_read_file (struct reach *r, int rootfd, size_t i, ohr_error_t *err)
{
  const char *path = r->files->v[i].path;
  r->scanned[i] = true;
  const char *slash = strrchr (path, '/');
  cleanup_free char *parent
      = slash ? strndup (path, (size_t)(slash - path)) : strdup (".");
  if (parent == NULL)
    return ohr_error_nomem (err);
  cleanup_close int dirfd
      = walk_open_beneath (rootfd, parent, O_PATH | O_DIRECTORY);
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (dirfd < 0
      || !outcheck_read_text_at (dirfd, slash ? slash + 1 : path, path, &data,
                                 &len))
    return 0; /* gone, binary or too big: nothing rustc includes as text */
  struct names ns = { 0 };
  cleanup_free char *origin = NULL;
  int ret = -1;
  if (asprintf (&origin, "OUT_DIR/%s", path) < 0
      || names_collect (&ns, data, len, origin) < 0)
    ohr_error_nomem (err);
  else
    {
      names_sort (&ns);
      ret = mark_named (r, &ns, err);
    }
  names_clear (&ns);
  return ret;
}

static int
mark_transitively (struct reach *r, ohr_error_t *err)
{
  cleanup_close int rootfd
      = open (r->in->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (rootfd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot open directory '%s'", r->in->out_dir);
  for (bool more = true; more && r->pending;)
    {
      int l = mark_through_links (r, err);
      if (l < 0)
        return -1;
      more = l > 0;
      for (size_t i = 0; i < r->files->n && r->pending; i++)
        {
          if (!r->why[i] || r->scanned[i] || is_link (&r->files->v[i]))
            continue;
          int m = scan_read_file (r, rootfd, i, err);
          if (m < 0)
            return -1;
          more |= m > 0;
        }
    }
  return 0;
}

/* ---- the split */

/* The findings and the files come from one walk, in its order: the file
 * of each finding is found by going on through the files. */
static ssize_t
file_index (const struct outcheck_report *files, size_t *from,
            const char *path)
{
  for (size_t i = *from; i < files->n; i++)
    if (strcmp (files->v[i].path, path) == 0)
      {
        *from = i;
        return (ssize_t)i;
      }
  return -1;
}

static int
classify (struct reach *r, ohr_error_t *err)
{
  const struct outreach_input *in = r->in;
  for (size_t i = 0; i < r->files->n; i++)
    {
      const char *why = in->exports == NULL || in->exports->incomplete
                            ? "its directives could not all be read"
                        : ends_with (r->files->v[i].path, ".rs")
                            ? "generated Rust"
                            : NULL;
      if (why && mark (r, i, strdup (why), err) < 0)
        return -1;
    }
  if (r->pending && mark_exported (r, err) < 0)
    return -1;
  if (r->pending && in->source_dir && mark_from_sources (r, err) < 0)
    return -1;
  return r->pending ? mark_transitively (r, err) : 0;
}

int
outreach_split (const struct outreach_input *in,
                const struct outcheck_report *files,
                struct outcheck_report *hits,
                struct outcheck_report *leftovers, ohr_error_t *err)
{
  if (hits->n == 0)
    return 0;
  size_t n = files->n;
  cleanup_free char **why = calloc (n + 1, sizeof *why);
  cleanup_free bool *scanned = calloc (n + 1, sizeof *scanned);
  cleanup_free bool *hit = calloc (n + 1, sizeof *hit);
  cleanup_free ssize_t *index = calloc (hits->n, sizeof *index);
  if (why == NULL || scanned == NULL || hit == NULL || index == NULL)
    return ohr_error_nomem (err);
  struct reach r = { in, files, why, scanned, hit, 0 };
  size_t from = 0;
  for (size_t h = 0; h < hits->n; h++)
    {
      index[h] = file_index (files, &from, hits->v[h].path);
      if (index[h] >= 0 && !hit[index[h]])
        hit[index[h]] = true, r.pending++;
    }
  int ret = classify (&r, err);
  /* a finding about a file not listed (cannot be) counts as read */
  for (size_t h = 0; h < hits->n && ret == 0; h++)
    {
      struct outcheck_finding f = hits->v[h];
      const char *w = index[h] < 0 ? "not listed" : why[index[h]];
      if (w == NULL)
        {
          if (outcheck_report_add (leftovers, f.path, f.line, f.what, err) < 0)
            ret = -1;
          continue;
        }
      free (hits->v[h].why);
      if ((hits->v[h].why = strdup (w)) == NULL)
        ret = ohr_error_nomem (err);
    }
  for (size_t i = 0; i < n; i++)
    free (why[i]);
  if (ret < 0)
    return -1;
  /* keep only the findings about files read later, in their order */
  size_t k = 0;
  for (size_t h = 0; h < hits->n; h++)
    if (hits->v[h].why)
      hits->v[k++] = hits->v[h];
    else
      free_many (hits->v[h].path, hits->v[h].what);
  hits->n = k;
  return 0;
}
