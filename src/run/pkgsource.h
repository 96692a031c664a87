/* pkgsource.h: where a package's source comes from, and which directory a
 * path package belongs to, found the way Cargo finds them.
 *
 * Cargo tells a build-script runner only CARGO_MANIFEST_DIR, the package
 * name and version and OUT_DIR.  From those:
 *
 *  - the workspace: the nearest directory, starting at the package's own
 *    and going up, whose Cargo.toml has a [workspace] table (or
 *    [workspace.*]); a package.workspace key names it instead.  The walk
 *    stops below CARGO_HOME, as Cargo's does;
 *  - the Cargo.lock that lists the package: the workspace's, else the one
 *    beside the target directory derived from OUT_DIR
 *    (<target>/[<triple>/]<profile>/build/<pkg>-<hash>/out, the target
 *    being the directory with CACHEDIR.TAG when there is one): a path
 *    dependency outside the workspace, or a vendored crate, is listed in
 *    the lock of the workspace that uses it;
 *  - its [[package]] entry for name and version: no "source" means a path
 *    package (a member, a path dependency, a [patch] path), "registry+" or
 *    "sparse+" a registry crate (also when a directory source or vendor/
 *    replaces the registry: the lock keeps the original source), "git+" a
 *    git checkout; "checksum" is kept;
 *  - without an entry, the location decides: under
 *    $CARGO_HOME/registry/src a registry crate, under
 *    $CARGO_HOME/git/checkouts a git one, a directory with
 *    .cargo-checksum.json a directory source (vendored), else a path
 *    package.
 *
 * For a path package, root is the directory a build script may read: its
 * workspace root, or its own directory when it is in no workspace, or when
 * that workspace is "/" or contains $HOME (a Cargo.toml there must not
 * open the user's home).  For every other kind root is the package's own
 * directory: a vendored crate under vendor/ is never a member.
 *
 * The workspace Cargo builds (build_workspace) is told to no build
 * script: a registry crate's script sees only its own directory.  Cargo's
 * default target directory is <workspace>/target, so when the target
 * directory derived from OUT_DIR is named "target" and a Cargo.toml lies
 * beside it, that directory is taken (not "/", nor one that contains
 * $HOME: a path package would not see it either).  A target directory
 * elsewhere (CARGO_TARGET_DIR, --target-dir, build.target-dir) tells
 * nothing, and a guess next to another project's Cargo.toml only names
 * another directory: view.h maps it both ways, mounting nothing.
 *
 * Only the little TOML these files need is read: table headers, and
 * key = "string" lines, with comments, odd spacing and multi-line strings
 * skipped.  Unreadable or malformed files count as absent; the only error
 * is running out of memory.
 */
#ifndef OHR_PKGSOURCE_H
#define OHR_PKGSOURCE_H

#include "util/error.h"

enum pkgsource_kind
{
  PKGSOURCE_PATH,
  PKGSOURCE_REGISTRY,
  PKGSOURCE_GIT,
  PKGSOURCE_DIRECTORY, /* vendored, with .cargo-checksum.json, no lock */
};

struct pkgsource_input
{
  const char *manifest_dir; /* absolute, normalized */
  const char *name;         /* CARGO_PKG_NAME, may be NULL */
  const char *version;      /* CARGO_PKG_VERSION, may be NULL */
  const char *out_dir;      /* OUT_DIR, may be NULL */
  const char *cargo_home;   /* $CARGO_HOME or ~/.cargo, may be NULL */
  const char *home;         /* $HOME, may be NULL */
};

struct pkgsource
{
  enum pkgsource_kind kind;
  char *root;            /* what the script may read (see above) */
  char *workspace;       /* the workspace root found, or NULL */
  char *target_dir;      /* from OUT_DIR, or NULL */
  char *build_workspace; /* the workspace Cargo builds (above), or NULL */
  char *lock;            /* the Cargo.lock the entry came from, or NULL */
  char *source;          /* the entry's "source", or NULL */
  char *checksum;        /* the entry's "checksum", or NULL */
};

int pkgsource_identify (const struct pkgsource_input *in,
                        struct pkgsource *out, ohr_error_t *err);

/* "path", "registry", "git", "directory". */
const char *pkgsource_kind_name (enum pkgsource_kind kind);

/* The target directory of an OUT_DIR (see above), or NULL. */
char *pkgsource_target_dir (const char *out_dir);

/* Does the Cargo.toml at path have a [workspace] table? */
int pkgsource_has_workspace (const char *path);

void pkgsource_clear (struct pkgsource *s);

#endif
