/* test-jsonpath.c: the one JSON-path error reporter (util/jsonpath.h) and
 * clipping of text for messages (util/clip.h). */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/clip.h"
#include "util/error.h"
#include "util/jsonpath.h"
#include "util/yajl.h"

static yajl_val
parse (const char *json)
{
  char errbuf[128];
  yajl_val v = yajl_tree_parse (json, errbuf, sizeof errbuf);
  if (v == NULL)
    fail_msg ("bad test JSON: %s", errbuf);
  return v;
}

/* err holds exactly want (and is freed) */
static void
expect_msg (ohr_error_t *err, const char *want)
{
  assert_non_null (*err);
  if (strcmp ((*err)->msg, want) != 0)
    fail_msg ("message '%s', wanted '%s'", (*err)->msg, want);
  assert_int_equal ((*err)->kind, OHR_ERR_USAGE);
  ohr_error_free (err);
}

static void
test_clip (void **state)
{
  char buf[CLIP_SIZE];
  assert_string_equal (clip ("a\nb\x7f"
                             "c",
                             CLIP_UTF8, buf),
                       "a?b?c");
  /* bytes >= 0x80: kept from the user's files, not from the network */
  assert_string_equal (clip ("\xc3\xa9t\xc3\xa9", CLIP_UTF8, buf),
                       "\xc3\xa9t\xc3\xa9");
  assert_string_equal (clip ("\xc3\xa9t\xc3\xa9", CLIP_ASCII, buf), "??t??");
  char longer[CLIP_LEN + 2], want[CLIP_SIZE];
  memset (longer, 'x', CLIP_LEN + 1);
  longer[CLIP_LEN + 1] = '\0';
  memset (want, 'x', CLIP_LEN);
  strcpy (want + CLIP_LEN, "...");
  assert_string_equal (clip (longer, CLIP_ASCII, buf), want);
  longer[CLIP_LEN] = '\0'; /* exactly CLIP_LEN: whole */
  assert_string_equal (clip (longer, CLIP_ASCII, buf), longer);
  /* appending stops at the buffer's end, and terminates */
  char small[8];
  assert_int_equal (
      clip_append (small, sizeof small, 2, "abcdefgh", CLIP_ASCII), 7);
  assert_string_equal (small + 2, "abcde");
}

static void
test_where_format (void **state)
{
  struct json_where top = { NULL, "packages", 0 };
  struct json_where item = { &top, NULL, 3 };
  struct json_where key = { &item, "mo\nunts", 0 };
  char buf[64];
  assert_int_equal (json_where_format (NULL, buf, sizeof buf), 0);
  assert_string_equal (buf, "");
  json_where_format (&key, buf, sizeof buf);
  assert_string_equal (buf, "packages[3].mo?unts");
  /* an element of the root list has no leading dot */
  struct json_where root_item = { NULL, NULL, 1 };
  struct json_where k2 = { &root_item, "a", 0 };
  json_where_format (&k2, buf, sizeof buf);
  assert_string_equal (buf, "[1].a");
  /* cut at the buffer's size */
  char tiny[10];
  assert_true (json_where_format (&key, tiny, sizeof tiny) < sizeof tiny);
  assert_int_equal (strlen (tiny), 9);
}

static void
test_bad_and_types (void **state)
{
  ohr_error_t err = NULL;
  struct json_where w = { NULL, "pids", 0 };
  assert_true (json_bad (&w, &err, "value %d is wrong", 7) < 0);
  expect_msg (&err, "pids: value 7 is wrong");
  assert_true (json_bad (NULL, &err, "at the root") < 0);
  expect_msg (&err, "at the root");
  cleanup_yajl_val yajl_val v
      = parse ("[\"s\", 1, {}, [], true, false, null]");
  const char *names[] = { "a string",  "a number",  "an object", "a list",
                          "a boolean", "a boolean", "null" };
  for (size_t i = 0; i < 7; i++)
    assert_string_equal (json_type_name (v->u.array.values[i]), names[i]);
  assert_true (json_wrong_type (v->u.array.values[0], &w, "a number", &err)
               < 0);
  expect_msg (&err, "pids: expected a number, found a string");
  bool b = false;
  assert_int_equal (json_bool (v->u.array.values[4], &w, &b, &err), 0);
  assert_true (b);
  assert_int_equal (json_bool (v->u.array.values[5], &w, &b, &err), 0);
  assert_false (b);
  assert_true (json_bool (v->u.array.values[6], &w, &b, &err) < 0);
  expect_msg (&err, "pids: expected true or false, found null");
}

static int
collect (const char *s, const struct json_where *w, void *ctx,
         ohr_error_t *err)
{
  char *seen = ctx;
  if (strcmp (s, "stop") == 0)
    return json_bad (w, err, "stopped");
  strcat (seen, s);
  return 0;
}

static void
test_each_string (void **state)
{
  ohr_error_t err = NULL;
  struct json_where w = { NULL, "env", 0 };
  char seen[32] = "";
  cleanup_yajl_val yajl_val ok = parse ("[\"a\", \"b\"]");
  assert_int_equal (json_each_string (ok, &w, "a list", collect, seen, &err),
                    0);
  assert_string_equal (seen, "ab");
  cleanup_yajl_val yajl_val notlist = parse ("{}");
  assert_true (
      json_each_string (notlist, &w, "a list of names", collect, seen, &err)
      < 0);
  expect_msg (&err, "env: expected a list of names, found an object");
  cleanup_yajl_val yajl_val mixed = parse ("[\"a\", 2]");
  assert_true (json_each_string (mixed, &w, "a list", collect, seen, &err)
               < 0);
  expect_msg (&err, "env[1]: expected a string, found a number");
  cleanup_yajl_val yajl_val stop = parse ("[\"a\", \"stop\"]");
  assert_true (json_each_string (stop, &w, "a list", collect, seen, &err) < 0);
  expect_msg (&err, "env[1]: stopped");
}

/* ---- objects against tables */

struct target
{
  int seen;
  bool flag;
};

static int
parse_count (yajl_val v, const struct json_where *w, void *target,
             ohr_error_t *err)
{
  struct target *t = target;
  t->seen++;
  return 0;
}

static int
parse_flag (yajl_val v, const struct json_where *w, void *target,
            ohr_error_t *err)
{
  struct target *t = target;
  return json_bool (v, w, &t->flag, err);
}

static const struct json_field fields[] = {
  { "destination", parse_count, NULL },
  { "hasBindMounts", parse_flag, NULL },
  { "source", parse_count, "add \"source\"" },
  { NULL, NULL, NULL },
};

static void
walk_fails (const char *json, unsigned flags, const char *want)
{
  ohr_error_t err = NULL;
  struct target t = { 0 };
  struct json_where w = { NULL, "mount", 0 };
  cleanup_yajl_val yajl_val v = parse (json);
  assert_true (json_walk_object (v, &w, fields, flags, &t, &err) < 0);
  expect_msg (&err, want);
}

static void
test_walk_object (void **state)
{
  ohr_error_t err = NULL;
  struct target t = { 0 };
  cleanup_yajl_val yajl_val v
      = parse ("{\"source\": 1, \"destination\": 2, \"hasBindMounts\": true}");
  assert_int_equal (json_walk_object (v, NULL, fields, 0, &t, &err), 0);
  assert_int_equal (t.seen, 2);
  assert_true (t.flag);
  assert_non_null (json_find_field (fields, "source"));
  assert_null (json_find_field (fields, "Source"));

  walk_fails ("[]", 0, "mount: expected an object, found a list");
  walk_fails ("{}", 0, "mount: missing \"source\": add \"source\"");
  walk_fails ("{\"source\": 1, \"source\": 2}", 0,
              "mount.source: duplicate key");
  walk_fails ("{\"source\": 1, \"source\": 2}", JSON_DUPLICATE_NAMED,
              "mount.source: duplicate key \"source\"");
  walk_fails ("{\"hasBindMounts\": 1}", 0,
              "mount.hasBindMounts: expected true or false, found a number");
  /* did you mean: none, case only, or edits and abbreviations */
  const char *known = "known keys are destination, hasBindMounts, source";
  char want[160];
  snprintf (want, sizeof want, "mount.dest: unknown key \"dest\": %s", known);
  walk_fails ("{\"dest\": 1}", 0, want);
  walk_fails ("{\"dest\": 1}", JSON_SUGGEST_CASE, want);
  walk_fails ("{\"dest\": 1}", JSON_SUGGEST_EDITS,
              "mount.dest: unknown key \"dest\": did you mean "
              "\"destination\"?");
  walk_fails ("{\"sorce\": 1}", JSON_SUGGEST_EDITS,
              "mount.sorce: unknown key \"sorce\": did you mean \"source\"?");
  snprintf (want, sizeof want, "mount.sorce: unknown key \"sorce\": %s",
            known);
  walk_fails ("{\"sorce\": 1}", JSON_SUGGEST_CASE, want);
  walk_fails ("{\"hasbindmounts\": 1}", JSON_SUGGEST_CASE,
              "mount.hasbindmounts: unknown key \"hasbindmounts\": did you "
              "mean \"hasBindMounts\"?");
  snprintf (want, sizeof want, "mount.xyzzy: unknown key \"xyzzy\": %s",
            known);
  walk_fails ("{\"xyzzy\": 1}", JSON_SUGGEST_EDITS, want);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_clip),
    cmocka_unit_test (test_where_format),
    cmocka_unit_test (test_bad_and_types),
    cmocka_unit_test (test_each_string),
    cmocka_unit_test (test_walk_object),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
