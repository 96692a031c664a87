/* userns.h: can an unprivileged user create user namespaces here?
 * (Rootless containers need one.)  Reads the sysctls that forbid it.  And
 * as root, a user namespace of a given mapping, for idmapped mounts. */
#ifndef OHR_USERNS_H
#define OHR_USERNS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

/* false, with *why set to a static explanation and fix, when forbidden. */
bool userns_available (const char **why);

/* The same for root, whom only user.max_user_namespaces=0 stops. */
bool userns_root_available (const char **why);

/* As root: an fd of a new user namespace mapping its ids 0..count-1 to
 * host uid..uid+count-1 and gid..gid+count-1, for idmapped mounts
 * (mount_setattr MOUNT_ATTR_IDMAP).  A child enters it and is gone
 * before this returns. */
int userns_open_mapped (uid_t uid, gid_t gid, unsigned count,
                        ohr_error_t *err);

#endif
