/* clip.h: text from a file, a registry or a tarball, fit for a one-line
 * message: control characters become '?', and text longer than CLIP_LEN
 * bytes is cut and ends in "...". */
#ifndef OHR_UTIL_CLIP_H
#define OHR_UTIL_CLIP_H

#include <stddef.h>

#define CLIP_LEN 80
#define CLIP_SIZE (CLIP_LEN + 4)

/* Which bytes are kept as they are. */
enum clip_charset
{
  CLIP_UTF8,  /* printable ASCII and bytes >= 0x80: the user's own files */
  CLIP_ASCII, /* printable ASCII only: untrusted input */
};

/* Append s, clipped, at buf[at] (size: all of buf); returns the new end.
 * buf stays NUL-terminated. */
size_t clip_append (char *buf, size_t size, size_t at, const char *s,
                    enum clip_charset cs);

/* s clipped into buf, which is returned. */
const char *clip (const char *s, enum clip_charset cs, char buf[CLIP_SIZE]);

#endif
