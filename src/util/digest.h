/* digest.h: content digests ("sha256:<64 lowercase hex>") with OpenSSL's
 * libcrypto (already linked through libcurl), one-shot and streaming. */
#ifndef OHR_DIGEST_H
#define OHR_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define DIGEST_STRING_LEN 71 /* "sha256:" + 64 hex */

/* true when s is "sha256:" followed by exactly 64 lowercase hex digits. */
bool digest_valid (const char *s);

/* true when h is exactly 64 lowercase hex digits (a sha256 without its
 * "sha256:", as Bazel's remote cache names blobs). */
bool digest_hex_valid (const char *h);

/* out must hold DIGEST_STRING_LEN + 1 bytes. */
void digest_sha256 (const void *data, size_t len, char *out);

struct digest_ctx;
struct digest_ctx *digest_new (void);
void digest_update (struct digest_ctx *ctx, const void *data, size_t len);
/* Writes the digest string into out (DIGEST_STRING_LEN + 1 bytes). */
void digest_final (struct digest_ctx *ctx, char *out);
void digest_free (struct digest_ctx *ctx);

/* Digest of what fd reads to its end (what names it in messages); -1
 * with *err on I/O error. */
int digest_fd (int fd, const char *what, char *out, ohr_error_t *err);

/* Digest of a whole file; -1 with *err on I/O error. */
int digest_file (const char *path, char *out, ohr_error_t *err);

#endif
