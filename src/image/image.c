/* image.c: reference dispatch for the image interface (see image.h). */
#define _GNU_SOURCE
#include "image/image.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "image/ref.h"
#include "util/cleanup.h"
#include "util/strv.h"

const char *
image_files_root (const struct image *img)
{
  /* only the host image has no digest */
  return img->digest ? img->rootfs : NULL;
}

void
image_free (struct image *img)
{
  if (img == NULL)
    return;
  free_many (img->ref, img->digest, img->rootfs, img->workdir);
  mounts_free (&img->binds);
  strv_free (img->env);
  strv_free (img->notes);
  free (img);
}

int
image_open (const char *ref, const struct image_options *opts,
            struct image **out, ohr_error_t *err)
{
  if (ref == NULL || *ref == '\0')
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE, "empty image reference");
  struct image *img = calloc (1, sizeof *img);
  if (img == NULL || (img->ref = strdup (ref)) == NULL)
    {
      image_free (img);
      return ohr_error_nomem (err);
    }
  cleanup_image struct image *owned = img;
  struct imageref parsed = { 0 };
  if (imageref_parse (ref, &parsed, err) < 0)
    return -1;
  int r = parsed.kind == IMAGEREF_HOST
              ? image_host_open (opts, img, err)
              : image_oci_open (&parsed, opts, img, err);
  imageref_clear (&parsed);
  if (r < 0)
    return ohr_error_wrap (err, "image '%s'", ref);
  *out = steal_pointer (&owned);
  return 0;
}
