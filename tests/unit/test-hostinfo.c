/* test-hostinfo.c: cgroup mode detection and the host probe.
 *
 * The decision is tested on the mount tables of v1, v2 and hybrid hosts
 * (tests/fixtures/hostinfo/, hostinfo_cgroup_mode_from_mountinfo), and the
 * live path (hostinfo_cgroup_mode_at: this process's mount table and
 * cgroup.controllers) on directories and mounts the tests make.  Nothing
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

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "runtime/hostinfo.h"
#include "util/error.h"
#include "util/fs.h"

#define FIXTURES "tests/fixtures/hostinfo"
#define T_TMPFS_MAGIC 0x01021994
#define T_CGROUP2_MAGIC 0x63677270
#define T_CGROUP1_MAGIC 0x27e0eb

static long
fs_type (const char *path)
{
  struct statfs sfs;
  return statfs (path, &sfs) == 0 ? (long)sfs.f_type : -1;
}

/* FIXTURES/NAME, or NULL when there is no such file. */
static char *
fixture (const char *name)
{
  char path[256];
  snprintf (path, sizeof path, "%s/%s", FIXTURES, name);
  char *text = NULL;
  ohr_error_t err = NULL;
  if (fs_read_file (path, 1 << 20, &text, NULL, &err) < 0)
    {
      ohr_error_free (&err);
      return NULL;
    }
  return text;
}

/* The mode of fixture HOST (HOST.mountinfo, HOST.controllers if any) for
 * the cgroup root ROOT. */
static enum cgroup_mode
fixture_mode (const char *host, const char *root)
{
  char name[128];
  snprintf (name, sizeof name, "%s.mountinfo", host);
  char *mountinfo = fixture (name);
  if (mountinfo == NULL)
    fail_msg ("fixture %s/%s missing (run from the top of the tree)", FIXTURES,
              name);
  snprintf (name, sizeof name, "%s.controllers", host);
  char *controllers = fixture (name);
  enum cgroup_mode m
      = hostinfo_cgroup_mode_from_mountinfo (mountinfo, root, controllers);
  free (controllers);
  free (mountinfo);
  return m;
}

static void
assert_mode (enum cgroup_mode got, enum cgroup_mode want, const char *what)
{
  if (got != want)
    fail_msg ("%s: got %s, want %s", what, hostinfo_cgroup_mode_name (got),
              hostinfo_cgroup_mode_name (want));
}

/* ---- the decision, on the mount tables of real hosts */

static void
test_fixture_v1 (void **state)
{
  assert_mode (fixture_mode ("v1", "/sys/fs/cgroup"), CGROUP_MODE_LEGACY,
               "v1 host");
  /* inside a v1 hierarchy is no cgroup root */
  assert_mode (fixture_mode ("v1", "/sys/fs/cgroup/memory"), CGROUP_MODE_NONE,
               "v1 hierarchy");
}

static void
test_fixture_hybrid (void **state)
{
  assert_mode (fixture_mode ("hybrid", "/sys/fs/cgroup"), CGROUP_MODE_HYBRID,
               "hybrid host");
  assert_mode (fixture_mode ("hybrid", "/sys/fs/cgroup/"), CGROUP_MODE_HYBRID,
               "hybrid host, trailing slash");
  assert_mode (fixture_mode ("hybrid", "//sys/./fs/cgroup"),
               CGROUP_MODE_HYBRID, "hybrid host, unnormalized");
  /* the unified tree itself is a v2 root */
  assert_mode (fixture_mode ("hybrid", "/sys/fs/cgroup/unified"),
               CGROUP_MODE_UNIFIED, "hybrid host's unified tree");

  /* the same mounts with a unified tree that holds no controller (or one
   * that cannot be read) are v1 */
  char *mountinfo = fixture ("hybrid.mountinfo");
  assert_non_null (mountinfo);
  static const char *const idle[] = { "", "\n", " \n" };
  for (size_t i = 0; i < sizeof idle / sizeof *idle; i++)
    assert_mode (hostinfo_cgroup_mode_from_mountinfo (
                     mountinfo, "/sys/fs/cgroup", idle[i]),
                 CGROUP_MODE_LEGACY, "hybrid mounts, idle unified tree");
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (mountinfo, "/sys/fs/cgroup", NULL),
      CGROUP_MODE_LEGACY, "hybrid mounts, unreadable cgroup.controllers");
  free (mountinfo);
}

static void
test_fixture_systemd_hybrid (void **state)
{
  /* systemd's "hybrid" leaves the unified tree empty: crun runs there */
  assert_mode (fixture_mode ("hybrid-systemd", "/sys/fs/cgroup"),
               CGROUP_MODE_LEGACY, "systemd hybrid host");
}

static void
test_fixture_v2 (void **state)
{
  assert_mode (fixture_mode ("v2", "/sys/fs/cgroup"), CGROUP_MODE_UNIFIED,
               "v2 host");
  /* v2 does not look at cgroup.controllers */
  char *mountinfo = fixture ("v2.mountinfo");
  assert_non_null (mountinfo);
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (mountinfo, "/sys/fs/cgroup", NULL),
      CGROUP_MODE_UNIFIED, "v2 host, no controllers text");
  free (mountinfo);
}

static void
test_fixture_none (void **state)
{
  assert_mode (fixture_mode ("none", "/sys/fs/cgroup"), CGROUP_MODE_NONE,
               "container without a cgroup mount");
  /* a directory of the root filesystem, or of /sys */
  assert_mode (fixture_mode ("v2", "/home"), CGROUP_MODE_NONE,
               "a directory of the root filesystem");
  assert_mode (fixture_mode ("hybrid", "/sys/fs"), CGROUP_MODE_NONE,
               "a directory of sysfs");
}

/* ---- which mount a path is on: what the kernel's path walk reaches */

static void
test_overmounts (void **state)
{
  /* A tmpfs mounted on the v2 tree later hides it. */
  const char *tmpfs_over_v2
      = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "2 1 0:20 / /sys rw - sysfs sysfs rw\n"
        "3 2 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
        "4 3 0:40 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n";
  assert_mode (hostinfo_cgroup_mode_from_mountinfo (
                   tmpfs_over_v2, "/sys/fs/cgroup", "cpu memory\n"),
               CGROUP_MODE_LEGACY, "tmpfs over cgroup2");

  /* ... and the other way round */
  const char *v2_over_tmpfs
      = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "2 1 0:20 / /sys rw - sysfs sysfs rw\n"
        "3 2 0:40 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "4 3 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  assert_mode (hostinfo_cgroup_mode_from_mountinfo (v2_over_tmpfs,
                                                    "/sys/fs/cgroup", NULL),
               CGROUP_MODE_UNIFIED, "cgroup2 over tmpfs");

  /* A new tmpfs on /sys/fs/cgroup hides the unified tree of the old one,
   * though that one is listed and its path is longer. */
  const char *unified_hidden
      = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "2 1 0:20 / /sys rw - sysfs sysfs rw\n"
        "3 2 0:40 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
        "5 3 0:26 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "6 3 0:41 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n";
  assert_mode (hostinfo_cgroup_mode_from_mountinfo (
                   unified_hidden, "/sys/fs/cgroup", "hugetlb\n"),
               CGROUP_MODE_LEGACY, "unified tree hidden by a later tmpfs");

  /* A sysfs mounted again on /sys hides everything under the first. */
  const char *sys_again = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                          "2 1 0:20 / /sys rw - sysfs sysfs rw\n"
                          "3 2 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                          "4 2 0:21 / /sys rw - sysfs sysfs rw\n";
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (sys_again, "/sys/fs/cgroup", NULL),
      CGROUP_MODE_NONE, "cgroup2 hidden by a later sysfs on /sys");

  /* A mount on a path only counts on the mount it was made on: this
   * cgroup2 sits on a filesystem that is not the one at / */
  const char *elsewhere
      = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "2 1 0:20 / /sys rw - sysfs sysfs rw\n"
        "3 99 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (elsewhere, "/sys/fs/cgroup", NULL),
      CGROUP_MODE_NONE, "cgroup2 on a mount that is not reachable");
}

static void
test_escaped_mount_points (void **state)
{
  /* the kernel writes a space as \040 and a backslash as \134 */
  const char *escaped = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                        "2 1 0:40 / /run/cg\\040root rw - cgroup2 cgroup2 rw\n"
                        "3 1 0:41 / /run/back\\134slash rw - tmpfs tmpfs rw\n";
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (escaped, "/run/cg root", NULL),
      CGROUP_MODE_UNIFIED, "mount point with a space");
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (escaped, "/run/cg\\040root", NULL),
      CGROUP_MODE_NONE, "the escaped spelling is not the path");
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (escaped, "/run/back\\slash", NULL),
      CGROUP_MODE_LEGACY, "mount point with a backslash");
}

static void
test_bad_input (void **state)
{
  const char *v2 = "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
                   "2 1 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";
  assert_mode (hostinfo_cgroup_mode_from_mountinfo (v2, "/sys/fs/cgroup", ""),
               CGROUP_MODE_UNIFIED, "well-formed");
  /* the root must be absolute and plain */
  assert_mode (hostinfo_cgroup_mode_from_mountinfo (v2, "sys/fs/cgroup", ""),
               CGROUP_MODE_NONE, "relative root");
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (v2, "/sys/x/../fs/cgroup", ""),
      CGROUP_MODE_NONE, "root with ..");
  assert_mode (hostinfo_cgroup_mode_from_mountinfo (v2, "", ""),
               CGROUP_MODE_NONE, "empty root");
  assert_mode (hostinfo_cgroup_mode_from_mountinfo (v2, NULL, ""),
               CGROUP_MODE_NONE, "no root");
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (NULL, "/sys/fs/cgroup", ""),
      CGROUP_MODE_NONE, "no table");
  assert_mode (hostinfo_cgroup_mode_from_mountinfo ("", "/sys/fs/cgroup", ""),
               CGROUP_MODE_NONE, "empty table");

  /* malformed lines are skipped (each would change the answer if it
   * counted), the good ones still count */
  const char *mangled
      = "garbage\n"
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n"
        "5 1 0:26 / /sys/fs/cgroup rw shared:9 master:3 - tmpfs tmpfs rw\n"
        "6 5 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "x 6 0:28 / /sys/fs/cgroup/unified rw - tmpfs tmpfs rw\n"
        "7 5 0:29 / /sys/fs/cgroup rw cgroup2 cgroup2 rw\n" /* no "-" */
        "8 5 0:30 / /sys/fs/cgroup rw -\n"                  /* no type */
        "9 6 0:31 /\n"
        "10 6 0:32 / unified rw - tmpfs tmpfs rw";
  assert_mode (
      hostinfo_cgroup_mode_from_mountinfo (mangled, "/sys/fs/cgroup", "cpu\n"),
      CGROUP_MODE_HYBRID, "mangled table");

  /* a table whose mounts are each other's parents ends */
  const char *cycle = "1 2 0:1 / / rw - ext4 a rw\n"
                      "2 1 0:2 / / rw - tmpfs b rw\n";
  enum cgroup_mode m = hostinfo_cgroup_mode_from_mountinfo (cycle, "/", "");
  assert_true (m == CGROUP_MODE_NONE || m == CGROUP_MODE_LEGACY);
}

/* ---- the live path: this process's own mount table */

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
test_tmpfs_without_v2_is_legacy (void **state)
{
  /* Precondition: /dev/shm is a tmpfs.  A directory there with a plain
   * "unified" directory holding a cgroup.controllers that names
   * controllers: no cgroup2 is mounted, so v1. */
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
  assert_mode (hostinfo_cgroup_mode_at (dir), CGROUP_MODE_LEGACY,
               "tmpfs dir with a fake unified tree");
  /* through a symlink, the same */
  char *link = NULL;
  assert_true (asprintf (&link, "%s.link", dir) > 0);
  assert_int_equal (symlink (dir, link), 0);
  assert_mode (hostinfo_cgroup_mode_at (link), CGROUP_MODE_LEGACY,
               "the same through a symlink");
  assert_int_equal (unlink (link), 0);
  free (link);
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
  assert_int_equal (hostinfo_cgroup_mode_at (NULL), CGROUP_MODE_NONE);
}

/* In a child with a private mount namespace, on a fresh directory DIR:
 * a tmpfs, then cgroup2 on DIR/unified, then cgroup2 on DIR itself.
 * Writes the four modes seen (the last: whether the cgroup2 tree holds
 * controllers, 1 or 0) to FD; nothing when mounting is not allowed. */
static void
real_mounts_child (const char *dir, int fd)
{
  int r[4];
  char unified[4096], controllers[4200];
  snprintf (unified, sizeof unified, "%s/unified", dir);
  snprintf (controllers, sizeof controllers, "%s/cgroup.controllers", unified);
  if (unshare (CLONE_NEWNS) < 0
      || mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
      || mount ("ohr-test", dir, "tmpfs", 0, "mode=0755") < 0)
    _exit (0);
  r[0] = hostinfo_cgroup_mode_at (dir);
  if (mkdir (unified, 0755) < 0
      || mount ("ohr-test", unified, "cgroup2", 0, NULL) < 0)
    _exit (0);
  r[1] = hostinfo_cgroup_mode_at (dir);
  char *text = NULL;
  ohr_error_t err = NULL;
  r[3] = fs_read_file (controllers, 4096, &text, NULL, &err) == 0
         && strspn (text, " \n") < strlen (text);
  free (text);
  ohr_error_free (&err);
  if (umount (unified) < 0 || mount ("ohr-test", dir, "cgroup2", 0, NULL) < 0)
    _exit (0);
  r[2] = hostinfo_cgroup_mode_at (dir);
  _exit (write (fd, r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
}

static void
test_real_mounts (void **state)
{
  /* Precondition: root, allowed to mount (else skipped).  The mounts live
   * in a child's private mount namespace and go away with it. */
  if (geteuid () != 0)
    skip ();
  char *dir = make_tmp_under ("/tmp");
  assert_non_null (dir);
  int p[2];
  assert_int_equal (pipe (p), 0);
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      close (p[0]);
      real_mounts_child (dir, p[1]);
    }
  close (p[1]);
  int r[4];
  ssize_t n = read (p[0], r, sizeof r);
  close (p[0]);
  int status = 0;
  assert_int_equal (waitpid (pid, &status, 0), pid);
  remove_tmp (dir);
  if (n == 0)
    skip (); /* mounting not allowed here */
  assert_int_equal (n, (ssize_t)sizeof r);
  assert_mode (r[0], CGROUP_MODE_LEGACY, "a tmpfs");
  /* hybrid needs a unified tree with controllers: print which case ran */
  print_message ("# the cgroup2 tree holds %s\n",
                 r[3] ? "controllers: hybrid expected"
                      : "no controller: v1 expected");
  assert_mode (r[1], r[3] ? CGROUP_MODE_HYBRID : CGROUP_MODE_LEGACY,
               "a tmpfs with cgroup2 on unified/");
  assert_mode (r[2], CGROUP_MODE_UNIFIED, "cgroup2 over the tmpfs");
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
  /* the probe looks at /sys/fs/cgroup */
  assert_int_equal (h.cgroups, hostinfo_cgroup_mode_at ("/sys/fs/cgroup"));
  print_message ("# this host's cgroups: %s\n",
                 hostinfo_cgroup_mode_name (h.cgroups));
}

static void
test_mode_names (void **state)
{
  assert_string_equal (hostinfo_cgroup_mode_name (CGROUP_MODE_NONE), "none");
  assert_string_equal (hostinfo_cgroup_mode_name (CGROUP_MODE_LEGACY), "v1");
  assert_string_equal (hostinfo_cgroup_mode_name (CGROUP_MODE_HYBRID),
                       "hybrid");
  assert_string_equal (hostinfo_cgroup_mode_name (CGROUP_MODE_UNIFIED), "v2");
}

/* Rootless cgroup limits: systemd's delegation, on the fixtures of a
 * user@UID.service's cgroup.controllers. */
static void
test_delegation (void **state)
{
  (void)state;
  char *def = fixture ("user-service-default.controllers");
  char *all = fixture ("user-service-all.controllers");
  char *nopids = fixture ("user-service-no-pids.controllers");
  assert_non_null (def);
  assert_non_null (all);
  assert_non_null (nopids);
  struct delegation_facts f = { .mode = CGROUP_MODE_UNIFIED,
                                .rootless = true,
                                .service_controllers = def,
                                .user_bus = true };
  assert_null (hostinfo_delegation_refusal (&f));
  f.service_controllers = all;
  assert_null (hostinfo_delegation_refusal (&f));
  /* each missing fact, and what it says */
  f.service_controllers = nopids;
  assert_non_null (strstr (hostinfo_delegation_refusal (&f),
                           "does not delegate the memory and pids"));
  f.service_controllers = "pidsx memoryy\n"; /* whole words only */
  assert_non_null (hostinfo_delegation_refusal (&f));
  f.service_controllers = NULL;
  assert_non_null (
      strstr (hostinfo_delegation_refusal (&f), "no systemd user manager"));
  f.service_controllers = def;
  f.user_bus = false;
  assert_non_null (strstr (hostinfo_delegation_refusal (&f), "D-Bus"));
  f.user_bus = true;
  /* this machine's kind: hybrid (and v1): nothing is delegated */
  f.mode = CGROUP_MODE_HYBRID;
  assert_non_null (strstr (hostinfo_delegation_refusal (&f), "not v2"));
  f.mode = CGROUP_MODE_LEGACY;
  assert_non_null (hostinfo_delegation_refusal (&f));
  f.mode = CGROUP_MODE_UNIFIED;
  f.rootless = false;
  assert_non_null (hostinfo_delegation_refusal (&f));
  free (def);
  free (all);
  free (nopids);
}

/* The probe reads only what matters: nothing as root or off v2. */
static void
test_delegation_probe (void **state)
{
  (void)state;
  struct hostinfo h;
  hostinfo_probe (&h);
  struct delegation_facts f;
  char *controllers = NULL;
  hostinfo_delegation_probe (&h, &f, &controllers);
  assert_int_equal (f.mode, h.cgroups);
  assert_int_equal (f.rootless, h.rootless);
  if (!h.rootless || h.cgroups != CGROUP_MODE_UNIFIED)
    {
      assert_null (controllers);
      assert_non_null (hostinfo_delegation_refusal (&f));
    }
  free (controllers);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_fixture_v1),
    cmocka_unit_test (test_fixture_hybrid),
    cmocka_unit_test (test_fixture_systemd_hybrid),
    cmocka_unit_test (test_fixture_v2),
    cmocka_unit_test (test_fixture_none),
    cmocka_unit_test (test_overmounts),
    cmocka_unit_test (test_escaped_mount_points),
    cmocka_unit_test (test_bad_input),
    cmocka_unit_test (test_plain_dir_is_none),
    cmocka_unit_test (test_tmpfs_without_v2_is_legacy),
    cmocka_unit_test (test_missing_path_is_none),
    cmocka_unit_test (test_real_mounts),
    cmocka_unit_test (test_probe),
    cmocka_unit_test (test_mode_names),
    cmocka_unit_test (test_delegation),
    cmocka_unit_test (test_delegation_probe),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
