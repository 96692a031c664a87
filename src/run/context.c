/* context.c: see context.h */
#define _GNU_SOURCE
#include "run/context.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "run/envfilter.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

/* The container has its own /proc, /dev and /sys: host paths there cannot
 * be mounted at the same place. */
static const char *const reserved[] = { "/proc", "/dev", "/sys" };

static int
check_path (const char *what, const char *path, ohr_error_t *err)
{
  for (size_t i = 0; i < sizeof reserved / sizeof *reserved; i++)
    if (fs_path_is_under (path, reserved[i]))
      return ohr_error_set (err, EINVAL, OHR_ERR_CONTEXT,
                            "%s '%s' is under %s, which the container "
                            "provides itself",
                            what, path, reserved[i]);
  return 0;
}

static int
absolute (const char *path, const char *cwd, char **out, ohr_error_t *err)
{
  cleanup_free char *joined
      = path[0] == '/' ? strdup (path) : fs_path_join (cwd, path);
  if (joined == NULL)
    return ohr_error_nomem (err);
  char *n = fs_path_normalize (joined);
  if (n == NULL)
    {
      /* ".." in the path: resolve it on the filesystem instead. */
      n = realpath (joined, NULL);
      if (n == NULL)
        return ohr_error_errno (err, errno, OHR_ERR_CONTEXT,
                                "cannot resolve '%s'", joined);
    }
  *out = n;
  return 0;
}

static int
load_dir (char *const *envp, const char *var, const char *cwd, char **out,
          ohr_error_t *err)
{
  const char *v = envfilter_get (envp, var);
  if (v == NULL || *v == '\0')
    return ohr_error_set (err, EINVAL, OHR_ERR_CONTEXT,
                          "%s is not set: oci-host-runner runs build scripts "
                          "for Cargo (host.runner); see --help",
                          var);
  if (absolute (v, cwd, out, err) < 0)
    return ohr_error_wrap (err, "%s", var);
  struct stat st;
  if (stat (*out, &st) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_CONTEXT, "%s '%s'", var, *out);
  if (!S_ISDIR (st.st_mode))
    return ohr_error_set (err, ENOTDIR, OHR_ERR_CONTEXT,
                          "%s '%s' is not a directory", var, *out);
  return check_path (var, *out, err);
}

static int
load_script (const char *arg, const char *cwd, char **out, ohr_error_t *err)
{
  if (absolute (arg, cwd, out, err) < 0)
    {
      if (*err && (*err)->status == ENOENT)
        (*err)->kind = OHR_ERR_NOTFOUND;
      return ohr_error_wrap (err, "build script");
    }
  struct stat st;
  if (stat (*out, &st) < 0)
    return ohr_error_errno (
        err, errno, errno == ENOENT ? OHR_ERR_NOTFOUND : OHR_ERR_NOEXEC,
        "build script '%s'", *out);
  if (!S_ISREG (st.st_mode))
    return ohr_error_set (err, EACCES, OHR_ERR_NOEXEC,
                          "build script '%s' is not a regular file", *out);
  if (access (*out, X_OK) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_NOEXEC,
                            "build script '%s' is not executable", *out);
  return check_path ("build script", *out, err);
}

/* The component of path that ends at byte end (a slash or the end):
 * where it starts, or -1 when end is the root (no component left). */
static ssize_t
component_start (const char *path, size_t end)
{
  const char *slash = end ? memrchr (path, '/', end) : NULL;
  return slash ? slash - path + 1 : -1;
}

static bool
component_is (const char *path, ssize_t start, size_t end, const char *name)
{
  return start >= 0 && end - (size_t)start == strlen (name)
         && memcmp (path + start, name, end - (size_t)start) == 0;
}

int
context_cargo_dirs (const char *out_dir, const char *target,
                    char **out_build_dir, char **out_target_dir,
                    ohr_error_t *err)
{
  /* end[k]: where the path ends with its last k components dropped (the
   * slash before them); start[k]: where component k from the end starts */
  size_t end[6] = { strlen (out_dir) };
  ssize_t start[5];
  size_t n = 0;
  while (n < 5 && (start[n] = component_start (out_dir, end[n])) > 1)
    {
      end[n + 1] = (size_t)start[n] - 1;
      n++;
    }
  *out_build_dir = *out_target_dir = NULL;
  /* out, <pkg>-<hash>, build, <profile>, and a target dir that is not / */
  if (n < 4 || !component_is (out_dir, start[0], end[0], "out")
      || !component_is (out_dir, start[2], end[2], "build"))
    return 0;
  size_t target_end = end[4];
  if (n == 5 && target && *target
      && component_is (out_dir, start[4], end[4], target))
    target_end = end[5];
  char *b = strndup (out_dir, end[2]);
  char *t = strndup (out_dir, target_end);
  if (b == NULL || t == NULL)
    {
      free_many (b, t);
      return ohr_error_nomem (err);
    }
  *out_build_dir = b;
  *out_target_dir = t;
  return 0;
}

int
context_dependency_dirs (const char *build_dir, char *const *envp, char ***out,
                         ohr_error_t *err)
{
  cleanup_strv char **found = NULL;
  for (size_t i = 0; build_dir && envp && envp[i]; i++)
    {
      const char *e = envp[i], *eq = strchr (e, '=');
      if (strncmp (e, "DEP_", 4) != 0 || eq == NULL || eq[1] != '/')
        continue;
      cleanup_free char *value = fs_path_normalize (eq + 1);
      if (value == NULL || !fs_path_is_under (value, build_dir)
          || strcmp (value, build_dir) == 0)
        continue;
      /* <pkg>-<hash>/out: the first two components below the build dir */
      const char *rel = value + strlen (build_dir) + 1;
      size_t n = strcspn (rel, "/");
      if (rel[n] == '/')
        n += 1 + strcspn (rel + n + 1, "/");
      cleanup_free char *host = NULL;
      if (asprintf (&host, "%s/%.*s", build_dir, (int)n, rel) < 0)
        return ohr_error_nomem (err);
      if (strv_contains (found, host) || !fs_is_dir (host))
        continue;
      if (strv_push (&found, host) < 0)
        return ohr_error_nomem (err);
    }
  /* an empty list, not NULL: nothing of the build directory is seen */
  if (found == NULL && (found = calloc (1, sizeof *found)) == NULL)
    return ohr_error_nomem (err);
  *out = steal_pointer (&found);
  return 0;
}

static int
load_package (char *const *envp, struct run_context *ctx, ohr_error_t *err)
{
  const char *name = envfilter_get (envp, "CARGO_PKG_NAME");
  const char *ver = envfilter_get (envp, "CARGO_PKG_VERSION");
  int r = asprintf (&ctx->package, "%s%s%s", name ? name : "(unknown package)",
                    ver ? " " : "", ver ? ver : "");
  return r < 0 ? ohr_error_nomem (err) : 0;
}

static bool
same_file (const char *a, const char *b)
{
  struct stat sa, sb;
  return stat (a, &sa) == 0 && stat (b, &sb) == 0 && sa.st_dev == sb.st_dev
         && sa.st_ino == sb.st_ino;
}

int
context_load (char *const *command, char *const *envp, struct run_context *out,
              ohr_error_t *err)
{
  struct run_context ctx = { 0 };
  if (command == NULL || command[0] == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "no build script given: usage: oci-host-runner "
                          "[OPTIONS] SCRIPT [ARGS...] (see --help)");
  ctx.cwd = getcwd (NULL, 0);
  if (ctx.cwd == NULL)
    return ohr_error_errno (err, errno, OHR_ERR_CONTEXT,
                            "cannot determine the current directory");
  if (load_script (command[0], ctx.cwd, &ctx.script, err) < 0
      || load_dir (envp, "OUT_DIR", ctx.cwd, &ctx.out_dir, err) < 0
      || load_dir (envp, "CARGO_MANIFEST_DIR", ctx.cwd, &ctx.manifest_dir, err)
             < 0
      || load_package (envp, &ctx, err) < 0)
    goto fail;
  if (same_file (ctx.cwd, ctx.manifest_dir))
    {
      /* getcwd() resolves symlinks; keep the path Cargo uses. */
      free (ctx.cwd);
      if ((ctx.cwd = strdup (ctx.manifest_dir)) == NULL)
        {
          ohr_error_nomem (err);
          goto fail;
        }
    }
  if (!fs_path_is_under (ctx.cwd, ctx.manifest_dir)
      && !fs_path_is_under (ctx.cwd, ctx.out_dir))
    {
      ohr_error_set (err, EINVAL, OHR_ERR_CONTEXT,
                     "the current directory '%s' is outside "
                     "CARGO_MANIFEST_DIR '%s': Cargo runs build scripts from "
                     "the package root",
                     ctx.cwd, ctx.manifest_dir);
      goto fail;
    }
  for (size_t i = 1; command[i]; i++)
    if (strv_push (&ctx.args, command[i]) < 0)
      {
        ohr_error_nomem (err);
        goto fail;
      }
  if (context_cargo_dirs (ctx.out_dir, envfilter_get (envp, "TARGET"),
                          &ctx.build_dir, &ctx.target_dir, err)
      < 0)
    goto fail;
  *out = ctx;
  return 0;
fail:
  context_clear (&ctx);
  return -1;
}

void
context_clear (struct run_context *ctx)
{
  free_many (ctx->script, ctx->out_dir, ctx->manifest_dir, ctx->build_dir,
             ctx->target_dir, ctx->cwd, ctx->package);
  strv_free (ctx->args);
  memset (ctx, 0, sizeof *ctx);
}
