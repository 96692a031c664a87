/* manifest.h: OCI and Docker schema2 manifests, image indexes / manifest
 * lists, and image configs: untrusted JSON, parsed defensively with yajl.
 *
 * Every input is capped at MANIFEST_MAX_SIZE, every digest must be a valid
 * sha256 digest, sizes must be non-negative, unknown fields are ignored,
 * wrong types are errors naming the field.  Media types accepted:
 *   application/vnd.oci.image.manifest.v1+json
 *   application/vnd.oci.image.index.v1+json
 *   application/vnd.docker.distribution.manifest.v2+json
 *   application/vnd.docker.distribution.manifest.list.v2+json
 * (and when mediaType is absent, the shape decides: "manifests" -> index,
 * "layers" -> image manifest).
 */
#ifndef OHR_MANIFEST_H
#define OHR_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define MANIFEST_MAX_SIZE (4 << 20)

#define MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define MT_DOCKER_MANIFEST                                                    \
  "application/vnd.docker.distribution.manifest.v2+json"
#define MT_DOCKER_LIST                                                        \
  "application/vnd.docker.distribution.manifest.list.v2+json"
#define MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define MT_DOCKER_LAYER_GZIP                                                  \
  "application/vnd.docker.image.rootfs.diff.tar.gzip"

struct oci_descriptor
{
  char *media_type;
  char *digest;
  int64_t size;
  /* platform, for index entries (NULL when absent) */
  char *os;
  char *architecture;
  char *variant;
  /* annotation org.opencontainers.image.ref.name (OCI layouts), or NULL */
  char *ref_name;
};

enum manifest_kind
{
  MANIFEST_IMAGE,
  MANIFEST_INDEX,
};

struct oci_manifest
{
  enum manifest_kind kind;
  char *media_type;              /* as declared, or inferred */
  struct oci_descriptor config;  /* MANIFEST_IMAGE */
  struct oci_descriptor *layers; /* MANIFEST_IMAGE */
  size_t n_layers;
  struct oci_descriptor *manifests; /* MANIFEST_INDEX */
  size_t n_manifests;
};

int manifest_parse (const char *data, size_t len, struct oci_manifest *out,
                    ohr_error_t *err);
void manifest_clear (struct oci_manifest *m);

/* This host's platform in OCI terms (linux, amd64/arm64/..., variant). */
void manifest_host_platform (const char **os, const char **arch,
                             const char **variant);

/* Pick the entry of an index for os/arch[/variant] (variant NULL = any);
 * an error lists the platforms the index offers. */
int manifest_select_platform (const struct oci_manifest *index, const char *os,
                              const char *arch, const char *variant,
                              const struct oci_descriptor **out,
                              ohr_error_t *err);

struct oci_image_config
{
  char *os;
  char *architecture;
  char **env;      /* config.Env, NULL-terminated (may be NULL) */
  char *workdir;   /* config.WorkingDir or NULL */
  char **diff_ids; /* rootfs.diff_ids, NULL-terminated */
};

int image_config_parse (const char *data, size_t len,
                        struct oci_image_config *out, ohr_error_t *err);
void image_config_clear (struct oci_image_config *c);

#endif
