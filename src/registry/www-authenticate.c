/* www-authenticate.c: see www-authenticate.h */
#define _GNU_SOURCE
#include "registry/www-authenticate.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/cleanup.h"

void
www_authenticate_clear (struct www_authenticate *ch)
{
  free_many (ch->scheme, ch->realm, ch->service);
  memset (ch, 0, sizeof *ch);
}

/* Commas separate parameters (and challenges): skipped like blanks. */
static const char *
skip_ws (const char *p)
{
  while (*p == ' ' || *p == '\t' || *p == ',')
    p++;
  return p;
}

static char *
read_token (const char **pp)
{
  const char *p = *pp;
  size_t n = strcspn (p, " \t,=\"");
  *pp = p + n;
  return strndup (p, n);
}

/* At the opening quote: the text up to the closing one, unescaped. */
static char *
read_quoted (const char **pp)
{
  const char *p = *pp + 1;
  char *out = malloc (strlen (p) + 1);
  size_t n = 0;
  if (out == NULL)
    return NULL;
  for (; *p && *p != '"'; p++)
    {
      if (*p == '\\' && p[1])
        p++;
      out[n++] = *p;
    }
  out[n] = '\0';
  *pp = *p ? p + 1 : p;
  return out;
}

/* Takes value. */
static void
set_param (struct www_authenticate *ch, const char *key, char *value)
{
  char **slot = NULL;
  if (strcasecmp (key, "realm") == 0)
    slot = &ch->realm;
  else if (strcasecmp (key, "service") == 0)
    slot = &ch->service;
  if (slot && *slot == NULL)
    *slot = value;
  else
    free (value);
}

/* The parameters after the scheme; -1 only on ENOMEM. */
static int
parse_params (const char *p, struct www_authenticate *ch)
{
  for (;;)
    {
      p = skip_ws (p);
      cleanup_free char *key = read_token (&p);
      if (key == NULL)
        return -1;
      if (*key == '\0')
        return 0; /* a stray '=' or quote: nothing more we can read */
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p != '=')
        return 0; /* a token alone: the next challenge's scheme */
      p++;
      while (*p == ' ' || *p == '\t')
        p++;
      char *value = *p == '"' ? read_quoted (&p) : read_token (&p);
      if (value == NULL)
        return -1;
      set_param (ch, key, value);
    }
}

int
www_authenticate_parse (const char *value, struct www_authenticate *out,
                        ohr_error_t *err)
{
  struct www_authenticate ch = { 0 };
  const char *p = skip_ws (value);
  int r = 0;
  ch.scheme = read_token (&p);
  if (ch.scheme && *ch.scheme == '\0')
    r = ohr_error_set (err, EPROTO, OHR_ERR_IMAGE,
                       "WWW-Authenticate challenge without a scheme");
  else if (ch.scheme == NULL || parse_params (p, &ch) < 0)
    r = ohr_error_nomem (err);
  if (r < 0)
    {
      www_authenticate_clear (&ch);
      return r;
    }
  *out = ch;
  return 0;
}
