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

/* Same, with the cgroup root given: this process's mount table
 * (/proc/self/mountinfo) and cgroup_root/unified/cgroup.controllers, given
 * to hostinfo_cgroup_mode_from_mountinfo. */
enum cgroup_mode hostinfo_cgroup_mode_at (const char *cgroup_root);

/* The decision itself, from text: MOUNTINFO in /proc/PID/mountinfo's
 * format, CGROUP_ROOT an absolute path, UNIFIED_CONTROLLERS the content of
 * CGROUP_ROOT/unified/cgroup.controllers (NULL: unreadable).  A path's
 * filesystem is the one the kernel would reach walking to it (the last
 * mount on a point hides the ones below).  cgroup2 at the root is v2; a
 * tmpfs there is v1, or hybrid when a cgroup2 at unified/ holds
 * controllers; anything else is none.  Pure, so that tests can give it
 * the mount tables of v1, v2 and hybrid hosts (tests/fixtures/hostinfo). */
enum cgroup_mode
hostinfo_cgroup_mode_from_mountinfo (const char *mountinfo,
                                     const char *cgroup_root,
                                     const char *unified_controllers);

const char *hostinfo_cgroup_mode_name (enum cgroup_mode mode);

#endif
