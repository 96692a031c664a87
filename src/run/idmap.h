/* idmap.h: the host ids a container's root is mapped to when the runner
 * runs as root.
 *
 * Rootless, the user namespace maps the container's root to the invoking
 * user (spec.c, userns.h).  As root, mapping it to uid 0 would leave the
 * build script the host's root (its keyring, SO_PEERCRED uid 0, a setuid
 * file of uid 0 in OUT_DIR).  So, like podman's --userns=auto, it gets a
 * range of IDMAP_SIZE unprivileged host ids, chosen here:
 *  - "auto" (the default): the /etc/subuid and /etc/subgid entries of
 *    IDMAP_SUBID_NAME when /etc/subuid has one, else the reserved range
 *    IDMAP_RESERVED_START .. +IDMAP_SIZE-1 (uids and gids alike);
 *  - NAME: the /etc/subuid and /etc/subgid entries of that name;
 *  - START: START .. START+IDMAP_SIZE-1, uids and gids alike.
 * A range must hold IDMAP_SIZE ids, must not contain 0, and must not hold
 * a user of /etc/passwd or a group of /etc/group; a reserved or START
 * range must not overlap another /etc/subuid or /etc/subgid entry either.
 * Otherwise the choice fails naming the conflict (OHR_ERR_USAGE).
 */
#ifndef OHR_IDMAP_H
#define OHR_IDMAP_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

#define IDMAP_SUBID_NAME "oci-host-runner"
#define IDMAP_RESERVED_START 1879048192u /* 0x70000000 */
#define IDMAP_SIZE 65536u

struct idmap
{
  uid_t uid; /* host uid of the container's uid 0 */
  gid_t gid; /* host gid of the container's gid 0 */
  unsigned size;
};

/* The files read; tests give their own, NULL fields mean /etc's. */
struct idmap_files
{
  const char *passwd, *group, *subuid, *subgid;
};

/* want: NULL or "auto", a name, or a decimal START. */
int idmap_choose (const char *want, const struct idmap_files *files,
                  struct idmap *out, ohr_error_t *err);

bool idmap_has_uid (const struct idmap *m, uid_t uid);
bool idmap_has_gid (const struct idmap *m, gid_t gid);

#endif
