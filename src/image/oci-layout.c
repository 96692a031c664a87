/* ocilayout.c: see ocilayout.h */
#define _GNU_SOURCE
#include "image/oci-layout.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/manifest.h"
#include "util/cleanup.h"
#include "util/fs.h"

char *
ocilayout_blob_path (const char *dir, const char *digest)
{
  const char *colon = strchr (digest, ':');
  if (colon == NULL || strchr (colon + 1, '/') || strstr (digest, ".."))
    return NULL;
  char *p = NULL;
  if (asprintf (&p, "%s/blobs/%.*s/%s", dir, (int)(colon - digest), digest,
                colon + 1)
      < 0)
    return NULL;
  return p;
}

int
ocilayout_read_blob (const char *dir, const char *digest, size_t max,
                     char **out, size_t *out_len, ohr_error_t *err)
{
  cleanup_free char *p = ocilayout_blob_path (dir, digest);
  if (p == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE, "invalid digest '%s'",
                          digest);
  if (fs_read_file (p, max, out, out_len, err) < 0)
    return ohr_error_wrap (err, "OCI layout '%s'", dir);
  return 0;
}

static const struct oci_descriptor *
pick_entry (const struct oci_manifest *idx, const char *tag,
            const char *digest)
{
  for (size_t i = 0; i < idx->n_manifests; i++)
    {
      const struct oci_descriptor *d = &idx->manifests[i];
      if (digest && strcmp (d->digest, digest) == 0)
        return d;
      if (tag && d->ref_name && strcmp (d->ref_name, tag) == 0)
        return d;
    }
  if (!tag && !digest && idx->n_manifests == 1)
    return &idx->manifests[0];
  return NULL;
}

static int
no_entry (const char *dir, const struct oci_manifest *idx, const char *tag,
          const char *digest, ohr_error_t *err)
{
  char tags[512] = "";
  for (size_t i = 0; i < idx->n_manifests; i++)
    if (idx->manifests[i].ref_name)
      {
        size_t l = strlen (tags);
        snprintf (tags + l, sizeof tags - l, "%s%s", l ? ", " : "",
                  idx->manifests[i].ref_name);
      }
  if (!tag && !digest)
    return ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                          "OCI layout '%s' holds %zu images: name one with "
                          "oci:%s:TAG (tags: %s)",
                          dir, idx->n_manifests, dir, tags[0] ? tags : "none");
  return ohr_error_set (err, ENOENT, OHR_ERR_IMAGE,
                        "OCI layout '%s' has no image %s '%s' (tags: %s)", dir,
                        tag ? "tagged" : "with digest", tag ? tag : digest,
                        tags[0] ? tags : "none");
}

/* An entry that is an index: its entry for this host's platform. */
static int
narrow_platform (const char *dir, const char *digest, char **out,
                 ohr_error_t *err)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (ocilayout_read_blob (dir, digest, MANIFEST_MAX_SIZE, &data, &len, err)
      < 0)
    return -1;
  struct oci_manifest m = { 0 };
  if (manifest_parse (data, len, &m, err) < 0)
    return ohr_error_wrap (err, "OCI layout '%s': %s", dir, digest);
  int r = 0;
  if (m.kind == MANIFEST_INDEX)
    {
      const char *os, *arch, *variant;
      manifest_host_platform (&os, &arch, &variant);
      const struct oci_descriptor *d = NULL;
      r = manifest_select_platform (&m, os, arch, variant, &d, err);
      if (r == 0 && (*out = strdup (d->digest)) == NULL)
        r = ohr_error_nomem (err);
    }
  else if ((*out = strdup (digest)) == NULL)
    r = ohr_error_nomem (err);
  manifest_clear (&m);
  return r;
}

int
ocilayout_resolve (const char *dir, const char *tag, const char *digest,
                   char **out_manifest_digest, ohr_error_t *err)
{
  cleanup_free char *index_path = fs_path_join (dir, "index.json");
  cleanup_free char *data = NULL;
  size_t len = 0;
  if (index_path == NULL)
    return ohr_error_nomem (err);
  if (fs_read_file (index_path, MANIFEST_MAX_SIZE, &data, &len, err) < 0)
    {
      (*err)->kind = OHR_ERR_IMAGE;
      return ohr_error_wrap (err, "not an OCI image layout");
    }
  struct oci_manifest idx = { 0 };
  if (manifest_parse (data, len, &idx, err) < 0)
    return ohr_error_wrap (err, "OCI layout '%s': index.json", dir);
  int r;
  const struct oci_descriptor *d = NULL;
  if (idx.kind != MANIFEST_INDEX)
    r = ohr_error_set (err, EINVAL, OHR_ERR_IMAGE,
                       "OCI layout '%s': index.json is not an image index",
                       dir);
  else if ((d = pick_entry (&idx, tag, digest)) == NULL)
    r = no_entry (dir, &idx, tag, digest, err);
  else
    r = narrow_platform (dir, d->digest, out_manifest_digest, err);
  manifest_clear (&idx);
  return r;
}
