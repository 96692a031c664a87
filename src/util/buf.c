/* buf.c: see buf.h */
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

int
buf_add (struct buf *b, const void *s, size_t n)
{
  if (b->max && n > b->max - b->len)
    return -1;
  if (b->data == NULL || b->len + n + 1 > b->cap)
    {
      size_t cap = b->cap ? b->cap : 256;
      while (cap < b->len + n + 1)
        cap *= 2;
      char *nd = realloc (b->data, cap);
      if (nd == NULL)
        return -1;
      b->data = nd;
      b->cap = cap;
    }
  if (n)
    memcpy (b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return 0;
}

void
buf_clear (struct buf *b)
{
  free (b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
