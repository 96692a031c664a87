/* ohr-init: the first process inside every build-script container.
 *
 * Why not run the build script as pid 1 directly: pid 1 ignores every
 * signal it has no handler for, so a forwarded SIGINT/SIGTERM would not stop
 * a script, orphaned compiler processes would never be reaped, and the
 * runtime reports a signal death only as an ambiguous 128+N.  This init
 * forks the script, forwards signals to it, reaps every child, and reports
 * on fd 3 (a pipe to oci-host-runner) first "ready\n", once a signal sent
 * to it is queued instead of dropped (the runner holds the ones it gets
 * before: runtime.h RUNTIME_INIT_READY), then the script's exact fate:
 *     "exit N\n" | "signal N\n" | "exec ERRNO\n"
 * It exits with the script's status (128+N for a signal).
 *
 * fd 3 is also the lifeline: one end of a socketpair whose other end only
 * the runner holds (close-on-exec, so neither the runtime nor anything it
 * starts inherits it).  When the runner dies, even by SIGKILL, that end
 * closes and fd 3 reads end of file: the init kills every process of the
 * container and exits, as bubblewrap's --die-with-parent does.  In a PID
 * namespace (the init is pid 1) that is kill (-1); with --degraded proc
 * there is none, and the init kills the script's process group, its own
 * session and, as a child subreaper, every descendant, in rounds until
 * none is left; what escapes that (a process that outruns 100 rounds) is
 * left to the runtime's cgroup and the next run's sweep.  A socket also cannot
 * be opened through /proc/PID/fd (ENXIO), and the init makes itself
 * non-dumpable, so the script cannot reach fd 3 through /proc/1/fd to forge a
 * report.
 *
 * fd 4 is the stderr Cargo gave the runner: the runtime's own stderr is
 * captured by the runner (so runtime noise never mixes with the script's
 * output), and the script gets the real one here.
 *
 * Built static, so it runs in any image whatever its libc; it uses no
 * library beyond the syscalls.  Usage: ohr-init SCRIPT [ARGS...]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_FD 3
#define STDERR_PASSED_FD 4

static const int forwarded[]
    = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE };

/* MSG_NOSIGNAL: the runner may be gone, and SIGPIPE would only be
 * forwarded to the script.  A pipe (an older runner) is written to
 * plainly. */
static void
send_status (const char *buf, size_t len)
{
  if (send (STATUS_FD, buf, len, MSG_NOSIGNAL) < 0 && errno == ENOTSOCK
      && write (STATUS_FD, buf, len) < 0)
    {
      /* the runner is gone; nothing left to tell */
    }
}

static void
report (const char *what, int value)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%s %d\n", what, value);
  if (n > 0)
    send_status (buf, (size_t)n);
}

static void
exec_script (char **argv, const sigset_t *oldmask)
{
  /* Its own process group: a runtime that signals the init's group must
   * not reach the script behind our back; it gets each forwarded signal
   * exactly once, from us. */
  setpgid (0, 0);
  struct sigaction dfl = { .sa_handler = SIG_DFL };
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaction (forwarded[i], &dfl, NULL);
  sigprocmask (SIG_SETMASK, oldmask, NULL);
  execv (argv[0], argv);
  int e = errno;
  report ("exec", e);
  _exit (e == ENOENT ? 127 : 126);
}

static void
noop (int sig)
{
  (void)sig;
}

/* Without a PID namespace: every process of our session, and every child
 * of ours (as a child subreaper, each descendant whose parent dies becomes
 * one), read from the host's /proc (bound in that mode).  Returns how many
 * were signalled. */
static int
kill_ours (void)
{
  pid_t self = getpid ();
  bool leader = getsid (0) == self;
  int n = 0;
  DIR *d = opendir ("/proc");
  if (d == NULL)
    return 0;
  struct dirent *e;
  while ((e = readdir (d)) != NULL)
    {
      char *end;
      long pid = strtol (e->d_name, &end, 10);
      if (*end || pid <= 0 || pid == self)
        continue;
      char path[64], buf[512];
      snprintf (path, sizeof path, "/proc/%ld/stat", pid);
      int fd = open (path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue;
      ssize_t len = read (fd, buf, sizeof buf - 1);
      close (fd);
      if (len <= 0)
        continue;
      buf[len] = '\0';
      /* "pid (comm) state ppid pgrp session ...": comm may hold spaces */
      char *p = strrchr (buf, ')');
      int ppid, pgrp, session;
      char state;
      if (p == NULL
          || sscanf (p + 1, " %c %d %d %d", &state, &ppid, &pgrp, &session)
                 != 4
          || state == 'Z')
        continue;
      if (ppid == self || (leader && session == self))
        {
          kill ((pid_t)pid, SIGKILL);
          n++;
        }
    }
  closedir (d);
  return n;
}

/* The runner is gone: nobody will read the script's output, forward a
 * signal or enforce the timeout. */
static int
die_with_runner (pid_t child)
{
  if (getpid () == 1)
    {
      kill (-1, SIGKILL); /* every process of our PID namespace */
      return 128 + SIGKILL;
    }
  kill (child, SIGKILL); /* before its setpgid, too */
  kill (-child, SIGKILL);
  /* Orphans of the killed come to us: again until none is left (bounded:
   * a fork bomb that outruns us is the runtime's cgroup's to end). */
  for (int round = 0; round < 100; round++)
    {
      while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
      if (kill_ours () == 0)
        break;
      usleep (10 * 1000);
    }
  return 128 + SIGKILL;
}

/* Reap every exited process; true (and *code) when the script is among
 * them. */
static bool
reap (pid_t child, int *code)
{
  int status;
  pid_t pid;
  while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
    {
      if (pid != child)
        continue;
      if (WIFSIGNALED (status))
        {
          report ("signal", WTERMSIG (status));
          *code = 128 + WTERMSIG (status);
          return true;
        }
      /* An exec failure already reported itself. */
      *code = WEXITSTATUS (status);
      report ("exit", *code);
      return true;
    }
  return false;
}

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "ohr-init: usage: ohr-init SCRIPT [ARGS...]\n");
      return 125;
    }
  /* The script must not inherit the status socket: it could forge a
   * report.  Nor reach it through /proc/1/fd: a non-dumpable process's
   * fds are open to ptrace-capable processes only (the script has no
   * capability). */
  fcntl (STATUS_FD, F_SETFD, FD_CLOEXEC);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
  /* Without a PID namespace (--degraded proc), descendants orphaned by a
   * setsid'd double fork come to us, not to the host's init: the lifeline
   * can then still find them. */
  if (getpid () != 1)
    prctl (PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  if (fcntl (STDERR_PASSED_FD, F_GETFD) >= 0)
    {
      dup2 (STDERR_PASSED_FD, STDERR_FILENO);
      close (STDERR_PASSED_FD);
    }

  sigset_t set, oldmask;
  sigemptyset (&set);
  sigaddset (&set, SIGCHLD);
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaddset (&set, forwarded[i]);
  sigprocmask (SIG_BLOCK, &set, &oldmask);
  /* pid 1 drops signals whose action is SIG_DFL; a (never run) handler
   * keeps them queued for the signalfd whoever sends them. */
  struct sigaction sa = { .sa_handler = noop };
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaction (forwarded[i], &sa, NULL);
  int sfd = signalfd (-1, &set, SFD_CLOEXEC);
  if (sfd < 0)
    {
      /* without it no signal would be forwarded, nor the script reaped */
      fprintf (stderr, "ohr-init: cannot create a signalfd: %s\n",
               strerror (errno));
      return 125;
    }
  static const char ready[] = "ready\n";
  send_status (ready, sizeof ready - 1);

  pid_t child = fork ();
  if (child < 0)
    {
      report ("exec", errno);
      return 126;
    }
  if (child == 0)
    exec_script (argv + 1, &oldmask);

  /* Only a socket is a lifeline: a pipe (an older runner) or /dev/null
   * (bench/harness.c) is just where reports go, and /dev/null reads end of
   * file at once. */
  struct stat st;
  bool lifeline = fstat (STATUS_FD, &st) == 0 && S_ISSOCK (st.st_mode);
  for (;;)
    {
      struct pollfd p[2] = {
        { .fd = sfd, .events = POLLIN },
        { .fd = lifeline ? STATUS_FD : -1, .events = POLLIN },
      };
      if (poll (p, 2, -1) < 0)
        continue;
      if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
        {
          char buf[64];
          ssize_t n = read (STATUS_FD, buf, sizeof buf);
          if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
            return die_with_runner (child);
        }
      if (!(p[0].revents & POLLIN))
        continue;
      struct signalfd_siginfo si;
      if (read (sfd, &si, sizeof si) != sizeof si)
        continue;
      int code;
      if ((int)si.ssi_signo != SIGCHLD)
        kill (child, (int)si.ssi_signo);
      else if (reap (child, &code))
        return code;
    }
}
