/* test-outcheck.c: after-run checks on a real directory tree. */
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
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "run/outcheck.h"
#include "util/cleanup.h"
#include "util/fs.h"

static char *
make_tree (void)
{
  char tmpl[] = "/tmp/ohr-outcheck-XXXXXX";
  char *dir = strdup (mkdtemp (tmpl));
  assert_non_null (dir);
  return dir;
}

static void
put (const char *dir, const char *rel, const char *data, size_t len)
{
  char *p = fs_path_join (dir, rel);
  char *slash = strrchr (p, '/');
  *slash = '\0';
  assert_int_equal (fs_mkdir_p (p, 0755, NULL), 0);
  *slash = '/';
  assert_int_equal (fs_write_new (p, data, len, 0644, NULL), 0);
  free (p);
}

static const struct outcheck_finding *
find (const struct outcheck_report *r, const char *path)
{
  for (size_t i = 0; i < r->n; i++)
    if (strcmp (r->v[i].path, path) == 0)
      return &r->v[i];
  return NULL;
}

static void
test_prefixes (void **state)
{
  (void)state;
  char *dir = make_tree ();
  static const char gen[]
      = "// generated\nconst A: u8 = 1;\n"
        "include!(\"/cargo/target/debug/build/p-1/out/x.rs\");\n";
  put (dir, "gen.rs", gen, sizeof gen - 1);
  static const char outer[] = "path = /cargo/targets/y\n";
  put (dir, "outer.txt", outer, sizeof outer - 1);
  static const char deep[] = "a\nb\nc\nsrc=/cargo/src\n";
  put (dir, "sub/dir/deep.txt", deep, sizeof deep - 1);
  /* a binary file naming the prefix (debug info) is not a finding */
  static const char obj[] = "\x7f"
                            "ELF\0\0\0/cargo/src/x.c\0";
  put (dir, "x.o", obj, sizeof obj - 1);
  static const char embedded[]
      = "see a/cargo/target/debug/build/p-1/out here\n";
  put (dir, "embedded.txt", embedded, sizeof embedded - 1);

  /* the target dir after OUT_DIR, as run mode lists them: a path under
   * OUT_DIR is named as OUT_DIR's */
  static const char walked[] = "bin = /cargo/target/debug/cbindgen\n";
  put (dir, "walked.txt", walked, sizeof walked - 1);
  char *prefixes[] = { "/cargo/target/debug/build/p-1/out", "/cargo/src",
                       "/cargo/target", NULL };
  struct outcheck_out_dir found = { 0 };
  assert_int_equal (outcheck_out_dir (dir, prefixes, &found, NULL), 0);
  const struct outcheck_report rep = found.prefixes;
  assert_int_equal (found.setid.n, 0);
  assert_int_equal (found.links.n, 0);
  const struct outcheck_finding *f = find (&rep, "gen.rs");
  assert_non_null (f);
  assert_int_equal (f->line, 3);
  assert_string_equal (f->what, "/cargo/target/debug/build/p-1/out");
  f = find (&rep, "sub/dir/deep.txt");
  assert_non_null (f);
  assert_int_equal (f->line, 4);
  assert_string_equal (f->what, "/cargo/src");
  assert_null (find (&rep, "outer.txt"));
  assert_null (find (&rep, "x.o"));
  assert_null (find (&rep, "embedded.txt"));
  f = find (&rep, "walked.txt");
  assert_non_null (f);
  assert_string_equal (f->what, "/cargo/target");
  assert_int_equal (rep.n, 3);
  char *sum = outcheck_summary (&rep, 1);
  assert_non_null (strstr (sum, " and 2 more"));
  free (sum);
  outcheck_out_dir_clear (&found);

  /* without prefixes, nothing is looked for */
  assert_int_equal (outcheck_out_dir (dir, NULL, &found, NULL), 0);
  assert_int_equal (found.prefixes.n, 0);
  outcheck_out_dir_clear (&found);
  fs_rm_rf (dir, NULL);
  free (dir);
}

static void
test_symlinks (void **state)
{
  (void)state;
  char *dir = make_tree ();
  char *p;
  assert_int_equal (fs_mkdir_p ((p = fs_path_join (dir, "a/b")), 0755, NULL),
                    0);
  free (p);
  struct
  {
    const char *rel, *target;
    int escapes;
  } links[] = {
    { "abs", "/etc/shadow", 1 }, { "a/up", "../../x", 1 },
    { "a/b/ok", "../../f", 0 },  { "a/b/bad", "../../../f", 1 },
    { "fine", "a/b/c", 0 },      { "a/dots", "./../a/./b", 0 },
  };
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    {
      p = fs_path_join (dir, links[i].rel);
      assert_int_equal (symlink (links[i].target, p), 0);
      free (p);
    }
  struct outcheck_out_dir found = { 0 };
  assert_int_equal (outcheck_out_dir (dir, NULL, &found, NULL), 0);
  for (size_t i = 0; i < sizeof links / sizeof *links; i++)
    {
      const struct outcheck_finding *f = find (&found.links, links[i].rel);
      p = fs_path_join (dir, links[i].rel);
      if (links[i].escapes)
        {
          assert_non_null (f);
          assert_string_equal (f->what, links[i].target);
          if (fs_exists (p))
            fail_msg ("'%s' -> '%s' escapes but was not removed", links[i].rel,
                      links[i].target);
        }
      else
        {
          if (f)
            fail_msg ("'%s' -> '%s' reported but stays inside", links[i].rel,
                      links[i].target);
          assert_true (fs_exists (p));
        }
      free (p);
    }
  outcheck_out_dir_clear (&found);
  fs_rm_rf (dir, NULL);
  free (dir);
}

/* Each link looks harmless alone; together they climb out. */
static void
test_symlink_chain (void **state)
{
  (void)state;
  char *dir = make_tree ();
  char *p = fs_path_join (dir, "s");
  assert_int_equal (symlink (".", p), 0);
  free (p);
  p = fs_path_join (dir, "u1");
  assert_int_equal (symlink ("s/..", p), 0);
  free (p);
  p = fs_path_join (dir, "leak");
  assert_int_equal (symlink ("u1/etc/passwd", p), 0);
  free (p);
  p = fs_path_join (dir, "dangling-inside");
  assert_int_equal (symlink ("not-there-yet", p), 0);
  free (p);
  /* judged as the script left them, whatever the walk's order: removing
   * u1 first must not make leak look harmless */
  struct outcheck_out_dir found = { 0 };
  assert_int_equal (outcheck_out_dir (dir, NULL, &found, NULL), 0);
  assert_non_null (find (&found.links, "leak"));
  assert_non_null (find (&found.links, "u1"));
  assert_null (find (&found.links, "s"));
  assert_null (find (&found.links, "dangling-inside"));
  assert_int_equal (found.links.n, 2);
  outcheck_out_dir_clear (&found);
  fs_rm_rf (dir, NULL);
  free (dir);
}

static void
test_strip_setid (void **state)
{
  (void)state;
  char *dir = make_tree ();
  put (dir, "sub/suid", "x", 1);
  put (dir, "plain", "y", 1);
  char *p = fs_path_join (dir, "sub/suid");
  assert_int_equal (chmod (p, 04755), 0);
  struct outcheck_out_dir found = { 0 };
  assert_int_equal (outcheck_out_dir (dir, NULL, &found, NULL), 0);
  struct stat st;
  assert_int_equal (stat (p, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0755);
  const struct outcheck_finding *f = find (&found.setid, "sub/suid");
  assert_non_null (f);
  assert_string_equal (f->what, "setuid/setgid");
  assert_null (find (&found.setid, "plain"));
  assert_int_equal (found.setid.n, 1);
  free (p);
  outcheck_out_dir_clear (&found);
  fs_rm_rf (dir, NULL);
  free (dir);
}

/* A setuid file that cannot be cleared (immutable: chmod fails with
 * EPERM even for root) is reported with the errno, never as cleared; the
 * one beside it is cleared.  Skipped where chattr +i is refused (tmpfs
 * before Linux 6.0, no CAP_LINUX_IMMUTABLE). */
static void
test_strip_setid_failure (void **state)
{
  (void)state;
  char *dir = make_tree ();
  put (dir, "stuck", "x", 1);
  put (dir, "free", "y", 1);
  char *stuck = fs_path_join (dir, "stuck");
  char *other = fs_path_join (dir, "free");
  assert_int_equal (chmod (stuck, 04755), 0);
  assert_int_equal (chmod (other, 02755), 0);
  char cmd[512];
  snprintf (cmd, sizeof cmd, "chattr +i '%s' 2>/dev/null", stuck);
  if (system (cmd) != 0)
    {
      fs_rm_rf (dir, NULL);
      free_many (dir, stuck, other);
      skip ();
    }
  struct outcheck_out_dir found = { 0 };
  int r = outcheck_out_dir (dir, NULL, &found, NULL);
  snprintf (cmd, sizeof cmd, "chattr -i '%s'", stuck);
  assert_int_equal (system (cmd), 0);
  assert_int_equal (r, 0);
  const struct outcheck_finding *f = find (&found.setid, "stuck");
  assert_non_null (f);
  assert_string_equal (f->what, "setuid/setgid");
  assert_int_equal (f->error, EPERM);
  f = find (&found.setid, "free");
  assert_non_null (f);
  assert_int_equal (f->error, 0);
  struct stat st;
  assert_int_equal (stat (other, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0755);
  assert_int_equal (stat (stuck, &st), 0);
  assert_int_equal (st.st_mode & 07777, 04755); /* truly not cleared */
  outcheck_out_dir_clear (&found);
  fs_rm_rf (dir, NULL);
  free_many (dir, stuck, other);
}

/* One walk does all three, and never through a link: the setuid file
 * outside OUT_DIR keeps its bit, and its content is not scanned. */
static void
test_one_pass (void **state)
{
  (void)state;
  char *dir = make_tree ();
  char *outside = make_tree ();
  static const char gen[]
      = "include!(\"/cargo/target/debug/build/p-1/out/x.rs\");\n";
  put (dir, "sub/gen.rs", gen, sizeof gen - 1);
  put (outside, "elsewhere.rs", gen, sizeof gen - 1);
  char *p = fs_path_join (dir, "sub/gen.rs");
  assert_int_equal (chmod (p, 02644), 0);
  free (p);
  char *suid_out = fs_path_join (outside, "elsewhere.rs");
  assert_int_equal (chmod (suid_out, 04755), 0);
  p = fs_path_join (dir, "sub/to-outside");
  assert_int_equal (symlink (outside, p), 0);
  free (p);

  char *prefixes[] = { "/cargo/target/debug/build/p-1/out", NULL };
  struct outcheck_out_dir found = { 0 };
  assert_int_equal (outcheck_out_dir (dir, prefixes, &found, NULL), 0);
  assert_int_equal (found.setid.n, 1);
  assert_string_equal (found.setid.v[0].path, "sub/gen.rs");
  assert_int_equal (found.prefixes.n, 1);
  assert_string_equal (found.prefixes.v[0].path, "sub/gen.rs");
  assert_int_equal (found.links.n, 1);
  assert_string_equal (found.links.v[0].path, "sub/to-outside");
  struct stat st;
  assert_int_equal (stat (suid_out, &st), 0);
  assert_int_equal (st.st_mode & 07777, 04755);
  outcheck_out_dir_clear (&found);
  free (suid_out);
  fs_rm_rf (outside, NULL);
  fs_rm_rf (dir, NULL);
  free (outside);
  free (dir);
}

static void
test_overlay_changes (void **state)
{
  (void)state;
  char *dir = make_tree ();
  put (dir, "src/generated.rs", "x", 1);
  char *w = fs_path_join (dir, "Cargo.toml");
  /* overlayfs whiteout: a 0/0 character device (needs CAP_MKNOD) */
  int have_mknod = mknod (w, S_IFCHR | 0600, makedev (0, 0)) == 0;
  free (w);
  struct outcheck_report rep = { 0 };
  assert_int_equal (outcheck_overlay_changes (dir, &rep, NULL), 0);
  const struct outcheck_finding *f = find (&rep, "src/generated.rs");
  assert_non_null (f);
  assert_string_equal (f->what, "written");
  assert_null (find (&rep, "src"));
  if (have_mknod)
    {
      f = find (&rep, "Cargo.toml");
      assert_non_null (f);
      assert_string_equal (f->what, "deleted");
    }
  outcheck_report_clear (&rep);
  fs_rm_rf (dir, NULL);
  free (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_prefixes),
    cmocka_unit_test (test_symlinks),
    cmocka_unit_test (test_symlink_chain),
    cmocka_unit_test (test_strip_setid),
    cmocka_unit_test (test_strip_setid_failure),
    cmocka_unit_test (test_one_pass),
    cmocka_unit_test (test_overlay_changes),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
