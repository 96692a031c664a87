/* mounts.h: an ordered table of OCI mounts (destination, type, source,
 * options), owned strings.  The runtime applies mounts in order, so the
 * table can be sorted to put every parent before the mounts below it. */
#ifndef OHR_MOUNTS_H
#define OHR_MOUNTS_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"
#include "util/mountinfo.h"

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
 * nosuid and nodev.  recursive selects rbind, and then read-only, nosuid
 * and nodev hold for every mount under source too ("rro", "rnosuid",
 * "rnodev": crun and runc apply them with mount_setattr). */
int mounts_add_bind (struct mount_table *t, const char *source,
                     const char *destination, bool rw, bool recursive,
                     ohr_error_t *err);

/* The host's path (/proc, /sys) bound at the same place, recursively
 * read-only, nosuid, nodev and noexec. */
int mounts_add_system_bind (struct mount_table *t, const char *path,
                            ohr_error_t *err);

/* Whether the kernel lets a runtime set mount attributes recursively
 * (mount_setattr, Linux 5.12; not refused by a seccomp filter).  One
 * system call. */
bool mounts_recursive_attrs_supported (void);

/* Where recursive attributes are not supported: drop the r-variants from
 * every mount of t, and bind every submount (in MI, this process's mount
 * table) under a read-only rbind's source read-only at its place below
 * the destination, so that no submount stays writable.  Sort t after. */
int mounts_bind_submounts (struct mount_table *t, const struct mountinfo *mi,
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
