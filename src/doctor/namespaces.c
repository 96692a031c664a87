/* namespaces.c: the probes that fork and unshare (see internal.h).
 *
 * Each runs in a child, so that the namespaces it makes and the mounts it
 * tries die with it, and sends its errno values back on a pipe: what a
 * runtime will do for a container (a user namespace mapping our uid to 0,
 * a fresh procfs in a new PID and mount namespace, sysfs in a new network
 * namespace), what --degraded proc does instead (a read-only rbind of
 * /proc), and crun's hybrid-cgroup workaround, as runtime.c's child does
 * it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor/internal.h"
#include "util/cleanup.h"
#include "util/fs.h"

static int
write_file (const char *path, const char *data)
{
  int fd = open (path, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return errno;
  ssize_t w = write (fd, data, strlen (data));
  int e = w < 0 ? errno : 0;
  close (fd);
  return e;
}

/* In a child: a user namespace with our uid and gid as 0, as rootless
 * crun and runc make one.  Returns 0 or an errno. */
static int
enter_userns (void)
{
  uid_t uid = geteuid ();
  gid_t gid = getegid ();
  char map[64];
  if (unshare (CLONE_NEWUSER) < 0)
    return errno;
  int e = write_file ("/proc/self/setgroups", "deny");
  if (e && e != ENOENT)
    return e;
  snprintf (map, sizeof map, "0 %u 1", (unsigned)uid);
  if ((e = write_file ("/proc/self/uid_map", map)) != 0)
    return e;
  snprintf (map, sizeof map, "0 %u 1", (unsigned)gid);
  return write_file ("/proc/self/gid_map", map);
}

enum
{
  R_SETUP, /* user, mount, PID and network namespaces */
  R_BIND,  /* rbind of /proc, read-only */
  R_PROC,  /* fresh procfs */
  R_SYSFS, /* fresh sysfs */
  R_N,
};

/* The mount flags of path that a read-only remount must keep (locked in
 * a less privileged mount namespace). */
static unsigned long
kept_flags (const char *path)
{
  struct statvfs sv;
  unsigned long fl = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  if (statvfs (path, &sv) == 0)
    {
      if (sv.f_flag & ST_NOATIME)
        fl |= MS_NOATIME;
      if (sv.f_flag & ST_NODIRATIME)
        fl |= MS_NODIRATIME;
      if (sv.f_flag & ST_RELATIME)
        fl |= MS_RELATIME;
    }
  return fl;
}

/* PID 1 of the new PID namespace: what the runtime will do for a
 * container's /proc and /sys, and what --degraded proc does instead. */
static void
mount_probes (int res[R_N])
{
  const char *const scratch[] = { "/tmp", "/mnt", "/run", "/dev", NULL };
  res[R_BIND] = ENOENT;
  for (size_t i = 0; scratch[i]; i++)
    if (mount ("tmpfs", scratch[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=700")
        == 0)
      {
        cleanup_free char *p = fs_path_join (scratch[i], "proc");
        unsigned long fl = kept_flags ("/proc");
        if (p == NULL || mkdir (p, 0700) < 0
            || mount ("/proc", p, NULL, MS_BIND | MS_REC, NULL) < 0
            || mount (NULL, p, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | fl,
                      NULL)
                   < 0)
          res[R_BIND] = errno ? errno : ENOMEM;
        else
          res[R_BIND] = 0;
        break;
      }
    else
      res[R_BIND] = errno;
  res[R_PROC]
      = mount ("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
                < 0
            ? errno
            : 0;
  res[R_SYSFS] = mount ("sysfs", "/sys", "sysfs",
                        MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL)
                         < 0
                     ? errno
                     : 0;
}

static void
send_results (int fd, const int *res, size_t n)
{
  if (write (fd, res, n * sizeof *res) < 0)
    _exit (1);
}

/* Runs fn in a child (which may fork again and writes n ints on fd);
 * the results stay DOCTOR_NOT_PROBED where nothing came back. */
static void
run_probe (void (*fn) (int fd, void *arg), void *arg, int *res, size_t n)
{
  for (size_t i = 0; i < n; i++)
    res[i] = DOCTOR_NOT_PROBED;
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    return;
  fflush (NULL);
  pid_t pid = fork ();
  if (pid == 0)
    {
      close (p[0]);
      fn (p[1], arg);
      _exit (0);
    }
  close (p[1]);
  if (pid > 0)
    {
      int buf[R_N + 1];
      ssize_t got = 0, r;
      while ((size_t)got < n * sizeof *res
             && ((r = read (p[0], (char *)buf + got,
                            n * sizeof *res - (size_t)got))
                     > 0
                 || (r < 0 && errno == EINTR)))
        got += r > 0 ? r : 0;
      if ((size_t)got == n * sizeof *res)
        memcpy (res, buf, n * sizeof *res);
      while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
        ;
    }
  close (p[0]);
}

static void
userns_child (int fd, void *arg)
{
  (void)arg;
  int res = enter_userns ();
  send_results (fd, &res, 1);
}

static void
mounts_child (int fd, void *arg)
{
  bool userns = *(bool *)arg;
  int res[R_N]
      = { 0, DOCTOR_NOT_PROBED, DOCTOR_NOT_PROBED, DOCTOR_NOT_PROBED };
  if ((userns && (res[R_SETUP] = enter_userns ()) != 0)
      || (unshare (CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET) < 0
          && (res[R_SETUP] = errno) != 0)
      || (mount (NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0
          && (res[R_SETUP] = errno) != 0))
    {
      send_results (fd, res, R_N);
      return;
    }
  pid_t pid = fork ();
  if (pid == 0)
    {
      mount_probes (res);
      send_results (fd, res, R_N);
      _exit (0);
    }
  if (pid < 0)
    {
      res[R_SETUP] = errno;
      send_results (fd, res, R_N);
      return;
    }
  while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
    ;
}

/* crun's hybrid-cgroup workaround, as runtime.c's child does it. */
static void
hybrid_child (int fd, void *arg)
{
  bool rootless = *(bool *)arg;
  int res = 0;
  if (rootless)
    {
      if ((res = enter_userns ()) == 0
          && (unshare (CLONE_NEWNS) < 0
              || mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0
              || mount ("tmpfs", "/sys/fs/cgroup", "tmpfs",
                        MS_NOSUID | MS_NODEV, "mode=755")
                     < 0))
        res = errno;
    }
  else if (unshare (CLONE_NEWNS) < 0
           || mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0
           || (umount2 ("/sys/fs/cgroup/unified", MNT_DETACH) < 0
               && errno != EINVAL && errno != ENOENT))
    res = errno;
  send_results (fd, &res, 1);
}

void
doctor_probe_namespaces (struct doctor_facts *f)
{
  run_probe (userns_child, NULL, &f->userns_error, 1);
  int res[R_N];
  bool userns = f->rootless;
  if (!userns || f->userns_error == 0)
    run_probe (mounts_child, &userns, res, R_N);
  else
    for (int i = 0; i < R_N; i++)
      res[i] = DOCTOR_NOT_PROBED;
  f->mount_ns_error = res[R_SETUP];
  f->proc_bind_error = res[R_BIND];
  f->proc_error = res[R_PROC];
  f->sysfs_error = res[R_SYSFS];
}

void
doctor_probe_hybrid (struct doctor_facts *f)
{
  f->hybrid_error = DOCTOR_NOT_PROBED;
  if (f->cgroups == CGROUP_MODE_HYBRID)
    run_probe (hybrid_child, &f->rootless, &f->hybrid_error, 1);
}
