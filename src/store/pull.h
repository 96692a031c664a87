/* fetch.h: bring an image into the store and prepare it for runs: pull
 * from a registry (registry.h), import an OCI layout or archive, commit
 * through the store (store.h), check it out, and record it in the
 * catalogue run mode reads (catalog.h).  Used only by the store helper
 * (oci-host-runner-store), never by run mode. */
#ifndef OHR_FETCH_H
#define OHR_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "image/ref.h"
#include "util/error.h"

struct fetch_options
{
  const char *store_dir;
  bool rootless;
  char *const *insecure_hosts;
  bool progress;
  uint64_t max_layer_size; /* 0: the store's default */
};

struct fetch_result
{
  char *manifest_digest; /* the image (after platform selection) */
  char *pinned;          /* REGISTRY/REPO@DIGEST a tag resolved to */
  int layers_fetched;    /* layers downloaded or imported this time */
  int layers_present;    /* layers the store already had */
  char **refused;        /* layer entries refused ("path: reason") */
};

/* Pull or import ref (no checkout). */
int fetch_image (const struct imageref *ref, const struct fetch_options *o,
                 struct fetch_result *out, ohr_error_t *err);

/* fetch_image, then check out and write the config the catalogue serves. */
int fetch_ensure (const struct imageref *ref, const struct fetch_options *o,
                  struct fetch_result *out, ohr_error_t *err);

/* The digest a registry tag points to now (what to pin). */
int fetch_resolve_tag (const struct imageref *ref,
                       const struct fetch_options *o, char **out_digest,
                       ohr_error_t *err);

void fetch_result_clear (struct fetch_result *r);

#endif
