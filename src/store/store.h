/* store.h: the content-addressed image store on libostree.
 *
 * One ostree repo (bare as root, bare-user otherwise) under the store
 * directory.  Each layer is a commit keyed by its digest (layers shared
 * between images are stored once); an image is a commit keyed by its
 * manifest digest, the layers merged with OCI whiteouts applied, with the
 * image config and manifest kept beside it.  A run uses a checkout made
 * once per image (hardlinks, atomically: temp + rename, under a lock so
 * parallel build scripts are safe) and never written again.
 *
 * Layer tars are untrusted: absolute paths, "..", links escaping the
 * tree, and (rootless) device nodes are refused; setuid/setgid bits are
 * stripped; a layer larger than the store's limit uncompressed is refused
 * whole (layer.h).  A store killed at any point stays valid.  The store
 * directory is created 0700: checkouts hold the image's files with their
 * owners and modes, for the user's runs only.
 *
 * Layout:  DIR/repo            the ostree repo
 *          DIR/rootfs/<hex>    read-only checkouts, one per image
 *          DIR/blobs/<hex>     downloaded blobs before import (transient)
 *          DIR/lock            flock for checkouts and gc
 */
#ifndef OHR_STORE_H
#define OHR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

struct store;

int store_open (const char *dir, bool rootless, struct store **out,
                ohr_error_t *err);
void store_free (struct store *s);

static inline void
cleanup_storep (struct store **s)
{
  store_free (*s);
}
#define cleanup_store __attribute__ ((cleanup (cleanup_storep)))

const char *store_dir (const struct store *s);

/* The libostree repository itself, for the result cache's commits
 * (src/cache/local.c): refs under ohr/result/, apart from the images'. */
struct OstreeRepo;
struct OstreeRepo *store_repo (struct store *s);

/* The largest uncompressed layer (its tar stream, and the sizes its
 * entries declare) an import accepts: 16 GiB unless set.  The biggest
 * layers of common build images (CUDA, full toolchains) are a few GiB;
 * a gzip or zstd bomb of a few MiB would otherwise fill the disk. */
#define STORE_MAX_LAYER_SIZE_DEFAULT (16ULL << 30)
void store_set_max_layer_size (struct store *s, uint64_t bytes);

bool store_has_layer (struct store *s, const char *digest);
bool store_has_image (struct store *s, const char *manifest_digest);

struct layer_report
{
  char **refused; /* "path: reason" for every entry refused */
  int stripped;   /* setuid/setgid bits stripped */
};
void layer_report_clear (struct layer_report *r);

/* Import a layer blob (tar, tar+gzip or tar+zstd, detected by content)
 * as the commit for digest.  Idempotent. */
int store_import_layer (struct store *s, const char *digest,
                        const char *blob_path, struct layer_report *report,
                        ohr_error_t *err);

/* Merge imported layers (bottom first) into the image commit for
 * manifest_digest, applying whiteouts; keep config and manifest JSON.
 * name (may be NULL) is recorded as a human-readable reference to it. */
int store_commit_image (struct store *s, const char *manifest_digest,
                        char *const *layer_digests, const char *config,
                        size_t config_len, const char *manifest,
                        size_t manifest_len, const char *name,
                        ohr_error_t *err);

/* The image's read-only rootfs, checked out on first use. */
int store_checkout (struct store *s, const char *manifest_digest,
                    char **out_rootfs, ohr_error_t *err);

int store_get_config (struct store *s, const char *manifest_digest, char **out,
                      size_t *out_len, ohr_error_t *err);

/* Name (as recorded by store_commit_image) or digest -> manifest digest. */
int store_resolve (struct store *s, const char *name_or_digest,
                   char **out_digest, ohr_error_t *err);

struct store_image
{
  char *name;           /* may be NULL */
  char *digest;         /* manifest digest */
  uint64_t size;        /* bytes of all its objects */
  uint64_t shared_size; /* of which shared with other images */
};

int store_list (struct store *s, struct store_image **out, size_t *n,
                ohr_error_t *err);
void store_images_free (struct store_image *v, size_t n);

int store_remove (struct store *s, const char *name_or_digest,
                  ohr_error_t *err);

struct store_gc_stats
{
  int objects_removed;
  uint64_t bytes_freed;
  int checkouts_removed;
};

/* Drop objects no image references and checkouts of removed images. */
int store_gc (struct store *s, struct store_gc_stats *out, ohr_error_t *err);

#endif
