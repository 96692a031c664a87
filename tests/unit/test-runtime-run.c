/* test-runtime-run.c: runtime_run and runtime_force_delete when the
 * runtime's status cannot be had: a process that ignores SIGCHLD has its
 * children reaped by the kernel, so waitpid answers ECHILD.  Before, the
 * supervisor waited for ever and `delete` read an unset status.  The
 * "runtime" is /bin/true (it ignores the runtime's arguments), so no
 * container is involved. */
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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/error.h"

static struct runtime
true_runtime (void)
{
  struct runtime rt = {
    .backend = &runtime_backend_runc,
    .path = (char *)"/bin/true",
    .state_root = (char *)"/nonexistent-ohr-state",
  };
  return rt;
}

/* A control first: with SIGCHLD at its default the status is had. */
static void
test_status_kept (void **state)
{
  (void)state;
  struct runtime rt = true_runtime ();
  struct runtime_io io
      = { .stdout_fd = -1, .stderr_fd = -1, .pump_fd = -1, .ready_fd = -1 };
  struct runtime_result out;
  ohr_error_t err = NULL;
  assert_int_equal (
      runtime_run (&rt, "/nonexistent", "id", NULL, &io, &out, &err), 0);
  assert_true (out.exited);
  assert_int_equal (out.status, 0);
  assert_false (out.status_lost);
}

static void
test_status_lost (void **state)
{
  (void)state;
  struct runtime rt = true_runtime ();
  struct runtime_io io
      = { .stdout_fd = -1, .stderr_fd = -1, .pump_fd = -1, .ready_fd = -1 };
  struct runtime_result out;
  ohr_error_t err = NULL;
  struct sigaction ign = { .sa_handler = SIG_IGN }, old;
  sigaction (SIGCHLD, &ign, &old);
  /* the supervisor must return (a hang here is the bug) */
  alarm (20);
  int r = runtime_run (&rt, "/nonexistent", "id", NULL, &io, &out, &err);
  alarm (0);
  assert_int_equal (r, 0);
  assert_true (out.status_lost);
  assert_false (out.exited);

  /* delete: an error naming the cause, not a status read unset */
  assert_int_equal (runtime_force_delete (&rt, "id", &err), -1);
  assert_non_null (err);
  assert_int_equal (err->status, ECHILD);
  if (strstr (err->msg, "delete") == NULL)
    fail_msg ("message '%s' does not name the command", err->msg);
  ohr_error_free (&err);
  sigaction (SIGCHLD, &old, NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_status_kept),
    cmocka_unit_test (test_status_lost),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
