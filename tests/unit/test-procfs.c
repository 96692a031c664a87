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

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_read_long),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
