/* registry.h: an OCI distribution-spec client on libcurl.
 *
 * src/registry/ owns HTTP: manifests by tag or digest, blobs (following
 * redirects to blob storage), authentication (anonymous, Basic, Bearer
 * tokens from the WWW-Authenticate challenge), retries with backoff for
 * 5xx/429/connection resets, resuming partial blobs with Range, parallel
 * downloads (curl multi), and a progress line on a terminal.  Every byte
 * is verified against its digest while streaming; a mismatch stores
 * nothing.  Credentials come from $REGISTRY_AUTH_FILE,
 * ${XDG_RUNTIME_DIR}/containers/auth.json or ~/.docker/config.json and are
 * never printed.  Plain http only for localhost/127.0.0.0/8/::1 or hosts
 * given as insecure.
 *
 * This is the folder's one public header (its files: internal.h).  It may
 * call src/util/, image/manifest.h for descriptors and media types (it
 * knows nothing of manifests' contents: manifest.h parses them), libcurl
 * and yajl; only the store helper (src/store/pull.c) calls it, so run
 * mode never loads libcurl.
 */
#ifndef OHR_REGISTRY_H
#define OHR_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "image/manifest.h"
#include "util/error.h"

struct registry_options
{
  char *const *insecure_hosts; /* may use http:// (and skip TLS verify) */
  int max_retries;             /* default 4 when 0 */
  bool progress;               /* progress line on stderr (a tty) */
};

struct registry_stats
{
  int requests; /* HTTP requests made */
  int retries;  /* of which retries */
  int resumed;  /* blob downloads resumed with Range (206) */
  long long bytes;
};

struct registry_client;

int registry_client_new (const struct registry_options *opts,
                         struct registry_client **out, ohr_error_t *err);
void registry_client_free (struct registry_client *c);
const struct registry_stats *
registry_client_stats (const struct registry_client *c);

/* GET /v2/REPO/manifests/REFERENCE (a tag or a digest), accepting OCI and
 * Docker manifests and indexes.  out_digest is the sha256 of the bytes;
 * when reference is a digest they must match it.  Size-capped at
 * MANIFEST_MAX_SIZE. */
int registry_get_manifest (struct registry_client *c, const char *registry,
                           const char *repository, const char *reference,
                           char **out_data, size_t *out_len,
                           char **out_media_type, char **out_digest,
                           ohr_error_t *err);

/* Download blobs in parallel into dest_dir/<hex of digest>, each verified
 * against digest and size; written as .partial (resumed with Range on a
 * retry) and renamed into place when complete.  Blobs already present in
 * dest_dir are not fetched. */
int registry_fetch_blobs (struct registry_client *c, const char *registry,
                          const char *repository,
                          const struct oci_descriptor *blobs, size_t n,
                          const char *dest_dir, ohr_error_t *err);

#endif
