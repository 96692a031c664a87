/* image.h: the image interface.  An image reference resolves to a prepared,
 * read-only root filesystem plus what the image asks of every container
 * (extra read-only binds, environment, working directory).
 *
 * Preparation happens once per image content (manifest digest, or for the
 * embedded "host" image a fingerprint of the host files it copies); a run
 * only checks that the prepared rootfs exists.  Backends: image-host.c
 * ("host"), image-oci.c (registry references and OCI layouts: resolved
 * from the plain-file catalogue the store keeps, see catalog.h; on a miss
 * the store helper fetches and prepares them).
 */
#ifndef OHR_IMAGE_H
#define OHR_IMAGE_H

#include <stdbool.h>

#include "run/mounts.h"
#include "util/error.h"

struct image_options
{
  const char *cache_dir; /* per-user cache root (prepared rootfs live here) */
  const char *store_dir; /* the image store (default: cache_dir) */
  bool rootless;
  bool allow_unpinned;         /* run a tag-only reference (with a note) */
  char *const *insecure_hosts; /* registries reachable over plain http */
  bool verbose;
};

struct image
{
  char *ref;                /* the reference as the user gave it */
  char *digest;             /* manifest digest; NULL for "host" */
  char *rootfs;             /* prepared rootfs, never written by a run */
  struct mount_table binds; /* read-only binds the image needs */
  char **env;               /* image config Env ("PATH=...") */
  char *workdir;            /* image config WorkingDir, or NULL */
  char **notes;             /* what the caller should tell the user */
  int libc_major;           /* the image's glibc; 0 when unknown (host) */
  int libc_minor;
};

/* Resolve and, on first use, prepare the image named by ref. */
int image_open (const char *ref, const struct image_options *opts,
                struct image **out, ohr_error_t *err);

/* The host directory that holds the image's own files, what a container
 * sees at "/" where no mount covers it: the store's read-only checkout,
 * fixed for the image's digest.  NULL when the image's paths are the
 * host's own (the host image: its /usr is the host's, its few /etc files
 * copies of the host's). */
const char *image_files_root (const struct image *img);

void image_free (struct image *img);

static inline void
cleanup_imagep (struct image **p)
{
  image_free (*p);
}
#define cleanup_image __attribute__ ((cleanup (cleanup_imagep)))

/* Backend entry points (one per image kind). */
int image_host_open (const struct image_options *opts, struct image *img,
                     ohr_error_t *err);

struct imageref;
int image_oci_open (const struct imageref *ref,
                    const struct image_options *opts, struct image *img,
                    ohr_error_t *err);

#endif
