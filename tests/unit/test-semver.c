/* test-semver.c: versions and Cargo version requirements, against the
 * examples of the Cargo book ("Specifying Dependencies") and the semver
 * crate's own tests (tests/test_version_req.rs). */
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

#include "policy/semver.h"
#include "util/error.h"

/* A requirement and the versions it must and must not match; NULL ends
 * each list. */
struct req_case
{
  const char *req;
  const char *yes[8];
  const char *no[10];
};

static int
matches (const char *req, const char *version)
{
  ohr_error_t err = NULL;
  int r = semver_matches (req, version, &err);
  if (r < 0)
    fail_msg ("'%s' / '%s': %s", req, version, err->msg);
  return r;
}

static void
check_cases (const struct req_case *cases, size_t n)
{
  for (size_t i = 0; i < n; i++)
    {
      const struct req_case *c = &cases[i];
      for (size_t j = 0; j < 8 && c->yes[j]; j++)
        if (matches (c->req, c->yes[j]) != 1)
          fail_msg ("'%s' should match %s", c->req, c->yes[j]);
      for (size_t j = 0; j < 10 && c->no[j]; j++)
        if (matches (c->req, c->no[j]) != 0)
          fail_msg ("'%s' should not match %s", c->req, c->no[j]);
    }
}

#define CHECK(cases) check_cases (cases, sizeof cases / sizeof *cases)

/* The Cargo book's table: each requirement and its range. */
static void
test_caret (void **state)
{
  static const struct req_case cases[] = {
    { "^1.2.3",
      { "1.2.3", "1.2.4", "1.9.0", "1.99.99" },
      { "1.2.2", "2.0.0", "0.9.9", "1.2.3-alpha" } },
    { "^1.2", { "1.2.0", "1.2.9", "1.3.0" }, { "1.1.9", "2.0.0" } },
    { "^1", { "1.0.0", "1.9.9" }, { "0.9.9", "2.0.0" } },
    { "^0.2.3", { "0.2.3", "0.2.9" }, { "0.2.2", "0.3.0", "1.0.0" } },
    { "^0.2", { "0.2.0", "0.2.9" }, { "0.1.9", "0.3.0" } },
    { "^0.0.3", { "0.0.3" }, { "0.0.2", "0.0.4", "0.1.0" } },
    { "^0.0", { "0.0.0", "0.0.2" }, { "0.1.0", "0.1.4", "1.1.1" } },
    { "^0", { "0.0.0", "0.0.2", "0.9.1" }, { "1.0.0", "1.1.1", "2.9.0" } },
    /* no operator is a caret */
    { "1.2.3", { "1.2.3", "1.3.0" }, { "1.2.2", "2.0.0" } },
    { "1.2", { "1.2.0", "1.5.0" }, { "1.1.0", "2.0.0" } },
    { "0.1.2", { "0.1.2", "0.1.4" }, { "0.2.0", "0.1.1" } },
    /* semver crate: test_caret */
    { "^1.1.2",
      { "1.1.2", "1.1.4", "1.2.1" },
      { "0.9.1", "2.9.0", "1.1.1", "0.0.1", "1.1.2-alpha1", "1.1.3-alpha1",
        "2.9.0-alpha1" } },
    { "^0.1.2",
      { "0.1.2", "0.1.4" },
      { "0.9.1", "2.9.0", "1.1.1", "0.0.1", "0.1.2-beta", "0.1.3-alpha",
        "0.2.0-pre" } },
    { "^0.0.2", { "0.0.2" }, { "0.9.1", "2.9.0", "1.1.1", "0.0.1", "0.1.4" } },
    { "^1",
      { "1.1.2", "1.1.0", "1.2.1", "1.0.1" },
      { "0.9.1", "2.9.0", "0.1.4", "1.0.0-beta1", "0.1.0-alpha",
        "1.0.1-pre" } },
  };
  CHECK (cases);
}

static void
test_tilde (void **state)
{
  static const struct req_case cases[] = {
    { "~1.2.3", { "1.2.3", "1.2.9" }, { "1.2.2", "1.3.0", "2.0.0" } },
    { "~1.2", { "1.2.0", "1.2.1", "1.2.9" }, { "1.1.1", "1.3.0", "0.0.9" } },
    { "~1",
      { "1.0.0", "1.0.1", "1.1.1", "1.9.0" },
      { "0.9.1", "2.9.0", "0.0.9" } },
    { "~1.2.2",
      { "1.2.2", "1.2.4" },
      { "1.2.1", "1.9.0", "1.0.9", "2.0.1", "0.1.3" } },
    { "~1.2.3-beta.2",
      { "1.2.3", "1.2.4", "1.2.3-beta.2", "1.2.3-beta.4" },
      { "1.3.3", "1.1.4", "1.2.3-beta.1", "1.2.4-beta.2" } },
    { "~0.2.3", { "0.2.3", "0.2.4" }, { "0.2.2", "0.3.0" } },
  };
  CHECK (cases);
}

static void
test_wildcard (void **state)
{
  static const struct req_case cases[] = {
    { "*",
      { "0.0.0", "0.9.1", "2.9.0", "0.0.9", "1.0.1", "1.1.1" },
      { "1.0.0-pre", "0.1.0-alpha" } },
    { "x", { "0.0.0", "5.6.7" }, { "1.0.0-pre" } },
    { "X", { "0.0.0", "5.6.7" }, { "1.0.0-pre" } },
    { " * ", { "3.0.0" }, { NULL } },
    { "1.*",
      { "1.0.0", "1.2.0", "1.2.1", "1.1.1", "1.3.0" },
      { "0.0.9", "2.0.0", "1.2.0-pre" } },
    { "1.x", { "1.2.0" }, { "0.0.9", "2.0.0" } },
    { "1.X", { "1.2.0" }, { "0.0.9", "2.0.0" } },
    { "1.*.*", { "1.0.0", "1.9.9" }, { "2.0.0" } },
    { "1.2.*",
      { "1.2.0", "1.2.2", "1.2.4" },
      { "1.9.0", "1.0.9", "2.0.1", "0.1.3", "1.3.0" } },
    { "1.2.x", { "1.2.0", "1.2.4" }, { "1.3.0" } },
    { "0.*", { "0.0.1", "0.9.0" }, { "1.0.0" } },
    /* an operator keeps its meaning over a wildcard */
    { ">=1.*", { "1.0.0", "7.0.0" }, { "0.9.9" } },
  };
  CHECK (cases);
}

static void
test_comparison (void **state)
{
  static const struct req_case cases[] = {
    { ">= 1.2.0", { "1.2.0", "1.3.0", "2.0.0" }, { "1.1.9", "1.2.0-rc.1" } },
    { "> 1", { "2.0.0", "3.1.0" }, { "1.0.0", "1.9.9", "0.1.0" } },
    { "> 1.2", { "1.3.0", "2.0.0" }, { "1.2.0", "1.2.9" } },
    { ">1.2.3", { "1.2.4", "2.0.0" }, { "1.2.3", "1.2.2" } },
    { "< 2", { "1.9.9", "0.0.1" }, { "2.0.0", "2.0.1", "1.9.9-beta" } },
    { "<1.2", { "1.1.9" }, { "1.2.0", "1.2.1" } },
    { "<= 1.2", { "1.2.0", "1.2.9", "1.1.0" }, { "1.3.0" } },
    { "<=1.2.3", { "1.2.3", "0.1.0" }, { "1.2.4" } },
    { "= 1.2.3",
      { "1.2.3", "1.2.3+build.5" },
      { "1.2.4", "1.2.2", "1.2.3-pre" } },
    { "=1.2", { "1.2.0", "1.2.7" }, { "1.3.0", "1.1.0" } },
    { "=1", { "1.0.0", "1.9.0" }, { "2.0.0", "0.9.0" } },
    /* semver crate: test_exact */
    { "=1.0.0", { "1.0.0" }, { "1.0.1", "0.9.9", "0.10.0", "0.1.0" } },
    { "=0.9.0", { "0.9.0" }, { "0.9.1", "1.9.0", "0.0.9", "0.9.0-pre" } },
    { "=0.0.2", { "0.0.2" }, { "0.0.1", "0.0.3", "0.0.2-pre" } },
    { "=0.1.0-beta2.a",
      { "0.1.0-beta2.a" },
      { "0.9.1", "0.1.0", "0.1.1-beta2.a", "0.1.0-beta2" } },
    { "=0.1.0+meta", { "0.1.0", "0.1.0+meta", "0.1.0+any" }, { "0.1.1" } },
    { "=2.1.1-really.0", { "2.1.1-really.0" }, { "2.1.1" } },
  };
  CHECK (cases);
}

static void
test_multiple (void **state)
{
  static const struct req_case cases[] = {
    { ">= 1.2, < 1.5", { "1.2.0", "1.4.9" }, { "1.1.0", "1.5.0" } },
    { ">=1.2, <2", { "1.2.0", "1.99.0" }, { "1.1.9", "2.0.0", "2.0.0-rc" } },
    { "> 0.0.9, <= 2.5.3",
      { "0.0.10", "1.0.0", "2.5.3" },
      { "0.0.8", "2.5.4" } },
    { "0.3.0, 0.4.0", { NULL }, { "0.0.8", "0.3.0", "0.4.0" } },
    { "<= 0.2.0, >= 0.5.0", { NULL }, { "0.0.8", "0.3.0", "0.5.1" } },
    { "0.1.0, 0.1.4, 0.1.6",
      { "0.1.6", "0.1.9" },
      { "0.1.0", "0.1.4", "0.2.0" } },
    { "  >=1.0.0 ,  <1.1.0  ", { "1.0.5" }, { "1.1.0" } },
  };
  CHECK (cases);
}

/* A pre-release only matches a comparator naming the same version with a
 * pre-release. */
static void
test_prerelease (void **state)
{
  static const struct req_case cases[] = {
    { ">= 1.0.0",
      { "1.0.0", "2.0.0" },
      { "0.1.0", "0.0.1", "1.0.0-pre", "2.0.0-pre" } },
    { ">= 2.1.0-alpha2",
      { "2.1.0-alpha2", "2.1.0-alpha3", "2.1.0", "3.0.0" },
      { "2.0.0", "2.1.0-alpha1", "2.0.0-alpha2", "3.0.0-alpha2" } },
    { "< 1.0.0",
      { "0.1.0", "0.0.1" },
      { "1.0.0", "1.0.0-beta", "1.0.1", "0.9.9-alpha" } },
    { "<= 2.1.0-alpha2",
      { "2.1.0-alpha2", "2.1.0-alpha1", "2.0.0", "1.0.0" },
      { "2.1.0", "2.2.0-alpha1", "2.0.0-alpha2", "1.0.0-alpha2" } },
    { ">1.0.0-alpha, <1.0.0", { "1.0.0-beta" }, { "1.0.0-alpha", "1.0.0" } },
    { ">1.0.0-alpha, <1.0", { NULL }, { "1.0.0-beta" } },
    { ">1.0.0-alpha, <1", { NULL }, { "1.0.0-beta" } },
    { ">=0.5.1-alpha3, <0.6",
      { "0.5.1-alpha3", "0.5.1-alpha4", "0.5.1-beta", "0.5.1", "0.5.5" },
      { "0.5.1-alpha1", "0.5.2-alpha3", "0.5.5-pre", "0.5.0-pre", "0.6.0",
        "0.6.0-pre" } },
    { "^0.5.1-alpha3",
      { "0.5.1-alpha3", "0.5.1-alpha4", "0.5.1-beta", "0.5.1", "0.5.5" },
      { "0.5.1-alpha1", "0.5.2-alpha3", "0.5.5-pre", "0.5.0-pre", "0.6.0" } },
    { "^1.4.2-beta.5",
      { "1.4.2", "1.4.3", "1.4.2-beta.5", "1.4.2-beta.6", "1.4.2-c" },
      { "0.9.9", "2.0.0", "1.4.2-alpha", "1.4.2-beta.4", "1.4.3-beta.5" } },
    /* numeric identifiers compare as numbers, below alphanumeric ones */
    { ">=1.0.0-rc.2, <1.0.0",
      { "1.0.0-rc.10", "1.0.0-rc.x" },
      { "1.0.0-rc.1", "1.0.0-rc" } },
  };
  CHECK (cases);
}

static void
parse_ok (const char *text, uint64_t major, uint64_t minor, uint64_t patch,
          const char *pre, const char *build)
{
  ohr_error_t err = NULL;
  struct semver v;
  if (semver_parse (text, &v, &err) < 0)
    fail_msg ("'%s': %s", text, err->msg);
  assert_int_equal (v.major, major);
  assert_int_equal (v.minor, minor);
  assert_int_equal (v.patch, patch);
  if (pre)
    assert_string_equal (v.pre, pre);
  else
    assert_null (v.pre);
  if (build)
    assert_string_equal (v.build, build);
  else
    assert_null (v.build);
  semver_clear (&v);
}

static void
test_version_parse (void **state)
{
  parse_ok ("0.0.0", 0, 0, 0, NULL, NULL);
  parse_ok ("1.2.3", 1, 2, 3, NULL, NULL);
  parse_ok ("10.20.30", 10, 20, 30, NULL, NULL);
  parse_ok ("1.0.0-alpha.1", 1, 0, 0, "alpha.1", NULL);
  parse_ok ("1.0.0-0a.x-y", 1, 0, 0, "0a.x-y", NULL);
  parse_ok ("1.0.0+20130313144700", 1, 0, 0, NULL, "20130313144700");
  parse_ok ("1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "beta", "exp.sha.5114f85");
  parse_ok ("1.0.0+001", 1, 0, 0, NULL, "001"); /* build may lead with 0 */
  parse_ok ("18446744073709551615.0.0", UINT64_MAX, 0, 0, NULL, NULL);
}

static void
version_fails (const char *text, const char *fragment)
{
  ohr_error_t err = NULL;
  struct semver v;
  if (semver_parse (text, &v, &err) == 0)
    fail_msg ("'%s' should not parse", text);
  assert_non_null (err);
  if (strstr (err->msg, fragment) == NULL)
    fail_msg ("'%s': message '%s' lacks '%s'", text, err->msg, fragment);
  assert_int_equal (err->status, EINVAL);
  ohr_error_free (&err);
}

static void
test_version_errors (void **state)
{
  version_fails ("", "expected the major version number, found end of text");
  version_fails ("1", "expected '.' after the major version number");
  version_fails ("1.2", "expected '.' after the minor version number");
  version_fails ("v1.2.3", "found 'v'");
  version_fails (" 1.2.3", "found ' '");
  version_fails ("1.2.3 ", "unexpected ' ' after the version");
  version_fails ("01.2.3", "leading zero in the major version number");
  version_fails ("1.02.3", "leading zero in the minor version number");
  version_fails ("1.2.03", "leading zero in the patch version number");
  version_fails ("1.2.3-", "empty pre-release identifier");
  version_fails ("1.2.3-a..b", "empty pre-release identifier");
  version_fails ("1.2.3-01", "leading zero in pre-release identifier '01'");
  version_fails ("1.2.3+", "empty build metadata identifier");
  version_fails ("1.2.3-a_b", "unexpected '_'");
  version_fails ("1.2.3.4", "unexpected '.'");
  version_fails ("18446744073709551616.0.0", "too large");
  version_fails ("1.2.3\x01", "byte 0x01");
  version_fails ("a.b.c", "invalid version 'a.b.c'");
}

static void
req_fails (const char *text, const char *fragment)
{
  ohr_error_t err = NULL;
  struct semver_req *r = NULL;
  if (semver_req_parse (text, &r, &err) == 0)
    {
      semver_req_free (r);
      fail_msg ("'%s' should not parse", text);
    }
  assert_non_null (err);
  if (strstr (err->msg, fragment) == NULL)
    fail_msg ("'%s': message '%s' lacks '%s'", text, err->msg, fragment);
  ohr_error_free (&err);
}

static void
test_req_errors (void **state)
{
  req_fails ("", "expected the major version number, found end of text");
  req_fails ("   ", "found end of text");
  req_fails (">= >= 0.0.2", "found '>'");
  req_fails (">== 0.0.2", "found '='");
  req_fails ("a.0.0", "found 'a'");
  req_fails ("1.2.3 - 2.3.4", "expected ',' between comparators, found '-'");
  req_fails ("> 0.0.9 <= 2.5.3", "expected ',' between comparators");
  req_fails ("=1.2.3 || =2.0.0", "found '|'");
  req_fails ("> 0.1.0,", "found end of text");
  req_fails (">= 0.0.1-pre.01", "leading zero in pre-release identifier");
  req_fails ("*, 0.20.0-any", "'*' must be the only comparator");
  req_fails ("0.20.0-any, *", "must be the only comparator");
  req_fails ("1.*.3", "a number after a wildcard");
  req_fails ("1.2-alpha", "found '-'");
  req_fails ("1.*-alpha", "found '-'");
  req_fails ("01", "leading zero");
  req_fails ("1.2.3+", "empty build metadata identifier");
  req_fails ("1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, "
             "1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1",
             "more than 32 comparators");
  req_fails ("^1.2.3\n", "byte 0x0a");
}

static void
test_req_build_ignored (void **state)
{
  /* Cargo accepts build metadata in requirements and ignores it */
  assert_int_equal (matches ("=1.2.3+abc", "1.2.3+xyz"), 1);
  assert_int_equal (matches ("^1.2.3+abc", "1.5.0"), 1);
}

static int
compare (const char *a, const char *b)
{
  struct semver va, vb;
  ohr_error_t err = NULL;
  if (semver_parse (a, &va, &err) < 0 || semver_parse (b, &vb, &err) < 0)
    fail_msg ("%s", err->msg);
  int c = semver_compare (&va, &vb);
  semver_clear (&va);
  semver_clear (&vb);
  return c;
}

/* SemVer 2.0 section 11's example chain, then the numbers. */
static void
test_ordering (void **state)
{
  static const char *const chain[] = {
    "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
    "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
    "1.0.0-rc.1",  "1.0.0",         "1.0.1",
    "1.1.0",       "2.0.0",         "10.0.0",
  };
  size_t n = sizeof chain / sizeof *chain;
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < n; j++)
      {
        int want = i < j ? -1 : i > j;
        int got = compare (chain[i], chain[j]);
        if ((got > 0) - (got < 0) != want)
          fail_msg ("compare %s %s: %d, want %d", chain[i], chain[j], got,
                    want);
      }
  assert_int_equal (compare ("1.0.0+a", "1.0.0+b"), 0);
  assert_int_equal (compare ("1.0.0-1", "1.0.0-a"), -1);
  assert_int_equal (compare ("1.0.0-99999999999999999999999",
                             "1.0.0-100000000000000000000000"),
                    -1);
}

static void
test_matches_reports_errors (void **state)
{
  ohr_error_t err = NULL;
  assert_true (semver_matches ("^1", "1.0", &err) < 0);
  assert_non_null (strstr (err->msg, "invalid version '1.0'"));
  ohr_error_free (&err);
  assert_true (semver_matches ("^^1", "1.0.0", &err) < 0);
  assert_non_null (strstr (err->msg, "invalid version requirement '^^1'"));
  ohr_error_free (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_caret),
    cmocka_unit_test (test_tilde),
    cmocka_unit_test (test_wildcard),
    cmocka_unit_test (test_comparison),
    cmocka_unit_test (test_multiple),
    cmocka_unit_test (test_prerelease),
    cmocka_unit_test (test_version_parse),
    cmocka_unit_test (test_version_errors),
    cmocka_unit_test (test_req_errors),
    cmocka_unit_test (test_req_build_ignored),
    cmocka_unit_test (test_ordering),
    cmocka_unit_test (test_matches_reports_errors),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
