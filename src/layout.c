/* layout.c: see layout.h */
#define _GNU_SOURCE
#include "layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envfilter.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#define ADD(t, dest, type, src, ...)                                          \
  mounts_add (t, dest, type, src, (const char *const[]){ __VA_ARGS__, NULL }, \
              err)

/* runc's default /proc, /dev, /sys set, plus private /tmp and HOME. */
static int
add_system_mounts (const struct layout_input *in, struct mount_table *t,
                   ohr_error_t *err)
{
  bool own_sysfs = !in->rootless || in->network == NETWORK_NONE;
  if (mounts_add (t, "/proc", "proc", "proc", NULL, err) < 0
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
      /* A rootless user may mount sysfs only in a network namespace it
       * owns; otherwise bind the host's, read-only. */
      || (own_sysfs ? ADD (t, "/sys", "sysfs", "sysfs", "nosuid", "noexec",
                           "nodev", "ro")
                    : ADD (t, "/sys", "bind", "/sys", "rbind", "nosuid",
                           "noexec", "nodev", "ro"))
             < 0
      || ADD (t, "/tmp", "tmpfs", "tmpfs", "nosuid", "nodev", "mode=1777") < 0
      || ADD (t, LAYOUT_HOME, "tmpfs", "tmpfs", "nosuid", "nodev", "mode=700")
             < 0)
    return -1;
  return 0;
}

static int
add_binds (const struct layout_input *in, struct mount_table *t,
           ohr_error_t *err)
{
  const struct run_context *ctx = in->ctx;
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
  for (size_t i = 0; in->toolchain->roots && in->toolchain->roots[i]; i++)
    if (mounts_add_bind (t, in->toolchain->roots[i], in->toolchain->roots[i],
                         false, false, err)
        < 0)
      return -1;
  /* Every build script's output, read-only: DEP_*_INCLUDE and friends
   * point into dependencies' OUT_DIRs.  The script itself lives there too. */
  if (ctx->build_dir
      && mounts_add_bind (t, ctx->build_dir, ctx->build_dir, false, false, err)
             < 0)
    return -1;
  if ((ctx->build_dir == NULL
       || !fs_path_is_under (ctx->script, ctx->build_dir))
      && mounts_add_bind (t, ctx->script, ctx->script, false, false, err) < 0)
    return -1;
  if (mounts_add_bind (t, ctx->manifest_dir, ctx->manifest_dir, false, false,
                       err)
          < 0
      || mounts_add_bind (t, ctx->out_dir, ctx->out_dir, true, false, err) < 0)
    return -1;
  if (in->jobserver->fifo
      && mounts_add_bind (t, in->jobserver->fifo, in->jobserver->fifo, true,
                          false, err)
             < 0)
    return -1;
  return 0;
}

/* PATH: the toolchain's bin first (scripts that call plain `rustc`), then
 * the image's. */
static int
set_path (const struct layout_input *in, char ***env, ohr_error_t *err)
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
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "environment");
  return envfilter_set (env, "PATH", path, err);
}

static int
build_env (const struct layout_input *in, char ***out, ohr_error_t *err)
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
  if (set_path (in, &env, err) < 0
      || envfilter_set (&env, "HOME", LAYOUT_HOME, err) < 0)
    return -1;
  envfilter_sort (env);
  *out = steal_pointer (&env);
  return 0;
}

int
layout_build (const struct layout_input *in, struct layout *out,
              ohr_error_t *err)
{
  struct layout l = { 0 };
  if (add_system_mounts (in, &l.mounts, err) < 0
      || add_binds (in, &l.mounts, err) < 0 || build_env (in, &l.env, err) < 0)
    goto fail;
  mounts_sort (&l.mounts);
  if (strv_push (&l.args, LAYOUT_INIT_PATH) < 0
      || strv_push (&l.args, in->ctx->script) < 0)
    goto oom;
  for (size_t i = 0; in->ctx->args && in->ctx->args[i]; i++)
    if (strv_push (&l.args, in->ctx->args[i]) < 0)
      goto oom;
  *out = l;
  return 0;
oom:
  ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "layout");
fail:
  layout_clear (&l);
  return -1;
}

void
layout_clear (struct layout *l)
{
  mounts_free (&l->mounts);
  strv_free (l->env);
  strv_free (l->args);
  memset (l, 0, sizeof *l);
}
