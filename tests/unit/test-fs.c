/* test-fs.c: path helpers and filesystem helpers, in a temp directory. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"

/* ---- pure path functions */

static void
check_normalize (const char *in, const char *want)
{
  char *got = fs_path_normalize (in);
  if (want == NULL)
    {
      if (got != NULL)
        fail_msg ("normalize '%s' gave '%s', expected NULL",
                  in ? in : "(null)", got);
      return;
    }
  if (got == NULL)
    fail_msg ("normalize '%s' gave NULL, expected '%s'", in, want);
  assert_string_equal (got, want);
  free (got);
}

static void
test_normalize (void **state)
{
  check_normalize ("//a/./b/", "/a/b");
  check_normalize ("/", "/");
  check_normalize ("///", "/");
  check_normalize ("/./.", "/");
  check_normalize ("/a/b/.", "/a/b");
  check_normalize ("/a/.b/..c/...", "/a/.b/..c/...");
  check_normalize ("a/b", NULL);
  check_normalize ("", NULL);
  check_normalize ("./a", NULL);
  check_normalize ("/a/../b", NULL);
  check_normalize ("/a/..", NULL);
  check_normalize ("/..", NULL);
  check_normalize (NULL, NULL);
}

static void
test_is_under (void **state)
{
  assert_true (fs_path_is_under ("/a/b", "/a"));
  assert_true (fs_path_is_under ("/a/b/c", "/a"));
  assert_true (fs_path_is_under ("/a", "/a"));
  assert_false (fs_path_is_under ("/ab", "/a"));
  assert_false (fs_path_is_under ("/a", "/a/b"));
  assert_false (fs_path_is_under ("/b", "/a"));
  assert_true (fs_path_is_under ("/", "/"));
  assert_true (fs_path_is_under ("/anything/at/all", "/"));
  assert_true (fs_path_is_under ("/proc/self", "/proc"));
  assert_false (fs_path_is_under ("/processes", "/proc"));
}

static void
check_join (const char *a, const char *b, const char *want)
{
  char *got = fs_path_join (a, b);
  assert_non_null (got);
  assert_string_equal (got, want);
  free (got);
}

static void
test_join (void **state)
{
  check_join ("/a", "b", "/a/b");
  check_join ("/a/", "b", "/a/b");
  check_join ("/a//", "//b", "/a/b");
  check_join ("/a", "b/c/", "/a/b/c/");
  check_join ("rel", "x", "rel/x");

  char *root = fs_path_join ("/", "b");
  assert_non_null (root);
  assert_string_equal (root, "/b");
  /* it is at least the right path once normalized */
  char *n = fs_path_normalize (root);
  assert_string_equal (n, "/b");
  free (n);
  free (root);
}

/* ---- filesystem functions: each test gets its own temp directory */

struct tmp
{
  char dir[64];
};

static int
setup_tmp (void **state)
{
  struct tmp *t = calloc (1, sizeof *t);
  if (t == NULL)
    return -1;
  strcpy (t->dir, "/tmp/test-fs-XXXXXX");
  if (mkdtemp (t->dir) == NULL)
    {
      free (t);
      return -1;
    }
  umask (022);
  *state = t;
  return 0;
}

static int
teardown_tmp (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  int r = fs_rm_rf (t->dir, &err);
  ohr_error_free (&err);
  free (t);
  return r;
}

/* dir/rel as a new string (owned by the caller). */
static char *
at (const struct tmp *t, const char *rel)
{
  char *p = fs_path_join (t->dir, rel);
  assert_non_null (p);
  return p;
}

static void
write_file (const char *path, const char *content, mode_t mode)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  assert_int_equal (fputs (content, f) >= 0, 1);
  assert_int_equal (fclose (f), 0);
  assert_int_equal (chmod (path, mode), 0);
}

static size_t
count_entries (const char *dir)
{
  DIR *d = opendir (dir);
  assert_non_null (d);
  size_t n = 0;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (strcmp (de->d_name, ".") != 0 && strcmp (de->d_name, "..") != 0)
      n++;
  closedir (d);
  return n;
}

static void
test_mkdir_write_read (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  char *deep = at (t, "x/y//z/");
  assert_int_equal (fs_mkdir_p (deep, 0700, &err), 0);
  assert_null (err);
  assert_true (fs_is_dir (deep));
  /* again: existing directories are fine */
  assert_int_equal (fs_mkdir_p (deep, 0700, &err), 0);
  struct stat st;
  char *x = at (t, "x");
  assert_int_equal (stat (x, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0700);

  char *file = at (t, "x/y/z/config.json");
  static const char data[] = "{\"ociVersion\":\"1.0.2\"}\n";
  assert_int_equal (
      fs_write_atomic (file, data, strlen (data), 0644, true, &err), 0);
  assert_null (err);
  assert_true (fs_exists (file));
  assert_false (fs_is_dir (file));
  assert_int_equal (stat (file, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0644);

  char *got = NULL;
  size_t len = 0;
  assert_int_equal (fs_read_file (file, 1 << 20, &got, &len, &err), 0);
  assert_int_equal (len, strlen (data));
  assert_string_equal (got, data);
  free (got);

  /* replace: the new content, and no temp file left beside it */
  assert_int_equal (fs_write_atomic (file, "new", 3, 0644, false, &err), 0);
  assert_int_equal (fs_read_file (file, 1 << 20, &got, NULL, &err), 0);
  assert_string_equal (got, "new");
  free (got);
  char *zdir = at (t, "x/y/z");
  assert_int_equal (count_entries (zdir), 1);

  /* mkdir -p through a file fails */
  char *through = at (t, "x/y/z/config.json/sub");
  assert_true (fs_mkdir_p (through, 0755, &err) < 0);
  assert_non_null (err);
  ohr_error_free (&err);
  assert_true (fs_mkdir_p (file, 0755, &err) < 0);
  assert_int_equal (err->status, ENOTDIR);
  ohr_error_free (&err);

  free (through);
  free (zdir);
  free (file);
  free (x);
  free (deep);
}

static void
test_read_binary_and_large (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  size_t n = 3 * 4096 + 17;
  char *data = malloc (n);
  assert_non_null (data);
  for (size_t i = 0; i < n; i++)
    data[i] = (char)(i % 251);
  char *file = at (t, "big");
  assert_int_equal (fs_write_new (file, data, n, 0600, &err), 0);
  char *got = NULL;
  size_t len = 0;
  assert_int_equal (fs_read_file (file, 1 << 20, &got, &len, &err), 0);
  assert_int_equal (len, n);
  assert_memory_equal (got, data, n);
  assert_int_equal (got[n], '\0');
  free (got);

  /* empty file */
  char *empty = at (t, "empty");
  assert_int_equal (fs_write_new (empty, "", 0, 0600, &err), 0);
  assert_int_equal (fs_read_file (empty, 16, &got, &len, &err), 0);
  assert_int_equal (len, 0);
  assert_string_equal (got, "");
  free (got);

  free (empty);
  free (file);
  free (data);
}

static void
test_read_max_size (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  char buf[10000];
  memset (buf, 'a', sizeof buf);
  char *file = at (t, "f10000");
  assert_int_equal (fs_write_new (file, buf, sizeof buf, 0600, &err), 0);

  char *got = NULL;
  size_t len = 0;
  assert_true (fs_read_file (file, 4096, &got, &len, &err) < 0);
  assert_null (got);
  assert_non_null (err);
  assert_int_equal (err->status, EFBIG);
  assert_non_null (strstr (err->msg, "larger than 4096"));
  ohr_error_free (&err);

  assert_true (fs_read_file (file, 9999, &got, &len, &err) < 0);
  assert_int_equal (err->status, EFBIG);
  ohr_error_free (&err);

  /* a limit below the first read size, file larger than that read */
  assert_true (fs_read_file (file, 10, &got, &len, &err) < 0);
  assert_int_equal (err->status, EFBIG);
  ohr_error_free (&err);

  char *small = at (t, "f100");
  assert_int_equal (fs_write_new (small, buf, 100, 0600, &err), 0);
  got = NULL;
  int r = fs_read_file (small, 10, &got, &len, &err);
  assert_true (r < 0);
  if (r == 0)
    free (got);
  ohr_error_free (&err);

  /* exactly max bytes is within "at most max bytes" */
  char *exact = at (t, "f5000");
  assert_int_equal (fs_write_new (exact, buf, 5000, 0600, &err), 0);
  got = NULL;
  r = fs_read_file (exact, 5000, &got, &len, &err);
  assert_int_equal (r, 0);
  if (r == 0)
    {
      assert_int_equal (len, 5000);
      free (got);
    }
  ohr_error_free (&err);

  /* missing file */
  char *missing = at (t, "missing");
  assert_true (fs_read_file (missing, 100, &got, &len, &err) < 0);
  assert_int_equal (err->status, ENOENT);
  ohr_error_free (&err);

  free (missing);
  free (exact);
  free (small);
  free (file);
}

static void
test_write_new_refuses_existing (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  char *file = at (t, "once");
  assert_int_equal (fs_write_new (file, "first", 5, 0640, &err), 0);
  assert_null (err);
  struct stat st;
  assert_int_equal (stat (file, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0640);

  int r = fs_write_new (file, "second", 6, 0640, &err);
  assert_true (r < 0);
  assert_non_null (err);
  assert_int_equal (err->status, EEXIST);
  assert_int_equal (r, -EEXIST);
  ohr_error_free (&err);

  char *got = NULL;
  assert_int_equal (fs_read_file (file, 100, &got, NULL, &err), 0);
  assert_string_equal (got, "first");
  free (got);
  free (file);
}

static void
test_rm_rf_does_not_follow_symlinks (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  /* outside/ holds what must survive; tree/ links to it */
  char *outside = at (t, "outside");
  char *outside_sub = at (t, "outside/sub");
  char *keep = at (t, "outside/sub/keep");
  char *keep2 = at (t, "outside/keep2");
  assert_int_equal (fs_mkdir_p (outside_sub, 0755, &err), 0);
  write_file (keep, "precious", 0644);
  write_file (keep2, "precious too", 0644);

  char *tree = at (t, "tree");
  char *deep = at (t, "tree/a/b/c");
  char *f1 = at (t, "tree/a/b/c/file");
  char *f2 = at (t, "tree/top");
  char *dirlink = at (t, "tree/a/to-outside");
  char *filelink = at (t, "tree/a/b/to-keep2");
  char *dangling = at (t, "tree/dangling");
  assert_int_equal (fs_mkdir_p (deep, 0755, &err), 0);
  write_file (f1, "x", 0600);
  write_file (f2, "y", 0400);
  assert_int_equal (symlink (outside, dirlink), 0);
  assert_int_equal (symlink (keep2, filelink), 0);
  assert_int_equal (symlink ("/nonexistent/target", dangling), 0);

  assert_int_equal (fs_rm_rf (tree, &err), 0);
  assert_null (err);
  assert_false (fs_exists (tree));

  assert_true (fs_is_dir (outside_sub));
  char *got = NULL;
  assert_int_equal (fs_read_file (keep, 100, &got, NULL, &err), 0);
  assert_string_equal (got, "precious");
  free (got);
  assert_int_equal (fs_read_file (keep2, 100, &got, NULL, &err), 0);
  assert_string_equal (got, "precious too");
  free (got);

  /* a top-level symlink to a directory: the link goes, not the target */
  char *toplink = at (t, "toplink");
  assert_int_equal (symlink (outside, toplink), 0);
  assert_int_equal (fs_rm_rf (toplink, &err), 0);
  assert_false (fs_exists (toplink));
  assert_true (fs_exists (keep));

  /* a missing path is not an error; a plain file is removed */
  assert_int_equal (fs_rm_rf (tree, &err), 0);
  assert_null (err);
  assert_int_equal (fs_rm_rf (keep2, &err), 0);
  assert_false (fs_exists (keep2));

  free (toplink);
  free (dangling);
  free (filelink);
  free (dirlink);
  free (f2);
  free (f1);
  free (deep);
  free (tree);
  free (keep2);
  free (keep);
  free (outside_sub);
  free (outside);
}

/* What a rootless store checkout (an image's 0555 directories) and
 * overlayfs (its mode-000 work/work) leave: the owner, not root, must
 * still remove them.  As root the test drops to nobody in a child. */
static void
test_rm_rf_read_only_dirs (void **state)
{
  struct tmp *t = *state;
  static const char *const dirs[] = { "ro", "ro/a", "ro/a/b", "ro/zero" };
  static const char *const files[] = { "ro/f", "ro/a/b/leaf" };
  static const mode_t modes[] = { 0555, 0555, 0500, 0 };
  uid_t uid = geteuid () == 0 ? 65534 : geteuid ();
  gid_t gid = geteuid () == 0 ? 65534 : getegid ();
  char *ro = at (t, "ro");
  for (size_t i = 0; i < 4; i++)
    {
      char *p = at (t, dirs[i]);
      assert_int_equal (mkdir (p, 0700), 0);
      assert_int_equal (chown (p, uid, gid), 0);
      free (p);
    }
  for (size_t i = 0; i < 2; i++)
    {
      char *p = at (t, files[i]);
      write_file (p, "x", 0444);
      assert_int_equal (chown (p, uid, gid), 0);
      free (p);
    }
  for (size_t i = 4; i-- > 0;)
    {
      char *p = at (t, dirs[i]);
      assert_int_equal (chmod (p, modes[i]), 0);
      free (p);
    }
  assert_int_equal (chown (t->dir, uid, gid), 0);
  pid_t pid = fork ();
  assert_true (pid >= 0);
  if (pid == 0)
    {
      if (geteuid () == 0
          && (setgroups (0, NULL) < 0 || setgid (gid) < 0 || setuid (uid) < 0))
        _exit (2);
      ohr_error_t err = NULL;
      if (fs_rm_rf (ro, &err) < 0)
        {
          fprintf (stderr, "fs_rm_rf: %s\n", err->msg);
          _exit (1);
        }
      _exit (0);
    }
  int status = 0;
  assert_int_equal (waitpid (pid, &status, 0), pid);
  assert_true (WIFEXITED (status));
  assert_int_equal (WEXITSTATUS (status), 0);
  assert_false (fs_exists (ro));
  free (ro);
}

static void
test_copy_entry (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;

  /* a symlink is copied as a symlink, with the same (relative) target */
  char *link = at (t, "link");
  char *link_copy = at (t, "link-copy");
  assert_int_equal (symlink ("../some/where", link), 0);
  assert_int_equal (fs_copy_entry (link, link_copy, &err), 0);
  assert_null (err);
  struct stat st;
  assert_int_equal (lstat (link_copy, &st), 0);
  assert_true (S_ISLNK (st.st_mode));
  char target[256];
  ssize_t n = readlink (link_copy, target, sizeof target - 1);
  assert_true (n > 0);
  target[n] = '\0';
  assert_string_equal (target, "../some/where");

  /* a file with its mode, content and mtime */
  char *src = at (t, "tool");
  char *dst = at (t, "tool-copy");
  write_file (src, "#!/bin/sh\necho hi\n", 0750);
  struct timespec times[2] = { { .tv_sec = 1000000000, .tv_nsec = 0 },
                               { .tv_sec = 1234567890, .tv_nsec = 0 } };
  assert_int_equal (utimensat (AT_FDCWD, src, times, 0), 0);
  assert_int_equal (fs_copy_entry (src, dst, &err), 0);
  assert_int_equal (lstat (dst, &st), 0);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0750);
  assert_int_equal (st.st_mtim.tv_sec, 1234567890);
  char *got = NULL;
  assert_int_equal (fs_read_file (dst, 100, &got, NULL, &err), 0);
  assert_string_equal (got, "#!/bin/sh\necho hi\n");
  free (got);

  /* overwrite an existing destination */
  write_file (src, "v2", 0755);
  assert_int_equal (fs_copy_entry (src, dst, &err), 0);
  assert_int_equal (fs_read_file (dst, 100, &got, NULL, &err), 0);
  assert_string_equal (got, "v2");
  free (got);
  assert_int_equal (lstat (dst, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0755);

  /* a mode the umask (022 here) would cut */
  char *shared = at (t, "shared");
  char *shared_copy = at (t, "shared-copy");
  write_file (shared, "s", 0664);
  assert_int_equal (fs_copy_entry (shared, shared_copy, &err), 0);
  assert_int_equal (lstat (shared_copy, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0664);

  /* a directory is neither a regular file nor a symlink */
  char *dir = at (t, "adir");
  char *dir_copy = at (t, "adir-copy");
  assert_int_equal (fs_mkdir_p (dir, 0755, &err), 0);
  assert_true (fs_copy_entry (dir, dir_copy, &err) < 0);
  assert_non_null (err);
  assert_false (fs_exists (dir_copy));
  ohr_error_free (&err);

  /* a missing source */
  char *missing = at (t, "missing");
  assert_true (fs_copy_entry (missing, dir_copy, &err) < 0);
  assert_int_equal (err->status, ENOENT);
  ohr_error_free (&err);

  free (missing);
  free (dir_copy);
  free (dir);
  free (shared_copy);
  free (shared);
  free (dst);
  free (src);
  free (link_copy);
  free (link);
}

static void
test_copy_tree (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  char *src = at (t, "src");
  char *deep = at (t, "src/a/b");
  assert_int_equal (fs_mkdir_p (deep, 0755, &err), 0);
  char *f1 = at (t, "src/top.h"), *f2 = at (t, "src/a/b/tool");
  char *link = at (t, "src/a/link"), *fifo = at (t, "src/a/fifo");
  char *ro = at (t, "src/ro");
  write_file (f1, "#define X 1\n", 0644);
  write_file (f2, "#!/bin/sh\n", 0750);
  assert_int_equal (symlink ("b/tool", link), 0);
  assert_int_equal (mkfifo (fifo, 0600), 0);
  assert_int_equal (mkdir (ro, 0555), 0);

  char *dst = at (t, "copy");
  assert_int_equal (fs_copy_tree (src, dst, &err), 0);
  assert_null (err);
  char *c1 = at (t, "copy/top.h"), *c2 = at (t, "copy/a/b/tool");
  char *clink = at (t, "copy/a/link"), *cfifo = at (t, "copy/a/fifo");
  char *cro = at (t, "copy/ro");
  char *got = NULL;
  assert_int_equal (fs_read_file (c1, 100, &got, NULL, &err), 0);
  assert_string_equal (got, "#define X 1\n");
  free (got);
  struct stat st;
  assert_int_equal (lstat (c2, &st), 0);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0750);
  /* a symlink stays a link, never followed */
  assert_int_equal (lstat (clink, &st), 0);
  assert_true (S_ISLNK (st.st_mode));
  char target[64];
  ssize_t n = readlink (clink, target, sizeof target - 1);
  assert_int_equal (n, 6);
  target[n] = '\0';
  assert_string_equal (target, "b/tool");
  /* a fifo is not content */
  assert_false (fs_exists (cfifo));
  /* a directory stays writable by us (to fill it, and to remove it) */
  assert_int_equal (lstat (cro, &st), 0);
  assert_int_equal (st.st_mode & 07777, 0755);

  /* the destination must not exist */
  assert_true (fs_copy_tree (src, dst, &err) < 0);
  assert_int_equal (err->status, EEXIST);
  ohr_error_free (&err);
  /* the source must be a directory, not a link to one */
  char *to_src = at (t, "to-src"), *other = at (t, "other");
  assert_int_equal (symlink (src, to_src), 0);
  assert_true (fs_copy_tree (to_src, other, &err) < 0);
  assert_int_equal (err->status, ENOTDIR);
  ohr_error_free (&err);
  assert_false (fs_exists (other));

  free_many (src, deep, f1, f2, link, fifo, ro, dst, c1, c2, clink, cfifo);
  free_many (cro, to_src, other);
}

static void
test_ensure_private_dir (void **state)
{
  struct tmp *t = *state;
  ohr_error_t err = NULL;
  struct stat st;

  char *fresh = at (t, "state/oci-host-runner");
  assert_int_equal (fs_ensure_private_dir (fresh, &err), 0);
  assert_null (err);
  assert_int_equal (lstat (fresh, &st), 0);
  assert_true (S_ISDIR (st.st_mode));
  assert_int_equal (st.st_mode & 022, 0);
  assert_int_equal (st.st_uid, geteuid ());
  /* again: an existing private directory is fine */
  assert_int_equal (fs_ensure_private_dir (fresh, &err), 0);

  /* writable by others (pre-created in a shared /tmp): refused */
  char *open_dir = at (t, "open");
  assert_int_equal (mkdir (open_dir, 0700), 0);
  assert_int_equal (chmod (open_dir, 0777), 0);
  assert_true (fs_ensure_private_dir (open_dir, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->status, EPERM);
  ohr_error_free (&err);

  /* a symlink to a private directory: refused, not followed */
  char *link = at (t, "link");
  assert_int_equal (symlink (fresh, link), 0);
  assert_true (fs_ensure_private_dir (link, &err) < 0);
  assert_non_null (err);
  ohr_error_free (&err);

  /* a file */
  char *file = at (t, "file");
  write_file (file, "x", 0600);
  assert_true (fs_ensure_private_dir (file, &err) < 0);
  assert_non_null (err);
  ohr_error_free (&err);

  free (file);
  free (link);
  free (open_dir);
  free (fresh);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_normalize),
    cmocka_unit_test (test_is_under),
    cmocka_unit_test (test_join),
    cmocka_unit_test_setup_teardown (test_mkdir_write_read, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_read_binary_and_large, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_read_max_size, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_write_new_refuses_existing,
                                     setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_rm_rf_does_not_follow_symlinks,
                                     setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_rm_rf_read_only_dirs, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_copy_entry, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_copy_tree, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_ensure_private_dir, setup_tmp,
                                     teardown_tmp),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
