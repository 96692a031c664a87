/* view.c: see view.h */
#define _GNU_SOURCE
#include "run/view.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run/envfilter.h"
#include "run/pathmatch.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/procfs.h"
#include "util/strv.h"

#define ADD(t, dest, type, src, ...)                                          \
  mounts_add (t, dest, type, src, (const char *const[]){ __VA_ARGS__, NULL }, \
              err)

/* runc's default /proc, /dev, /sys set, plus private /tmp and HOME. */
static int
add_system_mounts (const struct view_input *in, struct mount_table *t,
                   ohr_error_t *err)
{
  /* Degraded: where a fresh procfs is refused, a fresh sysfs is too (the
   * same kubelet masks both) */
  bool own_sysfs
      = !in->host_proc
        && (!(in->rootless || in->userns) || in->network == NETWORK_NONE);
  /* a tmpfs is memory: without size= a script could fill half of RAM */
  char size[40] = "";
  if (in->tmpfs_size)
    snprintf (size, sizeof size, "size=%llu", in->tmpfs_size);
  if ((in->host_proc ? mounts_add_system_bind (t, "/proc", err)
                     : mounts_add (t, "/proc", "proc", "proc", NULL, err))
          < 0
      || ADD (t, "/dev", "tmpfs", "tmpfs", "nosuid", "strictatime", "mode=755",
              "size=65536k")
             < 0
      || (in->rootless
              ? ADD (t, "/dev/pts", "devpts", "devpts", "nosuid", "noexec",
                     "newinstance", "ptmxmode=0666", "mode=0620")
              : ADD (t, "/dev/pts", "devpts", "devpts", "nosuid", "noexec",
                     "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"))
             < 0
      || ADD (t, "/dev/shm", "tmpfs", "shm", "nosuid", "noexec", "nodev",
              "mode=1777", "size=65536k")
             < 0
      || ADD (t, "/dev/mqueue", "mqueue", "mqueue", "nosuid", "noexec",
              "nodev")
             < 0
      /* A user namespace may mount sysfs only with a network namespace
       * it owns; otherwise bind the host's, read-only (its submounts too:
       * cgroup trees, securityfs, debugfs). */
      || (own_sysfs ? ADD (t, "/sys", "sysfs", "sysfs", "nosuid", "noexec",
                           "nodev", "ro")
                    : mounts_add_system_bind (t, "/sys", err))
             < 0
      || ADD (t, "/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=1777",
              size[0] ? size : NULL)
             < 0
      || ADD (t, LAYOUT_HOME, "tmpfs", "tmpfs", "nosuid", "nodev", "mode=700",
              size[0] ? size : NULL)
             < 0)
    return -1;
  return 0;
}

static int
compare_pairs (const void *a, const void *b)
{
  const struct path_pair *x = a, *y = b;
  size_t nx = strlen (x->host), ny = strlen (y->host);
  return nx > ny ? -1 : nx < ny;
}

/* Record where host path appears inside; identity mode maps to itself. */
static int
add_pair (struct view *l, const char *host, const char *container,
          ohr_error_t *err)
{
  struct path_pair *nv = realloc (l->pairs, (l->n_pairs + 1) * sizeof *nv);
  if (nv == NULL)
    return ohr_error_nomem (err);
  l->pairs = nv;
  nv[l->n_pairs] = (struct path_pair){ .host = strdup (host),
                                       .container = strdup (container) };
  l->n_pairs++;
  if (nv[l->n_pairs - 1].host == NULL || nv[l->n_pairs - 1].container == NULL)
    return ohr_error_nomem (err);
  return 0;
}

static const char *
place (const struct view_input *in, const char *host, const char *canonical)
{
  return in->paths == PATHS_CANONICAL ? canonical : host;
}

/* Canonical paths: where a host path under Cargo's target directory (OUT_DIR,
 * the build directory) appears, the same components below
 * LAYOUT_CARGO_TARGET; an OUT_DIR of another shape at
 * LAYOUT_CARGO_OUT_UNSHAPED.  A fresh string. */
static char *
in_target (const struct run_context *ctx, const char *host)
{
  if (ctx->target_dir == NULL)
    return strdup (LAYOUT_CARGO_OUT_UNSHAPED);
  char *s = NULL;
  return asprintf (&s, "%s%s", LAYOUT_CARGO_TARGET,
                   host + strlen (ctx->target_dir))
                 < 0
             ? NULL
             : s;
}

/* A pair under Cargo's target directory: OUT_DIR or the build directory. */
static int
add_target_pair (const struct view_input *in, struct view *l, const char *host,
                 ohr_error_t *err)
{
  if (in->paths != PATHS_CANONICAL)
    return add_pair (l, host, host, err);
  cleanup_free char *inside = in_target (in->ctx, host);
  if (inside == NULL)
    return ohr_error_nomem (err);
  return add_pair (l, host, inside, err);
}

/* The workspace root, when the package is below it rather than it. */
static const char *
workspace_root (const struct view_input *in)
{
  const struct wsview *ws = in->workspace;
  if (ws == NULL || strcmp (ws->root, in->ctx->manifest_dir) == 0
      || !fs_path_is_under (in->ctx->manifest_dir, ws->root))
    return NULL;
  return ws->root;
}

/* The package's pair, and its workspace root's when it has one: canonical
 * paths put the root at /cargo/src and the package at its place below. */
static int
add_source_pairs (const struct view_input *in, struct view *l,
                  ohr_error_t *err)
{
  const char *dir = in->ctx->manifest_dir, *root = workspace_root (in);
  if (root == NULL)
    return add_pair (l, dir, place (in, dir, LAYOUT_CARGO_SRC), err);
  cleanup_free char *below = NULL;
  if (asprintf (&below, "%s%s", LAYOUT_CARGO_SRC,
                dir + (strcmp (root, "/") == 0 ? 0 : strlen (root)))
      < 0)
    return ohr_error_nomem (err);
  return add_pair (l, root, place (in, root, LAYOUT_CARGO_SRC), err) < 0
                 || add_pair (l, dir, place (in, dir, below), err) < 0
             ? -1
             : 0;
}

/* A pair for values and directives only (view.h). */
static int
add_unmounted_pair (struct view *l, const char *host, const char *container,
                    ohr_error_t *err)
{
  if (add_pair (l, host, container, err) < 0)
    return -1;
  l->pairs[l->n_pairs - 1].unmounted = true;
  return 0;
}

/* Is host shown already: at or below the host path of a mounted pair, or
 * the source of a bind of the image or the policy? */
static bool
shown (const struct view_input *in, const struct view *l, const char *host)
{
  for (size_t i = 0; i < l->n_pairs; i++)
    if (fs_path_is_under (host, l->pairs[i].host))
      return true;
  const struct mount_table *ib = &in->image->binds;
  for (size_t i = 0; i < ib->n; i++)
    if (ib->v[i].source && ib->v[i].source[0] == '/'
        && fs_path_is_under (host, ib->v[i].source))
      return true;
  for (size_t i = 0; i < in->n_extra_mounts; i++)
    if (fs_path_is_under (host, in->extra_mounts[i].source))
      return true;
  return false;
}

/* The workspace Cargo builds, where the view does not show it (view.h):
 * named LAYOUT_CARGO_WORKSPACE in values; what the image, the policy and
 * the jobserver mount from below it keeps its place, so that a value
 * naming it still leads there.  Called with the mounted pairs made. */
static int
add_workspace_pairs (const struct view_input *in, struct view *l,
                     ohr_error_t *err)
{
  const char *ws = in->build_workspace;
  if (in->paths != PATHS_CANONICAL || ws == NULL || ws[0] != '/'
      || strcmp (ws, "/") == 0 || shown (in, l, ws))
    return 0;
  if (add_unmounted_pair (l, ws, LAYOUT_CARGO_WORKSPACE, err) < 0)
    return -1;
  const struct mount_table *ib = &in->image->binds;
  for (size_t i = 0; i < ib->n; i++)
    if (ib->v[i].source && fs_path_is_under (ib->v[i].source, ws)
        && add_unmounted_pair (l, ib->v[i].source, ib->v[i].destination, err)
               < 0)
      return -1;
  for (size_t i = 0; i < in->n_extra_mounts; i++)
    {
      const struct policy_mount *m = &in->extra_mounts[i];
      if (fs_path_is_under (m->source, ws)
          && add_unmounted_pair (l, m->source, m->destination, err) < 0)
        return -1;
    }
  const char *fifo = in->jobserver->fifo;
  if (fifo && fs_path_is_under (fifo, ws)
      && add_unmounted_pair (l, fifo, fifo, err) < 0)
    return -1;
  return 0;
}

/* The path pairs of this run: package, OUT_DIR, build dir, script,
 * toolchains, tools mounted alone, the workspace Cargo builds.  Sorted
 * longest host path first, so the deepest wins. */
static int
build_pairs (const struct view_input *in, struct view *l, ohr_error_t *err)
{
  const struct run_context *ctx = in->ctx;
  /* the build dir has a canonical place only below the target dir (the
   * context finds both or neither) */
  bool build_dir
      = ctx->build_dir && (in->paths != PATHS_CANONICAL || ctx->target_dir);
  if (add_source_pairs (in, l, err) < 0
      || add_target_pair (in, l, ctx->out_dir, err) < 0
      || (build_dir && add_target_pair (in, l, ctx->build_dir, err) < 0))
    return -1;
  if (in->paths == PATHS_CANONICAL && ctx->target_dir
      && ((l->target.host = strdup (ctx->target_dir)) == NULL
          || (l->target.container = strdup (LAYOUT_CARGO_TARGET)) == NULL))
    return ohr_error_nomem (err);
  if ((!build_dir || in->paths == PATHS_CANONICAL
       || !fs_path_is_under (ctx->script, ctx->build_dir))
      && add_pair (l, ctx->script,
                   place (in, ctx->script, LAYOUT_CARGO_SCRIPT), err)
             < 0)
    return -1;
  size_t n = 0;
  for (size_t i = 0; in->toolchain->roots && in->toolchain->roots[i]; i++)
    {
      char canonical[64];
      if (n++ == 0)
        snprintf (canonical, sizeof canonical, "%s", LAYOUT_CARGO_TOOLCHAIN);
      else
        snprintf (canonical, sizeof canonical, "%s-%zu",
                  LAYOUT_CARGO_TOOLCHAIN, n);
      const char *root = in->toolchain->roots[i];
      if (add_pair (l, root, place (in, root, canonical), err) < 0)
        return -1;
    }
  /* A wrapper or linker mounted alone keeps its name (its argv[0]) in a
   * directory of its own, /cargo/toolchain-N/NAME, numbered after the
   * toolchains: a prefix run mode treats as the toolchain's. */
  for (size_t i = 0; in->toolchain->files && in->toolchain->files[i]; i++)
    {
      const char *file = in->toolchain->files[i];
      cleanup_free char *canonical = NULL;
      n = n < 1 ? 2 : n + 1; /* after the toolchains, and never "-1" */
      if (asprintf (&canonical, "%s-%zu/%s", LAYOUT_CARGO_TOOLCHAIN, n,
                    strrchr (file, '/') + 1)
          < 0)
        return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "layout");
      if (add_pair (l, file, place (in, file, canonical), err) < 0)
        return -1;
    }
  if (add_workspace_pairs (in, l, err) < 0)
    return -1;
  qsort (l->pairs, l->n_pairs, sizeof *l->pairs, compare_pairs);
  return 0;
}

static int
add_source_mount (const struct view_input *in, const char *host,
                  const char *dest, struct mount_table *t, ohr_error_t *err)
{
  if (in->source_upper == NULL)
    return mounts_add_bind (t, host, dest, false, false, err);
  cleanup_free char *lower = NULL, *upper = NULL, *work = NULL;
  if (asprintf (&lower, "lowerdir=%s",
                in->source_lower ? in->source_lower : host)
          < 0
      || asprintf (&upper, "upperdir=%s", in->source_upper) < 0
      || asprintf (&work, "workdir=%s", in->source_work) < 0)
    return ohr_error_nomem (err);
  return ADD (t, dest, "overlay", "overlay", lower, upper, work, "nosuid",
              "nodev");
}

static bool
pair_below (const struct view *l, const char *host)
{
  for (size_t i = 0; i < l->n_pairs; i++)
    if (!l->pairs[i].unmounted && strcmp (l->pairs[i].host, host) != 0
        && fs_path_is_under (l->pairs[i].host, host))
      return true;
  return false;
}

/* What the workspace view hides (wsview.h): an empty tmpfs over a
 * directory, read-only unless a mount of ours (the build directory with
 * identity paths) must be made inside it; /dev/null over a file. */
static int
add_masks (const struct view_input *in, struct view *l, ohr_error_t *err)
{
  const struct wsview *ws = in->workspace;
  for (size_t i = 0; ws && i < ws->n; i++)
    {
      cleanup_free char *dest = view_map_value (l, ws->v[i].path);
      if (dest == NULL)
        return ohr_error_nomem (err);
      int r = !ws->v[i].dir ? mounts_add_bind (&l->mounts, "/dev/null", dest,
                                               false, false, err)
              : pair_below (l, ws->v[i].path)
                  ? ADD (&l->mounts, dest, "tmpfs", "tmpfs", "nosuid", "nodev",
                         "noexec", "mode=755", "size=64k")
                  : ADD (&l->mounts, dest, "tmpfs", "tmpfs", "ro", "nosuid",
                         "nodev", "noexec", "mode=755", "size=4k");
      if (r < 0)
        return -1;
    }
  return 0;
}

/* Of the build directory, only the subtrees the result cache keys on. */
static int
add_build_subtrees (const struct view_input *in, struct view *l,
                    ohr_error_t *err)
{
  for (size_t i = 0; in->build_subtrees[i]; i++)
    {
      cleanup_free char *dest = view_map_value (l, in->build_subtrees[i]);
      if (dest == NULL)
        return ohr_error_nomem (err);
      if (mounts_add_bind (&l->mounts, in->build_subtrees[i], dest, false,
                           false, err)
          < 0)
        return -1;
    }
  return 0;
}

static int
add_binds (const struct view_input *in, struct view *l, ohr_error_t *err)
{
  const struct run_context *ctx = in->ctx;
  struct mount_table *t = &l->mounts;
  const struct mount_table *ib = &in->image->binds;
  for (size_t i = 0; i < ib->n; i++)
    if (mounts_add (t, ib->v[i].destination, ib->v[i].type, ib->v[i].source,
                    (const char *const *)ib->v[i].options, err)
        < 0)
      return -1;
  if (ADD (t, LAYOUT_INIT_PATH, "bind", in->init_path, "bind", "ro", "nosuid",
           "nodev")
      < 0)
    return -1;
  if (in->paths == PATHS_CANONICAL
      && ADD (t, LAYOUT_CARGO_ROOT, "tmpfs", "tmpfs", "nosuid", "nodev",
              "mode=755", "size=64k")
             < 0)
    return -1;
  for (size_t i = 0; i < in->n_extra_mounts; i++)
    if (mounts_add_bind (t, in->extra_mounts[i].source,
                         in->extra_mounts[i].destination, false, true, err)
        < 0)
      return -1;
  /* Package source read-only (or an overlay that keeps writes apart), every
   * build script's output read-only (DEP_*_INCLUDE point into
   * dependencies' OUT_DIRs; the script lives there too), OUT_DIR rw. */
  for (size_t i = 0; i < l->n_pairs; i++)
    {
      const struct path_pair *p = &l->pairs[i];
      int r;
      if (p->unmounted)
        continue;
      if (strcmp (p->host, ctx->out_dir) == 0)
        r = mounts_add_bind (t, p->host, p->container, true, false, err);
      else if (in->build_subtrees && ctx->build_dir
               && strcmp (p->host, ctx->build_dir) == 0)
        r = add_build_subtrees (in, l, err);
      else if (strcmp (p->host, ctx->manifest_dir) == 0)
        r = add_source_mount (in, p->host, p->container, t, err);
      else
        r = mounts_add_bind (t, p->host, p->container, false, false, err);
      if (r < 0)
        return -1;
    }
  if (in->jobserver->fifo
      && mounts_add_bind (t, in->jobserver->fifo, in->jobserver->fifo, true,
                          false, err)
             < 0)
    return -1;
  return add_masks (in, l, err);
}

int
view_directive_maps (const struct view *l, struct directive_map **out_maps,
                     size_t *out_n, ohr_error_t *err)
{
  size_t n = 0;
  struct directive_map *maps = calloc (l->n_pairs + 1, sizeof *maps);
  if (maps == NULL)
    return ohr_error_nomem (err);
  for (size_t i = 0; i < l->n_pairs; i++, n++)
    maps[n]
        = (struct directive_map){ .container_prefix = l->pairs[i].container,
                                  .host_prefix = l->pairs[i].host };
  if (l->target.host)
    maps[n++]
        = (struct directive_map){ .container_prefix = l->target.container,
                                  .host_prefix = l->target.host };
  *out_maps = maps;
  *out_n = n;
  return 0;
}

int
view_generated_prefixes (const struct view *l, char ***out, ohr_error_t *err)
{
  for (size_t i = 0; i < l->n_pairs; i++)
    {
      const char *c = l->pairs[i].container;
      /* what the image, the policy and the jobserver show are not ours */
      if (strncmp (c, LAYOUT_CARGO_TOOLCHAIN, strlen (LAYOUT_CARGO_TOOLCHAIN))
              == 0
          || strcmp (c, LAYOUT_CARGO_SCRIPT) == 0
          || (l->pairs[i].unmounted && strcmp (c, LAYOUT_CARGO_WORKSPACE)))
        continue;
      if (strv_push (out, c) < 0)
        return ohr_error_nomem (err);
    }
  /* after the pairs: a path under OUT_DIR is reported as OUT_DIR's */
  if (l->target.container && strv_push (out, l->target.container) < 0)
    return ohr_error_nomem (err);
  return 0;
}

bool
view_is_own_dir (const struct view *l, const char *path)
{
  if (strcmp (path, "/") == 0 || strcmp (path, LAYOUT_CARGO_ROOT) == 0)
    return true;
  /* canonical: the directories between /cargo and a mount below them
   * (/cargo/target/debug, /cargo/bin), not the workspace's at /cargo/src */
  if (!fs_path_is_under (path, LAYOUT_CARGO_ROOT)
      || fs_path_is_under (path, LAYOUT_CARGO_SRC))
    return false;
  for (size_t i = 0; i < l->n_pairs; i++)
    if (fs_path_is_under (l->pairs[i].container, path)
        && strcmp (l->pairs[i].container, path) != 0)
      return true;
  return false;
}

/* The pair whose host path starts at s (on a component boundary). */
static const struct path_pair *
match_at (const struct view *l, const char *s)
{
  for (size_t i = 0; i < l->n_pairs; i++)
    {
      size_t n = strlen (l->pairs[i].host);
      if (strncmp (s, l->pairs[i].host, n) == 0 && path_may_end (s[n]))
        return &l->pairs[i];
    }
  return NULL;
}

char *
view_map_value (const struct view *l, const char *value)
{
  size_t cap = strlen (value) + 1, len = 0;
  char *out = malloc (cap);
  for (const char *p = value; out && *p;)
    {
      const struct path_pair *m
          = path_may_start (value, p) ? match_at (l, p) : NULL;
      const char *piece = m ? m->container : p;
      size_t n = m ? strlen (m->container) : 1;
      if (len + n + 1 > cap)
        {
          cap = (len + n + 1) * 2;
          char *nb = realloc (out, cap);
          if (nb == NULL)
            {
              free (out);
              return NULL;
            }
          out = nb;
        }
      memcpy (out + len, piece, n);
      len += n;
      p += m ? strlen (m->host) : 1;
    }
  if (out)
    out[len] = '\0';
  return out;
}

/* PATH: the toolchain's bin first (scripts that call plain `rustc`), then
 * the image's. */
static int
set_path (const struct view_input *in, char ***env, ohr_error_t *err)
{
  const char *image_path = envfilter_get (in->image->env, "PATH");
  if (image_path == NULL)
    image_path
        = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  const char *rustc = envfilter_get (*env, "RUSTC");
  cleanup_free char *path = NULL;
  const char *slash = rustc ? strrchr (rustc, '/') : NULL;
  int r = slash && rustc[0] == '/' && slash != rustc
              ? asprintf (&path, "%.*s:%s", (int)(slash - rustc), rustc,
                          image_path)
              : asprintf (&path, "%s", image_path);
  if (r < 0)
    return ohr_error_nomem (err);
  return envfilter_set (env, "PATH", path, err);
}

/* Cargo's values name host paths (OUT_DIR, DEP_*_INCLUDE, RUSTC...):
 * rewrite them to where those paths are inside. */
static int
map_env (const struct view *l, char **env, ohr_error_t *err)
{
  for (size_t i = 0; env[i]; i++)
    {
      char *eq = strchr (env[i], '=');
      cleanup_free char *v = view_map_value (l, eq + 1);
      if (v == NULL)
        return ohr_error_nomem (err);
      if (strcmp (v, eq + 1) == 0)
        continue;
      char *entry = NULL;
      if (asprintf (&entry, "%.*s=%s", (int)(eq - env[i]), env[i], v) < 0)
        return ohr_error_nomem (err);
      free (env[i]);
      env[i] = entry;
    }
  return 0;
}

/* A run the result cache may keep (build_subtrees set) sees no host path
 * the container does not mount: Cargo's LD_LIBRARY_PATH names
 * <target>/<profile> and its deps/, which canonical paths leave unmapped
 * (only the build directory is mounted): drop those entries, so that the
 * environment, and the key over it, do not depend on the checkout. */
static int
drop_unmounted_library_paths (const struct view_input *in, char ***env,
                              ohr_error_t *err)
{
  const char *v = envfilter_get (*env, "LD_LIBRARY_PATH");
  if (in->build_subtrees == NULL || in->ctx->build_dir == NULL || v == NULL)
    return 0;
  cleanup_free char *profile = strdup (in->ctx->build_dir);
  cleanup_free char *kept = strdup ("");
  if (profile == NULL || kept == NULL)
    return ohr_error_nomem (err);
  char *slash = strrchr (profile, '/');
  if (slash == NULL || slash == profile)
    return 0;
  *slash = '\0';
  for (const char *p = v; *p;)
    {
      size_t n = strcspn (p, ":");
      cleanup_free char *entry = strndup (p, n);
      if (entry == NULL)
        return ohr_error_nomem (err);
      if (!fs_path_is_under (entry, profile))
        {
          char *more = NULL;
          if (asprintf (&more, "%s%s%s", kept, *kept ? ":" : "", entry) < 0)
            return ohr_error_nomem (err);
          free (kept);
          kept = more;
        }
      p += n + (p[n] == ':');
    }
  return envfilter_set (env, "LD_LIBRARY_PATH", kept, err);
}

static int
build_env (const struct view_input *in, const struct view *l, char ***out,
           ohr_error_t *err)
{
  cleanup_strv char **env = NULL;
  if (envfilter_build (in->envp, in->extra_env, &env, err) < 0)
    return -1;
  /* Image Env first, so Cargo's variables win over an image's. */
  for (size_t i = 0; in->image->env && in->image->env[i]; i++)
    {
      const char *e = in->image->env[i];
      const char *eq = strchr (e, '=');
      if (eq == NULL || strncmp (e, "PATH=", 5) == 0)
        continue;
      cleanup_free char *name = strndup (e, (size_t)(eq - e));
      if (name && envfilter_get (env, name) == NULL
          && envfilter_set (&env, name, eq + 1, err) < 0)
        return -1;
    }
  for (size_t i = 0; in->toolchain->rewrites && in->toolchain->rewrites[i];
       i++)
    {
      const char *rw = in->toolchain->rewrites[i];
      cleanup_free char *name = strndup (rw, (size_t)(strchr (rw, '=') - rw));
      if (name == NULL
          || envfilter_set (&env, name, strchr (rw, '=') + 1, err) < 0)
        return -1;
    }
  if (in->jobserver->makeflags
      && envfilter_set (&env, "CARGO_MAKEFLAGS", in->jobserver->makeflags, err)
             < 0)
    return -1;
  if ((in->paths == PATHS_CANONICAL && map_env (l, env, err) < 0)
      || drop_unmounted_library_paths (in, &env, err) < 0
      || set_path (in, &env, err) < 0
      || envfilter_set (&env, "HOME", LAYOUT_HOME, err) < 0)
    return -1;
  envfilter_sort (env);
  *out = steal_pointer (&env);
  return 0;
}

/* Degraded: the host's /proc shows every process of the host (or pod),
 * and a PID namespace only keeps the script from signalling them.  Mask
 * the directory of each process that exists now (the script's own come
 * later), so that Cargo's command line and the CI job's are not read;
 * a process that exits before the runtime masks it is skipped there. */
static int
mask_host_processes (struct view *l, ohr_error_t *err)
{
  cleanup_strv char **pids = NULL;
  if (procfs_list_pids ("/proc", &pids, err) < 0)
    return -1;
  for (size_t i = 0; pids[i]; i++)
    if (strv_pushf (&l->masked, "/proc/%s", pids[i]) < 0)
      return ohr_error_nomem (err);
  return 0;
}

int
view_build (const struct view_input *in, struct view *out, ohr_error_t *err)
{
  struct view l = { 0 };
  if (build_pairs (in, &l, err) < 0
      || add_system_mounts (in, &l.mounts, err) < 0
      || add_binds (in, &l, err) < 0 || build_env (in, &l, &l.env, err) < 0)
    goto fail;
  if ((in->submounts
       && mounts_bind_submounts (&l.mounts, in->submounts, err) < 0)
      || (in->host_proc && mask_host_processes (&l, err) < 0))
    goto fail;
  mounts_sort (&l.mounts);
  if (strv_push (&l.args, LAYOUT_INIT_PATH) < 0
      || strv_push_owned (&l.args, view_map_value (&l, in->ctx->script)) < 0
      || (l.cwd = view_map_value (&l, in->ctx->cwd)) == NULL)
    goto oom;
  for (size_t i = 0; in->ctx->args && in->ctx->args[i]; i++)
    if (strv_push (&l.args, in->ctx->args[i]) < 0)
      goto oom;
  *out = l;
  return 0;
oom:
  ohr_error_nomem (err);
fail:
  view_clear (&l);
  return -1;
}

void
view_clear (struct view *l)
{
  mounts_free (&l->mounts);
  strv_free (l->env);
  strv_free (l->args);
  strv_free (l->masked);
  free (l->cwd);
  for (size_t i = 0; i < l->n_pairs; i++)
    free_many (l->pairs[i].host, l->pairs[i].container);
  free_many (l->pairs, l->target.host, l->target.container);
  memset (l, 0, sizeof *l);
}
