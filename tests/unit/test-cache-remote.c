/* test-cache-remote.c: the remote cache's settings as the store helper
 * reads them from the bundle (src/cache/remote.c), and the name of an
 * entry's signature entry.  Fetch and upload run against a real nginx in
 * tests/integration/test-result-cache-remote.sh. */
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

#include "cache/remote.h"
#include "tmpdir.h"
#include "util/cleanup.h"

#define KEY "98274b986e96aa0000000000000000000000000000000000000000000000beef"

static void
settings (const char *text)
{
  cleanup_free char *p = fs_path_join (tmp, CACHE_REMOTE_CONFIG);
  ohr_error_t err = NULL;
  assert_int_equal (fs_write_new (p, text, strlen (text), 0600, &err), 0);
}

/* No file: no remote (0), nothing allocated. */
static void
test_none (void **state)
{
  struct cache_remote r;
  ohr_error_t err = NULL;
  assert_int_equal (cache_remote_open (tmp, &r, &err), 0);
  assert_null (err);
  assert_null (r.http);
}

static void
test_settings (void **state)
{
  settings ("url http://cache:8080/team\nmode read\nstate /run/s\n"
            "build-pid 1\ntrust any\nfuture-setting x\n");
  struct cache_remote r;
  ohr_error_t err = NULL;
  assert_int_equal (cache_remote_open (tmp, &r, &err), 1);
  assert_string_equal (r.url, "http://cache:8080/team");
  assert_false (r.write);
  assert_null (r.sign_key);
  assert_true (r.trust.any);
  assert_non_null (r.http);
  assert_string_equal (cache_http_display_url (r.http),
                       "http://cache:8080/team");
  cache_remote_close (&r);
  assert_null (r.http);
}

/* read-write and a signing key: uploads; credentials kept out of the
 * display URL. */
static void
test_read_write (void **state)
{
  settings ("url http://u:pw@cache/x\nmode read-write\nsign /k/ci.key\n");
  struct cache_remote r;
  ohr_error_t err = NULL;
  assert_int_equal (cache_remote_open (tmp, &r, &err), 1);
  assert_true (r.write);
  assert_string_equal (r.sign_key, "/k/ci.key");
  assert_null (strstr (cache_http_display_url (r.http), "pw"));
  cache_remote_close (&r);
}

static void
test_bad (void **state)
{
  struct cache_remote r;
  ohr_error_t err = NULL;
  settings ("mode read\n");
  assert_true (cache_remote_open (tmp, &r, &err) < 0);
  assert_non_null (strstr (err->msg, "no url"));
  ohr_error_free (&err);
  cleanup_free char *p = fs_path_join (tmp, CACHE_REMOTE_CONFIG);
  unlink (p);
  settings ("url ftp://cache/x\n");
  assert_true (cache_remote_open (tmp, &r, &err) < 0);
  ohr_error_free (&err);
  unlink (p);
  settings ("url http://cache/x\ntrust /nonexistent.pub\n");
  assert_true (cache_remote_open (tmp, &r, &err) < 0);
  assert_non_null (strstr (err->msg, "--result-cache-trust"));
  ohr_error_free (&err);
}

/* The signature entry's name: 64 hex digits, fixed for a key, another
 * key's another, never the key itself. */
static void
test_sig_name (void **state)
{
  char a[65], b[65], c[65];
  cache_remote_sig_name (KEY, a);
  cache_remote_sig_name (KEY, b);
  cache_remote_sig_name (KEY + 1, c);
  assert_int_equal (strlen (a), 64);
  assert_int_equal (strspn (a, "0123456789abcdef"), 64);
  assert_string_equal (a, b);
  assert_string_not_equal (a, c);
  assert_string_not_equal (a, KEY);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_none, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_settings, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_read_write, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_bad, setup_tmp, teardown_tmp),
    cmocka_unit_test (test_sig_name),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
