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
#include <unistd.h>

#include "cli/options.h"
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

/* The default state directory options_parse would pick for envp on this
 * host: from the same two functions it calls, which the state-dir tests
 * below check on their own. */
static char *
default_state_dir_for (char *const *envp)
{
  struct state_dir_facts f;
  ohr_error_t err = NULL;
  options_state_dir_facts (envp, &f);
  char *dir = options_default_state_dir (&f, &err);
  assert_non_null (dir);
  assert_null (err);
  return dir;
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
  char *want_state = default_state_dir_for (envp);
  assert_string_equal (o.state_dir, want_state);
  free (want_state);
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
  char *envp[] = { "HOME=/home/u", NULL };
  struct run_options o;
  parse_ok (argv, envp, &o);
  static const char *const want[] = { "A=1", "B", "C", NULL };
  assert_strv_equal (o.env, want);
  options_clear (&o);

  char *argv2[] = { "oci-host-runner", "script", NULL };
  char *envp2[] = { "HOME=/home/u", "OCI_HOST_RUNNER_ENV= P, Q,,R ", NULL };
  parse_ok (argv2, envp2, &o);
  static const char *const want2[] = { "P", "Q", "R", NULL };
  assert_strv_equal (o.env, want2);
  options_clear (&o);
}

/* The rule for lists: the variable's list, unless the command line gives
 * the option at least once; then only the options' items. */
static void
test_list_options_replace_variables (void **state)
{
  char *envp[] = {
    "HOME=/home/u",
    "OCI_HOST_RUNNER_ENV=X,Y",
    "OCI_HOST_RUNNER_INSECURE_REGISTRIES=reg1:5000, reg2",
    "OCI_HOST_RUNNER_HOOKS_DIR=/h1:/h2",
    "OCI_HOST_RUNNER_ANNOTATIONS=a=1,b=2",
    NULL,
  };
  struct run_options o;
  char *plain[] = { "oci-host-runner", "script", NULL };
  parse_ok (plain, envp, &o);
  static const char *const env_var[] = { "X", "Y", NULL };
  static const char *const insecure_var[] = { "reg1:5000", "reg2", NULL };
  static const char *const hooks_var[] = { "/h1", "/h2", NULL };
  static const char *const ann_var[] = { "a=1", "b=2", NULL };
  assert_strv_equal (o.env, env_var);
  assert_strv_equal (o.insecure, insecure_var);
  assert_strv_equal (o.hooks_dirs, hooks_var);
  assert_true (o.hooks_dirs_set);
  assert_strv_equal (o.annotations, ann_var);
  options_clear (&o);

  char *argv[] = { "oci-host-runner",
                   "--env",
                   "A=1",
                   "--insecure-registry",
                   "reg3",
                   "--hooks-dir",
                   "/h3",
                   "--annotation",
                   "c=3",
                   "--env",
                   "B",
                   "--hooks-dir=/h4",
                   "script",
                   NULL };
  parse_ok (argv, envp, &o);
  static const char *const env_cli[] = { "A=1", "B", NULL };
  static const char *const insecure_cli[] = { "reg3", NULL };
  static const char *const hooks_cli[] = { "/h3", "/h4", NULL };
  static const char *const ann_cli[] = { "c=3", NULL };
  assert_strv_equal (o.env, env_cli);
  assert_strv_equal (o.insecure, insecure_cli);
  assert_strv_equal (o.hooks_dirs, hooks_cli);
  assert_true (o.hooks_dirs_set);
  assert_strv_equal (o.annotations, ann_cli);
  options_clear (&o);

  /* one list given on the command line leaves the others alone */
  char *argv2[] = { "oci-host-runner", "--annotation", "d=4", "script", NULL };
  parse_ok (argv2, envp, &o);
  static const char *const ann_d[] = { "d=4", NULL };
  assert_strv_equal (o.annotations, ann_d);
  assert_strv_equal (o.env, env_var);
  assert_strv_equal (o.hooks_dirs, hooks_var);
  options_clear (&o);

  /* set but empty: an empty list, which for hooks replaces the defaults */
  char *envp3[]
      = { "HOME=/home/u",
          "OCI_HOST_RUNNER_HOOKS_DIR=", "OCI_HOST_RUNNER_ENV=", NULL };
  parse_ok (plain, envp3, &o);
  assert_true (o.hooks_dirs_set);
  assert_null (o.hooks_dirs);
  assert_null (o.env);
  options_clear (&o);
  char *envp4[] = { "HOME=/home/u", NULL };
  parse_ok (plain, envp4, &o);
  assert_false (o.hooks_dirs_set);
  options_clear (&o);
}

/* The rule for switches: the variable takes 1/true/yes or 0/false/no,
 * and --X / --no-X, the last one given, win over it. */
static void
test_switches (void **state)
{
  struct run_options o;
  char *on[] = { "HOME=/home/u", "OCI_HOST_RUNNER_KEEP_BUNDLE=1",
                 "OCI_HOST_RUNNER_VERBOSE=true",
                 "OCI_HOST_RUNNER_ALLOW_UNPINNED=yes", NULL };
  char *plain[] = { "oci-host-runner", "script", NULL };
  parse_ok (plain, on, &o);
  assert_true (o.keep_bundle);
  assert_true (o.verbose);
  assert_true (o.allow_unpinned);
  options_clear (&o);

  char *off[] = { "oci-host-runner",     "--no-keep-bundle", "--no-verbose",
                  "--no-allow-unpinned", "script",           NULL };
  parse_ok (off, on, &o);
  assert_false (o.keep_bundle);
  assert_false (o.verbose);
  assert_false (o.allow_unpinned);
  options_clear (&o);

  /* the last of --X and --no-X wins */
  char *last[] = { "oci-host-runner",  "--no-verbose", "-v", "--keep-bundle",
                   "--no-keep-bundle", "script",       NULL };
  char *none[] = { "HOME=/home/u", NULL };
  parse_ok (last, none, &o);
  assert_true (o.verbose);
  assert_false (o.keep_bundle);
  options_clear (&o);

  char *zero[] = { "HOME=/home/u", "OCI_HOST_RUNNER_KEEP_BUNDLE=0",
                   "OCI_HOST_RUNNER_VERBOSE=no",
                   "OCI_HOST_RUNNER_ALLOW_UNPINNED=false", NULL };
  char *set[] = { "oci-host-runner", "--keep-bundle", "script", NULL };
  parse_ok (set, zero, &o);
  assert_true (o.keep_bundle);
  assert_false (o.verbose);
  assert_false (o.allow_unpinned);
  options_clear (&o);

  /* anything else is refused, naming the variable */
  char *bad[] = { "HOME=/home/u", "OCI_HOST_RUNNER_VERBOSE=on", NULL };
  parse_fails (plain, bad, "OCI_HOST_RUNNER_VERBOSE", "'on'");
  char *bad2[] = { "HOME=/home/u", "OCI_HOST_RUNNER_ALLOW_UNPINNED=2", NULL };
  parse_fails (plain, bad2, "OCI_HOST_RUNNER_ALLOW_UNPINNED", NULL);
}

/* The rule for values, and --degraded none taking the variable's mode
 * back. */
static void
test_value_options_replace_variables (void **state)
{
  struct run_options o;
  char *envp[] = { "HOME=/home/u",
                   "OCI_HOST_RUNNER_DEGRADED=proc",
                   "OCI_HOST_RUNNER_PATHS=identity",
                   "OCI_HOST_RUNNER_POLICY=/p1",
                   "OCI_HOST_RUNNER_ATTEST_DIR=/a1",
                   "OCI_HOST_RUNNER_STORE_DIR=/st1",
                   NULL };
  char *plain[] = { "oci-host-runner", "script", NULL };
  parse_ok (plain, envp, &o);
  assert_true (o.degraded_proc);
  assert_int_equal (o.paths, PATHS_IDENTITY);
  assert_true (o.paths_set);
  assert_string_equal (o.policy, "/p1");
  assert_string_equal (o.attest_dir, "/a1");
  assert_string_equal (o.store_dir, "/st1");
  options_clear (&o);

  char *argv[] = { "oci-host-runner",
                   "--degraded",
                   "none",
                   "--paths",
                   "canonical",
                   "--policy",
                   "/p2",
                   "--attest",
                   "/a2",
                   "--store",
                   "/st2",
                   "script",
                   NULL };
  parse_ok (argv, envp, &o);
  assert_false (o.degraded_proc);
  assert_int_equal (o.paths, PATHS_CANONICAL);
  assert_string_equal (o.policy, "/p2");
  assert_string_equal (o.attest_dir, "/a2");
  assert_string_equal (o.store_dir, "/st2");
  options_clear (&o);

  char *none[] = { "HOME=/home/u", "OCI_HOST_RUNNER_DEGRADED=none", NULL };
  parse_ok (plain, none, &o);
  assert_false (o.degraded_proc);
  options_clear (&o);
  char *bad[] = { "HOME=/home/u", "OCI_HOST_RUNNER_DEGRADED=pid", NULL };
  parse_fails (plain, bad, "OCI_HOST_RUNNER_DEGRADED", "'pid'");
}

/* --result-cache and OCI_HOST_RUNNER_RESULT_CACHE: auto by default, the
 * option over the variable, an unknown mode refused. */
static void
test_result_cache (void **state)
{
  struct run_options o;
  char *plain[] = { "oci-host-runner", "script", NULL };
  char *home[] = { "HOME=/home/u", NULL };
  parse_ok (plain, home, &o);
  assert_int_equal (o.result_cache, RESULT_CACHE_AUTO);
  assert_false (o.result_cache_set);
  options_clear (&o);
  char *envp[]
      = { "HOME=/home/u", "OCI_HOST_RUNNER_RESULT_CACHE=local", NULL };
  parse_ok (plain, envp, &o);
  assert_int_equal (o.result_cache, RESULT_CACHE_LOCAL);
  assert_true (o.result_cache_set);
  options_clear (&o);
  char *argv[]
      = { "oci-host-runner", "--result-cache", "off", "script", NULL };
  parse_ok (argv, envp, &o);
  assert_int_equal (o.result_cache, RESULT_CACHE_OFF);
  options_clear (&o);
  char *bad[]
      = { "oci-host-runner", "--result-cache", "remote", "script", NULL };
  parse_fails (bad, home, "--result-cache", "'remote'");
  char *badenv[] = { "HOME=/home/u", "OCI_HOST_RUNNER_RESULT_CACHE=on", NULL };
  parse_fails (plain, badenv, "OCI_HOST_RUNNER_RESULT_CACHE", "'on'");
}

/* The remote: --result-cache URL (explicit, so the host image too),
 * --result-cache-mode, -sign and the repeatable -trust, each over its
 * variable. */
static void
test_result_cache_remote (void **state)
{
  struct run_options o;
  char *plain[] = { "oci-host-runner", "script", NULL };
  char *envp[] = { "HOME=/home/u",
                   "OCI_HOST_RUNNER_RESULT_CACHE=https://cache:8080/team",
                   "OCI_HOST_RUNNER_RESULT_CACHE_MODE=read",
                   "OCI_HOST_RUNNER_RESULT_CACHE_SIGN=/k/ci.key",
                   "OCI_HOST_RUNNER_RESULT_CACHE_TRUST=/k/a.pub,/k/b.pub",
                   NULL };
  parse_ok (plain, envp, &o);
  assert_int_equal (o.result_cache, RESULT_CACHE_LOCAL);
  assert_string_equal (o.result_cache_url, "https://cache:8080/team");
  assert_true (o.result_cache_read);
  assert_string_equal (o.result_cache_sign, "/k/ci.key");
  assert_string_equal (o.result_cache_trust[0], "/k/a.pub");
  assert_string_equal (o.result_cache_trust[1], "/k/b.pub");
  assert_null (o.result_cache_trust[2]);
  options_clear (&o);
  char *argv[] = { "oci-host-runner",
                   "--result-cache-mode",
                   "read-write",
                   "--result-cache-trust",
                   "any",
                   "--result-cache",
                   "local",
                   "script",
                   NULL };
  parse_ok (argv, envp, &o);
  assert_false (o.result_cache_read);
  assert_null (o.result_cache_url);
  assert_int_equal (o.result_cache, RESULT_CACHE_LOCAL);
  assert_string_equal (o.result_cache_trust[0], "any");
  assert_null (o.result_cache_trust[1]);
  options_clear (&o);
  char *home[] = { "HOME=/home/u", NULL };
  char *bad[]
      = { "oci-host-runner", "--result-cache-mode", "write", "script", NULL };
  parse_fails (bad, home, "--result-cache-mode", "'write'");
}

/* The list variables as the store helper reads them. */
static void
test_env_list (void **state)
{
  char *envp[]
      = { "OCI_HOST_RUNNER_INSECURE_REGISTRIES= a:1,,b c", "E=", NULL };
  char **list = NULL;
  ohr_error_t err = NULL;
  assert_int_equal (options_env_list (envp,
                                      "OCI_HOST_RUNNER_INSECURE_REGISTRIES",
                                      &list, &err),
                    0);
  static const char *const want[] = { "a:1", "b", "c", NULL };
  assert_strv_equal (list, want);
  strv_free (list);
  list = NULL;
  assert_int_equal (options_env_list (envp, "E", &list, &err), 0);
  assert_null (list);
  assert_int_equal (options_env_list (envp, "UNSET", &list, &err), 0);
  assert_null (list);
  assert_null (err);
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

/* The choice itself, on facts the test sets: every branch, for root and
 * for another user, whatever this host is. */
static void
test_state_dir_choice (void **state)
{
  static const struct
  {
    struct state_dir_facts f;
    const char *want;
  } cases[] = {
    /* root: /run when it is a tmpfs, XDG_RUNTIME_DIR ignored */
    { { 0, "/run/user/0", true, true, true }, "/run/oci-host-runner" },
    { { 0, NULL, false, true, false }, "/run/oci-host-runner" },
    /* ... else /dev/shm when it is one, else /run all the same */
    { { 0, "/run/user/0", true, false, true }, "/dev/shm/oci-host-runner-0" },
    { { 0, NULL, false, false, false }, "/run/oci-host-runner" },
    /* others: their own XDG_RUNTIME_DIR first, tmpfs or not */
    { { 1000, "/run/user/1000", true, true, true },
      "/run/user/1000/oci-host-runner" },
    { { 1000, "/x/y", true, false, false }, "/x/y/oci-host-runner" },
    /* ... not one they do not own, nor a relative one */
    { { 1000, "/run/user/1000", false, true, true },
      "/dev/shm/oci-host-runner-1000" },
    { { 1000, "run/user/1000", true, true, true },
      "/dev/shm/oci-host-runner-1000" },
    { { 1000, "", true, true, true }, "/dev/shm/oci-host-runner-1000" },
    /* ... never /run, a tmpfs or not */
    { { 1000, NULL, false, true, false }, "/tmp/oci-host-runner-1000" },
    { { 4294967294u, NULL, false, false, false },
      "/tmp/oci-host-runner-4294967294" },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      ohr_error_t err = NULL;
      char *got = options_default_state_dir (&cases[i].f, &err);
      assert_null (err);
      assert_non_null (got);
      if (strcmp (got, cases[i].want) != 0)
        fail_msg ("case %zu: got '%s', want '%s'", i, got, cases[i].want);
      free (got);
    }
}

/* The facts gathered from the environment the test passes. */
static void
test_state_dir_facts (void **state)
{
  struct state_dir_facts f;
  char own[] = "/tmp/test-options-XXXXXX";
  assert_non_null (mkdtemp (own));
  char xdg[4200];
  snprintf (xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", own);

  char *envp1[] = { "HOME=/home/u", xdg, NULL };
  options_state_dir_facts (envp1, &f);
  assert_int_equal (f.euid, geteuid ());
  assert_non_null (f.xdg_runtime_dir);
  assert_string_equal (f.xdg_runtime_dir, own);
  assert_true (f.xdg_owned);

  char *envp2[] = { "HOME=/home/u", NULL };
  options_state_dir_facts (envp2, &f);
  assert_null (f.xdg_runtime_dir);
  assert_false (f.xdg_owned);

  char *envp3[] = { "XDG_RUNTIME_DIR=tmp", NULL };
  options_state_dir_facts (envp3, &f);
  assert_false (f.xdg_owned); /* relative */

  char *envp4[] = { "XDG_RUNTIME_DIR=/nonexistent/test-options", NULL };
  options_state_dir_facts (envp4, &f);
  assert_false (f.xdg_owned);

  /* a directory someone else owns: root hands one over, others use / */
  char other[] = "/tmp/test-options-XXXXXX";
  assert_non_null (mkdtemp (other));
  char xdg_other[4200];
  if (geteuid () == 0)
    {
      assert_int_equal (chown (other, 65534, 65534), 0);
      snprintf (xdg_other, sizeof xdg_other, "XDG_RUNTIME_DIR=%s", other);
    }
  else
    snprintf (xdg_other, sizeof xdg_other, "XDG_RUNTIME_DIR=/");
  char *envp5[] = { xdg_other, NULL };
  options_state_dir_facts (envp5, &f);
  assert_false (f.xdg_owned);

  assert_int_equal (rmdir (other), 0);
  assert_int_equal (rmdir (own), 0);
}

/* options_parse fills state_dir from the variable, the flag, or the
 * default for its environment. */
static void
test_state_dir_parse (void **state)
{
  char *argv[] = { "oci-host-runner", "s", NULL };
  struct run_options o;
  char own[] = "/tmp/test-options-XXXXXX";
  assert_non_null (mkdtemp (own));
  char xdg[4200];
  snprintf (xdg, sizeof xdg, "XDG_RUNTIME_DIR=%s", own);

  char *envp[] = { "HOME=/home/u", xdg, NULL };
  parse_ok (argv, envp, &o);
  char *want = default_state_dir_for (envp);
  assert_string_equal (o.state_dir, want);
  if (geteuid () != 0)
    {
      /* not root: the directory the test made and owns */
      char mine[4200];
      snprintf (mine, sizeof mine, "%s/oci-host-runner", own);
      assert_string_equal (o.state_dir, mine);
    }
  free (want);
  options_clear (&o);

  char *envp2[]
      = { "HOME=/home/u", xdg, "OCI_HOST_RUNNER_STATE_DIR=/s/v", NULL };
  parse_ok (argv, envp2, &o);
  assert_string_equal (o.state_dir, "/s/v");
  options_clear (&o);
  assert_int_equal (rmdir (own), 0);
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
    cmocka_unit_test (test_list_options_replace_variables),
    cmocka_unit_test (test_switches),
    cmocka_unit_test (test_value_options_replace_variables),
    cmocka_unit_test (test_result_cache),
    cmocka_unit_test (test_result_cache_remote),
    cmocka_unit_test (test_env_list),
    cmocka_unit_test (test_stops_at_first_non_option),
    cmocka_unit_test (test_double_dash),
    cmocka_unit_test (test_help_version),
    cmocka_unit_test (test_unknown_option),
    cmocka_unit_test (test_missing_value),
    cmocka_unit_test (test_bad_network),
    cmocka_unit_test (test_getopt_reset),
    cmocka_unit_test (test_cache_dir_defaults),
    cmocka_unit_test (test_state_dir_choice),
    cmocka_unit_test (test_state_dir_facts),
    cmocka_unit_test (test_state_dir_parse),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
