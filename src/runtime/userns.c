/* userns.c: see userns.h */
#define _GNU_SOURCE
#include "runtime/userns.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "util/cleanup.h"

static long
read_long (const char *path, long missing)
{
  cleanup_close int fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return missing;
  char buf[32];
  ssize_t n = read (fd, buf, sizeof buf - 1);
  if (n <= 0)
    return missing;
  buf[n] = '\0';
  return strtol (buf, NULL, 10);
}

bool
userns_available (const char **why)
{
  if (read_long ("/proc/sys/user/max_user_namespaces", 1) == 0)
    {
      *why = "user namespaces are disabled "
             "(sysctl user.max_user_namespaces=0)";
      return false;
    }
  if (read_long ("/proc/sys/kernel/unprivileged_userns_clone", 1) == 0)
    {
      *why = "unprivileged user namespaces are disabled "
             "(sysctl kernel.unprivileged_userns_clone=0)";
      return false;
    }
  if (read_long ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", 0)
      == 1)
    {
      *why = "AppArmor restricts unprivileged user namespaces "
             "(sysctl kernel.apparmor_restrict_unprivileged_userns=1)";
      return false;
    }
  return true;
}
