/* toolchain.c: see toolchain.h */
#define _GNU_SOURCE
#include "run/toolchain.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run/envfilter.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

/* Mounting one of these would hide the image's own system directories. */
static const char *const system_prefixes[]
    = { "/", "/usr", "/usr/local", "/bin", "/opt" };

static bool
is_system_prefix (const char *dir)
{
  for (size_t i = 0; i < sizeof system_prefixes / sizeof *system_prefixes; i++)
    if (strcmp (dir, system_prefixes[i]) == 0)
      return true;
  return false;
}

static char *
search_path (const char *name, const char *path_var)
{
  if (strchr (name, '/'))
    return realpath (name, NULL);
  if (path_var == NULL)
    return NULL;
  cleanup_free char *copy = strdup (path_var);
  char *save = NULL;
  for (char *d = strtok_r (copy, ":", &save); d;
       d = strtok_r (NULL, ":", &save))
    {
      cleanup_free char *cand = fs_path_join (d, name);
      if (cand && access (cand, X_OK) == 0)
        return realpath (cand, NULL);
    }
  return NULL;
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

static int
add_tool (struct toolchain *tc, char *const *env, char *const *host_env,
          const char *var, ohr_error_t *err)
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
      if (strv_pushf (&tc->rewrites, "%s=%s", var, real) < 0)
        return ohr_error_nomem (err);
    }
  cleanup_free char *root = root_of (real);
  if (root == NULL)
    return ohr_error_nomem (err);
  if (is_system_prefix (root))
    return NOTE (tc, err, "%s='%s' lives in '%s', which the image provides",
                 var, real, root);
  for (size_t i = 0; tc->roots && tc->roots[i]; i++)
    if (fs_path_is_under (root, tc->roots[i]))
      return 0;
  if (strv_push (&tc->roots, root) < 0)
    return ohr_error_nomem (err);
  return 0;
}

int
toolchain_find (char *const *env, struct toolchain *out, ohr_error_t *err)
{
  extern char **environ;
  static const char *const vars[] = { "RUSTC", "RUSTDOC", "CARGO" };
  struct toolchain tc = { 0 };
  for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
    if (add_tool (&tc, env, environ, vars[i], err) < 0)
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
  strv_free (tc->rewrites);
  strv_free (tc->notes);
  memset (tc, 0, sizeof *tc);
}
