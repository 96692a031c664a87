/* userns.c: see userns.h */
#define _GNU_SOURCE
#include "runtime/userns.h"

#include "util/procfs.h"

bool
userns_available (const char **why)
{
  if (procfs_read_long ("/proc/sys/user/max_user_namespaces", 1) == 0)
    {
      *why = "user namespaces are disabled "
             "(sysctl user.max_user_namespaces=0)";
      return false;
    }
  if (procfs_read_long ("/proc/sys/kernel/unprivileged_userns_clone", 1) == 0)
    {
      *why = "unprivileged user namespaces are disabled "
             "(sysctl kernel.unprivileged_userns_clone=0)";
      return false;
    }
  if (procfs_read_long (
          "/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 0)
      == 1)
    {
      *why = "AppArmor restricts unprivileged user namespaces "
             "(sysctl kernel.apparmor_restrict_unprivileged_userns=1)";
      return false;
    }
  return true;
}
