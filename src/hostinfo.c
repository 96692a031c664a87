/* hostinfo.c: see hostinfo.h */
#define _GNU_SOURCE
#include "hostinfo.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "util/cleanup.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
#ifndef TMPFS_MAGIC
#define TMPFS_MAGIC 0x01021994
#endif

/* A v2 tree beside v1 hierarchies counts as hybrid only when it holds
 * controllers: that is what makes crun refuse it ("drop all controllers
 * from cgroupv2"); an empty unified tree (systemd's default) is legacy. */
static bool
unified_has_controllers (const char *root)
{
  char path[4096];
  snprintf (path, sizeof path, "%s/unified/cgroup.controllers", root);
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return false;
  char buf[256];
  ssize_t n = read (fd, buf, sizeof buf);
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] != '\n' && buf[i] != ' ')
      return true;
  return false;
}

enum cgroup_mode
hostinfo_cgroup_mode_at (const char *root)
{
  struct statfs sfs;
  if (statfs (root, &sfs) < 0)
    return CGROUP_MODE_NONE;
  if (sfs.f_type == CGROUP2_SUPER_MAGIC)
    return CGROUP_MODE_UNIFIED;
  if (sfs.f_type != TMPFS_MAGIC)
    return CGROUP_MODE_NONE;
  char unified[4096];
  snprintf (unified, sizeof unified, "%s/unified", root);
  if (statfs (unified, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC
      && unified_has_controllers (root))
    return CGROUP_MODE_HYBRID;
  return CGROUP_MODE_LEGACY;
}

void
hostinfo_probe (struct hostinfo *out)
{
  out->uid = geteuid ();
  out->gid = getegid ();
  out->rootless = out->uid != 0;
  out->cgroups = hostinfo_cgroup_mode_at ("/sys/fs/cgroup");
}

const char *
hostinfo_cgroup_mode_name (enum cgroup_mode mode)
{
  switch (mode)
    {
    case CGROUP_MODE_LEGACY:
      return "v1";
    case CGROUP_MODE_HYBRID:
      return "hybrid";
    case CGROUP_MODE_UNIFIED:
      return "v2";
    case CGROUP_MODE_NONE:
    default:
      return "none";
    }
}
