/* test-memcg.c: where the runner makes a run's memory cgroup
 * (memcg_parent_dir, from /proc/self/cgroup texts of v1, hybrid and v2
 * hosts), and, as root on a host with the v1 memory controller, the real
 * thing: made with its limit, joined, counted, removed. */
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
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/memcg.h"
#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

static void
expect (const char *text, const char *want)
{
  char *got = memcg_parent_dir (text, "/sys/fs/cgroup");
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
test_parent (void **state)
{
  (void)state;
  /* this machine's kind: hybrid, the runner in a memory cgroup of the VM's
   * agent */
  expect ("9:name=systemd:/\n8:pids:/\n4:memory:/process_api/9a70\n0::/\n",
          "/sys/fs/cgroup/memory/process_api/9a70");
  /* at the root of the hierarchy */
  expect ("4:memory:/\n", "/sys/fs/cgroup/memory");
  /* a systemd session on v1 */
  expect ("5:memory:/user.slice/user-1000.slice/session-2.scope\n",
          "/sys/fs/cgroup/memory/user.slice/user-1000.slice/session-2.scope");
  /* v2 only, or no memory controller: none */
  expect ("0::/user.slice\n", NULL);
  expect ("8:pids:/\n4:memoryx:/\n", NULL);
  /* no text, or a directory that is not there: not usable */
  assert_null (memcg_parent_usable (NULL));
  assert_null (memcg_parent_usable ("4:memory:/ohr-no-such-cgroup-here\n"));
}

/* As root where the v1 memory controller is: a cgroup under this
 * process's own, with the limit; a child joins it through the open
 * cgroup.procs and is charged there; it is gone after memcg_remove. */
static void
test_live (void **state)
{
  (void)state;
  cleanup_free char *parent = memcg_parent_here ();
  if (geteuid () != 0 || parent == NULL)
    {
      print_message ("no v1 memory cgroup to make here: live part skipped\n");
      skip ();
    }
  char name[64];
  snprintf (name, sizeof name, "ohr-unit-%d", (int)getpid ());
  struct memcg m = MEMCG_INIT;
  ohr_error_t err = NULL;
  assert_int_equal (memcg_create (&m, parent, name, 64ULL << 20, &err), 0);
  assert_non_null (m.dir);
  assert_true (m.procs_fd >= 0);
  cleanup_free char *limit_path
      = fs_path_join (m.dir, "memory.limit_in_bytes");
  cleanup_free char *limit = NULL;
  assert_int_equal (fs_read_file (limit_path, 64, &limit, NULL, &err), 0);
  assert_string_equal (limit, "67108864\n");
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      /* join as the runtime's child does, then show where it is */
      if (write (m.procs_fd, "0", 1) != 1)
        _exit (2);
      cleanup_free char *text = NULL;
      ohr_error_t e = NULL;
      if (fs_read_file ("/proc/self/cgroup", 1 << 16, &text, NULL, &e) < 0)
        _exit (3);
      _exit (strstr (text, name) ? 0 : 4);
    }
  int status = 0;
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  assert_int_equal (memcg_oom_kills (&m), 0);
  cleanup_free char *dir = strdup (m.dir);
  assert_true (memcg_remove (&m));
  assert_null (m.dir);
  assert_false (fs_is_dir (dir));
  /* a stale one (its runner killed): the sweep's removal */
  assert_int_equal (memcg_create (&m, parent, name, 64ULL << 20, &err), 0);
  close (m.procs_fd);
  m.procs_fd = -1;
  assert_true (memcg_remove_stale (parent, name));
  assert_false (fs_is_dir (dir));
  assert_false (memcg_remove_stale (parent, name));
  free (m.dir);
  /* nothing left behind when the limit cannot be written */
  assert_true (memcg_create (&m, "/proc", name, 1, &err) < 0);
  assert_non_null (err);
  ohr_error_free (&err);
  assert_null (m.dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parent),
    cmocka_unit_test (test_live),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
