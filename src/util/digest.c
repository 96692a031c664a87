/* digest.c: see digest.h (validation only; hashing is in digest-sha256.c) */
#define _GNU_SOURCE
#include "util/digest.h"

#include <string.h>

bool
digest_hex_valid (const char *h)
{
  if (h == NULL)
    return false;
  size_t n = 0;
  for (; h[n]; n++)
    if (!((h[n] >= '0' && h[n] <= '9') || (h[n] >= 'a' && h[n] <= 'f')))
      return false;
  return n == 64;
}

bool
digest_valid (const char *s)
{
  return s != NULL && strncmp (s, "sha256:", 7) == 0
         && digest_hex_valid (s + 7);
}
