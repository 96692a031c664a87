/* dsse.h: DSSE envelopes signed with ed25519 keys (keys.h), for any
 * payload type: the attest helper's in-toto statements (attest.h wraps
 * these for ATTEST_PAYLOAD_TYPE) and the result cache's entries
 * (src/cache/sign.c).  The envelope is canonical JSON:
 *   {"payload": BASE64, "payloadType": TYPE,
 *    "signatures": [{"keyid": HEX, "sig": BASE64}]}
 * where HEX is attest_key_hex of the signing key and each signature is
 * over DSSE's pre-authentication encoding (attest_dsse_pae). */
#ifndef OHR_ATTEST_DSSE_H
#define OHR_ATTEST_DSSE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <yajl/yajl_tree.h>

#include "util/error.h"

/* A signed envelope of payload, of payload type type, with private key
 * k. */
int dsse_sign (const char *type, const char *payload, size_t len, EVP_PKEY *k,
               char **out, size_t *out_len, ohr_error_t *err);

/* An envelope read back: its decoded payload (NUL-terminated past len)
 * and its signatures, not yet checked. */
struct dsse_envelope
{
  yajl_val root;
  char *payload;
  size_t len;
  char *pae; /* what the signatures sign */
  size_t pae_len;
  yajl_val sigs; /* the "signatures" array (in root), or NULL */
};
void dsse_envelope_clear (struct dsse_envelope *e);

/* Read an envelope of at most max bytes whose payloadType must be type.
 * 0 when it could be read; 1 with *out_reason (for the caller's message)
 * when it is malformed or of another type; -1 for errors such as no
 * memory. */
int dsse_parse (const char *envelope, size_t len, size_t max, const char *type,
                struct dsse_envelope *out, char **out_reason,
                ohr_error_t *err);

/* Signature i's "keyid", or NULL; i < dsse_signature_count (e). */
size_t dsse_signature_count (const struct dsse_envelope *e);
const char *dsse_signature_keyid (const struct dsse_envelope *e, size_t i);

/* Whether signature i verifies with public key k. */
bool dsse_signature_verifies (const struct dsse_envelope *e, size_t i,
                              EVP_PKEY *k);

/* Whether any signature of e verifies with k. */
bool dsse_verified_by (const struct dsse_envelope *e, EVP_PKEY *k);

#endif
