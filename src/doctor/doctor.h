/* doctor.h: `oci-host-runner doctor`: can a build script run here, and if
 * not, which setting is missing (a Kubernetes pod's securityContext, a
 * node sysctl, a volume).
 *
 * Two halves.  doctor_probe() (probe.c) gathers facts with real probes:
 * children that unshare a user namespace, mount a fresh procfs in a new
 * PID and mount namespace, and sysfs in a new network namespace
 * (namespaces.c); the runtimes' --version; the sysctls;
 * /proc/self/{status,uid_map,mountinfo} (parsed by parse.c); the cgroup
 * tree; test files and hard links in the store.  doctor_evaluate()
 * (evaluate.c) turns those facts into one verdict per check with the fix,
 * and is pure, so the unit tests feed it the facts of a pod and read the
 * lines; report.c prints them.  doctor_probe_cargo() (cargo.c, for
 * --cargo) adds the facts of a throwaway cargo build in the user's
 * directory, which parse.c reads from cargo's output.
 *
 * src/doctor/ may call src/runtime/ (the runtime it reports is
 * runtime_choose's, the choice run mode makes), src/image/ and
 * src/run/hooks.h the way run mode reads them, and src/util/.  Lean: it
 * reads the store as plain files (catalog.h), like run mode, and never
 * loads libostree or libcurl.  Only src/cli/doctor.c calls it.
 */
#ifndef OHR_DOCTOR_H
#define OHR_DOCTOR_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/options.h"
#include "runtime/hostinfo.h"
#include "util/error.h"

/* errno value of a probe that was not run (a prerequisite failed) */
#define DOCTOR_NOT_PROBED (-1)

enum doctor_status
{
  DOCTOR_OK,
  DOCTOR_WARN, /* works, with less isolation or fewer limits */
  DOCTOR_FAIL, /* a build script cannot run until this is fixed */
};

/* The pod settings a report can ask for; "missing" lists them in this
 * order, each at most once. */
enum doctor_setting
{
  SETTING_HOST_USERS,      /* spec.hostUsers: false */
  SETTING_PROC_MOUNT,      /* securityContext.procMount: Unmasked */
  SETTING_SECCOMP,         /* seccompProfile allowing unshare and mount */
  SETTING_APPARMOR,        /* appArmorProfile: Unconfined */
  SETTING_NON_ROOT,        /* runAsNonRoot (root needs writable cgroups) */
  SETTING_SYSCTL_USERNS,   /* node: user.max_user_namespaces > 0 */
  SETTING_SYSCTL_CLONE,    /* node: kernel.unprivileged_userns_clone=1 */
  SETTING_SYSCTL_APPARMOR, /* node: apparmor_restrict_unprivileged_userns */
  SETTING_RUNTIME,         /* crun or runc in PATH */
  SETTING_VOLUME,          /* a writable volume for the store/cache/state */
  SETTING_INIT,            /* ohr-init installed */
  SETTING_CARGO,           /* Cargo configured to call the runner */
  DOCTOR_N_SETTINGS,
};

/* The short name a report prints for a setting. */
const char *doctor_setting_name (enum doctor_setting s);

struct doctor_check
{
  char *name;
  enum doctor_status status;
  char *detail;
  char *fix; /* NULL when there is nothing to do */
};

struct doctor_report
{
  struct doctor_check *v;
  size_t n;
  bool missing[DOCTOR_N_SETTINGS];
  bool can_run;            /* in the current configuration */
  bool degraded_would_run; /* only a fresh procfs is missing, and
                              --degraded proc works here */
};

struct doctor_runtime
{
  char *path;    /* NULL: not found */
  char *version; /* first line of --version; NULL when it failed */
  char *error;   /* why --version failed */
};

/* A directory the runner writes: errno 0 when it is usable (it exists
 * and a test file could be made, or it would be created). */
struct doctor_dir
{
  char *path;
  bool exists;
  int error;
  char *why; /* detail for error != 0, or a note (not there yet, stale
                runs) */
  bool tmpfs;
};

/* One key of Cargo's configuration as doctor --cargo found it. */
struct doctor_cargo_key
{
  char *key;    /* dotted, as `cargo config get` prints it: "host.runner" */
  char *value;  /* as printed: "true", "\"x\"", "[" for an array */
  char *origin; /* the file, "--config cli option", the variable or the
                   -Z flag that set it */
};

/* What `doctor --cargo` learned: does `cargo build` here call the runner?
 * cargo.c probes, parse.c reads cargo's output, evaluate.c judges. */
struct doctor_cargo
{
  bool probed;     /* --cargo was given */
  char *dir;       /* where cargo ran: doctor's working directory */
  char *path;      /* cargo; NULL when not found */
  char *version;   /* first line of `cargo --version`; NULL: it failed */
  char *bootstrap; /* RUSTC_BOOTSTRAP; NULL when unset */
  /* Cargo's configuration: the files and --config (`cargo config get
   * --show-origin`, read with RUSTC_BOOTSTRAP=1 whatever the user has),
   * then the CARGO_* variables and the -Z flags of the cargo arguments;
   * for a key given more than once, the last counts */
  struct doctor_cargo_key *keys;
  size_t n_keys;
  char *config_error; /* why the configuration could not be read */
  /* the build of a throwaway crate with a build script */
  int status;         /* cargo's exit status; -1: it did not run */
  char *error;        /* cargo's first "error" line */
  char *runner_error; /* the runner's own message, when it failed */
  char *command;      /* how Cargo ran the build script (-v's Running
                         line); NULL when it never did */
  char *runner;       /* command without the build script: host.runner as
                         Cargo called it; NULL when it ran the script
                         itself */
  int ran;            /* where the script found itself: 1 in a container
                         of oci-host-runner, 0 on the host, -1 unknown */
  char *host_triple;  /* HOST as the script saw it */
};

struct doctor_facts
{
  bool rootless;
  unsigned uid;
  enum cgroup_mode cgroups;
  char *cgroup_path; /* the cgroup directory checked for writing */
  int cgroup_error;  /* 0: writable */
  struct doctor_runtime crun, runc;
  char *want_runtime;             /* auto | crun | runc | PATH */
  bool want_runtime_executable;   /* want_runtime is a path, executable */
  const char *userns_unavailable; /* static: why user namespaces cannot be
                                     made (runtime/userns.h), NULL: they
                                     can */
  long max_userns;                /* -1: sysctl absent */
  long unpriv_userns_clone;       /* -1: absent (upstream kernels) */
  long apparmor_restrict;         /* -1: absent */
  bool apparmor_enabled;
  char *apparmor_label; /* the process's AppArmor label */
  int seccomp_mode;     /* -1 unknown, 0 none, 1 strict, 2 filter */
  bool in_userns;       /* uid_map is not the initial identity map */
  char *uid_map;        /* its first line, spaces squeezed */
  int userns_error;     /* unshare(CLONE_NEWUSER) + uid/gid maps */
  int mount_ns_error;   /* the mount, PID and network namespaces of
                           the mount probes (after the user one) */
  int proc_error;       /* fresh procfs in a new PID + mount ns */
  int sysfs_error;      /* fresh sysfs in a new network ns */
  int proc_bind_error;  /* rbind of /proc, read-only (--degraded proc) */
  char **proc_masks;    /* mounts below /proc that hide parts of it */
  char **sys_masks;     /* likewise below /sys */
  int hybrid_error;     /* crun's hybrid-cgroup workaround; NOT_PROBED
                           when the host is not hybrid */
  bool degraded_proc;   /* --degraded proc in effect */
  bool network_host;    /* --network host: /sys is bound, not mounted */
  struct doctor_dir state, cache, store;
  int store_link_error; /* hard link between repo and checkouts */
  char *store_link_detail;
  long n_names, n_prepared, n_checkouts, n_dangling;
  char *image;     /* --image */
  int image_state; /* 0 host, 1 prepared, 2 not in the store,
                      -1 cannot tell (detail in image_detail) */
  char *image_detail;
  char **hooks_dirs; /* the hook directories run mode would load */
  long n_hooks;
  char *hooks_error;         /* why run mode would refuse them, or NULL */
  char *init_path;           /* NULL: ohr-init not found */
  char *store_helper;        /* NULL: oci-host-runner-store not found */
  struct doctor_cargo cargo; /* doctor --cargo */
};

/* Gather the facts for the run options o (the same flags and
 * OCI_HOST_RUNNER_* variables as run mode).  Probes that fail are facts,
 * not errors; -1 only on allocation failure. */
int doctor_probe (const struct run_options *o, struct doctor_facts *out,
                  ohr_error_t *err);

/* doctor --cargo: build a throwaway crate whose build script reports
 * whether it runs in a container of this runner, with `cargo build -v`
 * and args (the user's own -Z and --config flags) in the current
 * directory, so Cargo reads the user's configuration: .cargo/config.toml
 * up the tree, $CARGO_HOME/config.toml, the CARGO_* variables.  Reads that
 * configuration too (`cargo config get`), for the evaluation to say why
 * the runner was not called.  Failures are facts; -1 only on allocation
 * failure. */
int doctor_probe_cargo (char *const *args, struct doctor_cargo *out,
                        ohr_error_t *err);

/* The checks, in a fixed order, and the verdict.  -1 only on allocation
 * failure. */
int doctor_evaluate (const struct doctor_facts *f, struct doctor_report *out,
                     ohr_error_t *err);

/* "ok   NAME: DETAIL", "warn NAME: DETAIL; fix: FIX", "FAIL ..." */
char *doctor_format_line (const struct doctor_check *c);

/* A JSON array of {"check","status","detail","fix"} (fix null when none),
 * the verdict last. */
int doctor_report_json (const struct doctor_report *r, char **out,
                        size_t *out_len, ohr_error_t *err);

void doctor_facts_clear (struct doctor_facts *f);
void doctor_report_clear (struct doctor_report *r);

/* ---- pure helpers (unit-tested) */

/* Mounts strictly below `under` ("/proc" or "/sys") in a mountinfo text
 * that hide part of it from a fresh mount (masked files, read-only
 * re-binds, tmpfs over directories); kernel mount points that are empty
 * directories (binfmt_misc, the cgroup tree, debugfs, ...) are not.
 * Returns the count (paths in *out, sorted as found), -1 on ENOMEM. */
int doctor_find_masks (const char *mountinfo, const char *under, char ***out);

/* The Seccomp: field of /proc/self/status; -1 when absent. */
int doctor_seccomp_mode (const char *proc_status);

/* true when a uid_map is the initial namespace's "0 0 4294967295". */
bool doctor_uid_map_is_identity (const char *uid_map);

/* The cgroup v2 path of "0::/path" in /proc/self/cgroup; NULL if none. */
char *doctor_cgroup2_path (const char *proc_self_cgroup);

/* The first line of text, without its newline (fresh string). */
char *doctor_first_line (const char *text);

/* Cargo's release channel from `cargo --version`'s line: "stable",
 * "beta", "nightly" or "dev" (static); NULL when version is NULL. */
const char *doctor_cargo_channel (const char *version);

/* Append a key (copies); -1 on ENOMEM. */
int doctor_cargo_add_key (struct doctor_cargo *c, const char *key,
                          const char *value, const char *origin);

/* The last value given for key, and its origin; NULL when none. */
const struct doctor_cargo_key *doctor_cargo_key (const struct doctor_cargo *c,
                                                 const char *key);

/* The keys of `cargo config get --show-origin`'s output ("a.b = v # FILE",
 * arrays over several lines); -1 on ENOMEM. */
int doctor_cargo_parse_config (const char *text, struct doctor_cargo *c);

/* The keys the environment sets (CARGO_UNSTABLE_HOST_CONFIG,
 * CARGO_UNSTABLE_TARGET_APPLIES_TO_HOST, CARGO_TARGET_APPLIES_TO_HOST,
 * CARGO_HOST_RUNNER) and the -Z flags of args (-Zhost-config, -Z
 * target-applies-to-host); -1 on ENOMEM. */
int doctor_cargo_parse_env_args (char *const *envp, char *const *args,
                                 struct doctor_cargo *c);

/* What `cargo build -v`'s output (stderr) says about the build script of
 * the throwaway crate: command, runner, ran, host_triple, error and
 * runner_error; -1 on ENOMEM. */
int doctor_cargo_parse_build (const char *output, struct doctor_cargo *c);

void doctor_cargo_clear (struct doctor_cargo *c);

#endif
