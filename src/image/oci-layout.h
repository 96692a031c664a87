/* ocilayout.h: read an OCI image layout directory (oci-layout, index.json,
 * blobs/sha256/...) as skopeo, umoci and buildah write it.
 *
 * Resolution picks the index entry by digest, by tag (the
 * org.opencontainers.image.ref.name annotation), or the only entry; an
 * entry that is itself an index is narrowed to this host's platform.
 * Only yajl is needed, so run mode can tell whether a layout's image is
 * already prepared without loading the store.
 */
#ifndef OHR_OCILAYOUT_H
#define OHR_OCILAYOUT_H

#include <stddef.h>

#include "util/error.h"

/* tag and digest may be NULL (not both given).  out_manifest_digest is the
 * image manifest's digest (after platform selection). */
int ocilayout_resolve (const char *dir, const char *tag, const char *digest,
                       char **out_manifest_digest, ohr_error_t *err);

/* dir/blobs/<alg>/<hex> for a digest (a fresh string). */
char *ocilayout_blob_path (const char *dir, const char *digest);

/* Read a (size-capped) blob. */
int ocilayout_read_blob (const char *dir, const char *digest, size_t max,
                         char **out, size_t *out_len, ohr_error_t *err);

#endif
