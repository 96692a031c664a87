/* test-idshift.c: lending OUT_DIR to the mapped root and giving it back
 * through outcheck's walk (as root: chown needs it; skipped otherwise);
 * reachability by mode bits; the mount points made in a rootfs. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/idshift.h"
#include "run/mounts.h"
#include "run/outcheck.h"
#include "util/cleanup.h"
#include "util/fs.h"

#define MAPPED 1879048192u

static const struct idmap map = { MAPPED, MAPPED, 65536 };

struct fixture
{
  char dir[64];
};

static char *
at (struct fixture *f, const char *rel)
{
  char *p = fs_path_join (f->dir, rel);
  assert_non_null (p);
  return p;
}

static void
touch (struct fixture *f, const char *rel, mode_t mode)
{
  char *p = at (f, rel);
  int fd = open (p, O_WRONLY | O_CREAT | O_CLOEXEC, mode);
  assert_true (fd >= 0);
  close (fd);
  assert_int_equal (chmod (p, mode), 0);
  free (p);
}

static struct stat
lst (struct fixture *f, const char *rel)
{
  char *p = at (f, rel);
  struct stat st;
  assert_int_equal (lstat (p, &st), 0);
  free (p);
  return st;
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  assert_non_null (f);
  strcpy (f->dir, "/tmp/test-idshift-XXXXXX");
  assert_non_null (mkdtemp (f->dir));
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  fs_rm_rf (f->dir, NULL);
  free (f);
  return 0;
}

static void
test_lend_and_give_back (void **state)
{
  struct fixture *f = *state;
  if (geteuid () != 0)
    skip ();
  touch (f, "old", 0644);
  touch (f, "linked", 0644);
  char *a = at (f, "linked"), *b = at (f, "linked2");
  assert_int_equal (link (a, b), 0);
  free (a);
  free (b);
  struct idshift_owner o;
  assert_int_equal (idshift_lend (f->dir, &map, &o, NULL), 0);
  assert_int_equal (o.uid, 0);
  assert_int_equal (o.gid, 0);
  assert_int_equal (lst (f, "").st_uid, MAPPED);
  assert_int_equal (lst (f, "old").st_uid, MAPPED);
  assert_int_equal (lst (f, "old").st_gid, MAPPED);
  /* a file with two links may be a host file: not lent */
  assert_int_equal (lst (f, "linked").st_uid, 0);

  /* what the script leaves: a setuid file, a dir, a symlink, all its */
  touch (f, "suid", 0755);
  char *p = at (f, "suid");
  assert_int_equal (chown (p, MAPPED, MAPPED + 1), 0);
  assert_int_equal (chmod (p, 06755), 0);
  free (p);
  p = at (f, "d");
  assert_int_equal (mkdir (p, 0755), 0);
  assert_int_equal (chown (p, MAPPED, MAPPED), 0);
  free (p);
  p = at (f, "d/ln");
  assert_int_equal (symlink ("../old", p), 0);
  assert_int_equal (lchown (p, MAPPED, MAPPED), 0);
  free (p);

  struct outcheck_out_dir found = { 0 };
  assert_int_equal (
      outcheck_out_dir_give_back (f->dir, NULL, &o, &found, NULL), 0);
  assert_int_equal (found.setid.n, 1);
  outcheck_out_dir_clear (&found);
  const char *all[] = { "", "old", "suid", "d", "d/ln", "linked" };
  for (size_t i = 0; i < sizeof all / sizeof *all; i++)
    {
      struct stat st = lst (f, all[i]);
      if (st.st_uid != 0 || st.st_gid != 0)
        fail_msg ("'%s' is %u:%u after the hand-back", all[i], st.st_uid,
                  st.st_gid);
    }
  assert_int_equal (lst (f, "suid").st_mode & 07777, 0755);
  assert_true (S_ISLNK (lst (f, "d/ln").st_mode));
}

static void
test_owner_from_a_killed_run (void **state)
{
  struct fixture *f = *state;
  if (geteuid () != 0)
    skip ();
  /* a run killed before it gave OUT_DIR back: it goes to the runner */
  assert_int_equal (chown (f->dir, MAPPED + 7, MAPPED + 7), 0);
  struct idshift_owner o;
  assert_int_equal (idshift_lend (f->dir, &map, &o, NULL), 0);
  assert_int_equal (o.uid, geteuid ());
  assert_int_equal (o.gid, getegid ());
  /* another user's OUT_DIR goes back to that user */
  assert_int_equal (chown (f->dir, 4242, 4343), 0);
  assert_int_equal (idshift_lend (f->dir, &map, &o, NULL), 0);
  assert_int_equal (o.uid, 4242);
  assert_int_equal (o.gid, 4343);
}

static void
test_reaches (void **state)
{
  struct fixture *f = *state;
  char *p = at (f, "a/b");
  assert_int_equal (chmod (f->dir, 0755), 0); /* mkdtemp's is 0700 */
  assert_int_equal (fs_mkdir_p (p, 0755, NULL), 0);
  assert_true (idshift_reaches (p, MAPPED, MAPPED));
  char *a = at (f, "a");
  assert_int_equal (chmod (a, 0700), 0);
  assert_false (idshift_reaches (p, MAPPED, MAPPED));
  assert_int_equal (chmod (a, 0710), 0);
  assert_false (idshift_reaches (p, MAPPED, MAPPED));
  if (geteuid () == 0)
    {
      assert_int_equal (chown (a, 0, MAPPED), 0);
      assert_true (idshift_reaches (p, MAPPED, MAPPED));
    }
  char *l = at (f, "l");
  assert_int_equal (symlink ("a", l), 0);
  char *via = at (f, "l/b");
  assert_false (idshift_reaches (via, MAPPED, MAPPED));
  free_many (p, a, l, via);
}

static void
test_mount_points (void **state)
{
  struct fixture *f = *state;
  char *rootfs = at (f, "rootfs"), *root = at (f, "rootfs/root"),
       *lib = at (f, "rootfs/lib"), *file = at (f, "src-file");
  assert_int_equal (mkdir (rootfs, 0755), 0);
  assert_int_equal (mkdir (root, 0700), 0);
  assert_int_equal (symlink ("usr/lib", lib), 0);
  touch (f, "src-file", 0644);
  struct mount_table t = { 0 };
  assert_int_equal (mounts_add (&t, "/tmp", "tmpfs", "tmpfs", NULL, NULL), 0);
  assert_int_equal (
      mounts_add_bind (&t, f->dir, "/root/.rustup/tc", false, false, NULL), 0);
  assert_int_equal (
      mounts_add_bind (&t, file, "/opt/x/tool", false, false, NULL), 0);
  assert_int_equal (
      mounts_add_bind (&t, f->dir, "/tmp/deep/dir", false, false, NULL), 0);
  assert_int_equal (
      mounts_add_bind (&t, f->dir, "/lib/thing", false, false, NULL), 0);
  assert_int_equal (idshift_make_mount_points (rootfs, &t, NULL), 0);
  mounts_free (&t);
  assert_int_equal (lst (f, "rootfs/root").st_mode & 0777, 0755);
  assert_true (S_ISDIR (lst (f, "rootfs/root/.rustup/tc").st_mode));
  assert_true (S_ISREG (lst (f, "rootfs/opt/x/tool").st_mode));
  /* under a tmpfs of the container: not made in the rootfs (only the
   * tmpfs's own mount point is) */
  assert_true (S_ISDIR (lst (f, "rootfs/tmp").st_mode));
  char *tmp = at (f, "rootfs/tmp/deep");
  assert_int_equal (access (tmp, F_OK), -1);
  /* a symlink on the way: left for the runtime, nothing made beyond */
  assert_true (S_ISLNK (lst (f, "rootfs/lib").st_mode));
  free_many (rootfs, root, lib, file, tmp);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_lend_and_give_back, setup, teardown),
    cmocka_unit_test_setup_teardown (test_owner_from_a_killed_run, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_reaches, setup, teardown),
    cmocka_unit_test_setup_teardown (test_mount_points, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
