/* clip.h: text from a file, a registry or a tarball, fit for a one-line
 * message: control characters become '?', and text longer than CLIP_LEN
 * bytes is cut and ends in "...".  And text fit for a file name. */
#ifndef OHR_UTIL_CLIP_H
#define OHR_UTIL_CLIP_H

#include <stdbool.h>
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

/* A byte of the names Cargo and the runner make (paths, run ids):
 * [A-Za-z0-9._-]. */
static inline bool
clip_name_char (char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
         || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

/* s as part of a file name: every byte but clip_name_char's and '+'
 * becomes '_', and NULL or "" is "unknown".  NULL when out of memory. */
char *clip_file_name (const char *s);

#endif
