/* test-hostinfo.c: cgroup mode detection and the host probe.  Nothing
 * here assumes which cgroup layout this host has. */
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
#include <sys/statfs.h>
#include <unistd.h>

#include "hostinfo.h"
#include "util/error.h"
#include "util/fs.h"

#define T_CGROUP2_MAGIC 0x63677270
#define T_CGROUP1_MAGIC 0x27e0eb
#define T_TMPFS_MAGIC 0x01021994

static long
fs_type (const char *path)
{
  struct statfs sfs;
  return statfs (path, &sfs) == 0 ? (long)sfs.f_type : -1;
}

static bool
valid_mode (enum cgroup_mode m)
{
  return m == CGROUP_MODE_NONE || m == CGROUP_MODE_LEGACY
         || m == CGROUP_MODE_HYBRID || m == CGROUP_MODE_UNIFIED;
}

/* A fresh directory under base; NULL when base is missing. */
static char *
make_tmp_under (const char *base)
{
  char *tmpl = NULL;
  if (asprintf (&tmpl, "%s/test-hostinfo-XXXXXX", base) < 0)
    return NULL;
  if (mkdtemp (tmpl) == NULL)
    {
      free (tmpl);
      return NULL;
    }
  return tmpl;
}

static void
remove_tmp (char *dir)
{
  ohr_error_t err = NULL;
  assert_int_equal (fs_rm_rf (dir, &err), 0);
  free (dir);
}

static void
test_plain_dir_is_none (void **state)
{
  /* The first candidate on a filesystem that is neither tmpfs nor cgroup. */
  static const char *const bases[] = { "/tmp", "/var/tmp" };
  for (size_t i = 0; i < sizeof bases / sizeof *bases; i++)
    {
      long t = fs_type (bases[i]);
      if (t < 0 || t == T_TMPFS_MAGIC || t == T_CGROUP2_MAGIC
          || t == T_CGROUP1_MAGIC)
        continue;
      char *dir = make_tmp_under (bases[i]);
      if (dir == NULL)
        continue;
      assert_int_equal (hostinfo_cgroup_mode_at (dir), CGROUP_MODE_NONE);
      /* a "unified" directory inside changes nothing */
      char *unified = fs_path_join (dir, "unified");
      assert_int_equal (mkdir (unified, 0755), 0);
      assert_int_equal (hostinfo_cgroup_mode_at (dir), CGROUP_MODE_NONE);
      free (unified);
      remove_tmp (dir);
      return;
    }
  skip ();
}

static void
test_tmpfs_without_v2_is_not_hybrid (void **state)
{
  /* A tmpfs with a plain "unified" directory (no cgroup2 mounted there)
   * must not count as hybrid or v2. */
  if (fs_type ("/dev/shm") != T_TMPFS_MAGIC)
    skip ();
  char *dir = make_tmp_under ("/dev/shm");
  if (dir == NULL)
    skip ();
  char *unified = fs_path_join (dir, "unified");
  assert_int_equal (mkdir (unified, 0755), 0);
  char *controllers = fs_path_join (unified, "cgroup.controllers");
  FILE *f = fopen (controllers, "w");
  assert_non_null (f);
  fputs ("cpu memory\n", f);
  fclose (f);
  enum cgroup_mode m = hostinfo_cgroup_mode_at (dir);
  assert_true (m != CGROUP_MODE_HYBRID && m != CGROUP_MODE_UNIFIED);
  assert_true (valid_mode (m));
  free (controllers);
  free (unified);
  remove_tmp (dir);
}

static void
test_missing_path_is_none (void **state)
{
  assert_int_equal (
      hostinfo_cgroup_mode_at ("/nonexistent/test-hostinfo/cgroup"),
      CGROUP_MODE_NONE);
  assert_int_equal (hostinfo_cgroup_mode_at (""), CGROUP_MODE_NONE);
}

static void
test_sys_fs_cgroup (void **state)
{
  enum cgroup_mode m = hostinfo_cgroup_mode_at ("/sys/fs/cgroup");
  assert_true (valid_mode (m));
  const char *name = hostinfo_cgroup_mode_name (m);
  assert_non_null (name);
  assert_true (strlen (name) > 0);

  /* Consistent with what the filesystem itself says. */
  long t = fs_type ("/sys/fs/cgroup");
  if (t == T_CGROUP2_MAGIC)
    assert_int_equal (m, CGROUP_MODE_UNIFIED);
  else if (t == T_TMPFS_MAGIC)
    {
      assert_true (m == CGROUP_MODE_LEGACY || m == CGROUP_MODE_HYBRID);
      if (m == CGROUP_MODE_HYBRID)
        assert_int_equal (fs_type ("/sys/fs/cgroup/unified"), T_CGROUP2_MAGIC);
      if (fs_type ("/sys/fs/cgroup/unified") != T_CGROUP2_MAGIC)
        assert_int_equal (m, CGROUP_MODE_LEGACY);
    }
  else
    assert_int_equal (m, CGROUP_MODE_NONE);
}

static void
test_probe (void **state)
{
  struct hostinfo h;
  memset (&h, 0xff, sizeof h);
  hostinfo_probe (&h);
  assert_int_equal (h.uid, geteuid ());
  assert_int_equal (h.gid, getegid ());
  assert_int_equal (h.rootless, geteuid () != 0);
  assert_int_equal (h.cgroups, hostinfo_cgroup_mode_at ("/sys/fs/cgroup"));
}

static void
test_mode_names (void **state)
{
  static const enum cgroup_mode modes[]
      = { CGROUP_MODE_NONE, CGROUP_MODE_LEGACY, CGROUP_MODE_HYBRID,
          CGROUP_MODE_UNIFIED };
  size_t n = sizeof modes / sizeof *modes;
  for (size_t i = 0; i < n; i++)
    {
      const char *a = hostinfo_cgroup_mode_name (modes[i]);
      assert_non_null (a);
      assert_true (strlen (a) > 0);
      for (size_t j = 0; j < i; j++)
        assert_string_not_equal (a, hostinfo_cgroup_mode_name (modes[j]));
    }
  assert_string_equal (hostinfo_cgroup_mode_name (CGROUP_MODE_NONE), "none");
  assert_string_equal (hostinfo_cgroup_mode_name (CGROUP_MODE_HYBRID),
                       "hybrid");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_plain_dir_is_none),
    cmocka_unit_test (test_tmpfs_without_v2_is_not_hybrid),
    cmocka_unit_test (test_missing_path_is_none),
    cmocka_unit_test (test_sys_fs_cgroup),
    cmocka_unit_test (test_probe),
    cmocka_unit_test (test_mode_names),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
