/* options.c: see options.h */
#define _GNU_SOURCE
#include "cli/options.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "run/envfilter.h"
#include "util/cleanup.h"
#include "util/fs.h"
#include "util/strv.h"

const char options_usage[]
    = "Usage: oci-host-runner [OPTIONS] [--] SCRIPT [ARGS...]\n"
      "       oci-host-runner COMMAND [--help]\n"
      "\n"
      "Run a Cargo build script inside an OCI container (crun or runc).\n"
      "Cargo calls it through host.runner with the build script's "
      "environment.\n"
      "\n"
      "Options (each also set by the variable in brackets):\n"
      "  --image REF          image to run in (default host: the embedded\n"
      "                       image) [OCI_HOST_RUNNER_IMAGE]\n"
      "  --runtime NAME       auto, crun, runc or the path of a "
      "runc-compatible\n"
      "                       binary (default auto) "
      "[OCI_HOST_RUNNER_RUNTIME]\n"
      "  --network MODE       none (own namespace with only lo) or host\n"
      "                       (default: the policy's, built in: none)\n"
      "                       [OCI_HOST_RUNNER_NETWORK]\n"
      "  --paths MODE         canonical (/cargo/src, OUT_DIR at Cargo's "
      "depth\n"
      "                       below /cargo/target, ...; the workspace a\n"
      "                       script does not see is /cargo/workspace in\n"
      "                       values; directives mapped back) or identity\n"
      "                       (paths inside = paths outside) (default: the\n"
      "                       policy's, built in: canonical)\n"
      "                       [OCI_HOST_RUNNER_PATHS]\n"
      "  --policy FILE        per-package policy (network, mounts, env,\n"
      "                       source writes, paths, limits) "
      "[OCI_HOST_RUNNER_POLICY;\n"
      "                       default $XDG_CONFIG_HOME/oci-host-runner/"
      "policy.json\n"
      "                       (~/.config/... without XDG_CONFIG_HOME), then\n"
      "                       /etc/oci-host-runner/policy.json, else "
      "built in];\n"
      "                       --network and --paths override it\n"
      "  --env NAME[=VALUE]   also pass NAME (or set it); repeatable\n"
      "                       [OCI_HOST_RUNNER_ENV]\n"
      "  --allow-unpinned, --no-allow-unpinned\n"
      "                       run a registry image named by tag (resolved "
      "on\n"
      "                       every run, with a warning)\n"
      "                       [OCI_HOST_RUNNER_ALLOW_UNPINNED]\n"
      "  --insecure-registry HOST  plain http for HOST; repeatable\n"
      "                       [OCI_HOST_RUNNER_INSECURE_REGISTRIES]\n"
      "  --store DIR          image store [OCI_HOST_RUNNER_STORE_DIR; "
      "default:\n"
      "                       the cache dir]\n"
      "  --cache-dir DIR      prepared root filesystems, compiled seccomp\n"
      "                       programs [OCI_HOST_RUNNER_CACHE_DIR;\n"
      "                       default $XDG_CACHE_HOME/oci-host-runner, else\n"
      "                       ~/.cache/oci-host-runner]\n"
      "  --state-dir DIR      runtime state and bundles "
      "[OCI_HOST_RUNNER_STATE_DIR;\n"
      "                       default: root /run/oci-host-runner if /run is "
      "a\n"
      "                       tmpfs, others "
      "$XDG_RUNTIME_DIR/oci-host-runner;\n"
      "                       else /dev/shm/oci-host-runner-UID if that is a\n"
      "                       tmpfs; else /run/oci-host-runner (root) or\n"
      "                       /tmp/oci-host-runner-UID]\n"
      "  --id-range RANGE     as root, the host ids of the container's root:\n"
      "                       auto (default: /etc/subuid and /etc/subgid's\n"
      "                       oci-host-runner entries, else 1879048192 and\n"
      "                       the 65535 after it), a NAME of those files, or\n"
      "                       a first id [OCI_HOST_RUNNER_ID_RANGE]\n"
      "  --degraded MODE      none (default) or proc: for pods whose /proc "
      "has\n"
      "                       masked paths (no procMount: Unmasked): the "
      "host's\n"
      "                       /proc and /sys bound read-only in a PID "
      "namespace,\n"
      "                       the processes that exist when the script "
      "starts\n"
      "                       masked\n"
      "                       [OCI_HOST_RUNNER_DEGRADED]\n"
      "  --hooks-dir DIR      OCI hooks (hooks.d JSON files); repeatable;\n"
      "                       replaces the defaults (the shipped hooks/,\n"
      "                       /etc/oci-host-runner/hooks.d)\n"
      "                       [OCI_HOST_RUNNER_HOOKS_DIR: colon-separated]\n"
      "  --annotation K=V     an OCI annotation for hooks; repeatable\n"
      "                       [OCI_HOST_RUNNER_ANNOTATIONS]\n"
      "  --attest DIR         after each successful run or cache hit, an\n"
      "                       in-toto/SLSA statement (signed with "
      "OCI_HOST_RUNNER_ATTEST_KEY)\n"
      "                       and its run record "
      "[OCI_HOST_RUNNER_ATTEST_DIR]\n"
      "  --result-cache MODE  off, auto (default: cache the results of build\n"
      "                       scripts run on pinned images) or local (also\n"
      "                       on the host image, keyed by the host's\n"
      "                       software); a hit restores OUT_DIR and replays\n"
      "                       the output; or an http(s) URL: a remote\n"
      "                       cache (Bazel's HTTP protocol) behind the local\n"
      "                       store [OCI_HOST_RUNNER_RESULT_CACHE]\n"
      "  --result-cache-mode read|read-write\n"
      "                       read: never upload (default read-write)\n"
      "                       [OCI_HOST_RUNNER_RESULT_CACHE_MODE]\n"
      "  --result-cache-sign KEY  sign uploaded results with this ed25519\n"
      "                       private key; without it nothing is uploaded\n"
      "                       [OCI_HOST_RUNNER_RESULT_CACHE_SIGN]\n"
      "  --result-cache-trust PUBKEY|any  use remote results signed by\n"
      "                       this key (any: unchecked, closed networks);\n"
      "                       repeatable "
      "[OCI_HOST_RUNNER_RESULT_CACHE_TRUST]\n"
      "  --keep-bundle, --no-keep-bundle\n"
      "                       keep the generated bundle and print its path\n"
      "                       [OCI_HOST_RUNNER_KEEP_BUNDLE]\n"
      "  -v, --verbose, --no-verbose\n"
      "                       say what was chosen and why "
      "[OCI_HOST_RUNNER_VERBOSE]\n"
      "  -h, --help           show this help\n"
      "  -V, --version        show the version\n"
      "\n"
      "An option replaces its variable: a value option the variable's "
      "value,\n"
      "a repeatable option (given once or more) the variable's whole list.\n"
      "A switch has a --no- form; the last one given wins over its "
      "variable,\n"
      "which takes 1, true, yes or 0, false, no.  List variables are\n"
      "comma-separated (spaces separate too), OCI_HOST_RUNNER_HOOKS_DIR\n"
      "colon-separated.  A variable set to the empty string is unset; a "
      "list\n"
      "variable set to it is an empty list (OCI_HOST_RUNNER_HOOKS_DIR=: no\n"
      "hook directories).\n"
      "\n"
      "Commands:\n"
      "  run [OPTIONS] SCRIPT [ARGS...]   the same as without a command\n"
      "  pull REF | import oci:PATH|oci-archive:FILE | images | inspect "
      "REF\n"
      "  rm REF | gc      the image store (each with --help)\n"
      "  cache stats | cache gc --max-size SIZE | cache rm KEY\n"
      "                   the build-script result cache (docs/cache.md)\n"
      "  doctor [--json] [--cargo] [-- CARGO ARGS]\n"
      "                   check that build scripts can run here (--cargo:\n"
      "                   and that `cargo build` here calls the runner)\n"
      "  attest verify|keygen|bundle|record ...  |  verify STATEMENT\n"
      "                   attestations (each with --help)\n"
      "  help, version\n"
      "\n"
      "Exit status: the build script's own; 121 usage, 122 missing Cargo\n"
      "context, 123 image, 124 refused by policy, 125 runtime or runner\n"
      "failure (also a failed --attest), 126 script not executable, 127\n"
      "script not found, 128+N killed by signal N.\n";

enum
{
  OPT_IMAGE = 256,
  OPT_RUNTIME,
  OPT_NETWORK,
  OPT_PATHS,
  OPT_POLICY,
  OPT_ENV,
  OPT_CACHE_DIR,
  OPT_STATE_DIR,
  OPT_ID_RANGE,
  OPT_KEEP_BUNDLE,
  OPT_NO_KEEP_BUNDLE,
  OPT_DEGRADED,
  OPT_HOOKS_DIR,
  OPT_ATTEST,
  OPT_ANNOTATION,
  OPT_STORE,
  OPT_INSECURE,
  OPT_ALLOW_UNPINNED,
  OPT_NO_ALLOW_UNPINNED,
  OPT_NO_VERBOSE,
  OPT_RESULT_CACHE,
  OPT_RESULT_CACHE_MODE,
  OPT_RESULT_CACHE_SIGN,
  OPT_RESULT_CACHE_TRUST,
};

static const struct option long_options[] = {
  { "image", required_argument, NULL, OPT_IMAGE },
  { "runtime", required_argument, NULL, OPT_RUNTIME },
  { "network", required_argument, NULL, OPT_NETWORK },
  { "paths", required_argument, NULL, OPT_PATHS },
  { "policy", required_argument, NULL, OPT_POLICY },
  { "env", required_argument, NULL, OPT_ENV },
  { "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
  { "state-dir", required_argument, NULL, OPT_STATE_DIR },
  { "id-range", required_argument, NULL, OPT_ID_RANGE },
  { "keep-bundle", no_argument, NULL, OPT_KEEP_BUNDLE },
  { "no-keep-bundle", no_argument, NULL, OPT_NO_KEEP_BUNDLE },
  { "degraded", required_argument, NULL, OPT_DEGRADED },
  { "hooks-dir", required_argument, NULL, OPT_HOOKS_DIR },
  { "attest", required_argument, NULL, OPT_ATTEST },
  { "annotation", required_argument, NULL, OPT_ANNOTATION },
  { "store", required_argument, NULL, OPT_STORE },
  { "insecure-registry", required_argument, NULL, OPT_INSECURE },
  { "allow-unpinned", no_argument, NULL, OPT_ALLOW_UNPINNED },
  { "no-allow-unpinned", no_argument, NULL, OPT_NO_ALLOW_UNPINNED },
  { "result-cache", required_argument, NULL, OPT_RESULT_CACHE },
  { "result-cache-mode", required_argument, NULL, OPT_RESULT_CACHE_MODE },
  { "result-cache-sign", required_argument, NULL, OPT_RESULT_CACHE_SIGN },
  { "result-cache-trust", required_argument, NULL, OPT_RESULT_CACHE_TRUST },
  { "verbose", no_argument, NULL, 'v' },
  { "no-verbose", no_argument, NULL, OPT_NO_VERBOSE },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'V' },
  { NULL, 0, NULL, 0 },
};

/* How an option and its variable combine, one rule for every setting
 * (said in options_usage and docs/configuration.md): a value option
 * replaces its variable; a repeatable option, given once or more,
 * replaces the variable's whole list; a switch has a --no- form, and the
 * last of the two wins over the variable.  So CI can set anything with a
 * variable and a command line can still take it back. */

/* Which repeatable options the command line gave: their first occurrence
 * drops the list the variable made. */
struct cli_lists
{
  bool env, insecure, hooks_dirs, annotations, trust;
};

/* A switch variable: 1, true, yes or 0, false, no (or empty: unset, so
 * off).  Anything else is refused: "on" silently meaning off would be
 * worse than an error. */
static int
parse_switch (char *const *envp, const char *name, bool *out, ohr_error_t *err)
{
  const char *v = envfilter_get (envp, name);
  if (v == NULL || *v == '\0')
    return 0;
  if (strcmp (v, "1") == 0 || strcmp (v, "true") == 0
      || strcmp (v, "yes") == 0)
    *out = true;
  else if (strcmp (v, "0") == 0 || strcmp (v, "false") == 0
           || strcmp (v, "no") == 0)
    *out = false;
  else
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "%s: '%s' is not a switch value (use 1, true, yes "
                          "or 0, false, no)",
                          name, v);
  return 0;
}

int
options_set_string (char **dst, const char *v, ohr_error_t *err)
{
  free (*dst);
  *dst = strdup (v);
  return *dst ? 0 : ohr_error_nomem (err);
}

/* --network and --paths (or their variables, named by where): each a
 * mode of two values. */
static int
set_mode (struct run_options *o, bool paths, const char *v, const char *where,
          ohr_error_t *err)
{
  static const char *const modes[2][2]
      = { { "none", "host" }, { "identity", "canonical" } };
  const char *const *m = modes[paths];
  if (strcmp (v, m[0]) != 0 && strcmp (v, m[1]) != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "%s: unknown %s mode '%s' (use %s or %s)", where,
                          paths ? "paths" : "network", v, m[0], m[1]);
  bool second = strcmp (v, m[1]) == 0;
  if (paths)
    {
      o->paths = second ? PATHS_CANONICAL : PATHS_IDENTITY;
      o->paths_set = true;
    }
  else
    {
      o->network = second ? NETWORK_HOST : NETWORK_NONE;
      o->network_set = true;
    }
  return 0;
}

static int
set_result_cache (struct run_options *o, const char *v, const char *where,
                  ohr_error_t *err)
{
  static const char *const names[] = { "auto", "off", "local" };
  free (o->result_cache_url);
  o->result_cache_url = NULL;
  /* a URL: the remote behind the local store; given explicitly, so
   * the host image is cached too, as with local */
  if (strncmp (v, "http://", 7) == 0 || strncmp (v, "https://", 8) == 0)
    {
      o->result_cache = RESULT_CACHE_LOCAL;
      o->result_cache_set = true;
      return (o->result_cache_url = strdup (v)) ? 0 : ohr_error_nomem (err);
    }
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp (v, names[i]) == 0)
      {
        o->result_cache = (enum result_cache_mode)i;
        o->result_cache_set = true;
        return 0;
      }
  return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                        "%s: unknown result cache mode '%s' (use off, auto, "
                        "local or an http(s) URL)",
                        where, v);
}

static int
set_result_cache_mode (struct run_options *o, const char *v, const char *where,
                       ohr_error_t *err)
{
  if (strcmp (v, "read") == 0 || strcmp (v, "read-write") == 0)
    {
      o->result_cache_read = strcmp (v, "read") == 0;
      return 0;
    }
  return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                        "%s: unknown result cache mode '%s' (use read or "
                        "read-write)",
                        where, v);
}

static int
add_annotation (struct run_options *o, const char *kv, const char *where,
                ohr_error_t *err)
{
  const char *eq = strchr (kv, '=');
  if (eq == NULL || eq == kv)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "%s: '%s' is not KEY=VALUE", where, kv);
  return strv_push (&o->annotations, kv) < 0 ? ohr_error_nomem (err) : 0;
}

/* Degraded modes are explicit: each names the isolation it gives up, and
 * none takes a variable's mode back. */
static int
parse_degraded (const char *v, const char *where, struct run_options *o,
                ohr_error_t *err)
{
  if (strcmp (v, "proc") == 0)
    o->degraded_proc = true;
  else if (strcmp (v, "none") == 0)
    o->degraded_proc = false;
  else
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "%s: unknown degraded mode '%s' (use none, or "
                          "proc: the host's /proc and /sys read-only)",
                          where, v);
  return 0;
}

static int
split_list (const char *v, const char *delims, char ***out, ohr_error_t *err)
{
  cleanup_free char *copy = strdup (v);
  if (copy == NULL)
    return ohr_error_nomem (err);
  char *save = NULL;
  for (char *n = strtok_r (copy, delims, &save); n;
       n = strtok_r (NULL, delims, &save))
    if (strv_push (out, n) < 0)
      return ohr_error_nomem (err);
  return 0;
}

int
options_env_list (char *const *envp, const char *name, char ***out,
                  ohr_error_t *err)
{
  cleanup_strv char **list = NULL;
  const char *v = envfilter_get (envp, name);
  if (v && split_list (v, ", ", &list, err) < 0)
    return -1;
  *out = steal_pointer (&list);
  return 0;
}

/* A value variable: set when present and not empty. */
static int
env_string (char *const *envp, const char *name, char **dst, ohr_error_t *err)
{
  const char *v = envfilter_get (envp, name);
  return v && *v ? options_set_string (dst, v, err) : 0;
}

static int
from_env (char *const *envp, struct run_options *o, ohr_error_t *err)
{
  const char *v;
  if (env_string (envp, "OCI_HOST_RUNNER_IMAGE", &o->image, err) < 0
      || env_string (envp, "OCI_HOST_RUNNER_RUNTIME", &o->runtime, err) < 0
      || env_string (envp, "OCI_HOST_RUNNER_POLICY", &o->policy, err) < 0
      || env_string (envp, "OCI_HOST_RUNNER_ATTEST_DIR", &o->attest_dir, err)
             < 0
      || env_string (envp, "OCI_HOST_RUNNER_CACHE_DIR", &o->cache_dir, err) < 0
      || env_string (envp, "OCI_HOST_RUNNER_STATE_DIR", &o->state_dir, err) < 0
      || env_string (envp, "OCI_HOST_RUNNER_ID_RANGE", &o->id_range, err) < 0
      || env_string (envp, "OCI_HOST_RUNNER_STORE_DIR", &o->store_dir, err)
             < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_NETWORK")) && *v
      && set_mode (o, false, v, "OCI_HOST_RUNNER_NETWORK", err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_PATHS")) && *v
      && set_mode (o, true, v, "OCI_HOST_RUNNER_PATHS", err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_RESULT_CACHE")) && *v
      && set_result_cache (o, v, "OCI_HOST_RUNNER_RESULT_CACHE", err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_RESULT_CACHE_MODE")) && *v
      && set_result_cache_mode (o, v, "OCI_HOST_RUNNER_RESULT_CACHE_MODE", err)
             < 0)
    return -1;
  if (env_string (envp, "OCI_HOST_RUNNER_RESULT_CACHE_SIGN",
                  &o->result_cache_sign, err)
      < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_DEGRADED")) && *v
      && parse_degraded (v, "OCI_HOST_RUNNER_DEGRADED", o, err) < 0)
    return -1;
  if (parse_switch (envp, "OCI_HOST_RUNNER_KEEP_BUNDLE", &o->keep_bundle, err)
          < 0
      || parse_switch (envp, "OCI_HOST_RUNNER_VERBOSE", &o->verbose, err) < 0
      || parse_switch (envp, "OCI_HOST_RUNNER_ALLOW_UNPINNED",
                       &o->allow_unpinned, err)
             < 0)
    return -1;
  /* colon-separated; set, even empty, it replaces the default
   * directories */
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_HOOKS_DIR")))
    {
      o->hooks_dirs_set = true;
      if (split_list (v, ":", &o->hooks_dirs, err) < 0)
        return -1;
    }
  cleanup_strv char **annotations = NULL;
  if (options_env_list (envp, "OCI_HOST_RUNNER_ANNOTATIONS", &annotations, err)
      < 0)
    return -1;
  for (size_t i = 0; annotations && annotations[i]; i++)
    if (add_annotation (o, annotations[i], "OCI_HOST_RUNNER_ANNOTATIONS", err)
        < 0)
      return -1;
  if (options_env_list (envp, "OCI_HOST_RUNNER_INSECURE_REGISTRIES",
                        &o->insecure, err)
          < 0
      || options_env_list (envp, "OCI_HOST_RUNNER_ENV", &o->env, err) < 0
      || options_env_list (envp, "OCI_HOST_RUNNER_RESULT_CACHE_TRUST",
                           &o->result_cache_trust, err)
             < 0)
    return -1;
  return 0;
}

static bool
is_tmpfs (const char *path)
{
  struct statfs sfs;
  return statfs (path, &sfs) == 0 && sfs.f_type == 0x01021994 /* TMPFS */;
}

static const char *
home_dir (char *const *envp)
{
  const char *h = envfilter_get (envp, "HOME");
  if (h && h[0] == '/')
    return h;
  struct passwd *pw = getpwuid (geteuid ());
  return pw ? pw->pw_dir : "/";
}

static int
default_dirs (char *const *envp, struct run_options *o, ohr_error_t *err)
{
  if (o->cache_dir == NULL)
    {
      const char *x = envfilter_get (envp, "XDG_CACHE_HOME");
      int r = x && x[0] == '/'
                  ? asprintf (&o->cache_dir, "%s/oci-host-runner", x)
                  : asprintf (&o->cache_dir, "%s/.cache/oci-host-runner",
                              home_dir (envp));
      if (r < 0)
        return ohr_error_nomem (err);
    }
  if (o->state_dir == NULL)
    {
      struct state_dir_facts f;
      options_state_dir_facts (envp, &f);
      if ((o->state_dir = options_default_state_dir (&f, err)) == NULL)
        return -1;
    }
  return 0;
}

void
options_state_dir_facts (char *const *envp, struct state_dir_facts *out)
{
  const char *x = envfilter_get (envp, "XDG_RUNTIME_DIR");
  struct stat st;
  out->euid = geteuid ();
  out->xdg_runtime_dir = x;
  out->xdg_owned
      = x && x[0] == '/' && stat (x, &st) == 0 && st.st_uid == out->euid;
  out->run_tmpfs = is_tmpfs ("/run");
  out->shm_tmpfs = is_tmpfs ("/dev/shm");
}

char *
options_default_state_dir (const struct state_dir_facts *f, ohr_error_t *err)
{
  const char *x = f->xdg_runtime_dir;
  char *dir = NULL;
  int r;
  /* Every run writes a bundle and runtime state here and removes them:
   * on a disk filesystem that costs ~0.45 ms a run (measured by
   * bench/invoke on an ext4 /run), on tmpfs almost nothing. */
  if (f->euid == 0 && f->run_tmpfs)
    r = asprintf (&dir, "/run/oci-host-runner");
  else if (f->euid != 0 && x && x[0] == '/' && f->xdg_owned)
    r = asprintf (&dir, "%s/oci-host-runner", x);
  else if (f->shm_tmpfs)
    r = asprintf (&dir, "/dev/shm/oci-host-runner-%u", (unsigned)f->euid);
  else if (f->euid == 0)
    r = asprintf (&dir, "/run/oci-host-runner");
  else
    r = asprintf (&dir, "/tmp/oci-host-runner-%u", (unsigned)f->euid);
  if (r < 0)
    {
      ohr_error_nomem (err);
      return NULL;
    }
  return dir;
}

/* A repeatable option: its first occurrence drops the variable's list. */
static int
push_option (char ***list, bool *given, const char *v, ohr_error_t *err)
{
  if (!*given)
    {
      strv_free (*list);
      *list = NULL;
      *given = true;
    }
  return strv_push (list, v) < 0 ? ohr_error_nomem (err) : 0;
}

static int
apply_option (int c, const char *arg, struct run_options *o,
              struct cli_lists *given, ohr_error_t *err)
{
  switch (c)
    {
    case OPT_IMAGE:
      return options_set_string (&o->image, arg, err);
    case OPT_RUNTIME:
      return options_set_string (&o->runtime, arg, err);
    case OPT_NETWORK:
      return set_mode (o, false, arg, "--network", err);
    case OPT_POLICY:
      return options_set_string (&o->policy, arg, err);
    case OPT_PATHS:
      return set_mode (o, true, arg, "--paths", err);
    case OPT_RESULT_CACHE:
      return set_result_cache (o, arg, "--result-cache", err);
    case OPT_RESULT_CACHE_MODE:
      return set_result_cache_mode (o, arg, "--result-cache-mode", err);
    case OPT_RESULT_CACHE_SIGN:
      return options_set_string (&o->result_cache_sign, arg, err);
    case OPT_RESULT_CACHE_TRUST:
      return push_option (&o->result_cache_trust, &given->trust, arg, err);
    case OPT_ENV:
      return push_option (&o->env, &given->env, arg, err);
    case OPT_CACHE_DIR:
      return options_set_string (&o->cache_dir, arg, err);
    case OPT_STATE_DIR:
      return options_set_string (&o->state_dir, arg, err);
    case OPT_ID_RANGE:
      return options_set_string (&o->id_range, arg, err);
    case OPT_KEEP_BUNDLE:
    case OPT_NO_KEEP_BUNDLE:
      o->keep_bundle = c == OPT_KEEP_BUNDLE;
      return 0;
    case OPT_DEGRADED:
      return parse_degraded (arg, "--degraded", o, err);
    case OPT_ATTEST:
      return options_set_string (&o->attest_dir, arg, err);
    case OPT_HOOKS_DIR:
      o->hooks_dirs_set = true;
      return push_option (&o->hooks_dirs, &given->hooks_dirs, arg, err);
    case OPT_ANNOTATION:
      if (!given->annotations)
        {
          strv_free (o->annotations);
          o->annotations = NULL;
          given->annotations = true;
        }
      return add_annotation (o, arg, "--annotation", err);
    case OPT_STORE:
      return options_set_string (&o->store_dir, arg, err);
    case OPT_INSECURE:
      return push_option (&o->insecure, &given->insecure, arg, err);
    case OPT_ALLOW_UNPINNED:
    case OPT_NO_ALLOW_UNPINNED:
      o->allow_unpinned = c == OPT_ALLOW_UNPINNED;
      return 0;
    case 'v':
    case OPT_NO_VERBOSE:
      o->verbose = c == 'v';
      return 0;
    case 'h':
      o->help = true;
      return 0;
    case 'V':
      o->version = true;
      return 0;
    default:
      return ohr_error_set (err, EINVAL, OHR_ERR_INTERNAL, "option %d", c);
    }
}

int
options_parse (int argc, char **argv, char *const *envp,
               struct run_options *out, ohr_error_t *err)
{
  struct run_options o = { .network = NETWORK_NONE };
  struct cli_lists given = { 0 };
  if (options_set_string (&o.image, "host", err) < 0
      || options_set_string (&o.runtime, "auto", err) < 0
      || from_env (envp, &o, err) < 0)
    goto fail;
  optind = 0; /* reset getopt: options_parse may run more than once */
  opterr = 0;
  int c;
  while ((c = getopt_long (argc, argv, "+vhV", long_options, NULL)) != -1)
    {
      if (c == '?' || c == ':')
        {
          const char *bad = argv[optind - 1];
          if (strncmp (bad, "--", 2) == 0 && strchr (bad, '=') && optopt != 0)
            ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                           "option '%.*s' does not take a value",
                           (int)(strchr (bad, '=') - bad), bad);
          else if (optopt && optopt < 256 && strchr ("vhV", optopt) == NULL)
            ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                           "unknown option '-%c' (see --help)", optopt);
          else if (optopt)
            ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                           "option '%s' needs a value (see --help)", bad);
          else
            ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                           "unknown option '%s' (see --help)", bad);
          goto fail;
        }
      if (apply_option (c, optarg, &o, &given, err) < 0)
        goto fail;
    }
  for (int i = optind; i < argc; i++)
    if (strv_push (&o.command, argv[i]) < 0)
      {
        ohr_error_nomem (err);
        goto fail;
      }
  if (default_dirs (envp, &o, err) < 0)
    goto fail;
  *out = o;
  return 0;
fail:
  options_clear (&o);
  return -1;
}

void
options_clear (struct run_options *o)
{
  free_many (o->image, o->runtime, o->policy, o->attest_dir, o->cache_dir,
             o->store_dir, o->state_dir, o->id_range, o->result_cache_url,
             o->result_cache_sign);
  strv_free (o->result_cache_trust);
  strv_free (o->env);
  strv_free (o->hooks_dirs);
  strv_free (o->annotations);
  strv_free (o->insecure);
  strv_free (o->command);
  memset (o, 0, sizeof *o);
}
