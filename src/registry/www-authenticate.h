/* www-authenticate.h: the parser of a WWW-Authenticate header value, the
 * challenge a registry answers a 401 with.
 *
 * The value comes from whatever server the registry name resolves to, and
 * its realm decides where credentials go, so the parser is on its own:
 * pure (no I/O, no libcurl), fuzzed (fuzz/fuzz-www-authenticate.c) and
 * unit-tested on real registries' challenges
 * (tests/unit/test-registry-auth.c).  Whether the realm may be sent
 * anything is decided by its caller, auth.c.
 */
#ifndef OHR_REGISTRY_WWW_AUTHENTICATE_H
#define OHR_REGISTRY_WWW_AUTHENTICATE_H

#include "util/error.h"

/* One challenge: the parameters we use, each NULL when absent. */
struct www_authenticate
{
  char *scheme;  /* as sent ("Bearer", "Basic"): compare case-insensitively */
  char *realm;   /* Bearer: the token server's URL */
  char *service; /* Bearer: passed on to the token server */
};

/* The first challenge of value: a scheme token, then key=token or
 * key="quoted" parameters (a backslash escapes the next character; an
 * unterminated quote ends with the value) up to the next scheme.  Keys are
 * case-insensitive; the first of a repeated key counts; parameters other
 * than realm and service are skipped.  Fails only when there is no scheme
 * (or on ENOMEM); *out is set only on success. */
int www_authenticate_parse (const char *value, struct www_authenticate *out,
                            ohr_error_t *err);

void www_authenticate_clear (struct www_authenticate *ch);

#endif
