/* test-proto.c: the protobuf wire format writer and reader, against bytes
 * derived by hand from the encoding rules (varints little-endian base 128,
 * tag = field << 3 | wire type). */
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

#include "cache/proto.h"
#include "util/buf.h"
#include "util/error.h"

static void
assert_bytes (const struct buf *b, const void *want, size_t n)
{
  assert_int_equal (b->len, n);
  assert_memory_equal (b->data, want, n);
}

static void
test_varints (void **state)
{
  static const struct
  {
    uint64_t v;
    const char *bytes;
    size_t n;
  } cases[] = {
    { 0, "\x00", 1 },
    { 1, "\x01", 1 },
    { 127, "\x7f", 1 },
    { 128, "\x80\x01", 2 },
    { 300, "\xac\x02", 2 },
    { UINT64_MAX, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10 },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      struct buf b = { 0 };
      assert_int_equal (proto_put_varint (&b, cases[i].v), 0);
      assert_bytes (&b, cases[i].bytes, cases[i].n);
      buf_clear (&b);
    }
}

static void
test_fields (void **state)
{
  struct buf b = { 0 };
  /* field 1 varint 150: the protobuf documentation's own example */
  assert_int_equal (proto_put_uint (&b, 1, 150), 0);
  /* field 2 string "testing" */
  assert_int_equal (proto_put_string (&b, 2, "testing"), 0);
  /* defaults are left out by the _opt writers */
  assert_int_equal (proto_put_uint_opt (&b, 3, 0), 0);
  assert_int_equal (proto_put_string_opt (&b, 3, ""), 0);
  /* but a repeated string may be empty */
  assert_int_equal (proto_put_string (&b, 3, ""), 0);
  /* field 4 int32 -1: sign-extended to ten bytes */
  assert_int_equal (proto_put_uint (&b, 4, (uint64_t)(int64_t)-1), 0);
  /* field 1 fixed64 1 */
  assert_int_equal (proto_put_fixed64 (&b, 1, 1), 0);
  /* a field number that needs a two-byte tag: 16 << 3 | 0 = 128 */
  assert_int_equal (proto_put_uint (&b, 16, 1), 0);
  static const char want[] = "\x08\x96\x01"
                             "\x12\x07testing"
                             "\x1a\x00"
                             "\x20\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
                             "\x09\x01\x00\x00\x00\x00\x00\x00\x00"
                             "\x80\x01\x01";
  assert_bytes (&b, want, sizeof want - 1);

  /* and back */
  struct proto_reader r;
  struct proto_field f;
  ohr_error_t err = NULL;
  proto_reader_init (&r, b.data, b.len);
  assert_int_equal (proto_next (&r, b.data, &f, &err), 1);
  assert_int_equal (f.number, 1);
  assert_int_equal (f.wire, PROTO_VARINT);
  assert_int_equal (f.value, 150);
  assert_int_equal (proto_next (&r, b.data, &f, &err), 1);
  assert_int_equal (f.number, 2);
  assert_int_equal (f.wire, PROTO_LEN);
  assert_int_equal (f.len, 7);
  assert_memory_equal (f.data, "testing", 7);
  assert_int_equal (proto_next (&r, b.data, &f, &err), 1);
  assert_int_equal (f.len, 0);
  assert_int_equal (proto_next (&r, b.data, &f, &err), 1);
  assert_int_equal ((int64_t)f.value, -1);
  assert_int_equal (proto_next (&r, b.data, &f, &err), 1);
  assert_int_equal (f.wire, PROTO_FIXED64);
  assert_int_equal (f.value, 1);
  assert_int_equal (proto_next (&r, b.data, &f, &err), 1);
  assert_int_equal (f.number, 16);
  assert_int_equal (proto_next (&r, b.data, &f, &err), 0);
  buf_clear (&b);
}

static void
expect_bad (const char *bytes, size_t n, const char *what)
{
  struct proto_reader r;
  struct proto_field f;
  ohr_error_t err = NULL;
  proto_reader_init (&r, bytes, n);
  int got;
  while ((got = proto_next (&r, bytes, &f, &err)) > 0)
    ;
  assert_true (got < 0);
  assert_int_equal (err->status, EBADMSG);
  assert_non_null (strstr (err->msg, what));
  ohr_error_free (&err);
}

static void
test_reader_refuses (void **state)
{
  /* a varint of eleven bytes */
  expect_bad ("\x08\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12,
              "overlong varint");
  /* ten bytes whose last holds more than bit 63 */
  expect_bad ("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11,
              "overlong varint");
  /* a varint cut short */
  expect_bad ("\x08\x80", 2, "truncated");
  /* a length past the end */
  expect_bad ("\x12\x05"
              "abc",
              5, "past the end");
  /* a length that would wrap a pointer */
  expect_bad ("\x12\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 10, "past the end");
  /* groups (wire types 3, 4) and 6, 7 */
  expect_bad ("\x0b", 1, "wire type");
  expect_bad ("\x0c", 1, "wire type");
  expect_bad ("\x0e", 1, "wire type");
  /* field number 0 */
  expect_bad ("\x00\x01", 2, "field number");
  /* fixed-width values cut short */
  expect_bad ("\x09\x01\x02", 3, "fixed-width");
  expect_bad ("\x0d\x01", 2, "fixed-width");
  /* a tag cut short */
  expect_bad ("\x80", 1, "tag");
}

/* Random bytes: the reader ends (0 or -1) without reading past them
 * (ASan in make unit-asan) and never loops. */
static void
test_reader_garbage (void **state)
{
  uint32_t seed = 12345;
  for (int round = 0; round < 20000; round++)
    {
      size_t n = (size_t)(round % 40);
      uint8_t *bytes = malloc (n ? n : 1);
      for (size_t i = 0; i < n; i++)
        {
          seed = seed * 1103515245 + 12345;
          bytes[i] = (uint8_t)(seed >> 16);
        }
      struct proto_reader r;
      struct proto_field f;
      ohr_error_t err = NULL;
      proto_reader_init (&r, bytes, n);
      int got, steps = 0;
      while ((got = proto_next (&r, bytes, &f, &err)) > 0)
        {
          assert_true (++steps <= (int)n);
          if (f.wire == PROTO_LEN)
            assert_true (f.data >= bytes && f.data + f.len <= bytes + n);
        }
      assert_true (got <= 0);
      ohr_error_free (&err);
      free (bytes);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_varints),
    cmocka_unit_test (test_fields),
    cmocka_unit_test (test_reader_refuses),
    cmocka_unit_test (test_reader_garbage),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
