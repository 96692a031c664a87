/* base64.h: RFC 4648 base64.  Encoding uses the standard alphabet with
 * padding; decoding also takes the URL-safe alphabet and missing padding
 * (as DSSE asks of verifiers). */
#ifndef OHR_UTIL_BASE64_H
#define OHR_UTIL_BASE64_H

#include <stddef.h>

/* A fresh NUL-terminated string; NULL when out of memory. */
char *base64_encode (const void *data, size_t len);

/* 0 and a fresh buffer of *out_len bytes (NUL-terminated past them), or
 * -1 when s is not base64 or memory runs out. */
int base64_decode (const char *s, unsigned char **out, size_t *out_len);

#endif
