/* test-cache-index.c: the hit index's restore (src/cache/index.c): a
 * well-formed index restores OUT_DIR, and a tampered one that makes a
 * symlink to a directory outside and then names a file, a directory or a
 * link below it creates nothing outside OUT_DIR. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "cache/index.h"
#include "tmpdir.h"
#include "util/cleanup.h"

#define KEY "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
/* object names: the index checks their form and size, not their bytes */
#define EMPTY                                                                 \
  "0000000000000000000000000000000000000000000000000000000000000000"
#define DATA "1111111111111111111111111111111111111111111111111111111111111111"

static char *path_of (const char *fmt, ...)
    __attribute__ ((format (printf, 1, 2)));

static char *
path_of (const char *fmt, ...)
{
  va_list ap;
  char *rel = NULL, *p = NULL;
  va_start (ap, fmt);
  assert_true (vasprintf (&rel, fmt, ap) >= 0);
  va_end (ap);
  assert_true (asprintf (&p, "%s/%s", tmp, rel) >= 0);
  free (rel);
  return p;
}

static void
write_file (const char *path, const char *data)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  fputs (data, f);
  assert_int_equal (fclose (f), 0);
}

/* a store with two objects (empty, "data\n"), an empty OUT_DIR and a
 * directory outside it; the index text given */
static void
make_store (const char *index)
{
  const char *dirs[] = { "store",
                         "store/repo",
                         "store/repo/objects",
                         "store/repo/objects/00",
                         "store/repo/objects/11",
                         "store/" CACHE_INDEX_DIR,
                         "out",
                         "outside" };
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    {
      cleanup_free char *d = path_of ("%s", dirs[i]);
      assert_int_equal (mkdir (d, 0755), 0);
    }
  cleanup_free char *e = path_of ("store/repo/objects/00/%s.file", EMPTY + 2);
  cleanup_free char *f = path_of ("store/repo/objects/11/%s.file", DATA + 2);
  cleanup_free char *i = path_of ("store/" CACHE_INDEX_DIR "/%s", KEY);
  write_file (e, "");
  write_file (f, "data\n");
  write_file (i, index);
}

static int
restore (struct buf *out, struct buf *errb)
{
  cleanup_free char *store = path_of ("store");
  cleanup_free char *out_dir = path_of ("out");
  int64_t ns = 0;
  return cache_index_restore (store, KEY, out_dir, out, errb, &ns);
}

static bool
exists (const char *rel)
{
  cleanup_free char *p = path_of ("%s", rel);
  struct stat st;
  return lstat (p, &st) == 0;
}

static void
test_restores (void **state)
{
  (void)state;
  make_store ("ohr-result-index 1 5\n"
              "o " DATA " 5\n"
              "e " EMPTY " 0\n"
              "d 755 sub\n"
              "f 644 " DATA " 5 sub/a\n"
              "l 4 link sub/a\n");
  struct buf out = { 0 }, errb = { 0 };
  assert_int_equal (restore (&out, &errb), 1);
  assert_int_equal (out.len, 5);
  assert_memory_equal (out.data, "data\n", 5);
  assert_int_equal (errb.len, 0);
  cleanup_free char *a = path_of ("out/sub/a");
  cleanup_free char *l = path_of ("out/link");
  struct stat st;
  assert_int_equal (lstat (a, &st), 0);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0644);
  assert_int_equal (st.st_size, 5);
  char target[16] = "";
  assert_int_equal (readlink (l, target, sizeof target - 1), 5);
  assert_string_equal (target, "sub/a");
  buf_clear (&out);
  buf_clear (&errb);
}

/* the index makes OUT_DIR/esc -> TMP/outside, then names what follows
 * below esc/: refused, nothing outside, OUT_DIR emptied */
static void
through_symlink (const char *line, const char *made)
{
  cleanup_free char *outside = path_of ("outside");
  cleanup_free char *index = NULL;
  assert_true (asprintf (&index,
                         "ohr-result-index 1 5\n"
                         "o " DATA " 5\n"
                         "e " EMPTY " 0\n"
                         "l 3 esc %s\n"
                         "%s\n",
                         outside, line)
               >= 0);
  make_store (index);
  struct buf out = { 0 }, errb = { 0 };
  assert_int_equal (restore (&out, &errb), 0);
  assert_false (exists (made));
  assert_false (exists ("out/esc"));
  assert_int_equal (out.len, 0);
}

static void
test_no_file_through_a_symlink (void **state)
{
  (void)state;
  through_symlink ("f 644 " DATA " 5 esc/evil", "outside/evil");
}

static void
test_no_dir_through_a_symlink (void **state)
{
  (void)state;
  through_symlink ("d 755 esc/evil", "outside/evil");
}

static void
test_no_link_through_a_symlink (void **state)
{
  (void)state;
  through_symlink ("l 8 esc/evil /etc", "outside/evil");
}

static void
test_no_file_below_a_nested_symlink (void **state)
{
  (void)state;
  through_symlink ("f 644 " DATA " 5 esc/x/evil", "outside/x/evil");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_restores, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_no_file_through_a_symlink, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_no_dir_through_a_symlink, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_no_link_through_a_symlink, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_no_file_below_a_nested_symlink,
                                     setup_tmp, teardown_tmp),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
