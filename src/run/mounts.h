/* mounts.h: an ordered table of OCI mounts (destination, type, source,
 * options), owned strings.  The runtime applies mounts in order, so the
 * table can be sorted to put every parent before the mounts below it. */
#ifndef OHR_MOUNTS_H
#define OHR_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

struct ohr_mount
{
  char *destination;
  char *type;
  char *source;
  char **options;
  int order; /* system mounts keep their relative order (see mounts_sort) */
};

struct mount_table
{
  struct ohr_mount *v;
  size_t n;
};

/* options: NULL-terminated, may be NULL. */
int mounts_add (struct mount_table *t, const char *destination,
                const char *type, const char *source,
                const char *const *options, ohr_error_t *err);

/* A bind mount of source at destination: read-only unless rw; always
 * nosuid and nodev.  recursive selects rbind. */
int mounts_add_bind (struct mount_table *t, const char *source,
                     const char *destination, bool rw, bool recursive,
                     ohr_error_t *err);

/* The mount whose destination is exactly dest, or NULL. */
const struct ohr_mount *mounts_find (const struct mount_table *t,
                                     const char *dest);

/* The deepest mount whose destination contains path, or NULL. */
const struct ohr_mount *mounts_covering (const struct mount_table *t,
                                         const char *path);

/* Stable sort by number of path components: a parent is always mounted
 * before what lies below it, whatever order the entries were added in. */
void mounts_sort (struct mount_table *t);

void mounts_free (struct mount_table *t);

#endif
