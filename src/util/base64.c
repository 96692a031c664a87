/* base64.c: see base64.h */
#include "util/base64.h"

#include <stdlib.h>
#include <string.h>

char *
base64_encode (const void *data, size_t n)
{
  static const char tab[]
      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const unsigned char *p = data;
  char *out = malloc ((n + 2) / 3 * 4 + 1);
  if (out == NULL)
    return NULL;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3)
    {
      unsigned v = (unsigned)p[i] << 16;
      if (i + 1 < n)
        v |= (unsigned)p[i + 1] << 8;
      if (i + 2 < n)
        v |= p[i + 2];
      out[o++] = tab[(v >> 18) & 63];
      out[o++] = tab[(v >> 12) & 63];
      out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
      out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
  out[o] = '\0';
  return out;
}

static int
value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+' || c == '-')
    return 62;
  if (c == '/' || c == '_')
    return 63;
  return -1;
}

int
base64_decode (const char *s, unsigned char **out, size_t *out_len)
{
  size_t n = strlen (s);
  while (n > 0 && s[n - 1] == '=')
    n--;
  if (n % 4 == 1 || strlen (s) - n > 2)
    return -1;
  unsigned char *buf = malloc (n * 3 / 4 + 1);
  if (buf == NULL)
    return -1;
  size_t o = 0;
  unsigned acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++)
    {
      int v = value (s[i]);
      if (v < 0)
        {
          free (buf);
          return -1;
        }
      acc = (acc << 6) | (unsigned)v;
      bits += 6;
      if (bits >= 8)
        {
          bits -= 8;
          buf[o++] = (unsigned char)(acc >> bits);
          acc &= (1u << bits) - 1;
        }
    }
  buf[o] = '\0';
  *out = buf;
  *out_len = o;
  return 0;
}
