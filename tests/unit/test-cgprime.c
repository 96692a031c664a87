/* test-cgprime.c: which cgroup.procs the runner writes to get the
 * runtime's first cgroup v1 join going early (cgprime_procs_path), from
 * /proc/self/cgroup texts of v1, hybrid and v2 hosts; and that the live
 * start and finish leave the runner where it was. */
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
#include <unistd.h>

#include "runtime/cgprime.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

static void
expect (const char *text, const char *controller, const char *want)
{
  char *got = cgprime_procs_path (text, "/sys/fs/cgroup", controller);
  if (want == NULL)
    assert_null (got);
  else
    {
      assert_non_null (got);
      assert_string_equal (got, want);
    }
  free (got);
}

static void
test_paths (void **state)
{
  (void)state;
  /* this machine's kind: hybrid, the runner at the root of pids */
  const char *hybrid = "9:name=systemd:/\n8:pids:/\n"
                       "4:memory:/process_api/9a70\n2:cpu,cpuacct:/x\n0::/\n";
  expect (hybrid, "pids", "/sys/fs/cgroup/pids/cgroup.procs");
  expect (hybrid, "memory",
          "/sys/fs/cgroup/memory/process_api/9a70/cgroup.procs");
  /* co-mounted controllers: the hierarchy is named by its list, but the
   * file is reached through either name's mount */
  expect (hybrid, "cpuacct", "/sys/fs/cgroup/cpuacct/x/cgroup.procs");
  /* a systemd session on v1 */
  expect ("11:pids:/user.slice/user-1000.slice/session-2.scope\n", "pids",
          "/sys/fs/cgroup/pids/user.slice/user-1000.slice/session-2.scope/"
          "cgroup.procs");
  /* v2 only: no v1 hierarchy, nothing to prime */
  expect ("0::/user.slice/user-1000.slice/session-2.scope\n", "pids", NULL);
  /* no such controller, names that only start alike, malformed lines */
  expect ("3:pidsx:/\n", "pids", NULL);
  expect ("garbage\n3:pids\n", "pids", NULL);
  expect ("", "pids", NULL);
}

static void
test_live (void **state)
{
  (void)state;
  cleanup_free char *before = NULL;
  ohr_error_t e = NULL;
  assert_int_equal (
      fs_read_file ("/proc/self/cgroup", 1 << 16, &before, NULL, &e), 0);
  struct cgprime p;
  /* nothing to read from: nothing started */
  cgprime_start (&p, NULL);
  assert_false (p.started);
  cgprime_finish (&p);
  cgprime_start (&p, before);
  /* with a v1 pids hierarchy there is a file to write to */
  cleanup_free char *procs
      = cgprime_procs_path (before, "/sys/fs/cgroup", "pids");
  assert_int_equal (p.started, procs != NULL);
  cgprime_finish (&p);
  cleanup_free char *after = NULL;
  assert_int_equal (
      fs_read_file ("/proc/self/cgroup", 1 << 16, &after, NULL, &e), 0);
  /* a migration to where it was: nothing moved */
  assert_string_equal (before, after);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_paths),
    cmocka_unit_test (test_live),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
