/* fuzz-www-authenticate.c: libFuzzer target for www_authenticate_parse,
 * the parser of the challenge any server can answer a 401 with.  A parsed
 * challenge has a scheme that is one token; written back as
 * SCHEME realm="..." service="..." (quotes and backslashes escaped) it
 * must parse to the same fields.  A failure is one line, of kind image,
 * and leaves *out alone. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "registry/www-authenticate.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static bool
same (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

/* ` KEY="VALUE"` with " and \ escaped, at w; returns the end. */
static char *
put_param (char *w, const char *key, const char *value)
{
  if (value == NULL)
    return w;
  w += sprintf (w, " %s=\"", key);
  for (; *value; value++)
    {
      if (*value == '"' || *value == '\\')
        *w++ = '\\';
      *w++ = *value;
    }
  *w++ = '"';
  *w = '\0';
  return w;
}

static void
check_round_trip (const struct www_authenticate *ch)
{
  if (ch->scheme == NULL || ch->scheme[0] == '\0'
      || ch->scheme[strcspn (ch->scheme, " \t,=\"")] != '\0')
    abort ();
  size_t n = strlen (ch->scheme) + 2 * (ch->realm ? strlen (ch->realm) : 0)
             + 2 * (ch->service ? strlen (ch->service) : 0) + 64;
  char *text = malloc (n);
  if (text == NULL)
    return;
  char *w = text + sprintf (text, "%s", ch->scheme);
  w = put_param (w, "realm", ch->realm);
  put_param (w, "service", ch->service);
  struct www_authenticate again;
  ohr_error_t err = NULL;
  if (www_authenticate_parse (text, &again, &err) < 0)
    abort ();
  if (!same (again.scheme, ch->scheme) || !same (again.realm, ch->realm)
      || !same (again.service, ch->service))
    abort ();
  www_authenticate_clear (&again);
  free (text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = malloc (size + 1);
  if (text == NULL)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';
  struct www_authenticate ch = { 0 };
  ohr_error_t err = NULL;
  if (www_authenticate_parse (text, &ch, &err) == 0)
    {
      check_round_trip (&ch);
      www_authenticate_clear (&ch);
    }
  else
    {
      if (err == NULL || err->msg == NULL || strchr (err->msg, '\n')
          || (err->kind != OHR_ERR_IMAGE && err->status != ENOMEM)
          || ch.scheme != NULL)
        abort ();
      ohr_error_free (&err);
    }
  free (text);
  return 0;
}
