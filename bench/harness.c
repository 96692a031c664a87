/* harness.c: the timing harness of bench/invoke (compiled by it into a
 * temporary directory; not part of the product).
 *
 * Usage: harness -n N -w WARMUP -o OUTDIR MODEFILE
 *
 * MODEFILE has one mode per line, fields separated by TABs:
 *     NAME  FLAGS  ARG0  ARG1 ...
 * FLAGS is "-" or a comma-separated list of
 *     hide-unified  in the child, before exec: unshare(CLONE_NEWNS), make
 *                   every mount a slave, an empty tmpfs over
 *                   /sys/fs/cgroup/unified:
 *                   exactly what oci-host-runner does before it starts crun
 *                   on a hybrid-cgroup host (src/runtime/runtime.c, child_prep)
 *     shared-ns     in the child, before exec: setns() into ONE mount
 *                   namespace made at start-up the same way (the cost of
 *                   "unshare once around the whole loop", without making
 *                   the other modes run inside it)
 *     ro-runtime    in the child, before exec (after hide-unified, else in
 *                   a mount namespace of its own): bind ARG0 read-only
 *                   over itself and set _LIBCONTAINER_CLONED_BINARY=1, as
 *                   oci-host-runner does as root (runtime_private_ns), so
 *                   that crun skips its self re-exec
 *     fds=N         pass N extra fds, as oci-host-runner does with
 *                   --preserve-fds N: fd 3 is /dev/null (where ohr-init
 *                   writes its report), fds 4 and up are the child's stderr
 * "{ID}" in an argument is replaced by a container id unique to the run.
 *
 * Rounds: WARMUP unrecorded rounds, then N recorded ones; each round runs
 * every mode once, in an order shuffled afresh for every round (fixed seed,
 * so reproducible).  Slow drift of the machine (other load, caches,
 * frequency) then hits all modes alike, and so does the clean-up a
 * container leaves to the kernel (and runc to its own exiting threads)
 * that slows whatever runs next: each mode follows every other one about
 * equally often.
 *
 * One sample = wall time from just before fork() to waitpid() returning,
 * CLOCK_MONOTONIC, in the harness process.  A child's stdout is appended to
 * OUTDIR/NAME.out and its stderr to OUTDIR/NAME.err; stdin is /dev/null.
 *
 * Output: OUTDIR/samples.tsv (NAME, round, microseconds, the mode run just
 * before it in the round sequence) and, on stdout,
 * one line per mode:
 *     NAME  runs  failures  min  median  p90  mean  max     (microseconds)
 * median and p90 are nearest-rank percentiles of the N samples; failures
 * count the warm-up runs too.  A first line
 *     #cpu  WALL  BUSY  OWN  CPUS
 * gives, for the recorded rounds, the wall seconds, the CPU-seconds the
 * whole machine was busy (/proc/stat) and the CPU-seconds of the harness
 * and its children (getrusage), to tell a quiet machine from a busy one.
 * Exit status: 0, or 1 when any recorded or warm-up run failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_MODES 32
#define MAX_ARGS 64

enum
{
  F_HIDE_UNIFIED = 1,
  F_SHARED_NS = 2,
  F_RO_RUNTIME = 4,
};

struct mode
{
  char *name;
  unsigned flags;
  int extra_fds;
  char *argv[MAX_ARGS + 1];
  int argc;
  int out_fd, err_fd;
  double *samples; /* microseconds */
  int *prev;       /* the mode run just before each sample, or -1 */
  int failures;
  int first_status;
};

static struct mode modes[MAX_MODES];
static int n_modes;
static int shared_ns_fd = -1;
static char cwd[4096];

static void
die (const char *what)
{
  perror (what);
  exit (2);
}

static double
now_us (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* the tmpfs takes what crun, making v1 cgroups, writes for the v2 line of
 * /proc/self/cgroup; in the shared namespace (shared-ns) that piles up over
 * the whole run, hence more room than the runner's per-run one needs */
static void
hide_unified (void)
{
  if (unshare (CLONE_NEWNS) < 0)
    die ("unshare(CLONE_NEWNS)");
  if (mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
    die ("mount(/, MS_REC|MS_SLAVE)");
  if (mount ("tmpfs", "/sys/fs/cgroup/unified", "tmpfs",
             MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=16m,mode=0755")
          < 0
      && errno != ENOENT)
    die ("mount(tmpfs, /sys/fs/cgroup/unified)");
}

/* Make the shared namespace, then go back to the original one. */
static void
make_shared_ns (void)
{
  int host = open ("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (host < 0)
    die ("open /proc/self/ns/mnt");
  hide_unified ();
  shared_ns_fd = open ("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (shared_ns_fd < 0)
    die ("open /proc/self/ns/mnt (private)");
  if (setns (host, CLONE_NEWNS) < 0)
    die ("setns back to the original mount namespace");
  close (host);
  if (chdir (cwd) < 0)
    die ("chdir");
}

static unsigned
parse_flags (const char *s, int *extra_fds)
{
  unsigned f = 0;
  *extra_fds = 0;
  if (strcmp (s, "-") == 0)
    return 0;
  char *copy = strdup (s), *save = NULL;
  for (char *t = strtok_r (copy, ",", &save); t;
       t = strtok_r (NULL, ",", &save))
    {
      if (strcmp (t, "hide-unified") == 0)
        f |= F_HIDE_UNIFIED;
      else if (strcmp (t, "shared-ns") == 0)
        f |= F_SHARED_NS;
      else if (strcmp (t, "ro-runtime") == 0)
        f |= F_RO_RUNTIME;
      else if (strncmp (t, "fds=", 4) == 0 && atoi (t + 4) >= 0
               && atoi (t + 4) <= 16)
        *extra_fds = atoi (t + 4);
      else
        {
          fprintf (stderr, "harness: unknown flag '%s'\n", t);
          exit (2);
        }
    }
  free (copy);
  return f;
}

static void
load_modes (const char *file, const char *outdir, int n)
{
  FILE *f = fopen (file, "r");
  if (f == NULL)
    die (file);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline (&line, &cap, f)) > 0)
    {
      if (line[len - 1] == '\n')
        line[--len] = '\0';
      if (len == 0 || line[0] == '#')
        continue;
      if (n_modes == MAX_MODES)
        {
          fprintf (stderr, "harness: too many modes\n");
          exit (2);
        }
      struct mode *m = &modes[n_modes++];
      char *save = NULL;
      char *name = strtok_r (line, "\t", &save);
      char *flags = strtok_r (NULL, "\t", &save);
      if (name == NULL || flags == NULL)
        {
          fprintf (stderr, "harness: bad mode line\n");
          exit (2);
        }
      m->name = strdup (name);
      m->flags = parse_flags (flags, &m->extra_fds);
      for (char *a; (a = strtok_r (NULL, "\t", &save));)
        {
          if (m->argc == MAX_ARGS)
            {
              fprintf (stderr, "harness: too many arguments\n");
              exit (2);
            }
          m->argv[m->argc++] = strdup (a);
        }
      if (m->argc == 0)
        {
          fprintf (stderr, "harness: mode %s has no command\n", m->name);
          exit (2);
        }
      char path[4096];
      snprintf (path, sizeof path, "%s/%s.out", outdir, m->name);
      m->out_fd = open (
          path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
      snprintf (path, sizeof path, "%s/%s.err", outdir, m->name);
      m->err_fd = open (
          path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
      if (m->out_fd < 0 || m->err_fd < 0)
        die (path);
      m->samples = calloc ((size_t)n, sizeof *m->samples);
      m->prev = calloc ((size_t)n, sizeof *m->prev);
      if (m->samples == NULL || m->prev == NULL)
        die ("calloc");
      if (m->flags & F_SHARED_NS && shared_ns_fd < 0)
        make_shared_ns ();
    }
  free (line);
  fclose (f);
}

/* argv with {ID} replaced; allocated in the child only (leaks are moot). */
static char **
child_argv (const struct mode *m, int mode_index, int round)
{
  static char *argv[MAX_ARGS + 1];
  for (int i = 0; i < m->argc; i++)
    {
      const char *a = m->argv[i];
      const char *p = strstr (a, "{ID}");
      if (p == NULL)
        {
          argv[i] = (char *)a;
          continue;
        }
      if (asprintf (&argv[i], "%.*sohrbench-%d-%d-%d%s", (int)(p - a), a,
                    (int)getppid (), mode_index, round, p + 4)
          < 0)
        _exit (125);
    }
  argv[m->argc] = NULL;
  return argv;
}

static void
child (const struct mode *m, int mode_index, int round)
{
  /* above every fd it will set up */
  int devnull
      = fcntl (open ("/dev/null", O_RDWR | O_CLOEXEC), F_DUPFD_CLOEXEC, 64);
  if (devnull < 0 || dup2 (devnull, 0) < 0 || dup2 (m->out_fd, 1) < 0
      || dup2 (m->err_fd, 2) < 0)
    _exit (125);
  for (int i = 0; i < m->extra_fds; i++)
    if (dup2 (i == 0 ? devnull : m->err_fd, 3 + i) < 0)
      _exit (125);
  if (m->flags & F_HIDE_UNIFIED)
    hide_unified ();
  if (m->flags & F_SHARED_NS)
    {
      if (setns (shared_ns_fd, CLONE_NEWNS) < 0 || chdir (cwd) < 0)
        die ("setns");
    }
  char **argv = child_argv (m, mode_index, round);
  if (m->flags & F_RO_RUNTIME)
    {
      if (!(m->flags & F_HIDE_UNIFIED)
          && (unshare (CLONE_NEWNS) < 0
              || mount (NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0))
        die ("unshare");
      char *real = realpath (argv[0], NULL);
      if (real == NULL || mount (real, real, NULL, MS_BIND, NULL) < 0
          || mount (NULL, real, NULL,
                    MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
                    NULL)
                 < 0)
        die ("bind the runtime read-only");
      setenv ("_LIBCONTAINER_CLONED_BINARY", "1", 1);
    }
  execv (argv[0], argv);
  perror (argv[0]);
  _exit (127);
}

/* One run; returns microseconds, records a failure. */
static double
run_once (struct mode *m, int mode_index, int round)
{
  double t0 = now_us ();
  pid_t pid = fork ();
  if (pid < 0)
    die ("fork");
  if (pid == 0)
    child (m, mode_index, round);
  int status;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      die ("waitpid");
  double t1 = now_us ();
  if (!(WIFEXITED (status) && WEXITSTATUS (status) == 0))
    {
      if (m->failures++ == 0)
        m->first_status = status;
    }
  return t1 - t0;
}

/* busy CPU time of the whole machine so far (seconds), from /proc/stat */
static double
machine_busy (void)
{
  FILE *f = fopen ("/proc/stat", "r");
  unsigned long long v[10] = { 0 };
  if (f == NULL)
    return 0;
  int n = fscanf (f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu",
                  &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
                  &v[8], &v[9]);
  fclose (f);
  if (n < 8)
    return 0;
  /* user nice system [idle iowait] irq softirq steal (guest is in user) */
  unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return (double)busy / (double)sysconf (_SC_CLK_TCK);
}

/* CPU time of this process and its waited-for descendants (seconds) */
static double
own_cpu (void)
{
  struct rusage s, c;
  getrusage (RUSAGE_SELF, &s);
  getrusage (RUSAGE_CHILDREN, &c);
  return (double)(s.ru_utime.tv_sec + s.ru_stime.tv_sec + c.ru_utime.tv_sec
                  + c.ru_stime.tv_sec)
         + (double)(s.ru_utime.tv_usec + s.ru_stime.tv_usec
                    + c.ru_utime.tv_usec + c.ru_stime.tv_usec)
               / 1e6;
}

/* Fisher-Yates with a 64-bit LCG (Knuth's MMIX constants) */
static void
shuffle (int *v, int n, unsigned long long *seed)
{
  for (int i = n - 1; i > 0; i--)
    {
      *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
      int j = (int)((*seed >> 33) % (unsigned long long)(i + 1));
      int t = v[i];
      v[i] = v[j];
      v[j] = t;
    }
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* nearest rank: the smallest sample with at least p% at or below it */
static double
percentile (const double *sorted, int n, double p)
{
  int rank = (int)((p / 100.0) * n + 0.999999);
  if (rank < 1)
    rank = 1;
  if (rank > n)
    rank = n;
  return sorted[rank - 1];
}

int
main (int argc, char **argv)
{
  int n = 200, warmup = 5, opt;
  const char *outdir = ".";
  while ((opt = getopt (argc, argv, "n:w:o:")) != -1)
    switch (opt)
      {
      case 'n':
        n = atoi (optarg);
        break;
      case 'w':
        warmup = atoi (optarg);
        break;
      case 'o':
        outdir = optarg;
        break;
      default:
        fprintf (stderr, "usage: harness -n N -w WARMUP -o OUTDIR MODEFILE\n");
        return 2;
      }
  if (optind != argc - 1 || n < 1 || warmup < 0)
    {
      fprintf (stderr, "usage: harness -n N -w WARMUP -o OUTDIR MODEFILE\n");
      return 2;
    }
  /* bench/invoke killed (its temp dir is gone): stop too */
  prctl (PR_SET_PDEATHSIG, SIGTERM);
  if (getppid () == 1)
    return 2;
  if (getcwd (cwd, sizeof cwd) == NULL)
    die ("getcwd");
  load_modes (argv[optind], outdir, n);
  if (n_modes == 0)
    {
      fprintf (stderr, "harness: no modes\n");
      return 2;
    }

  double t_start = 0, busy_start = 0, own_start = 0;
  int order[MAX_MODES], prev = -1;
  unsigned long long seed = 0x6f68722d62656e63ULL; /* fixed: reproducible */
  for (int i = 0; i < n_modes; i++)
    order[i] = i;
  for (int r = 0; r < warmup + n; r++)
    {
      if (r == warmup)
        {
          t_start = now_us ();
          busy_start = machine_busy ();
          own_start = own_cpu ();
        }
      shuffle (order, n_modes, &seed);
      for (int k = 0; k < n_modes; k++)
        {
          int i = order[k];
          double us = run_once (&modes[i], i, r);
          if (r >= warmup)
            {
              modes[i].samples[r - warmup] = us;
              modes[i].prev[r - warmup] = prev;
            }
          prev = i;
        }
    }
  /* wall seconds, machine busy CPU-seconds, this harness's CPU-seconds */
  printf ("#cpu\t%.2f\t%.2f\t%.2f\t%ld\n", (now_us () - t_start) / 1e6,
          machine_busy () - busy_start, own_cpu () - own_start,
          sysconf (_SC_NPROCESSORS_ONLN));

  char path[4096];
  snprintf (path, sizeof path, "%s/samples.tsv", outdir);
  FILE *sf = fopen (path, "w");
  if (sf == NULL)
    die (path);
  int failed = 0;
  for (int i = 0; i < n_modes; i++)
    {
      struct mode *m = &modes[i];
      double sum = 0;
      for (int r = 0; r < n; r++)
        {
          fprintf (sf, "%s\t%d\t%.1f\t%s\n", m->name, r, m->samples[r],
                   m->prev[r] >= 0 ? modes[m->prev[r]].name : "-");
          sum += m->samples[r];
        }
      qsort (m->samples, (size_t)n, sizeof *m->samples, cmp_double);
      printf ("%s\t%d\t%d\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n", m->name, n,
              m->failures, m->samples[0], percentile (m->samples, n, 50),
              percentile (m->samples, n, 90), sum / n, m->samples[n - 1]);
      if (m->failures)
        {
          failed = 1;
          int st = m->first_status;
          fprintf (stderr, "harness: %s: %d failed run(s), first: %s %d\n",
                   m->name, m->failures,
                   WIFEXITED (st) ? "exit status" : "signal",
                   WIFEXITED (st) ? WEXITSTATUS (st) : WTERMSIG (st));
        }
    }
  fclose (sf);
  return failed;
}
