/* fuzz-manifest.c: libFuzzer target for manifest_parse and
 * manifest_select_platform.  Beyond "no crash, no leak" it checks what a
 * caller relies on: every digest of a parsed manifest is valid, every size
 * non-negative, every error one line. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/digest.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check_descriptor (const struct oci_descriptor *d)
{
  if (!digest_valid (d->digest) || d->size < 0 || d->media_type == NULL)
    abort ();
}

static void
check_error (ohr_error_t *err)
{
  if (*err == NULL || (*err)->msg == NULL || strchr ((*err)->msg, '\n'))
    abort ();
  ohr_error_free (err);
}

static void
select_some (const struct oci_manifest *m)
{
  static const char *const platforms[][3] = {
    { "linux", "amd64", NULL },
    { "linux", "arm64", "v8" },
    { "linux", "arm", "v7" },
  };
  for (size_t i = 0; i < sizeof platforms / sizeof *platforms; i++)
    {
      const struct oci_descriptor *d = NULL;
      ohr_error_t err = NULL;
      if (manifest_select_platform (m, platforms[i][0], platforms[i][1],
                                    platforms[i][2], &d, &err)
          == 0)
        check_descriptor (d);
      else
        check_error (&err);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct oci_manifest m;
  ohr_error_t err = NULL;
  if (manifest_parse ((const char *)data, size, &m, &err) < 0)
    {
      check_error (&err);
      return 0;
    }
  if (m.kind == MANIFEST_IMAGE)
    {
      check_descriptor (&m.config);
      for (size_t i = 0; i < m.n_layers; i++)
        check_descriptor (&m.layers[i]);
    }
  else
    {
      for (size_t i = 0; i < m.n_manifests; i++)
        check_descriptor (&m.manifests[i]);
      select_some (&m);
    }
  manifest_clear (&m);
  return 0;
}
