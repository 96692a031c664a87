/* clip.c: see clip.h */
#include "util/clip.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool
kept (unsigned char c, enum clip_charset cs)
{
  if (c < 0x20 || c == 0x7f)
    return false;
  return c < 0x80 || cs == CLIP_UTF8;
}

size_t
clip_append (char *buf, size_t size, size_t at, const char *s,
             enum clip_charset cs)
{
  if (size == 0)
    return 0;
  size_t n = 0;
  for (; s[n] && n < CLIP_LEN && at + 1 < size; n++)
    buf[at++] = kept ((unsigned char)s[n], cs) ? s[n] : '?';
  if (s[n] && at + 3 < size)
    {
      memcpy (buf + at, "...", 3);
      at += 3;
    }
  buf[at] = '\0';
  return at;
}

const char *
clip (const char *s, enum clip_charset cs, char buf[CLIP_SIZE])
{
  clip_append (buf, CLIP_SIZE, 0, s, cs);
  return buf;
}

char *
clip_file_name (const char *s)
{
  char *c = strdup (s && *s ? s : "unknown");
  for (char *p = c; p && *p; p++)
    if (!clip_name_char (*p) && *p != '+')
      *p = '_';
  return c;
}
