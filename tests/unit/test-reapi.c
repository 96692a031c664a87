/* test-reapi.c: the REAPI messages, encoded against bytes derived by hand
 * from remote_execution.proto's field numbers, decoded back, and the
 * decoders on truncated, altered and random input (they read what a
 * remote cache returns). */
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

#include "cache/reapi.h"
#include "util/buf.h"
#include "util/error.h"

#define HEX_A                                                                 \
  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B                                                                 \
  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void
assert_bytes (const struct buf *b, const void *want, size_t n)
{
  assert_int_equal (b->len, n);
  assert_memory_equal (b->data, want, n);
}

static void
test_digest (void **state)
{
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  struct reapi_digest d = { HEX_A, 5 };
  assert_int_equal (reapi_encode_digest (&b, &d, &err), 0);
  /* hash = 1 (0x0a, 64 bytes), size_bytes = 2 (0x10) */
  assert_bytes (&b, "\x0a\x40" HEX_A "\x10\x05", 68);
  buf_clear (&b);
  /* size 0 is left out */
  d.size = 0;
  assert_int_equal (reapi_encode_digest (&b, &d, &err), 0);
  assert_bytes (&b, "\x0a\x40" HEX_A, 66);
  buf_clear (&b);
  assert_true (reapi_digest_set (&d, "sha256:" HEX_B, 9));
  assert_string_equal (d.hash, HEX_B);
  assert_false (reapi_digest_set (&d, "sha512:" HEX_B, 9));
  assert_false (reapi_digest_set (&d, "sha256:abc", 9));
}

/* Directory { files = 1: FileNode { name = 1, digest = 2,
 * is_executable = 4 } }, sorted by name whatever the order given */
static void
test_directory (void **state)
{
  struct reapi_file files[] = {
    { .name = "y", .digest = { HEX_B, 0 } },
    { .name = "x", .digest = { HEX_A, 3 }, .is_executable = true },
  };
  struct reapi_directory d = { .files = files, .n_files = 2 };
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (reapi_encode_directory (&b, &d, &err), 0);
  /* x: 0a 01 'x' | 12 44 [0a 40 A 10 03] | 20 01 = 75 bytes
   * y: 0a 01 'y' | 12 42 [0a 40 B]               = 71 bytes */
  static const char want[]
      = "\x0a\x4b"
        "\x0a\x01x\x12\x44\x0a\x40" HEX_A "\x10\x03\x20\x01"
        "\x0a\x47"
        "\x0a\x01y\x12\x42\x0a\x40" HEX_B;
  assert_bytes (&b, want, sizeof want - 1);

  struct reapi_directory back;
  assert_int_equal (reapi_decode_directory (b.data, b.len, &back, &err), 0);
  assert_int_equal (back.n_files, 2);
  assert_string_equal (back.files[0].name, "x");
  assert_string_equal (back.files[0].digest.hash, HEX_A);
  assert_int_equal (back.files[0].digest.size, 3);
  assert_true (back.files[0].is_executable);
  assert_false (back.files[1].is_executable);
  reapi_directory_clear (&back);
  buf_clear (&b);
}

/* modes: NodeProperties = 6 (file) / 5 (directory) { unix_mode = 3:
 * UInt32Value { value = 1 } }; directories = 2, symlinks = 3 */
static void
test_directory_nodes (void **state)
{
  struct reapi_file f = {
    .name = "f", .digest = { HEX_A, 1 }, .has_mode = true, .mode = 0640
  };
  struct reapi_dirnode dn = { .name = "d", .digest = { HEX_B, 2 } };
  struct reapi_symlink l = { .name = "l", .target = "f" };
  struct reapi_directory d = { .files = &f,
                               .n_files = 1,
                               .dirs = &dn,
                               .n_dirs = 1,
                               .symlinks = &l,
                               .n_symlinks = 1,
                               .has_mode = true,
                               .mode = 0755 };
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (reapi_encode_directory (&b, &d, &err), 0);
  /* 0640 = 0x1a0 -> a0 03; 0755 = 0x1ed -> ed 03 */
  static const char want[] = "\x0a\x50"
                             "\x0a\x01"
                             "f\x12\x44\x0a\x40" HEX_A "\x10\x01"
                             "\x32\x05\x1a\x03\x08\xa0\x03"
                             "\x12\x49"
                             "\x0a\x01"
                             "d\x12\x44\x0a\x40" HEX_B "\x10\x02"
                             "\x1a\x06\x0a\x01l\x12\x01"
                             "f"
                             "\x2a\x05\x1a\x03\x08\xed\x03";
  assert_bytes (&b, want, sizeof want - 1);
  struct reapi_directory back;
  assert_int_equal (reapi_decode_directory (b.data, b.len, &back, &err), 0);
  assert_true (back.has_mode);
  assert_int_equal (back.mode, 0755);
  assert_true (back.files[0].has_mode);
  assert_int_equal (back.files[0].mode, 0640);
  assert_string_equal (back.dirs[0].name, "d");
  assert_int_equal (back.dirs[0].digest.size, 2);
  assert_string_equal (back.symlinks[0].target, "f");
  reapi_directory_clear (&back);
  buf_clear (&b);
}

static void
test_command (void **state)
{
  char *args[] = { "build-script", NULL };
  char *outs[] = { "out", NULL };
  struct reapi_pair env[] = { { "B", "2" }, { "A", "1" }, { "C", "" } };
  struct reapi_pair plat[] = { { "image", "x" } };
  struct reapi_command c = { .arguments = args,
                             .env = env,
                             .n_env = 3,
                             .output_directories = outs,
                             .platform = plat,
                             .n_platform = 1 };
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (reapi_encode_command (&b, &c, &err), 0);
  static const char want[] = "\x0a\x0c"
                             "build-script"
                             "\x12\x06\x0a\x01"
                             "A\x12\x01"
                             "1"
                             "\x12\x06\x0a\x01"
                             "B\x12\x01"
                             "2"
                             "\x12\x03\x0a\x01"
                             "C"
                             "\x22\x03out"
                             "\x2a\x0c\x0a\x0a\x0a\x05image\x12\x01x";
  assert_bytes (&b, want, sizeof want - 1);
  struct reapi_command back;
  assert_int_equal (reapi_decode_command (b.data, b.len, &back, &err), 0);
  assert_string_equal (back.arguments[0], "build-script");
  assert_null (back.arguments[1]);
  assert_int_equal (back.n_env, 3);
  assert_string_equal (back.env[2].name, "C");
  assert_string_equal (back.env[2].value, "");
  assert_string_equal (back.output_directories[0], "out");
  assert_string_equal (back.platform[0].value, "x");
  reapi_command_clear (&back);
  buf_clear (&b);
}

static void
test_action (void **state)
{
  struct reapi_pair plat[] = { { "b", "2" }, { "a", "1" } };
  struct reapi_action a = { .command_digest = { HEX_A, 1 },
                            .input_root_digest = { HEX_B, 2 },
                            .platform = plat,
                            .n_platform = 2 };
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (reapi_encode_action (&b, &a, &err), 0);
  /* do_not_cache = 7 false: left out; platform = 10 (0x52) sorted */
  static const char want[] = "\x0a\x44\x0a\x40" HEX_A "\x10\x01"
                             "\x12\x44\x0a\x40" HEX_B "\x10\x02"
                             "\x52\x10"
                             "\x0a\x06\x0a\x01"
                             "a\x12\x01"
                             "1"
                             "\x0a\x06\x0a\x01"
                             "b\x12\x01"
                             "2";
  assert_bytes (&b, want, sizeof want - 1);
  struct reapi_action back;
  assert_int_equal (reapi_decode_action (b.data, b.len, &back, &err), 0);
  assert_string_equal (back.command_digest.hash, HEX_A);
  assert_int_equal (back.input_root_digest.size, 2);
  assert_false (back.do_not_cache);
  assert_int_equal (back.n_platform, 2);
  reapi_action_clear (&back);
  buf_clear (&b);
  /* an Action without an input root is refused */
  assert_true (reapi_decode_action ("\x0a\x42\x0a\x40" HEX_A, 68, &back, &err)
               < 0);
  ohr_error_free (&err);
}

static void
test_action_result (void **state)
{
  struct reapi_output_directory od
      = { .path = "out", .tree_digest = { HEX_A, 7 } };
  struct reapi_action_result r = {
    .dirs = &od,
    .n_dirs = 1,
    .exit_code = 0,
    .has_stdout = true,
    .stdout_digest = { HEX_B, 0 },
    .has_times = true,
    .exec_start = { 100, 5 },
    .exec_end = { 103, 0 },
  };
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (reapi_encode_action_result (&b, &r, &err), 0);
  /* output_directories = 3 { path = 1, tree_digest = 3 }, exit_code = 4
   * (0: left out), stdout_digest = 6, execution_metadata = 9
   * { execution_start_timestamp = 7, execution_completed_timestamp = 8 } */
  static const char want[]
      = "\x1a\x4b\x0a\x03out\x1a\x44\x0a\x40" HEX_A "\x10\x07"
        "\x32\x42\x0a\x40" HEX_B
        "\x4a\x0a\x3a\x04\x08\x64\x10\x05\x42\x02\x08\x67";
  assert_bytes (&b, want, sizeof want - 1);
  struct reapi_action_result back;
  assert_int_equal (reapi_decode_action_result (b.data, b.len, &back, &err),
                    0);
  assert_int_equal (back.n_dirs, 1);
  assert_string_equal (back.dirs[0].path, "out");
  assert_int_equal (back.dirs[0].tree_digest.size, 7);
  assert_true (back.has_stdout);
  assert_false (back.has_stderr);
  assert_true (back.has_times);
  assert_int_equal (back.exec_start.tv_sec, 100);
  assert_int_equal (back.exec_start.tv_nsec, 5);
  assert_int_equal (back.exec_end.tv_sec, 103);
  reapi_action_result_clear (&back);
  buf_clear (&b);

  /* a negative exit code goes out sign-extended and comes back */
  struct reapi_action_result neg = { .exit_code = -2 };
  assert_int_equal (reapi_encode_action_result (&b, &neg, &err), 0);
  assert_bytes (&b, "\x20\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
  assert_int_equal (reapi_decode_action_result (b.data, b.len, &back, &err),
                    0);
  assert_int_equal (back.exit_code, -2);
  reapi_action_result_clear (&back);
  buf_clear (&b);
}

/* A tree to cut and alter. */
static void
sample_tree (struct buf *b)
{
  struct reapi_file rf[] = { { .name = "a.rs", .digest = { HEX_A, 10 } },
                             { .name = "lib.so",
                               .digest = { HEX_B, 20 },
                               .is_executable = true,
                               .has_mode = true,
                               .mode = 0755 } };
  struct reapi_dirnode rd = { .name = "sub", .digest = { HEX_B, 30 } };
  struct reapi_symlink rl = { .name = "link", .target = "a.rs" };
  struct reapi_file cf = { .name = "inner", .digest = { HEX_A, 1 } };
  struct reapi_directory child = { .files = &cf, .n_files = 1 };
  struct reapi_tree t = { .root = { .files = rf,
                                    .n_files = 2,
                                    .dirs = &rd,
                                    .n_dirs = 1,
                                    .symlinks = &rl,
                                    .n_symlinks = 1 },
                          .children = &child,
                          .n_children = 1 };
  ohr_error_t err = NULL;
  assert_int_equal (reapi_encode_tree (b, &t, &err), 0);
}

/* An output file (the result cache's attestation statement) goes out as
 * field 2, before the directories, and comes back; one without a digest
 * is refused. */
static void
test_action_result_file (void **state)
{
  (void)state;
  struct reapi_output_file of = { .path = "a/s.json", .digest = { HEX_A, 9 } };
  struct reapi_output_directory od
      = { .path = "out", .tree_digest = { HEX_B, 7 } };
  struct reapi_action_result r
      = { .files = &of, .n_files = 1, .dirs = &od, .n_dirs = 1 };
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (reapi_encode_action_result (&b, &r, &err), 0);
  static const char want[]
      = "\x12\x50\x0a\x08"
        "a/s.json\x12\x44\x0a\x40" HEX_A "\x10\x09"
        "\x1a\x4b\x0a\x03out\x1a\x44\x0a\x40" HEX_B "\x10\x07";
  assert_bytes (&b, want, sizeof want - 1);
  struct reapi_action_result back;
  assert_int_equal (reapi_decode_action_result (b.data, b.len, &back, &err),
                    0);
  assert_int_equal (back.n_files, 1);
  const struct reapi_output_file *f = reapi_result_file (&back, "a/s.json");
  assert_non_null (f);
  assert_string_equal (f->digest.hash, HEX_A);
  assert_int_equal (f->digest.size, 9);
  assert_null (reapi_result_file (&back, "out"));
  assert_int_equal (back.n_dirs, 1);
  reapi_action_result_clear (&back);
  buf_clear (&b);

  /* path only */
  static const char no_digest[] = "\x12\x03\x0a\x01x";
  assert_true (
      reapi_decode_action_result (no_digest, sizeof no_digest - 1, &back, &err)
      < 0);
  assert_non_null (err);
  ohr_error_free (&err);
}

static void
test_tree_round_trip (void **state)
{
  struct buf b = { 0 };
  sample_tree (&b);
  struct reapi_tree t;
  ohr_error_t err = NULL;
  assert_int_equal (reapi_decode_tree (b.data, b.len, &t, &err), 0);
  assert_int_equal (t.root.n_files, 2);
  assert_string_equal (t.root.files[1].name, "lib.so");
  assert_int_equal (t.root.files[1].mode, 0755);
  assert_int_equal (t.n_children, 1);
  assert_string_equal (t.children[0].files[0].name, "inner");
  /* encoding what was decoded gives the same bytes */
  struct buf again = { 0 };
  assert_int_equal (reapi_encode_tree (&again, &t, &err), 0);
  assert_int_equal (again.len, b.len);
  assert_memory_equal (again.data, b.data, b.len);
  reapi_tree_clear (&t);
  buf_clear (&again);
  buf_clear (&b);
}

/* Every prefix of a valid tree: decoded or refused, nothing leaked (ASan),
 * and a cut inside a node is never taken for a whole tree. */
static void
test_tree_truncated (void **state)
{
  struct buf b = { 0 };
  sample_tree (&b);
  for (size_t n = 0; n < b.len; n++)
    {
      struct reapi_tree t;
      ohr_error_t err = NULL;
      int r = reapi_decode_tree (b.data, n, &t, &err);
      if (r == 0)
        reapi_tree_clear (&t);
      else
        {
          assert_int_equal (err->status, EBADMSG);
          ohr_error_free (&err);
        }
    }
  /* the root message itself cut: refused */
  struct reapi_tree t;
  ohr_error_t err = NULL;
  assert_true (reapi_decode_tree (b.data, b.len / 2, &t, &err) < 0);
  ohr_error_free (&err);
  buf_clear (&b);
}

/* Every single-byte change and random bytes: decoded or refused cleanly,
 * and whatever decodes has only valid names. */
static void
test_tree_garbage (void **state)
{
  struct buf b = { 0 };
  sample_tree (&b);
  uint32_t seed = 7;
  for (size_t i = 0; i < b.len; i++)
    for (int k = 0; k < 4; k++)
      {
        seed = seed * 1103515245 + 12345;
        char *copy = malloc (b.len);
        memcpy (copy, b.data, b.len);
        copy[i] = (char)(seed >> 16);
        struct reapi_tree t;
        ohr_error_t err = NULL;
        if (reapi_decode_tree (copy, b.len, &t, &err) == 0)
          {
            for (size_t j = 0; j < t.root.n_files; j++)
              assert_true (reapi_name_valid (t.root.files[j].name,
                                             strlen (t.root.files[j].name)));
            reapi_tree_clear (&t);
          }
        ohr_error_free (&err);
        free (copy);
      }
  for (int round = 0; round < 5000; round++)
    {
      size_t n = (size_t)(round % 64);
      char *bytes = malloc (n ? n : 1);
      for (size_t i = 0; i < n; i++)
        {
          seed = seed * 1103515245 + 12345;
          bytes[i] = (char)(seed >> 16);
        }
      struct reapi_action_result r;
      struct reapi_command c;
      ohr_error_t err = NULL;
      if (reapi_decode_action_result (bytes, n, &r, &err) == 0)
        reapi_action_result_clear (&r);
      ohr_error_free (&err);
      if (reapi_decode_command (bytes, n, &c, &err) == 0)
        reapi_command_clear (&c);
      ohr_error_free (&err);
      free (bytes);
    }
  buf_clear (&b);
}

static void
expect_bad_directory (const char *bytes, size_t n, const char *what)
{
  struct reapi_directory d;
  ohr_error_t err = NULL;
  assert_true (reapi_decode_directory (bytes, n, &d, &err) < 0);
  assert_int_equal (err->status, EBADMSG);
  if (strstr (err->msg, what) == NULL)
    fail_msg ("'%s' does not say '%s'", err->msg, what);
  ohr_error_free (&err);
}

/* Names a restore must never create, unsorted lists, bad digests. */
static void
test_directory_refuses (void **state)
{
#define FILE_NODE(len, name) "\x0a" len "\x0a" name "\x12\x42\x0a\x40" HEX_A
  expect_bad_directory (FILE_NODE ("\x48", "\x02.."), 74, "invalid name");
  expect_bad_directory (FILE_NODE ("\x49", "\x03"
                                           "a/b"),
                        75, "invalid name");
  expect_bad_directory (FILE_NODE ("\x47", "\x01."), 73, "invalid name");
  expect_bad_directory (FILE_NODE ("\x46", "\x00"), 72, "invalid name");
  /* b before a */
  expect_bad_directory (FILE_NODE ("\x47", "\x01"
                                           "b") FILE_NODE ("\x47", "\x01"
                                                                   "a"),
                        146, "not sorted");
  /* the same name twice */
  expect_bad_directory (FILE_NODE ("\x47", "\x01"
                                           "a") FILE_NODE ("\x47", "\x01"
                                                                   "a"),
                        146, "not sorted");
  /* a digest hash in upper case */
  static char upper[] = FILE_NODE ("\x47", "\x01"
                                           "a");
  upper[10] = 'A';
  expect_bad_directory (upper, 73, "digest hash");
  /* a symlink without a target */
  expect_bad_directory ("\x1a\x03\x0a\x01l", 5, "symlink");
#undef FILE_NODE
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_digest),
    cmocka_unit_test (test_directory),
    cmocka_unit_test (test_directory_nodes),
    cmocka_unit_test (test_command),
    cmocka_unit_test (test_action),
    cmocka_unit_test (test_action_result),
    cmocka_unit_test (test_action_result_file),
    cmocka_unit_test (test_tree_round_trip),
    cmocka_unit_test (test_tree_truncated),
    cmocka_unit_test (test_tree_garbage),
    cmocka_unit_test (test_directory_refuses),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
