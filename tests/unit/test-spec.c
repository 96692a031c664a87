/* test-spec.c: generate config.json and read it back with yajl_tree. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "run/mounts.h"
#include "run/spec.h"
#include "util/error.h"

static char *test_args[]
    = { "/dev/.ohr-init", "--", "/t/build-script-build", "--flag", NULL };
static char *test_env[]
    = { "OUT_DIR=/t/out", "PATH=/usr/bin:/bin", "RUSTC=/usr/bin/rustc", NULL };

struct fixture
{
  struct mount_table mounts;
  struct spec_input in;
};

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  if (f == NULL)
    return -1;
  ohr_error_t err = NULL;
  static const char *const proc_opts[] = { "nosuid", "noexec", "nodev", NULL };
  if (mounts_add (&f->mounts, "/proc", "proc", "proc", proc_opts, &err) < 0
      || mounts_add (&f->mounts, "/dev", "tmpfs", "tmpfs", NULL, &err) < 0
      || mounts_add_bind (&f->mounts, "/t/out", "/t/out", true, false, &err)
             < 0
      || mounts_add_bind (&f->mounts, "/usr", "/usr", false, true, &err) < 0)
    {
      ohr_error_free (&err);
      mounts_free (&f->mounts);
      free (f);
      return -1;
    }
  f->in = (struct spec_input){
    .rootfs = "/var/cache/ohr/rootfs",
    .args = test_args,
    .env = test_env,
    .cwd = "/t/pkg",
    .hostname = "builder",
    .uid = 0,
    .gid = 0,
    .host_uid = 1000,
    .host_gid = 1001,
    .mounts = &f->mounts,
  };
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  mounts_free (&f->mounts);
  free (f);
  return 0;
}

/* Generate and parse; the caller frees the tree with yajl_tree_free. */
static yajl_val
generate (const struct spec_input *in)
{
  ohr_error_t err = NULL;
  char *json = NULL;
  size_t len = 0;
  int r = spec_generate (in, &json, &len, &err);
  if (r < 0)
    {
      fail_msg ("spec_generate failed: %s", err ? err->msg : "(no error)");
    }
  assert_null (err);
  assert_non_null (json);
  assert_int_equal (strlen (json), len);
  char errbuf[256] = "";
  yajl_val tree = yajl_tree_parse (json, errbuf, sizeof errbuf);
  free (json);
  if (tree == NULL)
    fail_msg ("generated spec is not valid JSON: %s", errbuf);
  return tree;
}

static yajl_val
get (yajl_val tree, yajl_type type, const char *a, const char *b,
     const char *c)
{
  const char *path[] = { a, b, c, NULL };
  yajl_val v = yajl_tree_get (tree, path, type);
  if (v == NULL)
    fail_msg ("missing or mistyped %s%s%s%s%s", a, b ? "." : "", b ? b : "",
              c ? "." : "", c ? c : "");
  return v;
}

/* YAJL_GET_STRING, or "" for a non-string (keeps strcmp off NULL). */
static const char *
str_of (yajl_val v)
{
  const char *s = YAJL_GET_STRING (v);
  return s ? s : "";
}

static const char *
get_str (yajl_val tree, const char *a, const char *b, const char *c)
{
  return str_of (get (tree, yajl_t_string, a, b, c));
}

static void
assert_strv_array (yajl_val arr, char *const *want)
{
  assert_true (YAJL_IS_ARRAY (arr));
  size_t n = 0;
  while (want[n])
    n++;
  assert_int_equal (YAJL_GET_ARRAY (arr)->len, n);
  for (size_t i = 0; i < n; i++)
    {
      yajl_val s = YAJL_GET_ARRAY (arr)->values[i];
      assert_true (YAJL_IS_STRING (s));
      assert_string_equal (str_of (s), want[i]);
    }
}

static bool
array_has_string (yajl_val arr, const char *s)
{
  for (size_t i = 0; i < YAJL_GET_ARRAY (arr)->len; i++)
    {
      yajl_val v = YAJL_GET_ARRAY (arr)->values[i];
      if (YAJL_IS_STRING (v) && strcmp (str_of (v), s) == 0)
        return true;
    }
  return false;
}

/* true when linux.namespaces has an entry of that type. */
static bool
has_namespace (yajl_val tree, const char *type)
{
  yajl_val ns = get (tree, yajl_t_array, "linux", "namespaces", NULL);
  for (size_t i = 0; i < YAJL_GET_ARRAY (ns)->len; i++)
    {
      const char *path[] = { "type", NULL };
      yajl_val t = yajl_tree_get (YAJL_GET_ARRAY (ns)->values[i], path,
                                  yajl_t_string);
      assert_non_null (t);
      if (strcmp (str_of (t), type) == 0)
        return true;
    }
  return false;
}

static void
test_baseline (void **state)
{
  struct fixture *f = *state;
  yajl_val tree = generate (&f->in);

  assert_string_equal (get_str (tree, "ociVersion", NULL, NULL), "1.0.2");
  assert_string_equal (get_str (tree, "root", "path", NULL),
                       "/var/cache/ohr/rootfs");
  assert_true (
      YAJL_IS_TRUE (get (tree, yajl_t_any, "root", "readonly", NULL)));
  assert_string_equal (get_str (tree, "hostname", NULL, NULL), "builder");

  assert_strv_array (get (tree, yajl_t_array, "process", "args", NULL),
                     test_args);
  assert_strv_array (get (tree, yajl_t_array, "process", "env", NULL),
                     test_env);
  assert_string_equal (get_str (tree, "process", "cwd", NULL), "/t/pkg");
  assert_true (
      YAJL_IS_FALSE (get (tree, yajl_t_any, "process", "terminal", NULL)));
  assert_true (YAJL_IS_TRUE (
      get (tree, yajl_t_any, "process", "noNewPrivileges", NULL)));

  static const char *const sets[]
      = { "bounding", "effective", "inheritable", "permitted", "ambient" };
  for (size_t i = 0; i < sizeof sets / sizeof *sets; i++)
    {
      yajl_val a
          = get (tree, yajl_t_array, "process", "capabilities", sets[i]);
      assert_int_equal (YAJL_GET_ARRAY (a)->len, 0);
    }

  yajl_val masked = get (tree, yajl_t_array, "linux", "maskedPaths", NULL);
  assert_true (array_has_string (masked, "/proc/kcore"));
  assert_true (array_has_string (masked, "/sys/firmware"));
  yajl_val ro = get (tree, yajl_t_array, "linux", "readonlyPaths", NULL);
  assert_true (array_has_string (ro, "/proc/sys"));

  assert_true (has_namespace (tree, "pid"));
  assert_true (has_namespace (tree, "mount"));
  assert_false (has_namespace (tree, "network"));
  assert_false (has_namespace (tree, "user"));
  const char *um[] = { "linux", "uidMappings", NULL };
  const char *gm[] = { "linux", "gidMappings", NULL };
  assert_null (yajl_tree_get (tree, um, yajl_t_any));
  assert_null (yajl_tree_get (tree, gm, yajl_t_any));
  yajl_tree_free (tree);
}

static void
test_default_hostname (void **state)
{
  struct fixture *f = *state;
  f->in.hostname = NULL;
  yajl_val tree = generate (&f->in);
  assert_string_equal (get_str (tree, "hostname", NULL, NULL), "build");
  yajl_tree_free (tree);
}

/* Identity paths: the host's name, as natively; canonical: a fixed one,
 * whatever the machine; a name the kernel would refuse: the fixed one. */
static void
test_hostname_by_paths (void **state)
{
  struct fixture *f = *state;
  f->in.hostname = spec_hostname (true, "ci-runner-7");
  yajl_val tree = generate (&f->in);
  assert_string_equal (get_str (tree, "hostname", NULL, NULL), "ci-runner-7");
  yajl_tree_free (tree);
  f->in.hostname = spec_hostname (false, "ci-runner-7");
  tree = generate (&f->in);
  assert_string_equal (get_str (tree, "hostname", NULL, NULL),
                       SPEC_HOSTNAME_FIXED);
  yajl_tree_free (tree);
  char long_name[66];
  memset (long_name, 'a', 65);
  long_name[65] = '\0';
  assert_string_equal (spec_hostname (true, long_name), SPEC_HOSTNAME_FIXED);
  long_name[64] = '\0';
  assert_string_equal (spec_hostname (true, long_name), long_name);
  assert_string_equal (spec_hostname (true, ""), SPEC_HOSTNAME_FIXED);
  assert_string_equal (spec_hostname (true, NULL), SPEC_HOSTNAME_FIXED);
}

static void
test_process_user (void **state)
{
  struct fixture *f = *state;
  f->in.uid = 1234;
  f->in.gid = 5678;
  yajl_val tree = generate (&f->in);
  assert_int_equal (
      YAJL_GET_INTEGER (get (tree, yajl_t_number, "process", "user", "uid")),
      1234);
  assert_int_equal (
      YAJL_GET_INTEGER (get (tree, yajl_t_number, "process", "user", "gid")),
      5678);
  yajl_tree_free (tree);
}

static void
test_network_namespace (void **state)
{
  struct fixture *f = *state;
  f->in.new_netns = true;
  yajl_val tree = generate (&f->in);
  assert_true (has_namespace (tree, "network"));
  assert_false (has_namespace (tree, "user"));
  yajl_tree_free (tree);
}

static void
check_mapping (yajl_val tree, const char *key, long long host_id)
{
  yajl_val arr = get (tree, yajl_t_array, "linux", key, NULL);
  assert_int_equal (YAJL_GET_ARRAY (arr)->len, 1);
  yajl_val m = YAJL_GET_ARRAY (arr)->values[0];
  assert_int_equal (
      YAJL_GET_INTEGER (get (m, yajl_t_number, "containerID", NULL, NULL)), 0);
  assert_int_equal (
      YAJL_GET_INTEGER (get (m, yajl_t_number, "hostID", NULL, NULL)),
      host_id);
  assert_int_equal (
      YAJL_GET_INTEGER (get (m, yajl_t_number, "size", NULL, NULL)), 1);
}

static void
test_user_namespace (void **state)
{
  struct fixture *f = *state;
  f->in.new_userns = true;
  yajl_val tree = generate (&f->in);
  assert_true (has_namespace (tree, "user"));
  assert_false (has_namespace (tree, "network"));
  check_mapping (tree, "uidMappings", 1000);
  check_mapping (tree, "gidMappings", 1001);
  yajl_tree_free (tree);

  f->in.new_netns = true;
  tree = generate (&f->in);
  assert_true (has_namespace (tree, "user"));
  assert_true (has_namespace (tree, "network"));
  yajl_tree_free (tree);
}

/* process.rlimits as the runtimes read them (unsigned 64-bit numbers, the
 * largest included), and linux.cgroupsPath only when given. */
static void
test_rlimits_and_cgroups_path (void **state)
{
  struct fixture *f = *state;
  yajl_val tree = generate (&f->in);
  const char *rpath[] = { "process", "rlimits", NULL };
  assert_null (yajl_tree_get (tree, rpath, yajl_t_any));
  const char *cpath[] = { "linux", "cgroupsPath", NULL };
  assert_null (yajl_tree_get (tree, cpath, yajl_t_any));
  yajl_tree_free (tree);

  const struct limits_rlimit r[] = {
    { "RLIMIT_CORE", 0, 0 },
    { "RLIMIT_NOFILE", 1024, 65536 },
    { "RLIMIT_DATA", UINT64_MAX, UINT64_MAX },
  };
  f->in.rlimits = r;
  f->in.n_rlimits = 3;
  f->in.cgroups_path = "user.slice:ohr:ohr-1-abc";
  f->in.memory_limit = 1ULL << 30;
  f->in.pids_limit = 64;
  tree = generate (&f->in);
  yajl_val arr = get (tree, yajl_t_array, "process", "rlimits", NULL);
  assert_int_equal (YAJL_GET_ARRAY (arr)->len, 3);
  yajl_val nofile = YAJL_GET_ARRAY (arr)->values[1];
  assert_string_equal (get_str (nofile, "type", NULL, NULL), "RLIMIT_NOFILE");
  assert_int_equal (
      YAJL_GET_INTEGER (get (nofile, yajl_t_number, "soft", NULL, NULL)),
      1024);
  assert_int_equal (
      YAJL_GET_INTEGER (get (nofile, yajl_t_number, "hard", NULL, NULL)),
      65536);
  yajl_val data = YAJL_GET_ARRAY (arr)->values[2];
  assert_string_equal (
      get (data, yajl_t_number, "hard", NULL, NULL)->u.number.r,
      "18446744073709551615");
  assert_string_equal (get_str (tree, "linux", "cgroupsPath", NULL),
                       "user.slice:ohr:ohr-1-abc");
  const char *ppath[] = { "linux", "resources", "pids", "limit", NULL };
  yajl_val pids = yajl_tree_get (tree, ppath, yajl_t_number);
  assert_non_null (pids);
  assert_int_equal (YAJL_GET_INTEGER (pids), 64);
  yajl_tree_free (tree);
}

static void
check_mount (yajl_val m, const struct ohr_mount *want)
{
  assert_string_equal (get_str (m, "destination", NULL, NULL),
                       want->destination);
  assert_string_equal (get_str (m, "type", NULL, NULL), want->type);
  assert_string_equal (get_str (m, "source", NULL, NULL), want->source);
  const char *opath[] = { "options", NULL };
  yajl_val opts = yajl_tree_get (m, opath, yajl_t_any);
  if (want->options == NULL)
    assert_null (opts);
  else
    assert_strv_array (opts, want->options);
}

static void
test_mounts_in_order (void **state)
{
  struct fixture *f = *state;
  yajl_val tree = generate (&f->in);
  yajl_val mounts = get (tree, yajl_t_array, "mounts", NULL, NULL);
  assert_int_equal (YAJL_GET_ARRAY (mounts)->len, f->mounts.n);
  for (size_t i = 0; i < f->mounts.n; i++)
    check_mount (YAJL_GET_ARRAY (mounts)->values[i], &f->mounts.v[i]);

  /* spot-check literal values, not only the table against itself */
  yajl_val out = YAJL_GET_ARRAY (mounts)->values[2];
  assert_string_equal (get_str (out, "destination", NULL, NULL), "/t/out");
  assert_string_equal (get_str (out, "type", NULL, NULL), "bind");
  yajl_val oo = get (out, yajl_t_array, "options", NULL, NULL);
  assert_true (array_has_string (oo, "rw"));
  assert_true (array_has_string (oo, "bind"));
  yajl_val usr = YAJL_GET_ARRAY (mounts)->values[3];
  yajl_val uo = get (usr, yajl_t_array, "options", NULL, NULL);
  assert_true (array_has_string (uo, "ro"));
  assert_true (array_has_string (uo, "rbind"));
  yajl_tree_free (tree);
}

static void
test_no_mounts (void **state)
{
  struct fixture *f = *state;
  f->in.mounts = NULL;
  yajl_val tree = generate (&f->in);
  yajl_val mounts = get (tree, yajl_t_array, "mounts", NULL, NULL);
  assert_int_equal (YAJL_GET_ARRAY (mounts)->len, 0);
  yajl_tree_free (tree);
}

static void
expect_error (const struct spec_input *in, const char *needle)
{
  ohr_error_t err = NULL;
  char *json = NULL;
  int r = spec_generate (in, &json, NULL, &err);
  assert_true (r < 0);
  assert_null (json);
  assert_non_null (err);
  if (needle && strstr (err->msg, needle) == NULL)
    fail_msg ("error '%s' does not mention '%s'", err->msg, needle);
  ohr_error_free (&err);
}

static void
test_invalid_input (void **state)
{
  struct fixture *f = *state;
  struct spec_input in = f->in;
  in.cwd = "relative/dir";
  expect_error (&in, "cwd");

  in = f->in;
  in.cwd = NULL;
  expect_error (&in, "cwd");

  in = f->in;
  in.args = NULL;
  expect_error (&in, "args");

  char *no_args[] = { NULL };
  in = f->in;
  in.args = no_args;
  expect_error (&in, "args");

  in = f->in;
  in.rootfs = NULL;
  expect_error (&in, "rootfs");
}

static void
test_non_utf8 (void **state)
{
  struct fixture *f = *state;
  char *bad_args[] = { "/t/build-script-build", "caf\xe9", NULL };
  struct spec_input in = f->in;
  in.args = bad_args;
  expect_error (&in, "UTF-8");

  char *bad_env[] = { "OUT_DIR=/t/\xff\xfe", NULL };
  in = f->in;
  in.env = bad_env;
  expect_error (&in, "UTF-8");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_baseline, setup, teardown),
    cmocka_unit_test_setup_teardown (test_default_hostname, setup, teardown),
    cmocka_unit_test_setup_teardown (test_hostname_by_paths, setup, teardown),
    cmocka_unit_test_setup_teardown (test_process_user, setup, teardown),
    cmocka_unit_test_setup_teardown (test_network_namespace, setup, teardown),
    cmocka_unit_test_setup_teardown (test_user_namespace, setup, teardown),
    cmocka_unit_test_setup_teardown (test_rlimits_and_cgroups_path, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_mounts_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown (test_no_mounts, setup, teardown),
    cmocka_unit_test_setup_teardown (test_invalid_input, setup, teardown),
    cmocka_unit_test_setup_teardown (test_non_utf8, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
