/* test-key.c: the action key of a run (cache/key.h): stable, independent
 * of where the checkout lives, and changed by every input the issue
 * names (a source file, --env, the image, the toolchain, the policy, the
 * build-script binary, a dependency's OUT_DIR), but not by run-time
 * plumbing (jobserver fds, NUM_JOBS).  And the path+stat memo. */
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache/key.h"
#include "cache/memo.h"
#include "cache/merkle.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

#include "tmpdir.h"

static void
put (const char *dir, const char *rel, const char *text)
{
  cleanup_free char *p = fs_path_join (dir, rel);
  cleanup_free char *parent = strdup (p);
  *strrchr (parent, '/') = '\0';
  ohr_error_t err = NULL;
  assert_int_equal (fs_mkdir_p (parent, 0755, &err), 0);
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  fputs (text, f);
  fclose (f);
}

/* A checkout at tmp/NAME: a crate, its build script, a toolchain, a
 * dependency's OUT_DIR. */
static char *
checkout (const char *name)
{
  char *root = fs_path_join (tmp, name);
  put (root, "crate/Cargo.toml", "[package]\nname = \"x\"\n");
  put (root, "crate/build.rs", "fn main() {}\n");
  put (root, "crate/src/lib.rs", "pub fn f() {}\n");
  put (root, "crate/hidden/secret.txt", "hidden\n");
  put (root, "script",
       "\x7f"
       "ELF build script");
  cleanup_free char *script = fs_path_join (root, "script");
  assert_int_equal (chmod (script, 0755), 0);
  put (root, "toolchain/bin/rustc", "rustc 1.0");
  put (root, "toolchain/share/doc/rust/index.html", "<html>");
  put (root, "dep-out/include/z.h", "#define Z 1\n");
  cleanup_free char *link = fs_path_join (root, "crate/link");
  assert_int_equal (symlink ("src/lib.rs", link), 0);
  return root;
}

struct setup
{
  const char *root;
  const char *image;
  const char *policy;
  char **env; /* NAME=VALUE */
};

static void
request (const struct setup *s, struct cache_request *r)
{
  ohr_error_t err = NULL;
  memset (r, 0, sizeof *r);
  char *args[] = { "/cargo/bin/build-script", NULL };
  r->command.arguments = strv_copy (args);
  assert_int_equal (strv_push (&r->command.output_directories, "cargo/out"),
                    0);
  r->command.working_directory = strdup ("cargo/src");
  static char *const base_env[]
      = { "CARGO_PKG_NAME=x", "OUT_DIR=/cargo/out", "NUM_JOBS=2",
          "CARGO_MAKEFLAGS=-j --jobserver-fds=5,6 --jobserver-auth=5,6",
          NULL };
  /* the setup's variables replace the base's of the same name */
  for (size_t i = 0; base_env[i]; i++)
    {
      size_t n = strcspn (base_env[i], "=") + 1;
      bool replaced = false;
      for (size_t j = 0; s->env && s->env[j]; j++)
        replaced = replaced || strncmp (s->env[j], base_env[i], n) == 0;
      if (!replaced)
        assert_int_equal (cache_request_add_env (r, base_env[i], &err), 0);
    }
  for (size_t i = 0; s->env && s->env[i]; i++)
    assert_int_equal (cache_request_add_env (r, s->env[i], &err), 0);
  assert_int_equal (
      cache_request_add_platform (r, "container-image", s->image, &err), 0);
  assert_int_equal (cache_request_add_platform (r, "policy", s->policy, &err),
                    0);
  struct cache_input *in;
  cleanup_free char *crate = fs_path_join (s->root, "crate");
  cleanup_free char *script = fs_path_join (s->root, "script");
  cleanup_free char *tc = fs_path_join (s->root, "toolchain");
  cleanup_free char *dep = fs_path_join (s->root, "dep-out");
  assert_int_equal (
      cache_request_add_input (r, "/cargo/src", crate, &in, &err), 0);
  assert_int_equal (strv_push (&in->empty, "hidden"), 0);
  assert_int_equal (cache_request_add_input (r, "/cargo/bin/build-script",
                                             script, NULL, &err),
                    0);
  assert_int_equal (
      cache_request_add_input (r, "/cargo/toolchain", tc, &in, &err), 0);
  assert_int_equal (strv_push (&in->skip, "share/doc"), 0);
  assert_int_equal (cache_request_add_input (r, "/cargo/build/dep-1234/out",
                                             dep, NULL, &err),
                    0);
}

static void
key_of (const struct setup *s, char out[65])
{
  struct cache_request r;
  struct cache_key k;
  ohr_error_t err = NULL;
  request (s, &r);
  if (cache_key_compute (&r, NULL, &k, &err) < 0)
    fail_msg ("%s", err->msg);
  memcpy (out, k.hex, 65);
  cache_key_clear (&k);
  cache_request_clear (&r);
}

static const struct setup base
    = { .image = "sha256:1111", .policy = "network=none" };

static void
test_stable_and_path_independent (void **state)
{
  cleanup_free char *a = checkout ("a");
  cleanup_free char *b = checkout ("elsewhere-b");
  struct setup sa = base, sb = base;
  sa.root = a;
  sb.root = b;
  char k1[65], k2[65], k3[65];
  key_of (&sa, k1);
  key_of (&sa, k2);
  key_of (&sb, k3);
  assert_string_equal (k1, k2);
  /* the same crate at another path: the same key */
  assert_string_equal (k1, k3);
  assert_int_equal (strlen (k1), 64);
}

/* Changing path (relative to the checkout) with fn changes the key, or
 * not (same). */
static void
expect_change (const char *rel, const char *text, bool changes)
{
  cleanup_free char *a = checkout ("a");
  struct setup s = base;
  s.root = a;
  char before[65], after[65];
  key_of (&s, before);
  put (a, rel, text);
  key_of (&s, after);
  if (changes && strcmp (before, after) == 0)
    fail_msg ("changing %s did not change the key", rel);
  if (!changes && strcmp (before, after) != 0)
    fail_msg ("changing %s changed the key", rel);
  ohr_error_t err = NULL;
  assert_int_equal (fs_rm_rf (a, &err), 0);
}

static void
test_inputs_invalidate (void **state)
{
  /* a changed file in the crate, a new file, the build script, the
   * toolchain, a dependency's OUT_DIR */
  expect_change ("crate/src/lib.rs", "pub fn g() {}\n", true);
  expect_change ("crate/src/new.rs", "", true);
  expect_change ("script",
                 "\x7f"
                 "ELF another build script",
                 true);
  expect_change ("toolchain/bin/rustc", "rustc 1.1", true);
  expect_change ("dep-out/include/z.h", "#define Z 2\n", true);
  /* what the script cannot see, or what does not make the toolchain */
  expect_change ("crate/hidden/secret.txt", "changed\n", false);
  expect_change ("toolchain/share/doc/rust/index.html", "<html>2", false);
}

static void
test_modes_and_links_invalidate (void **state)
{
  cleanup_free char *a = checkout ("a");
  struct setup s = base;
  s.root = a;
  char k0[65], k1[65], k2[65];
  key_of (&s, k0);
  cleanup_free char *lib = fs_path_join (a, "crate/src/lib.rs");
  assert_int_equal (chmod (lib, 0755), 0);
  key_of (&s, k1);
  assert_string_not_equal (k0, k1);
  cleanup_free char *link = fs_path_join (a, "crate/link");
  unlink (link);
  assert_int_equal (symlink ("build.rs", link), 0);
  key_of (&s, k2);
  assert_string_not_equal (k1, k2);
}

static void
test_env_image_policy_invalidate (void **state)
{
  cleanup_free char *a = checkout ("a");
  struct setup s = base;
  s.root = a;
  char k0[65], k[65];
  key_of (&s, k0);
  /* a variable passed with --env */
  char *env[] = { "EXTRA=1", NULL };
  s.env = env;
  key_of (&s, k);
  assert_string_not_equal (k0, k);
  /* jobserver plumbing and NUM_JOBS are not part of it */
  char *plumbing[] = { "NUM_JOBS=16",
                       "CARGO_MAKEFLAGS=-j --jobserver-fds=7,8 "
                       "--jobserver-auth=fifo:/tmp/x",
                       NULL };
  s.env = plumbing;
  key_of (&s, k);
  assert_string_equal (k0, k);
  /* but another make flag is */
  char *flags[] = { "CARGO_MAKEFLAGS=-k --jobserver-fds=5,6", NULL };
  s.env = flags;
  key_of (&s, k);
  assert_string_not_equal (k0, k);
  s.env = NULL;
  /* another image */
  s.image = "sha256:2222";
  key_of (&s, k);
  assert_string_not_equal (k0, k);
  s.image = base.image;
  /* another policy */
  s.policy = "network=none timeout=10";
  key_of (&s, k);
  assert_string_not_equal (k0, k);
}

static void
test_env_value (void **state)
{
  ohr_error_t err = NULL;
  char *v = NULL;
  assert_int_equal (cache_key_env_value ("NUM_JOBS", "4", &v, &err), 0);
  assert_null (v);
  assert_int_equal (cache_key_env_value ("MAKEFLAGS",
                                         " -j8 -k --jobserver-auth=3,4 V=1 ",
                                         &v, &err),
                    0);
  assert_string_equal (v, "-k V=1");
  free (v);
  assert_int_equal (cache_key_env_value ("CC", "cc -j4", &v, &err), 0);
  assert_string_equal (v, "cc -j4");
  free (v);
}

/* The request survives its trip to the store helper: same key. */
static void
test_request_round_trip (void **state)
{
  cleanup_free char *a = checkout ("a");
  struct setup s = base;
  s.root = a;
  struct cache_request r, back;
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  request (&s, &r);
  r.host_fingerprint = false;
  assert_int_equal (cache_request_encode (&r, &b, &err), 0);
  assert_int_equal (cache_request_decode (b.data, b.len, &back, &err), 0);
  assert_int_equal (back.n_inputs, r.n_inputs);
  struct cache_key k1, k2;
  assert_int_equal (cache_key_compute (&r, NULL, &k1, &err), 0);
  assert_int_equal (cache_key_compute (&back, NULL, &k2, &err), 0);
  assert_string_equal (k1.hex, k2.hex);
  cache_key_clear (&k1);
  cache_key_clear (&k2);
  cache_request_clear (&r);
  cache_request_clear (&back);
  /* truncated: refused, nothing leaked */
  for (size_t n = 1; n < b.len; n += 7)
    if (cache_request_decode (b.data, n, &back, &err) == 0)
      cache_request_clear (&back);
    else
      ohr_error_free (&err);
  buf_clear (&b);
}

/* A package below its workspace root is the same tree seen twice: fine;
 * another tree mounted inside an input is refused. */
static void
test_nested_inputs (void **state)
{
  cleanup_free char *a = checkout ("a");
  struct setup s = base;
  s.root = a;
  struct cache_request r;
  struct cache_key k;
  ohr_error_t err = NULL;
  char k0[65];
  key_of (&s, k0);
  request (&s, &r);
  cleanup_free char *src = fs_path_join (a, "crate/src");
  assert_int_equal (
      cache_request_add_input (&r, "/cargo/src/src", src, NULL, &err), 0);
  assert_int_equal (cache_key_compute (&r, NULL, &k, &err), 0);
  assert_string_equal (k.hex, k0);
  cache_key_clear (&k);
  cache_request_clear (&r);
  request (&s, &r);
  cleanup_free char *dep = fs_path_join (a, "dep-out");
  assert_int_equal (
      cache_request_add_input (&r, "/cargo/src/src", dep, NULL, &err), 0);
  assert_true (cache_key_compute (&r, NULL, &k, &err) < 0);
  assert_non_null (strstr (err->msg, "inside"));
  ohr_error_free (&err);
  cache_request_clear (&r);
}

static void
test_fifo_refused (void **state)
{
  cleanup_free char *a = checkout ("a");
  cleanup_free char *fifo = fs_path_join (a, "crate/pipe");
  assert_int_equal (mkfifo (fifo, 0644), 0);
  struct setup s = base;
  s.root = a;
  struct cache_request r;
  struct cache_key k;
  ohr_error_t err = NULL;
  request (&s, &r);
  assert_true (cache_key_compute (&r, NULL, &k, &err) < 0);
  assert_non_null (strstr (err->msg, "pipe"));
  ohr_error_free (&err);
  cache_request_clear (&r);
}

/* The only file in dir (a memo directory with one shard), a fresh
 * string. */
static char *
only_file (const char *dir)
{
  DIR *d = opendir (dir);
  assert_non_null (d);
  char *found = NULL;
  struct dirent *de;
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      {
        assert_null (found);
        found = fs_path_join (dir, de->d_name);
      }
  closedir (d);
  assert_non_null (found);
  return found;
}

/* The memo: used only while every stat field matches; racy entries are
 * not kept; saved and loaded back. */
static void
test_memo (void **state)
{
  ohr_error_t err = NULL;
  struct memo m;
  cleanup_free char *path = fs_path_join (tmp, "memo.d");
  assert_int_equal (memo_load (path, &m, &err), 0);
  struct stat st = { .st_dev = 1, .st_ino = 2, .st_size = 3 };
  st.st_mtim.tv_sec = 1000;
  st.st_ctim.tv_sec = 1000;
  const char *hex
      = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  assert_int_equal (memo_put (&m, "/x/a", &st, hex, &err), 0);
  assert_string_equal (memo_get (&m, "/x/a", &st), hex);
  struct stat other = st;
  other.st_ctim.tv_nsec = 1;
  assert_null (memo_get (&m, "/x/a", &other));
  other = st;
  other.st_mtim.tv_nsec = 1;
  assert_null (memo_get (&m, "/x/a", &other));
  other = st;
  other.st_size = 4;
  assert_null (memo_get (&m, "/x/a", &other));
  other = st;
  other.st_ino = 9;
  assert_null (memo_get (&m, "/x/a", &other));
  other = st;
  other.st_dev = 9;
  assert_null (memo_get (&m, "/x/a", &other));
  assert_null (memo_get (&m, "/x/b", &st));
  /* a file changed just now is not remembered */
  struct stat fresh = st;
  fresh.st_ctim.tv_sec = m.now_ns / 1000000000LL;
  assert_int_equal (memo_put (&m, "/x/fresh", &fresh, hex, &err), 0);
  assert_null (memo_get (&m, "/x/fresh", &fresh));
  /* many entries (the table grows), saved and loaded */
  for (int i = 0; i < 3000; i++)
    {
      char p[32];
      snprintf (p, sizeof p, "/x/f%d", i);
      st.st_ino = (ino_t)i;
      assert_int_equal (memo_put (&m, p, &st, hex, &err), 0);
    }
  assert_int_equal (memo_save (&m, &err), 0);
  memo_clear (&m);
  cleanup_free char *shard = only_file (path);
  assert_int_equal (memo_load (path, &m, &err), 0);
  st.st_ino = 2999;
  assert_string_equal (memo_get (&m, "/x/f2999", &st), hex);
  st.st_ino = 2;
  assert_string_equal (memo_get (&m, "/x/a", &st), hex);
  memo_clear (&m);
  /* a malformed shard is an empty one */
  assert_int_equal (
      fs_write_atomic (shard, "garbage\n1 2\n", 12, 0600, false, &err), 0);
  assert_int_equal (memo_load (path, &m, &err), 0);
  assert_null (memo_get (&m, "/x/a", &st));
  assert_int_equal (m.shards[m.cur].n, 0);
  memo_clear (&m);
  /* each line stands alone: the bad ones are skipped, the good one kept */
  const char *lines
      = "1 2 3 4 5 " /* 63 hex digits */
        "000000000000000000000000000000000000000000000000000000000000000 /a\n"
        "1 2 3 4 99999999999999999999999 "
        "0000000000000000000000000000000000000000000000000000000000000000 /b\n"
        "1 2 3 -4 5 "
        "0000000000000000000000000000000000000000000000000000000000000000 /c\n"
        "1 2 3 4 5 "
        "000000000000000000000000000000000000000000000000000000000000000A /d\n"
        "1 2 3 4 5 "
        "0000000000000000000000000000000000000000000000000000000000000000 e\n"
        "7 8 9 10 11 "
        "0000000000000000000000000000000000000000000000000000000000000001 /f\n"
        "7 8 9 10 11 "
        "0000000000000000000000000000000000000000000000000000000000000001 "
        "/cut";
  assert_int_equal (
      fs_write_atomic (shard, lines, strlen (lines), 0600, false, &err), 0);
  assert_int_equal (memo_load (path, &m, &err), 0);
  struct stat f = { .st_dev = 7, .st_ino = 8, .st_size = 9 };
  f.st_mtim.tv_nsec = 10;
  f.st_ctim.tv_nsec = 11;
  assert_string_equal (memo_get (&m, "/f", &f),
                       "0000000000000000000000000000000000000000000000000000"
                       "000000000001");
  assert_int_equal (m.shards[m.cur].n, 1);
  memo_clear (&m);
}

/* Shards: an entry belongs to the scope it was put in; a run reads only
 * the shards of the scopes it uses; cache gc's prune removes the shards
 * not read for MEMO_UNUSED_S, and reading an old shard keeps it. */
static void
test_memo_shards (void **state)
{
  ohr_error_t err = NULL;
  struct memo m;
  cleanup_free char *dir = fs_path_join (tmp, "shards.d");
  cleanup_free char *legacy = fs_path_join (tmp, "results-memo");
  const char *hex
      = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
  struct stat st = { .st_dev = 1, .st_ino = 2, .st_size = 3 };
  st.st_mtim.tv_sec = 1000;
  st.st_ctim.tv_sec = 1000;
  assert_int_equal (memo_load (dir, &m, &err), 0);
  assert_int_equal (memo_scope (&m, "/crates/a", &err), 0);
  assert_int_equal (memo_put (&m, "/crates/a/lib.rs", &st, hex, &err), 0);
  assert_int_equal (memo_scope (&m, "/crates/b", &err), 0);
  assert_null (memo_get (&m, "/crates/a/lib.rs", &st));
  assert_int_equal (memo_put (&m, "/crates/b/lib.rs", &st, hex, &err), 0);
  assert_int_equal (memo_save (&m, &err), 0);
  memo_clear (&m);
  /* a run that walks only b reads only b's shard */
  assert_int_equal (memo_load (dir, &m, &err), 0);
  assert_int_equal (memo_scope (&m, "/crates/b", &err), 0);
  assert_string_equal (memo_get (&m, "/crates/b/lib.rs", &st), hex);
  size_t loaded = 0;
  for (size_t i = 0; i < m.n_shards; i++)
    loaded += m.shards[i].loaded;
  assert_int_equal (loaded, 1);
  assert_int_equal (memo_scope (&m, "/crates/a", &err), 0);
  assert_string_equal (memo_get (&m, "/crates/a/lib.rs", &st), hex);
  memo_clear (&m);
  /* both shards 40 days old; reading a's brings it back to now */
  DIR *d = opendir (dir);
  assert_non_null (d);
  struct dirent *de;
  size_t files = 0;
  struct timespec old[2] = { { .tv_sec = time (NULL) - 40 * 86400 },
                             { .tv_sec = time (NULL) - 40 * 86400 } };
  while ((de = readdir (d)) != NULL)
    if (de->d_name[0] != '.')
      {
        assert_int_equal (utimensat (dirfd (d), de->d_name, old, 0), 0);
        files++;
      }
  closedir (d);
  assert_int_equal (files, 2);
  assert_int_equal (memo_load (dir, &m, &err), 0);
  assert_int_equal (memo_scope (&m, "/crates/a", &err), 0);
  assert_string_equal (memo_get (&m, "/crates/a/lib.rs", &st), hex);
  memo_clear (&m);
  assert_int_equal (fs_write_atomic (legacy, "x\n", 2, 0600, false, &err), 0);
  size_t removed = 0;
  assert_int_equal (memo_prune (dir, legacy, MEMO_UNUSED_S, &removed, &err),
                    0);
  assert_int_equal (removed, 2); /* b's shard and the legacy file */
  assert_false (fs_exists (legacy));
  assert_int_equal (memo_load (dir, &m, &err), 0);
  assert_int_equal (memo_scope (&m, "/crates/a", &err), 0);
  assert_string_equal (memo_get (&m, "/crates/a/lib.rs", &st), hex);
  assert_int_equal (memo_scope (&m, "/crates/b", &err), 0);
  assert_null (memo_get (&m, "/crates/b/lib.rs", &st));
  memo_clear (&m);
  /* a missing directory prunes nothing */
  cleanup_free char *none = fs_path_join (tmp, "none.d");
  assert_int_equal (memo_prune (none, NULL, 0, &removed, &err), 0);
  assert_int_equal (removed, 0);
}

/* With a memo, the key is the same, and an entry is used: a file whose
 * remembered digest is wrong gives another key (so it was not read). */
static void
test_key_uses_memo (void **state)
{
  cleanup_free char *a = checkout ("a");
  cleanup_free char *lib = fs_path_join (a, "crate/src/lib.rs");
  /* old enough to be remembered: ctime cannot be set back, so plant an
   * entry for the file's stat as it is */
  struct stat st;
  assert_int_equal (lstat (lib, &st), 0);
  struct setup s = base;
  s.root = a;
  char k0[65];
  key_of (&s, k0);
  struct memo m;
  ohr_error_t err = NULL;
  cleanup_free char *path = fs_path_join (tmp, "memo.d");
  assert_int_equal (memo_load (path, &m, &err), 0);
  m.now_ns += 10 * MEMO_RACY_NS;
  struct cache_request r;
  struct cache_key k;
  request (&s, &r);
  /* in the shard of the input that holds it, as the key's walk scopes it */
  bool scoped = false;
  for (size_t i = 0; i < r.n_inputs; i++)
    if (strncmp (lib, r.inputs[i].host, strlen (r.inputs[i].host)) == 0
        && lib[strlen (r.inputs[i].host)] == '/')
      {
        assert_int_equal (memo_scope (&m, r.inputs[i].host, &err), 0);
        scoped = true;
      }
  assert_true (scoped);
  assert_int_equal (memo_put (&m, lib, &st,
                              "00000000000000000000000000000000"
                              "00000000000000000000000000000000",
                              &err),
                    0);
  assert_int_equal (cache_key_compute (&r, &m, &k, &err), 0);
  assert_string_not_equal (k.hex, k0);
  cache_key_clear (&k);
  cache_request_clear (&r);
  memo_clear (&m);
}

int
main (void)
{
#define T(f) cmocka_unit_test_setup_teardown (f, setup_tmp, teardown_tmp)
  const struct CMUnitTest tests[] = {
    T (test_stable_and_path_independent),
    T (test_inputs_invalidate),
    T (test_modes_and_links_invalidate),
    T (test_env_image_policy_invalidate),
    cmocka_unit_test (test_env_value),
    T (test_request_round_trip),
    T (test_nested_inputs),
    T (test_fifo_refused),
    T (test_memo),
    T (test_memo_shards),
    T (test_key_uses_memo),
  };
#undef T
  return cmocka_run_group_tests (tests, NULL, NULL);
}
