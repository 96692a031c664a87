/* imageref.h: parse the image references --image accepts.
 *
 *   host                                   the embedded image
 *   REGISTRY/REPO[:TAG][@sha256:HEX]       an OCI distribution registry
 *   REPO[:TAG][@...]                       Docker Hub (docker.io/library/...)
 *   oci:PATH[:TAG|@sha256:HEX]             an OCI image layout directory
 *   oci-archive:FILE[:TAG|@sha256:HEX]     a tar of an OCI image layout
 *
 * A registry reference is pinned when it carries a digest.  Parsing is
 * purely lexical (no network, no filesystem) and strict: a reference that
 * does not follow the distribution spec's grammar is an OHR_ERR_USAGE
 * error naming the offending part.
 */
#ifndef OHR_IMAGEREF_H
#define OHR_IMAGEREF_H

#include <stdbool.h>

#include "util/error.h"

enum imageref_kind
{
  IMAGEREF_HOST,
  IMAGEREF_REGISTRY,
  IMAGEREF_OCI_LAYOUT,
  IMAGEREF_OCI_ARCHIVE,
};

struct imageref
{
  enum imageref_kind kind;
  char *registry;   /* "127.0.0.1:5000"; Docker Hub is "docker.io" */
  char *repository; /* "library/debian" */
  char *tag;        /* NULL when not given */
  char *digest;     /* "sha256:<64 lowercase hex>" or NULL */
  char *path;       /* oci: and oci-archive: */
  char *canonical;  /* normalized text form, e.g. docker.io/library/x:tag */
};

int imageref_parse (const char *text, struct imageref *out, ohr_error_t *err);

/* true for a registry reference with a digest, or a layout with one. */
bool imageref_is_pinned (const struct imageref *ref);

void imageref_clear (struct imageref *ref);

#endif
