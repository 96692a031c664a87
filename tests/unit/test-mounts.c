/* test-mounts.c: the mount table (order, lookup, bind options). */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "run/mounts.h"
#include "util/error.h"
#include "util/strv.h"

static void
add (struct mount_table *t, const char *dest, const char *type)
{
  ohr_error_t err = NULL;
  assert_int_equal (mounts_add (t, dest, type, type, NULL, &err), 0);
  assert_null (err);
}

static void
assert_order (const struct mount_table *t, const char *const *want)
{
  size_t n = 0;
  while (want[n])
    n++;
  assert_int_equal (t->n, n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal (t->v[i].destination, want[i]);
}

static void
test_add_copies (void **state)
{
  struct mount_table t = { 0 };
  ohr_error_t err = NULL;
  char dest[] = "/proc";
  static const char *const opts[] = { "nosuid", "noexec", NULL };
  assert_int_equal (mounts_add (&t, dest, "proc", "proc", opts, &err), 0);
  dest[1] = 'X'; /* the table owns copies */
  assert_int_equal (t.n, 1);
  assert_string_equal (t.v[0].destination, "/proc");
  assert_string_equal (t.v[0].type, "proc");
  assert_string_equal (t.v[0].source, "proc");
  assert_int_equal (strv_len (t.v[0].options), 2);
  assert_string_equal (t.v[0].options[0], "nosuid");
  assert_string_equal (t.v[0].options[1], "noexec");

  assert_int_equal (mounts_add (&t, "/dev", "tmpfs", "tmpfs", NULL, &err), 0);
  assert_null (t.v[1].options);
  assert_int_equal (t.v[1].order, 1);
  mounts_free (&t);
  assert_int_equal (t.n, 0);
  assert_null (t.v);
}

static void
test_sort_parents_first (void **state)
{
  struct mount_table t = { 0 };
  add (&t, "/a/b/c", "bind");
  add (&t, "/a/b", "bind");
  add (&t, "/a", "bind");
  add (&t, "/", "bind");
  mounts_sort (&t);
  static const char *const want[] = { "/", "/a", "/a/b", "/a/b/c", NULL };
  assert_order (&t, want);
  for (size_t i = 0; i < t.n; i++)
    assert_int_equal (t.v[i].order, (int)i);
  mounts_free (&t);
}

static void
test_sort_stable (void **state)
{
  /* Equal depth keeps insertion order, not alphabetical order: system
   * mounts (/dev, /dev/pts, /dev/shm...) must stay in the order added. */
  struct mount_table t = { 0 };
  add (&t, "/zeta/child", "bind");
  add (&t, "/zeta", "bind");
  add (&t, "/dev/shm", "tmpfs");
  add (&t, "/proc", "proc");
  add (&t, "/dev", "tmpfs");
  add (&t, "/dev/pts", "devpts");
  add (&t, "/alpha", "bind");
  add (&t, "/dev/mqueue", "mqueue");
  mounts_sort (&t);
  static const char *const want[] = {
    "/zeta",    "/proc",    "/dev",        "/alpha", "/zeta/child",
    "/dev/shm", "/dev/pts", "/dev/mqueue", NULL,
  };
  assert_order (&t, want);
  /* sorting again changes nothing */
  mounts_sort (&t);
  assert_order (&t, want);
  mounts_free (&t);
}

static void
test_sort_trailing_slash_and_single (void **state)
{
  struct mount_table t = { 0 };
  mounts_sort (&t); /* empty: no-op */
  assert_int_equal (t.n, 0);
  add (&t, "/a/b/", "bind");
  add (&t, "/a", "bind");
  mounts_sort (&t);
  static const char *const want[] = { "/a", "/a/b/", NULL };
  assert_order (&t, want);
  mounts_free (&t);
}

static void
test_find_and_covering (void **state)
{
  struct mount_table t = { 0 };
  add (&t, "/", "bind");
  add (&t, "/usr", "bind");
  add (&t, "/usr/lib/rust", "bind");
  add (&t, "/usr/lib", "bind");
  add (&t, "/t/out", "bind");

  const struct ohr_mount *m = mounts_find (&t, "/usr/lib");
  assert_non_null (m);
  assert_string_equal (m->destination, "/usr/lib");
  assert_null (mounts_find (&t, "/usr/li"));
  assert_null (mounts_find (&t, "/nope"));

  m = mounts_covering (&t, "/usr/lib/rust/bin/rustc");
  assert_non_null (m);
  assert_string_equal (m->destination, "/usr/lib/rust");
  m = mounts_covering (&t, "/usr/lib/x");
  assert_string_equal (m->destination, "/usr/lib");
  m = mounts_covering (&t, "/usr/lib");
  assert_string_equal (m->destination, "/usr/lib");
  /* "/usr/libexec" is not below "/usr/lib" */
  m = mounts_covering (&t, "/usr/libexec/x");
  assert_string_equal (m->destination, "/usr");
  m = mounts_covering (&t, "/t/outside");
  assert_string_equal (m->destination, "/");
  mounts_free (&t);

  struct mount_table u = { 0 };
  add (&u, "/usr", "bind");
  assert_null (mounts_covering (&u, "/etc/passwd"));
  assert_null (mounts_find (&u, "/"));
  mounts_free (&u);
}

static void
test_add_bind_options (void **state)
{
  struct mount_table t = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (
      mounts_add_bind (&t, "/host/src", "/ctr/ro", false, false, &err), 0);
  assert_int_equal (
      mounts_add_bind (&t, "/host/out", "/ctr/rw", true, false, &err), 0);
  assert_int_equal (
      mounts_add_bind (&t, "/host/usr", "/ctr/rec", false, true, &err), 0);
  assert_null (err);
  assert_int_equal (t.n, 3);

  const struct ohr_mount *ro = mounts_find (&t, "/ctr/ro");
  assert_non_null (ro);
  assert_string_equal (ro->source, "/host/src");
  assert_string_equal (ro->type, "bind");
  assert_true (strv_contains (ro->options, "bind"));
  assert_false (strv_contains (ro->options, "rbind"));
  assert_true (strv_contains (ro->options, "ro"));
  assert_false (strv_contains (ro->options, "rw"));
  assert_true (strv_contains (ro->options, "nosuid"));
  assert_true (strv_contains (ro->options, "nodev"));

  const struct ohr_mount *rw = mounts_find (&t, "/ctr/rw");
  assert_non_null (rw);
  assert_true (strv_contains (rw->options, "rw"));
  assert_false (strv_contains (rw->options, "ro"));
  assert_true (strv_contains (rw->options, "nosuid"));
  assert_true (strv_contains (rw->options, "nodev"));

  const struct ohr_mount *rec = mounts_find (&t, "/ctr/rec");
  assert_non_null (rec);
  assert_true (strv_contains (rec->options, "rbind"));
  assert_false (strv_contains (rec->options, "bind"));
  assert_true (strv_contains (rec->options, "ro"));
  /* ro, nosuid and nodev for the submounts an rbind brings along */
  assert_true (strv_contains (rec->options, "rro"));
  assert_true (strv_contains (rec->options, "rnosuid"));
  assert_true (strv_contains (rec->options, "rnodev"));
  assert_false (strv_contains (ro->options, "rro"));
  mounts_free (&t);
}

static void
test_system_bind_options (void **state)
{
  struct mount_table t = { 0 };
  ohr_error_t err = NULL;
  assert_int_equal (mounts_add_system_bind (&t, "/sys", &err), 0);
  const struct ohr_mount *m = mounts_find (&t, "/sys");
  assert_non_null (m);
  assert_string_equal (m->source, "/sys");
  const char *const want[]
      = { "rbind", "ro",      "nosuid", "nodev",   "noexec",
          "rro",   "rnosuid", "rnodev", "rnoexec", NULL };
  for (size_t i = 0; want[i]; i++)
    assert_true (strv_contains (m->options, want[i]));
  mounts_free (&t);
}

/* A host whose /usr/local and /srv/data/cache are mounts of their own,
 * one of them hidden in a directory the test cannot reach. */
static const char mountinfo_text[]
    = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
      "2 1 0:5 / /proc rw - proc proc rw\n"
      "3 1 8:2 / /usr/local rw - ext4 /dev/sda2 rw\n"
      "4 3 0:40 / /usr/local/with\\040space rw - tmpfs tmpfs rw\n"
      "5 1 0:41 / /srv/data/cache rw - tmpfs tmpfs rw\n"
      "6 1 0:42 / /usrnot rw - tmpfs tmpfs rw\n";

static void
test_bind_submounts (void **state)
{
  struct mount_table t = { 0 };
  ohr_error_t err = NULL;
  struct mountinfo mi;
  assert_int_equal (mountinfo_parse (mountinfo_text, &mi), 0);
  assert_int_equal (mi.n, 6);
  assert_int_equal (mounts_add_bind (&t, "/usr", "/usr", false, true, &err),
                    0);
  assert_int_equal (
      mounts_add_bind (&t, "/srv/data", "/data", false, true, &err), 0);
  /* rw and non-recursive binds bring no submounts read-only */
  assert_int_equal (mounts_add_bind (&t, "/proc", "/p", true, true, &err), 0);
  assert_int_equal (mounts_add_bind (&t, "/", "/flat", false, false, &err), 0);
  assert_int_equal (mounts_bind_submounts (&t, &mi, &err), 0);
  assert_null (err);
  mounts_sort (&t);
  const char *const order[] = { "/usr",
                                "/data",
                                "/p",
                                "/flat",
                                "/usr/local",
                                "/data/cache",
                                "/usr/local/with space",
                                NULL };
  assert_order (&t, order);
  const struct ohr_mount *m = mounts_find (&t, "/data/cache");
  assert_string_equal (m->source, "/srv/data/cache");
  assert_true (strv_contains (m->options, "ro"));
  assert_true (strv_contains (m->options, "rbind"));
  m = mounts_find (&t, "/usr/local/with space");
  assert_string_equal (m->source, "/usr/local/with space");
  /* the runtime is not asked for what it cannot do */
  for (size_t i = 0; i < t.n; i++)
    for (size_t j = 0; t.v[i].options && t.v[i].options[j]; j++)
      assert_true (t.v[i].options[j][0] != 'r'
                   || strcmp (t.v[i].options[j], "rbind") == 0
                   || strcmp (t.v[i].options[j], "rw") == 0
                   || strcmp (t.v[i].options[j], "ro") == 0);
  mounts_free (&t);
  mountinfo_clear (&mi);
}

static void
test_drop_below (void **state)
{
  struct mountinfo mi;
  assert_int_equal (mountinfo_parse (mountinfo_text, &mi), 0);
  mountinfo_drop_below (&mi, "/usr");
  /* /usr/local and what is on it go; / and /usrnot stay */
  assert_int_equal (mi.n, 4);
  for (size_t i = 0; i < mi.n; i++)
    assert_true (strncmp (mi.v[i].point, "/usr/", 5) != 0);
  assert_string_equal (mi.v[3].point, "/usrnot");
  mountinfo_clear (&mi);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_add_copies),
    cmocka_unit_test (test_sort_parents_first),
    cmocka_unit_test (test_sort_stable),
    cmocka_unit_test (test_sort_trailing_slash_and_single),
    cmocka_unit_test (test_find_and_covering),
    cmocka_unit_test (test_add_bind_options),
    cmocka_unit_test (test_system_bind_options),
    cmocka_unit_test (test_bind_submounts),
    cmocka_unit_test (test_drop_below),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
