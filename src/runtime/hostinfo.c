/* hostinfo.c: see hostinfo.h */
#define _GNU_SOURCE
#include "runtime/hostinfo.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static bool
has_controller (const char *list, const char *name)
{
  size_t n = strlen (name);
  for (const char *p = list; p && *p;)
    {
      while (isspace ((unsigned char)*p))
        p++;
      size_t w = 0;
      while (p[w] && !isspace ((unsigned char)p[w]))
        w++;
      if (w == n && strncmp (p, name, n) == 0)
        return true;
      p += w;
    }
  return false;
}

const char *
hostinfo_delegation_refusal (const struct delegation_facts *f)
{
  if (!f->rootless)
    return "not rootless";
  if (f->mode != CGROUP_MODE_UNIFIED)
    return "cgroups are not v2 only: nothing is delegated to users";
  if (f->service_controllers == NULL)
    return "no user@UID.service cgroup (no systemd user manager)";
  if (!has_controller (f->service_controllers, "memory")
      || !has_controller (f->service_controllers, "pids"))
    return "systemd does not delegate the memory and pids controllers to "
           "you (Delegate= of user@.service)";
  if (!f->user_bus)
    return "the user's D-Bus ($XDG_RUNTIME_DIR/bus) is not there";
  return NULL;
}

void
hostinfo_delegation_probe (const struct hostinfo *host,
                           struct delegation_facts *out,
                           char **out_controllers)
{
  *out = (struct delegation_facts){ .mode = host->cgroups,
                                    .rootless = host->rootless };
  *out_controllers = NULL;
  /* only where it can matter: every rootless run reads this */
  if (!host->rootless || host->cgroups != CGROUP_MODE_UNIFIED)
    return;
  char path[160];
  snprintf (path, sizeof path,
            "/sys/fs/cgroup/user.slice/user-%u.slice/user@%u.service/"
            "cgroup.controllers",
            (unsigned)host->uid, (unsigned)host->uid);
  ohr_error_t e = NULL;
  if (fs_read_file (path, CONTROLLERS_MAX, out_controllers, NULL, &e) < 0)
    ohr_error_free (&e);
  out->service_controllers = *out_controllers;
  const char *xdg = getenv ("XDG_RUNTIME_DIR");
  struct stat st;
  if (xdg && xdg[0] == '/')
    {
      cleanup_free char *bus = fs_path_join (xdg, "bus");
      out->user_bus = bus && stat (bus, &st) == 0 && S_ISSOCK (st.st_mode);
    }
}
