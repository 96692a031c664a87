/* toolchain.c: see toolchain.h */
#define _GNU_SOURCE
#include "run/toolchain.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/envfilter.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

enum tool_kind
{
  TOOL_TOOLCHAIN, /* part of a toolchain: mount the directory holding bin/ */
  TOOL_PROGRAM,   /* a program of its own: mount it alone, unless it belongs
                     to a Rust toolchain */
};

/* The variables Cargo sets for a build script that name a program (the
 * Cargo book, "Environment variables Cargo sets for build scripts"). */
static const struct
{
  const char *var;
  enum tool_kind kind;
} tools[] = {
  /* RUSTC first: its toolchain is the one mounted at /cargo/toolchain */
  { "RUSTC", TOOL_TOOLCHAIN },
  { "RUSTDOC", TOOL_TOOLCHAIN },
  { "CARGO", TOOL_TOOLCHAIN },
  { "RUSTC_WRAPPER", TOOL_PROGRAM },
  { "RUSTC_WORKSPACE_WRAPPER", TOOL_PROGRAM },
  { "RUSTC_LINKER", TOOL_PROGRAM },
};

#define N_TOOLS (sizeof tools / sizeof *tools)

/* Mounting one of these would hide the image's own system directories. */
static const char *const system_prefixes[]
    = { "/", "/usr", "/usr/local", "/bin", "/opt" };

/* The image's own directories: a program found there is the image's. */
static const char *const image_dirs[]
    = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };

static bool
is_system_prefix (const char *dir)
{
  for (size_t i = 0; i < sizeof system_prefixes / sizeof *system_prefixes; i++)
    if (strcmp (dir, system_prefixes[i]) == 0)
      return true;
  return false;
}

static bool
in_image_dirs (const char *path)
{
  for (size_t i = 0; i < sizeof image_dirs / sizeof *image_dirs; i++)
    if (fs_path_is_under (path, image_dirs[i]))
      return true;
  return false;
}

/* What execvp would run: a regular file we may execute (a directory or a
 * file without x is passed over, and the search goes on). */
static bool
is_executable_file (const char *path)
{
  struct stat st;
  return stat (path, &st) == 0 && S_ISREG (st.st_mode)
         && access (path, X_OK) == 0;
}

/* The real path of the file exec would run for name: a name with a slash
 * is a path (relative ones from the cwd, the package's, as the script's
 * own would be); a bare name is searched in path_var like execvp does, an
 * empty entry meaning the cwd.  NULL when there is none. */
static char *
search_path (const char *name, const char *path_var)
{
  if (strchr (name, '/'))
    return realpath (name, NULL);
  if (path_var == NULL)
    return NULL;
  for (const char *d = path_var;;)
    {
      const char *end = strchrnul (d, ':');
      cleanup_free char *dir
          = end == d ? strdup (".") : strndup (d, (size_t)(end - d));
      cleanup_free char *cand = dir ? fs_path_join (dir, name) : NULL;
      if (cand && is_executable_file (cand))
        return realpath (cand, NULL);
      if (*end == '\0')
        return NULL;
      d = end + 1;
    }
}

/* /x/toolchain/bin/rustc -> /x/toolchain; /x/rustc -> /x */
static char *
root_of (const char *binary)
{
  char *dir = strdup (binary);
  if (dir == NULL)
    return NULL;
  char *slash = strrchr (dir, '/');
  if (slash == NULL || slash == dir)
    return strcpy (dir, "/"), dir;
  *slash = '\0';
  size_t n = strlen (dir);
  if (n > 4 && strcmp (dir + n - 4, "/bin") == 0)
    dir[n - 4] = '\0';
  if (dir[0] == '\0')
    strcpy (dir, "/");
  return dir;
}

/* A Rust toolchain (rustup's, a tarball's): its tools load lib/ beside
 * bin/ (clippy-driver needs librustc_driver), so it is mounted whole. */
static bool
is_rust_toolchain (const char *root)
{
  cleanup_free char *rustlib = fs_path_join (root, "lib/rustlib");
  struct stat st;
  return rustlib && stat (rustlib, &st) == 0 && S_ISDIR (st.st_mode);
}

static bool
is_rustup_proxy (const char *real)
{
  const char *base = strrchr (real, '/');
  base = base ? base + 1 : real;
  return strncmp (base, "rustup", 6) == 0;
}

/* rustup proxies need RUSTUP_HOME and RUSTUP_TOOLCHAIN to find the real
 * binary: resolve it here, so only that toolchain is mounted. */
static char *
resolve_proxy (const char *tool, char *const *env)
{
  const char *home = envfilter_get (env, "RUSTUP_HOME");
  const char *name = envfilter_get (env, "RUSTUP_TOOLCHAIN");
  if (home == NULL || name == NULL || strchr (name, '/'))
    return NULL;
  char *p = NULL;
  if (asprintf (&p, "%s/toolchains/%s/bin/%s", home, name, tool) < 0)
    return NULL;
  char *real = realpath (p, NULL);
  free (p);
  return real;
}

#define NOTE(tc, err, ...)                                                    \
  (strv_pushf (&(tc)->notes, __VA_ARGS__) < 0 ? ohr_error_nomem (err) : 0)

static bool
under_any (char *const *dirs, const char *path)
{
  for (size_t i = 0; dirs && dirs[i]; i++)
    if (fs_path_is_under (path, dirs[i]))
      return true;
  return false;
}

/* A directory to mount; a file mounted alone that it now holds is
 * dropped. */
static int
add_root (struct toolchain *tc, const char *root, ohr_error_t *err)
{
  if (under_any (tc->roots, root))
    return 0;
  if (strv_push (&tc->roots, root) < 0)
    return ohr_error_nomem (err);
  size_t kept = 0;
  for (size_t i = 0; tc->files && tc->files[i]; i++)
    if (fs_path_is_under (tc->files[i], root))
      free (tc->files[i]);
    else
      tc->files[kept++] = tc->files[i];
  if (tc->files)
    tc->files[kept] = NULL;
  if (kept == 0)
    {
      free (tc->files);
      tc->files = NULL;
    }
  return 0;
}

static int
add_file (struct toolchain *tc, const char *file, ohr_error_t *err)
{
  if (under_any (tc->roots, file) || strv_contains (tc->files, file))
    return 0;
  if (strv_push (&tc->files, file) < 0)
    return ohr_error_nomem (err);
  return 0;
}

static int
add_tool (struct toolchain *tc, char *const *env, char *const *host_env,
          const char *var, enum tool_kind kind, ohr_error_t *err)
{
  const char *value = envfilter_get (env, var);
  if (value == NULL || *value == '\0')
    return 0;
  cleanup_free char *real
      = search_path (value, envfilter_get (host_env, "PATH"));
  if (real == NULL)
    return NOTE (tc, err, "%s='%s' not found on the host: not mounted", var,
                 value);
  if (is_rustup_proxy (real))
    {
      const char *base = strrchr (value, '/');
      free (real);
      real = resolve_proxy (base ? base + 1 : value, host_env);
      if (real == NULL)
        return NOTE (tc, err,
                     "%s='%s' is a rustup proxy and RUSTUP_HOME/"
                     "RUSTUP_TOOLCHAIN do not name a toolchain",
                     var, value);
    }
  cleanup_free char *root = root_of (real);
  if (root == NULL)
    return ohr_error_nomem (err);
  bool whole = kind == TOOL_TOOLCHAIN || is_rust_toolchain (root);
  if (whole ? is_system_prefix (root) : in_image_dirs (real))
    {
      /* The image's PATH finds the image's own copy: a bare name stays
       * bare, so an image that has the tool elsewhere still works. */
      if (strcmp (value, real) == 0)
        return NOTE (tc, err,
                     "%s='%s' lives in '%s', which the image provides", var,
                     real, root);
      return NOTE (tc, err,
                   "%s='%s' is '%s' on the host, in '%s', which the image "
                   "provides: left as it is",
                   var, value, real, root);
    }
  if ((whole ? add_root (tc, root, err) : add_file (tc, real, err)) < 0)
    return -1;
  /* a bare or relative name, a proxy, a link: the container runs exactly
   * the file Cargo's exec would have found, at its mounted path (the view
   * maps it to /cargo/... in canonical mode) */
  if (strcmp (value, real) != 0
      && strv_pushf (&tc->rewrites, "%s=%s", var, real) < 0)
    return ohr_error_nomem (err);
  return 0;
}

int
toolchain_find (char *const *env, struct toolchain *out, ohr_error_t *err)
{
  extern char **environ;
  struct toolchain tc = { 0 };
  for (size_t i = 0; i < N_TOOLS; i++)
    if (add_tool (&tc, env, environ, tools[i].var, tools[i].kind, err) < 0)
      {
        toolchain_clear (&tc);
        return -1;
      }
  *out = tc;
  return 0;
}

void
toolchain_clear (struct toolchain *tc)
{
  strv_free (tc->roots);
  strv_free (tc->files);
  strv_free (tc->rewrites);
  strv_free (tc->notes);
  memset (tc, 0, sizeof *tc);
}
