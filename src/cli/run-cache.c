/* run-cache.c: see run-cache.h */
#define _GNU_SOURCE
#include "cli/run-cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cache/index.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/helper-exe.h"
#include "util/proc.h"

#define REQUEST_NAME "cache-request"

void
run_cache_init (struct run_cache *c)
{
  memset (c, 0, sizeof *c);
  c->err_r = c->err_w = -1;
}

static void set_line (struct run_cache *c, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static void
set_line (struct run_cache *c, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  free (c->line);
  if (vasprintf (&c->line, fmt, ap) < 0)
    c->line = NULL;
  va_end (ap);
}

/* The store helper's last line of stderr, for a notice. */
static const char *
last_line (char *s)
{
  size_t n = strlen (s);
  while (n > 0 && s[n - 1] == '\n')
    s[--n] = '\0';
  const char *l = strrchr (s, '\n');
  return l ? l + 1 : s;
}

static int
helper (struct run_cache *c, char **argv, struct proc_result *pr)
{
  ohr_error_t err = NULL;
  if (c->helper == NULL
      && helper_exe_find ("oci-host-runner-store", "OCI_HOST_RUNNER_STORE",
                          &c->helper, &err)
             < 0)
    {
      fprintf (stderr, "oci-host-runner: notice: result cache: %s\n",
               err->msg);
      ohr_error_free (&err);
      return -1;
    }
  argv[0] = c->helper;
  if (proc_run (argv, pr, &err) < 0)
    {
      fprintf (stderr, "oci-host-runner: notice: result cache: %s\n",
               err->msg);
      ohr_error_free (&err);
      return -1;
    }
  if (pr->status != 0)
    {
      fprintf (stderr, "oci-host-runner: notice: result cache: %s\n",
               last_line (pr->err));
      proc_result_clear (pr);
      return -1;
    }
  return 0;
}

/* The fast path (run-cache.h): no exec, no libostree, before any
 * container set-up.  Silent: the store helper reports what is wrong with
 * the store when it is asked after a miss. */
int
run_cache_lookup_index (struct run_cache *c, const struct cache_facts *facts,
                        const struct cache_plan_input *plan,
                        const char *store_dir)
{
  if (cache_refusal (facts))
    return 0;
  struct cache_request req;
  struct cache_key key;
  ohr_error_t err = NULL;
  if (cache_plan_request (plan, &req, &err) < 0)
    {
      ohr_error_free (&err);
      return 0;
    }
  int r = cache_key_of_request (store_dir, &req, &key, &err);
  cache_request_clear (&req);
  ohr_error_free (&err);
  if (r < 0)
    return 0;
  int64_t ns = 0;
  int hit = cache_index_restore (store_dir, key.hex, plan->ctx->out_dir,
                                 &c->hit_out, &c->hit_err, &ns);
  if (hit > 0)
    {
      cache_index_log (store_dir, "hit", key.hex, ns);
      memcpy (c->key, key.hex, 65);
      c->saved_ns = ns;
      set_line (c, "result-cache: hit %.12s (saved %.1f s)", c->key,
                (double)ns / 1e9);
    }
  cache_key_clear (&key);
  return hit > 0;
}

static int
write_request (struct run_cache *c, const struct cache_plan_input *plan,
               char **out_path)
{
  struct cache_request req;
  struct buf b = { 0 };
  ohr_error_t err = NULL;
  cleanup_free char *path = fs_path_join (c->dir, REQUEST_NAME);
  int r = path ? cache_plan_request (plan, &req, &err) : -1;
  if (r == 0)
    {
      r = cache_request_encode (&req, &b, &err);
      cache_request_clear (&req);
    }
  if (r == 0)
    r = fs_write_atomic (path, b.data ? b.data : "", b.len, 0600, false, &err);
  buf_clear (&b);
  if (r < 0)
    {
      set_line (c, "result-cache: off (%s)", err ? err->msg : "out of memory");
      ohr_error_free (&err);
      return -1;
    }
  *out_path = steal_pointer (&path);
  return 0;
}

/* --attest: the store helper serves only hits that bring a statement */
static int
write_attest_mark (struct run_cache *c)
{
  cleanup_free char *p = fs_path_join (c->dir, "cache-attest");
  ohr_error_t err = NULL;
  if (p == NULL || fs_write_atomic (p, "", 0, 0600, false, &err) < 0)
    {
      set_line (c, "result-cache: off (%s)", err ? err->msg : "out of memory");
      ohr_error_free (&err);
      return -1;
    }
  return 0;
}

static int
read_back_path (const char *p, struct buf *out)
{
  cleanup_free char *data = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  if (p == NULL || fs_read_file (p, 256u << 20, &data, &len, &err) < 0
      || buf_add (out, data, len) < 0)
    {
      ohr_error_free (&err);
      return -1;
    }
  return 0;
}

static int
read_back (const char *dir, const char *name, struct buf *out)
{
  cleanup_free char *p = fs_path_join (dir, name);
  return read_back_path (p, out);
}

/* ---- the remote cache: its settings go to the helper in a file of the
 * bundle (a URL may hold credentials: not in argv), its answers come
 * back as lines after the first, "warning TEXT" or "note TEXT" */

static int
add_setting (char **text, const char *name, const char *value)
{
  if (value == NULL)
    return 0;
  if (strchr (value, '\n'))
    return -1;
  char *t = NULL;
  if (asprintf (&t, "%s%s %s\n", *text ? *text : "", name, value) < 0)
    return -1;
  free (*text);
  *text = t;
  return 0;
}

int
run_cache_set_remote (struct run_cache *c, const char *url, bool read_only,
                      const char *sign, char *const *trust,
                      const char *state_dir)
{
  cleanup_free char *text = NULL;
  int r = add_setting (&text, "url", url);
  r = r < 0 ? r
            : add_setting (&text, "mode", read_only ? "read" : "read-write");
  r = r < 0 ? r : add_setting (&text, "sign", sign);
  r = r < 0 ? r : add_setting (&text, "state", state_dir);
  char ppid[24];
  snprintf (ppid, sizeof ppid, "%ld", (long)getppid ());
  r = r < 0 ? r : add_setting (&text, "build-pid", ppid);
  for (size_t i = 0; r == 0 && trust && trust[i]; i++)
    r = add_setting (&text, "trust", trust[i]);
  if (r < 0)
    return -1;
  free (c->remote);
  c->remote = steal_pointer (&text);
  return 0;
}

static void
write_remote (struct run_cache *c)
{
  if (c->remote == NULL)
    return;
  cleanup_free char *p = fs_path_join (c->dir, "cache-remote");
  ohr_error_t err = NULL;
  if (p == NULL
      || fs_write_atomic (p, c->remote, strlen (c->remote), 0600, false, &err)
             < 0)
    fprintf (stderr,
             "oci-host-runner: warning: result cache: the remote's "
             "settings could not be written: %s\n",
             err ? err->msg : "out of memory");
  ohr_error_free (&err);
}

/* The helper's lines after its answer: warnings now, notes for -v. */
static void
remote_answers (struct run_cache *c, const char *out)
{
  const char *l = strchr (out, '\n');
  while (l && *++l)
    {
      size_t n = strcspn (l, "\n");
      if (strncmp (l, "warning ", 8) == 0)
        fprintf (stderr, "oci-host-runner: warning: result cache: %.*s\n",
                 (int)(n - 8), l + 8);
      else if (strncmp (l, "note ", 5) == 0)
        {
          free (c->note);
          c->note = strndup (l + 5, n - 5);
        }
      else if (strncmp (l, "attest ", 7) == 0)
        {
          free (c->why);
          c->why = strndup (l + 7, n - 7);
        }
      l += n;
      if (*l == '\0')
        break;
    }
}

int
run_cache_lookup (struct run_cache *c, const struct cache_facts *facts,
                  const struct cache_plan_input *plan, const char *store_dir,
                  const char *bundle_dir)
{
  const char *why = cache_refusal (facts);
  if (why)
    {
      set_line (c, "result-cache: off (%s)", why);
      return 0;
    }
  if ((c->dir = strdup (bundle_dir)) == NULL
      || (c->store = strdup (store_dir)) == NULL
      || (c->out_dir = strdup (plan->ctx->out_dir)) == NULL)
    return 0;
  cleanup_free char *request = NULL;
  if (write_request (c, plan, &request) < 0)
    return 0;
  write_remote (c);
  if (c->attest && write_attest_mark (c) < 0)
    return 0;
  char *argv[] = { NULL,    "result-get",       "--store", c->store,
                   request, plan->ctx->out_dir, c->dir,    NULL };
  struct proc_result pr = { 0 };
  if (helper (c, argv, &pr) < 0)
    {
      set_line (c, "result-cache: off (the store could not be asked)");
      return 0;
    }
  char what[8] = "", key[65] = "", where[8] = "";
  long long ns = 0;
  int n = sscanf (pr.out, "%7s %64s %lld %7s", what, key, &ns, where);
  remote_answers (c, pr.out);
  proc_result_clear (&pr);
  c->remote_hit = n == 4 && strcmp (where, "remote") == 0;
  n = n > 3 ? 3 : n;
  if (n < 2 || strlen (key) != 64)
    {
      set_line (c, "result-cache: off (the store helper said nothing "
                   "usable)");
      return 0;
    }
  memcpy (c->key, key, 65);
  if (strcmp (what, "hit") == 0 && n == 3
      && read_back (c->dir, "hit-stdout", &c->hit_out) == 0
      && read_back (c->dir, "hit-stderr", &c->hit_err) == 0
      && (!c->attest
          || read_back (c->dir, "hit-statement", &c->hit_statement) == 0))
    {
      c->saved_ns = ns;
      set_line (c, "result-cache: hit %.12s (%ssaved %.1f s)", c->key,
                c->remote_hit ? "remote, " : "", (double)ns / 1e9);
      return 1;
    }
  if (strcmp (what, "hit") == 0)
    {
      /* restored, but its output is lost: the script runs, uncached,
       * over the empty OUT_DIR it would have had */
      fprintf (stderr,
               "oci-host-runner: notice: result cache: the output "
               "of result %.12s could not be read back\n",
               c->key);
      cache_dir_empty_out (plan->ctx->out_dir);
      set_line (c, "result-cache: off (its result could not be read back)");
      return 0;
    }
  c->active = true;
  if (c->note && c->why)
    set_line (c, "result-cache: miss %.12s (%s; remote: %s)", c->key, c->why,
              c->note);
  else if (c->note)
    set_line (c, "result-cache: miss %.12s (remote: %s)", c->key, c->note);
  else if (c->why)
    set_line (c, "result-cache: miss %.12s (%s)", c->key, c->why);
  else
    set_line (c, "result-cache: miss %.12s", c->key);
  return 0;
}

static void *
tee_stderr (void *arg)
{
  struct run_cache *c = arg;
  char b[65536];
  for (;;)
    {
      ssize_t n = read (c->err_r, b, sizeof b);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      for (ssize_t off = 0; off < n;)
        {
          ssize_t w = write (STDERR_FILENO, b + off, (size_t)(n - off));
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            break;
          off += w;
        }
      /* past the buffer's bound the result is not stored (below) */
      if (buf_add (&c->err, b, (size_t)n) < 0)
        c->active = false;
    }
  return NULL;
}

int
run_cache_stderr_fd (struct run_cache *c)
{
  if (!c->active)
    return STDERR_FILENO;
  if (c->err_w >= 0)
    return c->err_w;
  int p[2];
  if (pipe2 (p, O_CLOEXEC) < 0)
    {
      c->active = false;
      return STDERR_FILENO;
    }
  c->err_r = p[0];
  c->err_w = p[1];
  c->err.max = c->out.max = 256u << 20;
  /* the tee must not take signals: run mode waits for SIGCHLD on a
   * signalfd, which sees only signals blocked in every thread */
  sigset_t all, old;
  sigfillset (&all);
  pthread_sigmask (SIG_SETMASK, &all, &old);
  int r = pthread_create (&c->tee, NULL, tee_stderr, c);
  pthread_sigmask (SIG_SETMASK, &old, NULL);
  if (r != 0)
    {
      close (steal_fd (&c->err_r));
      close (steal_fd (&c->err_w));
      c->active = false;
      return STDERR_FILENO;
    }
  c->teeing = true;
  return c->err_w;
}

void
run_cache_stderr_done (struct run_cache *c)
{
  if (c->err_w >= 0)
    close (steal_fd (&c->err_w));
  if (c->teeing)
    pthread_join (c->tee, NULL);
  c->teeing = false;
  if (c->err_r >= 0)
    close (steal_fd (&c->err_r));
}

void
run_cache_capture (struct run_cache *c, const void *buf, size_t len)
{
  if (c->active && len && buf_add (&c->out, buf, len) < 0)
    c->active = false;
}

static int
write_output (struct run_cache *c, const char *name, const struct buf *b)
{
  cleanup_free char *p = fs_path_join (c->dir, name);
  ohr_error_t err = NULL;
  int r = p ? fs_write_atomic (p, b->data ? b->data : "", b->len, 0600, false,
                               &err)
            : -1;
  ohr_error_free (&err);
  return r;
}

static char *
ns_string (const struct timespec *t)
{
  char *s = NULL;
  return asprintf (&s, "%lld",
                   (long long)t->tv_sec * 1000000000LL + t->tv_nsec)
                 < 0
             ? NULL
             : s;
}

static void
finish (struct run_cache *c, int code, const struct timespec *started,
        const struct timespec *finished)
{
  if (!c->active)
    return;
  c->active = false;
  if (code != 0)
    {
      set_line (c, "result-cache: miss %.12s (not stored: %s %d)", c->key,
                code < 0 ? "runner error" : "exit status", code);
      return;
    }
  cleanup_free char *start = ns_string (started);
  cleanup_free char *end = ns_string (finished);
  struct buf statement = { 0 };
  int sr = c->statement ? read_back_path (c->statement, &statement) : 0;
  if (sr == 0 && c->statement)
    sr = write_output (c, "run-statement", &statement);
  buf_clear (&statement);
  if (sr < 0)
    {
      set_line (c,
                "result-cache: miss %.12s (not stored: its statement "
                "could not be kept)",
                c->key);
      return;
    }
  if (start == NULL || end == NULL || write_output (c, "run-stdout", &c->out)
      || write_output (c, "run-stderr", &c->err))
    {
      set_line (c, "result-cache: miss %.12s (not stored: out of memory)",
                c->key);
      return;
    }
  char *argv[] = { NULL,       "result-put", "--store", c->store, c->key,
                   c->out_dir, c->dir,       start,     end,      NULL };
  struct proc_result pr = { 0 };
  if (helper (c, argv, &pr) < 0)
    {
      set_line (c, "result-cache: miss %.12s (not stored)", c->key);
      return;
    }
  free (c->note);
  c->note = NULL;
  remote_answers (c, pr.out);
  proc_result_clear (&pr);
  if (c->note)
    set_line (c, "result-cache: miss %.12s (stored; remote: %s)", c->key,
              c->note);
  else
    set_line (c, "result-cache: miss %.12s (stored)", c->key);
}

void
run_cache_finish (struct run_cache *c, int code,
                  const struct timespec *started,
                  const struct timespec *finished)
{
  run_cache_stderr_done (c);
  bool was_active = c->active;
  finish (c, code, started, finished);
  /* why an attested run missed comes first: "miss KEY (WHY; stored)" */
  const char *paren = c->line ? strstr (c->line, " (") : NULL;
  if (was_active && c->why && paren)
    {
      cleanup_free char *old = steal_pointer (&c->line);
      set_line (c, "%.*s (%s; %s", (int)(paren - old), old, c->why,
                old + (paren - old) + 2);
    }
}

void
run_cache_clear (struct run_cache *c)
{
  run_cache_stderr_done (c);
  buf_clear (&c->out);
  buf_clear (&c->err);
  buf_clear (&c->hit_out);
  buf_clear (&c->hit_err);
  buf_clear (&c->hit_statement);
  free_many (c->dir, c->store, c->out_dir, c->helper, c->line, c->remote,
             c->note, c->statement, c->why);
  memset (c, 0, sizeof *c);
  c->err_r = c->err_w = -1;
}
