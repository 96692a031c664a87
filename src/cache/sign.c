/* sign.c: signatures on result-cache entries (see sign.h), on the DSSE
 * and key code of src/attest/. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest/dsse.h"
#include "attest/keys.h"
#include "cache/sign.h"
#include "util/cleanup.h"
#include "util/digest.h"
#include "util/jsoncheck.h"
#include "util/jsongen.h"
#include "util/yajl.h"

/* The payload is a few hundred bytes; an envelope far larger is not ours. */
#define ENVELOPE_MAX (64 * 1024)
#define KEYID_SHOWN 16

struct cache_trust_key
{
  EVP_PKEY *k;
  char *id; /* attest_key_hex */
};

static int
check_names (const char *action_hex, const char *result_hex, ohr_error_t *err)
{
  if (!digest_hex_valid (action_hex) || !digest_hex_valid (result_hex))
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "result cache entry: the action and result must "
                          "be sha256 digests in lowercase hex");
  return 0;
}

/* The payload, canonical as written: keys in byte order, compact. */
static int
payload_of (const char *action_hex, const char *result_hex, char **out,
            size_t *out_len, ohr_error_t *err)
{
  cleanup_yajl_gen yajl_gen g = gen_new ();
  if (g == NULL)
    return ohr_error_nomem (err);
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "_type", CACHE_SIGN_ENTRY_TYPE));
  G (gen_str (g, "action"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "sha256", action_hex));
  G (yajl_gen_map_close (g));
  G (gen_str (g, "actionResult"));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "sha256", result_hex));
  G (yajl_gen_map_close (g));
  G (yajl_gen_map_close (g));
fail:
  if (gen_check (st, "the entry", err) < 0)
    return -1;
  *out = gen_text (g, out_len);
  return *out ? 0 : ohr_error_nomem (err);
}

int
cache_sign_entry (const char *key_path, const char *action_hex,
                  const char *result_hex, char **out, size_t *out_len,
                  ohr_error_t *err)
{
  if (check_names (action_hex, result_hex, err) < 0)
    return -1;
  cleanup_free char *payload = NULL;
  size_t plen = 0;
  cleanup_pkey EVP_PKEY *k = NULL;
  if (payload_of (action_hex, result_hex, &payload, &plen, err) < 0)
    return -1;
  if (attest_key_load (key_path, true, &k, err) < 0
      || dsse_sign (CACHE_SIGN_PAYLOAD_TYPE, payload, plen, k, out, out_len,
                    err)
             < 0)
    return ohr_error_wrap (err, "sign result cache entry %.12s", action_hex);
  return 0;
}

/* ---- trust */

int
cache_trust_add (struct cache_trust *t, const char *spec, ohr_error_t *err)
{
  if (strcmp (spec, "any") == 0)
    {
      t->any = true;
      return 0;
    }
  cleanup_pkey EVP_PKEY *k = NULL;
  cleanup_free char *id = NULL;
  if (attest_key_load (spec, false, &k, err) < 0
      || attest_key_hex (k, &id, err) < 0)
    return ohr_error_wrap (err, "result cache trust");
  struct cache_trust_key *keys
      = reallocarray (t->keys, t->n + 1, sizeof *keys);
  if (keys == NULL)
    return ohr_error_nomem (err);
  t->keys = keys;
  t->keys[t->n].k = steal_pointer (&k);
  t->keys[t->n].id = steal_pointer (&id);
  t->n++;
  return 0;
}

void
cache_trust_clear (struct cache_trust *t)
{
  for (size_t i = 0; i < t->n; i++)
    {
      EVP_PKEY_free (t->keys[i].k);
      free (t->keys[i].id);
    }
  free (t->keys);
  memset (t, 0, sizeof *t);
}

/* ---- verification */

DEFINE_CLEANUP_CLEAR (envelope, struct dsse_envelope, dsse_envelope_clear)
#define cleanup_envelope CLEANUP (envelope)

static int verdict (enum cache_verdict v, enum cache_verdict *out_v,
                    char **out_reason, ohr_error_t *err, const char *fmt, ...)
    __attribute__ ((format (printf, 5, 6)));

static int
verdict (enum cache_verdict v, enum cache_verdict *out_v, char **out_reason,
         ohr_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  int r = vasprintf (out_reason, fmt, ap);
  va_end (ap);
  if (r < 0)
    {
      *out_reason = NULL;
      return ohr_error_nomem (err);
    }
  *out_v = v;
  return 0;
}

/* The digest payload names at "KEY": {"sha256": HEX}, or NULL. */
static const char *
named_digest (yajl_val payload, const char *key)
{
  yajl_val o = json_get (payload, key);
  yajl_val d = o && YAJL_IS_OBJECT (o) ? json_get (o, "sha256") : NULL;
  return d && YAJL_IS_STRING (d) ? d->u.string : NULL;
}

/* Why the payload does not bind action_hex to result_hex; NULL when it
 * does. */
static const char *
payload_mismatch (const struct dsse_envelope *e, const char *action_hex,
                  const char *result_hex)
{
  ohr_error_t perr = NULL;
  cleanup_yajl_val yajl_val p = NULL;
  if (json_parse_strict (e->payload, e->len, ENVELOPE_MAX, 8, OHR_ERR_INTERNAL,
                         "payload", &p, &perr)
      < 0)
    {
      ohr_error_free (&perr);
      return "the payload is not a JSON object";
    }
  yajl_val type = json_get (p, "_type");
  if (type == NULL || !YAJL_IS_STRING (type)
      || strcmp (type->u.string, CACHE_SIGN_ENTRY_TYPE) != 0)
    return "the payload is not a result cache entry";
  const char *a = named_digest (p, "action");
  const char *r = named_digest (p, "actionResult");
  if (a == NULL || strcmp (a, action_hex) != 0)
    return "the payload names another action";
  if (r == NULL || strcmp (r, result_hex) != 0)
    return "the payload names another action result";
  return NULL;
}

static const struct cache_trust_key *
trusted_id (const struct cache_trust *t, const char *id)
{
  for (size_t i = 0; id && i < t->n; i++)
    if (strcmp (t->keys[i].id, id) == 0)
      return &t->keys[i];
  return NULL;
}

int
cache_verify_entry (const struct cache_trust *t, const char *envelope,
                    size_t len, const char *action_hex, const char *result_hex,
                    enum cache_verdict *out_verdict, char **out_reason,
                    ohr_error_t *err)
{
  cleanup_envelope struct dsse_envelope e = { 0 };
  cleanup_free char *why = NULL;
  int r = dsse_parse (envelope, len, ENVELOPE_MAX, CACHE_SIGN_PAYLOAD_TYPE, &e,
                      &why, err);
  if (r < 0)
    return -1;
  if (r > 0)
    return verdict (CACHE_TAMPERED, out_verdict, out_reason, err,
                    "tampered: %s", why);
  const char *mismatch = payload_mismatch (&e, action_hex, result_hex);
  if (mismatch)
    return verdict (CACHE_TAMPERED, out_verdict, out_reason, err,
                    "tampered: %s", mismatch);

  size_t n = dsse_signature_count (&e);
  /* By key id first; then every signature against every key, since a
   * key id is only a hint the signer wrote. */
  for (size_t i = 0; i < n; i++)
    {
      const struct cache_trust_key *k
          = trusted_id (t, dsse_signature_keyid (&e, i));
      if (k && dsse_signature_verifies (&e, i, k->k))
        return verdict (CACHE_TRUSTED, out_verdict, out_reason, err,
                        "signed by key %.*s", KEYID_SHOWN, k->id);
    }
  for (size_t j = 0; j < t->n; j++)
    if (dsse_verified_by (&e, t->keys[j].k))
      return verdict (CACHE_TRUSTED, out_verdict, out_reason, err,
                      "signed by key %.*s", KEYID_SHOWN, t->keys[j].id);
  for (size_t i = 0; i < n; i++)
    {
      const struct cache_trust_key *k
          = trusted_id (t, dsse_signature_keyid (&e, i));
      if (k)
        return verdict (CACHE_TAMPERED, out_verdict, out_reason, err,
                        "tampered: the signature by trusted key %.*s does "
                        "not verify",
                        KEYID_SHOWN, k->id);
    }
  if (t->any)
    return verdict (CACHE_TRUSTED, out_verdict, out_reason, err,
                    "trusted without a signature check (trust: any)");
  const char *id = n > 0 ? dsse_signature_keyid (&e, 0) : NULL;
  if (id == NULL)
    return verdict (CACHE_UNTRUSTED, out_verdict, out_reason, err,
                    "untrusted: %s",
                    n ? "a signature without a key id" : "not signed");
  char shown[KEYID_SHOWN + 1];
  size_t m = 0;
  for (; id[m] && m < KEYID_SHOWN; m++)
    shown[m] = (id[m] >= 0x21 && id[m] < 0x7f) ? id[m] : '?';
  shown[m] = '\0';
  return verdict (CACHE_UNTRUSTED, out_verdict, out_reason, err,
                  "untrusted: signed by key %s, which is not trusted "
                  "(--result-cache-trust)",
                  shown);
}
