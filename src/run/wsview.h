/* wsview.h: what a path package's build script sees of its workspace.
 *
 * A workspace member's build script may read the workspace's other files
 * (prost's ../proto/schema.proto), as it does natively: the view's source
 * root is the package's root from pkgsource.h (the workspace root, or the
 * package's own directory), shown read-only with the package at the same
 * relative place.  Registry, git and vendored crates see only their own
 * directory, as before.
 *
 * Hidden by design, directly under the root, when they exist (a symlink is
 * left alone: what it names is shown only if it lies in the view):
 *   .git                         history, hooks, remotes with tokens
 *   the target directory and any directory holding a CACHEDIR.TAG (Cargo's
 *   mark of a target directory): other builds' outputs; the build
 *   directory and OUT_DIR are mounted on their own as before
 *   .env .envrc .netrc .npmrc .pypirc .git-credentials .ssh .gnupg .aws
 *   .docker .kube .cargo/credentials .cargo/credentials.toml: secrets
 * A directory is covered by an empty tmpfs, a file by /dev/null (nodev:
 * opening it fails).  The policy's "workspace-read" (paths relative to the
 * root) keeps a hidden path visible.
 *
 * The watch reads the directive stream as Cargo will get it (host paths)
 * and finds rerun-if-changed paths that are hidden, or relative paths that
 * climb out of the view: what the script tried to read and could not.
 */
#ifndef OHR_WSVIEW_H
#define OHR_WSVIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "run/pkgsource.h"
#include "util/buf.h"
#include "util/error.h"

struct wsview_hidden
{
  char *path; /* host, absolute */
  char *rel;  /* relative to the root: what "workspace-read" names */
  bool dir;
};

struct wsview
{
  char *root; /* the host directory shown read-only as the source root */
  struct wsview_hidden *v;
  size_t n;
};

/* The view of the package at manifest_dir; workspace_read from the
 * policy (NULL: hide everything above). */
int wsview_plan (const struct pkgsource *src, const char *manifest_dir,
                 char *const *workspace_read, struct wsview *out,
                 ohr_error_t *err);

enum wsview_place
{
  WSVIEW_SEEN,    /* under the root, not hidden */
  WSVIEW_HIDDEN,  /* under a hidden path (*out_hidden) */
  WSVIEW_OUTSIDE, /* not under the root */
};

/* Where the absolute, lexically normalized host path falls. */
enum wsview_place wsview_classify (const struct wsview *v, const char *path,
                                   const struct wsview_hidden **out_hidden);

void wsview_clear (struct wsview *v);

/* ---- the watch over the directive stream */

#define WSVIEW_FINDINGS_MAX 8

struct wsview_finding
{
  enum wsview_place place; /* WSVIEW_HIDDEN or WSVIEW_OUTSIDE */
  char *printed;           /* the path as the directive gave it */
  char *path;              /* the host path, resolved lexically */
  const struct wsview_hidden *hidden;
};

struct wsview_watch
{
  const struct wsview *view;
  const char *manifest_dir; /* relative paths are resolved against it */
  struct buf line;
  bool overlong; /* inside a line too long to be looked at */
  struct wsview_finding v[WSVIEW_FINDINGS_MAX];
  size_t n;
};

/* Feed the stream in any pieces; the last line counts without its '\n'
 * once wsview_watch_finish is called.  Out of memory only loses
 * findings. */
void wsview_watch_feed (struct wsview_watch *w, const char *buf, size_t len);
void wsview_watch_finish (struct wsview_watch *w);
void wsview_watch_clear (struct wsview_watch *w);

#endif
