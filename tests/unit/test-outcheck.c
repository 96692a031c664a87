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

#include "run/directives.h"
#include "run/outcheck.h"
#include "run/outreach.h"
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

/* ---- which files a later step reads (outreach.h) */

/* Not the runner's layout: the split must take OUT_DIR's container path
 * from its input, whatever the layout is. */
#define OUT_C "/ctr/out"

static void
puts0 (const char *dir, const char *rel, const char *text)
{
  char *p = fs_path_join (dir, rel);
  unlink (p);
  free (p);
  put (dir, rel, text, strlen (text));
}

/* Walk out_dir as a canonical run does, then split with the exports given
 * as KEY, PATH pairs (NULL-terminated; exports NULL: unknown). */
static void
split (const char *out_dir, const char *src, const char *const *exports,
       bool unknown, struct outcheck_out_dir *found,
       struct outcheck_report *leftovers)
{
  char *prefixes[] = { OUT_C, "/ctr/src", NULL };
  assert_int_equal (outcheck_out_dir (out_dir, prefixes, found, NULL), 0);
  struct directive_export v[16];
  struct directive_exports x = { v, 0, false };
  for (size_t i = 0; exports && exports[i]; i += 2)
    v[x.n++] = (struct directive_export){ (char *)exports[i],
                                          (char *)exports[i + 1] };
  struct outreach_input in = { out_dir, OUT_C, src, unknown ? NULL : &x };
  assert_int_equal (
      outreach_split (&in, &found->files, &found->prefixes, leftovers, NULL),
      0);
}

/* The end of a split test: its results and trees go. */
static void
split_done (struct outcheck_out_dir *found, struct outcheck_report *left,
            char *out, char *src)
{
  outcheck_report_clear (left);
  outcheck_out_dir_clear (found);
  fs_rm_rf (out, NULL);
  if (src)
    fs_rm_rf (src, NULL);
  free_many (out, src);
}

/* autoconf in OUT_DIR/build, as jemalloc-sys runs it: config.status, the
 * Makefiles, config.log, the uninstalled .pc and foo-config all hold
 * OUT_DIR's container path, and nothing reads them after the run, though
 * the script exports OUT_DIR as its root and links from build/lib. */
static void
test_reach_leftovers_pass (void **state)
{
  (void)state;
  char *out = make_tree (), *src = make_tree ();
  puts0 (out, "build/config.status",
         "ac_pwd='" OUT_C "/build'\nprefix='" OUT_C "'\n");
  puts0 (out, "build/Makefile", "prefix := " OUT_C "\n");
  puts0 (out, "build/config.log", "  $ ../configure --prefix=" OUT_C "\n");
  puts0 (out, "build/jemalloc.pc", "prefix=" OUT_C "\n");
  puts0 (out, "build/bin/jemalloc-config", "prefix=\"" OUT_C "\"\n");
  static const char ar[] = "!<arch>\n\0\0" OUT_C "/build/x.o";
  put (out, "build/lib/libjemalloc_pic.a", ar, sizeof ar - 1);
  puts0 (out, "include/jemalloc/jemalloc.h", "#define JEMALLOC 1\n");
  /* the build script's own source names the build directory; the
   * library's sources do not read OUT_DIR */
  puts0 (src, "build.rs", "let b = out.join(\"build\"); \"config.status\"");
  puts0 (src, "src/lib.rs", "pub fn f() -> &'static str { \"build\" }\n");
  static const char *const ex[]
      = { "root", OUT_C, "rustc-link-search", OUT_C "/build/lib", NULL };
  struct outcheck_out_dir found = { 0 };
  struct outcheck_report left = { 0 };
  split (out, src, ex, false, &found, &left);
  assert_int_equal (found.prefixes.n, 0);
  assert_int_equal (left.n, 5);
  assert_non_null (find (&left, "build/config.status"));
  assert_non_null (find (&left, "build/jemalloc.pc"));
  split_done (&found, &left, out, src);
}

/* Generated Rust with a container path is refused, wherever it is. */
static void
test_reach_generated_rust (void **state)
{
  (void)state;
  char *out = make_tree ();
  puts0 (out, "sub/gen.rs", "include!(\"" OUT_C "/x.rs\");\n");
  puts0 (out, "build/config.status", "ac_pwd='" OUT_C "/build'\n");
  struct outcheck_out_dir found = { 0 };
  struct outcheck_report left = { 0 };
  split (out, NULL, NULL, false, &found, &left);
  assert_int_equal (found.prefixes.n, 1);
  assert_string_equal (found.prefixes.v[0].path, "sub/gen.rs");
  assert_string_equal (found.prefixes.v[0].why, "generated Rust");
  assert_int_equal (found.prefixes.v[0].line, 1);
  assert_int_equal (left.n, 1);
  split_done (&found, &left, out, NULL);
}

/* A file included by name: from generated code (relative to it), from
 * what that included (transitively), from the package's sources through
 * OUT_DIR, and a directory named for include_dir!. */
static void
test_reach_included_by_name (void **state)
{
  (void)state;
  char *out = make_tree (), *src = make_tree ();
  puts0 (out, "gen.rs",
         "pub static T: &str = include_str!(\"table.txt\");\n"
         "include!(\"more.in\");\n");
  puts0 (out, "table.txt", "/ctr/src/data/table\n");
  puts0 (out, "more.in", "const B: &[u8] = include_bytes!(\"deep/b.bin\");\n");
  puts0 (out, "deep/b.bin", "at " OUT_C "/deep\n");
  puts0 (out, "blob.json", "{\"at\": \"" OUT_C "/blob.json\"}\n");
  puts0 (out, "assets/css/site.css", "/* " OUT_C " */\n");
  puts0 (out, "unread.txt", OUT_C "\n");
  puts0 (src, "src/lib.rs",
         "const J: &str = include_str!(concat!(env!(\"OUT_DIR\"), "
         "\"/blob.json\"));\n");
  puts0 (src, "src/web.rs",
         "static A: Dir = include_dir!(\"$OUT_DIR/assets\");\n");
  /* once one source says OUT_DIR, all count (a macro may hide it) */
  puts0 (src, "examples/e.rs", "fn main() { open(\"other.txt\"); }\n");
  struct outcheck_out_dir found = { 0 };
  struct outcheck_report left = { 0 };
  static const char *const none[] = { NULL };
  split (out, src, none, false, &found, &left);
  const struct outcheck_finding *f = find (&found.prefixes, "table.txt");
  assert_non_null (f);
  assert_string_equal (f->why, "named in OUT_DIR/gen.rs");
  f = find (&found.prefixes, "deep/b.bin");
  assert_non_null (f);
  assert_string_equal (f->why, "named in OUT_DIR/more.in");
  f = find (&found.prefixes, "blob.json");
  assert_non_null (f);
  assert_string_equal (f->why, "named in the package's src/lib.rs");
  f = find (&found.prefixes, "assets/css/site.css");
  assert_non_null (f);
  assert_string_equal (f->why, "named in the package's src/web.rs");
  assert_int_equal (found.prefixes.n, 4);
  assert_int_equal (left.n, 1);
  assert_string_equal (left.v[0].path, "unread.txt");
  outcheck_report_clear (&left);
  outcheck_out_dir_clear (&found);
  /* without the mention of OUT_DIR the sources name nothing */
  puts0 (src, "src/lib.rs", "const J: &str = \"/blob.json\";\n");
  puts0 (src, "src/web.rs", "\n");
  split (out, src, none, false, &found, &left);
  assert_null (find (&found.prefixes, "blob.json"));
  assert_non_null (find (&left, "blob.json"));
  split_done (&found, &left, out, src);
}

/* What directives hand on: a header under an exported include dir, the
 * installed prefix of a root, a file named by rustc-env, a linker script
 * in a search directory, a response file in a link arg. */
static void
test_reach_exported (void **state)
{
  (void)state;
  char *out = make_tree ();
  puts0 (out, "inc/foo.h", "#include \"" OUT_C "/inc/bar.h\"\n");
  puts0 (out, "inc/c++/vector", "#include <" OUT_C "/inc/x>\n");
  puts0 (out, "prefix/lib/pkgconfig/z.pc", "prefix=" OUT_C "/prefix\n");
  puts0 (out, "prefix/src/z-build/CMakeCache.txt", "X:PATH=" OUT_C "\n");
  puts0 (out, "version.txt", "built in " OUT_C "\n");
  puts0 (out, "lib/libz.so", "GROUP ( " OUT_C "/lib/libz.so.1 )\n");
  puts0 (out, "lib/sub/notes.txt", OUT_C "\n");
  puts0 (out, "args.rsp", "-L " OUT_C "/lib\n");
  static const char *const ex[] = { "include",
                                    OUT_C "/inc/",
                                    "root",
                                    OUT_C "/./prefix",
                                    "rustc-env",
                                    OUT_C "/version.txt",
                                    "rustc-link-search",
                                    OUT_C "/lib",
                                    "rustc-link-arg",
                                    OUT_C "/args.rsp",
                                    "root",
                                    "/ctr/src/../out/../elsewhere",
                                    NULL };
  struct outcheck_out_dir found = { 0 };
  struct outcheck_report left = { 0 };
  split (out, NULL, ex, false, &found, &left);
  const struct outcheck_finding *f = find (&found.prefixes, "inc/foo.h");
  assert_non_null (f);
  assert_string_equal (f->why,
                       "in OUT_DIR/inc, which it hands on (cargo:include)");
  assert_non_null (find (&found.prefixes, "inc/c++/vector"));
  f = find (&found.prefixes, "prefix/lib/pkgconfig/z.pc");
  assert_non_null (f);
  assert_string_equal (f->why,
                       "in OUT_DIR/prefix, which it hands on (cargo:root)");
  f = find (&found.prefixes, "version.txt");
  assert_non_null (f);
  assert_string_equal (f->why, "named by cargo:rustc-env");
  f = find (&found.prefixes, "lib/libz.so");
  assert_non_null (f);
  assert_string_equal (
      f->why,
      "in OUT_DIR/lib, which the linker searches (cargo:rustc-link-search)");
  assert_non_null (find (&found.prefixes, "args.rsp"));
  assert_int_equal (found.prefixes.n, 6);
  assert_int_equal (left.n, 2);
  assert_non_null (find (&left, "prefix/src/z-build/CMakeCache.txt"));
  assert_non_null (find (&left, "lib/sub/notes.txt"));
  outcheck_report_clear (&left);
  outcheck_out_dir_clear (&found);
  /* exports unknown (too many, a line too long): every file counts */
  split (out, NULL, NULL, true, &found, &left);
  assert_int_equal (found.prefixes.n, 8);
  assert_int_equal (left.n, 0);
  assert_string_equal (found.prefixes.v[0].why,
                       "its directives could not all be read");
  split_done (&found, &left, out, NULL);
}

/* Kept symlinks inside OUT_DIR: what names the link reads its target. */
static void
test_reach_through_links (void **state)
{
  (void)state;
  char *out = make_tree ();
  puts0 (out, "gen.rs", "const T: &str = include_str!(\"alias.txt\");\n");
  puts0 (out, "data/real.txt", "at " OUT_C "/data\n");
  puts0 (out, "real_inc/foo.h", "#include \"" OUT_C "/real_inc/x.h\"\n");
  puts0 (out, "build/config.status", "ac_pwd='" OUT_C "/build'\n");
  char *p = fs_path_join (out, "alias.txt");
  assert_int_equal (symlink ("data/real.txt", p), 0);
  free (p);
  p = fs_path_join (out, "inc");
  assert_int_equal (symlink ("real_inc", p), 0);
  free (p);
  static const char *const ex[] = { "include", OUT_C "/inc/foo.h", NULL };
  struct outcheck_out_dir found = { 0 };
  struct outcheck_report left = { 0 };
  split (out, NULL, ex, false, &found, &left);
  assert_int_equal (found.links.n, 0);
  const struct outcheck_finding *f = find (&found.prefixes, "data/real.txt");
  assert_non_null (f);
  assert_string_equal (f->why, "through the link alias.txt");
  f = find (&found.prefixes, "real_inc/foo.h");
  assert_non_null (f);
  assert_string_equal (f->why, "through the link inc");
  assert_int_equal (found.prefixes.n, 2);
  assert_int_equal (left.n, 1);
  split_done (&found, &left, out, NULL);
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
    cmocka_unit_test (test_reach_leftovers_pass),
    cmocka_unit_test (test_reach_generated_rust),
    cmocka_unit_test (test_reach_included_by_name),
    cmocka_unit_test (test_reach_exported),
    cmocka_unit_test (test_reach_through_links),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
