/* tests/unit/tmpdir.h: a fresh temporary directory for each cmocka test
 * that asks for it (cmocka_unit_test_setup_teardown (t, setup_tmp,
 * teardown_tmp)); tmp names it while the test runs.  Included by the test
 * programs that need one, each its own copy. */
#ifndef OHR_TEST_TMPDIR_H
#define OHR_TEST_TMPDIR_H

#include <stdlib.h>
#include <string.h>

#include "util/error.h"
#include "util/fs.h"

static char *tmp;

static int
setup_tmp (void **state)
{
  (void)state;
  char templ[] = "/tmp/ohr-unit-XXXXXX";
  if (mkdtemp (templ) == NULL)
    return -1;
  tmp = strdup (templ);
  return tmp ? 0 : -1;
}

static int
teardown_tmp (void **state)
{
  (void)state;
  ohr_error_t err = NULL;
  int r = fs_rm_rf (tmp, &err);
  ohr_error_free (&err);
  free (tmp);
  tmp = NULL;
  return r;
}

#endif
