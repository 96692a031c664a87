/* runtime.c: run mode's side of runtime.h: the facts runtime_choose
 * (select.c) decides on, spawning and supervision. */
#define _GNU_SOURCE
#include "runtime/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "runtime/userns.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

/* After forwarding a termination signal, how long the script gets to exit
 * before the container is killed. */
#define GRACE_SECONDS 10

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* crun and runc skip their self-copy when this is set and their binary is
 * on a read-only mount (libcontainer's cloned_binary.c) */
#define CLONED_VAR "_LIBCONTAINER_CLONED_BINARY"

extern char **environ;

char *
runtime_find_in_path (const char *name)
{
  if (strchr (name, '/'))
    return access (name, X_OK) == 0 ? strdup (name) : NULL;
  const char *path = getenv ("PATH");
  if (path == NULL)
    path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  cleanup_free char *copy = strdup (path);
  char *save = NULL;
  for (char *d = copy ? strtok_r (copy, ":", &save) : NULL; d;
       d = strtok_r (NULL, ":", &save))
    {
      char *cand = fs_path_join (d, name);
      if (cand && access (cand, X_OK) == 0)
        return cand;
      free (cand);
    }
  return NULL;
}

int
runtime_select (const char *want, const struct hostinfo *host,
                const char *state_base, struct runtime *out, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  /* only the lookups the request can use: this is every run's path */
  bool is_auto = strcmp (want, "auto") == 0;
  cleanup_free char *crun = is_auto || strcmp (want, "crun") == 0
                                ? runtime_find_in_path ("crun")
                                : NULL;
  cleanup_free char *runc = is_auto || strcmp (want, "runc") == 0
                                ? runtime_find_in_path ("runc")
                                : NULL;
  const char *no_userns = NULL;
  struct runtime_facts in = {
    .want = want,
    .crun_path = crun,
    .runc_path = runc,
    .want_executable = strchr (want, '/') && access (want, X_OK) == 0,
    .rootless = host->rootless,
    .cgroups = host->cgroups,
    /* read only when it matters: rootless */
    .userns_unavailable
    = host->rootless && !userns_available (&no_userns) ? no_userns : NULL,
  };
  struct runtime_choice c;
  if (runtime_choose (&in, &c, err) < 0)
    return -1;
  out->backend = c.backend;
  out->prep = c.prep;
  out->reason = steal_pointer (&c.reason);
  out->path = strdup (c.path);
  runtime_choice_clear (&c);
  if (out->path == NULL)
    {
      runtime_clear (out);
      return ohr_error_nomem (err);
    }
  out->state_root = fs_path_join (state_base, out->backend->name);
  if (out->state_root == NULL || fs_mkdir_p (out->state_root, 0700, err) < 0)
    {
      runtime_clear (out);
      return ohr_error_wrap (err, "runtime state directory");
    }
  return 0;
}

bool
runtime_spec_needs_userns (const struct runtime *rt,
                           const struct hostinfo *host)
{
  /* as root always: the container's root is an unprivileged id range */
  (void)host;
  return rt->prep != RUNTIME_PREP_OWN_USERNS;
}

/* crun tells hybrid hosts by the file system type of the v2 tree's mount
 * point: an empty tmpfs over it makes the host plain v1 to it.  Mounting
 * over costs less than unmounting, which waits for an RCU grace period
 * (slow on a busy VM), and the namespace goes with the runner.  Writable:
 * crun making its cgroups on v1 also makes a directory for the v2 line of
 * /proc/self/cgroup there, which then lands in this private tmpfs rather
 * than in the host's /sys/fs/cgroup under the unmounted tree. */
static int
hide_unified (void)
{
  if (mount ("tmpfs", "/sys/fs/cgroup/unified", "tmpfs",
             MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755")
          < 0
      && errno != ENOENT)
    return -1;
  return 0;
}

int
runtime_private_ns (struct runtime *rt, ohr_error_t *err)
{
  if (unshare (CLONE_NEWNS) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_RUNTIME,
                            "cannot create a private mount namespace "
                            "(unshare CLONE_NEWNS)");
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_RUNTIME,
                            "cannot make mounts private");
  /* on failure the runtime's child tries again, and says why */
  if (rt->prep == RUNTIME_PREP_HIDE_UNIFIED && hide_unified () < 0)
    return ohr_error_errno (err, errno, OHR_ERR_RUNTIME,
                            "cannot hide /sys/fs/cgroup/unified");
  rt->private_ns = true;
  /* Bound over its real path, the one /proc/self/exe names; a failure
   * only costs the runtime its own copy, as before. */
  cleanup_free char *real = realpath (rt->path, NULL);
  if (real && mount (real, real, NULL, MS_BIND, NULL) == 0)
    rt->bound_ro
        = mount (NULL, real, NULL,
                 MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL)
          == 0;
  return 0;
}

void
runtime_clear (struct runtime *rt)
{
  free_many (rt->path, rt->state_root, rt->reason);
  memset (rt, 0, sizeof *rt);
}

/* ---- child side: runs between fork and exec, reports failures on errfd */

static void
child_fail (int errfd, const char *stage)
{
  char buf[256];
  int n = snprintf (buf, sizeof buf, "%d %s", errno, stage);
  if (n > 0 && write (errfd, buf, (size_t)n) < 0)
    {
      /* parent gone */
    }
  _exit (127);
}

static int
write_proc (const char *file, const char *data)
{
  int fd = open (file, O_WRONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  ssize_t w = write (fd, data, strlen (data));
  int e = errno;
  close (fd);
  errno = e;
  return w < 0 ? -1 : 0;
}

/* A read-only clone of source at target whose files appear owned through
 * the user namespace usernsfd (host uid 0 as its uid 0).  -1 where the
 * kernel or the filesystem cannot: the caller binds plainly. */
static int
idmapped_bind (const char *source, const char *target, int usernsfd)
{
  int tree = open_tree (AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0)
    return -1;
  struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY,
                             .userns_fd = (uint64_t)usernsfd };
  int r = mount_setattr (tree, "", AT_EMPTY_PATH, &attr, sizeof attr);
  if (r == 0)
    r = move_mount (tree, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH);
  close (tree);
  return r;
}

static void
child_prep (const struct runtime *rt, char *const *stage_binds,
            const struct runtime_io *io, int errfd)
{
  enum runtime_prep prep = rt->prep;
  if (io->join_cgroup_fd && write (*io->join_cgroup_fd, "0", 1) != 1)
    child_fail (errfd, "cannot join the run's memory cgroup");
  /* runtime_private_ns did the unified tree's part already, in the
   * runner's own namespace */
  bool hide = prep == RUNTIME_PREP_HIDE_UNIFIED && !rt->private_ns;
  bool stage = stage_binds && stage_binds[0];
  if (hide || stage)
    {
      if (unshare (CLONE_NEWNS) < 0)
        child_fail (errfd, "cannot create a private mount namespace "
                           "(unshare CLONE_NEWNS)");
      if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        child_fail (errfd, "cannot make mounts private");
    }
  if (hide && hide_unified () < 0)
    child_fail (errfd, "cannot hide /sys/fs/cgroup/unified");
  /* seen only by the runtime and the container it makes, gone with them */
  for (size_t i = 0; stage && stage_binds[i] && stage_binds[i + 1]; i += 2)
    {
      const char *target = stage_binds[i + 1];
      if (io->idmap_userns_fd >= 0 && io->idmap_target
          && strcmp (target, io->idmap_target) == 0
          && idmapped_bind (stage_binds[i], target, io->idmap_userns_fd) == 0)
        continue;
      if (mount (stage_binds[i], target, NULL, MS_BIND | MS_REC, NULL) < 0)
        child_fail (errfd, "cannot bind a path the container's root cannot "
                           "reach where it can");
    }
  if (prep == RUNTIME_PREP_OWN_USERNS)
    {
      uid_t uid = geteuid ();
      gid_t gid = getegid ();
      char map[64];
      if (unshare (CLONE_NEWUSER | CLONE_NEWNS) < 0)
        child_fail (errfd, "cannot create a user namespace (unshare "
                           "CLONE_NEWUSER); check "
                           "/proc/sys/user/max_user_namespaces");
      snprintf (map, sizeof map, "0 %u 1", (unsigned)uid);
      if (write_proc ("/proc/self/setgroups", "deny") < 0
          || write_proc ("/proc/self/uid_map", map) < 0)
        child_fail (errfd, "cannot write the uid map");
      snprintf (map, sizeof map, "0 %u 1", (unsigned)gid);
      if (write_proc ("/proc/self/gid_map", map) < 0)
        child_fail (errfd, "cannot write the gid map");
      if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
        child_fail (errfd, "cannot make mounts private");
      if (mount ("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV,
                 "mode=755")
          < 0)
        child_fail (errfd, "cannot hide /sys/fs/cgroup");
    }
}

static void
child_fds (const struct runtime_io *io, int errfd)
{
  const int *pass_fds = io->pass_fds;
  size_t n_pass = io->n_pass;
  int tmp[16];
  if (n_pass > sizeof tmp / sizeof *tmp)
    {
      errno = EMFILE;
      child_fail (errfd, "too many fds to pass");
    }
  /* Move everything above the target range first, so that no source is
   * overwritten before it is copied. */
  for (size_t i = 0; i < n_pass; i++)
    if ((tmp[i] = fcntl (pass_fds[i], F_DUPFD_CLOEXEC, 100)) < 0)
      child_fail (errfd, "cannot pass a file descriptor");
  int err_copy = -1, out_copy = -1;
  if (io->stderr_fd >= 0
      && (err_copy = fcntl (io->stderr_fd, F_DUPFD_CLOEXEC, 100)) < 0)
    child_fail (errfd, "cannot redirect stderr");
  if (io->stdout_fd >= 0
      && (out_copy = fcntl (io->stdout_fd, F_DUPFD_CLOEXEC, 100)) < 0)
    child_fail (errfd, "cannot redirect stdout");
  for (size_t i = 0; i < n_pass; i++)
    if (dup2 (tmp[i], 3 + (int)i) < 0)
      child_fail (errfd, "cannot pass a file descriptor");
  if (err_copy >= 0 && dup2 (err_copy, 2) < 0)
    child_fail (errfd, "cannot redirect stderr");
  if (out_copy >= 0 && dup2 (out_copy, 1) < 0)
    child_fail (errfd, "cannot redirect stdout");
}

static void
child_exec (const struct runtime *rt, char **argv, char **envp,
            const struct runtime_io *io, int errfd, const sigset_t *oldmask)
{
  errfd = fcntl (errfd, F_DUPFD_CLOEXEC, 100);
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
    sigaction (stop_signals[i], &dfl, NULL);
  child_prep (rt, io->stage_binds, io, errfd);
  child_fds (io, errfd);
  sigprocmask (SIG_SETMASK, oldmask, NULL);
  execve (rt->path, argv, envp);
  child_fail (errfd, "cannot execute");
}

/* ---- parent side */

struct child_args
{
  const struct runtime *rt;
  char **argv;
  char **envp;
  const struct runtime_io *io;
  int errfd;
  const sigset_t *oldmask;
};

static int
child_main (void *p)
{
  struct child_args *a = p;
  child_exec (a->rt, a->argv, a->envp, a->io, a->errfd, a->oldmask);
  return 127;
}

/* fork() copies the runner's page tables: ~0.2 ms of every run
 * (bench/invoke).  A CLONE_VM|CLONE_VFORK child on its own stack, as
 * posix_spawn does, costs a fraction of that; the parent sleeps until the
 * child execs.  A user namespace cannot be made from a process that shares
 * its address space, so that workaround still forks. */
static pid_t
start_child (struct child_args *a)
{
  if (a->rt->prep == RUNTIME_PREP_OWN_USERNS)
    {
      pid_t pid = fork ();
      if (pid == 0)
        child_main (a);
      return pid;
    }
  enum
  {
    STACK = 64 * 1024
  };
  char *stack = mmap (NULL, STACK, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED)
    return -1;
  pid_t pid
      = clone (child_main, stack + STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
  int e = errno;
  munmap (stack, STACK);
  errno = e;
  return pid;
}

static int
spawn (const struct runtime *rt, char **argv, const struct runtime_io *io,
       const sigset_t *oldmask, pid_t *out_pid, ohr_error_t *err)
{
  /* the runtime's environment: ours, and the promise that its binary is
   * on a read-only mount (runtime_private_ns) */
  cleanup_strv char **envp = NULL;
  if (rt->bound_ro)
    {
      for (size_t i = 0; environ[i]; i++)
        if (strncmp (environ[i], CLONED_VAR "=", strlen (CLONED_VAR) + 1) != 0
            && strv_push (&envp, environ[i]) < 0)
          return ohr_error_nomem (err);
      if (strv_push (&envp, CLONED_VAR "=1") < 0)
        return ohr_error_nomem (err);
    }
  int pfd[2];
  if (pipe2 (pfd, O_CLOEXEC) < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "pipe");
  struct child_args a
      = { rt, argv, envp ? envp : environ, io, pfd[1], oldmask };
  pid_t pid = start_child (&a);
  if (pid < 0)
    {
      close (pfd[0]);
      close (pfd[1]);
      return ohr_error_errno (err, errno, OHR_ERR_RUNTIME, "%s: cannot fork",
                              rt->backend->name);
    }
  close (pfd[1]);
  char buf[256];
  ssize_t n;
  while ((n = read (pfd[0], buf, sizeof buf - 1)) < 0 && errno == EINTR)
    ;
  close (pfd[0]);
  if (n > 0)
    {
      buf[n] = '\0';
      int e = atoi (buf);
      const char *stage = strchr (buf, ' ');
      waitpid (pid, NULL, 0);
      return ohr_error_set (err, e, OHR_ERR_RUNTIME, "%s (%s): %s: %s",
                            rt->backend->name, rt->path,
                            stage ? stage + 1 : "setup", strerror (e));
    }
  *out_pid = pid;
  return 0;
}

static int
base_argv (const struct runtime *rt, const char *log_path, char ***argv)
{
  if (strv_push (argv, rt->path) < 0 || strv_push (argv, "--root") < 0
      || strv_push (argv, rt->state_root) < 0)
    return -1;
  return rt->backend->global_args (rt, log_path, argv);
}

static void
block_signals (sigset_t *set, sigset_t *oldmask)
{
  sigemptyset (set);
  sigaddset (set, SIGCHLD);
  for (size_t i = 0; i < sizeof stop_signals / sizeof *stop_signals; i++)
    sigaddset (set, stop_signals[i]);
  sigprocmask (SIG_BLOCK, set, oldmask);
}

/* Run a short runtime command (kill, delete) to completion. */
static int
run_simple (const struct runtime *rt, const char *const *cmd, int stderr_fd,
            const sigset_t *oldmask, ohr_error_t *err)
{
  cleanup_strv char **argv = NULL;
  if (base_argv (rt, NULL, &argv) < 0)
    return ohr_error_nomem (err);
  for (size_t i = 0; cmd[i]; i++)
    if (strv_push (&argv, cmd[i]) < 0)
      return ohr_error_nomem (err);
  pid_t pid;
  struct runtime_io io = { .stdout_fd = stderr_fd,
                           .stderr_fd = stderr_fd,
                           .pump_fd = -1,
                           .ready_fd = -1 };
  if (spawn (rt, argv, &io, oldmask, &pid, err) < 0)
    return -1;
  int status = 0;
  pid_t w;
  while ((w = waitpid (pid, &status, 0)) < 0 && errno == EINTR)
    ;
  /* ECHILD (SIGCHLD ignored by whoever embeds us): status was never set */
  if (w < 0)
    return ohr_error_errno (err, errno, OHR_ERR_RUNTIME,
                            "%s %s: cannot wait for it", rt->backend->name,
                            cmd[0]);
  return WIFEXITED (status) && WEXITSTATUS (status) == 0 ? 0 : -1;
}

bool
runtime_has_container (const struct runtime *rt, const char *id)
{
  cleanup_free char *p = fs_path_join (rt->state_root, id);
  return p && fs_exists (p);
}

static int
force_delete (const struct runtime *rt, const char *id, int stderr_fd,
              const sigset_t *oldmask, ohr_error_t *err)
{
  const char *cmd[] = { "delete", "--force", id, NULL };
  return run_simple (rt, cmd, stderr_fd, oldmask, err);
}

int
runtime_force_delete (const struct runtime *rt, const char *id,
                      ohr_error_t *err)
{
  /* the runtime's own messages are of no use to Cargo */
  cleanup_close int null = open ("/dev/null", O_WRONLY | O_CLOEXEC);
  sigset_t cur;
  sigprocmask (SIG_SETMASK, NULL, &cur);
  if (force_delete (rt, id, null, &cur, err) < 0)
    {
      if (err && *err == NULL)
        ohr_error_set (err, EIO, OHR_ERR_RUNTIME,
                       "%s delete --force %s failed", rt->backend->name, id);
      return -1;
    }
  return 0;
}

static int
kill_container (const struct runtime *rt, const char *id, int stderr_fd,
                const sigset_t *oldmask)
{
  const char *cmd[] = { "kill", id, "KILL", NULL };
  ohr_error_t ignored = NULL;
  int r = run_simple (rt, cmd, stderr_fd, oldmask, &ignored);
  ohr_error_free (&ignored);
  return r;
}

struct supervision
{
  const struct runtime *rt;
  const char *id;
  const struct runtime_io *io;
  const sigset_t *oldmask;
  pid_t pid;               /* the runtime; -1 once reaped */
  time_t grace_deadline;   /* after a forwarded signal */
  time_t timeout_deadline; /* policy timeout */
  bool no_sigchld; /* SIGCHLD ignored: the runtime's exit wakes nobody */
  bool pump_open;
  bool init_ready; /* the container's init can take a signal */
  int held;        /* a stop signal received before that */
  bool kill_done;  /* `RUNTIME kill` succeeded */
};

/* The container must die.  `RUNTIME kill` fails while the container is
 * still being created; the script would then start and run unbounded, so
 * supervise() retries until it succeeds or the runtime is gone. */
static void
stop_container (struct supervision *sv, struct runtime_result *out)
{
  out->killed = true;
  if (sv->kill_done || sv->pid < 0)
    return;
  sv->kill_done
      = kill_container (sv->rt, sv->id, sv->io->stderr_fd, sv->oldmask) == 0;
}

/* The runtime passes the signal to the container's init, which passes it
 * to the script. */
static void
forward (struct supervision *sv, int sig)
{
  /* once reaped there is nobody to tell, and kill (-1, sig) would signal
   * every process we may signal */
  if (sv->pid < 0)
    return;
  kill (sv->pid, sig);
  if (!sv->grace_deadline)
    sv->grace_deadline = time (NULL) + GRACE_SECONDS;
}

static void
on_signal (struct supervision *sv, int sig, struct runtime_result *out)
{
  if (sig == SIGCHLD)
    return;
  if (out->forwarded)
    stop_container (sv, out); /* second signal: stop waiting */
  out->forwarded = sig;
  if (sv->init_ready)
    forward (sv, sig);
  else
    sv->held = sig;
}

/* The init's ready line: forward what was held meanwhile. */
static void
on_init_ready (struct supervision *sv, struct runtime_result *out)
{
  char buf[sizeof RUNTIME_INIT_READY - 1];
  ssize_t n = read (sv->io->ready_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  /* anything but the line (an init that does not send it): forward from
   * now on, as without a ready_fd */
  sv->init_ready = true;
  if (sv->held && !out->killed)
    forward (sv, sv->held);
  sv->held = 0;
}

static void
drain (struct supervision *sv)
{
  char buf[65536];
  ssize_t n = read (sv->io->pump_fd, buf, sizeof buf);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return;
  if (n <= 0)
    {
      sv->pump_open = false;
      sv->io->pump (sv->io->pump_ctx, buf, 0);
      return;
    }
  sv->io->pump (sv->io->pump_ctx, buf, (size_t)n);
}

static bool
reaped (struct supervision *sv, struct runtime_result *out)
{
  int status = 0;
  if (sv->pid < 0)
    return true;
  pid_t w = waitpid (sv->pid, &status, WNOHANG);
  if (w < 0 && errno == ECHILD)
    {
      /* reaped behind our back: its status is lost, not "exit 0" */
      out->exited = false;
      out->status = 0;
      out->status_lost = true;
      sv->pid = -1;
      return true;
    }
  if (w != sv->pid)
    return false;
  out->exited = WIFEXITED (status);
  out->status = out->exited ? WEXITSTATUS (status) : WTERMSIG (status);
  sv->pid = -1;
  return true;
}

/* Wait for the runtime while draining the pump; forward stop signals
 * once the init is ready; kill the container when the script outlives the
 * grace period, a second signal arrives, or the timeout passes. */
static void
supervise (struct supervision *sv, int sfd, struct runtime_result *out)
{
  int quiet_polls = 0;
  for (;;)
    {
      bool done = reaped (sv, out);
      /* once the runtime is gone, the pipe's last writers die with the
       * container: wait for EOF a little, never forever */
      if (done && (!sv->pump_open || quiet_polls > 20))
        return;
      bool kill_pending = out->killed && !sv->kill_done;
      struct pollfd p[3] = {
        { .fd = sfd, .events = POLLIN },
        { .fd = sv->pump_open ? sv->io->pump_fd : -1, .events = POLLIN },
        { .fd = sv->init_ready ? -1 : sv->io->ready_fd, .events = POLLIN },
      };
      int timeout = done || kill_pending || sv->grace_deadline
                            || sv->timeout_deadline || sv->no_sigchld
                        ? 100
                        : -1;
      int n = poll (p, 3, timeout);
      if (n == 0 && done)
        quiet_polls++;
      if (n > 0 && (p[2].revents & (POLLIN | POLLHUP | POLLERR)))
        on_init_ready (sv, out);
      if (n > 0 && (p[0].revents & POLLIN))
        {
          struct signalfd_siginfo si;
          if (read (sfd, &si, sizeof si) == sizeof si)
            on_signal (sv, (int)si.ssi_signo, out);
        }
      if (n > 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
        drain (sv);
      time_t now = time (NULL);
      if (sv->grace_deadline && now >= sv->grace_deadline && !out->killed)
        stop_container (sv, out);
      if (sv->timeout_deadline && now >= sv->timeout_deadline && !out->killed)
        {
          out->timed_out = true;
          stop_container (sv, out);
        }
      /* a kill that found no container yet: again, until one works */
      if (kill_pending && !done)
        stop_container (sv, out);
    }
}

int
runtime_run (const struct runtime *rt, const char *bundle, const char *id,
             const char *log_path, const struct runtime_io *io,
             struct runtime_result *out, ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  cleanup_strv char **argv = NULL;
  char nfds[16];
  snprintf (nfds, sizeof nfds, "%zu", io->n_pass);
  if (base_argv (rt, log_path, &argv) < 0 || strv_push (&argv, "run") < 0
      || strv_push (&argv, "--bundle") < 0 || strv_push (&argv, bundle) < 0
      || strv_push (&argv, "--preserve-fds") < 0 || strv_push (&argv, nfds) < 0
      || strv_push (&argv, id) < 0)
    return ohr_error_nomem (err);

  sigset_t set, oldmask;
  block_signals (&set, &oldmask);
  /* Without it no stop signal would ever be forwarded: fail before the
   * container exists. */
  cleanup_close int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    {
      int e = errno;
      sigprocmask (SIG_SETMASK, &oldmask, NULL);
      if (io->pump_fd >= 0 && io->stdout_fd >= 0)
        close (io->stdout_fd);
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL,
                              "cannot create a signalfd to forward signals "
                              "to the container");
    }
  pid_t pid = -1;
  int r = spawn (rt, argv, io, &oldmask, &pid, err);
  if (io->pump_fd >= 0 && io->stdout_fd >= 0)
    close (io->stdout_fd);
  if (r == 0)
    {
      /* ignored (SIG_IGN or SA_NOCLDWAIT, by whoever embeds us): the
       * kernel reaps the runtime and no SIGCHLD comes, so look */
      struct sigaction chld;
      sigaction (SIGCHLD, NULL, &chld);
      struct supervision sv = {
        .no_sigchld
        = chld.sa_handler == SIG_IGN || (chld.sa_flags & SA_NOCLDWAIT),
        .rt = rt,
        .id = id,
        .io = io,
        .oldmask = &oldmask,
        .pid = pid,
        .pump_open = io->pump_fd >= 0,
        .init_ready
        = io->ready_fd<0, .timeout_deadline = io->timeout_seconds> 0
              ? time (NULL) + io->timeout_seconds
              : 0,
      };
      supervise (&sv, sfd, out);
    }
  /* runc and crun remove the container after a normal exit; anything left
   * (runtime killed, signal, crash) is deleted here. */
  if (runtime_has_container (rt, id))
    {
      ohr_error_t ignored = NULL;
      force_delete (rt, id, io->stderr_fd, &oldmask, &ignored);
      ohr_error_free (&ignored);
      out->force_deleted = true;
    }
  sigprocmask (SIG_SETMASK, &oldmask, NULL);
  return r;
}

static char *
log_line_error (const char *line)
{
  char errbuf[128];
  yajl_val root = yajl_tree_parse (line, errbuf, sizeof errbuf);
  if (root == NULL)
    return NULL;
  const char *lpath[] = { "level", NULL };
  const char *mpath[] = { "msg", NULL };
  yajl_val level = yajl_tree_get (root, lpath, yajl_t_string);
  yajl_val msg = yajl_tree_get (root, mpath, yajl_t_string);
  const char *lv = level ? level->u.string : NULL;
  const char *mv = msg ? msg->u.string : NULL;
  char *out = NULL;
  if (lv && mv && strcmp (lv, "error") == 0)
    out = strdup (mv);
  yajl_tree_free (root);
  return out;
}

/* The last line of a file for which pick() returns a string, or NULL. */
static char *
last_matching_line (const char *path, char *(*pick) (const char *line))
{
  cleanup_free char *data = NULL;
  ohr_error_t ignored = NULL;
  if (fs_read_file (path, 1 << 20, &data, NULL, &ignored) < 0)
    {
      ohr_error_free (&ignored);
      return NULL;
    }
  char *last = NULL;
  char *save = NULL;
  for (char *l = strtok_r (data, "\n", &save); l;
       l = strtok_r (NULL, "\n", &save))
    {
      char *m = pick (l);
      if (m)
        {
          free (last);
          last = m;
        }
    }
  return last;
}

static char *
any_line (const char *line)
{
  return strdup (line);
}

char *
runtime_error_message (const char *log_path, const char *stderr_path)
{
  char *m = last_matching_line (log_path, log_line_error);
  return m ? m : last_matching_line (stderr_path, any_line);
}
