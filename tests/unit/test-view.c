/* test-view.c: what a build script sees inside its container, from a
 * view_input built from fixed host paths shaped like a Cargo run:
 *   /home/u/proj                                   package (manifest dir)
 *   /home/u/proj/target/debug/build                build dir
 *   .../build/proj-abc/out                         OUT_DIR
 *   .../build/proj-def/build-script-build          the script
 *   .../build/foo-123/out/include                  a dependency's DEP_*
 *   /home/u/.rustup/toolchains/stable              the toolchain
 * view_build touches no file, so the paths need not exist.  Checked: the
 * mounts (system, image, init, package read-only or overlay, OUT_DIR the
 * only writable bind, toolchains, policy mounts, the jobserver fifo), the
 * environment (filtering, image Env, toolchain rewrites, PATH, HOME, and
 * the /cargo/... rewriting of canonical mode), argv and cwd, and the path
 * mapping both ways: view_map_value into the container, the view's pairs
 * fed to the directive mapping back out. */
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

#include "run/directives.h"
#include "run/envfilter.h"
#include "run/view.h"
#include "util/error.h"
#include "util/strv.h"

#define PKG "/home/u/proj"
#define TARGET_DIR PKG "/target"
#define BUILD TARGET_DIR "/debug/build"
#define OUT BUILD "/proj-abc/out"
#define SCRIPT BUILD "/proj-def/build-script-build"
#define DEP_OUT BUILD "/foo-123/out"
#define TC "/home/u/.rustup/toolchains/stable"
#define TC2 "/home/u/.rustup/toolchains/nightly"
#define INIT "/usr/libexec/oci-host-runner/ohr-init"
#define IMAGE_PATH "/usr/local/bin:/usr/bin:/bin"
/* canonical: Cargo's target dir at /cargo/target, OUT_DIR as deep below */
#define C_BUILD LAYOUT_CARGO_TARGET "/debug/build"
#define C_OUT C_BUILD "/proj-abc/out"

struct fixture
{
  struct run_context ctx;
  struct image image;
  struct toolchain tc;
  struct jobserver js;
  char **envp;
  char **extra;
  struct view_input in;
  struct view view;
};

static char *
dup (const char *s)
{
  char *p = strdup (s);
  assert_non_null (p);
  return p;
}

static void
push (char ***v, const char *s)
{
  assert_int_equal (strv_push (v, s), 0);
}

static int
setup (void **state)
{
  struct fixture *f = calloc (1, sizeof *f);
  assert_non_null (f);
  f->ctx.script = dup (SCRIPT);
  f->ctx.out_dir = dup (OUT);
  f->ctx.manifest_dir = dup (PKG);
  f->ctx.build_dir = dup (BUILD);
  f->ctx.target_dir = dup (TARGET_DIR);
  f->ctx.cwd = dup (PKG);
  f->ctx.package = dup ("proj 0.1.0");
  push (&f->ctx.args, "--arg");

  ohr_error_t err = NULL;
  assert_int_equal (mounts_add_bind (&f->image.binds, "/etc/resolv.conf",
                                     "/etc/resolv.conf", false, false, &err),
                    0);
  push (&f->image.env, "PATH=" IMAGE_PATH);
  push (&f->image.env, "LANG=C.UTF-8");
  push (&f->image.env, "OUT_DIR=/image/out"); /* Cargo's must win */

  push (&f->tc.roots, TC);
  f->js.read_fd = f->js.write_fd = -1;

  push (&f->envp, "OUT_DIR=" OUT);
  push (&f->envp, "CARGO_MANIFEST_DIR=" PKG);
  push (&f->envp, "CARGO_PKG_NAME=proj");
  push (&f->envp, "RUSTC=" TC "/bin/rustc");
  push (&f->envp, "DEP_FOO_INCLUDE=" DEP_OUT "/include");
  push (&f->envp, "TARGET=x86_64-unknown-linux-gnu");
  push (&f->envp, "HOME=/root");
  push (&f->envp, "PATH=/host/bin:/usr/bin");
  push (&f->envp, "SSH_AUTH_SOCK=/tmp/ssh-agent");
  push (&f->envp, "CARGO_REGISTRY_TOKEN=secret");
  push (&f->extra, "MY_SETTING=1");

  f->in = (struct view_input){
    .ctx = &f->ctx,
    .image = &f->image,
    .toolchain = &f->tc,
    .jobserver = &f->js,
    .envp = f->envp,
    .extra_env = f->extra,
    .init_path = INIT,
    .network = NETWORK_NONE,
    .rootless = false,
    .paths = PATHS_IDENTITY,
  };
  *state = f;
  return 0;
}

static int
teardown (void **state)
{
  struct fixture *f = *state;
  view_clear (&f->view);
  context_clear (&f->ctx);
  mounts_free (&f->image.binds);
  strv_free (f->image.env);
  toolchain_clear (&f->tc);
  jobserver_clear (&f->js);
  strv_free (f->envp);
  strv_free (f->extra);
  free (f);
  return 0;
}

static void
build (struct fixture *f)
{
  ohr_error_t err = NULL;
  view_clear (&f->view);
  int r = view_build (&f->in, &f->view, &err);
  if (r < 0)
    fail_msg ("view_build: %s", err ? err->msg : "(no message)");
  assert_null (err);
}

static void
dump_mounts (const struct view *v)
{
  for (size_t i = 0; i < v->mounts.n; i++)
    print_message ("  mount %s (%s from %s)\n", v->mounts.v[i].destination,
                   v->mounts.v[i].type, v->mounts.v[i].source);
}

/* The mount at dest, which must exist, with this type and source. */
static const struct ohr_mount *
mount_at (const struct view *v, const char *dest, const char *type,
          const char *source)
{
  const struct ohr_mount *m = mounts_find (&v->mounts, dest);
  if (m == NULL)
    {
      dump_mounts (v);
      fail_msg ("no mount at '%s'", dest);
    }
  assert_string_equal (m->type, type);
  assert_string_equal (m->source, source);
  return m;
}

static size_t
index_of (const struct view *v, const char *dest)
{
  const struct ohr_mount *m = mounts_find (&v->mounts, dest);
  assert_non_null (m);
  return (size_t)(m - v->mounts.v);
}

static void
assert_opt (const struct ohr_mount *m, const char *opt, bool present)
{
  if (strv_contains (m->options, opt) != present)
    fail_msg ("mount '%s': option '%s' %s", m->destination, opt,
              present ? "missing" : "present");
}

/* A read-only bind of source at dest. */
static void
assert_ro_bind (const struct view *v, const char *dest, const char *source)
{
  const struct ohr_mount *m = mount_at (v, dest, "bind", source);
  assert_opt (m, "ro", true);
  assert_opt (m, "rw", false);
  assert_opt (m, "nosuid", true);
  assert_opt (m, "nodev", true);
}

static void
assert_env (const struct view *v, const char *name, const char *value)
{
  const char *got = envfilter_get (v->env, name);
  if (value == NULL && got != NULL)
    fail_msg ("%s='%s' should not be in the environment", name, got);
  if (value == NULL)
    return;
  if (got == NULL)
    fail_msg ("%s missing from the environment", name);
  assert_string_equal (got, value);
}

/* Invariants of every view: one mount per destination, parents before
 * their children, OUT_DIR and the jobserver fifo the only writable binds,
 * the environment sorted by name. */
static void
assert_invariants (const struct fixture *f)
{
  const struct view *v = &f->view;
  for (size_t i = 0; i < v->mounts.n; i++)
    {
      const struct ohr_mount *m = &v->mounts.v[i];
      for (size_t j = 0; j < i; j++)
        {
          const char *d = v->mounts.v[j].destination;
          size_t n = strlen (m->destination);
          if (strcmp (d, m->destination) == 0)
            fail_msg ("two mounts at '%s'", d);
          /* no earlier mount lies below this one */
          if (strncmp (d, m->destination, n) == 0 && d[n] == '/')
            fail_msg ("'%s' is mounted before its parent '%s'", d,
                      m->destination);
        }
      if (strcmp (m->type, "bind") == 0 && !strv_contains (m->options, "ro"))
        {
          bool allowed
              = strcmp (m->source, f->ctx.out_dir) == 0
                || (f->js.fifo && strcmp (m->source, f->js.fifo) == 0);
          if (!allowed)
            fail_msg ("writable bind of '%s' at '%s'", m->source,
                      m->destination);
        }
    }
  for (size_t i = 1; v->env && v->env[i]; i++)
    {
      size_t a = strcspn (v->env[i - 1], "="), b = strcspn (v->env[i], "=");
      int c = strncmp (v->env[i - 1], v->env[i], a < b ? a : b);
      if (c > 0 || (c == 0 && a >= b))
        fail_msg ("environment not sorted: '%s' before '%s'", v->env[i - 1],
                  v->env[i]);
    }
}

static void
assert_map (const struct view *v, const char *value, const char *want)
{
  char *got = view_map_value (v, value);
  assert_non_null (got);
  if (strcmp (got, want) != 0)
    fail_msg ("map '%s': got '%s', want '%s'", value, got, want);
  free (got);
}

/* The directive line comes back out as want, with no note. */
static void
assert_maps_back (const struct directive_pathmap *pm, const char *line,
                  const char *want)
{
  char *back = NULL;
  size_t back_len = 0;
  ohr_error_t err = NULL;
  struct directive_notes notes = { 0 };
  assert_int_equal (directive_map_line (pm, line, strlen (line), &back,
                                        &back_len, &notes, &err),
                    1);
  assert_string_equal (back, want);
  assert_int_equal (notes.n, 0);
  directive_notes_clear (&notes);
  free (back);
}

/* ---- identity paths: inside is outside */

static void
test_identity_mounts (void **state)
{
  struct fixture *f = *state;
  build (f);
  const struct view *v = &f->view;
  assert_invariants (f);

  mount_at (v, "/proc", "proc", "proc");
  mount_at (v, "/dev", "tmpfs", "tmpfs");
  assert_opt (mount_at (v, "/dev/pts", "devpts", "devpts"), "gid=5", true);
  mount_at (v, "/dev/shm", "tmpfs", "shm");
  mount_at (v, "/dev/mqueue", "mqueue", "mqueue");
  assert_opt (mount_at (v, "/sys", "sysfs", "sysfs"), "ro", true);
  mount_at (v, "/tmp", "tmpfs", "tmpfs");
  assert_opt (mount_at (v, LAYOUT_HOME, "tmpfs", "tmpfs"), "mode=700", true);

  assert_ro_bind (v, "/etc/resolv.conf", "/etc/resolv.conf"); /* image */
  assert_ro_bind (v, LAYOUT_INIT_PATH, INIT);
  assert_ro_bind (v, PKG, PKG);
  assert_ro_bind (v, BUILD, BUILD); /* dependencies' OUT_DIRs, the script */
  assert_ro_bind (v, TC, TC);
  const struct ohr_mount *out = mount_at (v, OUT, "bind", OUT);
  assert_opt (out, "rw", true);
  assert_opt (out, "ro", false);

  /* the script is reached through the build dir, not mounted again */
  assert_null (mounts_find (&v->mounts, SCRIPT));
  const struct ohr_mount *covering = mounts_covering (&v->mounts, SCRIPT);
  assert_non_null (covering);
  assert_string_equal (covering->destination, BUILD);
  /* nothing at /cargo in identity mode */
  for (size_t i = 0; i < v->mounts.n; i++)
    if (strncmp (v->mounts.v[i].destination, LAYOUT_CARGO_ROOT, 6) == 0)
      fail_msg ("identity view mounts '%s'", v->mounts.v[i].destination);

  /* the package, then the build dir inside it, then OUT_DIR inside that */
  assert_true (index_of (v, PKG) < index_of (v, BUILD));
  assert_true (index_of (v, BUILD) < index_of (v, OUT));
  assert_true (index_of (v, "/dev") < index_of (v, "/dev/pts"));
}

static void
test_identity_process (void **state)
{
  struct fixture *f = *state;
  build (f);
  const struct view *v = &f->view;
  assert_int_equal (strv_len (v->args), 3);
  assert_string_equal (v->args[0], LAYOUT_INIT_PATH);
  assert_string_equal (v->args[1], SCRIPT);
  assert_string_equal (v->args[2], "--arg");
  assert_string_equal (v->cwd, PKG);

  assert_env (v, "OUT_DIR", OUT); /* not the image's */
  assert_env (v, "CARGO_MANIFEST_DIR", PKG);
  assert_env (v, "CARGO_PKG_NAME", "proj");
  assert_env (v, "RUSTC", TC "/bin/rustc");
  assert_env (v, "DEP_FOO_INCLUDE", DEP_OUT "/include");
  assert_env (v, "TARGET", "x86_64-unknown-linux-gnu");
  assert_env (v, "LANG", "C.UTF-8");   /* image Env */
  assert_env (v, "MY_SETTING", "1");   /* --env */
  assert_env (v, "HOME", LAYOUT_HOME); /* not the host's */
  /* RUSTC's directory first, for scripts that run plain `rustc` */
  assert_env (v, "PATH", TC "/bin:" IMAGE_PATH);
  assert_env (v, "SSH_AUTH_SOCK", NULL);
  assert_env (v, "CARGO_REGISTRY_TOKEN", NULL);

  /* every pair maps a path to itself */
  assert_true (v->n_pairs >= 4);
  for (size_t i = 0; i < v->n_pairs; i++)
    assert_string_equal (v->pairs[i].host, v->pairs[i].container);
  assert_map (v, OUT "/gen.rs", OUT "/gen.rs");
  assert_map (v, "a:" PKG ":" TC "/lib", "a:" PKG ":" TC "/lib");
}

static void
test_identity_without_build_dir (void **state)
{
  /* OUT_DIR not shaped like <target>/<profile>/build/<pkg>/out: no build
   * dir, so the script gets its own read-only mount */
  struct fixture *f = *state;
  free (f->ctx.build_dir);
  f->ctx.build_dir = NULL;
  build (f);
  assert_invariants (f);
  assert_ro_bind (&f->view, SCRIPT, SCRIPT);
  assert_null (mounts_find (&f->view.mounts, BUILD));
  assert_string_equal (f->view.args[1], SCRIPT);
}

/* ---- canonical paths: /cargo/... */

static void
test_canonical_mounts (void **state)
{
  struct fixture *f = *state;
  f->in.paths = PATHS_CANONICAL;
  build (f);
  const struct view *v = &f->view;
  assert_invariants (f);

  const struct ohr_mount *root
      = mount_at (v, LAYOUT_CARGO_ROOT, "tmpfs", "tmpfs");
  assert_opt (root, "nosuid", true);
  assert_ro_bind (v, LAYOUT_CARGO_SRC, PKG);
  assert_ro_bind (v, C_BUILD, BUILD);
  assert_ro_bind (v, LAYOUT_CARGO_SCRIPT, SCRIPT);
  assert_ro_bind (v, LAYOUT_CARGO_TOOLCHAIN, TC);
  const struct ohr_mount *out = mount_at (v, C_OUT, "bind", OUT);
  assert_opt (out, "rw", true);
  assert_ro_bind (v, LAYOUT_INIT_PATH, INIT);
  /* OUT_DIR in the build dir, as with Cargo: mounted after it */
  assert_true (index_of (v, C_BUILD) < index_of (v, C_OUT));

  /* no host path appears inside, and nothing of the target dir above the
   * build dir is mounted */
  const char *host[] = { PKG, BUILD, OUT, SCRIPT, TC, TARGET_DIR };
  for (size_t i = 0; i < sizeof host / sizeof *host; i++)
    assert_null (mounts_find (&v->mounts, host[i]));
  assert_null (mounts_find (&v->mounts, LAYOUT_CARGO_TARGET));
  assert_null (mounts_find (&v->mounts, LAYOUT_CARGO_TARGET "/debug"));
  for (size_t i = 0; i < v->mounts.n; i++)
    if (strcmp (v->mounts.v[i].source, TARGET_DIR) == 0
        || strcmp (v->mounts.v[i].source, TARGET_DIR "/debug") == 0)
      fail_msg ("the target dir is mounted at '%s'",
                v->mounts.v[i].destination);
  assert_true (index_of (v, LAYOUT_CARGO_ROOT)
               < index_of (v, LAYOUT_CARGO_SRC));
  assert_true (index_of (v, LAYOUT_CARGO_ROOT)
               < index_of (v, LAYOUT_CARGO_SCRIPT));
}

static void
test_canonical_process (void **state)
{
  struct fixture *f = *state;
  f->in.paths = PATHS_CANONICAL;
  build (f);
  const struct view *v = &f->view;
  assert_string_equal (v->args[0], LAYOUT_INIT_PATH);
  assert_string_equal (v->args[1], LAYOUT_CARGO_SCRIPT);
  assert_string_equal (v->args[2], "--arg");
  assert_string_equal (v->cwd, LAYOUT_CARGO_SRC);

  assert_env (v, "OUT_DIR", C_OUT);
  assert_env (v, "CARGO_MANIFEST_DIR", LAYOUT_CARGO_SRC);
  /* a dependency's OUT_DIR is below the build dir, not ours */
  assert_env (v, "DEP_FOO_INCLUDE", C_BUILD "/foo-123/out/include");
  assert_env (v, "RUSTC", LAYOUT_CARGO_TOOLCHAIN "/bin/rustc");
  assert_env (v, "PATH", LAYOUT_CARGO_TOOLCHAIN "/bin:" IMAGE_PATH);
  assert_env (v, "HOME", LAYOUT_HOME);
  assert_env (v, "CARGO_PKG_NAME", "proj");
  assert_env (v, "TARGET", "x86_64-unknown-linux-gnu");
  /* no host path is left in any value */
  for (size_t i = 0; v->env[i]; i++)
    if (strstr (v->env[i], "/home/u"))
      fail_msg ("host path left in '%s'", v->env[i]);
}

static void
test_canonical_map_value (void **state)
{
  struct fixture *f = *state;
  f->in.paths = PATHS_CANONICAL;
  build (f);
  const struct view *v = &f->view;
  assert_map (v, PKG, LAYOUT_CARGO_SRC);
  assert_map (v, PKG "/", LAYOUT_CARGO_SRC "/");
  assert_map (v, PKG "/src/lib.rs", LAYOUT_CARGO_SRC "/src/lib.rs");
  /* the deepest pair wins: OUT_DIR lies in the build dir in the package */
  assert_map (v, OUT "/gen.rs", C_OUT "/gen.rs");
  assert_map (v, DEP_OUT, C_BUILD "/foo-123/out");
  /* the target dir above the build dir is not shown: values naming it
   * stay host paths (under the package's pair here) */
  assert_map (v, TARGET_DIR "/debug/deps",
              LAYOUT_CARGO_SRC "/target/debug/deps");
  assert_map (v, PKG "/target/debug/other",
              LAYOUT_CARGO_SRC "/target/debug/other");
  assert_map (v, SCRIPT, LAYOUT_CARGO_SCRIPT);
  assert_map (v, TC "/lib/librustc.so",
              LAYOUT_CARGO_TOOLCHAIN "/lib/librustc.so");
  /* only at component boundaries */
  assert_map (v, PKG "X/a", PKG "X/a");
  assert_map (v, PKG ".bak", PKG ".bak");
  assert_map (v, "x" PKG, "x" PKG); /* a relative path */
  assert_map (v, "/home/u", "/home/u");
  /* every path in a list or after an option's '=' */
  assert_map (v, PKG "/a:" OUT ":/usr/lib",
              LAYOUT_CARGO_SRC "/a:" C_OUT ":/usr/lib");
  assert_map (v, "--sysroot=" TC " -x " OUT,
              "--sysroot=" LAYOUT_CARGO_TOOLCHAIN " -x " C_OUT);
  assert_map (v, "", "");
  assert_map (v, "no paths here", "no paths here");
}

static void
test_map_both_ways (void **state)
{
  /* Into the container with view_map_value; back out with the directive
   * mapping built from the view's pairs, as run mode does: each host path
   * comes back unchanged. */
  struct fixture *f = *state;
  f->in.paths = PATHS_CANONICAL;
  push (&f->tc.roots, TC2);
  build (f);
  const struct view *v = &f->view;
  struct directive_map *maps = NULL;
  size_t n_maps = 0;
  ohr_error_t err = NULL;
  assert_int_equal (view_directive_maps (v, &maps, &n_maps, &err), 0);
  assert_int_equal (n_maps, v->n_pairs + 1); /* and the target dir */
  struct directive_pathmap *pm = NULL;
  static const char *const allowed[] = { "/usr" };
  assert_int_equal (
      directive_pathmap_new (maps, n_maps, allowed, 1, &pm, &err), 0);

  static const char *const host[] = {
    PKG,          PKG "/build.rs", OUT,           OUT "/gen/x.rs",
    DEP_OUT "/i", SCRIPT,          TC "/lib/x.a", TC2 "/lib/y.a",
  };
  for (size_t i = 0; i < sizeof host / sizeof *host; i++)
    {
      char *inside = view_map_value (v, host[i]);
      assert_non_null (inside);
      if (strncmp (inside, LAYOUT_CARGO_ROOT "/", 6) != 0)
        fail_msg ("'%s' maps to '%s', not under /cargo", host[i], inside);
      char *line = NULL, *want = NULL;
      assert_true (asprintf (&line, "cargo::rerun-if-changed=%s", inside) > 0);
      assert_true (asprintf (&want, "cargo::rerun-if-changed=%s", host[i])
                   > 0);
      assert_maps_back (pm, line, want);
      free (line);
      free (want);
      free (inside);
    }
  /* a path the script names above OUT_DIR's mounts (cbindgen's
   * OUT_DIR/../../../cbindgen) is the target dir's on the host, as Cargo
   * would have seen it natively; no note: it is no path outside */
  static const char *const target_line[][2] = {
    { "cargo::rerun-if-changed=" LAYOUT_CARGO_TARGET "/debug/cbindgen",
      "cargo::rerun-if-changed=" TARGET_DIR "/debug/cbindgen" },
    { "cargo::rustc-link-search=" LAYOUT_CARGO_TARGET "/debug/deps",
      "cargo::rustc-link-search=" TARGET_DIR "/debug/deps" },
    { "cargo::rerun-if-changed=" C_OUT "/x", /* OUT_DIR's own pair */
      "cargo::rerun-if-changed=" OUT "/x" },
  };
  for (size_t i = 0; i < sizeof target_line / sizeof *target_line; i++)
    assert_maps_back (pm, target_line[i][0], target_line[i][1]);
  /* the second toolchain has its own place */
  assert_map (v, TC2, LAYOUT_CARGO_TOOLCHAIN "-2");
  assert_ro_bind (v, LAYOUT_CARGO_TOOLCHAIN "-2", TC2);
  directive_pathmap_free (pm);
  free (maps);
}

/* Cargo's depth below the target dir, whatever the target dir's path:
 * a cross build keeps its <triple> directory. */
static void
test_canonical_cross (void **state)
{
  struct fixture *f = *state;
#define XBUILD TARGET_DIR "/aarch64-unknown-linux-gnu/release/build"
#define C_XBUILD LAYOUT_CARGO_TARGET "/aarch64-unknown-linux-gnu/release/build"
  free (f->ctx.build_dir);
  free (f->ctx.out_dir);
  f->ctx.build_dir = dup (XBUILD);
  f->ctx.out_dir = dup (XBUILD "/proj-abc/out");
  strv_free (f->envp);
  f->envp = NULL;
  push (&f->envp, "OUT_DIR=" XBUILD "/proj-abc/out");
  push (&f->envp, "DEP_FOO_INCLUDE=" XBUILD "/foo-1/out/include");
  f->in.envp = f->envp;
  f->in.paths = PATHS_CANONICAL;
  build (f);
  assert_invariants (f);
  assert_env (&f->view, "OUT_DIR", C_XBUILD "/proj-abc/out");
  assert_env (&f->view, "DEP_FOO_INCLUDE", C_XBUILD "/foo-1/out/include");
  assert_ro_bind (&f->view, C_XBUILD, XBUILD);
  assert_opt (mount_at (&f->view, C_XBUILD "/proj-abc/out", "bind",
                        XBUILD "/proj-abc/out"),
              "rw", true);
#undef XBUILD
#undef C_XBUILD
}

/* An OUT_DIR without Cargo's shape (a runner called by hand): one place
 * for it, no build dir, no target dir. */
static void
test_canonical_unshaped (void **state)
{
  struct fixture *f = *state;
  f->in.paths = PATHS_CANONICAL;
  /* a build dir without a target dir (the context gives both or
   * neither) has no place: not mounted, nothing twice at OUT_DIR's */
  free (f->ctx.target_dir);
  f->ctx.target_dir = NULL;
  build (f);
  assert_invariants (f);
  size_t at_out = 0;
  for (size_t i = 0; i < f->view.mounts.n; i++)
    at_out
        += strcmp (f->view.mounts.v[i].destination, LAYOUT_CARGO_OUT_UNSHAPED)
           == 0;
  assert_int_equal (at_out, 1);
  assert_null (mounts_find (&f->view.mounts, C_BUILD));

  free (f->ctx.build_dir);
  f->ctx.build_dir = NULL;
  build (f);
  assert_invariants (f);
  assert_env (&f->view, "OUT_DIR", LAYOUT_CARGO_OUT_UNSHAPED);
  assert_opt (mount_at (&f->view, LAYOUT_CARGO_OUT_UNSHAPED, "bind", OUT),
              "rw", true);
  assert_ro_bind (&f->view, LAYOUT_CARGO_SCRIPT, SCRIPT);
  assert_null (mounts_find (&f->view.mounts, C_BUILD));
  assert_null (f->view.target.host);
  struct directive_map *maps = NULL;
  size_t n = 0;
  ohr_error_t err = NULL;
  assert_int_equal (view_directive_maps (&f->view, &maps, &n, &err), 0);
  assert_int_equal (n, f->view.n_pairs);
  free (maps);
}

/* What generated files must not name, and which directories of the view
 * are its own (no policy mount is suggested there). */
static void
test_generated_prefixes_and_own_dirs (void **state)
{
  struct fixture *f = *state;
  f->in.paths = PATHS_CANONICAL;
  build (f);
  char **p = NULL;
  ohr_error_t err = NULL;
  assert_int_equal (view_generated_prefixes (&f->view, &p, &err), 0);
  assert_true (strv_contains (p, LAYOUT_CARGO_SRC));
  assert_true (strv_contains (p, C_OUT));
  assert_true (strv_contains (p, C_BUILD));
  assert_false (strv_contains (p, LAYOUT_CARGO_SCRIPT));
  assert_false (strv_contains (p, LAYOUT_CARGO_TOOLCHAIN));
  /* the target dir last: a path under OUT_DIR is named as OUT_DIR's */
  size_t n = strv_len (p);
  assert_string_equal (p[n - 1], LAYOUT_CARGO_TARGET);
  for (size_t i = 0; i + 1 < n; i++)
    if (strcmp (p[i], C_OUT) == 0)
      break;
    else
      assert_string_not_equal (p[i], C_BUILD);
  strv_free (p);

  static const char *const own[] = { "/",
                                     LAYOUT_CARGO_ROOT,
                                     LAYOUT_CARGO_TARGET,
                                     LAYOUT_CARGO_TARGET "/debug",
                                     C_BUILD,
                                     "/cargo/bin" };
  for (size_t i = 0; i < sizeof own / sizeof *own; i++)
    if (!view_is_own_dir (&f->view, own[i]))
      fail_msg ("'%s' is a directory of the view", own[i]);
  static const char *const not_own[] = { C_OUT,
                                         LAYOUT_CARGO_SRC,
                                         LAYOUT_CARGO_SRC "/x",
                                         "/cargo/proto",
                                         LAYOUT_CARGO_TARGET "/release",
                                         "/home/u" };
  for (size_t i = 0; i < sizeof not_own / sizeof *not_own; i++)
    if (view_is_own_dir (&f->view, not_own[i]))
      fail_msg ("'%s' is not a directory of the view", not_own[i]);
}

/* ---- inputs that change the view */

static void
test_toolchain_rewrites_and_path (void **state)
{
  struct fixture *f = *state;
  /* RUSTC was a rustup proxy: the toolchain module names the real one */
  strv_free (f->envp);
  f->envp = NULL;
  push (&f->envp, "OUT_DIR=" OUT);
  push (&f->envp, "RUSTC=/home/u/.cargo/bin/rustc");
  push (&f->tc.rewrites, "RUSTC=" TC "/bin/rustc");
  f->in.envp = f->envp;
  build (f);
  assert_env (&f->view, "RUSTC", TC "/bin/rustc");
  assert_env (&f->view, "PATH", TC "/bin:" IMAGE_PATH);
  f->in.paths = PATHS_CANONICAL;
  build (f);
  assert_env (&f->view, "RUSTC", LAYOUT_CARGO_TOOLCHAIN "/bin/rustc");

  /* a bare RUSTC adds nothing to PATH; an image without PATH gets the
   * usual one */
  strv_free (f->tc.rewrites);
  f->tc.rewrites = NULL;
  strv_free (f->envp);
  f->envp = NULL;
  push (&f->envp, "RUSTC=rustc");
  f->in.envp = f->envp;
  build (f);
  assert_env (&f->view, "RUSTC", "rustc");
  assert_env (&f->view, "PATH", IMAGE_PATH);
  strv_free (f->image.env);
  f->image.env = NULL;
  build (f);
  assert_env (&f->view, "PATH",
              "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
}

/* A wrapper mounted alone (toolchain.c: not part of a Rust toolchain):
 * its own read-only bind, keeping its name, after the toolchains in
 * canonical mode; the variable naming it follows. */
#define WRAPPER "/home/u/.cargo/bin/sccache"
static void
test_tool_files (void **state)
{
  struct fixture *f = *state;
  strv_free (f->envp);
  f->envp = NULL;
  push (&f->envp, "OUT_DIR=" OUT);
  push (&f->envp, "RUSTC=rustc");
  push (&f->envp, "RUSTC_WRAPPER=sccache");
  f->in.envp = f->envp;
  push (&f->tc.roots, TC2);
  push (&f->tc.files, WRAPPER);
  push (&f->tc.rewrites, "RUSTC=" TC "/bin/rustc");
  push (&f->tc.rewrites, "RUSTC_WRAPPER=" WRAPPER);

  build (f);
  assert_invariants (f);
  assert_ro_bind (&f->view, WRAPPER, WRAPPER);
  assert_env (&f->view, "RUSTC_WRAPPER", WRAPPER);
  /* not its directory: ~/.cargo holds credentials */
  assert_null (mounts_find (&f->view.mounts, "/home/u/.cargo/bin"));
  assert_null (mounts_find (&f->view.mounts, "/home/u/.cargo"));

  f->in.paths = PATHS_CANONICAL;
  build (f);
  assert_invariants (f);
  /* two toolchains, then the file: -3, named as on the host */
  assert_ro_bind (&f->view, LAYOUT_CARGO_TOOLCHAIN "-3/sccache", WRAPPER);
  assert_env (&f->view, "RUSTC_WRAPPER", LAYOUT_CARGO_TOOLCHAIN "-3/sccache");
  assert_env (&f->view, "RUSTC", LAYOUT_CARGO_TOOLCHAIN "/bin/rustc");
  assert_env (&f->view, "PATH", LAYOUT_CARGO_TOOLCHAIN "/bin:" IMAGE_PATH);
  assert_map (&f->view, WRAPPER, LAYOUT_CARGO_TOOLCHAIN "-3/sccache");
  assert_null (mounts_find (&f->view.mounts, WRAPPER));

  /* without a toolchain mounted, the first file is -2, never -1 */
  strv_free (f->tc.roots);
  f->tc.roots = NULL;
  push (&f->tc.files, "/opt/tools/ld-wrapper");
  build (f);
  assert_invariants (f);
  assert_ro_bind (&f->view, LAYOUT_CARGO_TOOLCHAIN "-2/sccache", WRAPPER);
  assert_ro_bind (&f->view, LAYOUT_CARGO_TOOLCHAIN "-3/ld-wrapper",
                  "/opt/tools/ld-wrapper");
}

static void
test_source_overlay (void **state)
{
  struct fixture *f = *state;
  f->in.source_upper = "/run/ohr/bundles/b1/source-upper";
  f->in.source_work = "/run/ohr/bundles/b1/source-work";
  for (int canonical = 0; canonical < 2; canonical++)
    {
      f->in.paths = canonical ? PATHS_CANONICAL : PATHS_IDENTITY;
      build (f);
      assert_invariants (f);
      const struct ohr_mount *m = mount_at (
          &f->view, canonical ? LAYOUT_CARGO_SRC : PKG, "overlay", "overlay");
      assert_opt (m, "lowerdir=" PKG, true);
      assert_opt (m, "upperdir=/run/ohr/bundles/b1/source-upper", true);
      assert_opt (m, "workdir=/run/ohr/bundles/b1/source-work", true);
      assert_opt (m, "nosuid", true);
      assert_opt (m, "nodev", true);
      /* OUT_DIR stays a plain writable bind */
      assert_opt (mount_at (&f->view, canonical ? C_OUT : OUT, "bind", OUT),
                  "rw", true);
    }
}

static void
test_rootless_and_host_proc (void **state)
{
  struct fixture *f = *state;
  f->in.rootless = true;
  f->in.network = NETWORK_NONE;
  build (f);
  assert_invariants (f);
  /* no gid=5 (no such group mapped); sysfs in our own netns */
  assert_opt (mount_at (&f->view, "/dev/pts", "devpts", "devpts"), "gid=5",
              false);
  mount_at (&f->view, "/sys", "sysfs", "sysfs");

  /* the host's network namespace: the host's /sys, read-only */
  f->in.network = NETWORK_HOST;
  build (f);
  const struct ohr_mount *sys = mount_at (&f->view, "/sys", "bind", "/sys");
  assert_opt (sys, "rbind", true);
  assert_opt (sys, "ro", true);

  /* root with the host network still mounts its own sysfs */
  f->in.rootless = false;
  build (f);
  mount_at (&f->view, "/sys", "sysfs", "sysfs");

  f->in.host_proc = true;
  build (f);
  const struct ohr_mount *proc = mount_at (&f->view, "/proc", "bind", "/proc");
  assert_opt (proc, "ro", true);
  assert_opt (proc, "rbind", true);
}

static void
test_policy_mounts_and_jobserver (void **state)
{
  struct fixture *f = *state;
  struct policy_mount pm[] = { { .source = (char *)"/opt/sdk",
                                 .destination = (char *)"/opt/sdk" } };
  f->in.extra_mounts = pm;
  f->in.n_extra_mounts = 1;
  f->js.fifo = dup ("/tmp/cargo-jobserver-1");
  f->js.makeflags = dup ("-j4 --jobserver-auth=fifo:/tmp/cargo-jobserver-1");
  push (&f->envp, "CARGO_MAKEFLAGS=-j4 --jobserver-fds=3,4");
  f->in.envp = f->envp;
  build (f);
  assert_invariants (f);
  const struct ohr_mount *sdk
      = mount_at (&f->view, "/opt/sdk", "bind", "/opt/sdk");
  assert_opt (sdk, "rbind", true);
  assert_opt (sdk, "ro", true);
  const struct ohr_mount *fifo = mount_at (&f->view, "/tmp/cargo-jobserver-1",
                                           "bind", "/tmp/cargo-jobserver-1");
  assert_opt (fifo, "rw", true);
  /* the jobserver's rewritten flags replace Cargo's */
  assert_env (&f->view, "CARGO_MAKEFLAGS",
              "-j4 --jobserver-auth=fifo:/tmp/cargo-jobserver-1");
}

/* The workspace Cargo builds, for a registry crate's script: named
 * /cargo/workspace in values, mounted nowhere, mapped back in directives;
 * deeper pairs (OUT_DIR, a toolchain, a policy mount and the jobserver's
 * fifo below the workspace) win; the package's own directory stays at
 * /cargo/src. */
#define REG "/usr/share/cargo/registry/foo-1.0.0"
#define FLAGS "--remap-path-prefix=" PKG "=/src\x1f-Copt-level=1"
static void
test_workspace_named_in_values (void **state)
{
  struct fixture *f = *state;
  free (f->ctx.manifest_dir);
  free (f->ctx.cwd);
  f->ctx.manifest_dir = dup (REG);
  f->ctx.cwd = dup (REG);
  push (&f->tc.roots, PKG "/.toolchain");
  struct policy_mount pm[] = { { .source = (char *)PKG "/sdk",
                                 .destination = (char *)"/opt/sdk" } };
  f->in.extra_mounts = pm;
  f->in.n_extra_mounts = 1;
  f->js.fifo = dup (PKG "/tmp/fifo");
  f->js.makeflags = dup ("-j2 --jobserver-auth=fifo:" PKG "/tmp/fifo");
  strv_free (f->envp);
  f->envp = NULL;
  push (&f->envp, "OUT_DIR=" OUT);
  push (&f->envp, "CARGO_MANIFEST_DIR=" REG);
  push (&f->envp, "CARGO_MANIFEST_PATH=" REG "/Cargo.toml");
  push (&f->envp, "CARGO_ENCODED_RUSTFLAGS=" FLAGS);
  push (&f->envp, "CC=" PKG "/tools/cc");
  push (&f->envp, "PKG_CONFIG_PATH=" PKG "/sdk/lib/pkgconfig:/usr/lib");
  push (&f->envp, "CARGO_TARGET_TMPDIR=" PKG "2/x"); /* not below it */
  f->in.envp = f->envp;
  f->in.build_workspace = PKG;
  f->in.paths = PATHS_CANONICAL;
  build (f);
  assert_invariants (f);
  const struct view *v = &f->view;
  assert_env (v, "CARGO_ENCODED_RUSTFLAGS",
              "--remap-path-prefix=" LAYOUT_CARGO_WORKSPACE
              "=/src\x1f-Copt-level=1");
  assert_env (v, "CC", LAYOUT_CARGO_WORKSPACE "/tools/cc");
  assert_env (v, "PKG_CONFIG_PATH", "/opt/sdk/lib/pkgconfig:/usr/lib");
  assert_env (v, "CARGO_MANIFEST_DIR", LAYOUT_CARGO_SRC);
  assert_env (v, "CARGO_MANIFEST_PATH", LAYOUT_CARGO_SRC "/Cargo.toml");
  assert_env (v, "OUT_DIR", C_OUT);
  assert_env (v, "CARGO_TARGET_TMPDIR", PKG "2/x");
  assert_env (v, "CARGO_MAKEFLAGS",
              "-j2 --jobserver-auth=fifo:" PKG "/tmp/fifo");
  assert_map (v, PKG "/.toolchain/bin/rustc",
              LAYOUT_CARGO_TOOLCHAIN "-2/bin/rustc");
  assert_map (v, TARGET_DIR "/debug/deps",
              LAYOUT_CARGO_WORKSPACE "/target/debug/deps");
  /* the source is the crate's own directory; nothing of the workspace is
   * mounted, at /cargo/workspace or anywhere */
  assert_ro_bind (v, LAYOUT_CARGO_SRC, REG);
  assert_null (mounts_find (&v->mounts, LAYOUT_CARGO_WORKSPACE));
  for (size_t i = 0; i < v->mounts.n; i++)
    if (v->mounts.v[i].source && strcmp (v->mounts.v[i].source, PKG) == 0)
      fail_msg ("the workspace is mounted at '%s'",
                v->mounts.v[i].destination);
  mount_at (v, "/opt/sdk", "bind", PKG "/sdk");
  mount_at (v, PKG "/tmp/fifo", "bind", PKG "/tmp/fifo");
  /* back out: each container path to its own host path */
  struct directive_map *maps = NULL;
  size_t n_maps = 0;
  ohr_error_t err = NULL;
  assert_int_equal (view_directive_maps (v, &maps, &n_maps, &err), 0);
  struct directive_pathmap *pm_back = NULL;
  assert_int_equal (
      directive_pathmap_new (maps, n_maps, NULL, 0, &pm_back, &err), 0);
  static const char *const lines[][2] = {
    { "cargo::rerun-if-changed=" LAYOUT_CARGO_WORKSPACE "/tools/cc",
      "cargo::rerun-if-changed=" PKG "/tools/cc" },
    { "cargo::rerun-if-changed=" LAYOUT_CARGO_SRC "/build.rs",
      "cargo::rerun-if-changed=" REG "/build.rs" },
    { "cargo::rustc-link-search=native=" C_OUT "/lib",
      "cargo::rustc-link-search=native=" OUT "/lib" },
    { "cargo::warning=flags --remap-path-prefix=" LAYOUT_CARGO_WORKSPACE
      "=/src",
      "cargo::warning=flags --remap-path-prefix=" PKG "=/src" },
  };
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
    assert_maps_back (pm_back, lines[i][0], lines[i][1]);
  directive_pathmap_free (pm_back);
  free (maps);
  /* a generated file naming /cargo/workspace names nothing on the host;
   * the policy's destination is not ours to refuse */
  char **prefixes = NULL;
  assert_int_equal (view_generated_prefixes (v, &prefixes, &err), 0);
  assert_true (strv_contains (prefixes, LAYOUT_CARGO_WORKSPACE));
  assert_false (strv_contains (prefixes, "/opt/sdk"));
  strv_free (prefixes);

  /* identity paths: nothing is renamed */
  f->in.paths = PATHS_IDENTITY;
  build (f);
  assert_env (&f->view, "CARGO_ENCODED_RUSTFLAGS", FLAGS);
  assert_env (&f->view, "CC", PKG "/tools/cc");
  /* shown already (a bind of the image, or of the policy, above it):
   * values keep naming what the script reaches */
  f->in.paths = PATHS_CANONICAL;
  struct policy_mount home[]
      = { { .source = (char *)"/home/u", .destination = (char *)"/home/u" } };
  f->in.extra_mounts = home;
  build (f);
  assert_env (&f->view, "CC", PKG "/tools/cc");
  f->in.extra_mounts = pm;
  assert_int_equal (
      mounts_add_bind (&f->image.binds, "/home", "/home", false, true, &err),
      0);
  build (f);
  assert_env (&f->view, "CC", PKG "/tools/cc");
}

/* A path package whose root is the workspace shows it at /cargo/src, as
 * before; unknown (NULL), no pair. */
static void
test_workspace_of_path_package (void **state)
{
  struct fixture *f = *state;
  push (&f->envp, "CC=" PKG "/tools/cc");
  f->in.envp = f->envp;
  f->in.build_workspace = PKG;
  f->in.paths = PATHS_CANONICAL;
  build (f);
  assert_env (&f->view, "CC", LAYOUT_CARGO_SRC "/tools/cc");
  for (size_t i = 0; i < f->view.n_pairs; i++)
    assert_string_not_equal (f->view.pairs[i].container,
                             LAYOUT_CARGO_WORKSPACE);
  free (f->ctx.manifest_dir);
  free (f->ctx.cwd);
  f->ctx.manifest_dir = dup (REG);
  f->ctx.cwd = dup (REG);
  f->in.build_workspace = NULL;
  build (f);
  assert_env (&f->view, "CC", PKG "/tools/cc");
}

static void
test_clear (void **state)
{
  struct fixture *f = *state;
  struct view empty = { 0 };
  view_clear (&empty);
  build (f);
  assert_non_null (f->view.env);
  view_clear (&f->view);
  assert_int_equal (f->view.mounts.n, 0);
  assert_null (f->view.mounts.v);
  assert_null (f->view.env);
  assert_null (f->view.args);
  assert_null (f->view.cwd);
  assert_null (f->view.pairs);
  assert_int_equal (f->view.n_pairs, 0);
  assert_null (f->view.target.host);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown (fn, setup, teardown)
    T (test_identity_mounts),
    T (test_identity_process),
    T (test_identity_without_build_dir),
    T (test_canonical_mounts),
    T (test_canonical_process),
    T (test_canonical_map_value),
    T (test_map_both_ways),
    T (test_canonical_cross),
    T (test_canonical_unshaped),
    T (test_generated_prefixes_and_own_dirs),
    T (test_toolchain_rewrites_and_path),
    T (test_tool_files),
    T (test_source_overlay),
    T (test_rootless_and_host_proc),
    T (test_policy_mounts_and_jobserver),
    T (test_workspace_named_in_values),
    T (test_workspace_of_path_package),
    T (test_clear),
#undef T
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
