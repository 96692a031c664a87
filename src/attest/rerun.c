/* rerun.c: `verify`: re-run a statement's build script through the runner
 * with the inputs of its run record, into a fresh OUT_DIR shaped like the
 * recorded one, and compare the outputs and directives with the
 * statement. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "attest/internal.h"
#include "image/ref.h"
#include "run/envfilter.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"
#include "util/walk.h"

extern char **environ;

/* Files compared line by line at most this large. */
#define TEXT_MAX (16 * 1024 * 1024)

void
attest_rerun_clear (struct attest_rerun *r)
{
  free (r->tmp);
  free (r->out_dir);
  attest_diffs_clear (&r->diffs);
  strv_free (r->notes);
  *r = (struct attest_rerun){ 0 };
}

/* The recorded image, pinned by its recorded digest when it is a registry
 * reference by tag. */
static char *
pinned_image (const struct runrecord *rr)
{
  struct imageref ref = { 0 };
  char *s = NULL;
  if (rr->image_digest && imageref_parse (rr->image_ref, &ref, NULL) == 0
      && ref.kind == IMAGEREF_REGISTRY && ref.digest == NULL)
    {
      if (asprintf (&s, "%s/%s@%s", ref.registry, ref.repository,
                    rr->image_digest)
          < 0)
        s = NULL;
    }
  else
    s = strdup (rr->image_ref);
  imageref_clear (&ref);
  return s;
}

static bool
name_is (const char *entry, const char *name)
{
  size_t n = strlen (name);
  return strncmp (entry, name, n) == 0 && entry[n] == '=';
}

static bool
env_has (char *const *env, const char *entry)
{
  size_t n = strcspn (entry, "=");
  for (size_t i = 0; env && env[i]; i++)
    if (strncmp (env[i], entry, n) == 0 && env[i][n] == '=')
      return true;
  return false;
}

/* What the runner needs from our own environment to work (not to pass
 * on: its allowlist decides that), beside the recorded one. */
static bool
runner_setting (const char *entry)
{
  static const char *const names[] = { "PATH",           "HOME",
                                       "USER",           "LOGNAME",
                                       "TMPDIR",         "XDG_RUNTIME_DIR",
                                       "XDG_CACHE_HOME", "XDG_CONFIG_HOME",
                                       "RUSTUP_HOME",    "RUSTUP_TOOLCHAIN",
                                       "CARGO_HOME",     NULL };
  /* the command line of the re-run sets these */
  static const char *const ours[]
      = { "OCI_HOST_RUNNER_IMAGE", "OCI_HOST_RUNNER_RUNTIME",
          "OCI_HOST_RUNNER_PATHS", "OCI_HOST_RUNNER_NETWORK",
          "OCI_HOST_RUNNER_ENV",   "OCI_HOST_RUNNER_ATTEST_DIR",
          ATTEST_KEY_ENV,          NULL };
  for (size_t i = 0; ours[i]; i++)
    if (name_is (entry, ours[i]))
      return false;
  for (size_t i = 0; names[i]; i++)
    if (name_is (entry, names[i]))
      return true;
  return strncmp (entry, "OCI_HOST_RUNNER_", 16) == 0;
}

/* Names that change what the runner process itself does (the dynamic
 * loader, glibc, the runner's own settings): a record is not trusted with
 * those, so they reach only the script, as --env NAME=VALUE. */
static bool
process_setting (const char *name)
{
  static const char *const exact[]
      = { "GCONV_PATH",  "GLIBC_TUNABLES", "LOCPATH",     "NLSPATH",
          "HOSTALIASES", "RES_OPTIONS",    "LOCALDOMAIN", "TZDIR",
          "PATH",        "HOME",           "TMPDIR",      NULL };
  static const char *const prefixes[]
      = { "LD_", "MALLOC_", "OCI_HOST_RUNNER_", "XDG_", NULL };
  for (size_t i = 0; exact[i]; i++)
    if (strcmp (name, exact[i]) == 0)
      return true;
  for (size_t i = 0; prefixes[i]; i++)
    if (strncmp (name, prefixes[i], strlen (prefixes[i])) == 0)
      return true;
  return false;
}

/* The environment of the re-run.  The runner gets the recorded variables
 * its allowlist passes (with OUT_DIR replaced, DEP_* values that name the
 * recorded build directory build_dir pointed at its copy below tree, and
 * without the jobserver of the original build, whose fds are gone) plus
 * what it needs of ours (runner_setting); every other recorded variable
 * reaches the script as "--env NAME=VALUE" (in *extra), as it did when it
 * was recorded. */
static int
rerun_env (const struct runrecord *rr, const char *out_dir,
           const char *build_dir, const char *tree, char ***out, char ***extra,
           ohr_error_t *err)
{
  cleanup_strv char **env = NULL;
  bool have_out = false;
  for (size_t i = 0; rr->env && rr->env[i]; i++)
    {
      const char *e = rr->env[i];
      cleanup_free char *name = strndup (e, strcspn (e, "="));
      cleanup_free char *moved = NULL;
      if (name == NULL || attest_dep_rewrite (e, build_dir, tree, &moved) < 0)
        return ohr_error_nomem (err);
      if (strcmp (name, "CARGO_MAKEFLAGS") == 0
          || strcmp (name, "MAKEFLAGS") == 0 || strcmp (name, "MFLAGS") == 0)
        continue;
      if (moved)
        e = moved;
      int r;
      if (strcmp (name, "OUT_DIR") == 0)
        {
          have_out = true;
          r = strv_pushf (&env, "OUT_DIR=%s", out_dir);
        }
      else if (!envfilter_allowed (name) || envfilter_looks_secret (name)
               || process_setting (name))
        r = strv_push (extra, e);
      else
        r = strv_push (&env, e);
      if (r < 0)
        return ohr_error_nomem (err);
    }
  if (!have_out && strv_pushf (&env, "OUT_DIR=%s", out_dir) < 0)
    return ohr_error_nomem (err);
  for (size_t i = 0; environ[i]; i++)
    if (runner_setting (environ[i]) && !env_has (env, environ[i])
        && strv_push (&env, environ[i]) < 0)
      return ohr_error_nomem (err);
  *out = steal_pointer (&env);
  return 0;
}

/* The runner's --attest DIR keeps the directive stream as the script
 * printed it, as it did for the recorded run: the two are compared in that
 * form (container paths with canonical paths), not as mapped for Cargo.
 * It also makes the re-run's own (unsigned: no key reaches the runner)
 * statement, kept with --keep.  The result cache is off: verify runs the
 * script, for a statement of a cache hit as for any other. */
static int
rerun_argv (const struct runrecord *rr, const char *runner, char *const *extra,
            const char *attest_dir, char ***out, ohr_error_t *err)
{
  cleanup_free char *image = pinned_image (rr);
  cleanup_strv char **argv = NULL;
  if (image == NULL || strv_push (&argv, runner) < 0
      || strv_push (&argv, "--image") < 0 || strv_push (&argv, image) < 0
      || strv_push (&argv, "--runtime") < 0
      || strv_push (&argv, rr->runtime_name) < 0
      || strv_push (&argv, "--paths") < 0
      || strv_push (&argv,
                    rr->paths == PATHS_CANONICAL ? "canonical" : "identity")
             < 0
      || strv_push (&argv, "--network") < 0
      || strv_push (&argv, rr->network == NETWORK_HOST ? "host" : "none") < 0
      || strv_push (&argv, "--attest") < 0
      || strv_push (&argv, attest_dir) < 0
      /* a re-run that a result cache answered would prove nothing */
      || strv_push (&argv, "--result-cache") < 0
      || strv_push (&argv, "off") < 0)
    return ohr_error_nomem (err);
  for (size_t i = 0; extra && extra[i]; i++)
    if (strv_push (&argv, "--env") < 0 || strv_push (&argv, extra[i]) < 0)
      return ohr_error_nomem (err);
  if (strv_push (&argv, "--") < 0 || strv_push (&argv, rr->script) < 0)
    return ohr_error_nomem (err);
  for (size_t i = 0; rr->args && rr->args[i]; i++)
    if (strv_push (&argv, rr->args[i]) < 0)
      return ohr_error_nomem (err);
  *out = steal_pointer (&argv);
  return 0;
}

/* Run the runner in cwd, stdout and stderr to files, stdin empty. */
static int
spawn_runner (char *const *argv, char *const *envp, const char *cwd,
              const char *out_path, const char *err_path, int *out_status,
              ohr_error_t *err)
{
  if (!fs_is_dir (cwd))
    return ohr_error_set (err, ENOENT, OHR_ERR_INTERNAL,
                          "the recorded working directory '%s' is gone", cwd);
  cleanup_close int in = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  cleanup_close int o
      = open (out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  cleanup_close int e
      = open (err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || o < 0 || e < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot create '%s'",
                            o < 0 ? out_path : err_path);
  pid_t pid = fork ();
  if (pid < 0)
    return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "cannot fork");
  if (pid == 0)
    {
      if (chdir (cwd) < 0 || dup2 (in, 0) < 0 || dup2 (o, 1) < 0
          || dup2 (e, 2) < 0)
        _exit (125);
      execve (argv[0], argv, envp);
      dprintf (2, "oci-host-runner-attest: cannot execute '%s': %s\n", argv[0],
               strerror (errno));
      _exit (127);
    }
  int status = 0;
  while (waitpid (pid, &status, 0) < 0)
    if (errno != EINTR)
      return ohr_error_errno (err, errno, OHR_ERR_INTERNAL, "waitpid");
  *out_status
      = WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
  return 0;
}

/* The last non-empty line of a file, for a message. */
static char *
last_line (const char *path)
{
  char *data = NULL;
  size_t len = 0;
  if (fs_read_file (path, 1 << 20, &data, &len, NULL) < 0)
    return NULL;
  while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
    data[--len] = '\0';
  char *nl = strrchr (data, '\n');
  char *s = strndup (nl ? nl + 1 : data, 300);
  free (data);
  return s;
}

static int
note (struct attest_rerun *r, const char *what, const char *recorded,
      const char *now)
{
  if (strcmp (recorded, now) == 0)
    return 0;
  return strv_pushf (&r->notes,
                     "the %s changed since the statement (recorded %.19s..., "
                     "now %.19s...)",
                     what, recorded, now);
}

/* The dependencies' OUT_DIRs the statement names, now: each as recorded,
 * changed, or gone. */
static int
dep_out_dir_notes (const struct attest_statement *st,
                   const struct runrecord *rr, struct attest_rerun *r,
                   ohr_error_t *err)
{
  const size_t n = strlen (ATTEST_DEP_OUT_DIR);
  cleanup_files struct attest_files now = { 0 };
  ohr_error_t e = NULL;
  if (attest_dep_digests (rr, &now, &e) < 0)
    {
      int pr = strv_pushf (
          &r->notes, "cannot check the dependencies' OUT_DIRs: %s", e->msg);
      ohr_error_free (&e);
      return pr < 0 ? ohr_error_nomem (err) : 0;
    }
  for (size_t i = 0; i < st->deps.n; i++)
    {
      const struct attest_file *dep = &st->deps.v[i];
      if (strncmp (dep->name, ATTEST_DEP_OUT_DIR, n) != 0)
        continue;
      const struct attest_file *f = attest_files_find (&now, dep->name);
      cleanup_free char *what = NULL;
      if (asprintf (&what, "dependency OUT_DIR '%s'", dep->name + n) < 0)
        return ohr_error_nomem (err);
      int pr = f ? note (r, what, dep->digest, f->digest)
                 : strv_pushf (&r->notes,
                               "the %s is gone, or no DEP_* variable of the "
                               "run record names it",
                               what);
      if (pr < 0)
        return ohr_error_nomem (err);
    }
  return 0;
}

/* Inputs that are not what the statement recorded: the re-run then says
 * less, and the user should know. */
static int
input_notes (const struct attest_statement *st, const struct runrecord *rr,
             struct attest_rerun *r, ohr_error_t *err)
{
  for (size_t i = 0; i < st->deps.n; i++)
    {
      const struct attest_file *dep = &st->deps.v[i];
      char now[DIGEST_STRING_LEN + 1] = "";
      ohr_error_t e = NULL;
      int ok;
      if (strcmp (dep->name, "build-script") == 0)
        ok = digest_file (rr->script, now, &e);
      else if (strcmp (dep->name, "source") == 0)
        ok = attest_source_digest (rr->manifest_dir, rr->out_dir, now, &e);
      else if (strcmp (dep->name, "toolchain") == 0 && rr->rustc)
        ok = attest_toolchain_digest (rr->rustc, rr->toolchains, now, NULL,
                                      &e);
      else
        continue;
      int pr = ok < 0 ? strv_pushf (&r->notes, "cannot check the %s: %s",
                                    dep->name, e ? e->msg : "failed")
                      : note (r, dep->name, dep->digest, now);
      ohr_error_free (&e);
      if (pr < 0)
        return ohr_error_nomem (err);
    }
  return dep_out_dir_notes (st, rr, r, err);
}

struct compare
{
  const struct runrecord *rr;
  const char *new_out;
  const char *tmp;
  const char *new_directives; /* the re-run's stream, NULL: none kept */
  time_t now;
  struct attest_diffs *diffs;
  ohr_error_t *err;
};

/* A file's content when it is not too large; NULL (and no error) if not. */
static char *
read_small (const char *path, size_t *len)
{
  struct stat st;
  char *data = NULL;
  if (stat (path, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > TEXT_MAX
      || fs_read_file (path, TEXT_MAX, &data, len, NULL) < 0)
    return NULL;
  return data;
}

/* Details of a changed output: the first differing line and hints.
 * Returns 1 when a directive stream is the same as the statement digests
 * it (attest_diff_directives: no difference, then). */
static int
explain (struct compare *c, struct attest_diff *d, const char *old_path,
         const char *recorded, const char *new_path, bool directives)
{
  size_t old_len = 0, new_len = 0;
  char dg[DIGEST_STRING_LEN + 1] = "";
  cleanup_free char *old = read_small (old_path, &old_len);
  cleanup_free char *new = read_small (new_path, &new_len);
  if (old && directives)
    {
      ohr_error_t e = NULL;
      attest_digest_directives (old_path, dg, &e);
      ohr_error_free (&e);
    }
  else if (old)
    digest_sha256 (old, old_len, dg);
  if (old == NULL || strcmp (dg, recorded) != 0)
    {
      d->note = "the recorded content is no longer on disk: no line shown";
      return 0;
    }
  if (new == NULL)
    {
      d->note = "too large to compare line by line";
      return 0;
    }
  if (directives)
    {
      /* identity paths: each stream names its own run's host OUT_DIR,
       * where the outputs are, not what they are; canonical paths: both
       * name the container's, the same (the re-run's OUT_DIR has the
       * recorded one's shape) */
      bool identity = c->rr->paths != PATHS_CANONICAL;
      return attest_diff_directives (
          old, old_len, new, new_len, identity ? c->rr->out_dir : NULL,
          identity ? c->new_out : NULL, c->now, d, c->err);
    }
  const char *old_paths[] = { c->rr->out_dir, NULL };
  const char *new_paths[] = { c->new_out, c->tmp, NULL };
  return attest_diff_contents (old, old_len, new, new_len, old_paths,
                               new_paths, c->now, d, c->err);
}

/* The new digest of subject s: "" when the re-run has no such output. */
static int
new_digest (struct compare *c, const struct attest_files *now,
            const struct attest_file *s, char out[DIGEST_STRING_LEN + 1])
{
  out[0] = '\0';
  if (strcmp (s->name, "directives") != 0)
    {
      const struct attest_file *f = attest_files_find (now, s->name);
      if (f)
        snprintf (out, DIGEST_STRING_LEN + 1, "%s", f->digest);
      return 0;
    }
  if (c->new_directives == NULL)
    return 0;
  return attest_digest_directives (c->new_directives, out, c->err);
}

static int
compare_outputs (struct compare *c, const struct attest_statement *st,
                 const char *record_dir)
{
  cleanup_files struct attest_files now = { 0 };
  if (attest_tree_files (c->new_out, "out/", &now, c->err) < 0)
    return -1;
  for (size_t i = 0; i < st->subjects.n; i++)
    {
      const struct attest_file *s = &st->subjects.v[i];
      bool directives = strcmp (s->name, "directives") == 0;
      char dg[DIGEST_STRING_LEN + 1];
      if (new_digest (c, &now, s, dg) < 0)
        return -1;
      if (dg[0] == '\0')
        {
          struct attest_diff *d
              = attest_diffs_add (c->diffs, ATTEST_DIFF_MISSING, s->name);
          if (d == NULL)
            return ohr_error_nomem (c->err);
          if (directives)
            d->note = "the runner keeps no directive stream of a run that "
                      "failed";
          continue;
        }
      if (strcmp (dg, s->digest) == 0)
        continue;
      struct attest_diff *d
          = attest_diffs_add (c->diffs, ATTEST_DIFF_CHANGED, s->name);
      if (d == NULL)
        return ohr_error_nomem (c->err);
      cleanup_free char *old_path
          = directives ? fs_path_join (record_dir, c->rr->directives)
                       : fs_path_join (c->rr->out_dir, s->name + 4);
      cleanup_free char *new_path
          = directives ? strdup (c->new_directives)
                       : fs_path_join (c->new_out, s->name + 4);
      if (old_path == NULL || new_path == NULL)
        return ohr_error_nomem (c->err);
      int same = explain (c, d, old_path, s->digest, new_path, directives);
      if (same < 0)
        return -1;
      if (same == 1)
        {
          /* equal but for OUT_DIR: not a difference */
          c->diffs->n--;
          free (d->name);
          free (d->old_line);
          free (d->new_line);
        }
    }
  for (size_t i = 0; i < now.n; i++)
    if (attest_files_find (&st->subjects, now.v[i].name) == NULL
        && attest_diffs_add (c->diffs, ATTEST_DIFF_EXTRA, now.v[i].name)
               == NULL)
      return ohr_error_nomem (c->err);
  return 0;
}

static int
directives_entry (const struct walk_entry *e, void *ctx, ohr_error_t *err)
{
  char ***names = ctx;
  size_t n = strlen (e->name);
  if (S_ISREG (e->st->st_mode) && n > 11
      && strcmp (e->name + n - 11, ".directives") == 0
      && strv_push (names, e->name) < 0)
    return ohr_error_nomem (err);
  return WALK_SKIP; /* the directory's own entries only */
}

/* The directive stream the runner kept in its --attest dir (the only one
 * there); *out NULL when it kept none (the script failed). */
static int
kept_directives (const char *dir, char **out, ohr_error_t *err)
{
  cleanup_strv char **names = NULL;
  *out = NULL;
  if (!fs_is_dir (dir))
    return 0;
  if (walk_tree (AT_FDCWD, dir, NULL, directives_entry, &names, err) < 0)
    return ohr_error_wrap (err, "the re-run's attestations");
  if (names == NULL)
    return 0;
  if (names[1] != NULL)
    return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                          "'%s' holds more than one directive stream", dir);
  if ((*out = fs_path_join (dir, names[0])) == NULL)
    return ohr_error_nomem (err);
  return 0;
}

static int
rerun (const char *statement_path, const struct attest_rerun_options *opts,
       struct attest_rerun *r, ohr_error_t *err)
{
  cleanup_free char *payload = NULL;
  size_t plen = 0;
  bool envelope = false;
  cleanup_statement struct attest_statement st = { 0 };
  if (attest_load (statement_path, &payload, &plen, &envelope, err) < 0
      || attest_statement_parse (payload, plen, statement_path, &st, err) < 0)
    return -1;
  cleanup_free char *record_path = attest_record_path (statement_path, &st);
  cleanup_free char *record_dir = attest_dir_of (statement_path);
  cleanup_runrecord struct runrecord rr = { 0 };
  if (record_path == NULL || record_dir == NULL)
    return ohr_error_nomem (err);
  if (runrecord_read (record_path, &rr, err) < 0)
    return ohr_error_wrap (err, "the run record of '%s'", statement_path);
  /* the runner execs --runtime as given: only the two it knows by name */
  if (strcmp (rr.runtime_name, "runc") != 0
      && strcmp (rr.runtime_name, "crun") != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "run record '%s': runtime '%.40s' is neither runc "
                          "nor crun",
                          record_path, rr.runtime_name);
  if (input_notes (&st, &rr, r, err) < 0)
    return -1;
  if (rr.network == NETWORK_HOST
      && strv_push (&r->notes, "the recorded run had the host's network, "
                               "and so does the re-run")
             < 0)
    return ohr_error_nomem (err);

  const char *tmpdir = getenv ("TMPDIR");
  if (asprintf (&r->tmp, "%s/ohr-verify-XXXXXX",
                tmpdir && tmpdir[0] == '/' ? tmpdir : "/tmp")
      < 0)
    {
      r->tmp = NULL;
      return ohr_error_nomem (err);
    }
  if (mkdtemp (r->tmp) == NULL)
    {
      int e = errno;
      free (steal_pointer (&r->tmp));
      return ohr_error_errno (err, e, OHR_ERR_INTERNAL,
                              "cannot create a temporary directory");
    }
  /* the container's root (rootless: our uid) walks into it */
  chmod (r->tmp, 0755);
  /* OUT_DIR: the recorded path below <tmp>/tree, so that every part of
   * it the container's OUT_DIR can be made of (the package's directory
   * name, the profile, ...) is the recorded one */
  cleanup_free char *recorded_out = fs_path_normalize (rr.out_dir);
  if (recorded_out == NULL)
    return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL,
                          "run record '%s': out_dir '%s' is not a normalized "
                          "absolute path",
                          record_path, rr.out_dir);
  if (asprintf (&r->out_dir, "%s/tree%s", r->tmp,
                strcmp (recorded_out, "/") == 0 ? "" : recorded_out)
      < 0)
    {
      r->out_dir = NULL;
      return ohr_error_nomem (err);
    }
  if (fs_mkdir_p (r->out_dir, 0755, err) < 0)
    return -1;
  /* the dependencies' OUT_DIRs the script reads (DEP_*), as they are now
   * (input_notes said whether that is as recorded), at their place below
   * the temporary tree's build directory, which the runner mounts */
  cleanup_free char *tree = fs_path_join (r->tmp, "tree");
  cleanup_free char *build_dir = NULL;
  cleanup_strv char **dep_dirs = NULL;
  if (tree == NULL)
    return ohr_error_nomem (err);
  if (attest_dep_dirs (&rr, &build_dir, &dep_dirs, err) < 0
      || attest_dep_copy (dep_dirs, tree, err) < 0)
    return ohr_error_wrap (err, "the re-run's tree");

  cleanup_strv char **env = NULL, **extra = NULL, **argv = NULL;
  cleanup_free char *out_path = fs_path_join (r->tmp, "stdout");
  cleanup_free char *err_path = fs_path_join (r->tmp, "stderr");
  cleanup_free char *attest_dir = fs_path_join (r->tmp, "attest");
  cleanup_free char *new_directives = NULL;
  if (out_path == NULL || err_path == NULL || attest_dir == NULL)
    return ohr_error_nomem (err);
  if (rerun_env (&rr, r->out_dir, build_dir, tree, &env, &extra, err) < 0
      || rerun_argv (&rr, opts->runner, extra, attest_dir, &argv, err) < 0
      || spawn_runner (argv, env, rr.cwd, out_path, err_path, &r->status, err)
             < 0)
    return -1;
  if (r->status != rr.exit_status && r->status >= 121 && r->status <= 127)
    {
      cleanup_free char *why = last_line (err_path);
      return ohr_error_set (err, EIO, OHR_ERR_INTERNAL,
                            "the re-run failed (exit status %d): %s",
                            r->status, why && why[0] ? why : "no message");
    }
  if (kept_directives (attest_dir, &new_directives, err) < 0)
    return -1;
  struct compare c = { .rr = &rr,
                       .new_out = r->out_dir,
                       .tmp = r->tmp,
                       .new_directives = new_directives,
                       .now = time (NULL),
                       .diffs = &r->diffs,
                       .err = err };
  if (compare_outputs (&c, &st, record_dir) < 0)
    return -1;
  r->n_compared = st.subjects.n;
  if (r->status != rr.exit_status)
    {
      struct attest_diff *d
          = attest_diffs_add (&r->diffs, ATTEST_DIFF_STATUS, "exit status");
      if (d == NULL)
        return ohr_error_nomem (err);
      d->old_status = rr.exit_status;
      d->new_status = r->status;
    }
  return 0;
}

int
attest_rerun (const char *statement_path,
              const struct attest_rerun_options *opts,
              struct attest_rerun *out, ohr_error_t *err)
{
  struct attest_rerun r = { 0 };
  int rc = rerun (statement_path, opts, &r, err);
  if (r.tmp && !opts->keep)
    {
      ohr_error_t e = NULL;
      fs_rm_rf (r.tmp, &e);
      ohr_error_free (&e);
    }
  if (rc < 0)
    {
      attest_rerun_clear (&r);
      return -1;
    }
  *out = r;
  return 0;
}
