/* test-error.c: the one error convention (util/error.h) and GError at the
 * module edge (util/gerror.h). */
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
#include "util/gerror.h"

static int my_fail (ohr_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* the shape of a module's own printf-like helper */
static int
my_fail (ohr_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  ohr_error_vset (err, EINVAL, OHR_ERR_IMAGE, fmt, ap);
  va_end (ap);
  return ohr_error_wrap (err, "invalid %s", "manifest");
}

static void
test_set_and_wrap (void **state)
{
  ohr_error_t err = NULL;
  assert_int_equal (ohr_error_set (&err, ENOENT, OHR_ERR_USAGE, "no %s", "x"),
                    -ENOENT);
  assert_string_equal (err->msg, "no x");
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  /* the first error is the root cause: a second one does not replace it */
  assert_int_equal (ohr_error_set (&err, EIO, OHR_ERR_INTERNAL, "later"),
                    -ENOENT);
  assert_int_equal (ohr_error_wrap (&err, "file '%s'", "f"), -ENOENT);
  assert_string_equal (err->msg, "file 'f': no x");
  ohr_error_free (&err);
  assert_null (err);
  assert_int_equal (ohr_error_set (&err, 0, OHR_ERR_USAGE, "status 0"), -1);
  ohr_error_free (&err);
  assert_int_equal (ohr_error_errno (&err, EACCES, OHR_ERR_INTERNAL, "open"),
                    -EACCES);
  assert_string_equal (err->msg, "open: Permission denied");
  ohr_error_free (&err);
  /* NULL err: only the return value */
  assert_int_equal (ohr_error_set (NULL, EPERM, OHR_ERR_USAGE, "x"), -EPERM);
}

static void
test_vset_and_nomem (void **state)
{
  ohr_error_t err = NULL;
  assert_int_equal (my_fail (&err, "'%s' is missing", "config"), -EINVAL);
  assert_string_equal (err->msg, "invalid manifest: 'config' is missing");
  assert_int_equal (err->kind, OHR_ERR_IMAGE);
  ohr_error_free (&err);
  assert_int_equal (ohr_error_nomem (&err), -ENOMEM);
  assert_int_equal (err->status, ENOMEM);
  assert_int_equal (err->kind, OHR_ERR_INTERNAL);
  assert_string_equal (err->msg, "out of memory");
  ohr_error_free (&err);
}

static void
test_gerror (void **state)
{
  ohr_error_t err = NULL;
  GError *gerr = g_error_new (g_quark_from_static_string ("test"), 1,
                              "first line\nsecond\r\nthird");
  assert_int_equal (ohr_error_gerror (&err, gerr, "cannot %s", "commit"),
                    -EIO);
  assert_string_equal (err->msg, "cannot commit: first line second  third");
  assert_int_equal (err->kind, OHR_ERR_IMAGE);
  ohr_error_free (&err);
  g_error_free (gerr);
  ohr_error_gerror (&err, NULL, "cannot prune");
  assert_string_equal (err->msg, "cannot prune: unknown error");
  ohr_error_free (&err);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_set_and_wrap),
    cmocka_unit_test (test_vset_and_nomem),
    cmocka_unit_test (test_gerror),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
