/* test-decide.c: which runs the result cache may keep (cache/decide.h),
 * one case for each reason of the part 2, and the empty-OUT_DIR
 * check. */
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
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/decide.h"
#include "util/cleanup.h"
#include "util/fs.h"

#include "tmpdir.h"

static const struct cache_facts good = {
  .mode = RESULT_CACHE_AUTO,
  .network_none = true,
  .canonical_paths = true,
  .out_dir_empty = true,
  .pinned_image = true,
  .build_dir = true,
};

static void
expect (const struct cache_facts *f, const char *reason)
{
  const char *got = cache_refusal (f);
  if (reason == NULL)
    {
      if (got)
        fail_msg ("refused: %s", got);
      return;
    }
  if (got == NULL || strstr (got, reason) == NULL)
    fail_msg ("expected a refusal naming '%s', got '%s'", reason,
              got ? got : "(cacheable)");
}

static void
test_refusals (void **state)
{
  expect (&good, NULL);
  struct cache_facts f = good;
  f.mode = RESULT_CACHE_OFF;
  expect (&f, "--result-cache off");
  f = good;
  f.network_none = false;
  expect (&f, "network host");
  f = good;
  f.canonical_paths = false;
  expect (&f, "identity paths");
  f = good;
  f.source_overlay = true;
  expect (&f, "overlay");
  f = good;
  f.out_dir_empty = false;
  expect (&f, "OUT_DIR was not empty");
  f = good;
  f.hooks = true;
  expect (&f, "hooks");
  f = good;
  f.degraded_proc = true;
  expect (&f, "--degraded proc");
  f = good;
  f.build_dir = false;
  expect (&f, "build directory");
}

/* The host image: only when asked for with --result-cache local. */
static void
test_host_image (void **state)
{
  struct cache_facts f = good;
  f.pinned_image = false;
  expect (&f, "--result-cache local");
  f.mode = RESULT_CACHE_LOCAL;
  expect (&f, NULL);
  /* local never lifts another reason */
  f.network_none = false;
  expect (&f, "network host");
}

static void
test_dir_is_empty (void **state)
{
  cleanup_free char *d = fs_path_join (tmp, "out");
  assert_int_equal (mkdir (d, 0755), 0);
  assert_true (cache_dir_is_empty (d));
  cleanup_free char *f = fs_path_join (d, ".hidden");
  ohr_error_t err = NULL;
  assert_int_equal (fs_write_new (f, "", 0, 0644, &err), 0);
  assert_false (cache_dir_is_empty (d));
  cleanup_free char *missing = fs_path_join (tmp, "missing");
  assert_false (cache_dir_is_empty (missing));
  /* emptied again: files, directories, and a link whose target stays */
  cleanup_free char *sub = fs_path_join (d, "sub/deeper");
  assert_int_equal (fs_mkdir_p (sub, 0755, &err), 0);
  cleanup_free char *outside = fs_path_join (tmp, "outside");
  assert_int_equal (fs_write_new (outside, "keep", 4, 0644, &err), 0);
  cleanup_free char *link = fs_path_join (d, "link");
  assert_int_equal (symlink (outside, link), 0);
  cache_dir_empty_out (d);
  assert_true (cache_dir_is_empty (d));
  assert_true (fs_exists (outside));
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_refusals),
    cmocka_unit_test (test_host_image),
    cmocka_unit_test_setup_teardown (test_dir_is_empty, setup_tmp,
                                     teardown_tmp),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
