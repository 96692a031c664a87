/* test-context.c: context_load against a Cargo-shaped temp directory:
 *   <tmp>/pkg                                         CARGO_MANIFEST_DIR
 *   <tmp>/target/debug/build/pkg-123/out              OUT_DIR
 *   <tmp>/target/debug/build/pkg-abc/build-script-build  (0755)
 */
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run/context.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

struct fixture
{
  int saved_cwd;
  char *tmp; /* realpath of the temp dir: getcwd() resolves symlinks */
  char *pkg;
  char *build;
  char *out_dir;
  char *script;
  char *noexec;
  char **envp;
};

static char *
join (const char *a, const char *b)
{
  char *p = fs_path_join (a, b);
  assert_non_null (p);
  return p;
}

static void
write_file (const char *path, const char *content, mode_t mode)
{
  FILE *f = fopen (path, "w");
  assert_non_null (f);
  assert_true (fputs (content, f) >= 0);
  assert_int_equal (fclose (f), 0);
  assert_int_equal (chmod (path, mode), 0);
}

static void
mkdirs (const char *path)
{
  ohr_error_t err = NULL;
  assert_int_equal (fs_mkdir_p (path, 0755, &err), 0);
  assert_null (err);
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  assert_non_null (f);
  f->saved_cwd = open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (f->saved_cwd >= 0);
  char tmpl[] = "/tmp/test-context-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  f->tmp = realpath (tmpl, NULL);
  assert_non_null (f->tmp);

  f->pkg = join (f->tmp, "pkg");
  f->build = join (f->tmp, "target/debug/build");
  f->out_dir = join (f->build, "pkg-123/out");
  char *script_dir = join (f->build, "pkg-abc");
  f->script = join (script_dir, "build-script-build");
  f->noexec = join (script_dir, "not-executable");
  mkdirs (f->pkg);
  mkdirs (f->out_dir);
  mkdirs (script_dir);
  write_file (f->script, "#!/bin/sh\nexit 0\n", 0755);
  write_file (f->noexec, "#!/bin/sh\nexit 0\n", 0644);
  free (script_dir);

  assert_int_equal (strv_pushf (&f->envp, "OUT_DIR=%s", f->out_dir), 0);
  assert_int_equal (strv_pushf (&f->envp, "CARGO_MANIFEST_DIR=%s", f->pkg), 0);
  assert_int_equal (strv_push (&f->envp, "CARGO_PKG_NAME=pkg"), 0);
  assert_int_equal (strv_push (&f->envp, "CARGO_PKG_VERSION=0.1.0"), 0);
  assert_int_equal (strv_push (&f->envp, "HOME=/root"), 0);

  assert_int_equal (chdir (f->pkg), 0);
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  int r = fchdir (f->saved_cwd);
  close (f->saved_cwd);
  ohr_error_t err = NULL;
  if (fs_rm_rf (f->tmp, &err) < 0)
    r = -1;
  ohr_error_free (&err);
  free (f->tmp);
  free (f->pkg);
  free (f->build);
  free (f->out_dir);
  free (f->script);
  free (f->noexec);
  strv_free (f->envp);
  free (f);
  return r;
}

/* Replace (value != NULL) or remove (value == NULL) NAME in f->envp. */
static void
set_env (struct fixture *f, const char *name, const char *value)
{
  char **nv = NULL;
  size_t n = strlen (name);
  for (size_t i = 0; f->envp[i]; i++)
    if (!(strncmp (f->envp[i], name, n) == 0 && f->envp[i][n] == '='))
      assert_int_equal (strv_push (&nv, f->envp[i]), 0);
  if (value)
    assert_int_equal (strv_pushf (&nv, "%s=%s", name, value), 0);
  if (nv == NULL)
    nv = calloc (1, sizeof (char *));
  strv_free (f->envp);
  f->envp = nv;
}

static void
load_ok (struct fixture *f, char *const *command, struct run_context *ctx)
{
  ohr_error_t err = NULL;
  int r = context_load (command, f->envp, ctx, &err);
  if (r < 0)
    fail_msg ("context_load failed: %s", err ? err->msg : "(no error)");
  assert_null (err);
}

/* context_load must fail with kind; the message must contain word. */
static void
load_fails (struct fixture *f, char *const *command, enum ohr_error_kind kind,
            const char *word)
{
  ohr_error_t err = NULL;
  struct run_context ctx;
  memset (&ctx, 0, sizeof ctx);
  int r = context_load (command, f->envp, &ctx, &err);
  assert_true (r < 0);
  assert_non_null (err);
  if (err->kind != kind)
    fail_msg ("error kind %d, expected %d: %s", (int)err->kind, (int)kind,
              err->msg);
  if (word && strstr (err->msg, word) == NULL)
    fail_msg ("error '%s' does not mention '%s'", err->msg, word);
  assert_null (ctx.script); /* out is set only on success */
  ohr_error_free (&err);
}

static void
test_load (void **state)
{
  struct fixture *f = *state;
  char *command[] = { f->script, "--arg", "two", NULL };
  struct run_context ctx;
  load_ok (f, command, &ctx);
  assert_string_equal (ctx.script, f->script);
  assert_int_equal (strv_len (ctx.args), 2);
  assert_string_equal (ctx.args[0], "--arg");
  assert_string_equal (ctx.args[1], "two");
  assert_string_equal (ctx.out_dir, f->out_dir);
  assert_string_equal (ctx.manifest_dir, f->pkg);
  assert_string_equal (ctx.cwd, f->pkg);
  assert_non_null (ctx.build_dir);
  assert_string_equal (ctx.build_dir, f->build);
  assert_non_null (ctx.target_dir);
  assert_true (strlen (ctx.target_dir) < strlen (f->build));
  assert_memory_equal (ctx.target_dir, f->build, strlen (ctx.target_dir));
  assert_string_equal (f->build + strlen (ctx.target_dir), "/debug/build");
  assert_string_equal (ctx.package, "pkg 0.1.0");
  context_clear (&ctx);
  assert_null (ctx.script);
}

static void
test_relative_script_and_unnormalized_dirs (void **state)
{
  struct fixture *f = *state;
  /* Paths as a user might type them: made absolute and normalized. */
  char *messy_out = NULL;
  assert_true (
      asprintf (&messy_out, "%s//target/./debug/build/pkg-123/out/", f->tmp)
      > 0);
  set_env (f, "OUT_DIR", messy_out);
  char *command[]
      = { "../target/debug/build/pkg-abc/build-script-build", NULL };
  struct run_context ctx;
  load_ok (f, command, &ctx);
  assert_string_equal (ctx.script, f->script);
  assert_null (ctx.args);
  assert_string_equal (ctx.out_dir, f->out_dir);
  assert_string_equal (ctx.build_dir, f->build);
  context_clear (&ctx);
  free (messy_out);

  /* relative, without "..": joined with the cwd */
  char *local = join (f->pkg, "local-script");
  write_file (local, "#!/bin/sh\n", 0755);
  char *command2[] = { "./local-script", NULL };
  load_ok (f, command2, &ctx);
  assert_string_equal (ctx.script, local);
  context_clear (&ctx);
  free (local);
}

static void
test_package_name (void **state)
{
  struct fixture *f = *state;
  char *command[] = { f->script, NULL };
  struct run_context ctx;
  set_env (f, "CARGO_PKG_VERSION", NULL);
  load_ok (f, command, &ctx);
  assert_string_equal (ctx.package, "pkg");
  context_clear (&ctx);
  set_env (f, "CARGO_PKG_NAME", NULL);
  load_ok (f, command, &ctx);
  assert_non_null (ctx.package);
  assert_true (strlen (ctx.package) > 0);
  assert_null (strstr (ctx.package, "(null)"));
  context_clear (&ctx);
}

static void
test_build_dir_only_for_cargo_shape (void **state)
{
  struct fixture *f = *state;
  char *plain = join (f->tmp, "plain-out");
  mkdirs (plain);
  set_env (f, "OUT_DIR", plain);
  char *command[] = { f->script, NULL };
  struct run_context ctx;
  load_ok (f, command, &ctx);
  assert_string_equal (ctx.out_dir, plain);
  assert_null (ctx.build_dir);
  assert_null (ctx.target_dir);
  context_clear (&ctx);

  /* ".../out" whose grandparent is not "build" */
  char *other = join (f->tmp, "x/pkg-1/out");
  mkdirs (other);
  set_env (f, "OUT_DIR", other);
  load_ok (f, command, &ctx);
  assert_null (ctx.build_dir);
  context_clear (&ctx);
  free (other);
  free (plain);
}

/* Cargo's directories around OUT_DIR: the build dir, and the target dir
 * above <profile> (and above <triple> when it is the TARGET given). */
static void
test_cargo_dirs (void **state)
{
  static const struct
  {
    const char *out, *target, *build_dir, *target_dir;
  } cases[] = {
    { "/t/debug/build/p-1/out", NULL, "/t/debug/build", "/t" },
    { "/h/u/w/target/release/build/p-1/out", "x86_64-unknown-linux-gnu",
      "/h/u/w/target/release/build", "/h/u/w/target" },
    /* a cross build: <target>/<triple>/<profile>/build */
    { "/w/target/aarch64-unknown-linux-gnu/debug/build/p-1/out",
      "aarch64-unknown-linux-gnu",
      "/w/target/aarch64-unknown-linux-gnu/debug/build", "/w/target" },
    /* the same without TARGET (or another one): the profile's parent */
    { "/w/target/aarch64-unknown-linux-gnu/debug/build/p-1/out", NULL,
      "/w/target/aarch64-unknown-linux-gnu/debug/build",
      "/w/target/aarch64-unknown-linux-gnu" },
    { "/w/target/aarch64-unknown-linux-gnu/debug/build/p-1/out", "aarch64",
      "/w/target/aarch64-unknown-linux-gnu/debug/build",
      "/w/target/aarch64-unknown-linux-gnu" },
    /* a target dir named like the triple, just under /: not "/" */
    { "/x86_64-unknown-linux-gnu/debug/build/p-1/out",
      "x86_64-unknown-linux-gnu", "/x86_64-unknown-linux-gnu/debug/build",
      "/x86_64-unknown-linux-gnu" },
    /* other shapes */
    { "/debug/build/p-1/out", NULL, NULL, NULL }, /* target dir "/" */
    { "/build/p-1/out", NULL, NULL, NULL },
    { "/t/debug/notbuild/p-1/out", NULL, NULL, NULL },
    { "/t/debug/build/p-1/outx", NULL, NULL, NULL },
    { "/t/debug/build/out", NULL, NULL, NULL },
    { "/out", NULL, NULL, NULL },
    { "/", NULL, NULL, NULL },
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    {
      char *b = (char *)"unset", *t = (char *)"unset";
      ohr_error_t err = NULL;
      assert_int_equal (
          context_cargo_dirs (cases[i].out, cases[i].target, &b, &t, &err), 0);
      if (cases[i].build_dir == NULL)
        {
          if (b || t)
            fail_msg ("'%s': no Cargo shape, got '%s' and '%s'", cases[i].out,
                      b ? b : "(null)", t ? t : "(null)");
          continue;
        }
      if (b == NULL || t == NULL)
        fail_msg ("'%s': no directories", cases[i].out);
      assert_string_equal (b, cases[i].build_dir);
      assert_string_equal (t, cases[i].target_dir);
      free (b);
      free (t);
    }
}

/* The dependencies' OUT_DIRs the DEP_* variables name: each an existing
 * directory <pkg>-<hash>/out below the build directory, once, in order. */
static void
test_dependency_dirs (void **state)
{
  struct fixture *f = *state;
  char *dep = join (f->build, "depsys-4dc6/out");
  char *other = join (f->build, "other-77/out");
  mkdirs (dep);
  mkdirs (other);
  char **envp = NULL;
  assert_int_equal (strv_pushf (&envp, "DEP_DEPSYS_INCLUDE=%s/include", dep),
                    0);
  /* the same OUT_DIR again, unnormalized */
  assert_int_equal (strv_pushf (&envp, "DEP_DEPSYS_ROOT=%s//./", dep), 0);
  assert_int_equal (strv_pushf (&envp, "DEP_OTHER_LIB=%s/lib", other), 0);
  /* not below the build directory, the directory itself, not a DEP_*
   * variable, relative, a directory that is not there, and ".." */
  assert_int_equal (strv_push (&envp, "DEP_Z_ROOT=/usr"), 0);
  assert_int_equal (strv_pushf (&envp, "DEP_B_DIR=%s", f->build), 0);
  assert_int_equal (strv_pushf (&envp, "OUT_DIR=%s", f->out_dir), 0);
  assert_int_equal (strv_push (&envp, "DEP_R_INCLUDE=include"), 0);
  assert_int_equal (
      strv_pushf (&envp, "DEP_G_INCLUDE=%s/gone-1/out/x", f->build), 0);
  assert_int_equal (
      strv_pushf (&envp, "DEP_U_INCLUDE=%s/../build/other-77/out", f->build),
      0);
  char **dirs = NULL;
  ohr_error_t err = NULL;
  assert_int_equal (context_dependency_dirs (f->build, envp, &dirs, &err), 0);
  assert_non_null (dirs);
  assert_non_null (dirs[0]);
  assert_string_equal (dirs[0], dep);
  assert_non_null (dirs[1]);
  assert_string_equal (dirs[1], other);
  assert_null (dirs[2]);
  strv_free (dirs);

  /* no build directory (OUT_DIR not of Cargo's shape): an empty list */
  dirs = NULL;
  assert_int_equal (context_dependency_dirs (NULL, envp, &dirs, &err), 0);
  assert_non_null (dirs);
  assert_null (dirs[0]);
  strv_free (dirs);
  strv_free (envp);
  free (dep);
  free (other);
}

static void
test_cwd_below_manifest_or_symlinked (void **state)
{
  struct fixture *f = *state;
  char *command[] = { f->script, NULL };
  struct run_context ctx;

  char *sub = join (f->pkg, "src");
  mkdirs (sub);
  assert_int_equal (chdir (sub), 0);
  load_ok (f, command, &ctx);
  assert_string_equal (ctx.cwd, sub);
  context_clear (&ctx);

  /* Cargo's path goes through a symlink; getcwd() resolves it: the cwd
   * reported is the manifest dir as Cargo spells it. */
  char *link = join (f->tmp, "pkg-link");
  assert_int_equal (symlink (f->pkg, link), 0);
  set_env (f, "CARGO_MANIFEST_DIR", link);
  assert_int_equal (chdir (link), 0);
  load_ok (f, command, &ctx);
  assert_string_equal (ctx.manifest_dir, link);
  assert_string_equal (ctx.cwd, link);
  context_clear (&ctx);
  free (link);
  free (sub);
}

static void
test_no_command (void **state)
{
  struct fixture *f = *state;
  load_fails (f, NULL, OHR_ERR_USAGE, "no build script");
  char *empty[] = { NULL };
  load_fails (f, empty, OHR_ERR_USAGE, "no build script");
}

static void
test_script_errors (void **state)
{
  struct fixture *f = *state;
  char *missing = join (f->build, "pkg-abc/nope");
  char *command[] = { missing, NULL };
  load_fails (f, command, OHR_ERR_NOTFOUND, "nope");

  char *command2[] = { f->noexec, NULL };
  load_fails (f, command2, OHR_ERR_NOEXEC, "not-executable");

  char *command3[] = { f->pkg, NULL }; /* a directory */
  load_fails (f, command3, OHR_ERR_NOEXEC, NULL);
  free (missing);

  /* a missing script named relative to the cwd with ".." */
  char *command4[] = { "../target/debug/build/pkg-abc/nope", NULL };
  ohr_error_t err = NULL;
  struct run_context ctx;
  assert_true (context_load (command4, f->envp, &ctx, &err) < 0);
  assert_non_null (err);
  assert_non_null (strstr (err->msg, "nope"));
  assert_int_equal (err->kind, OHR_ERR_NOTFOUND);
  ohr_error_free (&err);
}

static void
test_out_dir_errors (void **state)
{
  struct fixture *f = *state;
  char *command[] = { f->script, NULL };

  set_env (f, "OUT_DIR", NULL);
  load_fails (f, command, OHR_ERR_CONTEXT, "OUT_DIR");
  set_env (f, "OUT_DIR", "");
  load_fails (f, command, OHR_ERR_CONTEXT, "OUT_DIR");

  set_env (f, "OUT_DIR", f->script); /* a file */
  load_fails (f, command, OHR_ERR_CONTEXT, "OUT_DIR");

  char *gone = join (f->tmp, "gone/out");
  set_env (f, "OUT_DIR", gone);
  load_fails (f, command, OHR_ERR_CONTEXT, "OUT_DIR");
  free (gone);
}

static void
test_manifest_dir_errors (void **state)
{
  struct fixture *f = *state;
  char *command[] = { f->script, NULL };

  set_env (f, "CARGO_MANIFEST_DIR", NULL);
  load_fails (f, command, OHR_ERR_CONTEXT, "CARGO_MANIFEST_DIR");

  /* the container has its own /proc: a host path there cannot be mounted */
  set_env (f, "CARGO_MANIFEST_DIR", "/proc");
  load_fails (f, command, OHR_ERR_CONTEXT, "/proc");
  set_env (f, "CARGO_MANIFEST_DIR", "/proc/self");
  load_fails (f, command, OHR_ERR_CONTEXT, "/proc");
}

static void
test_cwd_outside_manifest (void **state)
{
  struct fixture *f = *state;
  char *command[] = { f->script, NULL };
  assert_int_equal (chdir (f->tmp), 0);
  load_fails (f, command, OHR_ERR_CONTEXT, "CARGO_MANIFEST_DIR");

  /* a sibling whose name starts with the package's is outside too */
  char *sibling = join (f->tmp, "pkg2");
  mkdirs (sibling);
  assert_int_equal (chdir (sibling), 0);
  load_fails (f, command, OHR_ERR_CONTEXT, "outside");
  free (sibling);

  /* OUT_DIR is allowed as the cwd */
  assert_int_equal (chdir (f->out_dir), 0);
  struct run_context ctx;
  load_ok (f, command, &ctx);
  assert_string_equal (ctx.cwd, f->out_dir);
  context_clear (&ctx);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown (test_load, setup, teardown),
    cmocka_unit_test_setup_teardown (
        test_relative_script_and_unnormalized_dirs, setup, teardown),
    cmocka_unit_test_setup_teardown (test_package_name, setup, teardown),
    cmocka_unit_test (test_cargo_dirs),
    cmocka_unit_test_setup_teardown (test_dependency_dirs, setup, teardown),
    cmocka_unit_test_setup_teardown (test_build_dir_only_for_cargo_shape,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (test_cwd_below_manifest_or_symlinked,
                                     setup, teardown),
    cmocka_unit_test_setup_teardown (test_no_command, setup, teardown),
    cmocka_unit_test_setup_teardown (test_script_errors, setup, teardown),
    cmocka_unit_test_setup_teardown (test_out_dir_errors, setup, teardown),
    cmocka_unit_test_setup_teardown (test_manifest_dir_errors, setup,
                                     teardown),
    cmocka_unit_test_setup_teardown (test_cwd_outside_manifest, setup,
                                     teardown),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
