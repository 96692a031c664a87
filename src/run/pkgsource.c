/* pkgsource.c: see pkgsource.h */
#define _GNU_SOURCE
#include "run/pkgsource.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Cargo.toml and Cargo.lock files larger than this are not read. */
#define TOML_MAX (16 * 1024 * 1024)

/* ---- the little TOML needed */

/* Called for each table header (key NULL) and each key = value line of the
 * current table; value is the string's contents, NULL for any other
 * value.  table is the dotted header ("workspace.package", "" at the top). */
typedef void (*toml_fn) (void *ctx, const char *table, bool array,
                         const char *key, const char *value);

static const char *
skip_ws (const char *p, const char *end)
{
  while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
    p++;
  return p;
}

static bool
bare_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* A basic ("...", escapes) or literal ('...') string on one line, its
 * contents appended to b; *pp moves past it.  false if unterminated. */
static bool
read_string (const char **pp, const char *end, struct buf *b)
{
  const char *p = *pp;
  char q = *p++;
  while (p < end && *p != q)
    {
      if (q == '"' && *p == '\\' && p + 1 < end)
        {
          char c = p[1];
          char out = c == 'n' ? '\n' : c == 't' ? '\t' : c;
          if (buf_add (b, &out, 1) < 0)
            return false;
          p += 2;
          continue;
        }
      /* a run without quote or escape goes in at once */
      const char *r = p;
      while (r < end && *r != q && !(q == '"' && *r == '\\'))
        r++;
      if (buf_add (b, p, (size_t)(r - p)) < 0)
        return false;
      p = r;
    }
  if (p >= end)
    return false;
  *pp = p + 1;
  return true;
}

/* A dotted key (bare or quoted parts, spaces around dots) into b. */
static bool
read_key (const char **pp, const char *end, struct buf *b)
{
  const char *p = *pp;
  for (;;)
    {
      p = skip_ws (p, end);
      if (p < end && (*p == '"' || *p == '\''))
        {
          if (!read_string (&p, end, b))
            return false;
        }
      else
        {
          const char *s = p;
          while (p < end && bare_char (*p))
            p++;
          if (p == s || buf_add (b, s, (size_t)(p - s)) < 0)
            return false;
        }
      p = skip_ws (p, end);
      if (p < end && *p == '.')
        {
          if (buf_add (b, ".", 1) < 0)
            return false;
          p++;
          continue;
        }
      *pp = p;
      return true;
    }
}

static bool
buf_terminate (struct buf *b)
{
  return buf_add (b, "", 1) == 0;
}

/* A multi-line string opened on this line and not closed on it. */
static const char *
opens_multiline (const char *p, const char *end)
{
  if (end - p < 3 || (memcmp (p, "\"\"\"", 3) != 0 && memcmp (p, "'''", 3)))
    return NULL;
  const char *delim = *p == '"' ? "\"\"\"" : "'''";
  return memmem (p + 3, (size_t)(end - p - 3), delim, 3) ? NULL : delim;
}

/* Returns -1 when out of memory. */
static int
toml_scan (const char *data, size_t len, toml_fn fn, void *ctx)
{
  const char *p = data, *end = data + len;
  const char *multiline = NULL; /* the delimiter while inside one */
  struct buf table = { 0 }, key = { 0 }, value = { 0 };
  int r = buf_add (&table, "", 1);
  while (r == 0 && p < end)
    {
      const char *eol = memchr (p, '\n', (size_t)(end - p));
      if (eol == NULL)
        eol = end;
      const char *s = skip_ws (p, eol);
      p = eol + 1;
      if (multiline)
        {
          if (memmem (s, (size_t)(eol - s), multiline, 3))
            multiline = NULL;
          continue;
        }
      if (s == eol || *s == '#')
        continue;
      if (*s == '[')
        {
          bool array = s + 1 < eol && s[1] == '[';
          const char *k = s + (array ? 2 : 1);
          table.len = 0;
          if (!read_key (&k, eol, &table))
            {
              table.len = 0; /* not a header we understand: a table of
                                its own that nobody asks about */
              r = buf_add (&table, "?", 1);
            }
          if (r == 0 && !buf_terminate (&table))
            r = -1;
          if (r == 0)
            fn (ctx, table.data, array, NULL, NULL);
          continue;
        }
      /* no '=': an array's element on its own line, nothing to read */
      if (memchr (s, '=', (size_t)(eol - s)) == NULL)
        continue;
      key.len = value.len = 0;
      const char *k = s;
      if (!read_key (&k, eol, &key) || k >= eol || *k != '=')
        continue;
      k = skip_ws (k + 1, eol);
      bool str = k < eol && (*k == '"' || *k == '\'');
      if (str && (multiline = opens_multiline (k, eol)) != NULL)
        str = false;
      else if (str && eol - k >= 3 && k[1] == k[0] && k[2] == k[0])
        str = false; /* a multi-line string closed on its line */
      if (str && !read_string (&k, eol, &value))
        str = false;
      if (!buf_terminate (&key) || (str && !buf_terminate (&value)))
        r = -1;
      else
        fn (ctx, table.data, false, key.data, str ? value.data : NULL);
    }
  buf_clear (&table);
  buf_clear (&key);
  buf_clear (&value);
  return r;
}

static char *
read_toml (const char *path, size_t *len)
{
  char *data = NULL;
  ohr_error_t e = NULL;
  if (fs_read_file (path, TOML_MAX, &data, len, &e) < 0)
    {
      ohr_error_free (&e);
      return NULL;
    }
  return data;
}

/* ---- Cargo.toml */

struct manifest_scan
{
  bool workspace;
  char *package_workspace; /* package.workspace */
  bool oom;
};

static void
manifest_fn (void *ctx, const char *table, bool array, const char *key,
             const char *value)
{
  struct manifest_scan *m = ctx;
  if (key == NULL && !array
      && (strcmp (table, "workspace") == 0
          || strncmp (table, "workspace.", 10) == 0))
    m->workspace = true;
  else if (key && value && strcmp (table, "package") == 0
           && strcmp (key, "workspace") == 0)
    {
      free (m->package_workspace);
      if ((m->package_workspace = strdup (value)) == NULL)
        m->oom = true;
    }
  else if (key && strcmp (table, "") == 0
           && strncmp (key, "workspace.", 10) == 0)
    m->workspace = true; /* workspace.members = [...] at the top */
}

/* 1 if dir/Cargo.toml has a workspace table, 0 if not (or unreadable),
 * -1 out of memory.  *pkg_ws (if asked) gets package.workspace. */
static int
scan_manifest (const char *dir, char **pkg_ws)
{
  cleanup_free char *path = fs_path_join (dir, "Cargo.toml");
  if (path == NULL)
    return -1;
  size_t len = 0;
  cleanup_free char *data = read_toml (path, &len);
  if (data == NULL)
    return 0;
  struct manifest_scan m = { 0 };
  if (toml_scan (data, len, manifest_fn, &m) < 0 || m.oom)
    {
      free (m.package_workspace);
      return -1;
    }
  if (pkg_ws)
    *pkg_ws = m.package_workspace;
  else
    free (m.package_workspace);
  return m.workspace;
}

int
pkgsource_has_workspace (const char *path)
{
  size_t len = 0;
  cleanup_free char *data = read_toml (path, &len);
  struct manifest_scan m = { 0 };
  if (data == NULL)
    return 0;
  int r = toml_scan (data, len, manifest_fn, &m);
  free (m.package_workspace);
  return r < 0 || m.oom ? -1 : m.workspace;
}

/* dir's parent, a fresh string; NULL for "/" or out of memory. */
static char *
parent_dir (const char *dir)
{
  const char *slash = strrchr (dir, '/');
  if (slash == NULL || strcmp (dir, "/") == 0)
    return NULL;
  return slash == dir ? strdup ("/") : strndup (dir, (size_t)(slash - dir));
}

/* The nearest ancestor-or-self of dir with a [workspace] table, not
 * looking at cargo_home or above it (Cargo's find_root_iter). */
static int
find_workspace (const char *dir, const char *cargo_home, char **out)
{
  cleanup_free char *pkg_ws = NULL;
  int r = scan_manifest (dir, &pkg_ws);
  if (r < 0)
    return -1;
  if (pkg_ws)
    {
      /* package.workspace = "../.." names the root, relative to dir */
      char *ws = fs_path_lexical (dir, pkg_ws);
      if (ws == NULL)
        return -1;
      *out = ws;
      return 0;
    }
  if (r == 1)
    return (*out = strdup (dir)) ? 0 : -1;
  cleanup_free char *cur = parent_dir (dir);
  while (cur)
    {
      if (cargo_home && strcmp (cur, cargo_home) == 0)
        break;
      r = scan_manifest (cur, NULL);
      if (r < 0)
        return -1;
      if (r == 1)
        {
          *out = steal_pointer (&cur);
          return 0;
        }
      char *up = parent_dir (cur);
      free (cur);
      cur = up;
    }
  return 0;
}

/* ---- Cargo.lock */

struct lock_entry
{
  char *name, *version, *source, *checksum;
};

struct lock_scan
{
  const char *name, *version;
  bool in_package;
  struct lock_entry cur;
  struct lock_entry *found; /* every entry for name and version */
  size_t n_found;
  bool oom;
};

static void
entry_clear (struct lock_entry *e)
{
  free_many (e->name, e->version, e->source, e->checksum);
  memset (e, 0, sizeof *e);
}

static void
lock_flush (struct lock_scan *l)
{
  if (l->in_package && l->cur.name && l->cur.version
      && strcmp (l->cur.name, l->name) == 0
      && strcmp (l->cur.version, l->version) == 0)
    {
      struct lock_entry *v = realloc (l->found, (l->n_found + 1) * sizeof *v);
      if (v == NULL)
        {
          l->oom = true;
          entry_clear (&l->cur);
          return;
        }
      l->found = v;
      v[l->n_found++] = l->cur;
      memset (&l->cur, 0, sizeof l->cur);
    }
  entry_clear (&l->cur);
}

static void
lock_fn (void *ctx, const char *table, bool array, const char *key,
         const char *value)
{
  struct lock_scan *l = ctx;
  if (key == NULL)
    {
      lock_flush (l);
      l->in_package = array && strcmp (table, "package") == 0;
      return;
    }
  if (!l->in_package || value == NULL)
    return;
  char **slot = strcmp (key, "name") == 0       ? &l->cur.name
                : strcmp (key, "version") == 0  ? &l->cur.version
                : strcmp (key, "source") == 0   ? &l->cur.source
                : strcmp (key, "checksum") == 0 ? &l->cur.checksum
                                                : NULL;
  if (slot == NULL)
    return;
  free (*slot);
  if ((*slot = strdup (value)) == NULL)
    l->oom = true;
}

static void
lock_scan_clear (struct lock_scan *l)
{
  entry_clear (&l->cur);
  for (size_t i = 0; i < l->n_found; i++)
    entry_clear (&l->found[i]);
  free (l->found);
}

static enum pkgsource_kind
kind_of_source (const char *source)
{
  if (source == NULL)
    return PKGSOURCE_PATH;
  if (strncmp (source, "git+", 4) == 0)
    return PKGSOURCE_GIT;
  return PKGSOURCE_REGISTRY; /* registry+, sparse+ */
}

/* Which kind the package's location suggests (no lock entry, or to choose
 * between entries of the same name and version). */
static enum pkgsource_kind
kind_of_location (const char *dir, const char *cargo_home)
{
  if (cargo_home)
    {
      cleanup_free char *reg = fs_path_join (cargo_home, "registry/src");
      cleanup_free char *git = fs_path_join (cargo_home, "git/checkouts");
      if (reg && fs_path_is_under (dir, reg))
        return PKGSOURCE_REGISTRY;
      if (git && fs_path_is_under (dir, git))
        return PKGSOURCE_GIT;
    }
  cleanup_free char *sum = fs_path_join (dir, ".cargo-checksum.json");
  if (sum && fs_exists (sum))
    return PKGSOURCE_DIRECTORY;
  return PKGSOURCE_PATH;
}

/* Look name and version up in lock_path: 1 and *out filled when listed,
 * 0 when not, -1 out of memory.  Several entries (a registry and a git
 * crate of the same name and version): the one whose kind the location
 * agrees with. */
static int
lock_lookup (const char *lock_path, const char *name, const char *version,
             enum pkgsource_kind where, struct lock_entry *out)
{
  size_t len = 0;
  cleanup_free char *data = read_toml (lock_path, &len);
  if (data == NULL)
    return 0;
  struct lock_scan l = { .name = name, .version = version };
  if (toml_scan (data, len, lock_fn, &l) < 0)
    l.oom = true;
  lock_flush (&l);
  int r = l.oom ? -1 : 0;
  if (r == 0 && l.n_found > 0)
    {
      size_t pick = 0;
      bool want_path = where == PKGSOURCE_PATH;
      for (size_t i = 0; i < l.n_found; i++)
        if ((l.found[i].source == NULL) == want_path)
          {
            pick = i;
            break;
          }
      *out = l.found[pick];
      memset (&l.found[pick], 0, sizeof l.found[pick]);
      r = 1;
    }
  lock_scan_clear (&l);
  return r;
}

/* ---- OUT_DIR */

static bool
has_cachedir_tag (const char *dir)
{
  cleanup_free char *tag = fs_path_join (dir, "CACHEDIR.TAG");
  return tag && fs_exists (tag);
}

char *
pkgsource_target_dir (const char *out_dir)
{
  size_t n = out_dir ? strlen (out_dir) : 0;
  if (n < 5 || strcmp (out_dir + n - 4, "/out") != 0)
    return NULL;
  /* out -> <pkg>-<hash> -> build -> <profile> -> target or triple */
  cleanup_free char *pkg = parent_dir (out_dir);
  cleanup_free char *build = pkg ? parent_dir (pkg) : NULL;
  if (build == NULL || strcmp (strrchr (build, '/'), "/build") != 0)
    return NULL;
  cleanup_free char *profile = parent_dir (build);
  char *up1 = profile ? parent_dir (profile) : NULL;
  if (up1 == NULL || has_cachedir_tag (up1))
    return up1;
  char *up2 = parent_dir (up1);
  if (up2 && has_cachedir_tag (up2))
    {
      free (up1);
      return up2;
    }
  free (up2);
  return up1;
}

/* ---- identify */

void
pkgsource_clear (struct pkgsource *s)
{
  free_many (s->root, s->workspace, s->target_dir, s->build_workspace, s->lock,
             s->source, s->checksum);
  memset (s, 0, sizeof *s);
}

const char *
pkgsource_kind_name (enum pkgsource_kind kind)
{
  switch (kind)
    {
    case PKGSOURCE_PATH:
      return "path";
    case PKGSOURCE_REGISTRY:
      return "registry";
    case PKGSOURCE_GIT:
      return "git";
    case PKGSOURCE_DIRECTORY:
      return "directory";
    }
  return "?";
}

/* The locks to ask, in order: the workspace's, then the one beside the
 * target directory. */
static int
find_entry (const struct pkgsource_input *in, struct pkgsource *s,
            enum pkgsource_kind where, struct lock_entry *e)
{
  if (in->name == NULL || in->version == NULL)
    return 0;
  cleanup_free char *ws_lock
      = s->workspace ? fs_path_join (s->workspace, "Cargo.lock") : NULL;
  cleanup_free char *target_parent
      = s->target_dir ? parent_dir (s->target_dir) : NULL;
  cleanup_free char *target_lock
      = target_parent ? fs_path_join (target_parent, "Cargo.lock") : NULL;
  const char *cands[] = { ws_lock, target_lock };
  for (size_t i = 0; i < 2; i++)
    {
      if (cands[i] == NULL
          || (i == 1 && ws_lock && !strcmp (ws_lock, cands[i])))
        continue;
      int r = lock_lookup (cands[i], in->name, in->version, where, e);
      if (r != 0)
        {
          if (r == 1 && (s->lock = strdup (cands[i])) == NULL)
            return -1;
          return r;
        }
    }
  return 0;
}

/* A workspace at "/" or around $HOME would open far more than source. */
static bool
too_wide (const char *ws, const char *home)
{
  return strcmp (ws, "/") == 0
         || (home && home[0] == '/' && fs_path_is_under (home, ws));
}

/* The workspace Cargo builds, from its default target directory
 * <workspace>/target (pkgsource.h): 0 and *out set or left NULL, -1 out
 * of memory. */
static int
workspace_of_target (const char *target_dir, const char *home, char **out)
{
  const char *base = target_dir ? strrchr (target_dir, '/') : NULL;
  if (base == NULL || strcmp (base, "/target") != 0)
    return 0;
  cleanup_free char *ws = parent_dir (target_dir);
  cleanup_free char *toml = ws ? fs_path_join (ws, "Cargo.toml") : NULL;
  if (toml == NULL)
    return -1;
  if (fs_exists (toml) && !too_wide (ws, home))
    *out = steal_pointer (&ws);
  return 0;
}

int
pkgsource_identify (const struct pkgsource_input *in, struct pkgsource *out,
                    ohr_error_t *err)
{
  struct pkgsource s = { 0 };
  struct lock_entry e = { 0 };
  cleanup_free char *home
      = in->cargo_home ? fs_path_normalize (in->cargo_home) : NULL;
  enum pkgsource_kind where = kind_of_location (in->manifest_dir, home);
  if (find_workspace (in->manifest_dir, home, &s.workspace) < 0)
    goto oom;
  s.target_dir = pkgsource_target_dir (in->out_dir);
  if (workspace_of_target (s.target_dir, in->home, &s.build_workspace) < 0)
    goto oom;
  int r = find_entry (in, &s, where, &e);
  if (r < 0)
    goto oom;
  s.kind = r == 1 ? kind_of_source (e.source) : where;
  s.source = steal_pointer (&e.source);
  s.checksum = steal_pointer (&e.checksum);
  entry_clear (&e);
  const char *root = in->manifest_dir;
  if (s.kind == PKGSOURCE_PATH && s.workspace
      && fs_path_is_under (in->manifest_dir, s.workspace)
      && !too_wide (s.workspace, in->home))
    root = s.workspace;
  if ((s.root = strdup (root)) == NULL)
    goto oom;
  *out = s;
  return 0;
oom:
  entry_clear (&e);
  pkgsource_clear (&s);
  return ohr_error_nomem (err);
}
