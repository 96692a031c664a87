/* strv.c: see strv.h */
#define _GNU_SOURCE
#include "util/strv.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t
strv_len (char *const *v)
{
  size_t n = 0;
  while (v && v[n])
    n++;
  return n;
}

int
strv_push_owned (char ***v, char *s)
{
  if (s == NULL)
    return -1;
  size_t n = strv_len (*v);
  char **nv = realloc (*v, (n + 2) * sizeof (char *));
  if (nv == NULL)
    {
      free (s);
      return -1;
    }
  nv[n] = s;
  nv[n + 1] = NULL;
  *v = nv;
  return 0;
}

char **
strv_copy (char *const *v)
{
  char **out = NULL;
  for (size_t i = 0; v && v[i]; i++)
    if (strv_push (&out, v[i]) < 0)
      {
        strv_free (out);
        return NULL;
      }
  return out;
}

int
strv_push (char ***v, const char *s)
{
  return strv_push_owned (v, strdup (s));
}

int
strv_pushf (char ***v, const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;
  va_start (ap, fmt);
  int r = vasprintf (&s, fmt, ap);
  va_end (ap);
  if (r < 0)
    return -1;
  return strv_push_owned (v, s);
}

bool
strv_contains (char *const *v, const char *s)
{
  for (size_t i = 0; v && v[i]; i++)
    if (strcmp (v[i], s) == 0)
      return true;
  return false;
}

void
strv_free (char **v)
{
  for (size_t i = 0; v && v[i]; i++)
    free (v[i]);
  free (v);
}
