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

/* ---- rootless cgroup limits: systemd's delegation on cgroup v2
 *
 * A rootless runtime can only bound a container with cgroups that systemd
 * delegates to the user: on cgroup v2, the user's manager (user@UID.service)
 * owns a subtree with the controllers listed in its cgroup.controllers
 * (memory and pids by default), and runc --systemd-cgroup or crun
 * --cgroup-manager=systemd ask it, over the user's D-Bus, for a scope
 * there with the spec's limits. */
struct delegation_facts
{
  enum cgroup_mode mode;
  bool rootless;
  /* the content of /sys/fs/cgroup/user.slice/user-UID.slice/
   * user@UID.service/cgroup.controllers; NULL: unreadable or absent */
  const char *service_controllers;
  bool user_bus; /* $XDG_RUNTIME_DIR/bus is a socket */
};

/* NULL when a rootless runtime can have memory and pids limits through
 * systemd here; else why not (static text, for the notice and doctor).
 * Pure, so that tests give it the facts of v1, hybrid and delegated or
 * undelegated v2 hosts (tests/fixtures/hostinfo/delegation-*). */
const char *hostinfo_delegation_refusal (const struct delegation_facts *f);

/* This host's facts for the effective user. */
void hostinfo_delegation_probe (const struct hostinfo *host,
                                struct delegation_facts *out,
                                char **out_controllers);

#endif
