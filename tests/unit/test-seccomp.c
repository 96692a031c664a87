/* test-seccomp.c: the seccomp profile, read back and evaluated as the
 * kernel would (rules or-ed, comparisons and-ed, no match: allow), and
 * the policy fields that relax it. */
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
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "policy/policy.h"
#include "run/seccomp.h"
#include "run/spec.h"
#include "util/error.h"
#include "util/strv.h"

/* The profile for allowed, parsed. */
static yajl_val
profile (char *const *allowed)
{
  yajl_gen g = yajl_gen_alloc (NULL);
  assert_non_null (g);
  assert_int_equal (yajl_gen_map_open (g), yajl_gen_status_ok);
  assert_int_equal (seccomp_gen (g, allowed), yajl_gen_status_ok);
  assert_int_equal (yajl_gen_map_close (g), yajl_gen_status_ok);
  const unsigned char *buf;
  size_t len;
  assert_int_equal (yajl_gen_get_buf (g, &buf, &len), yajl_gen_status_ok);
  char *text = strndup ((const char *)buf, len);
  yajl_gen_free (g);
  char errbuf[128];
  yajl_val tree = yajl_tree_parse (text, errbuf, sizeof errbuf);
  free (text);
  assert_non_null (tree);
  const char *path[] = { "seccomp", NULL };
  yajl_val s = yajl_tree_get (tree, path, yajl_t_object);
  assert_non_null (s);
  /* detach the object from the tree so that the caller frees only it */
  for (size_t i = 0; i < tree->u.object.len; i++)
    if (tree->u.object.values[i] == s)
      tree->u.object.values[i] = NULL;
  yajl_tree_free (tree);
  return s;
}

static const char *
field_str (yajl_val obj, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (obj, path, yajl_t_string);
  return v ? v->u.string : NULL;
}

static unsigned long long
field_num (yajl_val obj, const char *key)
{
  const char *path[] = { key, NULL };
  yajl_val v = yajl_tree_get (obj, path, yajl_t_number);
  assert_non_null (v);
  return strtoull (v->u.number.r, NULL, 10);
}

static bool
arg_matches (yajl_val a, unsigned long long arg0)
{
  assert_int_equal (field_num (a, "index"), 0);
  assert_string_equal (field_str (a, "op"), "SCMP_CMP_MASKED_EQ");
  return (arg0 & field_num (a, "value")) == field_num (a, "valueTwo");
}

/* What the filter answers name(arg0): 0 (allowed) or the errno.  Two
 * matching rules with different answers would be a bug in the profile
 * (libseccomp would pick one): refuse them. */
static int
evaluate (yajl_val prof, const char *name, unsigned long long arg0)
{
  assert_string_equal (field_str (prof, "defaultAction"), "SCMP_ACT_ALLOW");
  const char *path[] = { "syscalls", NULL };
  yajl_val rules = yajl_tree_get (prof, path, yajl_t_array);
  assert_non_null (rules);
  int answer = 0;
  for (size_t i = 0; i < rules->u.array.len; i++)
    {
      yajl_val r = rules->u.array.values[i];
      const char *np[] = { "names", NULL }, *ap[] = { "args", NULL };
      yajl_val names = yajl_tree_get (r, np, yajl_t_array);
      bool named = false;
      for (size_t j = 0; j < names->u.array.len; j++)
        named |= strcmp (names->u.array.values[j]->u.string, name) == 0;
      if (!named)
        continue;
      assert_string_equal (field_str (r, "action"), "SCMP_ACT_ERRNO");
      yajl_val args = yajl_tree_get (r, ap, yajl_t_array);
      bool match = true;
      for (size_t j = 0; args && j < args->u.array.len; j++)
        match &= arg_matches (args->u.array.values[j], arg0);
      if (!match)
        continue;
      int e = (int)field_num (r, "errnoRet");
      assert_true (answer == 0 || answer == e);
      answer = e;
    }
  return answer;
}

static void
test_denied_calls (void **state)
{
  (void)state;
  yajl_val p = profile (NULL);
  static const char *const enosys[]
      = { "add_key",        "request_key",       "keyctl", "io_uring_setup",
          "io_uring_enter", "io_uring_register", "clone3", NULL };
  static const char *const eperm[]
      = { "userfaultfd",  "perf_event_open", "bpf",
          "kexec_load",   "kexec_file_load", "open_by_handle_at",
          "mount",        "umount2",         "pivot_root",
          "swapon",       "reboot",          "init_module",
          "finit_module", "setns",           "ptrace",
          "fsopen",       "chroot",          NULL };
  for (size_t i = 0; enosys[i]; i++)
    {
      assert_int_equal (evaluate (p, enosys[i], 0), ENOSYS);
      assert_true (seccomp_restricts (enosys[i]));
    }
  for (size_t i = 0; eperm[i]; i++)
    {
      assert_int_equal (evaluate (p, eperm[i], 0), EPERM);
      assert_true (seccomp_restricts (eperm[i]));
    }
  static const char *const allowed[] = { "read",
                                         "openat",
                                         "clone",
                                         "unshare",
                                         "name_to_handle_at",
                                         "landlock_create_ruleset",
                                         "seccomp",
                                         "membarrier",
                                         NULL };
  for (size_t i = 0; allowed[i]; i++)
    assert_int_equal (evaluate (p, allowed[i], 0), 0);
  assert_false (seccomp_restricts ("read"));
  assert_true (seccomp_restricts ("personality"));
  const char *ap[] = { "architectures", NULL };
  yajl_val arch = yajl_tree_get (p, ap, yajl_t_array);
  assert_non_null (arch);
#if defined(__x86_64__)
  assert_int_equal (arch->u.array.len, 3);
  assert_string_equal (arch->u.array.values[0]->u.string, "SCMP_ARCH_X86_64");
#endif
  yajl_tree_free (p);
}

static void
test_namespace_flags (void **state)
{
  (void)state;
  yajl_val p = profile (NULL);
  const unsigned long long sigchld = 17, clone_vm = 0x100, files = 0x400;
  static const unsigned long long ns[]
      = { 0x20000,    0x2000000,  0x4000000, 0x8000000,
          0x10000000, 0x20000000, 0x40000000 };
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
    {
      assert_int_equal (evaluate (p, "unshare", ns[i]), EPERM);
      assert_int_equal (evaluate (p, "unshare", ns[i] | files), EPERM);
      assert_int_equal (evaluate (p, "clone", ns[i] | sigchld), EPERM);
    }
  assert_int_equal (evaluate (p, "unshare", 0x80 /* CLONE_NEWTIME */), EPERM);
  assert_int_equal (evaluate (p, "unshare", files), 0);
  /* fork() and pthread_create()'s clone: no namespace flag */
  assert_int_equal (evaluate (p, "clone", sigchld | 0x01200000), 0);
  assert_int_equal (evaluate (p, "clone", clone_vm | 0x3d0f00), 0);
  /* the exit signal's bits are not CLONE_NEWTIME for clone */
  assert_int_equal (evaluate (p, "clone", 0x80 | clone_vm), 0);
  yajl_tree_free (p);
}

static bool
personality_ok (unsigned long long v)
{
  v &= 0xffffffffULL; /* the kernel takes an unsigned int */
  return v == 0 || v == 8 || v == 0x20000 || v == 0x20008
         || v == 0xffffffffULL;
}

static void
test_personality (void **state)
{
  (void)state;
  yajl_val p = profile (NULL);
  /* every value with at most two bits set, and their complements */
  for (unsigned a = 0; a <= 32; a++)
    for (unsigned b = a; b <= 32; b++)
      {
        unsigned long long v
            = (a < 32 ? 1ULL << a : 0) | (b < 32 ? 1ULL << b : 0);
        unsigned long long vs[]
            = { v, ~v & 0xffffffffULL, v | 8, (~v & 0xffffffffULL) | 0x20000 };
        for (size_t i = 0; i < 4; i++)
          assert_int_equal (evaluate (p, "personality", vs[i]),
                            personality_ok (vs[i]) ? 0 : EPERM);
      }
  /* and a pseudo-random sample */
  unsigned long long x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 20000; i++)
    {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      assert_int_equal (evaluate (p, "personality", x),
                        personality_ok (x) ? 0 : EPERM);
    }
  assert_int_equal (evaluate (p, "personality", 0x0040000), EPERM);
  assert_int_equal (evaluate (p, "personality", 0xffffffffULL), 0);
  yajl_tree_free (p);
}

static void
test_allowed_names (void **state)
{
  (void)state;
  char *allow[] = { "keyctl", "personality", "unshare", "mount", NULL };
  yajl_val p = profile (allow);
  assert_int_equal (evaluate (p, "keyctl", 0), 0);
  assert_int_equal (evaluate (p, "add_key", 0), ENOSYS);
  assert_int_equal (evaluate (p, "personality", 0x0040000), 0);
  assert_int_equal (evaluate (p, "unshare", 0x10000000), 0);
  assert_int_equal (evaluate (p, "clone", 0x10000000), EPERM);
  assert_int_equal (evaluate (p, "mount", 0), 0);
  assert_int_equal (evaluate (p, "umount2", 0), EPERM);
  yajl_tree_free (p);
}

static void
test_spec_has_profile (void **state)
{
  (void)state;
  char *args[] = { "/bin/true", NULL };
  struct spec_input in = { .rootfs = "/r", .args = args, .cwd = "/" };
  ohr_error_t err = NULL;
  char *json = NULL;
  assert_int_equal (spec_generate (&in, &json, NULL, &err), 0);
  assert_non_null (strstr (json, "\"seccomp\":{\"defaultAction\""));
  free (json);
  in.seccomp_unconfined = true;
  assert_int_equal (spec_generate (&in, &json, NULL, &err), 0);
  assert_null (strstr (json, "seccomp"));
  free (json);
}

static int
load (const char *doc, struct policy *p, ohr_error_t *err)
{
  return policy_load_data (doc, strlen (doc), "mem", p, err);
}

static void
test_policy_fields (void **state)
{
  (void)state;
  struct policy p;
  ohr_error_t err = NULL;
  const char *good
      = "{\"version\":1,\"defaults\":{\"syscalls\":[\"personality\"]},"
        "\"packages\":[{\"package\":\"a\",\"syscalls\":[\"keyctl\","
        "\"personality\"]},{\"package\":\"b\",\"seccomp\":\"unconfined\"}]}";
  assert_int_equal (load (good, &p, &err), 0);
  assert_int_equal (seccomp_check_policy (&p, &err), 0);
  struct policy_effective e;
  assert_int_equal (policy_resolve (&p, "a", NULL, &e, &err), 0);
  assert_int_equal (e.settings.seccomp, POLICY_SECCOMP_DEFAULT);
  assert_int_equal (strv_len (e.settings.syscalls), 2);
  policy_effective_clear (&e);
  assert_int_equal (policy_resolve (&p, "b", NULL, &e, &err), 0);
  assert_int_equal (e.settings.seccomp, POLICY_SECCOMP_UNCONFINED);
  policy_effective_clear (&e);
  policy_clear (&p);

  /* a call the profile lets through anyway: a typo, refused by path */
  const char *typo = "{\"version\":1,\"packages\":[{\"package\":\"a\","
                     "\"syscalls\":[\"keyctl\",\"keyclt\"]}]}";
  assert_int_equal (load (typo, &p, &err), 0);
  assert_true (seccomp_check_policy (&p, &err) < 0);
  assert_non_null (strstr (err->msg, "packages[0].syscalls[1]"));
  assert_non_null (strstr (err->msg, "\"keyclt\""));
  ohr_error_free (&err);
  policy_clear (&p);

  const char *bad[] = {
    "{\"version\":1,\"defaults\":{\"seccomp\":\"off\"}}",
    "{\"version\":1,\"defaults\":{\"syscalls\":\"keyctl\"}}",
    "{\"version\":1,\"defaults\":{\"syscalls\":[\"Key ctl\"]}}",
    "{\"version\":1,\"defaults\":{\"syscalls\":[3]}}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    {
      assert_true (load (bad[i], &p, &err) < 0);
      assert_non_null (strstr (err->msg, "defaults."));
      ohr_error_free (&err);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_denied_calls),
    cmocka_unit_test (test_namespace_flags),
    cmocka_unit_test (test_personality),
    cmocka_unit_test (test_allowed_names),
    cmocka_unit_test (test_spec_has_profile),
    cmocka_unit_test (test_policy_fields),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
