/* layer.h: OCI layers as ostree trees.
 *
 * layer_read reads one untrusted layer blob (tar, tar+gzip or tar+zstd,
 * detected by content) and writes its entries into an ostree repo as a
 * tree, checking every entry on the way; it never touches the host
 * filesystem outside the repo, so no entry can be written through a
 * symlink.  layer_apply lays such a tree over a merged image tree with OCI
 * whiteout semantics.  Both use libostree; GError stays inside layer.c.
 *
 * Refused-entry policy (each refused entry is reported as "path: reason"):
 *  - path traversal refuses the whole layer: an absolute entry name, a ".."
 *    component, or a hardlink whose target is absolute or uses "..".  A
 *    legitimate layer never has these, and importing "the rest" of a
 *    hostile layer would give an image nobody asked for;
 *  - skipped, the rest imported: a symlink whose target climbs above the
 *    root with "..", device nodes (ostree cannot store them; rootless
 *    could not create them), fifos and sockets, names or symlink targets
 *    that are not UTF-8 (ostree stores them as GVariant strings), an entry
 *    below a non-directory of the same layer, a hardlink to a file not in
 *    the same layer, invalid whiteouts;
 *  - setuid and setgid bits are stripped from files and directories
 *    (counted, not refused), as root too: a build container runs with
 *    noNewPrivileges, so they could only ever act outside it, where a
 *    setuid-root file of the store's checkout (hard links into the repo)
 *    would be one for anyone who reaches it.  No build image needs them:
 *    su, mount, passwd and ping are not what build scripts run;
 *  - the whole layer is refused when its uncompressed tar stream grows
 *    beyond max_size bytes (EFBIG): a gzip or zstd bomb must not fill the
 *    disk; the caller's transaction is aborted, so nothing stays.
 * Extended attributes (file capabilities, ACLs, SELinux labels) are
 * dropped: a build container has no use for them, and trusted.* or
 * security.* values from an untrusted tar must not reach the host.
 *
 * In the layer tree, whiteouts stay as empty files named ".wh.NAME" and
 * ".wh..wh..opq"; directories the tar did not list (implied parents) are
 * recorded so that they do not override a lower layer's metadata.
 */
#ifndef OHR_LAYER_H
#define OHR_LAYER_H

#include <ostree.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"
#include "util/error.h"

struct layer_tree
{
  char *contents;       /* root dirtree checksum */
  char *metadata;       /* root dirmeta checksum */
  char **implicit_dirs; /* "a/b" directories only implied; "" = the root */
  unsigned whiteouts;   /* whiteout entries, opaque markers included */
};
void layer_tree_clear (struct layer_tree *t);

/* Read the blob at fd, which must hash to digest ("sha256:<hex>"), and
 * write its content into repo, inside the caller's transaction.  rootless
 * selects the rootless policy above; max_size bounds the uncompressed
 * tar.  report gets the refused entries (also on failure, where the first
 * one says why). */
int layer_read (OstreeRepo *repo, int fd, const char *digest, bool rootless,
                uint64_t max_size, struct layer_tree *out,
                struct layer_report *report, ohr_error_t *err);

/* Lay the layer tree t over merged, the union of the layers below it:
 * ".wh.NAME" deletes NAME below, ".wh..wh..opq" empties its directory
 * below, a file replaces a directory and a directory a file (a symlink
 * included: the case libostree's union checkout mishandles before
 * 2024.5), and an explicit directory's metadata replaces the lower one. */
int layer_apply (OstreeRepo *repo, OstreeMutableTree *merged,
                 const struct layer_tree *t, ohr_error_t *err);

/* The dirmeta of a directory no tar entry described: root:root 0755. */
int layer_default_dirmeta (OstreeRepo *repo, char **out_checksum,
                           ohr_error_t *err);

#endif
