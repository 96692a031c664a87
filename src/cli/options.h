/* options.h: run-mode settings from the command line, environment
 * variables (OCI_HOST_RUNNER_*) and defaults, in that order of precedence.
 * CI sets the variables; Cargo's host.runner passes the options.
 *
 * One rule for every option and its variable (docs/configuration.md): a
 * value option replaces the variable; a repeatable option, given once or
 * more, replaces the variable's whole list; a switch (--keep-bundle,
 * --allow-unpinned, --verbose) has a --no- form, the last one given wins
 * over the variable, and the variable takes 1/true/yes or 0/false/no. */
#ifndef OHR_OPTIONS_H
#define OHR_OPTIONS_H

#include <stdbool.h>
#include <sys/types.h>

#include "util/error.h"

enum network_mode
{
  NETWORK_NONE, /* own network namespace with only lo */
  NETWORK_HOST, /* the host's network namespace */
};

enum paths_mode
{
  PATHS_IDENTITY,  /* paths inside are the paths outside */
  PATHS_CANONICAL, /* fixed /cargo/... paths, mapped back in directives */
};

/* --result-cache (src/cache/): auto caches runs on pinned images, local
 * also runs on the host image (keyed by the host's software) */
enum result_cache_mode
{
  RESULT_CACHE_AUTO,
  RESULT_CACHE_OFF,
  RESULT_CACHE_LOCAL,
};

struct run_options
{
  char *image;   /* default "host" */
  char *runtime; /* auto|crun|runc|PATH, default auto */
  enum network_mode network;
  bool network_set; /* given by flag or variable: overrides the policy */
  bool paths_set;
  char *policy;          /* policy file, or NULL for the default search */
  enum paths_mode paths; /* the policy's (canonical) unless set */
  char **env;            /* extra NAME or NAME=VALUE */
  char *cache_dir;       /* prepared rootfs and images */
  char *store_dir;       /* image store (default: cache_dir) */
  char **insecure;       /* registries reachable over plain http */
  bool allow_unpinned;
  char *state_dir;    /* runtime state and bundles */
  char *id_range;     /* as root: auto (NULL), NAME or START (idmap.h) */
  bool degraded_proc; /* --degraded proc: host pid ns, /proc bound ro */
  char **hooks_dirs;  /* --hooks-dir (replaces the defaults when set) */
  bool hooks_dirs_set;
  char **annotations; /* --annotation KEY=VALUE */
  char *attest_dir;   /* --attest DIR: a run record and statement per run */
  bool keep_bundle;
  enum result_cache_mode result_cache;
  bool result_cache_set;     /* given by flag or variable, not the default */
  char *result_cache_url;    /* --result-cache URL: the remote cache */
  bool result_cache_read;    /* --result-cache-mode read: never upload */
  char *result_cache_sign;   /* --result-cache-sign: signs uploads */
  char **result_cache_trust; /* --result-cache-trust: keys, or "any" */
  bool verbose;
  bool help;
  bool version;
  char **command; /* SCRIPT [ARGS...] */
};

/* Parse argv (argv[0] is the program); envp supplies OCI_HOST_RUNNER_*,
 * HOME, XDG_CACHE_HOME and XDG_RUNTIME_DIR for the defaults.  Errors
 * (OHR_ERR_USAGE) name the option or variable. */
int options_parse (int argc, char **argv, char *const *envp,
                   struct run_options *out, ohr_error_t *err);

void options_clear (struct run_options *o);

/* The list variable NAME of envp (comma- or space-separated), as run mode
 * reads it; *out is NULL when it is unset or empty.  For the helpers that
 * take the same variables (the store helper's
 * OCI_HOST_RUNNER_INSECURE_REGISTRIES). */
int options_env_list (char *const *envp, const char *name, char ***out,
                      ohr_error_t *err);

/* An option's value: *dst (freed) becomes a copy of v.  Also for the
 * helpers' options. */
int options_set_string (char **dst, const char *v, ohr_error_t *err);

/* What the default --state-dir depends on: facts about this process and
 * host, gathered by options_state_dir_facts and given to
 * options_default_state_dir (tests give their own). */
struct state_dir_facts
{
  uid_t euid;
  const char *xdg_runtime_dir; /* $XDG_RUNTIME_DIR, or NULL */
  bool xdg_owned; /* xdg_runtime_dir is absolute, exists and euid owns it */
  bool run_tmpfs; /* /run is a tmpfs */
  bool shm_tmpfs; /* /dev/shm is a tmpfs */
};

/* The facts for this process; XDG_RUNTIME_DIR comes from envp (the
 * string stays envp's). */
void options_state_dir_facts (char *const *envp, struct state_dir_facts *out);

/* The default state directory, on a tmpfs when there is one to use: for
 * root /run/oci-host-runner when /run is a tmpfs; for others
 * $XDG_RUNTIME_DIR/oci-host-runner when they own that directory; then
 * /dev/shm/oci-host-runner-UID when /dev/shm is a tmpfs; else
 * /run/oci-host-runner (root) or /tmp/oci-host-runner-UID.  Newly
 * allocated; NULL on failure. */
char *options_default_state_dir (const struct state_dir_facts *f,
                                 ohr_error_t *err);

/* The --help text of run mode. */
extern const char options_usage[];

#endif
