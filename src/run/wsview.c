/* wsview.c: see wsview.h */
#define _GNU_SOURCE
#include "run/wsview.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

/* Hidden under the root when present (see wsview.h). */
static const char *const hidden_names[] = {
  ".git",
  ".env",
  ".envrc",
  ".netrc",
  ".npmrc",
  ".pypirc",
  ".git-credentials",
  ".ssh",
  ".gnupg",
  ".aws",
  ".docker",
  ".kube",
  ".cargo/credentials",
  ".cargo/credentials.toml",
};

/* A line longer than this is no rerun-if-changed worth a message. */
#define WATCH_LINE_MAX (64 * 1024)

void
wsview_clear (struct wsview *v)
{
  for (size_t i = 0; i < v->n; i++)
    free_many (v->v[i].path, v->v[i].rel);
  free_many (v->v, v->root);
  memset (v, 0, sizeof *v);
}

static bool
already (const struct wsview *v, const char *path)
{
  for (size_t i = 0; i < v->n; i++)
    if (strcmp (v->v[i].path, path) == 0)
      return true;
  return false;
}

/* Hide root/rel when it exists, is no symlink and the policy does not
 * keep it visible (rel or a directory above it named). */
static int
hide (struct wsview *v, const char *rel, char *const *keep)
{
  for (size_t i = 0; keep && keep[i]; i++)
    {
      size_t n = strlen (keep[i]);
      if (strncmp (rel, keep[i], n) == 0 && (rel[n] == '\0' || rel[n] == '/'))
        return 0;
    }
  cleanup_free char *path = fs_path_join (v->root, rel);
  if (path == NULL)
    return -1;
  struct stat st;
  if (lstat (path, &st) < 0 || S_ISLNK (st.st_mode) || already (v, path))
    return 0;
  struct wsview_hidden *nv = realloc (v->v, (v->n + 1) * sizeof *nv);
  if (nv == NULL)
    return -1;
  v->v = nv;
  char *r = strdup (rel);
  if (r == NULL)
    return -1;
  nv[v->n++] = (struct wsview_hidden){ steal_pointer (&path), r,
                                       S_ISDIR (st.st_mode) };
  return 0;
}

static bool
is_target_dir (const char *dir)
{
  cleanup_free char *tag = fs_path_join (dir, "CACHEDIR.TAG");
  return tag && fs_exists (tag);
}

/* Every directory right under the root with Cargo's CACHEDIR.TAG, and the
 * run's own target directory wherever it lies under the root. */
static int
hide_target_dirs (struct wsview *v, const struct pkgsource *src,
                  char *const *keep)
{
  if (src->target_dir && fs_path_is_under (src->target_dir, v->root)
      && strcmp (src->target_dir, v->root) != 0
      && hide (v,
               src->target_dir + strlen (v->root)
                   + (strcmp (v->root, "/") != 0),
               keep)
             < 0)
    return -1;
  cleanup_dir DIR *d = opendir (v->root);
  struct dirent *e;
  while (d && (e = readdir (d)) != NULL)
    {
      if (e->d_name[0] == '.'
          && (e->d_name[1] == '\0' || strcmp (e->d_name, "..") == 0))
        continue;
      if (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN)
        continue;
      cleanup_free char *p = fs_path_join (v->root, e->d_name);
      if (p == NULL)
        return -1;
      if (is_target_dir (p) && hide (v, e->d_name, keep) < 0)
        return -1;
    }
  return 0;
}

int
wsview_plan (const struct pkgsource *src, const char *manifest_dir,
             char *const *workspace_read, struct wsview *out, ohr_error_t *err)
{
  struct wsview v = { 0 };
  bool path = src->kind == PKGSOURCE_PATH;
  v.root = strdup (path && src->root ? src->root : manifest_dir);
  if (v.root == NULL)
    goto oom;
  if (path)
    {
      for (size_t i = 0; i < sizeof hidden_names / sizeof *hidden_names; i++)
        if (hide (&v, hidden_names[i], workspace_read) < 0)
          goto oom;
      if (hide_target_dirs (&v, src, workspace_read) < 0)
        goto oom;
    }
  *out = v;
  return 0;
oom:
  wsview_clear (&v);
  return ohr_error_nomem (err);
}

enum wsview_place
wsview_classify (const struct wsview *v, const char *path,
                 const struct wsview_hidden **out_hidden)
{
  for (size_t i = 0; i < v->n; i++)
    if (fs_path_is_under (path, v->v[i].path))
      {
        if (out_hidden)
          *out_hidden = &v->v[i];
        return WSVIEW_HIDDEN;
      }
  return fs_path_is_under (path, v->root) ? WSVIEW_SEEN : WSVIEW_OUTSIDE;
}

/* ---- the watch */

static bool
starts (const char *s, size_t n, const char *prefix, size_t *skip)
{
  size_t k = strlen (prefix);
  if (n < k || memcmp (s, prefix, k) != 0)
    return false;
  *skip = k;
  return true;
}

static void
watch_line (struct wsview_watch *w, const char *s, size_t n)
{
  while (n > 0 && (*s == ' ' || *s == '\t'))
    s++, n--;
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
    n--;
  size_t skip = 0;
  if (!starts (s, n, "cargo::rerun-if-changed=", &skip)
      && !starts (s, n, "cargo:rerun-if-changed=", &skip))
    return;
  s += skip, n -= skip;
  if (n == 0 || memchr (s, '\0', n) || w->n >= WSVIEW_FINDINGS_MAX)
    return;
  cleanup_free char *printed = strndup (s, n);
  cleanup_free char *path
      = printed ? fs_path_lexical (w->manifest_dir, printed) : NULL;
  if (path == NULL)
    return;
  const struct wsview_hidden *h = NULL;
  enum wsview_place place = wsview_classify (w->view, path, &h);
  /* an absolute path outside the view is the directive notes' business:
   * it may be a system file the image shows */
  if (place == WSVIEW_SEEN || (place == WSVIEW_OUTSIDE && printed[0] == '/'))
    return;
  for (size_t i = 0; i < w->n; i++)
    if (strcmp (w->v[i].path, path) == 0)
      return;
  w->v[w->n++] = (struct wsview_finding){ place, steal_pointer (&printed),
                                          steal_pointer (&path), h };
}

void
wsview_watch_feed (struct wsview_watch *w, const char *buf, size_t len)
{
  while (len > 0)
    {
      const char *nl = memchr (buf, '\n', len);
      size_t take = nl ? (size_t)(nl - buf) : len;
      if (!w->overlong)
        {
          if (w->line.len + take > WATCH_LINE_MAX
              || buf_add (&w->line, buf, take) < 0)
            {
              w->overlong = true;
              w->line.len = 0;
            }
        }
      if (nl == NULL)
        return;
      if (!w->overlong)
        watch_line (w, w->line.data ? w->line.data : "", w->line.len);
      w->line.len = 0;
      w->overlong = false;
      buf = nl + 1;
      len -= take + 1;
    }
}

void
wsview_watch_finish (struct wsview_watch *w)
{
  if (!w->overlong && w->line.len > 0)
    watch_line (w, w->line.data, w->line.len);
  w->line.len = 0;
}

void
wsview_watch_clear (struct wsview_watch *w)
{
  for (size_t i = 0; i < w->n; i++)
    free_many (w->v[i].printed, w->v[i].path);
  buf_clear (&w->line);
  w->n = 0;
}
