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
 * fd 4 is the stderr Cargo gave the runner: the runtime's own stderr is
 * captured by the runner (so runtime noise never mixes with the script's
 * output), and the script gets the real one here.
 *
 * Built static, so it runs in any image whatever its libc; it uses no
 * library beyond the syscalls.  Usage: ohr-init SCRIPT [ARGS...]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define STATUS_FD 3
#define STDERR_PASSED_FD 4

static const int forwarded[]
    = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGPIPE };

static void
report (const char *what, int value)
{
  char buf[32];
  int n = snprintf (buf, sizeof buf, "%s %d\n", what, value);
  if (n > 0 && write (STATUS_FD, buf, (size_t)n) < 0)
    {
      /* the runner is gone; nothing left to tell */
    }
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

int
main (int argc, char **argv)
{
  if (argc < 2)
    {
      fprintf (stderr, "ohr-init: usage: ohr-init SCRIPT [ARGS...]\n");
      return 125;
    }
  /* The script must not inherit the status pipe: it could forge a report. */
  fcntl (STATUS_FD, F_SETFD, FD_CLOEXEC);
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
   * keeps them queued for sigwaitinfo whoever sends them. */
  struct sigaction sa = { .sa_handler = noop };
  for (size_t i = 0; i < sizeof forwarded / sizeof *forwarded; i++)
    sigaction (forwarded[i], &sa, NULL);
  static const char ready[] = "ready\n";
  if (write (STATUS_FD, ready, sizeof ready - 1) < 0)
    {
      /* the runner is gone; nobody will forward a signal */
    }

  pid_t child = fork ();
  if (child < 0)
    {
      report ("exec", errno);
      return 126;
    }
  if (child == 0)
    exec_script (argv + 1, &oldmask);

  for (;;)
    {
      int sig = sigwaitinfo (&set, NULL);
      if (sig < 0)
        continue;
      if (sig != SIGCHLD)
        {
          kill (child, sig);
          continue;
        }
      int status;
      pid_t pid;
      /* Reap every exited process; stop when the script is among them. */
      while ((pid = waitpid (-1, &status, WNOHANG)) > 0)
        {
          if (pid != child)
            continue;
          if (WIFSIGNALED (status))
            {
              report ("signal", WTERMSIG (status));
              return 128 + WTERMSIG (status);
            }
          /* An exec failure already reported itself. */
          int code = WEXITSTATUS (status);
          report ("exit", code);
          return code;
        }
    }
}
