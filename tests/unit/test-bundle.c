/* test-bundle.c: the per-run bundle directory under a temp state dir: its
 * layout and modes, config.json, removal, unique names, and the errors of
 * a state dir that cannot hold one. */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run/bundle.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/procfs.h"
#include "util/strv.h"

struct fixture
{
  char *tmp;
  char *state; /* <tmp>/state, not created: bundle_create makes it */
  mode_t saved_umask;
};

static char *
join (const char *a, const char *b)
{
  char *p = fs_path_join (a, b);
  assert_non_null (p);
  return p;
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  assert_non_null (f);
  /* modes are checked exactly: a umask of 022 takes nothing from them */
  f->saved_umask = umask (022);
  char tmpl[] = "/tmp/test-bundle-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  f->tmp = realpath (tmpl, NULL);
  assert_non_null (f->tmp);
  f->state = join (f->tmp, "state");
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  ohr_error_t err = NULL;
  int r = fs_rm_rf (f->tmp, &err);
  ohr_error_free (&err);
  umask (f->saved_umask);
  free (f->tmp);
  free (f->state);
  free (f);
  return r;
}

static void
create (const char *base, struct bundle *b)
{
  ohr_error_t err = NULL;
  int r = bundle_create (base, b, &err);
  if (r < 0)
    fail_msg ("bundle_create: %s", err ? err->msg : "(no message)");
  assert_null (err);
}

/* path is a directory (not a link) with exactly this mode. */
static void
assert_dir_mode (const char *path, mode_t mode)
{
  struct stat st;
  if (lstat (path, &st) < 0)
    fail_msg ("'%s': %s", path, strerror (errno));
  assert_true (S_ISDIR (st.st_mode));
  if ((st.st_mode & 07777) != mode)
    fail_msg ("'%s' has mode %04o, want %04o", path, st.st_mode & 07777, mode);
}

/* The names in dir, sorted. */
static char **
list_dir (const char *dir)
{
  DIR *d = opendir (dir);
  assert_non_null (d);
  char **names = NULL;
  struct dirent *e;
  while ((e = readdir (d)))
    if (strcmp (e->d_name, ".") != 0 && strcmp (e->d_name, "..") != 0)
      assert_int_equal (strv_push (&names, e->d_name), 0);
  closedir (d);
  size_t n = strv_len (names);
  for (size_t i = 1; i < n; i++) /* insertion sort: a handful of names */
    for (size_t j = i; j > 0 && strcmp (names[j - 1], names[j]) > 0; j--)
      {
        char *t = names[j];
        names[j] = names[j - 1];
        names[j - 1] = t;
      }
  return names;
}

static void
assert_names (const char *dir, const char *const *want)
{
  char **got = list_dir (dir);
  size_t n = 0;
  while (want[n])
    n++;
  if (strv_len (got) != n)
    {
      for (size_t i = 0; got && got[i]; i++)
        print_message ("  %s/%s\n", dir, got[i]);
      fail_msg ("'%s' holds %zu entries, want %zu", dir, strv_len (got), n);
    }
  for (size_t i = 0; i < n; i++)
    assert_string_equal (got[i], want[i]);
  strv_free (got);
}

static void
test_create_layout_and_modes (void **state)
{
  struct fixture *f = *state;
  struct bundle b = { 0 };
  create (f->state, &b); /* <state> and <state>/bundles do not exist yet */

  /* ohr-<pid>-<start time>-<12 hex digits> */
  char prefix[64];
  snprintf (prefix, sizeof prefix, "ohr-%d-%llu-", (int)getpid (),
            procfs_start_time (getpid ()));
  assert_int_equal (strncmp (b.id, prefix, strlen (prefix)), 0);
  const char *hex = b.id + strlen (prefix);
  assert_int_equal (strlen (hex), 12);
  assert_int_equal (strspn (hex, "0123456789abcdef"), 12);

  char *bundles = join (f->state, "bundles");
  char *dir = join (bundles, b.id);
  assert_string_equal (b.dir, dir);
  /* locked while the run lives: another open file cannot take it */
  int lfd = open (b.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (lfd >= 0);
  assert_int_equal (flock (lfd, LOCK_EX | LOCK_NB), -1);
  assert_int_equal (errno, EWOULDBLOCK);
  close (lfd);
  /* private: the config names host paths, the log the runtime's errors */
  assert_dir_mode (bundles, 0700);
  assert_dir_mode (b.dir, 0700);
  /* the container's root writes the overlay upper dir; work is private */
  char *upper = join (dir, "source-upper");
  char *work = join (dir, "source-work");
  assert_string_equal (b.upper, upper);
  assert_string_equal (b.work, work);
  assert_dir_mode (b.upper, 0755);
  assert_dir_mode (b.work, 0700);
  /* the logs are paths for the runtime to create, inside the bundle */
  char *log = join (dir, "runtime.log");
  char *stderr_log = join (dir, "runtime.stderr");
  assert_string_equal (b.log, log);
  assert_string_equal (b.stderr_log, stderr_log);
  assert_false (fs_exists (b.log));
  assert_names (b.dir,
                (const char *const[]){ "source-upper", "source-work", NULL });

  bundle_finish (&b, 0);
  free (bundles);
  free (dir);
  free (upper);
  free (work);
  free (log);
  free (stderr_log);
}

static void
test_write_config (void **state)
{
  struct fixture *f = *state;
  struct bundle b = { 0 };
  create (f->state, &b);
  /* len bytes, not up to a NUL: an embedded NUL and a tail left out */
  static const char config[] = "{\"ociVersion\":\"1.0.2\",\"x\":\"a\0b\"}TAIL";
  size_t len = sizeof config - 1 - 4;
  ohr_error_t err = NULL;
  assert_int_equal (bundle_write_config (&b, config, len, &err), 0);
  assert_null (err);

  char *cfg = join (b.dir, "config.json");
  char *got = NULL;
  size_t got_len = 0;
  assert_int_equal (fs_read_file (cfg, 1 << 20, &got, &got_len, &err), 0);
  assert_int_equal (got_len, len);
  assert_memory_equal (got, config, len);
  struct stat st;
  assert_int_equal (lstat (cfg, &st), 0);
  assert_true (S_ISREG (st.st_mode));
  assert_int_equal (st.st_mode & 07777, 0600);
  /* nothing else left behind (no temp file) */
  assert_names (b.dir, (const char *const[]){ "config.json", "source-upper",
                                              "source-work", NULL });
  free (got);

  /* a second write does not replace or append to the first */
  assert_true (bundle_write_config (&b, "{}", 2, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->status, EEXIST);
  ohr_error_free (&err);
  assert_int_equal (fs_read_file (cfg, 1 << 20, &got, &got_len, &err), 0);
  assert_int_equal (got_len, len);
  assert_memory_equal (got, config, len);
  free (got);
  free (cfg);
  bundle_finish (&b, 0);
}

static void
test_write_config_refuses_planted_link (void **state)
{
  /* A config.json link planted in the bundle is not followed: the target
   * outside keeps its content. */
  struct fixture *f = *state;
  struct bundle b = { 0 };
  create (f->state, &b);
  char *target = join (f->tmp, "elsewhere");
  FILE *t = fopen (target, "w");
  assert_non_null (t);
  assert_true (fputs ("precious", t) >= 0);
  assert_int_equal (fclose (t), 0);
  char *cfg = join (b.dir, "config.json");
  assert_int_equal (symlink (target, cfg), 0);

  ohr_error_t err = NULL;
  assert_true (bundle_write_config (&b, "{}", 2, &err) < 0);
  assert_non_null (err);
  assert_non_null (strstr (err->msg, cfg));
  ohr_error_free (&err);
  char *got = NULL;
  size_t got_len = 0;
  assert_int_equal (fs_read_file (target, 64, &got, &got_len, &err), 0);
  assert_string_equal (got, "precious");
  free (got);
  free (cfg);
  free (target);
  bundle_finish (&b, 0);
}

static void
test_finish_removes_or_keeps (void **state)
{
  struct fixture *f = *state;
  struct bundle b = { 0 };
  create (f->state, &b);
  ohr_error_t err = NULL;
  assert_int_equal (bundle_write_config (&b, "{}", 2, &err), 0);
  /* what a run leaves: logs, files the script wrote through the overlay */
  char *deep = join (b.upper, "target/debug");
  assert_int_equal (fs_mkdir_p (deep, 0755, &err), 0);
  char *file = join (deep, "junk");
  FILE *j = fopen (file, "w");
  assert_non_null (j);
  assert_int_equal (fclose (j), 0);
  j = fopen (b.log, "w");
  assert_non_null (j);
  assert_int_equal (fclose (j), 0);
  char *dir = strdup (b.dir);
  assert_non_null (dir);

  bundle_finish (&b, 0);
  assert_false (fs_exists (dir));
  /* the state dir stays, for the next run */
  char *bundles = join (f->state, "bundles");
  assert_true (fs_is_dir (bundles));
  assert_names (bundles, (const char *const[]){ NULL });
  /* fields freed and cleared; finishing again is harmless */
  assert_null (b.id);
  assert_null (b.dir);
  assert_null (b.log);
  assert_null (b.stderr_log);
  assert_null (b.upper);
  assert_null (b.work);
  bundle_finish (&b, 0);

  /* keep: the directory stays for inspection, the fields are freed */
  create (f->state, &b);
  char *kept = strdup (b.dir);
  assert_non_null (kept);
  bundle_finish (&b, 1);
  assert_null (b.dir);
  assert_true (fs_is_dir (kept));
  /* no longer locked: the run is over */
  int lfd = open (kept, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (lfd >= 0);
  assert_int_equal (flock (lfd, LOCK_EX | LOCK_NB), 0);
  close (lfd);
  /* marked, so that the start-up sweep of a later run leaves it */
  char *marker = join (kept, BUNDLE_KEPT_MARKER);
  assert_true (fs_exists (marker));
  free (marker);
  free (kept);
  free (bundles);
  free (dir);
  free (deep);
  free (file);
}

static void
test_names_unique (void **state)
{
  struct fixture *f = *state;
  enum
  {
    N = 64
  };
  struct bundle b[N];
  char **ids = NULL;
  for (size_t i = 0; i < N; i++)
    {
      memset (&b[i], 0, sizeof b[i]);
      create (f->state, &b[i]);
      if (strv_contains (ids, b[i].id))
        fail_msg ("bundle id '%s' given twice", b[i].id);
      assert_int_equal (strv_push (&ids, b[i].id), 0);
    }
  char *bundles = join (f->state, "bundles");
  char **names = list_dir (bundles);
  assert_int_equal (strv_len (names), N);
  strv_free (names);
  for (size_t i = 0; i < N; i++)
    bundle_finish (&b[i], 0);
  names = list_dir (bundles);
  assert_null (names);
  strv_free (ids);
  free (bundles);
}

/* bundle_create on base must fail with status, say where, leave *out as it
 * was and create nothing. */
static void
assert_create_fails (const char *base, int status)
{
  struct bundle b = { .id = (char *)"untouched" };
  ohr_error_t err = NULL;
  assert_true (bundle_create (base, &b, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->status, status);
  if (strstr (err->msg, base) == NULL)
    fail_msg ("message '%s' does not name '%s'", err->msg, base);
  assert_string_equal (b.id, "untouched");
  assert_null (b.dir);
  ohr_error_free (&err);
}

static void
test_bad_parent (void **state)
{
  struct fixture *f = *state;
  /* the state dir is a file */
  char *file = join (f->tmp, "file");
  FILE *x = fopen (file, "w");
  assert_non_null (x);
  assert_int_equal (fclose (x), 0);
  assert_create_fails (file, ENOTDIR);

  /* <state>/bundles is a file */
  assert_int_equal (mkdir (f->state, 0700), 0);
  char *bundles = join (f->state, "bundles");
  x = fopen (bundles, "w");
  assert_non_null (x);
  assert_int_equal (fclose (x), 0);
  assert_create_fails (f->state, ENOTDIR);
  assert_names (f->state, (const char *const[]){ "bundles", NULL });

  /* below a file, deeper: mkdir -p cannot make the parents */
  char *deeper = join (file, "a/b");
  assert_create_fails (deeper, ENOTDIR);
  assert_names (f->tmp, (const char *const[]){ "file", "state", NULL });
  free (deeper);
  free (bundles);
  free (file);
}

/* A bundle's owner from its name: this process (alive), a child that has
 * exited (gone), this pid with another start time (a reused pid: gone),
 * the legacy name without a start time, and names that are no bundle. */
static void
test_owner_of (void **state)
{
  (void)state;
  char name[128];
  unsigned long long start = procfs_start_time (getpid ());
  assert_true (start > 0);
  snprintf (name, sizeof name, "ohr-%d-%llu-0123456789ab", (int)getpid (),
            start);
  assert_int_equal (bundle_owner_of (name), BUNDLE_OWNER_ALIVE);
  snprintf (name, sizeof name, "ohr-%d-%llu-0123456789ab", (int)getpid (),
            start + 1);
  assert_int_equal (bundle_owner_of (name), BUNDLE_OWNER_GONE);
  snprintf (name, sizeof name, "ohr-%d-0123456789ab", (int)getpid ());
  assert_int_equal (bundle_owner_of (name), BUNDLE_OWNER_ALIVE);

  pid_t child = fork ();
  assert_true (child >= 0);
  if (child == 0)
    _exit (0);
  assert_int_equal (waitpid (child, NULL, 0), child);
  snprintf (name, sizeof name, "ohr-%d-%llu-0123456789ab", (int)child, start);
  assert_int_equal (bundle_owner_of (name), BUNDLE_OWNER_GONE);
  snprintf (name, sizeof name, "ohr-%d-0123456789ab", (int)child);
  assert_int_equal (bundle_owner_of (name), BUNDLE_OWNER_GONE);

  const char *not_bundles[] = { "kept",      "ohr-",      "ohr-x-1-2",
                                "ohr-0-1-2", "ohr-12-zz", "ohr-12-0123" };
  for (size_t i = 0; i < sizeof not_bundles / sizeof *not_bundles; i++)
    if (bundle_owner_of (not_bundles[i]) != BUNDLE_OWNER_UNKNOWN)
      fail_msg ("'%s' taken for a bundle id", not_bundles[i]);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_create_layout_and_modes),
    T (test_write_config),
    T (test_write_config_refuses_planted_link),
    T (test_finish_removes_or_keeps),
    T (test_names_unique),
    T (test_bad_parent),
    T (test_owner_of),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
