/* hostinfo.h: facts about the host that decide how a container can run:
 * who we are (root or rootless) and how cgroups are mounted. */
#ifndef OHR_HOSTINFO_H
#define OHR_HOSTINFO_H

#include <stdbool.h>
#include <sys/types.h>

enum cgroup_mode
{
  CGROUP_MODE_NONE,    /* no cgroup filesystem mounted */
  CGROUP_MODE_LEGACY,  /* v1 only */
  CGROUP_MODE_HYBRID,  /* v1 plus a v2 "unified" tree that owns controllers */
  CGROUP_MODE_UNIFIED, /* v2 only */
};

struct hostinfo
{
  uid_t uid;
  gid_t gid;
  bool rootless; /* effective uid is not 0 */
  enum cgroup_mode cgroups;
};

/* Reads /sys/fs/cgroup; never fails (unknown -> CGROUP_MODE_NONE). */
void hostinfo_probe (struct hostinfo *out);

/* Same, with the cgroup root given (tests). */
enum cgroup_mode hostinfo_cgroup_mode_at (const char *cgroup_root);

const char *hostinfo_cgroup_mode_name (enum cgroup_mode mode);

#endif
