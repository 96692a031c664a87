/* test-walk.c: the one tree walker, on real trees in a temp directory:
 * symlinks reported and never followed, the depth bound, a directory
 * swapped for a symlink (or another directory) while the walk runs. */
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/walk.h"

struct seen
{
  char **pre;  /* "path" for each entry, "path/" for a directory */
  char **post; /* directories after their entries */
  char **links;
};

static void
seen_clear (struct seen *s)
{
  strv_free (s->pre);
  strv_free (s->post);
  strv_free (s->links);
  *s = (struct seen){ 0 };
}

static int
record (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  struct seen *s = ctx;
  if (e->post)
    {
      assert_true (S_ISDIR (e->st->st_mode));
      assert_int_equal (strv_push (&s->post, e->path), 0);
      return WALK_CONTINUE;
    }
  /* dirfd and name find the entry itself, without following it */
  struct stat st;
  assert_int_equal (fstatat (e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW), 0);
  assert_int_equal (st.st_ino, e->st->st_ino);
  const char *slash = strrchr (e->path, '/');
  assert_string_equal (slash ? slash + 1 : e->path, e->name);
  if (S_ISLNK (e->st->st_mode))
    assert_int_equal (strv_push (&s->links, e->path), 0);
  assert_int_equal (strv_pushf (&s->pre, "%s%s", e->path,
                                S_ISDIR (e->st->st_mode) ? "/" : ""),
                    0);
  return WALK_CONTINUE;
}

static char *
at (const char *dir, const char *rel)
{
  char *p = fs_path_join (dir, rel);
  assert_non_null (p);
  return p;
}

static void
put (const char *dir, const char *rel)
{
  char *p = at (dir, rel);
  assert_int_equal (fs_write_new (p, "x", 1, 0644, NULL), 0);
  free (p);
}

static void
mkdir_at (const char *dir, const char *rel)
{
  char *p = at (dir, rel);
  assert_int_equal (fs_mkdir_p (p, 0755, NULL), 0);
  free (p);
}

static void
link_at (const char *target, const char *dir, const char *rel)
{
  char *p = at (dir, rel);
  assert_int_equal (symlink (target, p), 0);
  free (p);
}

static int
setup (void **state)
{
  char tmpl[] = "/tmp/ohr-walk-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  *state = strdup (tmpl);
  /* tree/ is walked; outside/ must never be seen through it */
  mkdir_at (*state, "tree/a/b");
  mkdir_at (*state, "tree/empty");
  mkdir_at (*state, "outside/deep");
  put (*state, "tree/top");
  put (*state, "tree/a/b/leaf");
  put (*state, "outside/secret");
  put (*state, "outside/deep/secret2");
  return 0;
}

static int
teardown (void **state)
{
  ohr_error_t err = NULL;
  int r = fs_rm_rf (*state, &err);
  if (r < 0)
    fprintf (stderr, "teardown: %s\n", err->msg);
  ohr_error_free (&err);
  free (*state);
  return 0;
}

static void
test_every_entry_no_symlink_followed (void **state)
{
  const char *dir = *state;
  char *outside = at (dir, "outside");
  char *outside_file = at (dir, "outside/secret");
  link_at (outside, dir, "tree/a/to-outside");
  link_at (outside_file, dir, "tree/to-secret");
  link_at ("../../outside", dir, "tree/a/relative-out");
  link_at ("/nonexistent", dir, "tree/dangling");
  char *tree = at (dir, "tree");

  struct seen s = { 0 };
  ohr_error_t err = NULL;
  struct walk_options opts = { .flags = WALK_POST };
  assert_int_equal (walk_tree (AT_FDCWD, tree, &opts, record, &s, &err), 0);
  assert_null (err);
  static const char *const want[]
      = { "top",      "a/",           "a/b/",           "a/b/leaf", "empty/",
          "dangling", "a/to-outside", "a/relative-out", "to-secret" };
  for (size_t i = 0; i < sizeof want / sizeof *want; i++)
    if (!strv_contains (s.pre, want[i]))
      fail_msg ("'%s' not visited", want[i]);
  assert_int_equal (strv_len (s.pre), sizeof want / sizeof *want);
  for (size_t i = 0; s.pre[i]; i++)
    if (strstr (s.pre[i], "secret2") || strstr (s.pre[i], "deep"))
      fail_msg ("walked through a symlink: '%s'", s.pre[i]);
  assert_int_equal (strv_len (s.links), 4);
  /* post-order: each directory once, after what it holds */
  assert_int_equal (strv_len (s.post), 3);
  assert_true (strv_contains (s.post, "a"));
  assert_true (strv_contains (s.post, "a/b"));
  assert_true (strv_contains (s.post, "empty"));
  size_t ia = 0, iab = 0;
  for (size_t i = 0; s.post[i]; i++)
    {
      if (strcmp (s.post[i], "a") == 0)
        ia = i;
      if (strcmp (s.post[i], "a/b") == 0)
        iab = i;
    }
  assert_true (iab < ia);
  seen_clear (&s);

  /* the root may be a symlink only when the caller allows it */
  char *rootlink = at (dir, "rootlink");
  assert_int_equal (symlink (tree, rootlink), 0);
  assert_int_equal (walk_tree (AT_FDCWD, rootlink, NULL, record, &s, &err), 0);
  assert_int_equal (strv_len (s.pre), sizeof want / sizeof *want);
  seen_clear (&s);
  opts.flags = WALK_ROOT_NOFOLLOW;
  assert_true (walk_tree (AT_FDCWD, rootlink, &opts, record, &s, &err) < 0);
  assert_non_null (err);
  /* O_NOFOLLOW | O_DIRECTORY on a symlink: ENOTDIR */
  assert_true (err->status == ENOTDIR || err->status == ELOOP);
  ohr_error_free (&err);
  assert_null (s.pre);

  /* rm -rf on the same tree: the links go, their targets stay */
  assert_int_equal (fs_rm_rf (tree, &err), 0);
  assert_false (fs_exists (tree));
  assert_true (fs_exists (outside_file));
  char *secret2 = at (dir, "outside/deep/secret2");
  assert_true (fs_exists (secret2));
  free (secret2);
  free (rootlink);
  free (tree);
  free (outside_file);
  free (outside);
}

static int
skip_dirs (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  (void)ctx, (void)err;
  return S_ISDIR (e->st->st_mode) ? WALK_SKIP : WALK_CONTINUE;
}

static void
test_depth_bound (void **state)
{
  const char *dir = *state;
  /* tree/d/d/d/d/d/f: f is at depth 7 */
  mkdir_at (dir, "tree/d/d/d/d/d");
  put (dir, "tree/d/d/d/d/d/f");
  char *tree = at (dir, "tree");
  struct seen s = { 0 };
  ohr_error_t err = NULL;
  struct walk_options opts = { .max_depth = 6 };
  assert_int_equal (walk_tree (AT_FDCWD, tree, &opts, record, &s, &err), 0);
  assert_true (strv_contains (s.pre, "d/d/d/d/d/f"));
  seen_clear (&s);

  /* one level less: an error, not a silently shorter walk */
  opts.max_depth = 5;
  int r = walk_tree (AT_FDCWD, tree, &opts, record, &s, &err);
  assert_true (r < 0);
  assert_non_null (err);
  assert_int_equal (err->status, ELOOP);
  assert_non_null (strstr (err->msg, "more than 5 levels"));
  ohr_error_free (&err);
  assert_false (strv_contains (s.pre, "d/d/d/d/d/f"));
  seen_clear (&s);

  /* a callback that does not descend is not bounded */
  opts.max_depth = 1;
  assert_int_equal (walk_tree (AT_FDCWD, tree, &opts, skip_dirs, NULL, &err),
                    0);

  /* the default bound holds for a tree deeper than it (x/x/x/...) */
  enum
  {
    DEEP = WALK_MAX_DEPTH + 5
  };
  int fds[DEEP + 1];
  fds[0] = open (tree, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (fds[0] >= 0);
  for (int i = 0; i < DEEP; i++)
    {
      assert_int_equal (mkdirat (fds[i], "x", 0755), 0);
      fds[i + 1] = openat (fds[i], "x", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      assert_true (fds[i + 1] >= 0);
    }
  r = walk_tree (AT_FDCWD, tree, NULL, record, &s, &err);
  assert_true (r < 0);
  assert_int_equal (err->status, ELOOP);
  ohr_error_free (&err);
  seen_clear (&s);
  /* and rm -rf, on the walker, refuses it too: remove it by hand */
  char *x = at (tree, "x");
  assert_true (fs_rm_rf (x, &err) < 0);
  ohr_error_free (&err);
  free (x);
  close (fds[DEEP]);
  for (int i = DEEP - 1; i >= 0; i--)
    {
      assert_int_equal (unlinkat (fds[i], "x", AT_REMOVEDIR), 0);
      close (fds[i]);
    }
  free (tree);
}

struct swap
{
  const char *dir;
  const char *replacement; /* a symlink target, or NULL: another directory */
  char **seen;
};

/* Before the walker enters tree/a, replace it. */
static int
swap_a (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  struct swap *sw = ctx;
  assert_int_equal (strv_push (&sw->seen, e->path), 0);
  if (strcmp (e->path, "a") != 0)
    return WALK_CONTINUE;
  assert_int_equal (renameat (e->dirfd, "a", e->dirfd, "a.moved"), 0);
  if (sw->replacement)
    assert_int_equal (symlinkat (sw->replacement, e->dirfd, "a"), 0);
  else
    assert_int_equal (renameat (e->dirfd, "empty", e->dirfd, "a"), 0);
  return WALK_CONTINUE;
}

static void
test_dir_swapped_during_walk (void **state)
{
  const char *dir = *state;
  char *outside = at (dir, "outside");
  char *tree = at (dir, "tree");
  struct swap sw = { .dir = dir, .replacement = outside };
  ohr_error_t err = NULL;
  int r = walk_tree (AT_FDCWD, tree, NULL, swap_a, &sw, &err);
  assert_true (r < 0);
  assert_non_null (err);
  for (size_t i = 0; sw.seen && sw.seen[i]; i++)
    if (strstr (sw.seen[i], "secret"))
      fail_msg ("followed the swapped-in symlink to '%s'", sw.seen[i]);
  ohr_error_free (&err);
  strv_free (sw.seen);

  /* put a back; then swap it for another directory (a rename race) */
  char *a = at (dir, "tree/a");
  char *moved = at (dir, "tree/a.moved");
  assert_int_equal (unlink (a), 0);
  assert_int_equal (rename (moved, a), 0);
  sw = (struct swap){ .dir = dir };
  r = walk_tree (AT_FDCWD, tree, NULL, swap_a, &sw, &err);
  assert_true (r < 0);
  assert_int_equal (err->status, ESTALE);
  assert_non_null (strstr (err->msg, "replaced"));
  ohr_error_free (&err);
  strv_free (sw.seen);
  free (moved);
  free (a);
  free (tree);
  free (outside);
}

static int
fail_on_leaf (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  int *calls = ctx;
  (*calls)++;
  if (strcmp (e->name, "leaf") == 0)
    return ohr_error_set (err, EPERM, OHR_ERR_POLICY, "no leaves");
  return WALK_CONTINUE;
}

static void
test_callback_error_stops (void **state)
{
  char *tree = at (*state, "tree");
  ohr_error_t err = NULL;
  int calls = 0;
  int r = walk_tree (AT_FDCWD, tree, NULL, fail_on_leaf, &calls, &err);
  assert_int_equal (r, -EPERM);
  assert_string_equal (err->msg, "no leaves");
  assert_int_equal (err->kind, OHR_ERR_POLICY);
  ohr_error_free (&err);
  /* a missing root is an error naming it */
  char *none = at (*state, "none");
  assert_true (walk_tree (AT_FDCWD, none, NULL, fail_on_leaf, &calls, &err)
               < 0);
  assert_non_null (strstr (err->msg, none));
  ohr_error_free (&err);
  free (none);
  free (tree);
}

static void
test_escapes (void **state)
{
  const char *dir = *state;
  char *tree = at (dir, "tree");
  link_at (".", dir, "tree/s");
  link_at ("s/..", dir, "tree/up");
  link_at ("a/b/leaf", dir, "tree/in");
  link_at ("a/missing", dir, "tree/dangling-in");
  int fd = open (tree, O_PATH | O_DIRECTORY | O_CLOEXEC);
  assert_true (fd >= 0);
  assert_false (walk_escapes (fd, "s"));
  assert_false (walk_escapes (fd, "in"));
  assert_false (walk_escapes (fd, "dangling-in"));
  long k = syscall (SYS_openat2, -1, "", NULL, 0);
  if (!(k < 0 && errno == ENOSYS))
    {
      assert_true (walk_escapes (fd, "up"));
      assert_true (walk_escapes (fd, "up/outside/secret"));
    }
  close (fd);
  free (tree);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_every_entry_no_symlink_followed,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (test_depth_bound, setup, teardown),
    cmocka_unit_test_setup_teardown (test_dir_swapped_during_walk, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_callback_error_stops, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_escapes, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
