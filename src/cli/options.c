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
      "  --image REF          image to run in; 'host' is the embedded "
      "default\n"
      "                       [OCI_HOST_RUNNER_IMAGE]\n"
      "  --runtime NAME       auto, crun, runc or the path of a "
      "runc-compatible\n"
      "                       binary (default auto) "
      "[OCI_HOST_RUNNER_RUNTIME]\n"
      "  --network MODE       none (default: own namespace with only lo) or "
      "host\n"
      "                       [OCI_HOST_RUNNER_NETWORK]\n"
      "  --paths MODE         identity (default: paths inside = paths "
      "outside)\n"
      "                       or canonical (/cargo/src, /cargo/out, ...; \n"
      "                       directives mapped back) "
      "[OCI_HOST_RUNNER_PATHS]\n"
      "  --policy FILE        per-package policy (network, mounts, env,\n"
      "                       source writes, paths, limits) "
      "[OCI_HOST_RUNNER_POLICY;\n"
      "                       default $XDG_CONFIG_HOME/oci-host-runner/"
      "policy.json,\n"
      "                       then /etc/oci-host-runner/policy.json]\n"
      "                       --network and --paths override it\n"
      "  --env NAME[=VALUE]   also pass NAME (or set it); repeatable\n"
      "                       [OCI_HOST_RUNNER_ENV: comma-separated NAMEs]\n"
      "  --allow-unpinned     run a registry image named by tag (resolved on\n"
      "                       every run, with a warning) "
      "[OCI_HOST_RUNNER_ALLOW_UNPINNED=1]\n"
      "  --insecure-registry HOST  plain http for HOST; repeatable\n"
      "                       [OCI_HOST_RUNNER_INSECURE_REGISTRIES: "
      "comma-separated]\n"
      "  --store DIR          image store [OCI_HOST_RUNNER_STORE_DIR; "
      "default: the cache dir]\n"
      "  --cache-dir DIR      prepared root filesystems\n"
      "                       [OCI_HOST_RUNNER_CACHE_DIR; default "
      "$XDG_CACHE_HOME/oci-host-runner]\n"
      "  --state-dir DIR      runtime state and bundles [OCI_HOST_RUNNER_"
      "STATE_DIR;\n"
      "                       default /run/oci-host-runner as root, else\n"
      "                       $XDG_RUNTIME_DIR/oci-host-runner]\n"
      "  --degraded proc      for pods whose /proc has masked paths (no\n"
      "                       procMount: Unmasked): no PID namespace, the\n"
      "                       host's /proc bound read-only; the script can\n"
      "                       see the pod's processes "
      "[OCI_HOST_RUNNER_DEGRADED]\n"
      "  --hooks-dir DIR      OCI hooks (hooks.d JSON files); repeatable;\n"
      "                       replaces the defaults (the shipped hooks/,\n"
      "                       /etc/oci-host-runner/hooks.d) "
      "[OCI_HOST_RUNNER_HOOKS_DIR: colon-separated]\n"
      "  --annotation K=V     an OCI annotation for hooks; repeatable\n"
      "                       [OCI_HOST_RUNNER_ANNOTATIONS: comma-separated]\n"
      "  --attest DIR         after each successful run, an in-toto/SLSA\n"
      "                       statement (signed with "
      "OCI_HOST_RUNNER_ATTEST_KEY)\n"
      "                       and its run record "
      "[OCI_HOST_RUNNER_ATTEST_DIR]\n"
      "  --keep-bundle        keep the generated bundle and print its path\n"
      "                       [OCI_HOST_RUNNER_KEEP_BUNDLE=1]\n"
      "  -v, --verbose        say what was chosen and why "
      "[OCI_HOST_RUNNER_VERBOSE=1]\n"
      "  -h, --help           show this help\n"
      "  -V, --version        show the version\n"
      "\n"
      "Commands:\n"
      "  run [OPTIONS] SCRIPT [ARGS...]   the same as without a command\n"
      "  pull REF | import oci:PATH|oci-archive:FILE | images | inspect "
      "REF\n"
      "  rm REF | gc      the image store (each with --help)\n"
      "  doctor [--json]  check that build scripts can run here\n"
      "  attest verify|keygen|bundle ...  |  verify STATEMENT\n"
      "                   attestations (each with --help)\n"
      "  help, version\n"
      "\n"
      "Exit status: the build script's own; 121 usage, 122 missing Cargo\n"
      "context, 123 image, 124 refused by policy, 125 runtime failure,\n"
      "126 script not executable, 127 script not found, 128+N killed by\n"
      "signal N.\n";

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
  OPT_KEEP_BUNDLE,
  OPT_DEGRADED,
  OPT_HOOKS_DIR,
  OPT_ATTEST,
  OPT_ANNOTATION,
  OPT_STORE,
  OPT_INSECURE,
  OPT_ALLOW_UNPINNED,
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
  { "keep-bundle", no_argument, NULL, OPT_KEEP_BUNDLE },
  { "degraded", required_argument, NULL, OPT_DEGRADED },
  { "hooks-dir", required_argument, NULL, OPT_HOOKS_DIR },
  { "attest", required_argument, NULL, OPT_ATTEST },
  { "annotation", required_argument, NULL, OPT_ANNOTATION },
  { "store", required_argument, NULL, OPT_STORE },
  { "insecure-registry", required_argument, NULL, OPT_INSECURE },
  { "allow-unpinned", no_argument, NULL, OPT_ALLOW_UNPINNED },
  { "verbose", no_argument, NULL, 'v' },
  { "help", no_argument, NULL, 'h' },
  { "version", no_argument, NULL, 'V' },
  { NULL, 0, NULL, 0 },
};

static bool
truthy (const char *v)
{
  return v
         && (strcmp (v, "1") == 0 || strcmp (v, "true") == 0
             || strcmp (v, "yes") == 0);
}

static int
set_string (char **dst, const char *v, ohr_error_t *err)
{
  free (*dst);
  *dst = strdup (v);
  return *dst ? 0 : ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
}

static int
parse_network (const char *v, const char *where, enum network_mode *out,
               ohr_error_t *err)
{
  if (strcmp (v, "none") == 0)
    *out = NETWORK_NONE;
  else if (strcmp (v, "host") == 0)
    *out = NETWORK_HOST;
  else
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "%s: unknown network mode '%s' (use none or host)",
                          where, v);
  return 0;
}

static int
parse_paths (const char *v, const char *where, enum paths_mode *out,
             ohr_error_t *err)
{
  if (strcmp (v, "identity") == 0)
    *out = PATHS_IDENTITY;
  else if (strcmp (v, "canonical") == 0)
    *out = PATHS_CANONICAL;
  else
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "%s: unknown paths mode '%s' (use identity or "
                          "canonical)",
                          where, v);
  return 0;
}

static int
add_annotation (struct run_options *o, const char *kv, const char *where,
                ohr_error_t *err)
{
  const char *eq = strchr (kv, '=');
  if (eq == NULL || eq == kv)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "%s: '%s' is not KEY=VALUE", where, kv);
  return strv_push (&o->annotations, kv) < 0
             ? ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options")
             : 0;
}

/* Degraded modes are explicit: each names the isolation it gives up. */
static int
parse_degraded (const char *v, const char *where, struct run_options *o,
                ohr_error_t *err)
{
  if (strcmp (v, "proc") == 0)
    o->degraded_proc = true;
  else if (strcmp (v, "none") != 0)
    return ohr_error_set (err, EINVAL, OHR_ERR_USAGE,
                          "%s: unknown degraded mode '%s' (use proc: no PID "
                          "namespace, the host's /proc read-only)",
                          where, v);
  return 0;
}

static int
split_list (const char *v, char ***out, ohr_error_t *err)
{
  cleanup_free char *copy = strdup (v);
  if (copy == NULL)
    return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
  char *save = NULL;
  for (char *n = strtok_r (copy, ", ", &save); n;
       n = strtok_r (NULL, ", ", &save))
    if (strv_push (out, n) < 0)
      return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
  return 0;
}

static int
from_env (char *const *envp, struct run_options *o, ohr_error_t *err)
{
  const char *v;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_IMAGE")) && *v
      && set_string (&o->image, v, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_RUNTIME")) && *v
      && set_string (&o->runtime, v, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_NETWORK")) && *v
      && (o->network_set = true)
      && parse_network (v, "OCI_HOST_RUNNER_NETWORK", &o->network, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_ATTEST_DIR")) && *v
      && set_string (&o->attest_dir, v, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_HOOKS_DIR")))
    {
      /* colon-separated; an empty value means no hook directories */
      o->hooks_dirs_set = true;
      cleanup_free char *copy = strdup (v);
      char *save = NULL;
      for (char *d = copy ? strtok_r (copy, ":", &save) : NULL; d;
           d = strtok_r (NULL, ":", &save))
        if (strv_push (&o->hooks_dirs, d) < 0)
          return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
    }
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_ANNOTATIONS")))
    {
      cleanup_strv char **list = NULL;
      if (split_list (v, &list, err) < 0)
        return -1;
      for (size_t i = 0; list && list[i]; i++)
        if (add_annotation (o, list[i], "OCI_HOST_RUNNER_ANNOTATIONS", err)
            < 0)
          return -1;
    }
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_DEGRADED")) && *v
      && parse_degraded (v, "OCI_HOST_RUNNER_DEGRADED", o, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_POLICY")) && *v
      && set_string (&o->policy, v, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_PATHS")) && *v
      && (o->paths_set = true)
      && parse_paths (v, "OCI_HOST_RUNNER_PATHS", &o->paths, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_CACHE_DIR")) && *v
      && set_string (&o->cache_dir, v, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_STATE_DIR")) && *v
      && set_string (&o->state_dir, v, err) < 0)
    return -1;
  o->keep_bundle
      = truthy (envfilter_get (envp, "OCI_HOST_RUNNER_KEEP_BUNDLE"));
  o->verbose = truthy (envfilter_get (envp, "OCI_HOST_RUNNER_VERBOSE"));
  o->allow_unpinned
      = truthy (envfilter_get (envp, "OCI_HOST_RUNNER_ALLOW_UNPINNED"));
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_STORE_DIR")) && *v
      && set_string (&o->store_dir, v, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_INSECURE_REGISTRIES"))
      && split_list (v, &o->insecure, err) < 0)
    return -1;
  if ((v = envfilter_get (envp, "OCI_HOST_RUNNER_ENV")))
    {
      cleanup_free char *copy = strdup (v);
      char *save = NULL;
      if (copy == NULL)
        return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
      for (char *n = strtok_r (copy, ", ", &save); n;
           n = strtok_r (NULL, ", ", &save))
        if (strv_push (&o->env, n) < 0)
          return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
    }
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
        return ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
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
      ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
      return NULL;
    }
  return dir;
}

static int
apply_option (int c, const char *arg, struct run_options *o, ohr_error_t *err)
{
  switch (c)
    {
    case OPT_IMAGE:
      return set_string (&o->image, arg, err);
    case OPT_RUNTIME:
      return set_string (&o->runtime, arg, err);
    case OPT_NETWORK:
      o->network_set = true;
      return parse_network (arg, "--network", &o->network, err);
    case OPT_POLICY:
      return set_string (&o->policy, arg, err);
    case OPT_PATHS:
      o->paths_set = true;
      return parse_paths (arg, "--paths", &o->paths, err);
    case OPT_ENV:
      return strv_push (&o->env, arg) < 0
                 ? ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options")
                 : 0;
    case OPT_CACHE_DIR:
      return set_string (&o->cache_dir, arg, err);
    case OPT_STATE_DIR:
      return set_string (&o->state_dir, arg, err);
    case OPT_KEEP_BUNDLE:
      o->keep_bundle = true;
      return 0;
    case OPT_DEGRADED:
      return parse_degraded (arg, "--degraded", o, err);
    case OPT_ATTEST:
      return set_string (&o->attest_dir, arg, err);
    case OPT_HOOKS_DIR:
      o->hooks_dirs_set = true;
      return strv_push (&o->hooks_dirs, arg) < 0
                 ? ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options")
                 : 0;
    case OPT_ANNOTATION:
      return add_annotation (o, arg, "--annotation", err);
    case OPT_STORE:
      return set_string (&o->store_dir, arg, err);
    case OPT_INSECURE:
      return strv_push (&o->insecure, arg) < 0
                 ? ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options")
                 : 0;
    case OPT_ALLOW_UNPINNED:
      o->allow_unpinned = true;
      return 0;
    case 'v':
      o->verbose = true;
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
  if (set_string (&o.image, "host", err) < 0
      || set_string (&o.runtime, "auto", err) < 0
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
      if (apply_option (c, optarg, &o, err) < 0)
        goto fail;
    }
  for (int i = optind; i < argc; i++)
    if (strv_push (&o.command, argv[i]) < 0)
      {
        ohr_error_errno (err, ENOMEM, OHR_ERR_INTERNAL, "options");
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
  free (o->image);
  free (o->runtime);
  strv_free (o->env);
  free (o->policy);
  free (o->attest_dir);
  strv_free (o->hooks_dirs);
  strv_free (o->annotations);
  free (o->cache_dir);
  free (o->store_dir);
  strv_free (o->insecure);
  free (o->state_dir);
  strv_free (o->command);
  memset (o, 0, sizeof *o);
}
