/* toolchain-id.c: see toolchain-id.h */
#define _GNU_SOURCE
#include "cache/toolchain-id.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/merkle.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/walk.h"

#define RUSTLIB "lib/rustlib"
#define MANIFEST_MAX (16u << 20)
#define IDENTITY_FORMAT "oci-host-runner rustup toolchain identity v1"

/* A path a component's manifest lists ("file:P", or "dir:P" for all
 * below P), with the mtime of that manifest. */
struct listed
{
  char *path;
  bool dir;
  long long installed_ns;
};

struct id_state
{
  const char *root;
  char *const *skip;
  struct memo *memo;
  struct listed *v;
  size_t n;
  char **lines;
};

static long long
mtime_ns (const struct stat *st)
{
  return (long long)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

static void
state_clear (struct id_state *s)
{
  for (size_t i = 0; i < s->n; i++)
    free (s->v[i].path);
  free (s->v);
  strv_free (s->lines);
}

static int
by_path (const void *a, const void *b)
{
  return strcmp (((const struct listed *)a)->path,
                 ((const struct listed *)b)->path);
}

static int
by_string (const void *a, const void *b)
{
  return strcmp (*(char *const *)a, *(char *const *)b);
}

/* Read ROOT/lib/rustlib/NAME into the digest (name, then bytes); 0 when
 * it does not exist, 1 with its bytes in *out (may be NULL) and its
 * mtime. */
static int
take_file (struct id_state *s, struct digest_ctx *ctx, const char *name,
           char **out, long long *out_mtime, ohr_error_t *err)
{
  cleanup_free char *path = NULL;
  if (asprintf (&path, "%s/" RUSTLIB "/%s", s->root, name) < 0)
    return ohr_error_nomem (err);
  cleanup_close int fd
      = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  struct stat st;
  if (fd < 0 && (errno == ENOENT || errno == ENOTDIR || errno == ELOOP))
    return 0;
  if (fd < 0 || fstat (fd, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot open '%s'",
                            path);
  if (!S_ISREG (st.st_mode))
    return 0;
  char *data = NULL;
  size_t len = 0;
  if (fs_read_fd (fd, path, MANIFEST_MAX, OHR_ERR_INTERNAL, &data, &len, err)
      < 0)
    return -1;
  digest_update (ctx, name, strlen (name) + 1);
  char n[32];
  snprintf (n, sizeof n, "%zu", len);
  digest_update (ctx, n, strlen (n) + 1);
  digest_update (ctx, data ? data : "", len);
  if (out_mtime)
    *out_mtime = mtime_ns (&st);
  if (out)
    *out = data;
  else
    free (data);
  return 1;
}

static int
add_listed (struct id_state *s, const char *path, size_t len, bool dir,
            long long ns, ohr_error_t *err)
{
  struct listed *v = realloc (s->v, (s->n + 1) * sizeof *v);
  if (v == NULL)
    return ohr_error_nomem (err);
  s->v = v;
  v[s->n] = (struct listed){ .dir = dir, .installed_ns = ns };
  if ((v[s->n].path = strndup (path, len)) == NULL)
    return ohr_error_nomem (err);
  s->n++;
  return 0;
}

/* A component's manifest: its lines into s->v.  0: none (not a toolchain
 * rustup keeps whole). */
static int
take_component (struct id_state *s, struct digest_ctx *ctx,
                const char *component, size_t len, ohr_error_t *err)
{
  cleanup_free char *name = NULL, *data = NULL;
  long long ns = 0;
  if (asprintf (&name, "manifest-%.*s", (int)len, component) < 0)
    return ohr_error_nomem (err);
  if (strchr (name, '/'))
    return 0;
  int r = take_file (s, ctx, name, &data, &ns, err);
  if (r <= 0)
    return r;
  for (const char *l = data; l && *l;)
    {
      size_t n = strcspn (l, "\n");
      if (n > 5 && strncmp (l, "file:", 5) == 0)
        r = add_listed (s, l + 5, n - 5, false, ns, err);
      else if (n > 4 && strncmp (l, "dir:", 4) == 0)
        r = add_listed (s, l + 4, n - 4, true, ns, err);
      if (r < 0)
        return -1;
      l += n + (l[n] == '\n');
    }
  return 1;
}

/* When the manifests say rel was installed, or -1 when none lists it. */
static long long
installed_at (const struct id_state *s, const char *rel)
{
  struct listed key = { .path = (char *)rel };
  const struct listed *f = bsearch (&key, s->v, s->n, sizeof *s->v, by_path);
  if (f && !f->dir)
    return f->installed_ns;
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i].dir && fs_path_is_under (rel, s->v[i].path))
      return s->v[i].installed_ns;
  return -1;
}

static int
on_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  struct id_state *s = ctx;
  const struct stat *st = e->st;
  if (strv_contains (s->skip, e->path))
    return WALK_SKIP;
  if (S_ISDIR (st->st_mode))
    return WALK_CONTINUE;
  if (S_ISLNK (st->st_mode))
    {
      char target[4097];
      ssize_t n = readlinkat (e->dirfd, e->name, target, sizeof target - 1);
      if (n < 0)
        return ohr_error_errno (err, errno, OHR_ERR_INTERNAL,
                                "cannot read the link '%s/%s'", s->root,
                                e->path);
      target[n] = '\0';
      return strv_pushf (&s->lines, "l %s\t%s", e->path, target) < 0
                 ? ohr_error_nomem (err)
                 : 0;
    }
  if (!S_ISREG (st->st_mode))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "'%s/%s' is neither a file, a directory nor a "
                          "symlink",
                          s->root, e->path);
  char x = (st->st_mode & 0111) ? 'x' : '-';
  long long at = installed_at (s, e->path);
  if (at >= 0 && mtime_ns (st) <= at)
    return strv_pushf (&s->lines, "f %c %s", x, e->path) < 0
               ? ohr_error_nomem (err)
               : 0;
  /* not rustup's, or changed since: its bytes */
  cleanup_free char *abs = fs_path_join (s->root, e->path);
  struct merkle_options o = { .memo = s->memo };
  struct merkle_node node = { 0 };
  if (abs == NULL)
    return ohr_error_nomem (err);
  if (merkle_path (abs, &o, &node, err) < 0)
    return -1;
  int r = strv_pushf (&s->lines, "f %c %s\t%s", x, e->path, node.digest.hash);
  merkle_node_clear (&node);
  return r < 0 ? ohr_error_nomem (err) : 0;
}

/* The channel manifest (~1 MB: every target's archives) by its digest,
 * which the memo keeps: read once, not on every run.  0 when missing. */
static int
take_channel (struct id_state *s, struct digest_ctx *ctx, ohr_error_t *err)
{
  static const char name[] = "multirust-channel-manifest.toml";
  cleanup_free char *path = NULL;
  struct stat st;
  if (asprintf (&path, "%s/" RUSTLIB "/%s", s->root, name) < 0)
    return ohr_error_nomem (err);
  if (lstat (path, &st) < 0 || !S_ISREG (st.st_mode))
    return 0;
  struct merkle_options o = { .memo = s->memo };
  struct merkle_node node = { 0 };
  if (merkle_path (path, &o, &node, err) < 0)
    return -1;
  digest_update (ctx, name, sizeof name);
  digest_update (ctx, node.digest.hash, strlen (node.digest.hash) + 1);
  merkle_node_clear (&node);
  return 1;
}

int
cache_toolchain_identity (const char *root, char *const *skip,
                          struct memo *memo, char out[65], ohr_error_t *err)
{
  struct id_state s = { .root = root, .skip = skip, .memo = memo };
  if (memo && memo_scope (memo, root, err) < 0)
    return -1;
  struct digest_ctx *ctx = digest_new ();
  cleanup_free char *components = NULL;
  if (ctx == NULL)
    return ohr_error_nomem (err);
  digest_update (ctx, IDENTITY_FORMAT, sizeof IDENTITY_FORMAT);
  int r = take_channel (&s, ctx, err);
  if (r > 0)
    r = take_file (&s, ctx, "components", &components, NULL, err);
  int n = 0;
  for (const char *l = components; r > 0 && l && *l; n++)
    {
      size_t len = strcspn (l, "\n");
      if (len > 0)
        r = take_component (&s, ctx, l, len, err);
      l += len + (l[len] == '\n');
    }
  if (r > 0 && n == 0)
    r = 0;
  if (r > 0)
    {
      qsort (s.v, s.n, sizeof *s.v, by_path);
      struct walk_options wo = { .flags = WALK_ROOT_NOFOLLOW };
      if (walk_tree (AT_FDCWD, root, &wo, on_entry, &s, err) < 0)
        r = ohr_error_wrap (err, "toolchain '%s'", root);
    }
  if (r > 0)
    {
      size_t count = strv_len (s.lines);
      if (count)
        qsort (s.lines, count, sizeof *s.lines, by_string);
      for (size_t i = 0; i < count; i++)
        digest_update (ctx, s.lines[i], strlen (s.lines[i]) + 1);
      char d[DIGEST_STRING_LEN + 1];
      digest_final (ctx, d);
      memcpy (out, d + 7, 65);
    }
  digest_free (ctx);
  state_clear (&s);
  return r;
}
