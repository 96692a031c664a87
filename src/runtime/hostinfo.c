/* hostinfo.c: see hostinfo.h */
#define _GNU_SOURCE
#include "runtime/hostinfo.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/mountinfo.h"

#define CONTROLLERS_MAX 4096

static bool
is_type (const struct mountinfo_entry *m, const char *fstype)
{
  return m != NULL && strcmp (m->fstype, fstype) == 0;
}

static bool
has_word (const char *s)
{
  for (; s && *s; s++)
    if (!isspace ((unsigned char)*s))
      return true;
  return false;
}

enum cgroup_mode
hostinfo_cgroup_mode_from_mountinfo (const char *mountinfo,
                                     const char *cgroup_root,
                                     const char *unified_controllers)
{
  cleanup_free char *root
      = cgroup_root ? fs_path_normalize (cgroup_root) : NULL;
  cleanup_free char *unified = root ? fs_path_join (root, "unified") : NULL;
  struct mountinfo t;
  if (mountinfo == NULL || unified == NULL
      || mountinfo_parse (mountinfo, &t) < 0)
    return CGROUP_MODE_NONE;
  enum cgroup_mode mode = CGROUP_MODE_NONE;
  const struct mountinfo_entry *m = mountinfo_mount_of (&t, root);
  if (is_type (m, "cgroup2"))
    mode = CGROUP_MODE_UNIFIED;
  else if (is_type (m, "tmpfs"))
    /* A v2 tree beside v1 hierarchies counts as hybrid only when it holds
     * controllers: that is what makes crun refuse it ("drop all
     * controllers from cgroupv2"); an empty unified tree (systemd's
     * default) is legacy. */
    mode = is_type (mountinfo_mount_of (&t, unified), "cgroup2")
                   && has_word (unified_controllers)
               ? CGROUP_MODE_HYBRID
               : CGROUP_MODE_LEGACY;
  mountinfo_clear (&t);
  return mode;
}

enum cgroup_mode
hostinfo_cgroup_mode_at (const char *root)
{
  cleanup_free char *real = root ? realpath (root, NULL) : NULL;
  if (real == NULL)
    return CGROUP_MODE_NONE;
  ohr_error_t e = NULL;
  cleanup_free char *mountinfo = NULL;
  if (fs_read_file ("/proc/self/mountinfo", MOUNTINFO_MAX, &mountinfo, NULL,
                    &e)
      < 0)
    {
      ohr_error_free (&e);
      return CGROUP_MODE_NONE;
    }
  cleanup_free char *path = fs_path_join (real, "unified/cgroup.controllers");
  cleanup_free char *controllers = NULL;
  if (path && fs_read_file (path, CONTROLLERS_MAX, &controllers, NULL, &e) < 0)
    ohr_error_free (&e); /* not there: no controllers */
  return hostinfo_cgroup_mode_from_mountinfo (mountinfo, real, controllers);
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
