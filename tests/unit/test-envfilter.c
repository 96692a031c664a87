/* test-envfilter.c: the environment allowlist and envfilter_build. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "run/envfilter.h"
#include "util/error.h"
#include "util/strv.h"

static void
test_allowed_names (void **state)
{
  static const char *const allowed[] = {
    "OUT_DIR",
    "CARGO_PKG_NAME",
    "CARGO_CFG_TARGET_OS",
    "CARGO_FEATURE_X",
    "DEP_Z_INCLUDE",
    "RUSTC",
    "RUSTC_BOOTSTRAP",
    "CC",
    "CFLAGS_x86_64-unknown-linux-gnu",
    "PKG_CONFIG_PATH",
    /* the prefixes pass whole families, not only the cc crate's names */
    "HOST_CC",
    "HOST_ANYTHING",
    "TARGET_AR",
    "TARGET_ANYTHING",
    "CC_x86_64-unknown-linux-gnu",
    "CC_ANYTHING",
    "RUSTC_WRAPPER",
    "RUSTDOC_FLAGS",
    /* contains "AUTH" but is no secret: Cargo sets it for every package */
    "CARGO_PKG_AUTHORS",
    /* the locale (compilers' messages, in cargo:warning lines) */
    "LANG",
    "LC_ALL",
    "LC_MESSAGES",
  };
  for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
    {
      if (!envfilter_allowed (allowed[i]))
        fail_msg ("'%s' should be allowed", allowed[i]);
    }
  assert_false (envfilter_looks_secret ("CARGO_PKG_AUTHORS"));
}

static void
test_denied_names (void **state)
{
  static const char *const denied[] = {
    "HOME",
    "SSH_AUTH_SOCK",
    "AWS_SECRET_ACCESS_KEY",
    "CARGO_REGISTRY_TOKEN",
    "CARGO_HOME",
    "GITHUB_TOKEN",
    "http_proxy",
    "PATH",
    "",
  };
  for (size_t i = 0; i < sizeof denied / sizeof *denied; i++)
    {
      if (envfilter_allowed (denied[i]))
        fail_msg ("'%s' should be denied", denied[i]);
    }
}

static void
test_secret_names (void **state)
{
  assert_true (envfilter_looks_secret ("CARGO_REGISTRY_TOKEN"));
  assert_true (envfilter_looks_secret ("AWS_SECRET_ACCESS_KEY"));
  assert_true (envfilter_looks_secret ("DB_PASSWORD"));
  assert_false (envfilter_looks_secret ("OUT_DIR"));
  /* a pattern (DEP_*) would allow it, the secret check wins */
  assert_false (envfilter_allowed ("DEP_FOO_TOKEN"));
}

static char **
build_ok (char *const *envp, char *const *extra)
{
  ohr_error_t err = NULL;
  char **out = NULL;
  int r = envfilter_build (envp, extra, &out, &err);
  if (r < 0)
    {
      char *msg = err ? strdup (err->msg) : NULL;
      ohr_error_free (&err);
      fail_msg ("envfilter_build failed: %s", msg ? msg : "(no message)");
    }
  assert_null (err);
  assert_non_null (out);
  return out;
}

static void
test_build_sorted_and_filtered (void **state)
{
  char *envp[] = {
    "RUSTC=/usr/bin/rustc",
    "HOME=/root",
    "OUT_DIR=/t/out",
    "GITHUB_TOKEN=ghp_x",
    "CARGO_PKG_NAME=foo",
    "SSH_AUTH_SOCK=/run/ssh",
    "CC=gcc",
    "CARGO_FEATURE_STD=1",
    "http_proxy=http://proxy:3128",
    "CARGO_PKG_AUTHORS=A <a@example.org>",
    "NOEQUALS",
    NULL,
  };
  char **out = build_ok (envp, NULL);
  static const char *const want[] = {
    "CARGO_FEATURE_STD=1", "CARGO_PKG_AUTHORS=A <a@example.org>",
    "CARGO_PKG_NAME=foo",  "CC=gcc",
    "OUT_DIR=/t/out",      "RUSTC=/usr/bin/rustc",
  };
  size_t n = sizeof want / sizeof *want;
  assert_int_equal (strv_len (out), n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal (out[i], want[i]);
  assert_null (out[n]);
  strv_free (out);
}

static void
test_build_sort_by_name_not_entry (void **state)
{
  /* Compared as whole entries, "DEP_A0=..." would sort before "DEP_A=..."
   * ('0' < '='); sorted by name, DEP_A comes first. */
  char *envp[] = { "DEP_A0=2", "DEP_A=1", "CARGO=/bin/cargo", NULL };
  char **out = build_ok (envp, NULL);
  assert_int_equal (strv_len (out), 3);
  assert_string_equal (out[0], "CARGO=/bin/cargo");
  assert_string_equal (out[1], "DEP_A=1");
  assert_string_equal (out[2], "DEP_A0=2");
  strv_free (out);
}

static void
test_build_empty (void **state)
{
  char *envp[] = { "HOME=/root", NULL };
  char **out = build_ok (envp, NULL);
  assert_int_equal (strv_len (out), 0);
  strv_free (out);

  out = build_ok (NULL, NULL);
  assert_int_equal (strv_len (out), 0);
  strv_free (out);
}

static void
test_build_extras (void **state)
{
  char *envp[] = {
    "OUT_DIR=/t/out", "MY_TOOL=/opt/tool", "CC=gcc", "HOME=/root", NULL,
  };
  char *extra[] = {
    "MY_TOOL",          /* copied from the host */
    "NOT_SET_ANYWHERE", /* unset on the host: ignored */
    "CC=clang",         /* overrides the host value */
    "ZED=1",            /* new */
    NULL,
  };
  char **out = build_ok (envp, extra);
  assert_int_equal (strv_len (out), 4);
  assert_string_equal (out[0], "CC=clang");
  assert_string_equal (out[1], "MY_TOOL=/opt/tool");
  assert_string_equal (out[2], "OUT_DIR=/t/out");
  assert_string_equal (out[3], "ZED=1");
  assert_null (envfilter_get (out, "NOT_SET_ANYWHERE"));
  assert_null (envfilter_get (out, "HOME"));
  strv_free (out);
}

static void
test_build_extra_names_secret (void **state)
{
  /* A user who names a secret gets it: that is the explicit escape hatch. */
  char *envp[] = { "CARGO_REGISTRY_TOKEN=t0k", NULL };
  char *extra[] = { "CARGO_REGISTRY_TOKEN", NULL };
  char **out = build_ok (envp, NULL);
  assert_null (envfilter_get (out, "CARGO_REGISTRY_TOKEN"));
  strv_free (out);
  out = build_ok (envp, extra);
  assert_string_equal (envfilter_get (out, "CARGO_REGISTRY_TOKEN"), "t0k");
  strv_free (out);
}

static void
check_invalid_extra (const char *bad)
{
  char *envp[] = { "OUT_DIR=/t/out", NULL };
  char *extra[] = { (char *)bad, NULL };
  ohr_error_t err = NULL;
  char **out = NULL;
  int r = envfilter_build (envp, extra, &out, &err);
  assert_true (r < 0);
  assert_null (out);
  assert_non_null (err);
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  assert_int_equal (err->status, EINVAL);
  assert_non_null (strstr (err->msg, "invalid environment variable"));
  ohr_error_free (&err);
}

static void
test_build_invalid_extra (void **state)
{
  check_invalid_extra ("=x");
  check_invalid_extra ("");
}

/* A value the JSON spec cannot carry: the error names the variable and
 * never prints the value. */
static void
expect_utf8_error (char **envp, char **extra, const char *name,
                   const char *secret)
{
  char **env = NULL;
  ohr_error_t err = NULL;
  assert_true (envfilter_build (envp, extra, &env, &err) < 0);
  assert_null (env);
  assert_non_null (err);
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  if (strstr (err->msg, name) == NULL || strstr (err->msg, "UTF-8") == NULL)
    fail_msg ("'%s' does not name '%s' and UTF-8", err->msg, name);
  if (secret && strstr (err->msg, secret))
    fail_msg ("'%s' shows the value '%s'", err->msg, secret);
  ohr_error_free (&err);
}

static void
test_build_not_utf8 (void **state)
{
  char *latin1[]
      = { "OUT_DIR=/o", "CARGO_PKG_DESCRIPTION=caf\xe9 s3cr", NULL };
  expect_utf8_error (latin1, NULL, "'CARGO_PKG_DESCRIPTION'", "s3cr");
  char *env_ok[] = { "OUT_DIR=/o", NULL };
  char *extra[] = { "MY_API_KEY=hunter2\xff", NULL };
  expect_utf8_error (env_ok, extra, "'MY_API_KEY'", "hunter2");
  /* a name that is not UTF-8 is shown escaped */
  char *bad_name[] = { "CARGO_PKG_\xff=1", NULL };
  expect_utf8_error (bad_name, NULL, "'CARGO_PKG_\\xff'", NULL);

  /* what is dropped is not checked; valid UTF-8 passes */
  char *dropped[] = { "GITHUB_TOKEN=\xff\xfe", "EDITOR=\xff",
                      "CARGO_PKG_AUTHORS=J\xc3\xb6rg", NULL };
  char **env = NULL;
  ohr_error_t err = NULL;
  assert_int_equal (envfilter_build (dropped, NULL, &env, &err), 0);
  assert_null (err);
  assert_int_equal (strv_len (env), 1);
  assert_string_equal (env[0], "CARGO_PKG_AUTHORS=J\xc3\xb6rg");
  strv_free (env);
}

static void
test_set_replaces (void **state)
{
  char *envp[] = { "CC=gcc", "OUT_DIR=/t/out", NULL };
  char **env = build_ok (envp, NULL);
  ohr_error_t err = NULL;

  assert_int_equal (envfilter_set (&env, "CC", "clang", &err), 0);
  assert_null (err);
  assert_int_equal (strv_len (env), 2);
  assert_string_equal (envfilter_get (env, "CC"), "clang");
  assert_string_equal (env[0], "CC=clang");

  assert_int_equal (envfilter_set (&env, "NEW", "v=w", &err), 0);
  assert_int_equal (strv_len (env), 3);
  assert_string_equal (envfilter_get (env, "NEW"), "v=w");
  assert_string_equal (envfilter_get (env, "OUT_DIR"), "/t/out");
  strv_free (env);

  /* on an empty vector too */
  char **fresh = NULL;
  assert_int_equal (envfilter_set (&fresh, "A", "", &err), 0);
  assert_int_equal (strv_len (fresh), 1);
  assert_string_equal (fresh[0], "A=");
  strv_free (fresh);
}

static void
test_get (void **state)
{
  char *env[] = { "CC=gcc", "CCX=no", "EMPTY=", "ODD", NULL };
  assert_string_equal (envfilter_get (env, "CC"), "gcc");
  assert_string_equal (envfilter_get (env, "CCX"), "no");
  assert_string_equal (envfilter_get (env, "EMPTY"), "");
  /* a prefix of a name is not the name */
  assert_null (envfilter_get (env, "C"));
  /* an entry without '=' has no value */
  assert_null (envfilter_get (env, "ODD"));
  assert_null (envfilter_get (env, "MISSING"));
  assert_null (envfilter_get (NULL, "CC"));
}

static void
test_sort (void **state)
{
  char **env = NULL;
  ohr_error_t err = NULL;
  assert_int_equal (envfilter_set (&env, "PATH", "/usr/bin", &err), 0);
  assert_int_equal (envfilter_set (&env, "DEP_A0", "2", &err), 0);
  assert_int_equal (envfilter_set (&env, "HOME", "/tmp/home", &err), 0);
  assert_int_equal (envfilter_set (&env, "DEP_A", "1", &err), 0);
  envfilter_sort (env);
  assert_int_equal (strv_len (env), 4);
  assert_string_equal (env[0], "DEP_A=1");
  assert_string_equal (env[1], "DEP_A0=2");
  assert_string_equal (env[2], "HOME=/tmp/home");
  assert_string_equal (env[3], "PATH=/usr/bin");
  strv_free (env);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_allowed_names),
    cmocka_unit_test (test_denied_names),
    cmocka_unit_test (test_secret_names),
    cmocka_unit_test (test_build_sorted_and_filtered),
    cmocka_unit_test (test_build_sort_by_name_not_entry),
    cmocka_unit_test (test_build_empty),
    cmocka_unit_test (test_build_extras),
    cmocka_unit_test (test_build_extra_names_secret),
    cmocka_unit_test (test_build_invalid_extra),
    cmocka_unit_test (test_build_not_utf8),
    cmocka_unit_test (test_set_replaces),
    cmocka_unit_test (test_get),
    cmocka_unit_test (test_sort),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
