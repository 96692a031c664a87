/* dsse.c: DSSE envelopes (dsse.h) of any payload type: the
 * pre-authentication encoding, signing, reading back and checking
 * signatures; and for the attest helper (payloadType
 * application/vnd.in-toto+json), opening with a public key and reading a
 * statement file that may be either. */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "attest/dsse.h"
#include "attest/internal.h"
#include "attest/keys.h"
#include "util/base64.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/jsongen.h"
#include "util/yajl.h"

char *
attest_dsse_pae (const char *type, const char *payload, size_t len,
                 size_t *out_len)
{
  char *head = NULL;
  int n = asprintf (&head, "DSSEv1 %zu %s %zu ", strlen (type), type, len);
  if (n < 0)
    return NULL;
  char *buf = malloc ((size_t)n + len + 1);
  if (buf)
    {
      memcpy (buf, head, (size_t)n);
      if (len)
        memcpy (buf + n, payload, len);
      buf[(size_t)n + len] = '\0';
      *out_len = (size_t)n + len;
    }
  free (head);
  return buf;
}

int
dsse_sign (const char *type, const char *payload, size_t len, EVP_PKEY *k,
           char **out, size_t *out_len, ohr_error_t *err)
{
  size_t pae_len = 0;
  cleanup_free char *pae = attest_dsse_pae (type, payload, len, &pae_len);
  cleanup_free char *keyid = NULL;
  if (pae == NULL)
    return ohr_error_nomem (err);
  if (attest_key_hex (k, &keyid, err) < 0)
    return -1;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  size_t sig_len = 0;
  cleanup_free unsigned char *sig = NULL;
  int ok
      = ctx && EVP_DigestSignInit (ctx, NULL, NULL, NULL, k) == 1
        && EVP_DigestSign (ctx, NULL, &sig_len, (unsigned char *)pae, pae_len)
               == 1
        && (sig = malloc (sig_len)) != NULL
        && EVP_DigestSign (ctx, sig, &sig_len, (unsigned char *)pae, pae_len)
               == 1;
  EVP_MD_CTX_free (ctx);
  if (!ok)
    return attest_ssl_fail (err, "cannot sign");
  cleanup_free char *b64_payload
      = base64_encode ((const unsigned char *)payload, len);
  cleanup_free char *b64_sig = base64_encode (sig, sig_len);
  if (b64_payload == NULL || b64_sig == NULL)
    return ohr_error_nomem (err);
  yajl_gen g = yajl_gen_alloc (NULL);
  if (g == NULL)
    return ohr_error_nomem (err);
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "payload", b64_payload));
  G (gen_kv (g, "payloadType", type));
  G (gen_str (g, "signatures"));
  G (yajl_gen_array_open (g));
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "keyid", keyid));
  G (gen_kv (g, "sig", b64_sig));
  G (yajl_gen_map_close (g));
  G (yajl_gen_array_close (g));
  G (yajl_gen_map_close (g));
fail:
  return attest_gen_finish (g, st, out, out_len, err);
}

int
attest_dsse_sign (const char *payload, size_t len, const char *key_path,
                  char **out, size_t *out_len, ohr_error_t *err)
{
  cleanup_pkey EVP_PKEY *k = NULL;
  if (attest_key_load (key_path, true, &k, err) < 0)
    return ohr_error_wrap (err, "sign");
  if (dsse_sign (ATTEST_PAYLOAD_TYPE, payload, len, k, out, out_len, err) < 0)
    return ohr_error_wrap (err, "'%s'", key_path);
  return 0;
}

/* The decoded payload of an envelope; NULL and *why (fresh; NULL when
 * out of memory) when malformed or of another type than want_type. */
static unsigned char *
envelope_payload (yajl_val root, const char *want_type, size_t *out_len,
                  char **why)
{
  static const char *const type_path[] = { "payloadType", NULL };
  static const char *const payload_path[] = { "payload", NULL };
  const char *type = attest_str_at (root, type_path);
  const char *payload = attest_str_at (root, payload_path);
  unsigned char *buf = NULL;
  *why = NULL;
  if (type == NULL || payload == NULL)
    *why = strdup ("not a DSSE envelope (payloadType, payload)");
  else if (strcmp (type, want_type) != 0)
    {
      if (asprintf (why, "payloadType is not %s", want_type) < 0)
        *why = NULL;
    }
  else if (base64_decode (payload, &buf, out_len) < 0)
    *why = strdup ("payload is not base64");
  return buf;
}

static bool
signature_verifies (EVP_PKEY *k, const char *b64_sig, const char *pae,
                    size_t pae_len)
{
  unsigned char *sig = NULL;
  size_t sig_len = 0;
  if (b64_sig == NULL || base64_decode (b64_sig, &sig, &sig_len) < 0)
    return false;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new ();
  bool ok = ctx && EVP_DigestVerifyInit (ctx, NULL, NULL, NULL, k) == 1
            && EVP_DigestVerify (ctx, sig, sig_len, (const unsigned char *)pae,
                                 pae_len)
                   == 1;
  EVP_MD_CTX_free (ctx);
  free (sig);
  ERR_clear_error ();
  return ok;
}

void
dsse_envelope_clear (struct dsse_envelope *e)
{
  if (e->root)
    yajl_tree_free (e->root);
  free_many (e->payload, e->pae);
  memset (e, 0, sizeof *e);
}

int
dsse_parse (const char *envelope, size_t len, size_t max, const char *type,
            struct dsse_envelope *out, char **out_reason, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  *out_reason = NULL;
  ohr_error_t perr = NULL;
  if (runrecord_json_parse (envelope, len, max, "envelope", &out->root, &perr)
      < 0)
    {
      *out_reason = strdup (perr ? perr->msg : "invalid envelope");
      ohr_error_free (&perr);
      return *out_reason ? 1 : ohr_error_nomem (err);
    }
  size_t plen = 0;
  unsigned char *payload
      = envelope_payload (out->root, type, &plen, out_reason);
  if (payload == NULL)
    {
      dsse_envelope_clear (out);
      return *out_reason ? 1 : ohr_error_nomem (err);
    }
  out->payload = (char *)payload; /* base64_decode NUL-terminates it */
  out->len = plen;
  out->pae = attest_dsse_pae (type, out->payload, plen, &out->pae_len);
  if (out->pae == NULL)
    {
      dsse_envelope_clear (out);
      return ohr_error_nomem (err);
    }
  static const char *const sigs_path[] = { "signatures", NULL };
  out->sigs
      = yajl_tree_get (out->root, (const char **)sigs_path, yajl_t_array);
  return 0;
}

size_t
dsse_signature_count (const struct dsse_envelope *e)
{
  return e->sigs ? e->sigs->u.array.len : 0;
}

static const char *
signature_field (const struct dsse_envelope *e, size_t i, const char *name)
{
  const char *path[] = { name, NULL };
  yajl_val s = e->sigs->u.array.values[i];
  return YAJL_IS_OBJECT (s) ? attest_str_at (s, path) : NULL;
}

const char *
dsse_signature_keyid (const struct dsse_envelope *e, size_t i)
{
  return signature_field (e, i, "keyid");
}

bool
dsse_signature_verifies (const struct dsse_envelope *e, size_t i, EVP_PKEY *k)
{
  return signature_verifies (k, signature_field (e, i, "sig"), e->pae,
                             e->pae_len);
}

bool
dsse_verified_by (const struct dsse_envelope *e, EVP_PKEY *k)
{
  for (size_t i = 0; i < dsse_signature_count (e); i++)
    if (dsse_signature_verifies (e, i, k))
      return true;
  return false;
}

DEFINE_CLEANUP_CLEAR (envelope, struct dsse_envelope, dsse_envelope_clear)
#define cleanup_envelope CLEANUP (envelope)

int
attest_dsse_open (const char *envelope, size_t len, const char *pub_path,
                  char **out_payload, size_t *out_len, bool *out_valid,
                  char **out_reason, ohr_error_t *err)
{
  cleanup_pkey EVP_PKEY *k = NULL;
  cleanup_free char *keyid = NULL;
  if (attest_key_load (pub_path, false, &k, err) < 0
      || attest_key_hex (k, &keyid, err) < 0)
    return -1;
  *out_valid = false;
  *out_reason = NULL;
  cleanup_envelope struct dsse_envelope e = { 0 };
  int r = dsse_parse (envelope, len, ATTEST_MAX_SIZE, ATTEST_PAYLOAD_TYPE, &e,
                      out_reason, err);
  if (r != 0)
    return r < 0 ? -1 : 0;
  *out_valid = dsse_verified_by (&e, k);
  if (!*out_valid
      && asprintf (out_reason,
                   "no signature verifies with key '%s' (keyid %.16s...)",
                   pub_path, keyid)
             < 0)
    return ohr_error_nomem (err);
  *out_payload = steal_pointer (&e.payload);
  *out_len = e.len;
  return 0;
}

int
attest_load (const char *path, char **out_payload, size_t *out_len,
             bool *out_envelope, ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, ATTEST_MAX_SIZE, &data, &len, err) < 0)
    return -1;
  cleanup_free char *what = NULL;
  if (asprintf (&what, "'%s'", path) < 0)
    return ohr_error_nomem (err);
  cleanup_yajl_val yajl_val root = NULL;
  if (runrecord_json_parse (data, len, ATTEST_MAX_SIZE, what, &root, err) < 0)
    return -1;
  static const char *const type_path[] = { "payloadType", NULL };
  if (yajl_tree_get (root, (const char **)type_path, yajl_t_any) == NULL)
    {
      *out_payload = steal_pointer (&data);
      *out_len = len;
      *out_envelope = false;
      return 0;
    }
  cleanup_free char *why = NULL;
  size_t plen = 0;
  unsigned char *payload
      = envelope_payload (root, ATTEST_PAYLOAD_TYPE, &plen, &why);
  if (payload == NULL)
    return attest_bad (err, what, "%s", why ? why : "out of memory");
  char *p = realloc (payload, plen + 1);
  if (p == NULL)
    {
      free (payload);
      return ohr_error_nomem (err);
    }
  p[plen] = '\0';
  *out_payload = p;
  *out_len = plen;
  *out_envelope = true;
  return 0;
}
