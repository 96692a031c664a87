/* fuzz-config.c: libFuzzer target for image_config_parse.  Checks that a
 * parsed config has os and architecture, NAME=VALUE environment entries,
 * valid diff_ids, and that every error is one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_config (const struct oci_image_config *c)
{
  if (c->os == NULL || c->architecture == NULL || c->diff_ids == NULL)
    abort ();
  if (c->workdir && c->workdir[0] == '\0')
    abort ();
  for (size_t i = 0; c->env && c->env[i]; i++)
    {
      const char *eq = strchr (c->env[i], '=');
      if (eq == NULL || eq == c->env[i])
        abort ();
    }
  for (size_t i = 0; c->diff_ids[i]; i++)
    if (!digest_valid (c->diff_ids[i]))
      abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct oci_image_config c;
  ohr_error_t err = NULL;
  if (image_config_parse ((const char *)data, size, &c, &err) < 0)
    {
      if (err == NULL || err->msg == NULL || strchr (err->msg, '\n'))
        abort ();
      ohr_error_free (&err);
      return 0;
    }
  check_config (&c);
  image_config_clear (&c);
  return 0;
}
