/* view.h: what a build script sees inside its container.
 *
 * Owns the mount table (system mounts, image binds, the toolchain, the
 * build directory and package source read-only, OUT_DIR read-write, the
 * init) and the process (init + script, environment, cwd).  Paths inside
 * are the paths outside, so everything Cargo and the script print stays
 * valid on the host.
 */
#ifndef OHR_VIEW_H
#define OHR_VIEW_H

#include <stdbool.h>

#include "cli/options.h"
#include "image/image.h"
#include "policy/policy.h"
#include "run/context.h"
#include "run/directives.h"
#include "run/jobserver.h"
#include "run/mounts.h"
#include "run/toolchain.h"
#include "run/wsview.h"
#include "util/error.h"

/* Where things appear inside the container. */
#define LAYOUT_INIT_PATH "/dev/.ohr-init"
#define LAYOUT_HOME "/tmp/home"

/* Canonical paths: a small tmpfs at /cargo holds the mount points, so no
 * image ever needs them (only /cargo itself).
 *
 * Cargo's target directory is LAYOUT_CARGO_TARGET, and OUT_DIR keeps its
 * place below it, with the depth and names Cargo gave it
 * (context_cargo_dirs):
 *
 *   /cargo/target/[<triple>/]<profile>/build/<pkg>-<hash>/out
 *
 * Scripts walk up from OUT_DIR (cbindgen takes OUT_DIR/../../.. for the
 * directory its binary lands in).  The build directory (.../build) is
 * shown read-only, as with identity paths: dependencies' OUT_DIRs, named
 * by DEP_* variables, are there.  Above it, <profile>, <triple> and
 * /cargo/target are empty directories of the tmpfs: nothing else of the
 * host's target directory is shown.  <pkg>-<hash> is Cargo's metadata
 * hash: for registry and git packages and for path packages inside the
 * workspace it does not depend on the checkout's path; for a path
 * dependency outside the workspace it does (Cargo hashes its absolute
 * path).  An OUT_DIR of another shape (a runner called by hand) is at
 * LAYOUT_CARGO_OUT_UNSHAPED.
 *
 * The workspace Cargo builds (pkgsource.h) is named LAYOUT_CARGO_WORKSPACE
 * in values when this package's view does not show it: a registry, git or
 * vendored crate (its own directory is at LAYOUT_CARGO_SRC), a path
 * dependency outside the workspace.  Nothing is mounted there and nothing
 * of it is keyed: only the text of a value that names the checkout
 * (--remap-path-prefix=<checkout>=/src in CARGO_ENCODED_RUSTFLAGS, a
 * CC=<checkout>/tools/cc) is the same at every checkout path, and a
 * directive naming LAYOUT_CARGO_WORKSPACE/x reaches Cargo as the host
 * path.  A distinct place, not LAYOUT_CARGO_SRC: a path there must map
 * back to one host directory.  Not when the view shows the workspace
 * already (it is the package's root, or below a mounted pair, an image or
 * a policy bind): a value keeps naming what the script can reach. */
#define LAYOUT_CARGO_ROOT "/cargo"
#define LAYOUT_CARGO_SRC "/cargo/src"
#define LAYOUT_CARGO_WORKSPACE "/cargo/workspace"
#define LAYOUT_CARGO_TARGET "/cargo/target"
#define LAYOUT_CARGO_OUT_UNSHAPED "/cargo/target/out"
#define LAYOUT_CARGO_SCRIPT "/cargo/bin/build-script"
#define LAYOUT_CARGO_TOOLCHAIN "/cargo/toolchain"

/* A host path and where it appears in the container. */
struct path_pair
{
  char *host;
  char *container;
  /* only values and directives are mapped: add_binds mounts nothing for
   * it and the result cache keys nothing of it (the workspace Cargo
   * builds; a bind of the image or the policy, or the jobserver's fifo,
   * below it, which keep their places) */
  bool unmounted;
};

struct view_input
{
  const struct run_context *ctx;
  const struct image *image;
  const struct toolchain *toolchain;
  const struct jobserver *jobserver;
  char *const *envp;      /* the host environment Cargo gave us */
  char *const *extra_env; /* --env */
  const char *init_path;  /* host path of ohr-init */
  enum network_mode network;
  bool rootless; /* no gid=5 on devpts, no sysfs without a netns */
  bool userns;   /* a user namespace (root too): no sysfs without a netns */
  enum paths_mode paths;
  /* degraded: bind the host's /proc and /sys read-only (a PID namespace
   * all the same) */
  bool host_proc;
  /* This process's mount table where the runtime cannot make binds
   * read-only recursively (mounts_recursive_attrs_supported): each
   * submount under a read-only rbind is then bound read-only on its own.
   * NULL: the runtime does it ("rro"). */
  const struct mountinfo *submounts;
  /* read-only host paths the policy adds */
  const struct policy_mount *extra_mounts;
  size_t n_extra_mounts;
  /* When set, the package source is an overlay whose writes land here
   * (inspected after the run) instead of a read-only bind. */
  const char *source_upper;
  const char *source_work;
  /* size= of /tmp and HOME, bytes (0: the kernel's default, half of RAM) */
  unsigned long long tmpfs_size;
  /* What the package sees of its workspace (wsview.h), or NULL: its own
   * directory only.  The root is shown read-only at /cargo/src (canonical)
   * or at its own path, the package at its place below it. */
  const struct wsview *workspace;
  /* the overlay's lower dir when the package root must be reached through
   * another path (idshift.h); NULL: the package root itself */
  const char *source_lower;
  /* When set (canonical paths; the result cache, src/cache/plan.h): of
   * the build directory only these host directories are mounted, each at
   * its canonical place below it, so that the script sees exactly what
   * its key covers.  NULL: the whole build directory. */
  char *const *build_subtrees;
  /* Canonical paths: the workspace Cargo builds (pkgsource.h), or NULL;
   * named LAYOUT_CARGO_WORKSPACE in values when not shown (above). */
  const char *build_workspace;
};

struct view
{
  struct mount_table mounts;
  char **env;
  char **args;
  char *cwd; /* inside the container */
  /* paths to mask beyond the spec's own (degraded: /proc/PID of every
   * process that exists before the container does) */
  char **masked;
  struct path_pair *pairs; /* host <-> container, longest host first */
  size_t n_pairs;
  /* Canonical paths, OUT_DIR of Cargo's shape: Cargo's target directory
   * and LAYOUT_CARGO_TARGET.  Not a pair: only what is mounted below it
   * is shown, and values are not mapped into it; but a path the script
   * names below it (OUT_DIR/../../../x) is a host path of the target
   * directory to Cargo, and a container path in a generated file.
   * Both NULL otherwise. */
  struct path_pair target;
};

/* Replace host prefixes in value with their container paths (at path
 * component boundaries); a fresh string. */
char *view_map_value (const struct view *l, const char *value);

int view_build (const struct view_input *in, struct view *out,
                ohr_error_t *err);

/* The mapping of the script's directives back to host paths: the pairs,
 * then the target directory's.  *out_maps points into l. */
int view_directive_maps (const struct view *l, struct directive_map **out_maps,
                         size_t *out_n, ohr_error_t *err);

/* Canonical paths: the container paths that must not appear in generated
 * text files, the trees rustc may be sent into (the package's, OUT_DIR,
 * the target directory); a generated file that merely records the
 * toolchain's or the script's path is harmless.  Appended to *out. */
int view_generated_prefixes (const struct view *l, char ***out,
                             ohr_error_t *err);

/* Is path a directory on the way to the view's own mounts, where a policy
 * mount makes no sense (/, /cargo, /cargo/target and the directories
 * below it down to OUT_DIR, /cargo/bin)?  Not the workspace's, at
 * /cargo/src. */
bool view_is_own_dir (const struct view *l, const char *path);

void view_clear (struct view *l);

#endif
