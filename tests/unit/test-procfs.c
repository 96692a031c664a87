/* test-procfs.c: kernel settings read from /proc and /sys
 * (util/procfs.h). */
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

#include "util/procfs.h"

static long
read_text (const char *text, long missing)
{
  char path[] = "/tmp/test-procfs-XXXXXX";
  int fd = mkstemp (path);
  assert_true (fd >= 0);
  assert_int_equal (write (fd, text, strlen (text)), (ssize_t)strlen (text));
  close (fd);
  long v = procfs_read_long (path, missing);
  unlink (path);
  return v;
}

static void
test_read_long (void **state)
{
  assert_int_equal (read_text ("15432\n", -1), 15432);
  assert_int_equal (read_text ("0\n", -1), 0);
  assert_int_equal (read_text ("-3", 9), -3);
  /* an empty file is missing; text that is no number reads as 0 (strtol) */
  assert_int_equal (read_text ("", 7), 7);
  assert_int_equal (read_text ("abc", 7), 0);
  assert_int_equal (procfs_read_long ("/nonexistent/procfs", 5), 5);
  /* a real one: always there on Linux */
  assert_true (procfs_read_long ("/proc/sys/kernel/pid_max", -1) > 0);
}

/* Our start time is field 22 of /proc/self/stat, as ps reads it; a
 * process that is gone has none. */
static void
test_start_time (void **state)
{
  (void)state;
  FILE *f = fopen ("/proc/self/stat", "r");
  assert_non_null (f);
  char buf[1024];
  assert_non_null (fgets (buf, sizeof buf, f));
  fclose (f);
  char *p = strrchr (buf, ')');
  assert_non_null (p);
  unsigned long long want = 0;
  /* fields 3..21 skipped, 22 read */
  assert_int_equal (sscanf (p + 2,
                            "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                            "%*u %*u %*d %*d %*d %*d %*d %*d %llu",
                            &want),
                    1);
  assert_true (want > 0);
  assert_true (procfs_start_time (getpid ()) == want);
  assert_true (procfs_start_time (-1) == 0);
  pid_t child = fork ();
  assert_true (child >= 0);
  if (child == 0)
    _exit (0);
  assert_int_equal (waitpid (child, NULL, 0), child);
  assert_true (procfs_start_time (child) == 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_read_long),
    cmocka_unit_test (test_start_time),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
