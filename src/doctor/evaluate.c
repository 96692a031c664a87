/* evaluate.c: doctor_evaluate (see doctor.h): the facts of doctor_probe
 * turned into one check per line, each with its fix, the pod settings
 * they ask for, and a verdict.  Pure (no I/O), so the unit tests feed it
 * the facts of pods; the runtime it names is runtime_choose's, the choice
 * run mode makes. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "doctor/internal.h"
#include "runtime/runtime.h"
#include "util/cleanup.h"
#include "util/strv.h"

static const char *const setting_names[DOCTOR_N_SETTINGS] = {
  [SETTING_HOST_USERS] = "hostUsers: false",
  [SETTING_PROC_MOUNT] = "procMount: Unmasked",
  [SETTING_SECCOMP] = "seccompProfile: Localhost oci-host-runner.json or "
                      "Unconfined",
  [SETTING_APPARMOR] = "appArmorProfile: Unconfined",
  [SETTING_NON_ROOT] = "runAsNonRoot: true",
  [SETTING_SYSCTL_USERNS] = "node sysctl user.max_user_namespaces > 0",
  [SETTING_SYSCTL_CLONE] = "node sysctl kernel.unprivileged_userns_clone=1",
  [SETTING_SYSCTL_APPARMOR]
  = "node sysctl kernel.apparmor_restrict_unprivileged_userns=0",
  [SETTING_RUNTIME] = "crun or runc in PATH",
  [SETTING_VOLUME] = "a writable volume (emptyDir or PVC)",
  [SETTING_INIT] = "ohr-init installed",
  [SETTING_CARGO] = "a Cargo configuration that calls the runner",
};

const char *
doctor_setting_name (enum doctor_setting s)
{
  return s < DOCTOR_N_SETTINGS ? setting_names[s] : "?";
}

struct eval
{
  const struct doctor_facts *f;
  struct doctor_report *r;
  bool oom;
  /* what blocks a run, apart from a fresh procfs */
  int blockers;
  bool proc_blocks;
};

static char *xfmt (struct eval *ev, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

static char *
xfmt (struct eval *ev, const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;
  va_start (ap, fmt);
  if (vasprintf (&s, fmt, ap) < 0)
    {
      s = NULL;
      ev->oom = true;
    }
  va_end (ap);
  return s;
}

/* Takes detail and fix. */
static void
add (struct eval *ev, const char *name, enum doctor_status st, char *detail,
     char *fix)
{
  struct doctor_report *r = ev->r;
  struct doctor_check *nv = realloc (r->v, (r->n + 1) * sizeof *nv);
  char *n = strdup (name);
  if (nv == NULL || n == NULL || detail == NULL)
    {
      ev->oom = true;
      if (nv)
        r->v = nv;
      free (n);
      free (detail);
      free (fix);
      return;
    }
  r->v = nv;
  r->v[r->n++] = (struct doctor_check){
    .name = n, .status = st, .detail = detail, .fix = fix
  };
}

static char *
sdup (struct eval *ev, const char *s)
{
  char *d = s ? strdup (s) : NULL;
  if (s && d == NULL)
    ev->oom = true;
  return d;
}

static void
need (struct eval *ev, enum doctor_setting s)
{
  ev->r->missing[s] = true;
}

#define FIX_SECCOMP                                                           \
  "allow unshare, mount and clone with namespace flags: securityContext."     \
  "seccompProfile {type: Localhost, localhostProfile: oci-host-runner.json} " \
  "(examples/kubernetes/seccomp-oci-host-runner.json) or {type: Unconfined}"
#define FIX_PROC                                                              \
  "securityContext.procMount: Unmasked (Kubernetes accepts it with "          \
  "spec.hostUsers: false)"
#define FIX_APPARMOR                                                          \
  "securityContext.appArmorProfile: {type: Unconfined} (the runtime's "       \
  "default profile denies mount)"
#define FIX_NON_ROOT                                                          \
  "run as a non-root user (securityContext.runAsNonRoot: true, runAsUser: "   \
  "1000): rootless runs need no cgroups"
#define FIX_DEGRADED                                                          \
  "--degraded proc (OCI_HOST_RUNNER_DEGRADED=proc): the pod's /proc and "     \
  "/sys read-only, in a PID namespace, the pod's processes masked"

static const char *
err_name (int e)
{
  return e == DOCTOR_NOT_PROBED ? "not probed" : strerrorname_np (e);
}

static bool
seccomp_filtered (const struct doctor_facts *f)
{
  return f->seccomp_mode == 2;
}

static bool
apparmor_confined (const struct doctor_facts *f)
{
  return f->apparmor_enabled && f->apparmor_label
         && strncmp (f->apparmor_label, "unconfined", 10) != 0;
}

/* Why a namespace or mount syscall was refused, when neither a sysctl
 * nor masked paths explain it: the seccomp filter, else AppArmor. */
static enum doctor_setting
syscall_blocker (const struct doctor_facts *f, int e)
{
  if (e == EACCES && apparmor_confined (f))
    return SETTING_APPARMOR;
  if (seccomp_filtered (f))
    return SETTING_SECCOMP;
  if (apparmor_confined (f))
    return SETTING_APPARMOR;
  return DOCTOR_N_SETTINGS;
}

static const char *
blocker_fix (enum doctor_setting s)
{
  switch (s)
    {
    case SETTING_SECCOMP:
      return FIX_SECCOMP;
    case SETTING_APPARMOR:
      return FIX_APPARMOR;
    default:
      return "look for a seccomp or LSM policy refusing it (dmesg, audit "
             "log)";
    }
}

/* ---- the runtime the runner would choose */

struct choice
{
  const char *name; /* crun | runc: chosen, or named when none is */
  const char *path; /* NULL: none chosen */
  const struct doctor_runtime *rt; /* the probe of path; NULL: not probed */
  enum runtime_prep prep;
  int error;        /* why none: ENOENT, EINVAL or ENOTSUP (as run mode) */
  const char *why;  /* run mode's message then, for EINVAL and ENOTSUP */
  ohr_error_t werr; /* owns why */
};

/* runtime_choose, on the facts: what run mode would do here. */
static void
choose_runtime (struct eval *ev, struct choice *c)
{
  const struct doctor_facts *f = ev->f;
  const char *want = f->want_runtime ? f->want_runtime : "auto";
  struct runtime_facts in = {
    .want = want,
    .crun_path = f->crun.path,
    .runc_path = f->runc.path,
    .want_executable = f->want_runtime_executable,
    .rootless = f->rootless,
    .cgroups = f->cgroups,
    .userns_unavailable = f->userns_unavailable,
  };
  struct runtime_choice rc;
  memset (c, 0, sizeof *c);
  if (runtime_choose (&in, &rc, &c->werr) == 0)
    {
      c->name = rc.backend->name;
      c->path = rc.path;
      c->prep = rc.prep;
      if (f->crun.path && strcmp (rc.path, f->crun.path) == 0)
        c->rt = &f->crun;
      else if (f->runc.path && strcmp (rc.path, f->runc.path) == 0)
        c->rt = &f->runc;
      runtime_choice_clear (&rc);
      return;
    }
  const struct runtime_backend *b = runtime_backend_named (want);
  c->name = b ? b->name : NULL;
  c->error = c->werr->status;
  c->why = c->werr->msg;
  if (c->error == ENOMEM)
    ev->oom = true;
}

static void
choice_clear (struct choice *c)
{
  ohr_error_free (&c->werr);
}

/* crun 1.4 and runc 1.1 brought "rro", "rnosuid", "rnodev" (recursive
 * mount attributes): an older one leaves the submounts of read-only binds
 * writable.  true when VERSION ("crun version 1.8.1") is older than that. */
static bool
lacks_recursive_attrs (const char *name, const char *version)
{
  int major, minor;
  if (sscanf (version, "%*s version %d.%d", &major, &minor) != 2)
    return false; /* not ours to judge */
  int want_minor = strcmp (name, "crun") == 0 ? 4 : 1;
  return major < 1 || (major == 1 && minor < want_minor);
}

static void
check_runtimes (struct eval *ev, const struct choice *c)
{
  const struct doctor_facts *f = ev->f;
  const struct doctor_runtime *rts[] = { &f->crun, &f->runc };
  const char *names[] = { "crun", "runc" };
  bool any = f->crun.version || f->runc.version;
  for (int i = 0; i < 2; i++)
    {
      cleanup_free char *check = xfmt (ev, "runtime %s", names[i]);
      if (check == NULL)
        return;
      const struct doctor_runtime *rt = rts[i];
      if (rt->version && lacks_recursive_attrs (names[i], rt->version))
        add (ev, check, DOCTOR_WARN,
             xfmt (ev,
                   "%s: %s: too old for recursive mount attributes (rro): "
                   "submounts of read-only binds stay writable",
                   rt->path, rt->version),
             xfmt (ev, "upgrade to %s",
                   i == 0 ? "crun >= 1.4" : "runc >= 1.1"));
      else if (rt->version)
        add (ev, check, DOCTOR_OK, xfmt (ev, "%s: %s", rt->path, rt->version),
             NULL);
      else if (rt->path)
        add (ev, check, DOCTOR_FAIL,
             xfmt (ev, "%s: %s", rt->path, rt->error ? rt->error : "broken"),
             xfmt (ev, "reinstall %s (Debian: apt-get install %s)", names[i],
                   names[i]));
      else
        add (ev, check, any ? DOCTOR_WARN : DOCTOR_FAIL,
             xfmt (ev, "not found in PATH%s",
                   any ? (i == 0 ? " (runc is used; crun starts containers "
                                   "in about a third of the time)"
                                 : " (crun is used)")
                       : ""),
             xfmt (ev,
                   "install %s (Debian: apt-get install %s; the "
                   "oci-host-runner image has both)",
                   names[i], names[i]));
    }
  if (!any)
    need (ev, SETTING_RUNTIME);
  /* the runtime run mode would pick */
  const char *want = f->want_runtime ? f->want_runtime : "auto";
  bool works = c->path && (c->rt == NULL || c->rt->version != NULL);
  bool hybrid = f->cgroups == CGROUP_MODE_HYBRID;
  bool crun = c->name && strcmp (c->name, "crun") == 0;
  if (c->error == ENOTSUP)
    {
      /* found, but refused here: the userns checks name the setting */
      ev->blockers++;
      add (ev, "runtime choice", DOCTOR_FAIL,
           xfmt (ev, "--runtime %s: %s", want, c->why),
           sdup (ev, "rootless runtimes need user namespaces: see the "
                     "userns checks"));
      return;
    }
  if (!works)
    {
      ev->blockers++;
      add (ev, "runtime choice", DOCTOR_FAIL,
           c->error == EINVAL
               ? xfmt (ev, "--runtime %s: %s", want, c->why)
               : xfmt (ev, "--runtime %s: %s", want,
                       c->path ? "it does not run" : "not found"),
           sdup (ev, "install crun or runc, or name one that works with "
                     "--runtime (OCI_HOST_RUNNER_RUNTIME)"));
      if (strcmp (want, "auto") != 0 && any)
        return;
      need (ev, SETTING_RUNTIME);
      return;
    }
  if (crun && hybrid && f->hybrid_error != 0)
    {
      ev->blockers++;
      add (ev, "runtime choice", DOCTOR_FAIL,
           xfmt (ev,
                 "--runtime %s picks crun at %s, whose hybrid-cgroup "
                 "workaround fails here (%s)",
                 want, c->path, err_name (f->hybrid_error)),
           sdup (ev, f->runc.version
                         ? "--runtime runc (OCI_HOST_RUNNER_RUNTIME=runc)"
                         : "install runc (Debian: apt-get install runc)"));
      return;
    }
  add (ev, "runtime choice", DOCTOR_OK,
       xfmt (ev, "--runtime %s: %s at %s%s", want, c->name, c->path,
             c->prep == RUNTIME_PREP_OWN_USERNS
                 ? " (hybrid cgroups: started in the runner's own user "
                   "namespace, no cgroups)"
             : c->prep == RUNTIME_PREP_HIDE_UNIFIED
                 ? " (hybrid cgroups: started without the v2 tree)"
                 : ""),
       NULL);
}

/* A fresh procfs (sysfs) is refused because of masked paths: the masks
 * are there, and either mount(2) itself works (a bind of /proc did) or
 * nothing could be probed. */
static bool
masked_failure (const struct doctor_facts *f, bool proc)
{
  int e = proc ? f->proc_error : f->sysfs_error;
  char **masks = proc ? f->proc_masks : f->sys_masks;
  if (e == 0 || masks == NULL || masks[0] == NULL)
    return false;
  if (!proc && f->rootless && f->network_host)
    return false; /* /sys is bound, not mounted */
  if (e == DOCTOR_NOT_PROBED)
    return f->mount_ns_error == DOCTOR_NOT_PROBED;
  return f->proc_bind_error == 0;
}

/* --degraded proc binds the pod's /proc and /sys (read-only) instead of
 * mounting fresh ones; it needs a working bind. */
static bool
degraded_works (const struct doctor_facts *f)
{
  return f->proc_bind_error == 0;
}

/* procMount: Unmasked is what fixes it */
static bool
needs_unmasked (const struct doctor_facts *f)
{
  return (masked_failure (f, true) || masked_failure (f, false))
         && !(f->degraded_proc && degraded_works (f));
}

static void
check_userns (struct eval *ev)
{
  const struct doctor_facts *f = ev->f;
  /* the pod's own user namespace (hostUsers: false) */
  if (f->in_userns)
    add (ev, "pod user namespace", DOCTOR_OK,
         xfmt (ev, "yes, uid map '%s' (hostUsers: false)",
               f->uid_map ? f->uid_map : "?"),
         NULL);
  else if (needs_unmasked (f))
    {
      need (ev, SETTING_HOST_USERS);
      add (ev, "pod user namespace", DOCTOR_FAIL,
           sdup (ev, "no (hostUsers: true); procMount: Unmasked, which the "
                     "fresh mounts below need, requires one"),
           sdup (ev, "spec.hostUsers: false"));
    }
  else
    add (ev, "pod user namespace", DOCTOR_OK,
         sdup (ev, "no (the initial user namespace, or hostUsers: true)"),
         NULL);

  /* sysctls */
  bool needed = f->rootless;
  enum doctor_status bad = needed ? DOCTOR_FAIL : DOCTOR_WARN;
  if (f->max_userns == 0)
    {
      if (needed)
        need (ev, SETTING_SYSCTL_USERNS);
      add (ev, "userns sysctls", bad,
           sdup (ev, "user.max_user_namespaces=0: user namespaces are "
                     "disabled"),
           sdup (ev, "on the node: sysctl -w user.max_user_namespaces=15000 "
                     "(rootless runs need user namespaces)"));
    }
  else if (f->unpriv_userns_clone == 0)
    {
      if (needed)
        need (ev, SETTING_SYSCTL_CLONE);
      add (ev, "userns sysctls", bad,
           sdup (ev, "kernel.unprivileged_userns_clone=0"),
           sdup (ev, "on the node: sysctl -w "
                     "kernel.unprivileged_userns_clone=1"));
    }
  else
    add (ev, "userns sysctls", DOCTOR_OK,
         f->max_userns < 0
             ? sdup (ev, "user.max_user_namespaces not readable")
             : xfmt (ev, "user.max_user_namespaces=%ld%s", f->max_userns,
                     f->unpriv_userns_clone == 1
                         ? ", kernel.unprivileged_userns_clone=1"
                         : ""),
         NULL);

  /* AppArmor: the sysctl that restricts unprivileged user namespaces,
   * and the process's own profile */
  if (f->apparmor_restrict == 1 && needed && f->userns_error != 0)
    {
      need (ev, SETTING_SYSCTL_APPARMOR);
      add (ev, "apparmor", DOCTOR_FAIL,
           sdup (ev, "kernel.apparmor_restrict_unprivileged_userns=1: "
                     "unprivileged user namespaces are restricted"),
           sdup (ev, "on the node: sysctl -w "
                     "kernel.apparmor_restrict_unprivileged_userns=0, or an "
                     "AppArmor profile with 'userns,' for crun and runc"));
    }
  else if (!f->apparmor_enabled)
    add (ev, "apparmor", DOCTOR_OK, sdup (ev, "not enabled"), NULL);
  else if (!apparmor_confined (f))
    add (ev, "apparmor", DOCTOR_OK,
         xfmt (ev, "%s", f->apparmor_label ? f->apparmor_label : "unconfined"),
         NULL);
  else
    add (ev, "apparmor", DOCTOR_OK,
         xfmt (ev,
               "confined by '%s' (the probes below show whether it "
               "allows what runtimes do)",
               f->apparmor_label),
         NULL);

  /* the probe itself */
  if (f->userns_error == 0)
    add (ev, "user namespace", DOCTOR_OK,
         sdup (ev, "unshare(CLONE_NEWUSER) and a uid/gid map work"), NULL);
  else if (!needed)
    add (ev, "user namespace", DOCTOR_OK,
         xfmt (ev, "unshare(CLONE_NEWUSER): %s; not needed as root",
               err_name (f->userns_error)),
         NULL);
  else
    {
      ev->blockers++;
      enum doctor_setting why
          = f->max_userns == 0            ? SETTING_SYSCTL_USERNS
            : f->unpriv_userns_clone == 0 ? SETTING_SYSCTL_CLONE
            : f->apparmor_restrict == 1   ? SETTING_SYSCTL_APPARMOR
            : f->userns_error == ENOSPC   ? SETTING_SYSCTL_USERNS
                                        : syscall_blocker (f, f->userns_error);
      if (why < DOCTOR_N_SETTINGS)
        need (ev, why);
      add (ev, "user namespace", DOCTOR_FAIL,
           xfmt (ev, "unshare(CLONE_NEWUSER): %s%s",
                 err_name (f->userns_error),
                 why == SETTING_SECCOMP
                     ? " (a seccomp filter refuses it: Seccomp: 2 in "
                       "/proc/self/status)"
                     : ""),
           why == SETTING_SYSCTL_USERNS && f->userns_error == ENOSPC
               ? sdup (ev, "on the node: raise user.max_user_namespaces")
           : why == SETTING_SECCOMP || why == SETTING_APPARMOR
                   || why == DOCTOR_N_SETTINGS
               ? sdup (ev, blocker_fix (why))
               : xfmt (ev, "%s (see above)", doctor_setting_name (why)));
    }

  /* seccomp: a summary of what the probes found */
  bool refused = (f->userns_error == EPERM && needed)
                 || f->mount_ns_error == EPERM
                 || (f->proc_bind_error != 0
                     && f->proc_bind_error != DOCTOR_NOT_PROBED);
  if (f->seccomp_mode <= 0)
    add (ev, "seccomp", DOCTOR_OK,
         sdup (ev, f->seccomp_mode == 0 ? "no filter" : "unknown"), NULL);
  else if (refused && syscall_blocker (f, EPERM) == SETTING_SECCOMP)
    add (ev, "seccomp", DOCTOR_FAIL,
         sdup (ev, "a filter (Seccomp: 2) refuses the namespace or mount "
                   "calls that runtimes make"),
         sdup (ev, FIX_SECCOMP));
  else
    add (ev, "seccomp", DOCTOR_OK,
         sdup (ev, "a filter is active; it allows the namespace and mount "
                   "calls probed below"),
         NULL);
}

static char *
mask_list (struct eval *ev, char **masks)
{
  size_t n = strv_len (masks);
  char buf[512] = "";
  for (size_t i = 0; i < n && i < 4; i++)
    {
      size_t l = strlen (buf);
      snprintf (buf + l, sizeof buf - l, "%s%s", i ? ", " : "", masks[i]);
    }
  if (n > 4)
    {
      size_t l = strlen (buf);
      snprintf (buf + l, sizeof buf - l, " and %zu more", n - 4);
    }
  return xfmt (ev, "%s", buf);
}

/* A fresh procfs (or sysfs) in the new namespaces the runtime makes. */
static void
check_fresh_mount (struct eval *ev, bool proc)
{
  const struct doctor_facts *f = ev->f;
  const char *name = proc ? "procfs" : "sysfs";
  int e = proc ? f->proc_error : f->sysfs_error;
  char **masks = proc ? f->proc_masks : f->sys_masks;
  bool masked = masks && masks[0];
  if (!proc && f->rootless && f->network_host)
    {
      add (ev, name, DOCTOR_OK,
           sdup (ev, "not mounted fresh: with --network host the pod's /sys "
                     "is bound read-only"),
           NULL);
      return;
    }
  if (!proc && e != 0 && f->degraded_proc && degraded_works (f))
    {
      add (ev, name, DOCTOR_OK,
           sdup (ev, "not mounted fresh: degraded mode 'proc' binds the "
                     "pod's /sys read-only"),
           NULL);
      return;
    }
  if (e == 0)
    {
      add (ev, name, DOCTOR_OK,
           xfmt (ev, "a fresh %s mounts in new %s namespaces", name,
                 proc ? "PID and mount" : "network and mount"),
           NULL);
      return;
    }
  cleanup_free char *list = masked ? mask_list (ev, masks) : NULL;
  /* A bind of /proc worked, so mount(2) itself is allowed: the masks
   * are what refuse a fresh instance (the kernel's mount_too_revealing) */
  bool mounts_allowed = f->proc_bind_error == 0;
  bool degraded = proc && f->degraded_proc && degraded_works (f);
  if (e == DOCTOR_NOT_PROBED && f->mount_ns_error != DOCTOR_NOT_PROBED
      && f->mount_ns_error != 0)
    {
      /* new mount/PID/network namespaces refused */
      enum doctor_setting why = f->rootless
                                    ? syscall_blocker (f, f->mount_ns_error)
                                    : SETTING_NON_ROOT;
      if (why < DOCTOR_N_SETTINGS)
        need (ev, why);
      if (proc)
        ev->blockers++;
      add (ev, name, DOCTOR_FAIL,
           xfmt (ev,
                 "not probed: new mount, PID and network namespaces "
                 "refused (%s)%s",
                 err_name (f->mount_ns_error),
                 f->rootless ? "" : " (root without CAP_SYS_ADMIN?)"),
           sdup (ev,
                 why == SETTING_NON_ROOT ? FIX_NON_ROOT : blocker_fix (why)));
      return;
    }
  if (masked_failure (f, proc))
    {
      if (degraded)
        {
          add (ev, name, DOCTOR_WARN,
               xfmt (ev,
                     "a fresh procfs is refused (%s): /proc has masked "
                     "paths (%s); degraded mode 'proc' is on: the pod's "
                     "/proc read-only in a PID namespace, the processes "
                     "that exist when a build script starts masked, but "
                     "it can read the command lines of those started "
                     "after it",
                     err_name (e), list),
               sdup (ev, FIX_PROC " gives each build script a procfs of "
                                  "its own"));
          return;
        }
      need (ev, SETTING_PROC_MOUNT);
      if (!f->in_userns)
        need (ev, SETTING_HOST_USERS);
      /* what --degraded proc works around (it binds /proc and /sys) */
      ev->proc_blocks = true;
      bool offer = degraded_works (f);
      add (ev, name, DOCTOR_FAIL,
           e == DOCTOR_NOT_PROBED
               ? xfmt (ev,
                       "not probed (no user namespace), but %s has "
                       "masked paths (%s): a fresh %s will be refused",
                       proc ? "/proc" : "/sys", list, name)
               : xfmt (ev,
                       "a fresh %s is refused (%s): %s has masked paths "
                       "(%s)",
                       name, err_name (e), proc ? "/proc" : "/sys", list),
           /* not offered: nothing could be probed (masked_failure) */
           offer ? sdup (ev, FIX_PROC "; or " FIX_DEGRADED)
                 : sdup (ev, FIX_PROC));
      return;
    }
  if (e == DOCTOR_NOT_PROBED)
    {
      add (ev, name, DOCTOR_WARN,
           xfmt (ev,
                 "not probed (it needs a user namespace); %s has no "
                 "masked paths",
                 proc ? "/proc" : "/sys"),
           NULL);
      return;
    }
  enum doctor_setting why = syscall_blocker (f, e);
  if (why < DOCTOR_N_SETTINGS)
    need (ev, why);
  if (proc)
    ev->proc_blocks = true;
  else
    ev->blockers++;
  add (ev, name, DOCTOR_FAIL,
       xfmt (ev, "mount(%s): %s%s", name, err_name (e),
             mounts_allowed ? "" : " (bind mounts are refused too)"),
       sdup (ev, blocker_fix (why)));
}

static void
check_cgroups (struct eval *ev, const struct choice *c)
{
  const struct doctor_facts *f = ev->f;
  const char *mode = hostinfo_cgroup_mode_name (f->cgroups);
  if (f->cgroups == CGROUP_MODE_NONE)
    add (ev, "cgroups", DOCTOR_WARN,
         sdup (ev, "no cgroup filesystem: memory and pids limits are not "
                   "enforced; the timeout still is"),
         NULL);
  else if (f->rootless)
    add (ev, "cgroups", DOCTOR_WARN,
         xfmt (ev,
               "%s, rootless: memory and pids limits are not enforced "
               "by cgroups: RLIMIT_NPROC bounds processes, RLIMIT_DATA "
               "each process's memory; the timeout still is",
               mode),
         NULL);
  else if (f->cgroup_error == 0)
    add (ev, "cgroups", DOCTOR_OK,
         xfmt (ev, "%s, %s writable: memory and pids limits are enforced",
               mode, f->cgroup_path ? f->cgroup_path : "?"),
         NULL);
  else
    {
      ev->blockers++;
      need (ev, SETTING_NON_ROOT);
      add (ev, "cgroups", DOCTOR_FAIL,
           xfmt (ev,
                 "%s, %s not writable (%s): as root the runtime must "
                 "create the container's cgroup",
                 mode, f->cgroup_path ? f->cgroup_path : "?",
                 err_name (f->cgroup_error)),
           sdup (ev, FIX_NON_ROOT));
    }

  bool crun = c->name && strcmp (c->name, "crun") == 0;
  if (f->cgroups != CGROUP_MODE_HYBRID)
    add (ev, "hybrid cgroups", DOCTOR_OK,
         xfmt (ev, "no (%s): crun runs unchanged", mode), NULL);
  else if (f->hybrid_error == 0)
    add (ev, "hybrid cgroups", DOCTOR_OK,
         sdup (ev, f->rootless
                       ? "yes: crun runs in the runner's own user namespace "
                         "with an empty /sys/fs/cgroup (probe ok)"
                       : "yes: crun runs in a mount namespace without "
                         "/sys/fs/cgroup/unified (probe ok)"),
         NULL);
  else
    add (ev, "hybrid cgroups", crun ? DOCTOR_FAIL : DOCTOR_WARN,
         xfmt (ev, "yes, and crun's workaround fails here (%s)",
               err_name (f->hybrid_error)),
         sdup (ev, "--runtime runc (OCI_HOST_RUNNER_RUNTIME=runc)"));
}

static void
check_dir (struct eval *ev, const char *name, const struct doctor_dir *d,
           const char *option, bool blocks)
{
  if (d->path == NULL)
    return;
  if (d->error == 0)
    {
      add (ev, name, DOCTOR_OK,
           xfmt (ev, "%s%s%s%s", d->path, d->tmpfs ? " (tmpfs)" : "",
                 d->why ? ": " : "", d->why ? d->why : ""),
           NULL);
      return;
    }
  if (blocks)
    {
      ev->blockers++;
      need (ev, SETTING_VOLUME);
    }
  add (ev, name, blocks ? DOCTOR_FAIL : DOCTOR_WARN,
       xfmt (ev, "%s: %s", d->path, d->why ? d->why : strerror (d->error)),
       xfmt (ev, "%s on a writable volume (an emptyDir, or a PVC)", option));
}

static void
check_store (struct eval *ev)
{
  const struct doctor_facts *f = ev->f;
  bool must_pull = f->image_state == 2;
  check_dir (ev, "state dir", &f->state,
             "--state-dir (OCI_HOST_RUNNER_STATE_DIR), your own and mode "
             "0700,",
             true);
  check_dir (ev, "cache dir", &f->cache,
             "--cache-dir (OCI_HOST_RUNNER_CACHE_DIR)", f->image_state == 0);
  if (f->store.path && strcmp (f->store.path, f->cache.path) != 0)
    check_dir (ev, "store", &f->store, "--store (OCI_HOST_RUNNER_STORE_DIR)",
               must_pull);
  else
    add (ev, "store", f->store.error == 0 ? DOCTOR_OK : DOCTOR_WARN,
         xfmt (ev, "the cache dir%s",
               f->store.error == 0 ? "" : ": pulls will fail"),
         NULL);

  int le = f->store_link_error;
  const char *ld = f->store_link_detail ? f->store_link_detail : "";
  if (le == 0)
    add (ev, "store hardlinks", DOCTOR_OK,
         xfmt (ev, "link(2) works (%s): checkouts share the repo's files", ld),
         NULL);
  else if (le == DOCTOR_NOT_PROBED)
    add (ev, "store hardlinks", DOCTOR_OK,
         xfmt (ev, "%s; repo and checkouts are created in it together",
               *ld ? ld : "not probed"),
         NULL);
  else
    {
      if (must_pull)
        {
          ev->blockers++;
          need (ev, SETTING_VOLUME);
        }
      add (ev, "store hardlinks", must_pull ? DOCTOR_FAIL : DOCTOR_WARN,
           xfmt (ev, "%s (%s): pulls cannot check images out", ld,
                 err_name (le)),
           sdup (ev, "mount one volume at the store directory, not separate "
                     "ones for repo/ and rootfs/"));
    }

  /* what the store holds, and whether --image is in it */
  cleanup_free char *counts
      = xfmt (ev, "%ld names in the catalogue, %ld prepared, %ld checkouts",
              f->n_names, f->n_prepared, f->n_checkouts);
  if (counts == NULL)
    return;
  switch (f->image_state)
    {
    case 0:
      add (ev, "images", DOCTOR_OK,
           xfmt (ev,
                 "%s; --image host: the embedded image, built in the "
                 "cache dir on first use",
                 counts),
           NULL);
      break;
    case 1:
      add (ev, "images", DOCTOR_OK,
           xfmt (ev, "%s; --image %s: prepared (%s)", counts, f->image,
                 f->image_detail ? f->image_detail : "?"),
           NULL);
      break;
    case 2:
      if (f->store_helper == NULL)
        {
          ev->blockers++;
          need (ev, SETTING_INIT);
        }
      add (ev, "images", f->store_helper ? DOCTOR_WARN : DOCTOR_FAIL,
           xfmt (ev,
                 "%s; --image %s: not in the store yet, the first run "
                 "fetches it%s",
                 counts, f->image,
                 f->store_helper ? ""
                                 : ", but oci-host-runner-store is "
                                   "not installed"),
           sdup (ev, "oci-host-runner pull (or import) it beforehand, into "
                     "a shared store (a PVC)"));
      break;
    case 3:
      ev->blockers++;
      add (ev, "images", DOCTOR_FAIL,
           xfmt (ev, "%s; --image %s is not pinned by digest", counts,
                 f->image),
           sdup (ev, "pin it: oci-host-runner pull REF prints the digest "
                     "(or --allow-unpinned)"));
      break;
    default:
      ev->blockers++;
      add (ev, "images", DOCTOR_FAIL,
           xfmt (ev, "%s; --image %s: %s", counts, f->image,
                 f->image_detail ? f->image_detail : "cannot resolve it"),
           sdup (ev, "fix --image (OCI_HOST_RUNNER_IMAGE)"));
      break;
    }
  if (f->n_dangling > 0)
    add (ev, "images", DOCTOR_WARN,
         xfmt (ev, "%ld catalogue names point at missing checkouts",
               f->n_dangling),
         sdup (ev, "oci-host-runner gc, then pull them again"));
}

/* ---- doctor --cargo: does `cargo build` here call the runner? */

#define FIX_RUNNER                                                            \
  "[host] runner = [\"oci-host-runner\", \"--image\", \"host\"] in "          \
  ".cargo/config.toml (examples/cargo-config.toml)"

static bool
cargo_true (const struct doctor_cargo *c, const char *key)
{
  const struct doctor_cargo_key *k = doctor_cargo_key (c, key);
  return k && strcmp (k->value, "true") == 0;
}

static const char *
origin (const struct doctor_cargo_key *k)
{
  return k->origin[0] ? k->origin : "origin unknown";
}

/* key is NAME, or ends in ".NAME" */
static bool
key_is (const char *key, const char *name)
{
  size_t k = strlen (key), n = strlen (name);
  return k >= n && strcmp (key + k - n, name) == 0
         && (k == n || key[k - n - 1] == '.');
}

/* Where a dotted key sits, as TOML names its table. */
static char *
table_of (struct eval *ev, const char *key)
{
  const char *dot = strrchr (key, '.');
  return dot ? xfmt (ev, "in [%.*s]", (int)(dot - key), key)
             : sdup (ev, "at the top level");
}

/* The lines that say why the runner was not called; returns how many. */
static int
cargo_causes (struct eval *ev, const struct doctor_cargo *c)
{
  int n = 0;
  const char *channel = doctor_cargo_channel (c->version);
  const char *version = c->version ? c->version : "cargo";
  bool bootstrap = c->bootstrap && strcmp (c->bootstrap, "1") == 0;
  if (channel
      && (strcmp (channel, "stable") == 0 || strcmp (channel, "beta") == 0)
      && !bootstrap)
    {
      n++;
      bool unset = c->bootstrap == NULL || c->bootstrap[0] == '\0';
      cleanup_free char *why = unset
                                   ? sdup (ev, "is not set")
                                   : xfmt (ev, "is '%s', not 1", c->bootstrap);
      add (ev, "cargo RUSTC_BOOTSTRAP", DOCTOR_FAIL,
           xfmt (ev,
                 "%s is a %s toolchain and RUSTC_BOOTSTRAP %s: Cargo ignores "
                 "the [unstable] table (host-config, target-applies-to-host) "
                 "and refuses -Z flags",
                 version, channel, why ? why : "is not 1"),
           sdup (ev, "export RUSTC_BOOTSTRAP=1 wherever cargo runs (CI "
                     "too), or use a nightly toolchain"));
    }
  /* keys Cargo never reads where they are */
  for (size_t i = 0; i < c->n_keys; i++)
    {
      const struct doctor_cargo_key *k = &c->keys[i];
      bool runner = key_is (k->key, "runner")
                    && strncmp (k->key, "host.", 5) != 0
                    && strncmp (k->key, "target.", 7) != 0;
      bool flag
          = (key_is (k->key, "host-config")
             && strcmp (k->key, "unstable.host-config") != 0)
            || (key_is (k->key, "target-applies-to-host")
                && strcmp (k->key, "unstable.target-applies-to-host") != 0
                && strcmp (k->key, "target-applies-to-host") != 0);
      if (!runner && !flag)
        continue;
      n++;
      cleanup_free char *table = table_of (ev, k->key);
      const char *name
          = strrchr (k->key, '.') ? strrchr (k->key, '.') + 1 : k->key;
      add (ev, "cargo config", DOCTOR_FAIL,
           xfmt (ev, "%s = %s is %s (%s), where Cargo does not read it", name,
                 k->value, table ? table : "?", origin (k)),
           xfmt (ev, "move it under %s", runner ? "[host]" : "[unstable]"));
    }
  if (!cargo_true (c, "unstable.host-config"))
    {
      n++;
      add (ev, "cargo host-config", DOCTOR_FAIL,
           sdup (ev, "host-config is not enabled: Cargo ignores the [host] "
                     "table and its runner"),
           sdup (ev, "host-config = true under [unstable] in "
                     ".cargo/config.toml (or -Zhost-config)"));
    }
  const struct doctor_cargo_key *top
      = doctor_cargo_key (c, "target-applies-to-host");
  if (!cargo_true (c, "unstable.target-applies-to-host"))
    {
      n++;
      if (top)
        add (ev, "cargo target-applies-to-host", DOCTOR_FAIL,
             xfmt (ev,
                   "target-applies-to-host = %s is a top-level key (%s): "
                   "that is a setting of the feature, not the [unstable] "
                   "switch that enables it",
                   top->value, origin (top)),
             sdup (ev, "move it under [unstable] as target-applies-to-host "
                       "= true (or give -Ztarget-applies-to-host)"));
      else
        add (ev, "cargo target-applies-to-host", DOCTOR_FAIL,
             sdup (ev, "target-applies-to-host is not enabled (host-config "
                       "needs it)"),
             sdup (ev, "target-applies-to-host = true under [unstable] in "
                       ".cargo/config.toml (or -Ztarget-applies-to-host)"));
    }
  else if (top && strcmp (top->value, "true") == 0)
    {
      n++;
      add (ev, "cargo target-applies-to-host", DOCTOR_FAIL,
           xfmt (ev,
                 "target-applies-to-host = true at the top level (%s) makes "
                 "Cargo apply [target] settings to build scripts and ignore "
                 "[host]",
                 origin (top)),
           xfmt (ev,
                 "remove it from %s: the switch is [unstable] "
                 "target-applies-to-host = true",
                 origin (top)));
    }
  /* the runner: [host], or [host.TRIPLE] for this host, which wins */
  const struct doctor_cargo_key *generic = doctor_cargo_key (c, "host.runner");
  const struct doctor_cargo_key *triple = NULL, *triple_any = NULL;
  cleanup_free char *prefix
      = c->host_triple ? xfmt (ev, "host.%s.", c->host_triple) : NULL;
  for (size_t i = 0; prefix && i < c->n_keys; i++)
    if (strncmp (c->keys[i].key, prefix, strlen (prefix)) == 0)
      {
        triple_any = &c->keys[i];
        if (strcmp (c->keys[i].key + strlen (prefix), "runner") == 0)
          triple = &c->keys[i];
      }
  if (generic == NULL && triple == NULL)
    {
      n++;
      add (ev, "cargo host.runner", DOCTOR_FAIL,
           sdup (ev, "host.runner is not set (.cargo/config.toml from here "
                     "up, $CARGO_HOME/config.toml, CARGO_HOST_RUNNER, "
                     "--config)"),
           sdup (ev, FIX_RUNNER));
    }
  else if (triple == NULL && triple_any)
    {
      n++;
      add (ev, "cargo host.runner", DOCTOR_FAIL,
           xfmt (ev,
                 "[host.%s] (%s) takes precedence over [host] on this host, "
                 "and has no runner",
                 c->host_triple, origin (triple_any)),
           xfmt (ev, "put the runner in [host.%s] too", c->host_triple));
    }
  if (c->config_error)
    {
      n++;
      add (ev, "cargo config", DOCTOR_WARN,
           xfmt (ev, "cannot read Cargo's configuration: %s", c->config_error),
           sdup (ev, "fix what cargo says"));
    }
  return n;
}

static void
check_cargo (struct eval *ev)
{
  const struct doctor_cargo *c = &ev->f->cargo;
  if (!c->probed)
    return;
  const char *dir = c->dir ? c->dir : ".";
  if (c->path == NULL)
    {
      ev->blockers++;
      need (ev, SETTING_CARGO);
      add (ev, "cargo", DOCTOR_FAIL,
           sdup (ev, "cargo not found (CARGO, PATH)"),
           sdup (ev, "install Rust (rustup), or set CARGO to cargo's path"));
      return;
    }
  if (c->ran == 1)
    {
      add (ev, "cargo", DOCTOR_OK,
           xfmt (ev,
                 "`cargo build` in %s calls the runner: a throwaway build "
                 "script ran in its container (host.runner: %s; %s)",
                 dir, c->runner ? c->runner : "?",
                 c->version ? c->version : "cargo"),
           NULL);
      return;
    }
  ev->blockers++;
  need (ev, SETTING_CARGO);
  if (c->runner && c->status != 0)
    {
      /* the configuration is right: what fails is the run */
      add (
          ev, "cargo", DOCTOR_FAIL,
          xfmt (ev,
                "`cargo build` in %s calls host.runner (%s), which failed: %s",
                dir, c->runner,
                c->runner_error ? c->runner_error
                : c->error      ? c->error
                                : "no message"),
          sdup (ev, "the checks above, with the options host.runner "
                    "gives"));
      return;
    }
  if (c->runner && c->ran == 0)
    {
      add (ev, "cargo", DOCTOR_FAIL,
           xfmt (ev,
                 "`cargo build` in %s calls host.runner (%s), but the build "
                 "script did not run in a container of oci-host-runner",
                 dir, c->runner),
           sdup (ev, "host.runner must run oci-host-runner: " FIX_RUNNER));
      return;
    }
  if (c->runner)
    {
      /* called and succeeded, but the script's report never showed */
      add (ev, "cargo", DOCTOR_FAIL,
           xfmt (ev,
                 "`cargo build` in %s calls host.runner (%s), but the "
                 "throwaway build script's report did not show: where it "
                 "ran is unknown",
                 dir, c->runner),
           sdup (ev, "run doctor --cargo without -q or --quiet among the "
                     "cargo arguments"));
      return;
    }
  /* the outcome first, then why; the outcome's fix depends on whether a
   * cause was found, so it is written into place afterwards */
  size_t at = ev->r->n;
  if (c->command)
    add (ev, "cargo", DOCTOR_FAIL,
         xfmt (ev,
               "`cargo build` in %s runs build scripts itself, never through "
               "the runner: they are not sandboxed",
               dir),
         NULL);
  else
    add (ev, "cargo", DOCTOR_FAIL,
         xfmt (ev,
               "`cargo build` of a throwaway crate in %s failed before its "
               "build script ran: %s",
               dir, c->error ? c->error : "no message"),
         NULL);
  int causes = cargo_causes (ev, c);
  if (at < ev->r->n)
    ev->r->v[at].fix
        = causes > 0
              ? sdup (ev, "the cargo checks that follow")
              : sdup (ev, "compare with examples/cargo-config.toml (cargo "
                          "-Zunstable-options config get --show-origin "
                          "shows what Cargo reads)");
}

int
doctor_evaluate (const struct doctor_facts *f, struct doctor_report *out,
                 ohr_error_t *err)
{
  memset (out, 0, sizeof *out);
  struct eval ev = { .f = f, .r = out };
  struct choice c;
  choose_runtime (&ev, &c);

  check_runtimes (&ev, &c);
  check_userns (&ev);
  check_fresh_mount (&ev, true);
  check_fresh_mount (&ev, false);
  check_cgroups (&ev, &c);
  check_store (&ev);
  if (f->hooks_error)
    {
      ev.blockers++;
      add (&ev, "hooks", DOCTOR_FAIL, sdup (&ev, f->hooks_error),
           sdup (&ev, "--hooks-dir DIR (OCI_HOST_RUNNER_HOOKS_DIR) with "
                      "directories you own, or OCI_HOST_RUNNER_HOOKS_DIR= "
                      "for none; in a hostUsers: false pod the runtime must "
                      "idmap the image (containerd >= 2.0, CRI-O >= 1.25)"));
    }
  else
    add (&ev, "hooks", DOCTOR_OK,
         f->hooks_dirs ? xfmt (&ev, "%ld from %zu director%s", f->n_hooks,
                               strv_len (f->hooks_dirs),
                               strv_len (f->hooks_dirs) == 1 ? "y" : "ies")
                       : sdup (&ev, "no hook directories"),
         NULL);
  if (f->init_path)
    add (&ev, "init", DOCTOR_OK, sdup (&ev, f->init_path), NULL);
  else
    {
      ev.blockers++;
      need (&ev, SETTING_INIT);
      add (&ev, "init", DOCTOR_FAIL,
           sdup (&ev, "ohr-init not found beside the runner or in "
                      "../libexec/oci-host-runner"),
           sdup (&ev, "reinstall (make install), or set "
                      "OCI_HOST_RUNNER_INIT"));
    }

  check_cargo (&ev);

  out->can_run = ev.blockers == 0 && !ev.proc_blocks;
  out->degraded_would_run
      = ev.blockers == 0 && ev.proc_blocks && degraded_works (f);

  /* the verdict */
  char missing[1024] = "";
  for (int s = 0; s < DOCTOR_N_SETTINGS; s++)
    if (out->missing[s])
      {
        size_t l = strlen (missing);
        snprintf (missing + l, sizeof missing - l, "%s%s", l ? ", " : "",
                  doctor_setting_name ((enum doctor_setting)s));
      }
  const char *how = c.name ? c.name : "no runtime";
  const char *who = f->rootless ? "rootless" : "root";
  if (out->can_run)
    add (&ev, "verdict",
         f->degraded_proc && f->proc_error != 0 ? DOCTOR_WARN : DOCTOR_OK,
         xfmt (&ev, "build scripts can run here (%s, %s%s)", how, who,
               f->degraded_proc && f->proc_error != 0
                   ? ", degraded mode 'proc'"
                   : ""),
         NULL);
  else
    add (&ev, "verdict", DOCTOR_FAIL,
         xfmt (&ev, "build scripts cannot run here; missing: %s",
               missing[0] ? missing : "see the checks above"),
         out->degraded_would_run
             ? sdup (&ev, "set procMount: Unmasked (with hostUsers: false); "
                          "or run with " FIX_DEGRADED
                          " (this pod passes every other check)")
             : sdup (&ev, "the fixes above"));
  choice_clear (&c);
  if (ev.oom)
    {
      doctor_report_clear (out);
      return ohr_error_nomem (err);
    }
  return 0;
}

void
doctor_report_clear (struct doctor_report *r)
{
  for (size_t i = 0; i < r->n; i++)
    free_many (r->v[i].name, r->v[i].detail, r->v[i].fix);
  free (r->v);
  memset (r, 0, sizeof *r);
}
