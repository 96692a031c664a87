/* buf.h: the one growable byte buffer (a response body, a line being put
 * together).  What it holds is followed by a NUL, so text in it reads as
 * a C string; max, when not 0, bounds it. */
#ifndef OHR_UTIL_BUF_H
#define OHR_UTIL_BUF_H

#include <stddef.h>

struct buf
{
  char *data; /* NULL until something (even nothing: n == 0) is added */
  size_t len, cap;
  size_t max; /* 0: no bound */
};

/* Append n bytes of s: -1 when out of memory or past max, and nothing is
 * added then. */
int buf_add (struct buf *b, const void *s, size_t n);

/* Free what b holds; max stays. */
void buf_clear (struct buf *b);

#endif
