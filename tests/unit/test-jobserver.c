/* test-jobserver.c: CARGO_MAKEFLAGS parsing and rewriting. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/jobserver.h"
#include "util/error.h"

static void
parse_ok (const char *makeflags, int first_fd, struct jobserver *js)
{
  ohr_error_t err = NULL;
  int r = jobserver_parse (makeflags, first_fd, js, &err);
  if (r < 0)
    fail_msg ("jobserver_parse failed: %s", err ? err->msg : "(no error)");
  assert_null (err);
}

static void
test_pipe_rewritten (void **state)
{
  int p[2];
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  char flags[128], want[128];
  snprintf (flags, sizeof flags,
            "-j --jobserver-fds=%d,%d --jobserver-auth=%d,%d", p[0], p[1],
            p[0], p[1]);
  /* first_fd far from the pipe's numbers, so a copy is not a rewrite */
  int first = 40;
  snprintf (want, sizeof want,
            "-j --jobserver-fds=%d,%d --jobserver-auth=%d,%d", first,
            first + 1, first, first + 1);

  struct jobserver js;
  parse_ok (flags, first, &js);
  assert_int_equal (js.read_fd, p[0]);
  assert_int_equal (js.write_fd, p[1]);
  assert_null (js.fifo);
  assert_non_null (js.makeflags);
  assert_string_equal (js.makeflags, want);
  jobserver_clear (&js);
  assert_int_equal (js.read_fd, -1);
  assert_int_equal (js.write_fd, -1);
  assert_null (js.makeflags);
  close (p[0]);
  close (p[1]);
}

static void
test_closed_fds_dropped (void **state)
{
  int p[2];
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  close (p[0]);
  close (p[1]);
  char flags[128];
  snprintf (flags, sizeof flags,
            "-j --jobserver-fds=%d,%d --jobserver-auth=%d,%d", p[0], p[1],
            p[0], p[1]);
  struct jobserver js;
  parse_ok (flags, 3, &js);
  assert_int_equal (js.read_fd, -1);
  assert_int_equal (js.write_fd, -1);
  assert_null (js.fifo);
  assert_string_equal (js.makeflags, "-j");
  jobserver_clear (&js);
}

static void
test_half_open_dropped (void **state)
{
  /* the read end open, the write end closed: not a usable jobserver */
  int p[2];
  assert_int_equal (pipe2 (p, O_CLOEXEC), 0);
  close (p[1]);
  char flags[128];
  snprintf (flags, sizeof flags, "-j --jobserver-auth=%d,%d", p[0], p[1]);
  struct jobserver js;
  parse_ok (flags, 3, &js);
  assert_int_equal (js.read_fd, -1);
  assert_int_equal (js.write_fd, -1);
  assert_string_equal (js.makeflags, "-j");
  jobserver_clear (&js);
  close (p[0]);
}

static void
test_malformed_dropped (void **state)
{
  struct jobserver js;
  parse_ok ("-j --jobserver-auth=abc --jobserver-fds=1, --jobserver-auth=-1,2",
            3, &js);
  assert_int_equal (js.read_fd, -1);
  assert_int_equal (js.write_fd, -1);
  assert_string_equal (js.makeflags, "-j");
  jobserver_clear (&js);
}

static void
test_fifo (void **state)
{
  struct jobserver js;
  parse_ok ("-j --jobserver-auth=fifo:/tmp/GMfifo1234", 3, &js);
  assert_int_equal (js.read_fd, -1);
  assert_int_equal (js.write_fd, -1);
  assert_non_null (js.fifo);
  assert_string_equal (js.fifo, "/tmp/GMfifo1234");
  assert_string_equal (js.makeflags,
                       "-j --jobserver-auth=fifo:/tmp/GMfifo1234");
  jobserver_clear (&js);
  assert_null (js.fifo);
}

/* As root the runner opens the fifo and passes it as the fd pair. */
static void
test_fifo_opened (void **state)
{
  char dir[] = "/tmp/test-jobserver-XXXXXX", path[64], flags[128];
  assert_non_null (mkdtemp (dir));
  snprintf (path, sizeof path, "%s/fifo", dir);
  assert_int_equal (mkfifo (path, 0600), 0);
  snprintf (flags, sizeof flags, "-j2 --jobserver-auth=fifo:%s -k", path);
  struct jobserver js;
  parse_ok (flags, 5, &js);
  assert_int_equal (jobserver_open_fifo (&js, 5, NULL), 0);
  assert_null (js.fifo);
  assert_true (js.read_fd >= 0);
  assert_int_equal (js.read_fd, js.write_fd);
  assert_string_equal (js.makeflags, "-j2 --jobserver-auth=5,6 -k");
  /* a token written through the fd comes back through it */
  char c = 0;
  assert_int_equal (write (js.write_fd, "t", 1), 1);
  assert_int_equal (read (js.read_fd, &c, 1), 1);
  assert_int_equal (c, 't');
  jobserver_clear (&js);
  assert_int_equal (js.fifo_fd, -1);
  /* without a fifo: nothing to do */
  parse_ok ("-j2", 5, &js);
  assert_int_equal (jobserver_open_fifo (&js, 5, NULL), 0);
  assert_int_equal (js.read_fd, -1);
  jobserver_clear (&js);
  unlink (path);
  rmdir (dir);
}

static void
test_other_words_kept (void **state)
{
  struct jobserver js;
  parse_ok ("  -j8   -k  --no-print-directory ", 3, &js);
  assert_int_equal (js.read_fd, -1);
  assert_string_equal (js.makeflags, "-j8 -k --no-print-directory");
  jobserver_clear (&js);
}

static void
test_null (void **state)
{
  struct jobserver js;
  memset (&js, 0x5a, sizeof js);
  parse_ok (NULL, 3, &js);
  assert_int_equal (js.read_fd, -1);
  assert_int_equal (js.write_fd, -1);
  assert_null (js.fifo);
  assert_null (js.makeflags);
  jobserver_clear (&js);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_pipe_rewritten),
    cmocka_unit_test (test_closed_fds_dropped),
    cmocka_unit_test (test_half_open_dropped),
    cmocka_unit_test (test_malformed_dropped),
    cmocka_unit_test (test_fifo),
    cmocka_unit_test (test_fifo_opened),
    cmocka_unit_test (test_other_words_kept),
    cmocka_unit_test (test_null),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
