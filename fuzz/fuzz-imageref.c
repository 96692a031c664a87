/* fuzz-imageref.c: libFuzzer target for imageref_parse.  A parsed
 * reference's canonical form must parse again to the same reference (the
 * store keys images by it); every error must be one usage-error line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "image/ref.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static bool
same (const char *a, const char *b)
{
  return (a == NULL && b == NULL) || (a && b && strcmp (a, b) == 0);
}

static void
check_round_trip (const struct imageref *r)
{
  struct imageref again;
  ohr_error_t err = NULL;
  if (r->canonical == NULL || (r->digest && !digest_valid (r->digest)))
    abort ();
  if (imageref_parse (r->canonical, &again, &err) < 0)
    abort ();
  if (again.kind != r->kind || !same (again.canonical, r->canonical)
      || !same (again.registry, r->registry)
      || !same (again.repository, r->repository)
      || !same (again.digest, r->digest) || !same (again.path, r->path)
      || imageref_is_pinned (&again) != imageref_is_pinned (r))
    abort ();
  imageref_clear (&again);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *text = malloc (size + 1);
  if (text == NULL)
    return 0;
  memcpy (text, data, size);
  text[size] = '\0';
  struct imageref r;
  ohr_error_t err = NULL;
  if (imageref_parse (text, &r, &err) == 0)
    {
      check_round_trip (&r);
      imageref_clear (&r);
    }
  else
    {
      if (err == NULL || err->kind != OHR_ERR_USAGE || err->msg == NULL
          || strchr (err->msg, '\n'))
        abort ();
      ohr_error_free (&err);
    }
  free (text);
  return 0;
}
