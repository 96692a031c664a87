/* test-digest.c: sha256 digests, one-shot, streaming and of files. */
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
#include <unistd.h>

#include "util/digest.h"
#include "util/error.h"
#include "util/fs.h"

struct vector
{
  const char *input;
  const char *digest;
};

/* FIPS 180-2 and NIST CAVP examples. */
static const struct vector vectors[] = {
  { "", "sha256:"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
  { "abc",
    "sha256:"
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
  { "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
    "sha256:"
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
};

static const char million_a[]
    = "sha256:"
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";

static void
test_known_vectors (void **state)
{
  char out[DIGEST_STRING_LEN + 1];
  for (size_t i = 0; i < sizeof vectors / sizeof *vectors; i++)
    {
      memset (out, 'x', sizeof out);
      digest_sha256 (vectors[i].input, strlen (vectors[i].input), out);
      assert_string_equal (out, vectors[i].digest);
      assert_int_equal (strlen (out), DIGEST_STRING_LEN);
      assert_true (digest_valid (out));
    }
  char *a = malloc (1000000);
  assert_non_null (a);
  memset (a, 'a', 1000000);
  digest_sha256 (a, 1000000, out);
  assert_string_equal (out, million_a);
  free (a);
}

static void
test_valid (void **state)
{
  const char *hex64
      = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  char buf[128];
  snprintf (buf, sizeof buf, "sha256:%s", hex64);
  assert_true (digest_valid (buf));
  assert_true (digest_valid ("sha256:"
                             "00000000000000000000000000000000"
                             "00000000000000000000000000000000"));

  static const char *const invalid[] = {
    "",
    "sha256:",
    "sha256",
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    /* 63 and 65 hex digits */
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad0",
    /* uppercase hex, uppercase algorithm */
    "sha256:BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD",
    "SHA256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    /* another algorithm, or sha256 with an encoding suffix */
    "sha512:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha256+b64:"
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015",
    /* not hex, surrounding space, a trailing newline */
    "sha256:ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    " sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ",
    "sha256:"
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n",
    "sha256: ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015a",
  };
  for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
    if (digest_valid (invalid[i]))
      fail_msg ("'%s' should be invalid", invalid[i]);
  assert_false (digest_valid (NULL));

  /* the bare hex of Bazel's remote cache names */
  assert_true (digest_hex_valid (hex64));
  assert_false (digest_hex_valid (NULL));
  assert_false (digest_hex_valid (buf));
  for (size_t i = 0; i < sizeof invalid / sizeof *invalid; i++)
    if (strncmp (invalid[i], "sha256:", 7) == 0
        && digest_hex_valid (invalid[i] + 7))
      fail_msg ("'%s' should be invalid hex", invalid[i] + 7);
}

/* Feeding the same bytes in any chunking gives the one-shot digest. */
static void
test_streaming_equals_oneshot (void **state)
{
  size_t len = 200000;
  unsigned char *data = malloc (len);
  assert_non_null (data);
  for (size_t i = 0; i < len; i++)
    data[i] = (unsigned char)(i * 7919 % 251);
  char oneshot[DIGEST_STRING_LEN + 1], streamed[DIGEST_STRING_LEN + 1];
  digest_sha256 (data, len, oneshot);

  static const size_t chunks[] = { 1, 3, 63, 64, 65, 4096, 65536, 200000 };
  for (size_t c = 0; c < sizeof chunks / sizeof *chunks; c++)
    {
      struct digest_ctx *ctx = digest_new ();
      assert_non_null (ctx);
      for (size_t off = 0; off < len; off += chunks[c])
        {
          size_t n = len - off < chunks[c] ? len - off : chunks[c];
          digest_update (ctx, data + off, n);
        }
      digest_final (ctx, streamed);
      digest_free (ctx);
      assert_string_equal (streamed, oneshot);
    }

  /* nothing fed: the empty digest; zero-length updates change nothing */
  struct digest_ctx *ctx = digest_new ();
  digest_update (ctx, data, 0);
  digest_final (ctx, streamed);
  digest_free (ctx);
  assert_string_equal (streamed, vectors[0].digest);
  digest_free (NULL);
  free (data);
}

static int
setup_tmp (void **state)
{
  char *dir = strdup ("/tmp/ohr-test-digest-XXXXXX");
  if (dir == NULL || mkdtemp (dir) == NULL)
    return -1;
  *state = dir;
  return 0;
}

static int
teardown_tmp (void **state)
{
  ohr_error_t err = NULL;
  fs_rm_rf (*state, &err);
  ohr_error_free (&err);
  free (*state);
  return 0;
}

static char *
write_tmp (const char *dir, const char *name, const void *data, size_t len)
{
  char *path = fs_path_join (dir, name);
  ohr_error_t err = NULL;
  assert_non_null (path);
  if (fs_write_new (path, data, len, 0644, &err) < 0)
    fail_msg ("%s", err->msg);
  return path;
}

static void
test_file (void **state)
{
  const char *dir = *state;
  char out[DIGEST_STRING_LEN + 1];
  ohr_error_t err = NULL;

  char *abc = write_tmp (dir, "abc", "abc", 3);
  assert_int_equal (digest_file (abc, out, &err), 0);
  assert_null (err);
  assert_string_equal (out, vectors[1].digest);

  char *empty = write_tmp (dir, "empty", "", 0);
  assert_int_equal (digest_file (empty, out, &err), 0);
  assert_string_equal (out, vectors[0].digest);

  /* larger than digest_file's read buffer, so several reads */
  size_t len = 300001;
  char *big = malloc (len);
  assert_non_null (big);
  for (size_t i = 0; i < len; i++)
    big[i] = (char)(i % 253);
  char *bigf = write_tmp (dir, "big", big, len);
  char want[DIGEST_STRING_LEN + 1];
  digest_sha256 (big, len, want);
  assert_int_equal (digest_file (bigf, out, &err), 0);
  assert_string_equal (out, want);

  free (abc);
  free (empty);
  free (bigf);
  free (big);
}

static void
test_file_errors (void **state)
{
  const char *dir = *state;
  char out[DIGEST_STRING_LEN + 1];
  ohr_error_t err = NULL;

  char *missing = fs_path_join (dir, "missing");
  assert_true (digest_file (missing, out, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->status, ENOENT);
  assert_non_null (strstr (err->msg, missing));
  assert_null (strchr (err->msg, '\n'));
  ohr_error_free (&err);

  /* a directory opens but cannot be read */
  assert_true (digest_file (dir, out, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->status, EISDIR);
  assert_non_null (strstr (err->msg, "cannot read"));
  ohr_error_free (&err);
  free (missing);
}

/* Run mode's SHA-256 (src/util/sha256-plain.c, not in libohr.a)
 * must give OpenSSL's digests: compiled in here under other names. */
#define digest_sha256 plain_digest_sha256
#define digest_new plain_digest_new
#define digest_update plain_digest_update
#define digest_final plain_digest_final
#define digest_free plain_digest_free
#define digest_ctx plain_digest_ctx
void plain_digest_sha256 (const void *data, size_t len, char *out);
struct plain_digest_ctx *plain_digest_new (void);
void plain_digest_update (struct plain_digest_ctx *c, const void *data,
                          size_t len);
void plain_digest_final (struct plain_digest_ctx *c, char *out);
void plain_digest_free (struct plain_digest_ctx *c);
#include "../../src/util/sha256-plain.c"
#undef digest_sha256
#undef digest_new
#undef digest_update
#undef digest_final
#undef digest_free
#undef digest_ctx

static void
plain_equals_openssl (void)
{
  size_t max = 3000;
  unsigned char *data = malloc (max);
  assert_non_null (data);
  for (size_t i = 0; i < max; i++)
    data[i] = (unsigned char)(i * 131 + (i >> 3));
  char a[DIGEST_STRING_LEN + 1], b[DIGEST_STRING_LEN + 1];
  /* every length around the padding's edges, and longer ones */
  for (size_t len = 0; len < max; len += len < 300 ? 1 : 97)
    {
      digest_sha256 (data, len, a);
      plain_digest_sha256 (data, len, b);
      assert_string_equal (a, b);
      /* streamed in uneven pieces */
      struct plain_digest_ctx *c = plain_digest_new ();
      assert_non_null (c);
      for (size_t off = 0, step = 1; off < len;
           off += step, step = step * 3 % 71 + 1)
        plain_digest_update (c, data + off,
                             off + step > len ? len - off : step);
      plain_digest_final (c, b);
      plain_digest_free (c);
      assert_string_equal (a, b);
    }
  plain_digest_sha256 ("abc", 3, b);
  assert_string_equal (b, "sha256:ba7816bf8f01cfea414140de5dae2223"
                          "b00361a396177a9cb410ff61f20015ad");
  free (data);
}

/* Both block functions: the plain one, and the SHA extensions' where the
 * CPU has them (then the one picked on first use). */
static void
test_plain_equals_openssl (void **state)
{
  (void)state;
  compress_fn = compress;
  plain_equals_openssl ();
  compress_fn = NULL;
  plain_equals_openssl ();
  if (cpu_has_sha_ni ())
    {
      assert_ptr_equal (compress_fn, compress_ni);
      compress_fn = compress_ni;
      plain_equals_openssl ();
    }
  else
    {
      assert_ptr_equal (compress_fn, compress);
      print_message ("no SHA extensions on this CPU: the plain code only\n");
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_known_vectors),
    cmocka_unit_test (test_valid),
    cmocka_unit_test (test_streaming_equals_oneshot),
    cmocka_unit_test (test_plain_equals_openssl),
    cmocka_unit_test_setup_teardown (test_file, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_file_errors, setup_tmp,
                                     teardown_tmp),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
