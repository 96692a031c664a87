/* catalog.h: the image store's plain-file catalogue, so that run mode
 * resolves a pinned image with a few file reads and never loads libostree
 * or libcurl (linking them costs ~11 ms per exec on this machine; a build
 * has hundreds of build scripts).
 *
 *   STORE/catalog/<fnv64 of name>   "NAME\tsha256:MANIFEST\n"
 *   STORE/rootfs/<hex>              the image's read-only checkout
 *   STORE/configs/<hex>.json        its image config
 *   STORE/configs/<hex>.libc        its glibc version ("2.36\n")
 *
 * The store helper (oci-host-runner-store) writes these after a pull or
 * import, each atomically; run mode only reads them.
 */
#ifndef OHR_CATALOG_H
#define OHR_CATALOG_H

#include <stdbool.h>

#include "util/error.h"

/* 1 and *out_digest when name is recorded, 0 when not, -1 on error. */
int catalog_lookup (const char *store_dir, const char *name, char **out_digest,
                    ohr_error_t *err);

int catalog_record (const char *store_dir, const char *name,
                    const char *digest, ohr_error_t *err);

/* Drop every name that points at digest (rm). */
int catalog_forget (const char *store_dir, const char *digest,
                    ohr_error_t *err);

/* The catalogue name of an oci-archive: reference: it carries the file's
 * identity (inode, mtime, size), so a rewritten archive is a new name. */
int catalog_archive_name (const char *path, const char *tag, char **out,
                          ohr_error_t *err);

/* Paths of a digest's checkout and config (fresh strings). */
char *catalog_rootfs_path (const char *store_dir, const char *digest);
char *catalog_config_path (const char *store_dir, const char *digest);
/* STORE/configs/<hex>.libc: the image's glibc version ("2.36"), or 0.0. */
char *catalog_libc_path (const char *store_dir, const char *digest);

/* true when both the checkout and the config exist. */
bool catalog_prepared (const char *store_dir, const char *digest);

#endif
