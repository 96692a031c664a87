/* envfilter.c: see envfilter.h */
#define _GNU_SOURCE
#include "run/envfilter.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>

#include "util/cleanup.h"
#include "util/strv.h"

/* Set by Cargo for build scripts (the Cargo book, "Environment variables
 * Cargo sets for build scripts") or read by them from Cargo's env. */
static const char *const exact_names[] = {
  "OUT_DIR",
  "TARGET",
  "HOST",
  "NUM_JOBS",
  "OPT_LEVEL",
  "DEBUG",
  "PROFILE",
  "CARGO",
  "CARGO_MANIFEST_DIR",
  "CARGO_MANIFEST_PATH",
  "CARGO_MANIFEST_LINKS",
  "CARGO_MAKEFLAGS",
  "CARGO_ENCODED_RUSTFLAGS",
  "CARGO_PRIMARY_PACKAGE",
  "CARGO_CRATE_NAME",
  "CARGO_TARGET_TMPDIR",
  "CARGO_RUSTC_CURRENT_DIR",
  "RUSTDOC",
  "LD_LIBRARY_PATH",
  "SOURCE_DATE_EPOCH",
  /* build-tool conventions read by the cc and pkg-config crates */
  "CC",
  "CXX",
  "AR",
  "RANLIB",
  "CFLAGS",
  "CXXFLAGS",
  "CPPFLAGS",
  "LDFLAGS",
  "ARFLAGS",
  "CRATE_CC_NO_DEFAULTS",
  "CC_ENABLE_DEBUG_OUTPUT",
  "CC_SHELL_ESCAPED_FLAGS",
  "PKG_CONFIG",
  "PKG_CONFIG_PATH",
  "PKG_CONFIG_LIBDIR",
  "PKG_CONFIG_SYSROOT_DIR",
  "PKG_CONFIG_ALLOW_CROSS",
  "PKG_CONFIG_ALL_STATIC",
  "PKG_CONFIG_ALL_DYNAMIC",
  /* the locale: compilers a script runs word their messages by it, and
   * cargo:warning lines carry them (gcc's quotes are ‘’ under C.UTF-8) */
  "LANG",
  "LANGUAGE",
  "LC_ALL",
};

/* Prefixes Cargo uses for families of variables, and the target-specific
 * spellings of the build-tool variables (CC_x86_64-unknown-linux-gnu ...). */
static const char *const prefixes[] = {
  "CARGO_PKG_", "CARGO_CFG_", "CARGO_FEATURE_", "DEP_",      "RUSTC",
  "RUSTDOC_",   "HOST_",      "TARGET_",        "CC_",       "CXX_",
  "AR_",        "RANLIB_",    "CFLAGS_",        "CXXFLAGS_", "CPPFLAGS_",
  "LDFLAGS_",   "ARFLAGS_",   "PKG_CONFIG_",    "LC_",
};

static const char *const secret_words[] = {
  "TOKEN",      "SECRET",      "PASSWORD", "PASSWD",
  "CREDENTIAL", "PRIVATE_KEY", "API_KEY",  "ACCESS_KEY",
};

static bool
has_prefix (const char *s, const char *p)
{
  return strncmp (s, p, strlen (p)) == 0;
}

bool
envfilter_looks_secret (const char *name)
{
  for (size_t i = 0; i < sizeof secret_words / sizeof *secret_words; i++)
    if (strstr (name, secret_words[i]) != NULL)
      return true;
  return false;
}

bool
envfilter_allowed (const char *name)
{
  if (envfilter_looks_secret (name))
    return false;
  for (size_t i = 0; i < sizeof exact_names / sizeof *exact_names; i++)
    if (strcmp (name, exact_names[i]) == 0)
      return true;
  for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++)
    if (has_prefix (name, prefixes[i]))
      return true;
  return false;
}

static size_t
name_len (const char *entry)
{
  const char *eq = strchr (entry, '=');
  return eq ? (size_t)(eq - entry) : strlen (entry);
}

static bool
valid_name (const char *name, size_t n)
{
  if (n == 0)
    return false;
  for (size_t i = 0; i < n; i++)
    if (name[i] == '\0' || name[i] == '=')
      return false;
  return true;
}

static ssize_t
find_entry (char *const *env, const char *name, size_t n)
{
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], name, n) == 0 && env[i][n] == '=')
      return (ssize_t)i;
  return -1;
}

const char *
envfilter_get (char *const *env, const char *name)
{
  ssize_t i = find_entry (env, name, strlen (name));
  return i < 0 ? NULL : env[i] + strlen (name) + 1;
}

static int
set_entry (char ***env, char *entry, ohr_error_t *err)
{
  if (entry == NULL)
    return ohr_error_nomem (err);
  size_t n = name_len (entry);
  ssize_t i = find_entry (*env, entry, n);
  if (i >= 0)
    {
      free ((*env)[i]);
      (*env)[i] = entry;
      return 0;
    }
  if (strv_push_owned (env, entry) < 0)
    return ohr_error_nomem (err);
  return 0;
}

int
envfilter_set (char ***env, const char *name, const char *value,
               ohr_error_t *err)
{
  char *entry = NULL;
  if (asprintf (&entry, "%s=%s", name, value) < 0)
    return ohr_error_nomem (err);
  return set_entry (env, entry, err);
}

static int
add_extra (char ***env, char *const *envp, const char *extra, ohr_error_t *err)
{
  size_t n = name_len (extra);
  if (!valid_name (extra, n))
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "invalid environment variable '%s'", extra);
  if (extra[n] == '=')
    return set_entry (env, strdup (extra), err);
  ssize_t i = find_entry (envp, extra, n);
  if (i < 0)
    return 0; /* named but unset on the host: nothing to pass */
  return set_entry (env, strdup (envp[i]), err);
}

static int
compare_entries (const void *a, const void *b)
{
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  size_t nx = name_len (x), ny = name_len (y);
  int c = strncmp (x, y, nx < ny ? nx : ny);
  return c != 0 ? c : (nx < ny ? -1 : nx > ny);
}

void
envfilter_sort (char **env)
{
  qsort (env, strv_len (env), sizeof (char *), compare_entries);
}

/* NAME for a message: bytes outside printable ASCII as \xNN (a name that
 * is not UTF-8 must not garble the terminal). */
static char *
printable_name (const char *entry)
{
  size_t n = name_len (entry);
  char *s = malloc (4 * n + 1), *p = s;
  if (s == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    {
      unsigned char c = (unsigned char)entry[i];
      if (c >= 0x20 && c < 0x7f)
        *p++ = (char)c;
      else
        p += sprintf (p, "\\x%02x", c);
    }
  *p = '\0';
  return s;
}

/* The spec is JSON, which carries only UTF-8: check each entry with the
 * validator the spec generator uses (yajl's), so that the error names the
 * variable instead of "a value is not valid UTF-8".  The value is never
 * printed: it may be a secret the user passed on purpose. */
static int
check_utf8 (char *const *env, ohr_error_t *err)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return ohr_error_nomem (err);
  yajl_gen_config (g, yajl_gen_validate_utf8, 1);
  const char *bad = NULL;
  for (size_t i = 0; bad == NULL && env && env[i]; i++)
    {
      yajl_gen_reset (g, NULL);
      yajl_gen_clear (g);
      if (yajl_gen_string (g, (const unsigned char *)env[i], strlen (env[i]))
          == yajl_gen_invalid_string)
        bad = env[i];
    }
  yajl_gen_free (g);
  if (bad == NULL)
    return 0;
  cleanup_free char *name = printable_name (bad);
  return ohr_error_set (err, EILSEQ, OHR_ERR_USAGE,
                        "environment variable '%s' is not valid UTF-8, which "
                        "an OCI spec cannot carry: fix it, or unset it",
                        name ? name : "?");
}

int
envfilter_build (char *const *envp, char *const *extra, char ***out,
                 ohr_error_t *err)
{
  cleanup_strv char **env = NULL;
  for (size_t i = 0; envp && envp[i]; i++)
    {
      size_t n = name_len (envp[i]);
      if (envp[i][n] != '=' || n >= 256)
        continue;
      char name[256];
      memcpy (name, envp[i], n);
      name[n] = '\0';
      if (envfilter_allowed (name)
          && set_entry (&env, strdup (envp[i]), err) < 0)
        return -1;
    }
  for (size_t i = 0; extra && extra[i]; i++)
    if (add_extra (&env, envp, extra[i], err) < 0)
      return -1;
  if (env == NULL && (env = calloc (1, sizeof (char *))) == NULL)
    return ohr_error_nomem (err);
  envfilter_sort (env);
  if (check_utf8 (env, err) < 0)
    return -1;
  *out = steal_pointer (&env);
  return 0;
}
