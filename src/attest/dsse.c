/* dsse.c: DSSE envelopes (payloadType application/vnd.in-toto+json):
 * the pre-authentication encoding, signing, opening with a public key,
 * and reading a statement file that may be either. */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

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
attest_dsse_sign (const char *payload, size_t len, const char *key_path,
                  char **out, size_t *out_len, ohr_error_t *err)
{
  cleanup_pkey EVP_PKEY *k = NULL;
  if (attest_key_load (key_path, true, &k, err) < 0)
    return ohr_error_wrap (err, "sign");
  size_t pae_len = 0;
  cleanup_free char *pae
      = attest_dsse_pae (ATTEST_PAYLOAD_TYPE, payload, len, &pae_len);
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
    return attest_ssl_fail (err, "cannot sign with '%s'", key_path);
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
  G (gen_kv (g, "payloadType", ATTEST_PAYLOAD_TYPE));
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

/* The decoded payload of an envelope; NULL and *why when malformed. */
static unsigned char *
envelope_payload (yajl_val root, size_t *out_len, const char **why)
{
  static const char *const type_path[] = { "payloadType", NULL };
  static const char *const payload_path[] = { "payload", NULL };
  const char *type = attest_str_at (root, type_path);
  const char *payload = attest_str_at (root, payload_path);
  unsigned char *buf = NULL;
  if (type == NULL || payload == NULL)
    *why = "not a DSSE envelope (payloadType, payload)";
  else if (strcmp (type, ATTEST_PAYLOAD_TYPE) != 0)
    *why = "payloadType is not " ATTEST_PAYLOAD_TYPE;
  else if (base64_decode (payload, &buf, out_len) < 0)
    *why = "payload is not base64";
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
  ohr_error_t perr = NULL;
  cleanup_yajl_val yajl_val root = NULL;
  if (runrecord_json_parse (envelope, len, ATTEST_MAX_SIZE, "envelope", &root,
                            &perr)
      < 0)
    {
      *out_reason = strdup (perr ? perr->msg : "invalid envelope");
      ohr_error_free (&perr);
      return *out_reason ? 0 : ohr_error_nomem (err);
    }
  const char *why = NULL;
  size_t plen = 0;
  cleanup_free unsigned char *payload = envelope_payload (root, &plen, &why);
  if (payload == NULL)
    {
      *out_reason = strdup (why ? why : "out of memory");
      return *out_reason ? 0 : ohr_error_nomem (err);
    }
  size_t pae_len = 0;
  cleanup_free char *pae = attest_dsse_pae (
      ATTEST_PAYLOAD_TYPE, (const char *)payload, plen, &pae_len);
  if (pae == NULL)
    return ohr_error_nomem (err);
  static const char *const sigs_path[] = { "signatures", NULL };
  static const char *const sig_path[] = { "sig", NULL };
  yajl_val sigs = yajl_tree_get (root, (const char **)sigs_path, yajl_t_array);
  for (size_t i = 0; sigs && i < sigs->u.array.len && !*out_valid; i++)
    {
      yajl_val s = sigs->u.array.values[i];
      if (YAJL_IS_OBJECT (s)
          && signature_verifies (k, attest_str_at (s, sig_path), pae, pae_len))
        *out_valid = true;
    }
  if (!*out_valid
      && asprintf (out_reason,
                   "no signature verifies with key '%s' (keyid %.16s...)",
                   pub_path, keyid)
             < 0)
    return ohr_error_nomem (err);
  char *p = malloc (plen + 1);
  if (p == NULL)
    return ohr_error_nomem (err);
  memcpy (p, payload, plen);
  p[plen] = '\0';
  *out_payload = p;
  *out_len = plen;
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
  const char *why = NULL;
  size_t plen = 0;
  unsigned char *payload = envelope_payload (root, &plen, &why);
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
