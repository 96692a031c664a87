/* merkle.h: a host file tree as REAPI Directory messages (reapi.h): each
 * directory's digest is the sha256 of its encoded Directory, which names
 * its files (sha256 of their bytes, executable bit and mode), its
 * subdirectories (their digests) and its symlinks (their targets, never
 * followed).  The same bytes on any machine give the same digest; where
 * the tree lives does not enter it.
 *
 * Walks go through the one tree walker (util/walk.h).  A fifo, socket or
 * device in the tree is an error: no digest describes it.
 */
#ifndef OHR_CACHE_MERKLE_H
#define OHR_CACHE_MERKLE_H

#include <stdbool.h>
#include <stdint.h>

#include "cache/memo.h"
#include "cache/reapi.h"
#include "util/buf.h"
#include "util/error.h"

enum merkle_kind
{
  MERKLE_FILE,
  MERKLE_DIR,
  MERKLE_SYMLINK,
};

/* What one host path is, as a node of its parent directory. */
struct merkle_node
{
  enum merkle_kind kind;
  struct reapi_digest digest; /* FILE: its bytes; DIR: its Directory */
  bool executable;
  uint32_t mode;
  char *target; /* SYMLINK */
};

struct merkle_options
{
  struct memo *memo;  /* path+stat -> digest, or NULL */
  char *const *skip;  /* paths relative to the root left out */
  char *const *empty; /* relative paths that appear empty (masked) */
  /* when set, every Directory message below the root is appended here
   * as a Tree's `children` field (REAPI Tree), the root's bytes in
   * root_bytes: for the ActionResult of an output directory */
  struct buf *tree_children;
  struct buf *root_bytes;
};

/* The node for host path (file, directory or symlink). */
int merkle_path (const char *host, const struct merkle_options *o,
                 struct merkle_node *out, ohr_error_t *err);

/* sha256 of data as a REAPI digest. */
void merkle_digest (const void *data, size_t len, struct reapi_digest *out);

void merkle_node_clear (struct merkle_node *n);

#endif
