/* test-wsview.c: what a path package sees of its workspace (a tree made in
 * a temp directory), where paths fall in it, and the watch over the
 * directive stream fed in arbitrary pieces. */
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
#include <unistd.h>

#include "run/wsview.h"
#include "util/error.h"
#include "util/fs.h"

static char *tmp;

static int
setup (void **state)
{
  char templ[] = "/tmp/ohr-test-wsview-XXXXXX";
  if (mkdtemp (templ) == NULL)
    return -1;
  tmp = strdup (templ);
  ohr_error_t err = NULL;
  const char *dirs[]
      = { "gen", ".git", "target", "other-target", ".cargo", "docs" };
  for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
    {
      char *p = fs_path_join (tmp, dirs[i]);
      if (fs_mkdir_p (p, 0755, &err) < 0)
        return -1;
      free (p);
    }
  const char *files[] = { "target/CACHEDIR.TAG", "other-target/CACHEDIR.TAG",
                          ".env", ".cargo/credentials.toml", "docs/x" };
  for (size_t i = 0; i < sizeof files / sizeof *files; i++)
    {
      char *p = fs_path_join (tmp, files[i]);
      if (fs_write_atomic (p, "x", 1, 0644, false, &err) < 0)
        return -1;
      free (p);
    }
  char *link = fs_path_join (tmp, ".ssh");
  if (symlink ("/nonexistent", link) < 0)
    return -1;
  free (link);
  return 0;
}

static int
teardown (void **state)
{
  ohr_error_t err = NULL;
  int r = fs_rm_rf (tmp, &err);
  ohr_error_free (&err);
  free (tmp);
  return r;
}

static const struct wsview_hidden *
find (const struct wsview *v, const char *rel)
{
  for (size_t i = 0; i < v->n; i++)
    if (strcmp (v->v[i].rel, rel) == 0)
      return &v->v[i];
  return NULL;
}

static void
plan (enum pkgsource_kind kind, char **keep, struct wsview *v)
{
  char *gen = fs_path_join (tmp, "gen");
  struct pkgsource src = { .kind = kind, .root = tmp };
  ohr_error_t err = NULL;
  assert_int_equal (wsview_plan (&src, gen, keep, v, &err), 0);
  free (gen);
}

static void
test_plan (void **state)
{
  struct wsview v;
  plan (PKGSOURCE_PATH, NULL, &v);
  assert_string_equal (v.root, tmp);
  assert_true (find (&v, ".git")->dir);
  assert_true (find (&v, "target")->dir);
  assert_true (find (&v, "other-target")->dir);
  assert_false (find (&v, ".env")->dir);
  assert_false (find (&v, ".cargo/credentials.toml")->dir);
  assert_null (find (&v, ".ssh"));   /* a symlink: left alone */
  assert_null (find (&v, "docs"));   /* no target dir, no secret */
  assert_null (find (&v, ".npmrc")); /* absent */
  assert_int_equal (v.n, 5);
  wsview_clear (&v);

  char *keep[] = { ".git", "target/x", NULL };
  plan (PKGSOURCE_PATH, keep, &v);
  assert_null (find (&v, ".git"));
  assert_non_null (find (&v, "target")); /* only below it was asked for */
  wsview_clear (&v);

  /* a registry crate sees its own directory, and nothing is hidden */
  plan (PKGSOURCE_REGISTRY, NULL, &v);
  assert_non_null (strstr (v.root, "/gen"));
  assert_int_equal (v.n, 0);
  wsview_clear (&v);
}

static void
test_classify (void **state)
{
  struct wsview v;
  plan (PKGSOURCE_PATH, NULL, &v);
  char *p = NULL;
  const struct wsview_hidden *h = NULL;
  assert_true (asprintf (&p, "%s/.git/HEAD", tmp) > 0);
  assert_int_equal (wsview_classify (&v, p, &h), WSVIEW_HIDDEN);
  assert_string_equal (h->rel, ".git");
  free (p);
  assert_true (asprintf (&p, "%s/.gitignore", tmp) > 0);
  assert_int_equal (wsview_classify (&v, p, NULL), WSVIEW_SEEN);
  free (p);
  assert_int_equal (wsview_classify (&v, "/elsewhere", NULL), WSVIEW_OUTSIDE);
  wsview_clear (&v);
}

static void
test_watch (void **state)
{
  struct wsview v;
  plan (PKGSOURCE_PATH, NULL, &v);
  char *gen = fs_path_join (tmp, "gen");
  char *text = NULL;
  assert_true (asprintf (&text,
                         "warning: cargo::rerun-if-changed=../.git/HEAD\n"
                         "  cargo::rerun-if-changed=../.git/HEAD \r\n"
                         "cargo:rerun-if-changed=%s/target/x\n"
                         "cargo::rerun-if-changed=../docs/x\n"
                         "cargo::rerun-if-changed=/usr/include/stdio.h\n"
                         "cargo::rerun-if-changed=../../outside.txt\n"
                         "cargo::rustc-env=X=../.env\n"
                         "cargo::rerun-if-changed=../.env",
                         tmp)
               > 0);
  /* the same findings however the stream is cut */
  for (size_t step = 1; step <= strlen (text); step += 7)
    {
      struct wsview_watch w = { .view = &v, .manifest_dir = gen };
      for (size_t i = 0; i < strlen (text); i += step)
        wsview_watch_feed (
            &w, text + i, i + step > strlen (text) ? strlen (text) - i : step);
      wsview_watch_finish (&w);
      assert_int_equal (w.n, 4);
      assert_int_equal (w.v[0].place, WSVIEW_HIDDEN);
      assert_string_equal (w.v[0].printed, "../.git/HEAD");
      assert_string_equal (w.v[0].hidden->rel, ".git");
      assert_string_equal (w.v[1].hidden->rel, "target");
      assert_int_equal (w.v[2].place, WSVIEW_OUTSIDE);
      assert_string_equal (w.v[2].printed, "../../outside.txt");
      assert_string_equal (w.v[3].hidden->rel, ".env");
      wsview_watch_clear (&w);
    }
  free (text);
  free (gen);
  wsview_clear (&v);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_plan, setup, teardown),
    cmocka_unit_test_setup_teardown (test_classify, setup, teardown),
    cmocka_unit_test_setup_teardown (test_watch, setup, teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
