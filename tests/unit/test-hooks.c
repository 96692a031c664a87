/* test-hooks.c: hooks.d files (tests/fixtures/hooks/), their errors and
 * skips, directory order and masking, matching, stage selection, and the
 * "hooks" and "annotations" objects spec_generate writes.  Files are
 * copied into a temp directory with mode 0644 before loading, because the
 * loader refuses files others can write and a checkout's modes depend on
 * the umask. */
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
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "run/hooks.h"
#include "run/spec.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

#include "tmpdir.h"

/* make runs the tests from the top of the tree */
#define FIXTURES "tests/fixtures/hooks"

static char *
path_in (const char *dir, const char *name)
{
  char *p = NULL;
  assert_true (asprintf (&p, "%s/%s", dir, name) > 0);
  return p;
}

/* A directory under tmp (mode 0755), returned. */
static char *
make_dir (const char *name)
{
  char *p = path_in (tmp, name);
  assert_int_equal (mkdir (p, 0755), 0);
  assert_int_equal (chmod (p, 0755), 0);
  return p;
}

/* Write data as dir/name with mode, and return its path. */
static char *
write_file (const char *dir, const char *name, const char *data, size_t len,
            mode_t mode)
{
  char *p = path_in (dir, name);
  ohr_error_t err = NULL;
  unlink (p);
  if (fs_write_new (p, data, len, mode, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (chmod (p, mode), 0);
  return p;
}

static char *
write_str (const char *dir, const char *name, const char *data)
{
  return write_file (dir, name, data, strlen (data), 0644);
}

static char *
copy_fixture (const char *name, const char *dir)
{
  char *src = path_in (FIXTURES, name), *data = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  if (fs_read_file (src, 1 << 20, &data, &len, &err) < 0)
    fail_msg ("%s (run from the top of the tree)", err->msg);
  free (src);
  char *p = write_file (dir, name, data, len, 0644);
  free (data);
  return p;
}

static void
load_ok (const char *path, struct hook_def *d)
{
  ohr_error_t err = NULL;
  char *note = NULL;
  int r = hooks_load_file (path, d, &note, &err);
  if (r < 0)
    fail_msg ("%s: %s", path, err->msg);
  if (r == 0)
    fail_msg ("%s: skipped: %s", path, note);
  assert_null (note);
}

/* The message must name the file and hold each fragment. */
static void
expect_error (ohr_error_t *err, const char *file, const char *f1,
              const char *f2)
{
  assert_non_null (*err);
  const char *m = (*err)->msg;
  if (file && strstr (m, file) == NULL)
    fail_msg ("message '%s' does not name '%s'", m, file);
  if (strstr (m, f1) == NULL || (f2 && strstr (m, f2) == NULL))
    fail_msg ("message '%s' lacks '%s'%s%s", m, f1, f2 ? " or " : "",
              f2 ? f2 : "");
  if (strchr (m, '\n'))
    fail_msg ("message '%s' is not one line", m);
  ohr_error_free (err);
}

static void
load_fails_path (const char *path, const char *f1, const char *f2)
{
  struct hook_def d;
  ohr_error_t err = NULL;
  char *note = NULL;
  int r = hooks_load_file (path, &d, &note, &err);
  if (r >= 0)
    {
      if (r > 0)
        hook_def_clear (&d);
      fail_msg ("%s should not load (%s)", path, note ? note : "loaded");
    }
  assert_int_equal (err->kind, OHR_ERR_USAGE);
  expect_error (&err, path, f1, f2);
}

static void
load_fails (const char *fixture, const char *f1, const char *f2)
{
  char *p = copy_fixture (fixture, tmp);
  load_fails_path (p, f1, f2);
  free (p);
}

/* Load a file that must be skipped; the note must hold the fragment. */
static void
load_skipped (const char *path, const char *fragment)
{
  struct hook_def d;
  ohr_error_t err = NULL;
  char *note = NULL;
  int r = hooks_load_file (path, &d, &note, &err);
  if (r < 0)
    fail_msg ("%s: %s", path, err->msg);
  if (r > 0)
    {
      hook_def_clear (&d);
      fail_msg ("%s: loaded, should be skipped", path);
    }
  assert_non_null (note);
  if (strstr (note, fragment) == NULL || strstr (note, path) == NULL
      || strstr (note, "skipped") == NULL)
    fail_msg ("note '%s' lacks '%s' or the file", note, fragment);
  free (note);
}

static void
assert_strv (char *const *got, char *const *want)
{
  size_t n = strv_len (want);
  assert_int_equal (strv_len (got), n);
  for (size_t i = 0; i < n; i++)
    assert_string_equal (got[i], want[i]);
}

/* ---- parsing */

static void
test_stage_names (void **state)
{
  static const char *const want[]
      = { "prestart",       "createRuntime", "createContainer",
          "startContainer", "poststart",     "poststop" };
  for (int s = 0; s < HOOK_N_STAGES; s++)
    assert_string_equal (hooks_stage_name ((enum hook_stage)s), want[s]);
  assert_null (hooks_stage_name (HOOK_N_STAGES));
  assert_null (hooks_stage_name ((enum hook_stage) - 1));
}

static void
test_parse_full (void **state)
{
  char *p = copy_fixture ("valid-full.json", tmp);
  struct hook_def d;
  load_ok (p, &d);
  assert_string_equal (d.file, p);
  assert_string_equal (d.name, "valid-full.json");
  assert_string_equal (d.hook.path, "/bin/true");
  char *args[] = { "true", "--flag", "two words", NULL };
  char *env[] = { "A=1", "B=x=y", NULL };
  assert_strv (d.hook.args, args);
  assert_strv (d.hook.env, env);
  assert_int_equal (d.hook.timeout, 30);
  assert_int_equal (d.always, HOOK_FLAG_UNSET);
  assert_int_equal (d.has_bind_mounts, HOOK_FLAG_TRUE);
  assert_int_equal (d.n_annotations, 2);
  assert_string_equal (d.annotations[0].key.text, "^org\\.example\\.team$");
  assert_string_equal (d.annotations[0].value.text, "^build");
  assert_string_equal (d.annotations[1].key.text, "^org\\.example\\.tier$");
  assert_int_equal (d.n_commands, 2);
  assert_string_equal (d.commands[0].text, "/build-script-build$");
  assert_string_equal (d.commands[1].text, "^/opt/");
  /* a stage named twice is injected once */
  assert_int_equal (d.stages,
                    (1u << HOOK_CREATE_RUNTIME) | (1u << HOOK_POSTSTOP));
  hook_def_clear (&d);
  free (p);
}

static void
test_parse_minimal_and_relative (void **state)
{
  char *p = copy_fixture ("valid-minimal.json", tmp);
  struct hook_def d;
  load_ok (p, &d);
  /* argv defaults to the path */
  char *args[] = { "/bin/true", NULL };
  assert_strv (d.hook.args, args);
  assert_null (d.hook.env);
  assert_int_equal (d.hook.timeout, 0);
  assert_int_equal (d.always, HOOK_FLAG_TRUE);
  assert_int_equal (d.stages, 1u << HOOK_PRESTART);
  hook_def_clear (&d);
  free (p);

  /* relative: resolved against the directory the file is in, with
   * comments allowed */
  char *dir = make_dir ("rel");
  char *prog = write_file (dir, "prog", "#!/bin/sh\n", 10, 0755);
  p = copy_fixture ("valid-relative.json", dir);
  load_ok (p, &d);
  char *real = realpath (prog, NULL);
  assert_non_null (real);
  assert_string_equal (d.hook.path, real);
  char *rel_args[] = { "prog", NULL };
  assert_strv (d.hook.args, rel_args);
  assert_int_equal (d.stages,
                    (1u << HOOK_START_CONTAINER) | (1u << HOOK_POSTSTART));
  hook_def_clear (&d);
  free (real);
  free (p);
  free (prog);
  free (dir);
}

static void
test_invalid_fixtures (void **state)
{
  static const struct
  {
    const char *file, *f1, *f2;
  } cases[] = {
    { "error-syntax.json", "line 3, column", NULL },
    { "error-no-version.json", "missing \"version\"", "0.1.0" },
    { "error-version.json", "version: unsupported version \"2.0.0\"",
      "1.0.0" },
    { "error-unknown-key.json", "when.comands: unknown key \"comands\"",
      "known keys are always, annotations, commands, hasBindMounts" },
    { "error-case-key.json", "when.hasbindmounts",
      "did you mean \"hasBindMounts\"?" },
    { "error-duplicate.json", "stages: duplicate key", NULL },
    { "error-duplicate-annotation.json", "when.annotations.a: duplicate key",
      NULL },
    { "error-regex.json", "when.commands[1]: invalid regular expression",
      "(unclosed" },
    { "error-annotation-regex.json",
      "when.annotations.^key$: invalid regular expression \"[z-a]\"", NULL },
    { "error-annotation-type.json",
      "when.annotations.^key$: expected a string (a value pattern), found a "
      "boolean",
      NULL },
    { "error-stage.json", "stages[0]: unknown stage \"poststrat\"",
      "createRuntime" },
    { "error-no-stages.json", "stages: no stage", NULL },
    { "error-missing-when.json", "missing \"when\"", NULL },
    { "error-empty-when.json", "when: no condition", NULL },
    { "error-always-type.json", "when.always: expected true or false",
      "a string" },
    { "error-timeout.json", "hook.timeout: invalid timeout 0", NULL },
    { "error-timeout-float.json", "hook.timeout: invalid timeout 1.5", NULL },
    { "error-env.json", "hook.env[1]: \"NOVALUE\" is not NAME=VALUE", NULL },
    { "error-args-type.json", "hook.args: expected a list of strings", NULL },
    { "error-path-type.json", "hook.path: expected a string, found a number",
      NULL },
    { "error-missing-path.json", "hook: missing \"path\"", NULL },
    { "error-top-array.json", "expected an object, found a list", NULL },
    { "error-deep.json", "nested too deeply", NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    load_fails (cases[i].file, cases[i].f1, cases[i].f2);
}

static void
test_file_checks (void **state)
{
  /* exactly the limit is fine for the reader (then a syntax error); one
   * byte more is "too large" */
  size_t n = HOOKS_MAX_FILE_SIZE + 1;
  char *big = malloc (n);
  assert_non_null (big);
  memset (big, ' ', n);
  char *p = write_file (tmp, "big.json", big, n, 0644);
  load_fails_path (p, "larger than 1048576 bytes", NULL);
  free (p);
  p = write_file (tmp, "limit.json", big, n - 1, 0644);
  load_fails_path (p, "line 1", NULL);
  free (p);
  free (big);

  static const char nul[] = "{\"version\": \"1.0.0\"\0}";
  p = write_file (tmp, "nul.json", nul, sizeof nul - 1, 0644);
  load_fails_path (p, "line 1, column 20: NUL byte", NULL);
  free (p);
  p = write_str (tmp, "esc.json", "{\"version\": \"1.0\\u0000\"}");
  load_fails_path (p, "\\u0000 in a string", NULL);
  free (p);

  p = copy_fixture ("valid-minimal.json", tmp);
  assert_int_equal (chmod (p, 0664), 0);
  load_fails_path (p, "writable by group or others", NULL);
  assert_int_equal (chmod (p, 0646), 0);
  load_fails_path (p, "writable by group or others", NULL);
  free (p);

  p = path_in (tmp, "missing.json");
  load_fails_path (p, "cannot open", "No such file");
  free (p);
  p = path_in (tmp, "fifo.json");
  assert_int_equal (mkfifo (p, 0644), 0);
  load_fails_path (p, "not a regular file", NULL);
  free (p);
}

static void
test_skipped_programs (void **state)
{
  char *p = write_str (tmp, "missing.json",
                       "{\"version\": \"1.0.0\", \"hook\": {\"path\": "
                       "\"/nonexistent/hook\"}, \"when\": {\"always\": "
                       "true}, \"stages\": [\"poststop\"]}");
  load_skipped (p, "program '/nonexistent/hook': No such file");
  free (p);

  char *prog = write_file (tmp, "noexec", "#!/bin/sh\n", 10, 0644);
  p = write_str (tmp, "noexec.json",
                 "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"noexec\"}, "
                 "\"when\": {\"always\": true}, \"stages\": [\"poststop\"]}");
  load_skipped (p, "is not executable");
  free (p);

  char *dir = make_dir ("adir");
  p = write_str (tmp, "dir.json",
                 "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"adir\"}, "
                 "\"when\": {\"always\": true}, \"stages\": [\"poststop\"]}");
  load_skipped (p, "is not a regular file");
  free (p);
  free (dir);

  assert_int_equal (chmod (prog, 0775), 0);
  p = write_str (tmp, "gw.json",
                 "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"noexec\"}, "
                 "\"when\": {\"always\": true}, \"stages\": [\"poststop\"]}");
  load_skipped (p, "writable by group or others");
  free (p);
  free (prog);

  /* through hooks_load: skipped files are notes, the rest loads */
  char *d = make_dir ("mixed");
  free (write_str (d, "10-missing.json",
                   "{\"version\": \"1.0.0\", \"hook\": {\"path\": "
                   "\"/nonexistent/hook\"}, \"when\": {\"always\": true}, "
                   "\"stages\": [\"poststop\"]}"));
  free (copy_fixture ("valid-minimal.json", d));
  char *sub = path_in (d, "sub.json");
  assert_int_equal (mkdir (sub, 0755), 0);
  free (sub);
  char *dangling = path_in (d, "zz-dangling.json");
  assert_int_equal (symlink ("nonexistent.json", dangling), 0);
  free (dangling);
  struct hook_set set;
  ohr_error_t err = NULL;
  char *dirs[] = { d, NULL };
  if (hooks_load (dirs, &set, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (set.n, 1);
  assert_string_equal (set.v[0].name, "valid-minimal.json");
  assert_int_equal (strv_len (set.notes), 3);
  bool saw_missing = false, saw_dir = false, saw_dangling = false;
  for (size_t i = 0; set.notes[i]; i++)
    {
      const char *n = set.notes[i];
      saw_missing |= strstr (n, "10-missing.json") != NULL;
      saw_dir |= strstr (n, "sub.json': not a regular file") != NULL;
      saw_dangling |= strstr (n, "zz-dangling.json': not a regular") != NULL;
    }
  assert_true (saw_missing && saw_dir && saw_dangling);
  hooks_set_clear (&set);
  free (d);
}

/* ---- directories */

static const char *const minimal_fmt
    = "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"/bin/true\", "
      "\"args\": [\"%s\"]}, \"when\": {\"always\": true}, \"stages\": "
      "[\"%s\"]}";

static void
put_hook (const char *dir, const char *name, const char *tag,
          const char *stage)
{
  char *json = NULL;
  assert_true (asprintf (&json, minimal_fmt, tag, stage) > 0);
  free (write_str (dir, name, json));
  free (json);
}

static void
test_directories (void **state)
{
  char *a = make_dir ("a"), *b = make_dir ("b");
  put_hook (a, "B.json", "a/B", "prestart");
  put_hook (a, "a.json", "a/a", "prestart");
  put_hook (a, "c.json", "a/c", "prestart");
  put_hook (a, "01-first.json", "a/01", "prestart");
  /* masked by b/broken.json: never read, so its error does not count */
  free (write_str (a, "broken.json", "{ not json"));
  put_hook (b, "c.json", "b/c", "poststop");
  put_hook (b, "broken.json", "b/broken", "prestart");
  /* not hook files */
  free (write_str (b, "README", "x"));
  free (write_str (b, "x.json.bak", "{"));
  free (write_str (b, ".json", "{"));

  struct hook_set set;
  ohr_error_t err = NULL;
  char *dirs[] = { a, b, NULL };
  if (hooks_load (dirs, &set, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_null (set.notes);
  /* file names compared case-insensitively: 01-first, a, B, broken, c */
  static const char *const want[][2] = {
    { "01-first.json", "a/01" },   { "a.json", "a/a" }, { "B.json", "a/B" },
    { "broken.json", "b/broken" }, { "c.json", "b/c" },
  };
  assert_int_equal (set.n, 5);
  for (size_t i = 0; i < set.n; i++)
    {
      assert_string_equal (set.v[i].name, want[i][0]);
      assert_string_equal (set.v[i].hook.args[0], want[i][1]);
    }
  /* the later directory's c.json, with its own stages */
  assert_int_equal (set.v[4].stages, 1u << HOOK_POSTSTOP);
  char *bc = path_in (b, "c.json");
  assert_string_equal (set.v[4].file, bc);
  free (bc);
  hooks_set_clear (&set);

  /* the same directories the other way round: a's broken.json wins */
  char *rev[] = { b, a, NULL };
  assert_true (hooks_load (rev, &set, &err) < 0);
  char *ab = path_in (a, "broken.json");
  expect_error (&err, ab, "line 1", NULL);
  free (ab);

  /* no directories: nothing */
  assert_int_equal (hooks_load (NULL, &set, &err), 0);
  assert_int_equal (set.n, 0);
  hooks_set_clear (&set);

  /* a missing directory is an error naming it */
  char *missing = path_in (tmp, "nonexistent");
  char *bad[] = { a, missing, NULL };
  assert_true (hooks_load (bad, &set, &err) < 0);
  expect_error (&err, missing, "hooks directory", "No such file");
  free (missing);

  /* a directory others can write is refused */
  assert_int_equal (chmod (b, 0777), 0);
  assert_true (hooks_load (dirs, &set, &err) < 0);
  expect_error (&err, b, "writable by group or others", NULL);
  free (a);
  free (b);
}

/* ---- matching */

static struct hook_def
def_from (const char *when)
{
  char *json = NULL;
  assert_true (asprintf (&json,
                         "{\"version\": \"1.0.0\", \"hook\": {\"path\": "
                         "\"/bin/true\"}, \"when\": %s, \"stages\": "
                         "[\"poststop\"]}",
                         when)
               > 0);
  char *p = write_str (tmp, "m.json", json);
  struct hook_def d;
  load_ok (p, &d);
  free (p);
  free (json);
  return d;
}

static int
match (const struct hook_def *d, const char *script, char *const *annotations,
       bool bind_mounts)
{
  struct hook_context ctx = { script, annotations, bind_mounts };
  ohr_error_t err = NULL;
  int r = hooks_match (d, &ctx, &err);
  if (r < 0)
    fail_msg ("%s", err->msg);
  return r;
}

#define SCRIPT "/w/target/debug/build/foo-1234/build-script-build"

static void
test_match_always (void **state)
{
  struct hook_def d = def_from ("{\"always\": true}");
  assert_int_equal (match (&d, SCRIPT, NULL, false), 1);
  assert_int_equal (match (&d, NULL, NULL, true), 1);
  hook_def_clear (&d);
  d = def_from ("{\"always\": false}");
  assert_int_equal (match (&d, SCRIPT, NULL, true), 0);
  hook_def_clear (&d);
}

static void
test_match_commands (void **state)
{
  struct hook_def d
      = def_from ("{\"commands\": [\"^/opt/\", \"/build-script-build$\"]}");
  assert_int_equal (match (&d, SCRIPT, NULL, false), 1);
  assert_int_equal (match (&d, "/opt/x", NULL, false), 1);
  assert_int_equal (match (&d, "/w/build-script-build.sh", NULL, false), 0);
  assert_int_equal (match (&d, "/dev/.ohr-init", NULL, false), 0);
  assert_int_equal (match (&d, NULL, NULL, false), 0);
  hook_def_clear (&d);
  /* unanchored, like podman's: a pattern matches anywhere */
  d = def_from ("{\"commands\": [\"foo-[0-9]+\"]}");
  assert_int_equal (match (&d, SCRIPT, NULL, false), 1);
  assert_int_equal (match (&d, "/w/bar-1/build-script-build", NULL, false), 0);
  hook_def_clear (&d);
}

static void
test_match_annotations (void **state)
{
  struct hook_def d
      = def_from ("{\"annotations\": {\"^org\\\\.ohr\\\\.log$\": \"^/\"}}");
  char *good[] = { "a=b", "org.ohr.log=/var/log/x", NULL };
  char *rel[] = { "org.ohr.log=x", NULL };
  char *other[] = { "org.ohr.logs=/x", "orgXohr.log=/x", NULL };
  char *malformed[] = { "org.ohr.log", NULL };
  assert_int_equal (match (&d, SCRIPT, good, false), 1);
  assert_int_equal (match (&d, SCRIPT, rel, false), 0);
  assert_int_equal (match (&d, SCRIPT, other, false), 0);
  assert_int_equal (match (&d, SCRIPT, malformed, false), 0);
  assert_int_equal (match (&d, SCRIPT, NULL, false), 0);
  hook_def_clear (&d);

  /* every pair must be matched, each by some annotation */
  d = def_from ("{\"annotations\": {\"^a$\": \"1\", \"^b$\": \"^2$\"}}");
  char *both[] = { "b=2", "a=x1x", NULL };
  char *one[] = { "a=1", "b=22", NULL };
  /* the key and the value must match in the same annotation */
  char *crossed[] = { "a=2", "b=1", NULL };
  assert_int_equal (match (&d, SCRIPT, both, false), 1);
  assert_int_equal (match (&d, SCRIPT, one, false), 0);
  assert_int_equal (match (&d, SCRIPT, crossed, false), 0);
  hook_def_clear (&d);
}

static void
test_match_bind_mounts (void **state)
{
  struct hook_def d = def_from ("{\"hasBindMounts\": true}");
  assert_int_equal (match (&d, SCRIPT, NULL, true), 1);
  assert_int_equal (match (&d, SCRIPT, NULL, false), 0);
  hook_def_clear (&d);
  /* podman: false never holds */
  d = def_from ("{\"hasBindMounts\": false}");
  assert_int_equal (match (&d, SCRIPT, NULL, true), 0);
  assert_int_equal (match (&d, SCRIPT, NULL, false), 0);
  hook_def_clear (&d);
}

/* oci-hooks(5) 1.0.0: every condition present must hold. */
static void
test_match_all_conditions (void **state)
{
  struct hook_def d = def_from ("{\"always\": true, \"commands\": "
                                "[\"/build-script-build$\"], "
                                "\"hasBindMounts\": true, \"annotations\": "
                                "{\"^k$\": \"^v$\"}}");
  char *kv[] = { "k=v", NULL };
  char *none[] = { "x=y", NULL };
  assert_int_equal (match (&d, SCRIPT, kv, true), 1);
  assert_int_equal (match (&d, "/x/other", kv, true), 0);
  assert_int_equal (match (&d, SCRIPT, none, true), 0);
  assert_int_equal (match (&d, SCRIPT, kv, false), 0);
  hook_def_clear (&d);
  d = def_from ("{\"always\": false, \"commands\": [\".\"]}");
  assert_int_equal (match (&d, SCRIPT, NULL, true), 0);
  hook_def_clear (&d);
}

/* ---- selection */

static void
test_select_stages (void **state)
{
  char *dir = make_dir ("sel");
  free (write_str (
      dir, "10-all.json",
      "{\"version\": \"1.0.0\", \"hook\": {\"path\": \"/bin/true\", "
      "\"args\": [\"all\"], \"env\": [\"X=1\"], \"timeout\": 5}, \"when\": "
      "{\"always\": true}, \"stages\": [\"poststop\", \"prestart\", "
      "\"createRuntime\", \"createContainer\", \"startContainer\", "
      "\"poststart\"]}"));
  free (write_str (dir, "20-stop.json",
                   "{\"version\": \"1.0.0\", \"hook\": {\"path\": "
                   "\"/bin/false\"}, \"when\": {\"commands\": "
                   "[\"build-script\"]}, \"stages\": [\"poststop\"]}"));
  free (write_str (dir, "30-never.json",
                   "{\"version\": \"1.0.0\", \"hook\": {\"path\": "
                   "\"/bin/true\"}, \"when\": {\"annotations\": {\"^nope$\": "
                   "\".\"}}, \"stages\": [\"poststop\"]}"));
  struct hook_set set;
  ohr_error_t err = NULL;
  char *dirs[] = { dir, NULL };
  if (hooks_load (dirs, &set, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (set.n, 3);

  struct hook_context ctx = { .script = SCRIPT };
  struct spec_hooks sel;
  if (hooks_select (&set, &ctx, &sel, &err) < 0)
    fail_msg ("%s", err->msg);
  /* the selection owns copies: the set can go */
  hooks_set_clear (&set);
  for (int s = 0; s < HOOK_N_STAGES; s++)
    {
      size_t want = s == HOOK_POSTSTOP ? 2 : 1;
      assert_int_equal (sel.stages[s].n, want);
      const struct spec_hook *h = &sel.stages[s].v[0];
      assert_string_equal (h->path, "/bin/true");
      assert_string_equal (h->args[0], "all");
      assert_string_equal (h->env[0], "X=1");
      assert_int_equal (h->timeout, 5);
    }
  /* in file-name order within a stage */
  assert_string_equal (sel.stages[HOOK_POSTSTOP].v[1].path, "/bin/false");
  assert_false (spec_hooks_empty (&sel));
  spec_hooks_clear (&sel);
  assert_true (spec_hooks_empty (&sel));
  assert_true (spec_hooks_empty (NULL));

  /* nothing matches a script elsewhere but the always hook */
  if (hooks_load (dirs, &set, &err) < 0)
    fail_msg ("%s", err->msg);
  ctx.script = "/x/y";
  if (hooks_select (&set, &ctx, &sel, &err) < 0)
    fail_msg ("%s", err->msg);
  assert_int_equal (sel.stages[HOOK_POSTSTOP].n, 1);
  spec_hooks_clear (&sel);
  hooks_set_clear (&set);
  free (dir);
}

/* The hook shipped in hooks/: used in place, injected only when a digest
 * log is asked for. */
static void
test_shipped_hook (void **state)
{
  char *dirs[] = { "hooks", NULL };
  struct hook_set set;
  ohr_error_t err = NULL;
  if (hooks_load (dirs, &set, &err) < 0)
    fail_msg ("%s (run from the top of the tree)", err->msg);
  assert_null (set.notes);
  const struct hook_def *d = NULL;
  for (size_t i = 0; i < set.n; i++)
    if (strcmp (set.v[i].name, "ohr-outdir-digest.json") == 0)
      d = &set.v[i];
  assert_non_null (d);
  char *want = realpath ("hooks/ohr-outdir-digest", NULL);
  assert_non_null (want);
  assert_string_equal (d->hook.path, want);
  free (want);
  assert_int_equal (d->stages, 1u << HOOK_POSTSTOP);
  assert_true (d->hook.timeout > 0);
  char *with[] = { "org.oci-host-runner.out-dir=/w/out",
                   "org.oci-host-runner.digest-log=/var/log/d", NULL };
  char *without[] = { "org.oci-host-runner.out-dir=/w/out", NULL };
  assert_int_equal (match (d, SCRIPT, with, true), 1);
  assert_int_equal (match (d, SCRIPT, without, true), 0);
  hooks_set_clear (&set);
}

/* ---- spec generation */

static char *spec_args[] = { "/dev/.ohr-init", "/t/build-script-build", NULL };

static char *
generate (const struct spec_hooks *hooks, char *const *annotations,
          ohr_error_t *err)
{
  struct spec_input in = {
    .rootfs = "/r",
    .args = spec_args,
    .cwd = "/t",
    .hooks = hooks,
    .annotations = annotations,
  };
  char *json = NULL;
  if (spec_generate (&in, &json, NULL, err) < 0)
    return NULL;
  return json;
}

static yajl_val
parse (const char *json)
{
  char errbuf[256] = "";
  yajl_val tree = yajl_tree_parse (json, errbuf, sizeof errbuf);
  if (tree == NULL)
    fail_msg ("generated spec is not valid JSON: %s", errbuf);
  return tree;
}

static yajl_val
get (yajl_val tree, yajl_type type, const char *a, const char *b)
{
  const char *path[] = { a, b, NULL };
  return yajl_tree_get (tree, path, type);
}

static void
assert_str_array (yajl_val arr, char *const *want)
{
  assert_true (YAJL_IS_ARRAY (arr));
  assert_int_equal (arr->u.array.len, strv_len (want));
  for (size_t i = 0; want[i]; i++)
    {
      assert_true (YAJL_IS_STRING (arr->u.array.values[i]));
      assert_string_equal (arr->u.array.values[i]->u.string, want[i]);
    }
}

static void
test_spec_hooks (void **state)
{
  char *args[] = { "digest", "--x", NULL };
  char *env[] = { "PATH=/usr/bin", NULL };
  char *plain_args[] = { "/usr/bin/b", NULL };
  struct spec_hook stop[] = {
    { "/usr/bin/a", args, env, 7 },
    { "/usr/bin/b", plain_args, NULL, 0 },
  };
  struct spec_hook start[] = { { "/usr/bin/c", NULL, NULL, 0 } };
  struct spec_hooks h = { 0 };
  h.stages[HOOK_POSTSTOP] = (struct spec_hook_list){ stop, 2 };
  h.stages[HOOK_START_CONTAINER] = (struct spec_hook_list){ start, 1 };
  ohr_error_t err = NULL;
  char *json = generate (&h, NULL, &err);
  if (json == NULL)
    fail_msg ("%s", err->msg);
  yajl_val t = parse (json);
  free (json);
  yajl_val hooks = get (t, yajl_t_object, "hooks", NULL);
  assert_non_null (hooks);
  /* only the stages that have hooks, under the OCI names */
  assert_int_equal (hooks->u.object.len, 2);
  assert_string_equal (hooks->u.object.keys[0], "startContainer");
  assert_string_equal (hooks->u.object.keys[1], "poststop");
  yajl_val ps = get (t, yajl_t_array, "hooks", "poststop");
  assert_non_null (ps);
  assert_int_equal (ps->u.array.len, 2);
  yajl_val a = ps->u.array.values[0], b = ps->u.array.values[1];
  const char *p_path[] = { "path", NULL }, *p_args[] = { "args", NULL },
             *p_env[] = { "env", NULL }, *p_timeout[] = { "timeout", NULL };
  assert_string_equal (
      YAJL_GET_STRING (yajl_tree_get (a, p_path, yajl_t_string)),
      "/usr/bin/a");
  assert_str_array (yajl_tree_get (a, p_args, yajl_t_array), args);
  assert_str_array (yajl_tree_get (a, p_env, yajl_t_array), env);
  yajl_val to = yajl_tree_get (a, p_timeout, yajl_t_number);
  assert_non_null (to);
  assert_int_equal (YAJL_GET_INTEGER (to), 7);
  /* optional members are left out rather than written empty */
  assert_int_equal (b->u.object.len, 2);
  assert_null (yajl_tree_get (b, p_env, yajl_t_any));
  assert_null (yajl_tree_get (b, p_timeout, yajl_t_any));
  yajl_val sc = get (t, yajl_t_array, "hooks", "startContainer");
  assert_int_equal (sc->u.array.values[0]->u.object.len, 1);
  assert_null (get (t, yajl_t_any, "annotations", NULL));
  yajl_tree_free (t);

  /* no hooks, or none selected: no "hooks" object at all */
  struct spec_hooks empty = { 0 };
  json = generate (&empty, NULL, &err);
  assert_non_null (json);
  t = parse (json);
  free (json);
  assert_null (get (t, yajl_t_any, "hooks", NULL));
  yajl_tree_free (t);

  /* a relative path never reaches the runtime */
  struct spec_hook rel[] = { { "rel/x", NULL, NULL, 0 } };
  struct spec_hooks bad = { 0 };
  bad.stages[HOOK_PRESTART] = (struct spec_hook_list){ rel, 1 };
  assert_null (generate (&bad, NULL, &err));
  expect_error (&err, NULL, "prestart hook 'rel/x'", "absolute path");
}

static void
test_spec_annotations (void **state)
{
  char *ann[] = { "org.oci-host-runner.package=foo 1.2.3",
                  "org.oci-host-runner.out-dir=/w/out",
                  "k=first",
                  "empty=",
                  "k=second=with=equals",
                  NULL };
  ohr_error_t err = NULL;
  char *json = generate (NULL, ann, &err);
  if (json == NULL)
    fail_msg ("%s", err->msg);
  yajl_val t = parse (json);
  free (json);
  yajl_val a = get (t, yajl_t_object, "annotations", NULL);
  assert_non_null (a);
  /* unique keys, a later KEY winning, in the order of the winners */
  static const char *const want[][2] = {
    { "org.oci-host-runner.package", "foo 1.2.3" },
    { "org.oci-host-runner.out-dir", "/w/out" },
    { "empty", "" },
    { "k", "second=with=equals" },
  };
  assert_int_equal (a->u.object.len, 4);
  for (size_t i = 0; i < 4; i++)
    {
      assert_string_equal (a->u.object.keys[i], want[i][0]);
      assert_true (YAJL_IS_STRING (a->u.object.values[i]));
      assert_string_equal (a->u.object.values[i]->u.string, want[i][1]);
    }
  assert_null (get (t, yajl_t_any, "hooks", NULL));
  yajl_tree_free (t);

  char *empty[] = { NULL };
  json = generate (NULL, empty, &err);
  assert_non_null (json);
  t = parse (json);
  free (json);
  assert_null (get (t, yajl_t_any, "annotations", NULL));
  yajl_tree_free (t);

  char *no_eq[] = { "a=1", "novalue", NULL };
  assert_null (generate (NULL, no_eq, &err));
  expect_error (&err, NULL, "annotation 'novalue' is not KEY=VALUE", NULL);
  char *no_key[] = { "=v", NULL };
  assert_null (generate (NULL, no_key, &err));
  expect_error (&err, NULL, "annotation '=v' is not KEY=VALUE", NULL);
  char *bad_utf8[] = { "k=\xff", NULL };
  assert_null (generate (NULL, bad_utf8, &err));
  expect_error (&err, NULL, "not valid UTF-8", NULL);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_stage_names),
    cmocka_unit_test_setup_teardown (test_parse_full, setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_parse_minimal_and_relative,
                                     setup_tmp, teardown_tmp),
    cmocka_unit_test_setup_teardown (test_invalid_fixtures, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_file_checks, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_skipped_programs, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_directories, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_match_always, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_match_commands, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_match_annotations, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_match_bind_mounts, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_match_all_conditions, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test_setup_teardown (test_select_stages, setup_tmp,
                                     teardown_tmp),
    cmocka_unit_test (test_shipped_hook),
    cmocka_unit_test (test_spec_hooks),
    cmocka_unit_test (test_spec_annotations),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
