/* test-toolchain.c: what the tool variables Cargo gives a build script
 * (RUSTC, RUSTDOC, CARGO, RUSTC_WRAPPER, RUSTC_WORKSPACE_WRAPPER,
 * RUSTC_LINKER) make the runner mount, and what they must say inside,
 * against a temp tree made per test:
 *   <tmp>/tc/bin/{rustc,rustdoc,cargo,clippy-driver}   a Rust toolchain
 *   <tmp>/tc/lib/rustlib/x/bin/cargo        (lib/rustlib makes it one)
 *   <tmp>/tc2/bin/{rustc,cargo}             a second one (no rustdoc)
 *   <tmp>/noexec/bin/rustc                  mode 0644: not a candidate
 *   <tmp>/dirbin/rustc/                     a directory: not a candidate
 *   <tmp>/flat/{rustc,linker}, <tmp>/links/rustc -> ../tc/bin/rustc
 *   <tmp>/cargo-home/bin/rustup             a fake rustup proxy, and
 *   <tmp>/cargo-home/bin/{rustc,rustdoc,cargo,clippy-driver} -> rustup
 *   <tmp>/cargo-home/bin/sccache            a wrapper `cargo install`ed,
 *   <tmp>/cargo-home/credentials.toml       beside what must stay out
 *   <tmp>/rustup-home/toolchains/{mytc,other}/bin/...  (other: no rustdoc)
 * Each fake tool answers `--print sysroot` the way the real rustc does (the
 * directory holding its bin/), and the fake proxy execs the toolchain
 * RUSTUP_HOME and RUSTUP_TOOLCHAIN name, like rustup.  So "the directory
 * mounted is the sysroot rustc reports" is checked by running the tool, and
 * "the rewritten value runs" by running the rewritten value.
 *
 * The runner passes its own environment as env (src/cli/run.c), and the
 * module reads PATH, RUSTUP_HOME and RUSTUP_TOOLCHAIN from the process
 * environment: the tests set those with setenv and also put them in env,
 * and restore the originals after each test.
 *
 * test_real_rustup runs against this machine's rustup (~/.cargo/bin/rustc,
 * a rustup proxy) and is reported SKIPPED, with the reason, when there is
 * none. */
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

#include "run/toolchain.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/strv.h"

/* Host variables the module reads from the process environment. */
enum
{
  H_PATH,
  H_RUSTUP_HOME,
  H_RUSTUP_TOOLCHAIN,
  N_HOST_VARS
};
static const char *const host_vars[N_HOST_VARS]
    = { "PATH", "RUSTUP_HOME", "RUSTUP_TOOLCHAIN" };

struct fixture
{
  int saved_cwd;
  char *saved[N_HOST_VARS];
  char *tmp; /* realpath of the temp dir */
  char *tc, *tc2, *flat, *links, *noexec, *dirbin;
  char *cargo_home, *rustup_home, *mytc, *other;
};

/* PATH-independent (the tests change PATH): only sh builtins. */
static const char fake_rustc[]
    = "#!/bin/sh\n"
      "# a fake rust tool: its sysroot is the directory holding bin/\n"
      "if [ \"$1\" = --print ] && [ \"$2\" = sysroot ]; then\n"
      "  cd \"${0%/*}/..\" && pwd -P\n"
      "else\n"
      "  exit 1\n"
      "fi\n";

static const char fake_rustup[]
    = "#!/bin/sh\n"
      "# a fake rustup proxy: run the tool of the named toolchain\n"
      "exec \"$RUSTUP_HOME/toolchains/$RUSTUP_TOOLCHAIN/bin/${0##*/}\" "
      "\"$@\"\n";

static char *
join (const char *a, const char *b)
{
  char *p = fs_path_join (a, b);
  assert_non_null (p);
  return p;
}

static void
mkdirs (const char *path)
{
  ohr_error_t err = NULL;
  assert_int_equal (fs_mkdir_p (path, 0755, &err), 0);
  assert_null (err);
}

static void
mkdirs_at (const char *dir, const char *rel)
{
  char *p = join (dir, rel);
  mkdirs (p);
  free (p);
}

/* dir/rel, with its parent directories, holding content, mode. */
static void
write_at (const char *dir, const char *rel, const char *content, mode_t mode)
{
  char *p = join (dir, rel);
  char *parent = strdup (p);
  assert_non_null (parent);
  *strrchr (parent, '/') = '\0';
  mkdirs (parent);
  FILE *f = fopen (p, "w");
  assert_non_null (f);
  assert_true (fputs (content, f) >= 0);
  assert_int_equal (fclose (f), 0);
  assert_int_equal (chmod (p, mode), 0);
  free (parent);
  free (p);
}

static void
link_at (const char *dir, const char *rel, const char *target)
{
  char *p = join (dir, rel);
  assert_int_equal (symlink (target, p), 0);
  free (p);
}

/* Set (value != NULL) or unset a variable of the process environment. */
static void
host_set (const char *name, const char *value)
{
  if (value)
    assert_int_equal (setenv (name, value, 1), 0);
  else
    assert_int_equal (unsetenv (name), 0);
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  assert_non_null (f);
  f->saved_cwd = open (".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true (f->saved_cwd >= 0);
  for (size_t i = 0; i < N_HOST_VARS; i++)
    if (getenv (host_vars[i]))
      assert_non_null (f->saved[i] = strdup (getenv (host_vars[i])));
  char tmpl[] = "/tmp/test-toolchain-XXXXXX";
  assert_non_null (mkdtemp (tmpl));
  f->tmp = realpath (tmpl, NULL);
  assert_non_null (f->tmp);

  f->tc = join (f->tmp, "tc");
  write_at (f->tc, "bin/rustc", fake_rustc, 0755);
  write_at (f->tc, "bin/rustdoc", fake_rustc, 0755);
  write_at (f->tc, "bin/cargo", fake_rustc, 0755);
  write_at (f->tc, "bin/clippy-driver", fake_rustc, 0755);
  write_at (f->tc, "lib/rustlib/x/bin/cargo", fake_rustc, 0755);
  f->tc2 = join (f->tmp, "tc2");
  write_at (f->tc2, "bin/rustc", fake_rustc, 0755);
  write_at (f->tc2, "bin/cargo", fake_rustc, 0755);
  f->noexec = join (f->tmp, "noexec");
  write_at (f->noexec, "bin/rustc", fake_rustc, 0644);
  f->dirbin = join (f->tmp, "dirbin");
  mkdirs (f->dirbin);
  char *dir_named_rustc = join (f->dirbin, "rustc");
  mkdirs (dir_named_rustc);
  free (dir_named_rustc);
  f->flat = join (f->tmp, "flat");
  write_at (f->flat, "rustc", fake_rustc, 0755);
  write_at (f->flat, "linker", fake_rustc, 0755);
  f->links = join (f->tmp, "links");
  mkdirs (f->links);
  link_at (f->links, "rustc", "../tc/bin/rustc");

  f->cargo_home = join (f->tmp, "cargo-home");
  write_at (f->cargo_home, "bin/rustup", fake_rustup, 0755);
  link_at (f->cargo_home, "bin/rustc", "rustup");
  link_at (f->cargo_home, "bin/rustdoc", "rustup");
  link_at (f->cargo_home, "bin/cargo", "rustup");
  link_at (f->cargo_home, "bin/clippy-driver", "rustup");
  write_at (f->cargo_home, "bin/sccache", fake_rustc, 0755);
  write_at (f->cargo_home, "credentials.toml", "token = \"secret\"\n", 0600);
  f->rustup_home = join (f->tmp, "rustup-home");
  f->mytc = join (f->rustup_home, "toolchains/mytc");
  write_at (f->mytc, "bin/rustc", fake_rustc, 0755);
  write_at (f->mytc, "bin/rustdoc", fake_rustc, 0755);
  write_at (f->mytc, "bin/cargo", fake_rustc, 0755);
  write_at (f->mytc, "bin/clippy-driver", fake_rustc, 0755);
  mkdirs_at (f->mytc, "lib/rustlib");
  f->other = join (f->rustup_home, "toolchains/other");
  write_at (f->other, "bin/rustc", fake_rustc, 0755);
  write_at (f->other, "bin/cargo", fake_rustc, 0755);

  /* no rustup unless a test asks for one */
  host_set ("RUSTUP_HOME", NULL);
  host_set ("RUSTUP_TOOLCHAIN", NULL);
  host_set ("PATH", "/usr/bin:/bin");
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  int r = fchdir (f->saved_cwd);
  close (f->saved_cwd);
  for (size_t i = 0; i < N_HOST_VARS; i++)
    {
      if (f->saved[i] ? setenv (host_vars[i], f->saved[i], 1)
                      : unsetenv (host_vars[i]))
        r = -1;
      free (f->saved[i]);
    }
  ohr_error_t err = NULL;
  if (fs_rm_rf (f->tmp, &err) < 0)
    r = -1;
  ohr_error_free (&err);
  char **owned[] = { &f->tmp,         &f->tc,     &f->tc2,    &f->flat,
                     &f->links,       &f->noexec, &f->dirbin, &f->cargo_home,
                     &f->rustup_home, &f->mytc,   &f->other };
  for (size_t i = 0; i < sizeof owned / sizeof *owned; i++)
    free (*owned[i]);
  free (f);
  return r;
}

/* toolchain_find with the given "NAME=VALUE" variables (NULL-terminated)
 * plus the host variables, as the runner's environment has them. */
static void
find_env (const char *const *vars, struct toolchain *out)
{
  char **env = NULL;
  for (size_t i = 0; vars[i]; i++)
    assert_int_equal (strv_push (&env, vars[i]), 0);
  for (size_t i = 0; i < N_HOST_VARS; i++)
    if (getenv (host_vars[i]))
      assert_int_equal (
          strv_pushf (&env, "%s=%s", host_vars[i], getenv (host_vars[i])), 0);
  assert_int_equal (strv_push (&env, "CARGO_PKG_NAME=pkg"), 0);
  ohr_error_t err = NULL;
  struct toolchain tc = { 0 };
  int r = toolchain_find (env, &tc, &err);
  if (r < 0)
    fail_msg ("toolchain_find: %s", err ? err->msg : "(no message)");
  assert_int_equal (r, 0);
  assert_null (err);
  strv_free (env);
  *out = tc;
}

#define FIND_ENV(out, ...)                                                    \
  find_env ((const char *const[]){ __VA_ARGS__, NULL }, out)

/* RUSTC, RUSTDOC, CARGO set to the given values (NULL: unset). */
static void
find (const char *rustc, const char *rustdoc, const char *cargo,
      struct toolchain *out)
{
  char **vars = NULL;
  const char *names[] = { "RUSTC", "RUSTDOC", "CARGO" };
  const char *values[] = { rustc, rustdoc, cargo };
  for (size_t i = 0; i < 3; i++)
    if (values[i])
      assert_int_equal (strv_pushf (&vars, "%s=%s", names[i], values[i]), 0);
  find_env (vars ? (const char *const *)vars : (const char *const[]){ NULL },
            out);
  strv_free (vars);
}

/* "NAME=" dir "/" rel, freshly allocated. */
static char *
var_at (const char *name, const char *dir, const char *rel)
{
  char *p = NULL;
  assert_true (asprintf (&p, "%s=%s/%s", name, dir, rel) > 0);
  return p;
}

/* v holds exactly the strings of want (NULL-terminated), in order. */
static void
assert_strv (char *const *v, const char *const *want)
{
  size_t n = 0;
  while (want[n])
    n++;
  if (strv_len (v) != n)
    {
      for (size_t i = 0; v && v[i]; i++)
        print_message ("  got [%zu] %s\n", i, v[i]);
      fail_msg ("got %zu entries, want %zu", strv_len (v), n);
    }
  for (size_t i = 0; i < n; i++)
    assert_string_equal (v[i], want[i]);
}

#define ASSERT_STRV(v, ...)                                                   \
  assert_strv (v, (const char *const[]){ __VA_ARGS__, NULL })

/* What `tool --print sysroot` prints, without the newline; NULL when it
 * fails.  Runs with the process environment (RUSTUP_* for proxies). */
static char *
sysroot_of (const char *tool)
{
  char *cmd = NULL;
  assert_true (asprintf (&cmd, "'%s' --print sysroot 2>/dev/null", tool) > 0);
  FILE *p = popen (cmd, "r");
  free (cmd);
  assert_non_null (p);
  char line[PATH_MAX + 2];
  char *got = fgets (line, sizeof line, p);
  int status = pclose (p);
  if (got == NULL || status != 0)
    return NULL;
  line[strcspn (line, "\n")] = '\0';
  return strdup (line);
}

static void
assert_root_is_sysroot (const char *root, const char *tool)
{
  char *sysroot = sysroot_of (tool);
  if (sysroot == NULL)
    fail_msg ("'%s --print sysroot' failed", tool);
  assert_string_equal (root, sysroot);
  free (sysroot);
}

static char *
path_list (const char *a, const char *b, const char *c, const char *d)
{
  char *p = NULL;
  assert_true (asprintf (&p, "%s:%s:%s:%s", a, b, c, d) > 0);
  return p;
}

/* ---- plain toolchain directories */

static void
test_absolute_rustc_mounts_its_toolchain (void **state)
{
  struct fixture *f = *state;
  char *rustc = join (f->tc, "bin/rustc");
  struct toolchain tc;
  find (rustc, NULL, NULL, &tc);
  /* the directory holding bin/, not bin/ itself: lib/ must come along */
  ASSERT_STRV (tc.roots, f->tc);
  assert_root_is_sysroot (tc.roots[0], rustc);
  assert_null (tc.rewrites); /* a real binary keeps its name */
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (rustc);
}

static void
test_one_toolchain_one_root (void **state)
{
  struct fixture *f = *state;
  char *rustc = join (f->tc, "bin/rustc");
  char *rustdoc = join (f->tc, "bin/rustdoc");
  char *cargo = join (f->tc, "bin/cargo");
  struct toolchain tc;
  find (rustc, rustdoc, cargo, &tc);
  ASSERT_STRV (tc.roots, f->tc);
  assert_null (tc.notes);
  toolchain_clear (&tc);

  /* a tool below a root already mounted adds nothing */
  char *nested = join (f->tc, "lib/rustlib/x/bin/cargo");
  find (rustc, NULL, nested, &tc);
  ASSERT_STRV (tc.roots, f->tc);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (nested);
  free (rustc);
  free (rustdoc);
  free (cargo);
}

static void
test_two_toolchains_two_roots (void **state)
{
  struct fixture *f = *state;
  char *rustc = join (f->tc2, "bin/rustc");
  char *rustdoc = join (f->tc, "bin/rustdoc");
  char *cargo = join (f->tc, "bin/cargo");
  struct toolchain tc;
  find (rustc, rustdoc, cargo, &tc);
  /* RUSTC's first: the view mounts the first root at /cargo/toolchain */
  ASSERT_STRV (tc.roots, f->tc2, f->tc);
  assert_null (tc.rewrites);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (rustc);
  free (rustdoc);
  free (cargo);
}

static void
test_bare_name_searches_host_path (void **state)
{
  struct fixture *f = *state;
  char *empty = join (f->tmp, "empty");
  char *noexec_bin = join (f->noexec, "bin");
  char *tc2_bin = join (f->tc2, "bin");
  char *tc_bin = join (f->tc, "bin");
  /* a missing directory, a non-executable rustc and a directory named
   * rustc come first: passed over, as execvp does */
  char *path = NULL;
  assert_true (asprintf (&path, "%s:%s:%s:%s:%s", empty, noexec_bin, f->dirbin,
                         tc2_bin, tc_bin)
               > 0);
  host_set ("PATH", path);
  struct toolchain tc;
  find ("rustc", "rustdoc", NULL, &tc);
  /* the first executable rustc (tc2); tc2 has no rustdoc, so tc's */
  ASSERT_STRV (tc.roots, f->tc2, f->tc);
  /* and the bare names become those files: nothing inside the container
   * resolves a bare name against the host's PATH */
  char *w1 = var_at ("RUSTC", f->tc2, "bin/rustc");
  char *w2 = var_at ("RUSTDOC", f->tc, "bin/rustdoc");
  ASSERT_STRV (tc.rewrites, w1, w2);
  assert_root_is_sysroot (tc.roots[0], strchr (tc.rewrites[0], '=') + 1);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (w1);
  free (w2);

  /* PATH order decides */
  free (path);
  path = path_list (empty, noexec_bin, tc_bin, tc2_bin);
  host_set ("PATH", path);
  find ("rustc", NULL, NULL, &tc);
  ASSERT_STRV (tc.roots, f->tc);
  w1 = var_at ("RUSTC", f->tc, "bin/rustc");
  ASSERT_STRV (tc.rewrites, w1);
  toolchain_clear (&tc);
  free (w1);
  free (path);
  free (empty);
  free (noexec_bin);
  free (tc2_bin);
  free (tc_bin);
}

static void
test_relative_name_with_slash_is_not_searched (void **state)
{
  struct fixture *f = *state;
  char *tc2_bin = join (f->tc2, "bin");
  host_set ("PATH", tc2_bin);
  assert_int_equal (chdir (f->tc), 0);
  struct toolchain tc;
  /* "bin/rustc" names a file from the cwd, like execve; PATH has tc2 */
  find ("bin/rustc", NULL, NULL, &tc);
  ASSERT_STRV (tc.roots, f->tc);
  /* the container's cwd is not the host's path (canonical /cargo/src):
   * the value becomes absolute */
  char *want = var_at ("RUSTC", f->tc, "bin/rustc");
  ASSERT_STRV (tc.rewrites, want);
  toolchain_clear (&tc);
  free (want);

  /* an empty PATH entry is the cwd, as for execvp */
  char *path = NULL;
  assert_true (asprintf (&path, "%s::/usr/bin", f->noexec) > 0);
  host_set ("PATH", path);
  char *bin = join (f->tc, "bin");
  assert_int_equal (chdir (bin), 0);
  find ("rustdoc", NULL, NULL, &tc);
  ASSERT_STRV (tc.roots, f->tc);
  want = var_at ("RUSTC", f->tc, "bin/rustdoc");
  ASSERT_STRV (tc.rewrites, want);
  toolchain_clear (&tc);
  free (want);
  free (bin);
  free (path);
  free (tc2_bin);
}

static void
test_symlink_and_flat_directory (void **state)
{
  struct fixture *f = *state;
  /* a link elsewhere mounts the toolchain it points into, and names the
   * file it points to: the link itself is not in the container */
  char *link = join (f->links, "rustc");
  struct toolchain tc;
  find (link, NULL, NULL, &tc);
  ASSERT_STRV (tc.roots, f->tc);
  char *want = var_at ("RUSTC", f->tc, "bin/rustc");
  ASSERT_STRV (tc.rewrites, want);
  toolchain_clear (&tc);
  free (want);

  /* a binary not in a bin/ directory: its own directory */
  char *flat = join (f->flat, "rustc");
  find (flat, NULL, NULL, &tc);
  ASSERT_STRV (tc.roots, f->flat);
  assert_null (tc.rewrites);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (link);
  free (flat);
}

/* ---- each tool variable by a bare name, as Cargo passes it when the
 * toolchain's bin/ is on PATH without rustup (RUSTC=rustc), or as the user
 * configured it (RUSTC_WRAPPER=sccache) */

/* One variable set to a bare name: exactly one rewrite, to the file PATH
 * finds first, and the mount that makes it reachable. */
static void
assert_bare (const char *var, const char *name, const char *want_file,
             const char *want_root, const char *want_mounted_file)
{
  char *set = NULL;
  assert_true (asprintf (&set, "%s=%s", var, name) > 0);
  struct toolchain tc;
  FIND_ENV (&tc, set);
  char *want = NULL;
  assert_true (asprintf (&want, "%s=%s", var, want_file) > 0);
  ASSERT_STRV (tc.rewrites, want);
  if (want_root)
    ASSERT_STRV (tc.roots, want_root);
  else
    assert_null (tc.roots);
  if (want_mounted_file)
    ASSERT_STRV (tc.files, want_mounted_file);
  else
    assert_null (tc.files);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (want);
  free (set);
}

static void
test_bare_name_of_each_variable (void **state)
{
  struct fixture *f = *state;
  char *tc_bin = join (f->tc, "bin");
  char *home_bin = join (f->cargo_home, "bin");
  char *path = path_list (tc_bin, home_bin, f->flat, "/usr/bin");
  host_set ("PATH", path);
  char *rustc = join (f->tc, "bin/rustc");
  char *rustdoc = join (f->tc, "bin/rustdoc");
  char *cargo = join (f->tc, "bin/cargo");
  char *clippy = join (f->tc, "bin/clippy-driver");
  char *sccache = join (f->cargo_home, "bin/sccache");
  char *linker = join (f->flat, "linker");

  /* the toolchain's tools: the toolchain, whole */
  assert_bare ("RUSTC", "rustc", rustc, f->tc, NULL);
  assert_bare ("RUSTDOC", "rustdoc", rustdoc, f->tc, NULL);
  assert_bare ("CARGO", "cargo", cargo, f->tc, NULL);
  /* a wrapper installed beside credentials: the binary alone */
  assert_bare ("RUSTC_WRAPPER", "sccache", sccache, NULL, sccache);
  /* a wrapper of a Rust toolchain (lib/rustlib): that toolchain, whose
   * lib/ it loads */
  assert_bare ("RUSTC_WORKSPACE_WRAPPER", "clippy-driver", clippy, f->tc,
               NULL);
  /* a linker outside any toolchain: the binary alone */
  assert_bare ("RUSTC_LINKER", "linker", linker, NULL, linker);
  /* and the rewritten values run the tools PATH found */
  assert_root_is_sysroot (f->tc, rustc);
  assert_root_is_sysroot (f->cargo_home, sccache);

  /* all six at once: one toolchain, two files, six rewrites in Cargo's
   * order, and nothing of ~/.cargo but the wrapper */
  struct toolchain tc;
  FIND_ENV (&tc, "RUSTC=rustc", "RUSTDOC=rustdoc", "CARGO=cargo",
            "RUSTC_WRAPPER=sccache", "RUSTC_WORKSPACE_WRAPPER=clippy-driver",
            "RUSTC_LINKER=linker");
  ASSERT_STRV (tc.roots, f->tc);
  ASSERT_STRV (tc.files, sccache, linker);
  char *w[6]
      = { var_at ("RUSTC", f->tc, "bin/rustc"),
          var_at ("RUSTDOC", f->tc, "bin/rustdoc"),
          var_at ("CARGO", f->tc, "bin/cargo"),
          var_at ("RUSTC_WRAPPER", f->cargo_home, "bin/sccache"),
          var_at ("RUSTC_WORKSPACE_WRAPPER", f->tc, "bin/clippy-driver"),
          var_at ("RUSTC_LINKER", f->flat, "linker") };
  ASSERT_STRV (tc.rewrites, w[0], w[1], w[2], w[3], w[4], w[5]);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  for (size_t i = 0; i < 6; i++)
    free (w[i]);

  /* an absolute path that is the file itself needs no rewrite */
  char *set = NULL;
  assert_true (asprintf (&set, "RUSTC_WRAPPER=%s", sccache) > 0);
  FIND_ENV (&tc, set);
  ASSERT_STRV (tc.files, sccache);
  assert_null (tc.rewrites);
  assert_null (tc.roots);
  toolchain_clear (&tc);

  free (set);
  free (rustc);
  free (rustdoc);
  free (cargo);
  free (clippy);
  free (sccache);
  free (linker);
  free (path);
  free (tc_bin);
  free (home_bin);
}

static void
test_bare_names_not_found_are_left (void **state)
{
  struct fixture *f = *state;
  char *tc_bin = join (f->tc, "bin");
  host_set ("PATH", tc_bin);
  struct toolchain tc;
  FIND_ENV (&tc, "RUSTC=rustc", "RUSTC_WRAPPER=no-such-wrapper",
            "RUSTC_WORKSPACE_WRAPPER=no-such-either",
            "RUSTC_LINKER=no-such-linker");
  /* what exists is resolved, the rest left as it is, each with a note */
  ASSERT_STRV (tc.roots, f->tc);
  assert_null (tc.files);
  char *want = var_at ("RUSTC", f->tc, "bin/rustc");
  ASSERT_STRV (tc.rewrites, want);
  ASSERT_STRV (
      tc.notes,
      "RUSTC_WRAPPER='no-such-wrapper' not found on the host: not mounted",
      "RUSTC_WORKSPACE_WRAPPER='no-such-either' not found on the host: not "
      "mounted",
      "RUSTC_LINKER='no-such-linker' not found on the host: not mounted");
  toolchain_clear (&tc);
  free (want);
  free (tc_bin);
}

static void
test_bare_names_in_image_dirs_are_left (void **state)
{
  /* /usr/bin/env stands for a distro's /usr/bin/rustc or apt's
   * /usr/bin/sccache: the image has its own /usr, so the value stays
   * bare for the image's PATH, and nothing is mounted */
  host_set ("PATH", "/usr/bin:/bin");
  char *real = realpath ("/usr/bin/env", NULL);
  assert_non_null (real);
  struct toolchain tc;
  FIND_ENV (&tc, "RUSTC=env", "RUSTC_WRAPPER=env",
            "RUSTC_LINKER=/usr/bin/env");
  assert_null (tc.roots);
  assert_null (tc.files);
  assert_null (tc.rewrites);
  char *w1 = NULL, *w2 = NULL, *w3 = NULL;
  assert_true (asprintf (&w1,
                         "RUSTC='env' is '%s' on the host, in '/usr', which "
                         "the image provides: left as it is",
                         real)
               > 0);
  assert_true (asprintf (&w2,
                         "RUSTC_WRAPPER='env' is '%s' on the host, in '/usr', "
                         "which the image provides: left as it is",
                         real)
               > 0);
  assert_true (asprintf (&w3,
                         "RUSTC_LINKER='%s' lives in '/usr', which the image "
                         "provides",
                         real)
               > 0);
  ASSERT_STRV (tc.notes, w1, w2, w3);
  toolchain_clear (&tc);
  free (w1);
  free (w2);
  free (w3);
  free (real);
}

static void
test_tool_files_deduplicated (void **state)
{
  struct fixture *f = *state;
  char *home_bin = join (f->cargo_home, "bin");
  host_set ("PATH", home_bin);
  char *sccache = join (f->cargo_home, "bin/sccache");
  struct toolchain tc;
  /* both wrappers the same: one mount, two rewrites */
  FIND_ENV (&tc, "RUSTC_WRAPPER=sccache", "RUSTC_WORKSPACE_WRAPPER=sccache");
  ASSERT_STRV (tc.files, sccache);
  assert_int_equal (strv_len (tc.rewrites), 2);
  toolchain_clear (&tc);

  /* a program in a directory already mounted: nothing more */
  char *rustc = NULL, *linker = NULL;
  assert_true (asprintf (&rustc, "RUSTC=%s/rustc", f->flat) > 0);
  assert_true (asprintf (&linker, "RUSTC_LINKER=%s/linker", f->flat) > 0);
  FIND_ENV (&tc, rustc, linker);
  ASSERT_STRV (tc.roots, f->flat);
  assert_null (tc.files);
  assert_null (tc.rewrites);
  toolchain_clear (&tc);

  /* a file mounted alone, then the Rust toolchain holding it: the
   * toolchain, once */
  char *nested = NULL, *clippy = NULL;
  assert_true (
      asprintf (&nested, "RUSTC_WRAPPER=%s/lib/rustlib/x/bin/cargo", f->tc)
      > 0);
  assert_true (asprintf (&clippy, "RUSTC_LINKER=%s/bin/clippy-driver", f->tc)
               > 0);
  FIND_ENV (&tc, nested, clippy);
  ASSERT_STRV (tc.roots, f->tc);
  assert_null (tc.files);
  toolchain_clear (&tc);
  free (nested);
  free (clippy);
  free (rustc);
  free (linker);
  free (sccache);
  free (home_bin);
}

/* ---- rustup proxies */

static void
use_rustup (const struct fixture *f, const char *toolchain)
{
  host_set ("RUSTUP_HOME", f->rustup_home);
  host_set ("RUSTUP_TOOLCHAIN", toolchain);
}

static void
test_rustup_proxy_absolute (void **state)
{
  struct fixture *f = *state;
  use_rustup (f, "mytc");
  char *proxy = join (f->cargo_home, "bin/rustc");
  struct toolchain tc;
  find (proxy, NULL, NULL, &tc);
  /* the toolchain rustup would run, not ~/.cargo (rustup needs its home) */
  ASSERT_STRV (tc.roots, f->mytc);
  assert_root_is_sysroot (tc.roots[0], proxy);
  char *want = NULL;
  assert_true (asprintf (&want, "RUSTC=%s/bin/rustc", f->mytc) > 0);
  ASSERT_STRV (tc.rewrites, want);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (want);
  free (proxy);
}

static void
test_rustup_proxy_bare_names (void **state)
{
  struct fixture *f = *state;
  use_rustup (f, "mytc");
  char *bin = join (f->cargo_home, "bin");
  host_set ("PATH", bin);
  struct toolchain tc;
  find ("rustc", "rustdoc", "cargo", &tc);
  ASSERT_STRV (tc.roots, f->mytc);
  char *w1 = NULL, *w2 = NULL, *w3 = NULL;
  assert_true (asprintf (&w1, "RUSTC=%s/bin/rustc", f->mytc) > 0);
  assert_true (asprintf (&w2, "RUSTDOC=%s/bin/rustdoc", f->mytc) > 0);
  assert_true (asprintf (&w3, "CARGO=%s/bin/cargo", f->mytc) > 0);
  /* each proxy becomes the tool it stands for */
  ASSERT_STRV (tc.rewrites, w1, w2, w3);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (w1);
  free (w2);
  free (w3);
  free (bin);
}

static void
test_rustup_toolchain_override (void **state)
{
  struct fixture *f = *state;
  char *proxy = join (f->cargo_home, "bin/rustc");
  struct toolchain a, b;
  use_rustup (f, "mytc");
  find (proxy, NULL, NULL, &a);
  use_rustup (f, "other");
  find (proxy, NULL, NULL, &b);
  ASSERT_STRV (a.roots, f->mytc);
  ASSERT_STRV (b.roots, f->other);
  assert_root_is_sysroot (b.roots[0], proxy);
  char *want = NULL;
  assert_true (asprintf (&want, "RUSTC=%s/bin/rustc", f->other) > 0);
  ASSERT_STRV (b.rewrites, want);
  toolchain_clear (&a);
  toolchain_clear (&b);
  free (want);
  free (proxy);
}

/* RUSTC=value through a proxy that cannot be resolved: nothing mounted,
 * no rewrite, one note naming the variable. */
static void
assert_proxy_unresolved (const char *var, const char *value)
{
  struct toolchain tc;
  bool rustc = strcmp (var, "RUSTC") == 0;
  find (rustc ? value : NULL, rustc ? NULL : value, NULL, &tc);
  assert_null (tc.roots);
  assert_null (tc.rewrites);
  assert_int_equal (strv_len (tc.notes), 1);
  char *want = NULL;
  assert_true (asprintf (&want, "%s='%s' is a rustup proxy", var, value) > 0);
  if (strstr (tc.notes[0], want) == NULL)
    fail_msg ("note '%s' lacks '%s'", tc.notes[0], want);
  free (want);
  toolchain_clear (&tc);
}

static void
test_rustup_proxy_unresolved (void **state)
{
  struct fixture *f = *state;
  char *rustc = join (f->cargo_home, "bin/rustc");
  char *rustdoc = join (f->cargo_home, "bin/rustdoc");

  /* no toolchain named */
  host_set ("RUSTUP_HOME", f->rustup_home);
  assert_proxy_unresolved ("RUSTC", rustc);
  /* no home */
  host_set ("RUSTUP_HOME", NULL);
  host_set ("RUSTUP_TOOLCHAIN", "mytc");
  assert_proxy_unresolved ("RUSTC", rustc);
  /* a toolchain that is not installed */
  use_rustup (f, "missing");
  assert_proxy_unresolved ("RUSTC", rustc);
  /* installed, but without this tool */
  use_rustup (f, "other");
  assert_proxy_unresolved ("RUSTDOC", rustdoc);
  /* a name that climbs out of RUSTUP_HOME/toolchains is not followed, even
   * though <tmp>/tc/bin/rustc exists there */
  use_rustup (f, "../../tc");
  assert_proxy_unresolved ("RUSTC", rustc);
  free (rustc);
  free (rustdoc);
}

static void
test_rustup_proxy_wrapper (void **state)
{
  /* cargo clippy's RUSTC_WORKSPACE_WRAPPER through a proxy: the toolchain
   * rustup would run it from, whole (clippy-driver loads its lib/) */
  struct fixture *f = *state;
  use_rustup (f, "mytc");
  char *bin = join (f->cargo_home, "bin");
  host_set ("PATH", bin);
  struct toolchain tc;
  FIND_ENV (&tc, "RUSTC_WORKSPACE_WRAPPER=clippy-driver");
  ASSERT_STRV (tc.roots, f->mytc);
  assert_null (tc.files);
  char *want
      = var_at ("RUSTC_WORKSPACE_WRAPPER", f->mytc, "bin/clippy-driver");
  ASSERT_STRV (tc.rewrites, want);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  free (want);
  free (bin);
}

/* ---- what is not mounted */

static void
test_missing_tools_are_notes (void **state)
{
  struct fixture *f = *state;
  char *tc_bin = join (f->tc, "bin");
  host_set ("PATH", tc_bin);
  struct toolchain tc;
  find ("/nonexistent/rustc", "rustdoc-nope", "cargo", &tc);
  /* what exists is still mounted */
  ASSERT_STRV (tc.roots, f->tc);
  ASSERT_STRV (tc.notes,
               "RUSTC='/nonexistent/rustc' not found on the host: not mounted",
               "RUSTDOC='rustdoc-nope' not found on the host: not mounted");
  toolchain_clear (&tc);

  /* a bare name with no PATH at all */
  host_set ("PATH", NULL);
  find ("rustc", NULL, NULL, &tc);
  assert_null (tc.roots);
  ASSERT_STRV (tc.notes, "RUSTC='rustc' not found on the host: not mounted");
  toolchain_clear (&tc);
  free (tc_bin);
}

static void
test_unset_and_empty_are_silent (void **state)
{
  struct toolchain tc;
  find (NULL, NULL, NULL, &tc);
  assert_null (tc.roots);
  assert_null (tc.rewrites);
  assert_null (tc.notes);
  toolchain_clear (&tc);
  find ("", "", "", &tc);
  assert_null (tc.roots);
  assert_null (tc.rewrites);
  assert_null (tc.notes);
  toolchain_clear (&tc);
}

static void
test_system_directories_not_mounted (void **state)
{
  /* /usr/bin/env: its root would be /usr, which would hide the image's */
  char *real = realpath ("/usr/bin/env", NULL);
  assert_non_null (real);
  struct toolchain tc;
  find ("/usr/bin/env", NULL, NULL, &tc);
  assert_null (tc.roots);
  char *want = NULL;
  assert_true (
      asprintf (&want, "RUSTC='%s' lives in '/usr', which the image provides",
                real)
      > 0);
  ASSERT_STRV (tc.notes, want);
  toolchain_clear (&tc);
  free (want);
  free (real);
}

static void
test_clear (void **state)
{
  struct fixture *f = *state;
  struct toolchain tc = { 0 };
  toolchain_clear (&tc); /* empty: no-op */
  use_rustup (f, "mytc");
  char *proxy = join (f->cargo_home, "bin/rustc");
  find (proxy, "/nonexistent", NULL, &tc);
  assert_non_null (tc.roots);
  assert_non_null (tc.rewrites);
  assert_non_null (tc.notes);
  toolchain_clear (&tc);
  assert_null (tc.roots);
  assert_null (tc.rewrites);
  assert_null (tc.notes);
  toolchain_clear (&tc); /* twice: still fine */
  free (proxy);
}

/* ---- this machine's rustup, when there is one */

/* First line of a command's output, or NULL. */
static char *
first_line (const char *cmd)
{
  FILE *p = popen (cmd, "r");
  assert_non_null (p);
  char line[PATH_MAX + 64];
  char *got = fgets (line, sizeof line, p);
  int status = pclose (p);
  if (got == NULL || status != 0)
    return NULL;
  line[strcspn (line, "\n")] = '\0';
  return strdup (line);
}

static void
test_real_rustup (void **state)
{
  struct fixture *f = *state;
  /* the caller's values, not setup's */
  const char *home = getenv ("HOME");
  char *cargo_home = NULL;
  if (getenv ("CARGO_HOME"))
    cargo_home = strdup (getenv ("CARGO_HOME"));
  else if (home)
    assert_true (asprintf (&cargo_home, "%s/.cargo", home) > 0);
  char *proxy = cargo_home ? join (cargo_home, "bin/rustc") : NULL;
  char *rustup = cargo_home ? join (cargo_home, "bin/rustup") : NULL;
  char *real = proxy ? realpath (proxy, NULL) : NULL;
  const char *base = real ? strrchr (real, '/') + 1 : NULL;
  if (real == NULL || strncmp (base, "rustup", 6) != 0)
    {
      print_message ("SKIPPED test_real_rustup: '%s' is not a rustup proxy "
                     "(no rustup on this machine)\n",
                     proxy ? proxy : "$HOME/.cargo/bin/rustc");
      free (cargo_home);
      free (proxy);
      free (rustup);
      free (real);
      skip ();
    }
  /* What rustup puts in the environment of the cargo it runs, which is the
   * runner's: RUSTUP_HOME and RUSTUP_TOOLCHAIN (the active toolchain). */
  host_set ("PATH", f->saved[H_PATH]);
  host_set ("RUSTUP_HOME", f->saved[H_RUSTUP_HOME]);
  host_set ("RUSTUP_TOOLCHAIN", f->saved[H_RUSTUP_TOOLCHAIN]);
  char *cmd = NULL;
  assert_true (asprintf (&cmd, "'%s' show home", rustup) > 0);
  char *rustup_home = first_line (cmd);
  free (cmd);
  assert_true (asprintf (&cmd, "'%s' show active-toolchain", rustup) > 0);
  char *active = first_line (cmd);
  free (cmd);
  if (rustup_home == NULL || active == NULL)
    {
      print_message ("SKIPPED test_real_rustup: '%s show active-toolchain' "
                     "names no toolchain (none installed)\n",
                     rustup);
      free (rustup_home);
      free (active);
      free (cargo_home);
      free (proxy);
      free (rustup);
      free (real);
      skip ();
    }
  active[strcspn (active, " ")] = '\0'; /* "NAME (default)" */
  print_message ("real rustup: RUSTUP_HOME=%s RUSTUP_TOOLCHAIN=%s\n",
                 rustup_home, active);
  host_set ("RUSTUP_HOME", rustup_home);
  host_set ("RUSTUP_TOOLCHAIN", active);

  struct toolchain tc;
  find (proxy, NULL, NULL, &tc);
  assert_null (tc.notes);
  assert_int_equal (strv_len (tc.roots), 1);
  /* the directory mounted is the sysroot the proxied rustc reports */
  assert_root_is_sysroot (tc.roots[0], proxy);
  char *want = NULL;
  assert_true (asprintf (&want, "RUSTC=%s/bin/rustc", tc.roots[0]) > 0);
  ASSERT_STRV (tc.rewrites, want);
  /* and the rewritten RUSTC works without rustup around it */
  host_set ("RUSTUP_HOME", NULL);
  host_set ("RUSTUP_TOOLCHAIN", NULL);
  assert_root_is_sysroot (tc.roots[0], strchr (tc.rewrites[0], '=') + 1);
  toolchain_clear (&tc);

  /* bare names through PATH, as Cargo may pass them: the same toolchain */
  char *bin = join (cargo_home, "bin");
  host_set ("PATH", bin);
  host_set ("RUSTUP_HOME", rustup_home);
  host_set ("RUSTUP_TOOLCHAIN", active);
  struct toolchain bare;
  find ("rustc", NULL, "cargo", &bare);
  assert_null (bare.notes);
  assert_int_equal (strv_len (bare.roots), 1);
  assert_root_is_sysroot (bare.roots[0], proxy);
  assert_int_equal (strv_len (bare.rewrites), 2);
  toolchain_clear (&bare);

  free (bin);
  free (want);
  free (rustup_home);
  free (active);
  free (cargo_home);
  free (proxy);
  free (rustup);
  free (real);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_absolute_rustc_mounts_its_toolchain),
    T (test_one_toolchain_one_root),
    T (test_two_toolchains_two_roots),
    T (test_bare_name_searches_host_path),
    T (test_relative_name_with_slash_is_not_searched),
    T (test_symlink_and_flat_directory),
    T (test_bare_name_of_each_variable),
    T (test_bare_names_not_found_are_left),
    T (test_bare_names_in_image_dirs_are_left),
    T (test_tool_files_deduplicated),
    T (test_rustup_proxy_absolute),
    T (test_rustup_proxy_bare_names),
    T (test_rustup_toolchain_override),
    T (test_rustup_proxy_unresolved),
    T (test_rustup_proxy_wrapper),
    T (test_missing_tools_are_notes),
    T (test_unset_and_empty_are_silent),
    T (test_system_directories_not_mounted),
    T (test_clear),
    T (test_real_rustup),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
