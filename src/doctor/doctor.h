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
 * lines; report.c prints them.
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
  char *why; /* detail for error != 0 */
  bool tmpfs;
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
  char *hooks_error;  /* why run mode would refuse them, or NULL */
  char *init_path;    /* NULL: ohr-init not found */
  char *store_helper; /* NULL: oci-host-runner-store not found */
};

/* Gather the facts for the run options o (the same flags and
 * OCI_HOST_RUNNER_* variables as run mode).  Probes that fail are facts,
 * not errors; -1 only on allocation failure. */
int doctor_probe (const struct run_options *o, struct doctor_facts *out,
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

#endif
