/* test-jsoncheck.c: the one syntax pass over JSON (util/jsoncheck.h), as
 * the user's files and untrusted manifests use it. */
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

#include "util/error.h"
#include "util/jsoncheck.h"
#include "util/yajl.h"

static enum json_flaw
scan (const char *data, size_t len, int depth, bool comments, size_t *at)
{
  struct json_scan s = { .max_depth = depth, .allow_comments = comments };
  int r = json_scan (data, len, &s);
  assert_int_equal (r, s.flaw == JSON_FLAW_NONE ? 0 : -1);
  if (at)
    *at = s.offset;
  return s.flaw;
}

static enum json_flaw
scan_str (const char *data, bool comments)
{
  return scan (data, strlen (data), 8, comments, NULL);
}

static void
test_scan (void **state)
{
  size_t at;
  assert_int_equal (scan_str ("{\"a\": [1, 2.5, true, null]}", false),
                    JSON_FLAW_NONE);
  assert_int_equal (scan ("{}\0", 3, 8, true, &at), JSON_FLAW_NUL_BYTE);
  assert_int_equal (at, 2);
  assert_int_equal (scan_str ("{\"a\\u0000b\": 1}", true),
                    JSON_FLAW_NUL_ESCAPE);
  assert_int_equal (scan_str ("{\"a\": \"\\u0000\"}", false),
                    JSON_FLAW_NUL_ESCAPE);
  /* an escaped backslash before u0000 is no escape */
  assert_int_equal (scan_str ("[\"\\\\u0000\"]", false), JSON_FLAW_NONE);
  assert_int_equal (scan ("[[[1]]]", 7, 3, true, NULL), JSON_FLAW_NONE);
  assert_int_equal (scan ("[[[[1]]]]", 9, 3, true, &at), JSON_FLAW_TOO_DEEP);
  assert_int_equal (at, 3); /* the bracket one too deep */
  /* comments: the user's files may have them, manifests not */
  const char *commented = "{ /* why */ \"a\": 1 // and\n}";
  assert_int_equal (scan_str (commented, true), JSON_FLAW_NONE);
  assert_int_equal (scan (commented, strlen (commented), 8, false, &at),
                    JSON_FLAW_COMMENT);
  assert_int_equal (at, 2);
  /* a '/' inside a string is no comment */
  assert_int_equal (scan_str ("{\"a/*b\": \"//\"}", false), JSON_FLAW_NONE);
  assert_int_equal (scan_str ("{\"a\": \"\\u12/4\"}", false),
                    JSON_FLAW_SYNTAX);
  struct json_scan s = { .max_depth = 8 };
  assert_true (json_scan ("{} x", 4, &s) < 0);
  assert_int_equal (s.flaw, JSON_FLAW_SYNTAX);
  assert_string_equal (s.message, "parse error: trailing garbage");
  assert_true (json_scan ("", 0, &s) < 0);
  assert_string_equal (s.message, "parse error: premature EOF");
  assert_true (json_scan (NULL, 0, &s) < 0);
  assert_int_equal (s.flaw, JSON_FLAW_SYNTAX);
}

static void
check_fails (const char *data, size_t len, const char *want)
{
  ohr_error_t err = NULL;
  assert_true (json_check_syntax (data, len, 3, &err) < 0);
  if (strcmp (err->msg, want) != 0)
    fail_msg ("message '%s', wanted '%s'", err->msg, want);
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  ohr_error_free (&err);
}

static void
test_check_syntax (void **state)
{
  ohr_error_t err = NULL;
  const char *ok = "{\n  // a comment\n  \"a\": 1\n}";
  assert_int_equal (json_check_syntax (ok, strlen (ok), 3, &err), 0);
  check_fails ("{\n  \"a\": 1}\0", 12, "line 2, column 10: NUL byte");
  check_fails ("[\"\\u0000\"]", 10, "line 1, column 9: \\u0000 in a string");
  check_fails ("[[[[]]]]", 8, "line 1, column 4: nested too deeply");
  check_fails ("", 0, "line 1, column 1: parse error: premature EOF");
  check_fails ("{\n\"a\" 1}", 8,
               "line 2, column 6: parse error: object key and value must be "
               "separated by a colon (':')");
}

static void
test_parse_checked (void **state)
{
  ohr_error_t err = NULL;
  cleanup_yajl_val yajl_val v = NULL;
  /* data need not be NUL-terminated */
  assert_int_equal (json_parse_checked ("[1, 2]xyz", 6, 4, &v, &err), 0);
  assert_true (YAJL_IS_ARRAY (v));
  assert_int_equal (v->u.array.len, 2);
  yajl_val w = NULL;
  assert_true (json_parse_checked ("[1,", 3, 4, &w, &err) < 0);
  assert_null (w);
  assert_non_null (strstr (err->msg, "line 1, column 4"));
  ohr_error_free (&err);
}

static void
test_duplicate_keys (void **state)
{
  char errbuf[128];
  const char *key = NULL;
  cleanup_yajl_val yajl_val none
      = yajl_tree_parse ("{\"a\": {\"b\": 1, \"c\": 2}, \"b\": [{\"a\": 1}]}",
                         errbuf, sizeof errbuf);
  assert_int_equal (json_find_duplicate_key (none, &key), 0);
  assert_null (key);
  cleanup_yajl_val yajl_val deep = yajl_tree_parse (
      "{\"a\": [1, {\"x\": 1, \"y\": 2, \"x\": 3}]}", errbuf, sizeof errbuf);
  assert_int_equal (json_find_duplicate_key (deep, &key), 1);
  assert_string_equal (key, "x");
  cleanup_yajl_val yajl_val top
      = yajl_tree_parse ("{\"z\": 1, \"z\": 2}", errbuf, sizeof errbuf);
  assert_int_equal (json_find_duplicate_key (top, &key), 1);
  assert_string_equal (key, "z");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_scan),
    cmocka_unit_test (test_check_syntax),
    cmocka_unit_test (test_parse_checked),
    cmocka_unit_test (test_duplicate_keys),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
