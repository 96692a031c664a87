/* test-options.c: run-mode options from argv, OCI_HOST_RUNNER_* and
 * defaults. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "options.h"
#include "util/error.h"
#include "util/strv.h"

static int
argc_of (char **argv)
{
  return (int)strv_len (argv);
}

static void
parse_ok (char **argv, char **envp, struct run_options *o)
{
  ohr_error_t err = NULL;
  int r = options_parse (argc_of (argv), argv, envp, o, &err);
  if (r < 0)
    fail_msg ("options_parse failed: %s", err ? err->msg : "(no error)");
  assert_null (err);
}

/* Parse must fail with OHR_ERR_USAGE and a message containing each of
 * the given words. */
static void
parse_fails (char **argv, char **envp, const char *word1, const char *word2)
{
  ohr_error_t err = NULL;
  struct run_options o;
  memset (&o, 0, sizeof o);
  int r = options_parse (argc_of (argv), argv, envp, &o, &err);
  assert_true (r < 0);
  assert_non_null (err);
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  if (word1 && strstr (err->msg, word1) == NULL)
    fail_msg ("error '%s' does not name '%s'", err->msg, word1);
  if (word2 && strstr (err->msg, word2) == NULL)
    fail_msg ("error '%s' does not name '%s'", err->msg, word2);
  /* out is set only on success */
  assert_null (o.image);
  assert_null (o.command);
  ohr_error_free (&err);
}

static void
assert_strv_equal (char **got, const char *const *want)
{
  size_t n = 0;
  while (want[n])
    n++;
  assert_int_equal (strv_len (got), n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal (got[i], want[i]);
}

static int
is_tmpfs (const char *path)
{
  struct statfs sfs;
  return statfs (path, &sfs) == 0 && sfs.f_type == 0x01021994;
}

/* Root's state lives on a tmpfs: /run when it is one, else /dev/shm (the
 * tests may also run rootless: then it depends on XDG_RUNTIME_DIR). */
static const char *
expected_state_dir (void)
{
  if (geteuid () != 0)
    return NULL;
  if (is_tmpfs ("/run") || !is_tmpfs ("/dev/shm"))
    return "/run/oci-host-runner";
  return "/dev/shm/oci-host-runner-0";
}

static void
test_defaults (void **state)
{
  char *argv[] = { "oci-host-runner", "/t/build-script-build", NULL };
  char *envp[] = { "HOME=/home/u", "PATH=/bin", NULL };
  struct run_options o;
  parse_ok (argv, envp, &o);
  assert_string_equal (o.image, "host");
  assert_string_equal (o.runtime, "auto");
  assert_int_equal (o.network, NETWORK_NONE);
  assert_null (o.env);
  assert_false (o.keep_bundle);
  assert_false (o.verbose);
  assert_false (o.help);
  assert_false (o.version);
  assert_string_equal (o.cache_dir, "/home/u/.cache/oci-host-runner");
  assert_non_null (o.state_dir);
  if (expected_state_dir ())
    assert_string_equal (o.state_dir, expected_state_dir ());
  static const char *const cmd[] = { "/t/build-script-build", NULL };
  assert_strv_equal (o.command, cmd);
  options_clear (&o);
  assert_null (o.image);
}

static void
test_no_command (void **state)
{
  char *argv[] = { "oci-host-runner", NULL };
  char *envp[] = { "HOME=/home/u", NULL };
  struct run_options o;
  parse_ok (argv, envp, &o);
  assert_null (o.command);
  options_clear (&o);
}

static void
test_env_vars (void **state)
{
  char *argv[] = { "oci-host-runner", "script", NULL };
  char *envp[] = {
    "HOME=/home/u",
    "OCI_HOST_RUNNER_IMAGE=registry.example/img@sha256:00",
    "OCI_HOST_RUNNER_RUNTIME=runc",
    "OCI_HOST_RUNNER_NETWORK=host",
    "OCI_HOST_RUNNER_CACHE_DIR=/var/cache/c",
    "OCI_HOST_RUNNER_STATE_DIR=/run/s",
    "OCI_HOST_RUNNER_KEEP_BUNDLE=1",
    "OCI_HOST_RUNNER_VERBOSE=yes",
    NULL,
  };
  struct run_options o;
  parse_ok (argv, envp, &o);
  assert_string_equal (o.image, "registry.example/img@sha256:00");
  assert_string_equal (o.runtime, "runc");
  assert_int_equal (o.network, NETWORK_HOST);
  assert_string_equal (o.cache_dir, "/var/cache/c");
  assert_string_equal (o.state_dir, "/run/s");
  assert_true (o.keep_bundle);
  assert_true (o.verbose);
  options_clear (&o);
}

static void
test_empty_env_vars_ignored (void **state)
{
  char *argv[] = { "oci-host-runner", "script", NULL };
  char *envp[]
      = { "HOME=/home/u", "OCI_HOST_RUNNER_IMAGE=", "OCI_HOST_RUNNER_NETWORK=",
          "OCI_HOST_RUNNER_VERBOSE=0", NULL };
  struct run_options o;
  parse_ok (argv, envp, &o);
  assert_string_equal (o.image, "host");
  assert_int_equal (o.network, NETWORK_NONE);
  assert_false (o.verbose);
  options_clear (&o);
}

static void
test_flags_override_env (void **state)
{
  char *argv[] = {
    "oci-host-runner", "--image", "flag-image",    "--runtime=crun",
    "--network",       "none",    "--cache-dir",   "/c2",
    "--state-dir",     "/s2",     "--keep-bundle", "-v",
    "script",          NULL,
  };
  char *envp[] = {
    "HOME=/home/u",
    "OCI_HOST_RUNNER_IMAGE=env-image",
    "OCI_HOST_RUNNER_RUNTIME=runc",
    "OCI_HOST_RUNNER_NETWORK=host",
    "OCI_HOST_RUNNER_CACHE_DIR=/c1",
    "OCI_HOST_RUNNER_STATE_DIR=/s1",
    NULL,
  };
  struct run_options o;
  parse_ok (argv, envp, &o);
  assert_string_equal (o.image, "flag-image");
  assert_string_equal (o.runtime, "crun");
  assert_int_equal (o.network, NETWORK_NONE);
  assert_string_equal (o.cache_dir, "/c2");
  assert_string_equal (o.state_dir, "/s2");
  assert_true (o.keep_bundle);
  assert_true (o.verbose);
  static const char *const cmd[] = { "script", NULL };
  assert_strv_equal (o.command, cmd);
  options_clear (&o);
}

static void
test_env_repeatable (void **state)
{
  char *argv[] = { "oci-host-runner", "--env", "A=1",    "--env=B",
                   "--env",           "C",     "script", NULL };
  char *envp[] = { "HOME=/home/u", "OCI_HOST_RUNNER_ENV=X,Y", NULL };
  struct run_options o;
  parse_ok (argv, envp, &o);
  static const char *const want[] = { "X", "Y", "A=1", "B", "C", NULL };
  assert_strv_equal (o.env, want);
  options_clear (&o);

  char *argv2[] = { "oci-host-runner", "script", NULL };
  char *envp2[] = { "HOME=/home/u", "OCI_HOST_RUNNER_ENV= P, Q,,R ", NULL };
  parse_ok (argv2, envp2, &o);
  static const char *const want2[] = { "P", "Q", "R", NULL };
  assert_strv_equal (o.env, want2);
  options_clear (&o);
}

static void
test_stops_at_first_non_option (void **state)
{
  char *argv[] = { "oci-host-runner",
                   "-v",
                   "/t/build-script-build",
                   "--foo",
                   "-v",
                   "--image",
                   "x",
                   NULL };
  char *envp[] = { "HOME=/home/u", NULL };
  struct run_options o;
  parse_ok (argv, envp, &o);
  assert_true (o.verbose);
  assert_string_equal (o.image, "host");
  static const char *const cmd[] = {
    "/t/build-script-build", "--foo", "-v", "--image", "x", NULL,
  };
  assert_strv_equal (o.command, cmd);
  options_clear (&o);
}

static void
test_double_dash (void **state)
{
  char *argv[] = { "oci-host-runner", "--image", "i", "--",
                   "--weird-script",  "--",      "a", NULL };
  char *envp[] = { "HOME=/home/u", NULL };
  struct run_options o;
  parse_ok (argv, envp, &o);
  assert_string_equal (o.image, "i");
  static const char *const cmd[] = { "--weird-script", "--", "a", NULL };
  assert_strv_equal (o.command, cmd);
  options_clear (&o);
}

static void
test_help_version (void **state)
{
  char *argv[] = { "oci-host-runner", "-h", "--version", NULL };
  char *envp[] = { "HOME=/home/u", NULL };
  struct run_options o;
  parse_ok (argv, envp, &o);
  assert_true (o.help);
  assert_true (o.version);
  assert_null (o.command);
  options_clear (&o);
  assert_non_null (strstr (options_usage, "--image"));
}

static void
test_unknown_option (void **state)
{
  char *envp[] = { "HOME=/home/u", NULL };
  char *argv1[] = { "oci-host-runner", "--bogus", "script", NULL };
  parse_fails (argv1, envp, "--bogus", NULL);
  char *argv2[] = { "oci-host-runner", "-x", "script", NULL };
  parse_fails (argv2, envp, "-x", NULL);
  char *argv3[] = { "oci-host-runner", "--keep-bundle=yes", "script", NULL };
  parse_fails (argv3, envp, "--keep-bundle", NULL);

  /* A flag given a value is refused, and the message must not claim the
   * opposite of what is wrong. */
  ohr_error_t err = NULL;
  struct run_options o;
  assert_true (options_parse (argc_of (argv3), argv3, envp, &o, &err) < 0);
  assert_non_null (err);
  assert_null (strstr (err->msg, "needs a value"));
  ohr_error_free (&err);
}

static void
test_missing_value (void **state)
{
  char *envp[] = { "HOME=/home/u", NULL };
  char *argv[] = { "oci-host-runner", "--image", NULL };
  parse_fails (argv, envp, "--image", "value");
  char *argv3[] = { "oci-host-runner", "-v", "--network", NULL };
  parse_fails (argv3, envp, "--network", NULL);
}

static void
test_bad_network (void **state)
{
  char *envp[] = { "HOME=/home/u", NULL };
  char *argv[] = { "oci-host-runner", "--network", "bridge", "s", NULL };
  parse_fails (argv, envp, "bridge", "--network");

  char *argv2[] = { "oci-host-runner", "s", NULL };
  char *envp2[] = { "HOME=/home/u", "OCI_HOST_RUNNER_NETWORK=wifi", NULL };
  parse_fails (argv2, envp2, "wifi", "OCI_HOST_RUNNER_NETWORK");
}

static void
test_getopt_reset (void **state)
{
  /* Leave getopt in the middle of a parse, then parse again from the
   * start: options_parse must reset it itself. */
  char *envp[] = { "HOME=/home/u", NULL };
  char *argv1[] = { "oci-host-runner", "-v", "--image", "a", "s1", "x", NULL };
  char *argv2[] = { "oci-host-runner", "--image", "b", "s2", NULL };
  struct run_options o;
  parse_ok (argv1, envp, &o);
  assert_string_equal (o.image, "a");
  options_clear (&o);
  parse_ok (argv2, envp, &o);
  assert_string_equal (o.image, "b");
  assert_false (o.verbose);
  static const char *const cmd[] = { "s2", NULL };
  assert_strv_equal (o.command, cmd);
  options_clear (&o);

  /* after an error too */
  char *bad[] = { "oci-host-runner", "-v", "--nope", NULL };
  parse_fails (bad, envp, "--nope", NULL);
  parse_ok (argv2, envp, &o);
  assert_string_equal (o.image, "b");
  options_clear (&o);
}

static void
test_cache_dir_defaults (void **state)
{
  char *argv[] = { "oci-host-runner", "s", NULL };
  struct run_options o;

  char *envp1[] = { "HOME=/home/u", "XDG_CACHE_HOME=/xdg/cache", NULL };
  parse_ok (argv, envp1, &o);
  assert_string_equal (o.cache_dir, "/xdg/cache/oci-host-runner");
  options_clear (&o);

  /* a relative XDG_CACHE_HOME is invalid per the XDG spec: ignored */
  char *envp2[] = { "HOME=/home/u", "XDG_CACHE_HOME=rel/cache", NULL };
  parse_ok (argv, envp2, &o);
  assert_string_equal (o.cache_dir, "/home/u/.cache/oci-host-runner");
  options_clear (&o);

  /* no usable HOME: the password database */
  struct passwd *pw = getpwuid (geteuid ());
  char want[4096];
  snprintf (want, sizeof want, "%s/.cache/oci-host-runner",
            pw ? pw->pw_dir : "/");
  char *envp3[] = { "PATH=/bin", NULL };
  parse_ok (argv, envp3, &o);
  assert_string_equal (o.cache_dir, want);
  options_clear (&o);
  char *envp4[] = { "HOME=relative", NULL };
  parse_ok (argv, envp4, &o);
  assert_string_equal (o.cache_dir, want);
  options_clear (&o);
}

static void
test_state_dir_defaults (void **state)
{
  char *argv[] = { "oci-host-runner", "s", NULL };
  struct run_options o;
  char tmpl[] = "/tmp/test-options-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  char xdg[4200];
  snprintf (xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", tmpl);
  char *envp[] = { "HOME=/home/u", xdg, NULL };
  parse_ok (argv, envp, &o);
  if (geteuid () == 0)
    assert_string_equal (o.state_dir, expected_state_dir ());
  else
    {
      char want[4200];
      snprintf (want, sizeof want, "%s/oci-host-runner", tmpl);
      assert_string_equal (o.state_dir, want);
    }
  options_clear (&o);

  char *envp2[] = { "HOME=/home/u", NULL };
  parse_ok (argv, envp2, &o);
  if (geteuid () == 0)
    assert_string_equal (o.state_dir, expected_state_dir ());
  else
    {
      char want[64];
      snprintf (want, sizeof want, "/tmp/oci-host-runner-%u",
                (unsigned)geteuid ());
      assert_string_equal (o.state_dir, want);
    }
  options_clear (&o);
  assert_int_equal (rmdir (tmpl), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_defaults),
    cmocka_unit_test (test_no_command),
    cmocka_unit_test (test_env_vars),
    cmocka_unit_test (test_empty_env_vars_ignored),
    cmocka_unit_test (test_flags_override_env),
    cmocka_unit_test (test_env_repeatable),
    cmocka_unit_test (test_stops_at_first_non_option),
    cmocka_unit_test (test_double_dash),
    cmocka_unit_test (test_help_version),
    cmocka_unit_test (test_unknown_option),
    cmocka_unit_test (test_missing_value),
    cmocka_unit_test (test_bad_network),
    cmocka_unit_test (test_getopt_reset),
    cmocka_unit_test (test_cache_dir_defaults),
    cmocka_unit_test (test_state_dir_defaults),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
