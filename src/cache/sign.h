/* sign.h: signatures on result-cache entries, and which to trust.
 *
 * A shared cache is a supply-chain target: whoever can write to it could
 * hand every build a poisoned OUT_DIR.  So each entry is signed with an
 * ed25519 key (the attest keys: `oci-host-runner attest keygen`), in a
 * DSSE envelope (src/attest/dsse.h) over a small JSON payload that binds
 * the action to its result:
 *
 *   {"_type":"https://oci-host-runner.dev/result-cache-entry/v1",
 *    "action":{"sha256":ACTION_HEX},"actionResult":{"sha256":RESULT_HEX}}
 *
 * (canonical: keys sorted, compact), payloadType CACHE_SIGN_PAYLOAD_TYPE.
 * RESULT_HEX is the sha256 of the ActionResult's bytes as signed; every
 * blob the ActionResult names is then checked against its own digest on
 * read (http.c), so the signature covers the whole result.  Where the
 * envelope is kept is the caller's choice: it cannot be inside the
 * ActionResult it signs (see README.md).
 *
 * A reader trusts an entry when a signature verifies with one of the
 * public keys it was given, or, with `any` (closed networks only), when
 * the payload names the right action and result, without a signature
 * check.  Otherwise the entry is a miss with a reason: *untrusted*
 * (signed, but by no trusted key: the reason names the key id) or
 * *tampered* (a malformed envelope or payload, a payload naming another
 * action or result, or a signature by a trusted key's id that does not
 * verify).  Never an error: a bad entry must not fail the build.
 *
 * May call src/attest/dsse.h and keys.h, and src/util/.
 */
#ifndef OHR_CACHE_SIGN_H
#define OHR_CACHE_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define CACHE_SIGN_PAYLOAD_TYPE                                               \
  "application/vnd.oci-host-runner.result-cache-entry+json"
#define CACHE_SIGN_ENTRY_TYPE                                                 \
  "https://oci-host-runner.dev/result-cache-entry/v1"

/* The envelope (canonical JSON) of the entry action_hex -> result_hex,
 * signed with the ed25519 private key at key_path (a PEM file). */
int cache_sign_entry (const char *key_path, const char *action_hex,
                      const char *result_hex, char **out, size_t *out_len,
                      ohr_error_t *err);

struct cache_trust_key;

/* The keys a reader trusts (--result-cache-trust, repeatable). */
struct cache_trust
{
  struct cache_trust_key *keys;
  size_t n;
  bool any;
};

/* Add spec: "any", or the path of an ed25519 public key (PEM; a private
 * key's public half will do). */
int cache_trust_add (struct cache_trust *t, const char *spec,
                     ohr_error_t *err);

void cache_trust_clear (struct cache_trust *t);

enum cache_verdict
{
  CACHE_TRUSTED,
  CACHE_UNTRUSTED,
  CACHE_TAMPERED,
};

/* Judge the envelope of the entry action_hex -> result_hex against t:
 * 0 with *out_verdict and *out_reason (always set, for the -v line or the
 * warning: "signed by key 0123456789abcdef" for a trusted entry), or -1
 * only when memory runs out. */
int cache_verify_entry (const struct cache_trust *t, const char *envelope,
                        size_t len, const char *action_hex,
                        const char *result_hex,
                        enum cache_verdict *out_verdict, char **out_reason,
                        ohr_error_t *err);

#endif
