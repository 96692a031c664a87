/* test-registry-auth.c: the WWW-Authenticate parser (www-authenticate.h)
 * on the challenges real registries send (Docker Hub, ghcr.io, quay.io,
 * docker-registry with htpasswd), on the corners of the grammar (quoted
 * commas, escapes, blanks around '=', several challenges, token68) and on
 * values that are not challenges at all. */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/www-authenticate.h"
#include "util/error.h"

/* Parse value, which must succeed, and compare the three fields (NULL:
 * absent). */
static void
expect (const char *value, const char *scheme, const char *realm,
        const char *service)
{
  struct www_authenticate ch;
  ohr_error_t err = NULL;
  if (www_authenticate_parse (value, &ch, &err) < 0)
    fail_msg ("'%s': %s", value, err->msg);
  assert_string_equal (ch.scheme, scheme);
  if (realm)
    assert_string_equal (ch.realm, realm);
  else
    assert_null (ch.realm);
  if (service)
    assert_string_equal (ch.service, service);
  else
    assert_null (ch.service);
  www_authenticate_clear (&ch);
  assert_null (ch.scheme);
}

static void
expect_fail (const char *value)
{
  struct www_authenticate ch = { (char *)"untouched", NULL, NULL };
  ohr_error_t err = NULL;
  assert_true (www_authenticate_parse (value, &ch, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->status, EPROTO);
  assert_int_equal (err->kind, OHR_ERR_IMAGE);
  assert_null (strchr (err->msg, '\n'));
  /* *out is set only on success */
  assert_string_equal (ch.scheme, "untouched");
  ohr_error_free (&err);
}

static void
test_real_registries (void **state)
{
  (void)state;
  /* Docker Hub */
  expect ("Bearer realm=\"https://auth.docker.io/token\","
          "service=\"registry.docker.io\","
          "scope=\"repository:library/alpine:pull\"",
          "Bearer", "https://auth.docker.io/token", "registry.docker.io");
  /* ghcr.io */
  expect ("Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\","
          "scope=\"repository:user/image:pull\"",
          "Bearer", "https://ghcr.io/token", "ghcr.io");
  /* quay.io, on /v2/ (no scope) */
  expect ("Bearer realm=\"https://quay.io/v2/auth\",service=\"quay.io\"",
          "Bearer", "https://quay.io/v2/auth", "quay.io");
  /* registry.gitlab.com, with an error parameter after a refused token */
  expect ("Bearer realm=\"https://gitlab.com/jwt/auth\","
          "service=\"container_registry\","
          "scope=\"repository:group/project:pull\",error=\"invalid_token\"",
          "Bearer", "https://gitlab.com/jwt/auth", "container_registry");
  /* docker-registry with htpasswd */
  expect ("Basic realm=\"Registry Realm\"", "Basic", "Registry Realm", NULL);
  /* a token server on loopback, as the integration tests run one */
  expect ("Bearer realm=\"http://127.0.0.1:5001/token?x=1\","
          "service=\"127.0.0.1:5000\"",
          "Bearer", "http://127.0.0.1:5001/token?x=1", "127.0.0.1:5000");
}

static void
test_grammar (void **state)
{
  (void)state;
  /* commas inside quotes belong to the value */
  expect ("Bearer realm=\"https://a.example/token?s=a,b\",service=\"s,t\"",
          "Bearer", "https://a.example/token?s=a,b", "s,t");
  /* a backslash escapes the next character, quote or backslash */
  expect ("Bearer realm=\"https://x/\\\"q\\\"\",service=\"a\\\\b\"", "Bearer",
          "https://x/\"q\"", "a\\b");
  expect ("Bearer realm=\"\\h\\t\\t\\p\"", "Bearer", "http", NULL);
  /* blanks around '=', between parameters, and before the scheme */
  expect ("  Bearer   realm = \"r\" ,\tservice\t=\ts", "Bearer", "r", "s");
  /* token (unquoted) values end at a comma or blank */
  expect ("Bearer realm=https://x/token,service=reg", "Bearer",
          "https://x/token", "reg");
  expect ("Bearer realm=https://x/token service=reg", "Bearer",
          "https://x/token", "reg");
  /* keys are case-insensitive; the scheme is kept as sent */
  expect ("bEaReR REALM=\"r\", Service=\"s\"", "bEaReR", "r", "s");
  /* the first of a repeated key counts */
  expect ("Bearer realm=\"first\",realm=\"second\",service=a,service=b",
          "Bearer", "first", "a");
  /* only the first challenge: the next scheme ends it */
  expect ("Basic realm=\"a\", Bearer realm=\"b\",service=\"c\"", "Basic", "a",
          NULL);
  expect ("Negotiate, Bearer realm=\"b\"", "Negotiate", NULL, NULL);
  /* token68 (RFC 7235): no parameters we use */
  expect ("Basic dXNlcjpwYXNzd29yZA==", "Basic", NULL, NULL);
  expect ("Basic abc==, realm=\"x\"", "Basic", NULL, NULL);
  /* empty values */
  expect ("Bearer realm=\"\",service=", "Bearer", "", "");
}

static void
test_missing_fields (void **state)
{
  (void)state;
  expect ("Bearer", "Bearer", NULL, NULL);
  expect ("Bearer ", "Bearer", NULL, NULL);
  expect ("Bearer service=\"registry.docker.io\"", "Bearer", NULL,
          "registry.docker.io");
  expect ("Bearer scope=\"repository:x:pull\"", "Bearer", NULL, NULL);
  /* unterminated quote: the value runs to the end */
  expect ("Bearer realm=\"https://auth.example/token", "Bearer",
          "https://auth.example/token", NULL);
  /* a backslash at the very end is kept */
  expect ("Bearer realm=\"a\\", "Bearer", "a\\", NULL);
  /* a parameter without '=' ends the challenge */
  expect ("Bearer realm", "Bearer", NULL, NULL);
  /* '=' where a key should be: nothing more is read */
  expect ("Bearer =\"x\", realm=\"r\"", "Bearer", NULL, NULL);
  expect ("Bearer \"quoted\" realm=\"r\"", "Bearer", NULL, NULL);
}

static void
test_garbage (void **state)
{
  (void)state;
  expect_fail ("");
  expect_fail ("   ");
  expect_fail (",,, \t,");
  expect_fail ("=");
  expect_fail ("=\"x\"");
  expect_fail ("\"Bearer\" realm=\"x\"");
  expect_fail (", =realm");

  /* bytes that are not text: parsed as tokens, never trusted further
   * (auth.c checks the realm and quotes the scheme sanitized) */
  expect ("\x01\x02\x7f realm=\xff\xfe", "\x01\x02\x7f", "\xff\xfe", NULL);

  /* a long value, and many parameters */
  size_t n = 100000;
  char *big = malloc (n + 64);
  assert_non_null (big);
  strcpy (big, "Bearer realm=\"");
  size_t l = strlen (big);
  memset (big + l, 'a', n);
  strcpy (big + l + n, "\"");
  struct www_authenticate ch;
  ohr_error_t err = NULL;
  assert_int_equal (www_authenticate_parse (big, &ch, &err), 0);
  assert_int_equal (strlen (ch.realm), n);
  www_authenticate_clear (&ch);
  l = 0;
  l += (size_t)sprintf (big, "Bearer");
  while (l + 8 < n)
    l += (size_t)sprintf (big + l, ",k=v");
  assert_int_equal (www_authenticate_parse (big, &ch, &err), 0);
  assert_null (ch.realm);
  www_authenticate_clear (&ch);
  free (big);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_real_registries),
    cmocka_unit_test (test_grammar),
    cmocka_unit_test (test_missing_fields),
    cmocka_unit_test (test_garbage),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
