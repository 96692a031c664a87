/* test-cache-sign.c: result-cache entry signatures (src/cache/sign.c) with
 * real ed25519 keys made by the attest key code: a good entry, a flipped
 * byte in the payload and in the signature, another key, `any`, several
 * trusted keys, malformed envelopes. */
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

#include "attest/attest.h"
#include "cache/sign.h"
#include "tmpdir.h"
#include "util/base64.h"
#include "util/cleanup.h"

#define ACTION                                                                \
  "0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9"
#define RESULT                                                                \
  "f9e8d7c6b5a40312f9e8d7c6b5a40312f9e8d7c6b5a40312f9e8d7c6b5a40312"

struct keys
{
  char *priv1, *pub1, *id1;
  char *priv2, *pub2, *id2;
};

static struct keys K;

static char *
path_in_tmp (const char *name)
{
  char *p = NULL;
  assert_true (asprintf (&p, "%s/%s", tmp, name) > 0);
  return p;
}

static int
setup_keys (void **state)
{
  if (setup_tmp (state) < 0)
    return -1;
  char *one = path_in_tmp ("one"), *two = path_in_tmp ("two");
  if (attest_keygen (one, &K.id1, NULL) < 0
      || attest_keygen (two, &K.id2, NULL) < 0)
    return -1;
  if (asprintf (&K.priv1, "%s.key", one) < 0
      || asprintf (&K.pub1, "%s.pub", one) < 0
      || asprintf (&K.priv2, "%s.key", two) < 0
      || asprintf (&K.pub2, "%s.pub", two) < 0)
    return -1;
  free (one);
  free (two);
  return 0;
}

static int
teardown_keys (void **state)
{
  free_many (K.priv1, K.pub1, K.id1, K.priv2, K.pub2, K.id2);
  memset (&K, 0, sizeof K);
  return teardown_tmp (state);
}

static char *
sign (const char *key, const char *action, const char *result)
{
  char *env = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  int r = cache_sign_entry (key, action, result, &env, &len, &err);
  if (r < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (len, strlen (env));
  return env;
}

static enum cache_verdict
judge (const struct cache_trust *t, const char *env, const char *action,
       const char *result, char **reason)
{
  enum cache_verdict v = CACHE_TRUSTED;
  ohr_error_t err = NULL;
  assert_int_equal (cache_verify_entry (t, env, strlen (env), action, result,
                                        &v, reason, &err),
                    0);
  assert_non_null (*reason);
  return v;
}

static void
trust (struct cache_trust *t, const char *spec)
{
  ohr_error_t err = NULL;
  if (cache_trust_add (t, spec, &err) < 0)
    fail_msg ("%s", err->msg);
}

/* env with the base64 string after "FIELD":" decoded, changed by edit,
 * and encoded again */
static char *
rewrite (const char *env, const char *field,
         void (*edit) (unsigned char *, size_t))
{
  char *key = NULL;
  assert_true (asprintf (&key, "\"%s\":\"", field) > 0);
  const char *start = strstr (env, key);
  assert_non_null (start);
  start += strlen (key);
  const char *end = strchr (start, '"');
  char *b64 = strndup (start, (size_t)(end - start));
  unsigned char *bytes = NULL;
  size_t n = 0;
  assert_int_equal (base64_decode (b64, &bytes, &n), 0);
  edit (bytes, n);
  char *again = base64_encode (bytes, n);
  char *out = NULL;
  assert_true (asprintf (&out, "%.*s%s%s", (int)(start - env), env, again, end)
               > 0);
  free_many (key, b64, bytes, again);
  return out;
}

static void
flip_first_byte (unsigned char *p, size_t n)
{
  assert_true (n > 0);
  p[0] ^= 0x01;
}

/* the last hex digit of the action result's digest: RESULT ends in '2' */
static void
flip_result_digest (unsigned char *p, size_t n)
{
  char *at = memmem (p, n, RESULT, 64);
  assert_non_null (at);
  at[63] = '3';
}

static void
test_good (void **state)
{
  (void)state;
  char *env = sign (K.priv1, ACTION, RESULT), *reason = NULL;
  struct cache_trust t = { 0 };
  trust (&t, K.pub1);
  assert_int_equal (judge (&t, env, ACTION, RESULT, &reason), CACHE_TRUSTED);
  char *want = NULL;
  assert_true (asprintf (&want, "signed by key %.16s", K.id1) > 0);
  assert_string_equal (reason, want);
  free_many (want, reason);

  /* the private key's public half serves as a trusted key too */
  struct cache_trust t2 = { 0 };
  trust (&t2, K.priv1);
  assert_int_equal (judge (&t2, env, ACTION, RESULT, &reason), CACHE_TRUSTED);
  free (reason);

  /* the same entry looked up for another action, or with another result */
  assert_int_equal (judge (&t, env, RESULT, RESULT, &reason), CACHE_TAMPERED);
  assert_string_equal (reason, "tampered: the payload names another action");
  free (reason);
  assert_int_equal (judge (&t, env, ACTION, ACTION, &reason), CACHE_TAMPERED);
  assert_string_equal (reason,
                       "tampered: the payload names another action result");
  free (reason);
  cache_trust_clear (&t);
  cache_trust_clear (&t2);
  free (env);
}

static void
test_payload_flipped (void **state)
{
  (void)state;
  char *env = sign (K.priv1, ACTION, RESULT), *reason = NULL;
  struct cache_trust t = { 0 };
  trust (&t, K.pub1);

  /* the payload now claims another result, and the reader asks for
   * exactly that one: only the signature can tell */
  char *forged = rewrite (env, "payload", flip_result_digest);
  char flipped_result[65];
  memcpy (flipped_result, RESULT, 65);
  flipped_result[63] = '3';
  assert_int_equal (judge (&t, forged, ACTION, flipped_result, &reason),
                    CACHE_TAMPERED);
  char *want = NULL;
  assert_true (asprintf (&want,
                         "tampered: the signature by trusted key %.16s does "
                         "not verify",
                         K.id1)
               > 0);
  assert_string_equal (reason, want);
  free_many (want, reason);
  /* asked for the original result, the payload no longer names it */
  assert_int_equal (judge (&t, forged, ACTION, RESULT, &reason),
                    CACHE_TAMPERED);
  free (reason);

  /* a flipped first byte breaks the JSON itself */
  char *broken = rewrite (env, "payload", flip_first_byte);
  assert_int_equal (judge (&t, broken, ACTION, RESULT, &reason),
                    CACHE_TAMPERED);
  assert_string_equal (reason, "tampered: the payload is not a JSON object");
  free_many (reason, forged, broken, env);
  cache_trust_clear (&t);
}

static void
test_signature_flipped (void **state)
{
  (void)state;
  char *env = sign (K.priv1, ACTION, RESULT), *reason = NULL;
  struct cache_trust t = { 0 };
  trust (&t, K.pub1);
  char *bad = rewrite (env, "sig", flip_first_byte);
  assert_int_equal (judge (&t, bad, ACTION, RESULT, &reason), CACHE_TAMPERED);
  assert_non_null (strstr (reason, "does not verify"));
  free (reason);
  /* `any` does not excuse a trusted key's bad signature */
  trust (&t, "any");
  assert_int_equal (judge (&t, bad, ACTION, RESULT, &reason), CACHE_TAMPERED);
  free_many (reason, bad, env);
  cache_trust_clear (&t);
}

static void
test_other_key (void **state)
{
  (void)state;
  char *env = sign (K.priv2, ACTION, RESULT), *reason = NULL;
  struct cache_trust t = { 0 };
  trust (&t, K.pub1);
  assert_int_equal (judge (&t, env, ACTION, RESULT, &reason), CACHE_UNTRUSTED);
  char *want = NULL;
  assert_true (asprintf (&want,
                         "untrusted: signed by key %.16s, which is not "
                         "trusted (--result-cache-trust)",
                         K.id2)
               > 0);
  assert_string_equal (reason, want);
  free_many (want, reason);

  /* both keys trusted: the second one's entry is trusted, and named */
  trust (&t, K.pub2);
  assert_int_equal (judge (&t, env, ACTION, RESULT, &reason), CACHE_TRUSTED);
  assert_int_equal (strncmp (reason + strlen ("signed by key "), K.id2, 16),
                    0);
  free_many (reason, env);
  cache_trust_clear (&t);
}

static void
test_any (void **state)
{
  (void)state;
  char *env = sign (K.priv2, ACTION, RESULT), *reason = NULL;
  struct cache_trust t = { 0 };
  trust (&t, "any");
  assert_true (t.any);
  assert_int_equal (judge (&t, env, ACTION, RESULT, &reason), CACHE_TRUSTED);
  assert_string_equal (reason,
                       "trusted without a signature check (trust: any)");
  free (reason);
  /* any signature is accepted unchecked, but the payload must still name
   * the action and the result */
  char *bad_sig = rewrite (env, "sig", flip_first_byte);
  assert_int_equal (judge (&t, bad_sig, ACTION, RESULT, &reason),
                    CACHE_TRUSTED);
  free (reason);
  assert_int_equal (judge (&t, env, ACTION, ACTION, &reason), CACHE_TAMPERED);
  free_many (reason, bad_sig, env);
  cache_trust_clear (&t);
}

static void
test_malformed (void **state)
{
  (void)state;
  struct cache_trust t = { 0 };
  trust (&t, K.pub1);
  char *reason = NULL;
  static const char *const bad[] = {
    "",
    "not json",
    "{}",
    "{\"payload\":\"e30=\",\"payloadType\":\"text/plain\",\"signatures\":[]}",
    "{\"payload\":\"!!\",\"payloadType\":\"" CACHE_SIGN_PAYLOAD_TYPE "\"}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    {
      assert_int_equal (judge (&t, bad[i], ACTION, RESULT, &reason),
                        CACHE_TAMPERED);
      assert_int_equal (strncmp (reason, "tampered: ", 10), 0);
      free (reason);
    }
  /* an in-toto statement envelope by a trusted key is not an entry */
  char *st = NULL;
  size_t st_len = 0;
  assert_int_equal (
      attest_dsse_sign ("{\"_type\":\"x\"}", 13, K.priv1, &st, &st_len, NULL),
      0);
  assert_int_equal (judge (&t, st, ACTION, RESULT, &reason), CACHE_TAMPERED);
  assert_string_equal (
      reason, "tampered: payloadType is not " CACHE_SIGN_PAYLOAD_TYPE);
  free_many (reason, st);

  /* well formed, no signature at all */
  char *env = sign (K.priv1, ACTION, RESULT);
  char *sigs = strstr (env, "\"signatures\":[");
  assert_non_null (sigs);
  char *unsigned_env = NULL;
  assert_true (asprintf (&unsigned_env, "%.*s\"signatures\":[]}",
                         (int)(sigs - env), env)
               > 0);
  assert_int_equal (judge (&t, unsigned_env, ACTION, RESULT, &reason),
                    CACHE_UNTRUSTED);
  assert_string_equal (reason, "untrusted: not signed");
  free_many (reason, unsigned_env, env);
  cache_trust_clear (&t);
}

static void
test_errors (void **state)
{
  (void)state;
  char *env = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  assert_true (cache_sign_entry (K.priv1, "abc", RESULT, &env, &len, &err)
               < 0);
  assert_non_null (strstr (err->msg, "lowercase hex"));
  ohr_error_free (&err);
  /* a public key cannot sign */
  assert_true (cache_sign_entry (K.pub1, ACTION, RESULT, &env, &len, &err)
               < 0);
  assert_non_null (strstr (err->msg, "sign result cache entry 0a1b2c3d4e5f"));
  ohr_error_free (&err);
  struct cache_trust t = { 0 };
  char *missing = path_in_tmp ("missing.pub");
  assert_true (cache_trust_add (&t, missing, &err) < 0);
  assert_non_null (strstr (err->msg, "result cache trust"));
  assert_non_null (strstr (err->msg, missing));
  ohr_error_free (&err);
  assert_int_equal (t.n, 0);
  free (missing);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_good),
    cmocka_unit_test (test_payload_flipped),
    cmocka_unit_test (test_signature_flipped),
    cmocka_unit_test (test_other_key),
    cmocka_unit_test (test_any),
    cmocka_unit_test (test_malformed),
    cmocka_unit_test (test_errors),
  };
  return cmocka_run_group_tests (tests, setup_keys, teardown_keys);
}
