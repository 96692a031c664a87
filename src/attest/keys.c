/* keys.c: ed25519 keys for DSSE envelopes: generated, loaded (never
 * prompting for a passphrase) and named by key id.  libcrypto. */
#define _GNU_SOURCE
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attest/internal.h"
#include "attest/keys.h"
#include "util/cleanup.h"
#include "util/fs.h"

/* Keys are small PEM files. */
#define KEY_MAX (64 * 1024)

/* msg and OpenSSL's last error, which is then cleared. */
int
attest_ssl_fail (ohr_error_t *err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = NULL;
  int r = vasprintf (&msg, fmt, ap);
  va_end (ap);
  if (r < 0)
    msg = NULL;
  unsigned long e = ERR_peek_last_error ();
  char buf[256] = "";
  if (e)
    ERR_error_string_n (e, buf, sizeof buf);
  ERR_clear_error ();
  r = ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL, "%s%s%s",
                     msg ? msg : "out of memory", buf[0] ? ": " : "", buf);
  free (msg);
  return r;
}

/* Never prompt for a passphrase: an encrypted key fails to load. */
static int
no_passphrase (char *buf, int size, int rw, void *u)
{
  (void)buf, (void)size, (void)rw, (void)u;
  return -1;
}

int
attest_key_load (const char *path, bool private, EVP_PKEY **out,
                 ohr_error_t *err)
{
  char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, KEY_MAX, &data, &len, err) < 0)
    return ohr_error_wrap (err, "key");
  EVP_PKEY *k = NULL;
  BIO *b = BIO_new_mem_buf (data, (int)len);
  if (b && private)
    k = PEM_read_bio_PrivateKey (b, NULL, no_passphrase, NULL);
  else if (b)
    {
      k = PEM_read_bio_PUBKEY (b, NULL, no_passphrase, NULL);
      if (k == NULL)
        {
          /* the private key holds the public one too */
          BIO_free (b);
          b = BIO_new_mem_buf (data, (int)len);
          k = b ? PEM_read_bio_PrivateKey (b, NULL, no_passphrase, NULL)
                : NULL;
        }
    }
  BIO_free (b);
  OPENSSL_cleanse (data, len);
  free (data);
  if (k == NULL)
    return attest_ssl_fail (err,
                            "cannot read %s key '%s' (an unencrypted PEM)",
                            private ? "private" : "public", path);
  ERR_clear_error (); /* a failed first try leaves its error queued */
  if (EVP_PKEY_get_base_id (k) != EVP_PKEY_ED25519)
    {
      EVP_PKEY_free (k);
      return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                            "key '%s' is not an ed25519 key", path);
    }
  *out = k;
  return 0;
}

int
attest_key_hex (EVP_PKEY *k, char **out, ohr_error_t *err)
{
  unsigned char *der = NULL;
  int n = i2d_PUBKEY (k, &der);
  if (n <= 0)
    return attest_ssl_fail (err, "cannot encode the public key");
  char d[DIGEST_STRING_LEN + 1];
  digest_sha256 (der, (size_t)n, d);
  OPENSSL_free (der);
  return (*out = strdup (SHA256_HEX (d))) ? 0 : ohr_error_nomem (err);
}

int
attest_key_id (const char *path, char **out, ohr_error_t *err)
{
  cleanup_pkey EVP_PKEY *k = NULL;
  if (attest_key_load (path, false, &k, err) < 0)
    return -1;
  return attest_key_hex (k, out, err);
}

/* The PEM text a writer makes of k. */
static int
pem_of (EVP_PKEY *k, bool private, char **out, size_t *out_len,
        ohr_error_t *err)
{
  BIO *b = BIO_new (BIO_s_mem ());
  if (b == NULL)
    return ohr_error_nomem (err);
  int ok = private ? PEM_write_bio_PrivateKey (b, k, NULL, NULL, 0, NULL, NULL)
                   : PEM_write_bio_PUBKEY (b, k);
  char *data = NULL;
  long n = ok == 1 ? BIO_get_mem_data (b, &data) : 0;
  char *copy = n > 0 ? malloc ((size_t)n) : NULL;
  if (copy)
    memcpy (copy, data, (size_t)n);
  if (n > 0)
    OPENSSL_cleanse (data, (size_t)n);
  BIO_free (b);
  if (ok != 1)
    return attest_ssl_fail (err, "cannot encode the key");
  if (copy == NULL)
    return ohr_error_nomem (err);
  *out = copy;
  *out_len = (size_t)n;
  return 0;
}

int
attest_keygen (const char *prefix, char **out_keyid, ohr_error_t *err)
{
  cleanup_free char *key_path = NULL, *pub_path = NULL;
  if (asprintf (&key_path, "%s.key", prefix) < 0
      || asprintf (&pub_path, "%s.pub", prefix) < 0)
    return ohr_error_nomem (err);
  const char *exists = fs_exists (key_path)   ? key_path
                       : fs_exists (pub_path) ? pub_path
                                              : NULL;
  if (exists)
    return ohr_error_set (err, EEXIST, OHR_ERR_USAGE,
                          "'%s' exists: remove it or choose another --out "
                          "PREFIX",
                          exists);
  cleanup_pkey EVP_PKEY *k = EVP_PKEY_Q_keygen (NULL, NULL, "ED25519");
  if (k == NULL)
    return attest_ssl_fail (err, "cannot generate an ed25519 key");
  char *priv = NULL, *pub = NULL;
  size_t priv_len = 0, pub_len = 0;
  if (pem_of (k, true, &priv, &priv_len, err) < 0)
    return -1;
  int r = fs_write_new (key_path, priv, priv_len, 0600, err);
  OPENSSL_cleanse (priv, priv_len);
  free (priv);
  if (r < 0)
    return -1;
  r = pem_of (k, false, &pub, &pub_len, err);
  if (r == 0)
    r = fs_write_new (pub_path, pub, pub_len, 0644, err);
  free (pub);
  if (r == 0 && out_keyid)
    r = attest_key_hex (k, out_keyid, err);
  if (r < 0)
    {
      unlink (key_path);
      unlink (pub_path);
    }
  return r;
}
