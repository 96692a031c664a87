/* test-toolchain-id.c: a rustup toolchain's identity
 * (src/cache/toolchain-id.h): the same toolchain at another path has the
 * same identity; a file changed after its component's manifest, a file no
 * manifest lists, an executable bit, a file gone each change it; what the
 * skip list names does not; a tree without rustup's manifests has none. */
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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/toolchain-id.h"
#include "tmpdir.h"
#include "util/cleanup.h"

#define INSTALLED 1700000000 /* the files' mtime */
#define MANIFESTS 1700000010 /* the manifests', written after them */

static char *
at (const char *root, const char *rel)
{
  size_t n = strlen (tmp) + strlen (root) + strlen (rel) + 3;
  char *p = malloc (n);
  assert_non_null (p);
  snprintf (p, n, "%s/%s/%s", tmp, root, rel);
  return p;
}

static void
put (const char *root, const char *rel, const char *data, mode_t mode,
     time_t mtime)
{
  char *p = at (root, rel);
  char dir[PATH_MAX];
  ohr_error_t err = NULL;
  snprintf (dir, sizeof dir, "%.*s", (int)(strrchr (p, '/') - p), p);
  assert_int_equal (fs_mkdir_p (dir, 0755, &err), 0);
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (data, f);
  assert_int_equal (fclose (f), 0);
  assert_int_equal (chmod (p, mode), 0);
  struct timespec t[2] = { { mtime, 0 }, { mtime, 0 } };
  assert_int_equal (utimensat (AT_FDCWD, p, t, 0), 0);
  free (p);
}

/* a small rustup toolchain at tmp/root */
static void
make_toolchain (const char *root)
{
  put (root, "bin/rustc", "rustc 1.0\n", 0755, INSTALLED);
  put (root, "lib/librustc.so", "driver\n", 0644, INSTALLED);
  put (root, "share/doc/rust/index.html", "<html>\n", 0644, INSTALLED);
  put (root, "lib/rustlib/multirust-channel-manifest.toml",
       "manifest-version = \"2\"\n[pkg.rustc]\nversion = \"1.0\"\n", 0644,
       MANIFESTS);
  put (root, "lib/rustlib/components", "rustc-x86_64\n", 0644, MANIFESTS);
  put (root, "lib/rustlib/manifest-rustc-x86_64",
       "file:bin/rustc\nfile:lib/librustc.so\ndir:share/doc/rust\n", 0644,
       MANIFESTS);
}

static int
identity (const char *root, char out[65])
{
  cleanup_free char *p = at (root, "");
  p[strlen (p) - 1] = '\0';
  char *skip[] = { "share/doc", NULL };
  ohr_error_t err = NULL;
  int r = cache_toolchain_identity (p, skip, NULL, out, &err);
  if (r < 0)
    fail_msg ("%s", err->msg);
  return r;
}

static void
test_same_elsewhere (void **state)
{
  (void)state;
  char a[65], b[65];
  make_toolchain ("one");
  make_toolchain ("other/place");
  assert_int_equal (identity ("one", a), 1);
  assert_int_equal (identity ("other/place", b), 1);
  assert_string_equal (a, b);
  assert_int_equal (strlen (a), 64);
}

/* each change to a copy of the toolchain: another identity */
static void
test_changes (void **state)
{
  (void)state;
  char base[65], now[65];
  make_toolchain ("t");
  assert_int_equal (identity ("t", base), 1);

  /* a listed file modified (its mtime after the manifest's) */
  put ("t", "lib/librustc.so", "patched\n", 0644, MANIFESTS + 100);
  assert_int_equal (identity ("t", now), 1);
  assert_string_not_equal (base, now);
  char patched[65];
  memcpy (patched, now, 65);
  /* ... and modified again: its bytes count, not only that it changed */
  put ("t", "lib/librustc.so", "patched again\n", 0644, MANIFESTS + 200);
  assert_int_equal (identity ("t", now), 1);
  assert_string_not_equal (patched, now);
  assert_string_not_equal (base, now);
  /* back as installed */
  put ("t", "lib/librustc.so", "driver\n", 0644, INSTALLED);
  assert_int_equal (identity ("t", now), 1);
  assert_string_equal (base, now);

  /* a file no manifest lists */
  put ("t", "lib/extra.so", "extra\n", 0644, INSTALLED);
  assert_int_equal (identity ("t", now), 1);
  assert_string_not_equal (base, now);
  memcpy (patched, now, 65);
  put ("t", "lib/extra.so", "other\n", 0644, INSTALLED);
  assert_int_equal (identity ("t", now), 1);
  assert_string_not_equal (patched, now);
  cleanup_free char *extra = at ("t", "lib/extra.so");
  assert_int_equal (unlink (extra), 0);

  /* an executable bit */
  cleanup_free char *lib = at ("t", "lib/librustc.so");
  assert_int_equal (chmod (lib, 0755), 0);
  assert_int_equal (identity ("t", now), 1);
  assert_string_not_equal (base, now);
  assert_int_equal (chmod (lib, 0644), 0);

  /* a file gone */
  assert_int_equal (unlink (lib), 0);
  assert_int_equal (identity ("t", now), 1);
  assert_string_not_equal (base, now);
  put ("t", "lib/librustc.so", "driver\n", 0644, INSTALLED);

  /* a manifest's bytes */
  put ("t", "lib/rustlib/multirust-channel-manifest.toml",
       "manifest-version = \"2\"\n[pkg.rustc]\nversion = \"1.1\"\n", 0644,
       MANIFESTS);
  assert_int_equal (identity ("t", now), 1);
  assert_string_not_equal (base, now);
}

static void
test_skipped_does_not_count (void **state)
{
  (void)state;
  char base[65], now[65];
  make_toolchain ("t");
  assert_int_equal (identity ("t", base), 1);
  put ("t", "share/doc/rust/index.html", "changed\n", 0644, MANIFESTS + 5);
  put ("t", "share/doc/new.html", "new\n", 0644, MANIFESTS + 5);
  assert_int_equal (identity ("t", now), 1);
  assert_string_equal (base, now);
}

static void
test_not_rustup (void **state)
{
  (void)state;
  char id[65] = "";
  make_toolchain ("t");
  cleanup_free char *components = at ("t", "lib/rustlib/components");
  assert_int_equal (unlink (components), 0);
  assert_int_equal (identity ("t", id), 0);
  put ("u", "bin/rustc", "rustc\n", 0755, INSTALLED);
  assert_int_equal (identity ("u", id), 0);
  assert_string_equal (id, "");
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_same_elsewhere, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_changes, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_skipped_does_not_count, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_not_rustup, setup_tmp, teardown_tmp),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
