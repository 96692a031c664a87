/* userns.c: see userns.h */
#define _GNU_SOURCE
#include "runtime/userns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/cleanup.h"
#include "util/procfs.h"

bool
userns_root_available (const char **why)
{
  if (procfs_read_long ("/proc/sys/user/max_user_namespaces", 1) == 0)
    {
      *why = "user namespaces are disabled "
             "(sysctl user.max_user_namespaces=0)";
      return false;
    }
  return true;
}

bool
userns_available (const char **why)
{
  if (!userns_root_available (why))
    return false;
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

static int
write_map (pid_t pid, const char *file, unsigned long id, unsigned count)
{
  char path[64], map[64];
  snprintf (path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int n = snprintf (map, sizeof map, "0 %lu %u\n", id, count);
  cleanup_close int fd = open (path, O_WRONLY | O_CLOEXEC);
  return fd >= 0 && write (fd, map, (size_t)n) == n ? 0 : -1;
}

/* The child only waits for the parent to be done with its namespace. */
static int
hold_namespace (void *arg)
{
  const int *go = arg;
  char c;
  close (go[1]); /* its copy of our write end: the read then sees EOF */
  if (read (go[0], &c, 1) < 0)
    _exit (1);
  _exit (0);
}

int
userns_open_mapped (uid_t uid, gid_t gid, unsigned count, ohr_error_t *err)
{
  int go[2];
  if (pipe2 (go, O_CLOEXEC) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "pipe");
  /* born in the new namespace, on a stack of its own and without a copy
   * of our page tables (fork costs that, as runtime.c says); it runs
   * nothing but a read */
  enum
  {
    STACK = 16 * 1024
  };
  char *stack = mmap (NULL, STACK, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  pid_t pid = stack == MAP_FAILED
                  ? -1
                  : clone (hold_namespace, stack + STACK,
                           CLONE_NEWUSER | CLONE_VM | SIGCHLD, go);
  int e = pid < 0 ? errno : 0, fd = -1;
  if (pid > 0)
    {
      char ns[64];
      snprintf (ns, sizeof ns, "/proc/%d/ns/user", (int)pid);
      if (write_map (pid, "uid_map", uid, count) < 0
          || write_map (pid, "gid_map", gid, count) < 0
          || (fd = open (ns, O_RDONLY | O_CLOEXEC)) < 0)
        e = errno;
    }
  close (go[1]);
  if (pid > 0)
    waitpid (pid, NULL, 0);
  close (go[0]);
  if (stack != MAP_FAILED)
    munmap (stack, STACK);
  if (fd < 0)
    return ohr_error_errno (err, e, OHR_ERR_INTERNAL,
                            "cannot make a user namespace for an idmapped "
                            "mount");
  return fd;
}
