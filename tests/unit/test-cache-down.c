/* test-cache-down.c: the "down once per build" marker (src/cache/down.c):
 * it holds for its build and lifetime only, and anything unreadable is
 * no marker. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/down.h"
#include "tmpdir.h"
#include "util/cleanup.h"

#define T0 ((time_t)1700000000)

static char *
marker (void)
{
  char *p = cache_down_path (tmp, "http://***@cache.example:8080/team");
  assert_non_null (p);
  return p;
}

static void
test_path (void **state)
{
  (void)state;
  cleanup_free char *a = cache_down_path ("/st", "http://a:1");
  cleanup_free char *b = cache_down_path ("/st", "http://b:1");
  assert_int_equal (strncmp (a, "/st/result-cache/down-", 22), 0);
  assert_int_equal (strlen (a), 22 + 16);
  assert_string_not_equal (a, b);
  /* the URL is in no name */
  assert_null (strstr (a, "http"));
}

static void
test_build_and_lifetime (void **state)
{
  (void)state;
  cleanup_free char *p = marker ();
  assert_false (cache_down_is_marked (p, "7-100", T0));
  assert_int_equal (cache_down_mark (p, "7-100", T0, NULL), 0);
  assert_true (cache_down_is_marked (p, "7-100", T0));
  assert_true (
      cache_down_is_marked (p, "7-100", T0 + CACHE_DOWN_LIFETIME - 1));
  /* expired; written in the future (a clock set back); another build */
  assert_false (cache_down_is_marked (p, "7-100", T0 + CACHE_DOWN_LIFETIME));
  assert_false (cache_down_is_marked (p, "7-100", T0 - 1));
  assert_false (cache_down_is_marked (p, "7-101", T0));
  assert_false (cache_down_is_marked (p, "", T0));
  /* the directory is private, the marker too */
  struct stat st;
  cleanup_free char *dir = NULL;
  assert_true (asprintf (&dir, "%s/result-cache", tmp) > 0);
  assert_int_equal (stat (dir, &st), 0);
  assert_int_equal (st.st_mode & 077, 0);
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_mode & 0777, 0600);

  /* a build that cannot be named: the lifetime alone */
  assert_int_equal (cache_down_mark (p, "", T0, NULL), 0);
  assert_true (cache_down_is_marked (p, "", T0 + 1));
  assert_false (cache_down_is_marked (p, "7-100", T0 + 1));
}

static void
test_garbage (void **state)
{
  (void)state;
  cleanup_free char *p = marker ();
  cleanup_free char *dir = NULL;
  assert_true (asprintf (&dir, "%s/result-cache", tmp) > 0);
  assert_int_equal (mkdir (dir, 0700), 0);
  static const char *const bad[] = {
    "",
    "build 7-100\nsince 1700000000\n",
    "oci-host-runner result-cache down v1\nbuild 7-100\n",
    "oci-host-runner result-cache down v2\nbuild 7-100\nsince 1700000000\n",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      FILE *f = fopen (p, "w");
      assert_non_null (f);
      fputs (bad[i], f);
      fclose (f);
      if (cache_down_is_marked (p, "7-100", T0))
        fail_msg ("'%s' taken for a marker", bad[i]);
    }
}

static void
test_build_id (void **state)
{
  (void)state;
  /* ours is our parent's pid and start time: the same twice, and it
   * names the parent */
  cleanup_free char *a = cache_down_build_id ();
  cleanup_free char *b = cache_down_build_id ();
  assert_non_null (a);
  assert_string_equal (a, b);
  if (getppid () == 1)
    {
      assert_string_equal (a, ""); /* reparented: no build to name */
      return;
    }
  char want[32];
  snprintf (want, sizeof want, "%ld-", (long)getppid ());
  assert_int_equal (strncmp (a, want, strlen (want)), 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_path),
    cmocka_unit_test_setup_teardown (test_build_and_lifetime, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_garbage, setup_tmp, teardown_tmp),
    cmocka_unit_test (test_build_id),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
