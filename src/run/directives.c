/* directives.c: see directives.h */
#define _GNU_SOURCE
#include "run/directives.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image/rootpath.h"
#include "util/buf.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* ---- UTF-8, as Rust sees it */

/* Length of the character at s (n > 0 bytes available) and its code point,
 * or 0 when Rust's str::from_utf8 would refuse it (overlong forms,
 * surrogates, above U+10FFFF, truncated): Cargo skips such lines. */
static size_t
utf8_decode (const unsigned char *s, size_t n, uint32_t *cp)
{
  unsigned char c = s[0], lo = 0x80, hi = 0xBF;
  size_t len;
  uint32_t v;
  if (c < 0x80)
    {
      *cp = c;
      return 1;
    }
  if (c >= 0xC2 && c <= 0xDF)
    len = 2, v = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF)
    {
      len = 3, v = c & 0x0F;
      lo = c == 0xE0 ? 0xA0 : 0x80; /* overlong */
      hi = c == 0xED ? 0x9F : 0xBF; /* surrogates */
    }
  else if (c >= 0xF0 && c <= 0xF4)
    {
      len = 4, v = c & 0x07;
      lo = c == 0xF0 ? 0x90 : 0x80; /* overlong */
      hi = c == 0xF4 ? 0x8F : 0xBF; /* above U+10FFFF */
    }
  else
    return 0;
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++)
    {
      if (s[i] < lo || s[i] > hi)
        return 0;
      lo = 0x80, hi = 0xBF;
      v = (v << 6) | (s[i] & 0x3F);
    }
  *cp = v;
  return len;
}

static bool
utf8_valid (const char *s, size_t n)
{
  uint32_t cp;
  for (size_t i = 0, l; i < n; i += l)
    if ((l = utf8_decode ((const unsigned char *)s + i, n - i, &cp)) == 0)
      return false;
  return true;
}

/* Rust's char::is_whitespace (Unicode White_Space): what str::trim and
 * Cargo's rustc-flags splitting use, so "\u00a0cargo:..." is a directive. */
static bool
unicode_space (uint32_t c)
{
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0
         || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028
         || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Bytes of the whitespace character at s, 0 if there is none.  Never
 * matches at a continuation byte, so callers may step byte by byte. */
static size_t
space_at (const char *s, size_t n)
{
  uint32_t cp;
  size_t l = n ? utf8_decode ((const unsigned char *)s, n, &cp) : 0;
  return l && unicode_space (cp) ? l : 0;
}

static size_t
leading_space (const char *s, size_t n)
{
  size_t i = 0, l;
  while (i < n && (l = space_at (s + i, n - i)) > 0)
    i += l;
  return i;
}

/* n minus the trailing whitespace; s must be valid UTF-8. */
static size_t
trim_end (const char *s, size_t n)
{
  while (n > 0)
    {
      size_t start = n - 1;
      while (start > 0 && ((unsigned char)s[start] & 0xC0) == 0x80)
        start--;
      if (space_at (s + start, n - start) != n - start)
        break;
      n = start;
    }
  return n;
}

static bool
starts_with (const char *s, size_t n, const char *prefix)
{
  size_t l = strlen (prefix);
  return n >= l && memcmp (s, prefix, l) == 0;
}

/* ---- the path map */

struct prefix
{
  char *path;
  size_t len;
};

struct map_pair
{
  struct prefix container;
  struct prefix host;
};

struct directive_pathmap
{
  struct map_pair *maps;
  size_t n_maps;
  struct prefix *allowed;
  size_t n_allowed;
  /* the container's mounts: a bind's host is its source; any other mount
   * (tmpfs, proc...) has host.path NULL: nothing on the host */
  struct map_pair *mounts;
  size_t n_mounts;
  struct prefix root; /* the image's own files on the host; path NULL: none */
  int root_fd;        /* root, open (O_PATH) */
};

void
directive_pathmap_free (struct directive_pathmap *pm)
{
  if (pm == NULL)
    return;
  for (size_t i = 0; i < pm->n_maps; i++)
    free_many (pm->maps[i].container.path, pm->maps[i].host.path);
  for (size_t i = 0; i < pm->n_allowed; i++)
    free (pm->allowed[i].path);
  for (size_t i = 0; i < pm->n_mounts; i++)
    {
      free (pm->mounts[i].container.path);
      free (pm->mounts[i].host.path);
    }
  free (pm->maps);
  free (pm->allowed);
  free (pm->mounts);
  free (pm->root.path);
  if (pm->root_fd >= 0)
    close (pm->root_fd);
  free (pm);
}

/* Normalized so that matching is a byte comparison: "/cargo/src/" and
 * "/cargo//src" must match what the script prints as "/cargo/src/x". */
static int
prefix_init (struct prefix *p, const char *path, const char *what,
             bool root_ok, ohr_error_t *err)
{
  char *norm = fs_path_normalize (path);
  if (norm == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "%s '%s' is not an absolute path without '..'", what,
                          path ? path : "(null)");
  if (!root_ok && strcmp (norm, "/") == 0)
    {
      free (norm);
      return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                            "%s cannot be '/': it would claim every path",
                            what);
    }
  p->path = norm;
  p->len = strlen (norm);
  return 0;
}

int
directive_pathmap_new (const struct directive_map *maps, size_t n_maps,
                       const char *const *allowed, size_t n_allowed,
                       struct directive_pathmap **out, ohr_error_t *err)
{
  struct directive_pathmap *pm = calloc (1, sizeof *pm);
  if (pm == NULL)
    return ohr_error_nomem (err);
  pm->root_fd = -1;
  pm->maps = calloc (n_maps ? n_maps : 1, sizeof *pm->maps);
  pm->allowed = calloc (n_allowed ? n_allowed : 1, sizeof *pm->allowed);
  if (pm->maps == NULL || pm->allowed == NULL)
    {
      directive_pathmap_free (pm);
      return ohr_error_nomem (err);
    }
  for (; pm->n_maps < n_maps; pm->n_maps++)
    {
      struct map_pair *m = &pm->maps[pm->n_maps];
      const struct directive_map *in = &maps[pm->n_maps];
      if (prefix_init (&m->container, in->container_prefix, "container prefix",
                       false, err)
              < 0
          || prefix_init (&m->host, in->host_prefix, "host prefix", false, err)
                 < 0)
        {
          pm->n_maps++; /* free what the failed pair holds */
          directive_pathmap_free (pm);
          return -1;
        }
    }
  for (; pm->n_allowed < n_allowed; pm->n_allowed++)
    if (prefix_init (&pm->allowed[pm->n_allowed], allowed[pm->n_allowed],
                     "allowed path", true, err)
        < 0)
      {
        directive_pathmap_free (pm);
        return -1;
      }
  *out = pm;
  return 0;
}

/* A bind shows its source; any other mount (proc, tmpfs, an overlay) shows
 * nothing a host path names. */
static bool
is_bind (const struct ohr_mount *mnt)
{
  if (mnt->type && strcmp (mnt->type, "bind") == 0)
    return true;
  for (size_t i = 0; mnt->options && mnt->options[i]; i++)
    if (strcmp (mnt->options[i], "bind") == 0
        || strcmp (mnt->options[i], "rbind") == 0)
      return true;
  return false;
}

int
directive_pathmap_set_image (struct directive_pathmap *pm,
                             const char *image_root,
                             const struct mount_table *mounts,
                             ohr_error_t *err)
{
  if (pm->mounts != NULL || pm->root.path != NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "the image of a directive map is set once");
  size_t n = mounts ? mounts->n : 0;
  pm->mounts = calloc (n ? n : 1, sizeof *pm->mounts);
  if (pm->mounts == NULL)
    return ohr_error_nomem (err);
  for (; pm->n_mounts < n; pm->n_mounts++)
    {
      const struct ohr_mount *mnt = &mounts->v[pm->n_mounts];
      struct map_pair *mp = &pm->mounts[pm->n_mounts];
      if (prefix_init (&mp->container, mnt->destination, "mount point", true,
                       err)
              < 0
          || (is_bind (mnt)
              && prefix_init (&mp->host, mnt->source, "bind source", true, err)
                     < 0))
        {
          pm->n_mounts++; /* freed with pm */
          return -1;
        }
    }
  if (image_root == NULL)
    return 0;
  if (prefix_init (&pm->root, image_root, "image root", false, err) < 0)
    return -1;
  pm->root_fd = open (pm->root.path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (pm->root_fd < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                            "cannot open the image root '%s'", pm->root.path);
  return 0;
}

/* Bytes that end a path in free text: whitespace and the punctuation that
 * separates paths in flag lists, search paths, JSON and shell words. */
static bool
text_separator (unsigned char c)
{
  return c != '\0' && strchr (" \t\n\v\f\r:;,=\"'`()[]{}<>|&", c) != NULL;
}

/* Does s (n bytes) start with p, ending on a component boundary?  A path
 * argument ends only at its end or a '/'; in free text a separator also
 * ends it. */
static bool
prefix_at (const struct prefix *p, const char *s, size_t n, bool in_text)
{
  if (n < p->len || memcmp (s, p->path, p->len) != 0)
    return false;
  if (n == p->len || s[p->len] == '/' || p->len == 1 /* "/" */)
    return true;
  return in_text && text_separator ((unsigned char)s[p->len]);
}

/* The longest container prefix s starts with, so that a map for
 * /cargo/toolchain-2 is not shadowed by one for /cargo. */
static const struct map_pair *
find_map (const struct directive_pathmap *pm, const char *s, size_t n,
          bool in_text)
{
  const struct map_pair *best = NULL;
  for (size_t i = 0; i < pm->n_maps; i++)
    {
      const struct map_pair *m = &pm->maps[i];
      if ((best == NULL || m->container.len > best->container.len)
          && prefix_at (&m->container, s, n, in_text))
        best = m;
    }
  return best;
}

static bool
is_allowed (const struct directive_pathmap *pm, const char *s, size_t n)
{
  for (size_t i = 0; i < pm->n_allowed; i++)
    if (prefix_at (&pm->allowed[i], s, n, false))
      return true;
  return false;
}

static bool
has_dotdot (const char *s, size_t n)
{
  for (size_t i = 0; i + 2 <= n; i++)
    if ((i == 0 || s[i - 1] == '/') && s[i] == '.' && s[i + 1] == '.'
        && (i + 2 == n || s[i + 2] == '/'))
      return true;
  return false;
}

/* ---- notes */

void
directive_notes_clear (struct directive_notes *notes)
{
  for (size_t i = 0; i < notes->n; i++)
    free_many (notes->v[i].key, notes->v[i].path);
  free (notes->v);
  *notes = (struct directive_notes){ 0 };
}

const char *
directive_note_reason (enum directive_note_kind kind)
{
  switch (kind)
    {
    case DIRECTIVE_NOTE_OUTSIDE:
      return "lies outside the paths the container maps and the image "
             "paths allowed as they are";
    case DIRECTIVE_NOTE_DOTDOT:
      return "has a '..' component, so it may leave the directory it "
             "names";
    case DIRECTIVE_NOTE_TOO_LONG:
      return "is on a line too long to map: passed through unchecked";
    }
  return "unknown";
}

static int
note_add (struct directive_notes *notes, enum directive_note_kind kind,
          const char *key, size_t key_len, const char *path, size_t path_len)
{
  if (notes->n >= DIRECTIVE_NOTES_MAX)
    {
      notes->dropped++;
      return 0;
    }
  if (notes->n % 16 == 0)
    {
      struct directive_note *v
          = realloc (notes->v, (notes->n + 16) * sizeof *v);
      if (v == NULL)
        return -1;
      notes->v = v;
    }
  if (path_len > DIRECTIVE_NOTE_PATH_MAX)
    path_len = DIRECTIVE_NOTE_PATH_MAX;
  char *k = strndup (key, key_len);
  char *p = strndup (path, path_len);
  if (k == NULL || p == NULL)
    {
      free (k);
      free (p);
      return -1;
    }
  notes->v[notes->n++] = (struct directive_note){ kind, k, p };
  return 0;
}

/* ---- exports: container paths handed on to a later step */

void
directive_exports_clear (struct directive_exports *x)
{
  for (size_t i = 0; i < x->n; i++)
    free_many (x->v[i].key, x->v[i].path);
  free (x->v);
  *x = (struct directive_exports){ 0 };
}

static int
export_add (struct directive_exports *x, const char *key, size_t key_len,
            const char *path, size_t path_len)
{
  if (x->n >= DIRECTIVE_EXPORTS_MAX)
    {
      x->incomplete = true;
      return 0;
    }
  if (x->n % 16 == 0)
    {
      struct directive_export *v = realloc (x->v, (x->n + 16) * sizeof *v);
      if (v == NULL)
        return -1;
      x->v = v;
    }
  char *k = strndup (key, key_len), *p = strndup (path, path_len);
  if (k == NULL || p == NULL)
    {
      free_many (k, p);
      return -1;
    }
  x->v[x->n++] = (struct directive_export){ k, p };
  return 0;
}

/* ---- mapping one directive's value */

/* The state of one line being mapped: the output so far, and whether any
 * path in it changed (an unchanged line is passed on as it came). */
struct mapper
{
  const struct directive_pathmap *pm;
  struct buf *out;
  struct directive_notes *notes;
  const char *key;
  size_t key_len;
  bool changed;
  struct directive_exports *exports; /* NULL: this key hands nothing on */
  const char *xkey;                  /* the key exports are kept under */
  size_t xkey_len;
};

/* A container path (s, n bytes) this directive hands on. */
static int
hand_on (struct mapper *m, const char *s, size_t n)
{
  if (m->exports == NULL)
    return 0;
  return export_add (m->exports, m->xkey, m->xkey_len, s, n);
}

typedef int (*value_fn) (struct mapper *m, const char *s, size_t n);

static int
emit (struct mapper *m, const char *s, size_t n)
{
  return buf_add (m->out, s, n);
}

static int
emit_host (struct mapper *m, const struct map_pair *mp)
{
  m->changed = true;
  return emit (m, mp->host.path, mp->host.len);
}

/* Where the container found an absolute path: under a path pair or a
 * bind (via: the host shows the same file at via's host path), under
 * another mount (hidden: tmpfs, proc..., nothing on the host), or else in
 * the image's own files.  The deepest prefix wins; a pair wins a tie with
 * the bind that mounts it. */
struct place
{
  const struct map_pair *via;
  bool hidden;
};

static struct place
locate (const struct directive_pathmap *pm, const char *s, size_t n)
{
  const struct map_pair *pair = find_map (pm, s, n, false), *mnt = NULL;
  for (size_t i = 0; i < pm->n_mounts; i++)
    {
      const struct map_pair *mp = &pm->mounts[i];
      if ((mnt == NULL || mp->container.len > mnt->container.len)
          && prefix_at (&mp->container, s, n, false))
        mnt = mp;
    }
  if (mnt == NULL || (pair && pair->container.len >= mnt->container.len))
    return (struct place){ pair, false };
  if (mnt->host.path == NULL)
    return (struct place){ NULL, true };
  return (struct place){ mnt, false };
}

/* Report an absolute path the host cannot take as it is: Cargo would stat
 * or link against a host path the container never showed the script. */
static int
check_path (struct mapper *m, const char *s, size_t n)
{
  enum directive_note_kind kind;
  if (n == 0 || s[0] != '/')
    return 0;
  if (locate (m->pm, s, n).via == NULL && !is_allowed (m->pm, s, n))
    kind = DIRECTIVE_NOTE_OUTSIDE;
  else if (has_dotdot (s, n))
    kind = DIRECTIVE_NOTE_DOTDOT;
  else
    return 0;
  return note_add (m->notes, kind, m->key, m->key_len, s, n);
}

/* via's host path, then what follows its container prefix in s. */
static int
emit_via (struct mapper *m, const struct map_pair *via, const char *s,
          size_t n)
{
  size_t skip = via->container.len == 1 ? 0 : via->container.len;
  if (via->host.len == 1 && skip < n) /* a bind of "/": no "//" */
    {
      m->changed = true;
      return emit (m, s + skip, n - skip);
    }
  return emit_host (m, via) < 0 ? -1 : emit (m, s + skip, n - skip);
}

/* A value that is one path. */
static int
map_path (struct mapper *m, const char *s, size_t n)
{
  if (check_path (m, s, n) < 0)
    return -1;
  const struct map_pair *via
      = n > 0 && s[0] == '/' ? locate (m->pm, s, n).via : NULL;
  if (via && via == find_map (m->pm, s, n, false) && hand_on (m, s, n) < 0)
    return -1;
  return via ? emit_via (m, via, s, n) : emit (m, s, n);
}

/* rerun-if-changed: Cargo stats the path on the host before each build,
 * and a path it cannot find, or finds changed, runs the script again.  A
 * file of the image (a header bindgen read, say) is not at the same path
 * on the host, or is another file there, so it names the image's
 * checkout instead: read-only and fixed for the image's digest, so the
 * script stays fresh until the file really differs.  Resolved as the
 * container resolved it: symlinks inside the image, where a symlink may
 * lead under a mount. */
static int
map_rerun_path (struct mapper *m, const char *s, size_t n)
{
  const struct directive_pathmap *pm = m->pm;
  if (pm->root_fd < 0 || n == 0 || s[0] != '/')
    return map_path (m, s, n);
  struct place p = locate (pm, s, n);
  if (p.via || p.hidden)
    return map_path (m, s, n);
  cleanup_free char *r = NULL;
  ohr_error_t e = NULL;
  if (rootpath_resolve (pm->root_fd, s, n, &r, &e) < 0)
    {
      /* a link loop or an overlong path: the host gets the same from the
       * checkout, taken as printed */
      bool oom = e->status == ENOMEM;
      ohr_error_free (&e);
      if (oom)
        return -1;
      if (has_dotdot (s, n)
          && note_add (m->notes, DIRECTIVE_NOTE_DOTDOT, m->key, m->key_len, s,
                       n)
                 < 0)
        return -1;
      m->changed = true;
      return emit (m, pm->root.path, pm->root.len) < 0 ? -1 : emit (m, s, n);
    }
  size_t rn = strlen (r);
  p = locate (pm, r, rn);
  if (p.hidden)
    {
      /* a symlink of the image into a tmpfs or proc: nothing the host has */
      if (note_add (m->notes, DIRECTIVE_NOTE_OUTSIDE, m->key, m->key_len, s, n)
          < 0)
        return -1;
      return emit (m, s, n);
    }
  if (p.via)
    return emit_via (m, p.via, r, rn);
  m->changed = true;
  if (emit (m, pm->root.path, pm->root.len) < 0)
    return -1;
  return rn == 1 ? 0 : emit (m, r, rn); /* "/" is the root itself */
}

/* "[KIND=]PATH" as rustc's -L takes it: only these kinds are stripped,
 * any other "x=" is part of the path. */
static int
map_kind_path (struct mapper *m, const char *s, size_t n)
{
  static const char *const kinds[]
      = { "native=", "dependency=", "crate=", "framework=", "all=" };
  size_t k = 0;
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds && k == 0; i++)
    if (starts_with (s, n, kinds[i]))
      k = strlen (kinds[i]);
  if (emit (m, s, k) < 0)
    return -1;
  return map_path (m, s + k, n - k);
}

/* May a path begin at s[i] in free text?  Not inside a word, so that the
 * relative "x/cargo/src" stays, but after a separator, after '@' (a
 * linker response file) or glued to a one-letter option ("-L/x"). */
static bool
text_path_start (const char *s, size_t i)
{
  if (i == 0)
    return true;
  unsigned char c = (unsigned char)s[i - 1];
  if (text_separator (c) || c == '@')
    return true;
  bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  return letter && i >= 2 && s[i - 2] == '-'
         && (i == 2 || text_separator ((unsigned char)s[i - 3]));
}

/* Free text: every container path in it is mapped. */
static int
map_text (struct mapper *m, const char *s, size_t n)
{
  size_t done = 0;
  for (size_t i = 0; i < n; i++)
    {
      if (s[i] != '/' || !text_path_start (s, i))
        continue;
      const struct map_pair *mp = find_map (m->pm, s + i, n - i, true);
      if (mp == NULL)
        continue;
      size_t end = i + mp->container.len;
      while (end < n && !text_separator ((unsigned char)s[end]))
        end++;
      if (hand_on (m, s + i, end - i) < 0 || emit (m, s + done, i - done) < 0
          || emit_host (m, mp) < 0)
        return -1;
      i += mp->container.len - 1;
      done = i + 1;
    }
  return emit (m, s + done, n - done);
}

/* A linker argument: any container path in it is mapped, and one that is
 * a path by itself is an input the linker will read, so it is checked,
 * and one under a bind names the bind's source. */
static int
map_link_arg (struct mapper *m, const char *s, size_t n)
{
  if (check_path (m, s, n) < 0)
    return -1;
  const struct map_pair *via
      = n > 0 && s[0] == '/' ? locate (m->pm, s, n).via : NULL;
  if (via && via != find_map (m->pm, s, n, false))
    return emit_via (m, via, s, n);
  return map_text (m, s, n);
}

/* "NAME=REST": NAME passes, REST goes to fn.  Without '=' Cargo refuses
 * the line, so there is nothing to map. */
static int
map_after_eq (struct mapper *m, const char *s, size_t n, value_fn fn)
{
  const char *eq = memchr (s, '=', n);
  if (eq == NULL)
    return emit (m, s, n);
  size_t k = (size_t)(eq - s) + 1;
  if (emit (m, s, k) < 0)
    return -1;
  return fn (m, s + k, n - k);
}

static int
map_env (struct mapper *m, const char *s, size_t n)
{
  return map_after_eq (m, s, n, map_text);
}

static int
map_link_arg_bin (struct mapper *m, const char *s, size_t n)
{
  return map_after_eq (m, s, n, map_link_arg);
}

/* Bytes up to the next whitespace character (Cargo splits rustc-flags on
 * char::is_whitespace). */
static size_t
word_len (const char *s, size_t n)
{
  size_t i = 0;
  while (i < n && space_at (s + i, n - i) == 0)
    i++;
  return i;
}

/* rustc-flags: only -l and -L exist for Cargo; each -L path is mapped, the
 * separators between words are kept byte for byte. */
static int
map_rustc_flags (struct mapper *m, const char *s, size_t n)
{
  enum
  {
    FLAG,
    SEARCH_PATH, /* after a bare "-L" */
    LIB_NAME,    /* after a bare "-l": even "-L/x" would be a name here */
  } next
      = FLAG;
  size_t i = 0;
  while (i < n)
    {
      size_t l = leading_space (s + i, n - i);
      if (l == 0)
        {
          const char *w = s + i;
          l = word_len (w, n - i);
          int r;
          if (next == SEARCH_PATH)
            r = map_kind_path (m, w, l), next = FLAG;
          else if (next == LIB_NAME)
            r = emit (m, w, l), next = FLAG;
          else if (l >= 2 && w[0] == '-' && (w[1] == 'L' || w[1] == 'l'))
            {
              r = emit (m, w, 2);
              if (l == 2)
                next = w[1] == 'L' ? SEARCH_PATH : LIB_NAME;
              else if (r == 0)
                r = w[1] == 'L' ? map_kind_path (m, w + 2, l - 2)
                                : emit (m, w + 2, l - 2);
            }
          else
            r = emit (m, w, l); /* Cargo refuses it: nothing to map */
          if (r < 0)
            return -1;
        }
      else if (emit (m, s + i, l) < 0)
        return -1;
      i += l;
    }
  return 0;
}

static int
pass (struct mapper *m, const char *s, size_t n)
{
  return emit (m, s, n);
}

/* Cargo's keys (custom_build.rs, BuildOutput::parse).  "error" and
 * "metadata" exist only in the new syntax: old "cargo:error=x" is metadata
 * named "error", which map_text handles the same way. */
static const struct
{
  const char *key;
  value_fn map;
  bool new_syntax_only;
} directive_keys[] = {
  { "rustc-flags", map_rustc_flags, false },
  { "rustc-link-lib", pass, false },
  { "rustc-link-search", map_kind_path, false },
  { "rustc-link-arg-cdylib", map_link_arg, false },
  { "rustc-cdylib-link-arg", map_link_arg, false },
  { "rustc-link-arg-bins", map_link_arg, false },
  { "rustc-link-arg-bin", map_link_arg_bin, false },
  { "rustc-link-arg-tests", map_link_arg, false },
  { "rustc-link-arg-benches", map_link_arg, false },
  { "rustc-link-arg-examples", map_link_arg, false },
  { "rustc-link-arg", map_link_arg, false },
  { "rustc-cfg", pass, false },
  { "rustc-check-cfg", pass, false },
  { "rustc-env", map_env, false },
  { "warning", map_text, false },
  { "rerun-if-changed", map_rerun_path, false },
  { "rerun-if-env-changed", pass, false },
  { "error", map_text, true },
  { "metadata", map_env /* KEY=VALUE, like rustc-env */, true },
};

static value_fn
value_mapper (const char *key, size_t n, bool new_syntax)
{
  for (size_t i = 0; i < sizeof directive_keys / sizeof *directive_keys; i++)
    if (strlen (directive_keys[i].key) == n
        && memcmp (directive_keys[i].key, key, n) == 0
        && (new_syntax || !directive_keys[i].new_syntax_only))
      return directive_keys[i].map;
  /* Old syntax: any other key is metadata for dependents (DEP_X_KEY), its
   * value free text.  New syntax: Cargo refuses the line. */
  return new_syntax ? pass : map_text;
}

struct directive
{
  const char *key;
  size_t key_len;
  const char *value;
  size_t value_len;
  value_fn map;
  bool hands_on;    /* a later step uses the value (see exports) */
  const char *xkey; /* for exports: metadata's own KEY in the new syntax */
  size_t xkey_len;
};

/* s: a trimmed line. */
static bool
directive_parse (const char *s, size_t n, struct directive *d)
{
  bool new_syntax = starts_with (s, n, "cargo::");
  size_t skip = new_syntax ? 7 : 6;
  if (!new_syntax && !starts_with (s, n, "cargo:"))
    return false;
  s += skip, n -= skip;
  const char *eq = memchr (s, '=', n);
  if (eq == NULL)
    return false; /* Cargo refuses the line: nothing to map */
  d->key = s;
  d->key_len = (size_t)(eq - s);
  d->value = eq + 1;
  d->value_len = n - d->key_len - 1;
  d->map = value_mapper (d->key, d->key_len, new_syntax);
  /* Cargo only stats rerun-if-changed paths and prints messages; old
   * "cargo:error=" is metadata, handed on like any other */
  d->hands_on = d->map != map_rerun_path && d->map != pass
                && !(d->key_len == 7 && memcmp (d->key, "warning", 7) == 0)
                && !(new_syntax && d->key_len == 5
                     && memcmp (d->key, "error", 5) == 0);
  d->xkey = d->key;
  d->xkey_len = d->key_len;
  const char *eq2 = memchr (d->value, '=', d->value_len);
  if (new_syntax && d->key_len == 8 && memcmp (d->key, "metadata", 8) == 0
      && eq2)
    {
      d->xkey = d->value;
      d->xkey_len = (size_t)(eq2 - d->value);
    }
  return true;
}

/* Map line into out (reset first): 1 if it changed, 0 if not, -1 when out
 * of memory. */
static int
map_line_into (const struct directive_pathmap *pm, const char *line,
               size_t len, struct buf *out, struct directive_notes *notes,
               struct directive_exports *exports)
{
  if (!utf8_valid (line, len)) /* Cargo skips it */
    return 0;
  size_t b = leading_space (line, len);
  size_t e = b + trim_end (line + b, len - b);
  struct directive d;
  if (!directive_parse (line + b, e - b, &d))
    return 0;
  out->len = 0;
  struct mapper m = { .pm = pm,
                      .out = out,
                      .notes = notes,
                      .key = d.key,
                      .key_len = d.key_len,
                      .exports = d.hands_on ? exports : NULL,
                      .xkey = d.xkey,
                      .xkey_len = d.xkey_len };
  size_t head = (size_t)(d.value - line);
  if (emit (&m, line, head) < 0 || d.map (&m, d.value, d.value_len) < 0
      || emit (&m, line + e, len - e) < 0)
    return -1;
  return m.changed ? 1 : 0;
}

int
directive_map_line (const struct directive_pathmap *pm, const char *line,
                    size_t len, char **out, size_t *out_len,
                    struct directive_notes *notes, ohr_error_t *err)
{
  struct buf b = { 0 };
  int r = map_line_into (pm, line, len, &b, notes, NULL);
  if (r <= 0 || buf_add (&b, "", 0) < 0)
    {
      buf_clear (&b);
      return r == 0 ? 0 : ohr_error_nomem (err);
    }
  *out_len = b.len;
  *out = b.data;
  return 1;
}

/* ---- the streaming filter */

struct directive_filter
{
  struct directive_pathmap *pm;
  directive_write_fn write;
  void *ctx;
  struct buf pending; /* the start of a line whose '\n' has not come */
  struct buf mapped;  /* scratch: one mapped line */
  struct directive_notes notes;
  struct directive_exports exports;
  bool overlong; /* inside a line over DIRECTIVE_LINE_MAX: passing it on */
  bool finished;
  bool failed;
};

struct directive_filter *
directive_filter_new (const struct directive_map *maps, size_t n_maps,
                      const char *const *allowed, size_t n_allowed,
                      directive_write_fn write_fn, void *ctx, ohr_error_t *err)
{
  struct directive_filter *f = calloc (1, sizeof *f);
  if (f == NULL)
    {
      ohr_error_nomem (err);
      return NULL;
    }
  if (directive_pathmap_new (maps, n_maps, allowed, n_allowed, &f->pm, err)
      < 0)
    {
      free (f);
      return NULL;
    }
  f->write = write_fn;
  f->ctx = ctx;
  return f;
}

int
directive_filter_set_image (struct directive_filter *f, const char *image_root,
                            const struct mount_table *mounts, ohr_error_t *err)
{
  return directive_pathmap_set_image (f->pm, image_root, mounts, err);
}

void
directive_filter_free (struct directive_filter *f)
{
  if (f == NULL)
    return;
  directive_pathmap_free (f->pm);
  buf_clear (&f->pending);
  buf_clear (&f->mapped);
  directive_notes_clear (&f->notes);
  directive_exports_clear (&f->exports);
  free (f);
}

const struct directive_notes *
directive_filter_notes (const struct directive_filter *f)
{
  return &f->notes;
}

const struct directive_exports *
directive_filter_exports (const struct directive_filter *f)
{
  return &f->exports;
}

static int
out_write (struct directive_filter *f, const char *s, size_t n,
           ohr_error_t *err)
{
  if (n == 0 || f->write (f->ctx, s, n, err) >= 0)
    return 0;
  /* keeps the callback's own error if it set one */
  return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                        "cannot pass on the build script's output");
}

/* A line over DIRECTIVE_LINE_MAX passes unmapped; if its start could be a
 * directive, say so, since its paths go unchecked.  Only the first
 * DIRECTIVE_LINE_MAX bytes are looked at, so the note does not depend on
 * how the line was fed. */
static int
note_overlong (struct directive_filter *f, const char *s, size_t n,
               ohr_error_t *err)
{
  if (n > DIRECTIVE_LINE_MAX)
    n = DIRECTIVE_LINE_MAX;
  size_t b = leading_space (s, n);
  s += b, n -= b;
  /* a remainder this short may be a cut "cargo:" or whitespace char */
  bool maybe = n < 6 ? memcmp (s, "cargo:", n) == 0 || n <= 3
                     : memcmp (s, "cargo:", 6) == 0;
  if (!maybe)
    return 0;
  size_t skip = starts_with (s, n, "cargo::") ? 7 : n >= 6 ? 6 : n;
  const char *eq = memchr (s + skip, '=', n - skip);
  size_t key_len = eq ? (size_t)(eq - s) - skip : 0;
  if (key_len > 64) /* not a key Cargo knows */
    key_len = 0;
  /* its paths are not known: any could be one handed on */
  f->exports.incomplete = true;
  if (note_add (&f->notes, DIRECTIVE_NOTE_TOO_LONG, s + skip, key_len, "", 0)
      < 0)
    return ohr_error_nomem (err);
  return 0;
}

/* 1 and the result in f->mapped if line changed, 0 if not. */
static int
filter_map (struct directive_filter *f, const char *line, size_t len,
            ohr_error_t *err)
{
  int r = map_line_into (f->pm, line, len, &f->mapped, &f->notes, &f->exports);
  return r < 0 ? ohr_error_nomem (err) : r;
}

/* Inside an overlong line: pass bytes on until its '\n'. */
static int
feed_overlong (struct directive_filter *f, const char *p, size_t n,
               size_t *used, ohr_error_t *err)
{
  const char *nl = memchr (p, '\n', n);
  size_t k = nl ? (size_t)(nl - p) + 1 : n;
  if (out_write (f, p, k, err) < 0)
    return -1;
  f->overlong = nl == NULL;
  *used = k;
  return 0;
}

/* A line began in an earlier call: add to it until '\n' completes it, or
 * until it outgrows DIRECTIVE_LINE_MAX. */
static int
feed_pending (struct directive_filter *f, const char *p, size_t n,
              size_t *used, ohr_error_t *err)
{
  const char *nl = memchr (p, '\n', n);
  size_t take = nl ? (size_t)(nl - p) : n;
  size_t room = DIRECTIVE_LINE_MAX - f->pending.len;
  if (take > room)
    {
      /* filled to exactly the limit, so the note sees what it would see
       * had the line come in one piece */
      if (buf_add (&f->pending, p, room) < 0)
        return ohr_error_nomem (err);
      if (note_overlong (f, f->pending.data, f->pending.len, err) < 0
          || out_write (f, f->pending.data, f->pending.len, err) < 0)
        return -1;
      f->pending.len = 0;
      f->overlong = true;
      *used = room;
      return 0;
    }
  if (buf_add (&f->pending, p, nl ? take + 1 : take) < 0)
    return ohr_error_nomem (err);
  *used = nl ? take + 1 : take;
  if (nl == NULL)
    return 0;
  struct buf *line = &f->pending;
  int r = filter_map (f, line->data, line->len - 1, err);
  if (r < 0)
    return -1;
  if (r == 1)
    {
      if (buf_add (&f->mapped, "\n", 1) < 0)
        return ohr_error_nomem (err);
      line = &f->mapped;
    }
  if (out_write (f, line->data, line->len, err) < 0)
    return -1;
  f->pending.len = 0;
  return 0;
}

/* At a line start: complete lines are mapped in place and written in
 * runs (unchanged bytes go out as one span); the unfinished tail is kept,
 * or passed on if it is already too long. */
static int
feed_lines (struct directive_filter *f, const char *p, size_t n, size_t *used,
            ohr_error_t *err)
{
  const char *end = p + n, *span = p, *line = p, *nl;
  while ((nl = memchr (line, '\n', (size_t)(end - line))) != NULL)
    {
      size_t len = (size_t)(nl - line);
      int r = len > DIRECTIVE_LINE_MAX ? note_overlong (f, line, len, err)
                                       : filter_map (f, line, len, err);
      if (r < 0)
        return -1;
      if (r == 1)
        {
          if (out_write (f, span, (size_t)(line - span), err) < 0
              || out_write (f, f->mapped.data, f->mapped.len, err) < 0)
            return -1;
          span = nl; /* the '\n' goes out with what follows */
        }
      line = nl + 1;
    }
  if ((size_t)(end - line) > DIRECTIVE_LINE_MAX)
    {
      if (note_overlong (f, line, (size_t)(end - line), err) < 0)
        return -1;
      f->overlong = true;
      line = end;
    }
  if (out_write (f, span, (size_t)(line - span), err) < 0)
    return -1;
  if (buf_add (&f->pending, line, (size_t)(end - line)) < 0)
    return ohr_error_nomem (err);
  *used = n;
  return 0;
}

static int
filter_usable (struct directive_filter *f, ohr_error_t *err)
{
  if (f->failed || f->finished)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "directive filter used after %s",
                          f->failed ? "a failure" : "its end");
  return 0;
}

int
directive_filter_feed (struct directive_filter *f, const void *buf, size_t len,
                       ohr_error_t *err)
{
  if (filter_usable (f, err) < 0)
    return -1;
  const char *p = buf;
  while (len > 0)
    {
      size_t used = 0;
      int r;
      if (f->overlong)
        r = feed_overlong (f, p, len, &used, err);
      else if (f->pending.len > 0)
        r = feed_pending (f, p, len, &used, err);
      else
        r = feed_lines (f, p, len, &used, err);
      if (r < 0)
        {
          f->failed = true;
          return -1;
        }
      p += used, len -= used;
    }
  return 0;
}

int
directive_filter_finish (struct directive_filter *f, ohr_error_t *err)
{
  if (filter_usable (f, err) < 0)
    return -1;
  f->finished = true;
  if (f->pending.len == 0)
    return 0;
  struct buf *line = &f->pending;
  int r = filter_map (f, line->data, line->len, err);
  if (r < 0)
    return -1;
  if (r == 1)
    line = &f->mapped;
  int w = out_write (f, line->data, line->len, err);
  f->pending.len = 0;
  return w;
}
