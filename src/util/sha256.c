/* digest-sha256.c: see digest.h.  Apart from digest.c so that code which
 * only validates digests (run mode) does not pull in libcrypto. */
#define _GNU_SOURCE
#include "util/digest.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"

struct digest_ctx
{
  EVP_MD_CTX *md;
};

static void
format_digest (const unsigned char *md, char *out)
{
  static const char hex[] = "0123456789abcdef";
  memcpy (out, "sha256:", 7);
  for (int i = 0; i < 32; i++)
    {
      out[7 + 2 * i] = hex[md[i] >> 4];
      out[8 + 2 * i] = hex[md[i] & 15];
    }
  out[DIGEST_STRING_LEN] = '\0';
}

void
digest_sha256 (const void *data, size_t len, char *out)
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_Digest (data, len, md, &n, EVP_sha256 (), NULL);
  format_digest (md, out);
}

struct digest_ctx *
digest_new (void)
{
  struct digest_ctx *c = calloc (1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->md = EVP_MD_CTX_new ();
  if (c->md == NULL || EVP_DigestInit_ex (c->md, EVP_sha256 (), NULL) != 1)
    {
      digest_free (c);
      return NULL;
    }
  return c;
}

void
digest_update (struct digest_ctx *c, const void *data, size_t len)
{
  EVP_DigestUpdate (c->md, data, len);
}

void
digest_final (struct digest_ctx *c, char *out)
{
  unsigned char md[32];
  unsigned int n = 0;
  EVP_DigestFinal_ex (c->md, md, &n);
  format_digest (md, out);
}

void
digest_free (struct digest_ctx *c)
{
  if (c == NULL)
    return;
  EVP_MD_CTX_free (c->md);
  free (c);
}
