/* keys.h: the ed25519 keys of keys.c as DSSE signing and checking use
 * them: dsse.c, and the result cache's entry signatures
 * (src/cache/sign.c); the commands use attest.h. */
#ifndef OHR_ATTEST_KEYS_H
#define OHR_ATTEST_KEYS_H

#include <openssl/evp.h>
#include <stdbool.h>

#include "util/error.h"

static inline void
cleanup_pkeyp (EVP_PKEY **k)
{
  EVP_PKEY_free (*k);
}
#define cleanup_pkey __attribute__ ((cleanup (cleanup_pkeyp)))

/* An ed25519 key from a PEM file: private, or public (a private key's
 * public half will do). */
int attest_key_load (const char *path, bool private, EVP_PKEY **out,
                     ohr_error_t *err);

/* Its key id: lowercase hex sha256 of the DER SubjectPublicKeyInfo. */
int attest_key_hex (EVP_PKEY *k, char **out, ohr_error_t *err);

/* EINVAL with the message, and OpenSSL's last error, which is then
 * cleared. */
int attest_ssl_fail (ohr_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

#endif
