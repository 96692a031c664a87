/* idshift.h: the host side of a run as root, whose container's root is an
 * unprivileged host id range (run/idmap.h) rather than uid 0.
 *
 * That root must reach and write what the container needs: OUT_DIR is lent
 * to it before the run (chown of what its owner owns) and given back after
 * (outcheck.h, in its one walk, setuid/setgid bits and file capabilities
 * cleared first); paths it cannot reach (a rootfs or a package under
 * /root, 0700) are bound where it can by the runtime's private mount
 * namespace (runtime.h stage_binds).  Every walk is the one fd-based
 * walker's (util/walk.h): no symlink is ever followed.
 */
#ifndef OHR_IDSHIFT_H
#define OHR_IDSHIFT_H

#include <stdbool.h>
#include <sys/types.h>

#include "run/idmap.h"
#include "util/error.h"
#include "util/walk.h"

/* Whom OUT_DIR goes back to after the run. */
struct idshift_owner
{
  const struct idmap *map;
  uid_t uid;
  gid_t gid;
};

/* Lend dir to the mapped root: dir itself and every entry its owner owns
 * (a regular file with more than one link excepted: it may be a host file
 * linked in), group too where the owner's group has it.  *out is whom it
 * goes back to: dir's owner, or the runner's own ids when dir already
 * belongs to the mapped range (a run killed before it gave it back).
 * *out is set before anything is lent, failure or not: whatever was lent
 * must be given back. */
int idshift_lend (const char *dir, const struct idmap *map,
                  struct idshift_owner *out, ohr_error_t *err);

/* Give one entry of a walk back (outcheck.c calls it after clearing its
 * setid bits): the ids of the mapped range become the owner's, and
 * setuid/setgid bits the chown left (or that came back) are cleared. */
int idshift_give_back_entry (const struct walk_entry *e,
                             const struct idshift_owner *o, ohr_error_t *err);

/* The walk's root itself. */
int idshift_give_back_fd (int fd, const struct idshift_owner *o,
                          ohr_error_t *err);

/* The mount points the runtime would create in the rootfs itself (not in
 * a tmpfs or bind of the container), made beforehand by the runner: the
 * rootfs is root's, not the mapped root's, which cannot create them (the
 * toolchain under /root with identity paths).  Directories along the way
 * 0755 (existing ones made readable and searchable by all: they are mount
 * points); the last an empty file for a bind of a file.  A symlink on the way
 * stops there: the runtime resolves it inside the rootfs. */
struct mount_table;
int idshift_make_mount_points (const char *rootfs,
                               const struct mount_table *mounts,
                               ohr_error_t *err);

/* Can uid/gid search every directory from / down to path, itself
 * included, by their mode bits?  false for a symlink on the way (the
 * caller then binds it where it can). */
bool idshift_reaches (const char *path, uid_t uid, gid_t gid);

#endif
