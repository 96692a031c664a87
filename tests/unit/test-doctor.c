/* test-doctor.c: the pure half of `doctor`: mountinfo, status and
 * uid_map parsing, and the verdicts doctor_evaluate() gives for the facts
 * of a healthy machine and of pods missing one setting or another.  The
 * probes themselves run once, on this machine, only to check that they
 * produce a report (their answers depend on the host; test-pod checks
 * them inside real pod-like containers). */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "cli/options.h"
#include "doctor/doctor.h"
#include "util/strv.h"

/* A pod as containerd sets it up: masked and read-only /proc paths, a
 * masked /sys/firmware, the cgroup tree, and kernel mount points. */
static const char pod_mountinfo[]
    = "600 500 0:50 / / ro,relatime master:1 - overlay overlay rw\n"
      "601 600 0:51 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
      "602 600 0:52 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k\n"
      "603 600 0:53 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs "
      "ro\n"
      "604 603 0:54 / /sys/fs/cgroup ro,nosuid,nodev,noexec - tmpfs tmpfs "
      "ro,mode=755\n"
      "605 604 0:26 / /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup "
      "rw,memory\n"
      "606 603 0:7 / /sys/kernel/debug rw,nosuid - debugfs debugfs rw\n"
      "607 601 0:52 /null /proc/kcore rw,nosuid - tmpfs tmpfs "
      "rw,size=65536k\n"
      "608 601 0:52 /null /proc/keys rw,nosuid - tmpfs tmpfs rw\n"
      "609 601 0:55 / /proc/acpi ro,relatime - tmpfs tmpfs ro\n"
      "610 601 0:51 /sys /proc/sys ro,nosuid,nodev,noexec - proc proc rw\n"
      "611 601 0:51 /sysrq-trigger /proc/sysrq-trigger ro,nosuid - proc "
      "proc rw\n"
      "612 610 0:60 / /proc/sys/fs/binfmt_misc rw,relatime - binfmt_misc "
      "binfmt_misc rw\n"
      "613 603 0:56 / /sys/firmware ro,relatime - tmpfs tmpfs ro\n"
      "614 603 0:53 /devices/virtual/powercap "
      "/sys/devices/virtual/powercap ro - sysfs sysfs ro\n"
      "615 600 0:57 / /work\\040space rw - ext4 /dev/vda rw\n";

static void
test_find_masks_pod (void **state)
{
  (void)state;
  char **m = NULL;
  assert_int_equal (doctor_find_masks (pod_mountinfo, "/proc", &m), 5);
  assert_string_equal (m[0], "/proc/kcore");
  assert_string_equal (m[1], "/proc/keys");
  assert_string_equal (m[2], "/proc/acpi");
  assert_string_equal (m[3], "/proc/sys");
  assert_string_equal (m[4], "/proc/sysrq-trigger");
  assert_false (strv_contains (m, "/proc/sys/fs/binfmt_misc"));
  strv_free (m);

  assert_int_equal (doctor_find_masks (pod_mountinfo, "/sys", &m), 2);
  assert_string_equal (m[0], "/sys/firmware");
  assert_string_equal (m[1], "/sys/devices/virtual/powercap");
  strv_free (m);
}

static void
test_find_masks_none (void **state)
{
  (void)state;
  static const char host[]
      = "22 1 8:1 / / rw - ext4 /dev/vda rw\n"
        "23 22 0:21 / /proc rw,nosuid,nodev,noexec - proc proc rw\n"
        "24 23 0:40 / /proc/sys/fs/binfmt_misc rw - binfmt_misc x rw\n"
        "25 22 0:20 / /sys rw,nosuid - sysfs sysfs rw\n"
        "26 25 0:24 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
        "27 26 0:25 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n"
        "28 25 0:7 / /sys/kernel/security rw - securityfs securityfs rw\n"
        "29 22 0:30 / /processes rw - ext4 /dev/vdb rw\n"
        "garbage line without fields\n";
  char **m = NULL;
  assert_int_equal (doctor_find_masks (host, "/proc", &m), 0);
  assert_null (m);
  assert_int_equal (doctor_find_masks (host, "/sys", &m), 0);
  assert_int_equal (doctor_find_masks ("", "/proc", &m), 0);
  assert_int_equal (doctor_find_masks (NULL, "/proc", &m), 0);
}

static void
test_find_masks_escapes (void **state)
{
  (void)state;
  char **m = NULL;
  assert_int_equal (
      doctor_find_masks ("1 0 0:1 /null /proc/a\\040b rw - tmpfs t rw\n",
                         "/proc", &m),
      1);
  assert_string_equal (m[0], "/proc/a b");
  strv_free (m);
}

static void
test_status_parsers (void **state)
{
  (void)state;
  assert_int_equal (doctor_seccomp_mode ("Name:\tx\nSeccomp:\t2\n"
                                         "Seccomp_filters:\t1\n"),
                    2);
  assert_int_equal (doctor_seccomp_mode ("Seccomp:\t0\n"), 0);
  assert_int_equal (doctor_seccomp_mode ("Name:\tx\n"), -1);
  assert_int_equal (doctor_seccomp_mode (NULL), -1);

  assert_true (doctor_uid_map_is_identity ("         0          0 "
                                           "4294967295\n"));
  assert_false (doctor_uid_map_is_identity ("0 100000 65536\n"));
  assert_false (doctor_uid_map_is_identity ("0 1000 1\n"));
  assert_false (doctor_uid_map_is_identity ("0 0 4294967295\n1 2 3\n"));
  assert_false (doctor_uid_map_is_identity (NULL));

  char *p = doctor_cgroup2_path ("1:name=systemd:/x\n0::/kubepods/pod1\n");
  assert_string_equal (p, "/kubepods/pod1");
  free (p);
  assert_null (doctor_cgroup2_path ("1:memory:/x\n"));

  p = doctor_first_line ("crun version 1.8.1\ncommit: abc\n");
  assert_string_equal (p, "crun version 1.8.1");
  free (p);
}

/* ---- evaluation: facts of a healthy rootless pod, then one setting
 * taken away at a time */

static void
healthy_pod (struct doctor_facts *f)
{
  memset (f, 0, sizeof *f);
  f->rootless = true;
  f->uid = 1000;
  f->cgroups = CGROUP_MODE_UNIFIED;
  f->cgroup_path = strdup ("/sys/fs/cgroup");
  f->cgroup_error = EROFS;
  f->crun.path = strdup ("/usr/bin/crun");
  f->crun.version = strdup ("crun version 1.8.1");
  f->runc.path = strdup ("/usr/sbin/runc");
  f->runc.version = strdup ("runc version 1.1.5");
  f->want_runtime = strdup ("auto");
  f->max_userns = 15000;
  f->unpriv_userns_clone = -1;
  f->apparmor_restrict = -1;
  f->seccomp_mode = 2; /* a Localhost profile that allows what we need */
  f->in_userns = true;
  f->uid_map = strdup ("0 100000 65536");
  f->hybrid_error = DOCTOR_NOT_PROBED;
  f->state.path = strdup ("/dev/shm/oci-host-runner-1000");
  f->state.tmpfs = true;
  f->cache.path = strdup ("/var/cache/oci-host-runner");
  f->cache.exists = true;
  f->store.path = strdup ("/var/cache/oci-host-runner");
  f->store.exists = true;
  f->image = strdup ("host");
  f->init_path = strdup ("/usr/local/libexec/oci-host-runner/ohr-init");
  f->store_helper = strdup ("/usr/local/libexec/oci-host-runner/"
                            "oci-host-runner-store");
}

/* The pod's masks, as containerd sets them for procMount: Default. */
static void
masked (struct doctor_facts *f, bool sys_too)
{
  strv_push (&f->proc_masks, "/proc/kcore");
  strv_push (&f->proc_masks, "/proc/sys");
  if (sys_too)
    strv_push (&f->sys_masks, "/sys/firmware");
}

struct result
{
  struct doctor_report r;
  char *missing; /* the names, ", "-joined */
};

static void
evaluate (struct doctor_facts *f, struct result *out)
{
  ohr_error_t err = NULL;
  assert_int_equal (doctor_evaluate (f, &out->r, &err), 0);
  doctor_facts_clear (f);
  char buf[1024] = "";
  for (int s = 0; s < DOCTOR_N_SETTINGS; s++)
    if (out->r.missing[s])
      {
        size_t l = strlen (buf);
        snprintf (buf + l, sizeof buf - l, "%s%s", l ? ", " : "",
                  doctor_setting_name ((enum doctor_setting)s));
      }
  out->missing = strdup (buf);
  /* the verdict is always last */
  assert_true (out->r.n > 0);
  assert_string_equal (out->r.v[out->r.n - 1].name, "verdict");
}

static void
result_clear (struct result *res)
{
  doctor_report_clear (&res->r);
  free (res->missing);
}

static const struct doctor_check *
find (const struct result *res, const char *name)
{
  for (size_t i = 0; i < res->r.n; i++)
    if (strcmp (res->r.v[i].name, name) == 0)
      return &res->r.v[i];
  fail_msg ("no check '%s'", name);
  return NULL;
}

/* Every FAIL line, names ", "-joined: "exactly the missing settings". */
static char *
fails (const struct result *res)
{
  char buf[1024] = "";
  for (size_t i = 0; i < res->r.n; i++)
    if (res->r.v[i].status == DOCTOR_FAIL)
      {
        size_t l = strlen (buf);
        snprintf (buf + l, sizeof buf - l, "%s%s", l ? ", " : "",
                  res->r.v[i].name);
      }
  return strdup (buf);
}

static void
test_eval_healthy (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_false (res.r.degraded_would_run);
  assert_string_equal (res.missing, "");
  char *fl = fails (&res);
  assert_string_equal (fl, "");
  free (fl);
  assert_int_equal (find (&res, "verdict")->status, DOCTOR_OK);
  assert_non_null (strstr (find (&res, "verdict")->detail, "crun"));
  /* rootless: limits are a degradation, said as such */
  assert_int_equal (find (&res, "cgroups")->status, DOCTOR_WARN);
  assert_int_equal (find (&res, "pod user namespace")->status, DOCTOR_OK);
  result_clear (&res);
}

/* A pod with nothing set: hostUsers true, procMount Default, the runtime's
 * default seccomp profile (unshare refused). */
static void
test_eval_strict_pod (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  f.in_userns = false;
  free (f.uid_map);
  f.uid_map = strdup ("0 0 4294967295");
  f.userns_error = EPERM;
  f.mount_ns_error = DOCTOR_NOT_PROBED;
  f.proc_error = f.sysfs_error = f.proc_bind_error = DOCTOR_NOT_PROBED;
  masked (&f, true);
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_false (res.r.degraded_would_run);
  assert_string_equal (res.missing,
                       "hostUsers: false, procMount: Unmasked, "
                       "seccompProfile: Localhost oci-host-runner.json or "
                       "Unconfined");
  char *fl = fails (&res);
  assert_string_equal (fl, "pod user namespace, user namespace, seccomp, "
                           "procfs, sysfs, verdict");
  free (fl);
  assert_non_null (strstr (find (&res, "user namespace")->detail, "EPERM"));
  assert_non_null (strstr (find (&res, "seccomp")->fix, "seccompProfile"));
  assert_non_null (strstr (find (&res, "procfs")->detail, "/proc/kcore"));
  assert_non_null (strstr (find (&res, "procfs")->fix, "procMount: Unmasked"));
  assert_non_null (
      strstr (find (&res, "verdict")->detail, "missing: hostUsers: false"));
  result_clear (&res);
}

/* hostUsers: false and a seccomp profile that allows unshare, but the
 * default masked paths: a fresh procfs and sysfs are refused. */
static void
test_eval_masked_pod (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  f.proc_error = EPERM;
  f.sysfs_error = EPERM;
  masked (&f, true);
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  /* --degraded proc binds /proc and /sys: it helps with both masked */
  assert_true (res.r.degraded_would_run);
  assert_string_equal (res.missing, "procMount: Unmasked");
  char *fl = fails (&res);
  assert_string_equal (fl, "procfs, sysfs, verdict");
  free (fl);
  assert_non_null (strstr (find (&res, "sysfs")->fix, "--degraded proc"));
  result_clear (&res);

  /* with it on, both pass: /sys is bound, not mounted fresh */
  healthy_pod (&f);
  f.proc_error = f.sysfs_error = EPERM;
  f.degraded_proc = true;
  masked (&f, true);
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_int_equal (find (&res, "sysfs")->status, DOCTOR_OK);
  const char *d = find (&res, "sysfs")->detail;
  if (strstr (d, "binds the pod's /sys read-only") == NULL)
    fail_msg ("sysfs: '%s'", d);
  result_clear (&res);

  /* where a bind of /proc is refused too, it does not help */
  healthy_pod (&f);
  f.proc_error = f.sysfs_error = EPERM;
  masked (&f, true);
  f.proc_bind_error = EPERM;
  evaluate (&f, &res);
  assert_false (res.r.degraded_would_run);
  result_clear (&res);

  /* nothing probed (no user namespace): not offered, no claim made */
  healthy_pod (&f);
  f.proc_error = f.sysfs_error = DOCTOR_NOT_PROBED;
  masked (&f, true);
  f.proc_bind_error = f.mount_ns_error = DOCTOR_NOT_PROBED;
  evaluate (&f, &res);
  assert_false (res.r.degraded_would_run);
  assert_null (strstr (find (&res, "procfs")->fix, "--degraded"));
  result_clear (&res);
}

/* A runtime older than the recursive mount attributes: a warning that
 * names the version to upgrade to; the pod still passes. */
static void
test_eval_old_runtime (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  free (f.runc.version);
  f.runc.version = strdup ("runc version 1.0.3");
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  const struct doctor_check *c = find (&res, "runtime runc");
  assert_int_equal (c->status, DOCTOR_WARN);
  assert_non_null (strstr (c->detail, "stay writable"));
  assert_non_null (strstr (c->fix, "runc >= 1.1"));
  assert_int_equal (find (&res, "runtime crun")->status, DOCTOR_OK);
  result_clear (&res);

  healthy_pod (&f);
  free (f.crun.version);
  f.crun.version = strdup ("crun version 1.3");
  evaluate (&f, &res);
  assert_int_equal (find (&res, "runtime crun")->status, DOCTOR_WARN);
  assert_int_equal (find (&res, "runtime runc")->status, DOCTOR_OK);
  result_clear (&res);
}

/* Only /proc is masked: --degraded proc is what doctor recommends, and
 * with it switched on the pod passes, with a warning. */
static void
test_eval_degraded (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  f.proc_error = EPERM;
  masked (&f, false);
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_true (res.r.degraded_would_run);
  assert_string_equal (res.missing, "procMount: Unmasked");
  assert_non_null (strstr (find (&res, "procfs")->fix, "--degraded proc"));
  assert_non_null (strstr (find (&res, "verdict")->fix, "--degraded proc"));
  char *fl = fails (&res);
  assert_string_equal (fl, "procfs, verdict");
  free (fl);
  result_clear (&res);

  healthy_pod (&f);
  f.proc_error = EPERM;
  f.degraded_proc = true;
  masked (&f, false);
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_string_equal (res.missing, "");
  assert_int_equal (find (&res, "procfs")->status, DOCTOR_WARN);
  assert_non_null (
      strstr (find (&res, "procfs")->detail, "in a PID namespace"));
  assert_non_null (strstr (find (&res, "procfs")->detail, "started after it"));
  assert_int_equal (find (&res, "verdict")->status, DOCTOR_WARN);
  assert_non_null (strstr (find (&res, "verdict")->detail, "degraded"));
  result_clear (&res);
}

/* Not masked, but mount(2) refused (a seccomp profile that allows unshare
 * and not mount): seccomp, not procMount. */
static void
test_eval_seccomp_mount (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  f.proc_error = f.sysfs_error = f.proc_bind_error = EPERM;
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_string_equal (res.missing, "seccompProfile: Localhost "
                                    "oci-host-runner.json or Unconfined");
  char *fl = fails (&res);
  assert_string_equal (fl, "seccomp, procfs, sysfs, verdict");
  free (fl);
  result_clear (&res);

  /* the same refusal from AppArmor (EACCES, confined, no filter) */
  healthy_pod (&f);
  f.seccomp_mode = 0;
  f.apparmor_enabled = true;
  f.apparmor_label = strdup ("cri-containerd.apparmor.d (enforce)");
  f.proc_error = f.sysfs_error = f.proc_bind_error = EACCES;
  evaluate (&f, &res);
  assert_string_equal (res.missing, "appArmorProfile: Unconfined");
  result_clear (&res);
}

static void
test_eval_sysctls (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  f.max_userns = 0;
  f.userns_error = ENOSPC;
  f.proc_error = f.sysfs_error = f.proc_bind_error = DOCTOR_NOT_PROBED;
  f.mount_ns_error = DOCTOR_NOT_PROBED;
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_string_equal (res.missing,
                       "node sysctl user.max_user_namespaces > 0");
  result_clear (&res);

  healthy_pod (&f);
  f.apparmor_restrict = 1;
  f.apparmor_enabled = true;
  f.apparmor_label = strdup ("unconfined");
  f.seccomp_mode = 0;
  f.userns_error = EACCES;
  f.proc_error = f.sysfs_error = f.proc_bind_error = DOCTOR_NOT_PROBED;
  f.mount_ns_error = DOCTOR_NOT_PROBED;
  evaluate (&f, &res);
  assert_string_equal (
      res.missing,
      "node sysctl kernel.apparmor_restrict_unprivileged_userns=0");
  assert_int_equal (find (&res, "apparmor")->status, DOCTOR_FAIL);
  result_clear (&res);
}

/* Root in a pod: read-only cgroups stop the runtime. */
static void
test_eval_root_cgroups (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  f.rootless = false;
  f.uid = 0;
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_string_equal (res.missing, "runAsNonRoot: true");
  assert_int_equal (find (&res, "cgroups")->status, DOCTOR_FAIL);
  result_clear (&res);

  healthy_pod (&f);
  f.rootless = false;
  f.cgroup_error = 0;
  f.in_userns = false;
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_int_equal (find (&res, "cgroups")->status, DOCTOR_OK);
  result_clear (&res);
}

static void
test_eval_runtimes (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  healthy_pod (&f);
  free (f.crun.path);
  free (f.crun.version);
  f.crun.path = f.crun.version = NULL;
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_int_equal (find (&res, "runtime crun")->status, DOCTOR_WARN);
  assert_non_null (strstr (find (&res, "runtime choice")->detail, "runc"));
  result_clear (&res);

  healthy_pod (&f);
  free (f.crun.path);
  free (f.crun.version);
  free (f.runc.path);
  free (f.runc.version);
  f.crun.path = f.crun.version = f.runc.path = f.runc.version = NULL;
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_string_equal (res.missing, "crun or runc in PATH");
  result_clear (&res);

  /* hybrid host where crun's workaround fails: auto picks crun */
  healthy_pod (&f);
  f.cgroups = CGROUP_MODE_HYBRID;
  f.hybrid_error = EPERM;
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_non_null (
      strstr (find (&res, "runtime choice")->fix, "--runtime runc"));
  result_clear (&res);

  healthy_pod (&f);
  f.cgroups = CGROUP_MODE_HYBRID;
  f.hybrid_error = EPERM;
  free (f.want_runtime);
  f.want_runtime = strdup ("runc");
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_int_equal (find (&res, "hybrid cgroups")->status, DOCTOR_WARN);
  result_clear (&res);

  /* the choice is run mode's (runtime_choose): rootless without user
   * namespaces, it refuses both runtimes; the setting to fix is the
   * sysctl, not a runtime */
  healthy_pod (&f);
  f.max_userns = 0;
  f.userns_unavailable = "user namespaces are disabled (sysctl "
                         "user.max_user_namespaces=0)";
  f.userns_error = ENOSPC;
  f.proc_error = f.sysfs_error = f.proc_bind_error = DOCTOR_NOT_PROBED;
  f.mount_ns_error = DOCTOR_NOT_PROBED;
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_string_equal (res.missing,
                       "node sysctl user.max_user_namespaces > 0");
  assert_int_equal (find (&res, "runtime choice")->status, DOCTOR_FAIL);
  assert_non_null (strstr (find (&res, "runtime choice")->detail,
                           "crun: user namespaces are disabled"));
  result_clear (&res);

  /* root needs none */
  healthy_pod (&f);
  f.rootless = false;
  f.cgroup_error = 0;
  f.userns_unavailable = "user namespaces are disabled (sysctl "
                         "user.max_user_namespaces=0)";
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_string_equal (find (&res, "runtime choice")->detail,
                       "--runtime auto: crun at /usr/bin/crun");
  result_clear (&res);

  /* a name run mode does not know: its own words */
  healthy_pod (&f);
  free (f.want_runtime);
  f.want_runtime = strdup ("docker");
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_non_null (strstr (find (&res, "runtime choice")->detail,
                           "unknown runtime 'docker'"));
  result_clear (&res);

  /* a path, executable or not */
  healthy_pod (&f);
  free (f.want_runtime);
  f.want_runtime = strdup ("/opt/crun/bin/crun");
  f.want_runtime_executable = true;
  f.cgroups = CGROUP_MODE_HYBRID;
  f.hybrid_error = 0;
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_string_equal (find (&res, "runtime choice")->detail,
                       "--runtime /opt/crun/bin/crun: crun at "
                       "/opt/crun/bin/crun (hybrid cgroups: started in the "
                       "runner's own user namespace, no cgroups)");
  result_clear (&res);

  healthy_pod (&f);
  free (f.want_runtime);
  f.want_runtime = strdup ("/opt/crun/bin/crun");
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_string_equal (find (&res, "runtime choice")->detail,
                       "--runtime /opt/crun/bin/crun: not found");
  result_clear (&res);
}

static void
test_eval_store (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };
  /* a pinned image not in a read-only store: the pull cannot happen */
  healthy_pod (&f);
  free (f.store.path);
  f.store.path = strdup ("/store");
  f.store.error = EROFS;
  free (f.image);
  f.image = strdup ("127.0.0.1:5000/x@sha256:00");
  f.image_state = 2;
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_string_equal (res.missing, "a writable volume (emptyDir or PVC)");
  assert_int_equal (find (&res, "store")->status, DOCTOR_FAIL);
  result_clear (&res);

  /* ... but a prepared image in a read-only shared store is fine */
  healthy_pod (&f);
  free (f.store.path);
  f.store.path = strdup ("/store");
  f.store.error = EROFS;
  f.image_state = 1;
  f.store_link_error = EXDEV;
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  assert_int_equal (find (&res, "store")->status, DOCTOR_WARN);
  assert_int_equal (find (&res, "store hardlinks")->status, DOCTOR_WARN);
  result_clear (&res);

  /* the shipped hooks directory, owned by nobody (no idmapped image) */
  healthy_pod (&f);
  f.hooks_error = strdup ("hooks directory '/usr/local/share/oci-host-runner/"
                          "hooks.d' belongs to another user");
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_int_equal (find (&res, "hooks")->status, DOCTOR_FAIL);
  assert_non_null (strstr (find (&res, "hooks")->fix, "idmap"));
  result_clear (&res);

  healthy_pod (&f);
  f.state.error = EPERM;
  f.state.why = strdup ("owned by uid 0");
  free (f.init_path);
  f.init_path = NULL;
  evaluate (&f, &res);
  assert_false (res.r.can_run);
  assert_string_equal (res.missing, "a writable volume (emptyDir or PVC), "
                                    "ohr-init installed");
  result_clear (&res);
}

static void
test_format_and_json (void **state)
{
  (void)state;
  struct doctor_check ok = { "procfs", DOCTOR_OK, "fine", "ignored" };
  struct doctor_check bad = { "seccomp", DOCTOR_FAIL, "refused", "allow it" };
  struct doctor_check warn = { "cgroups", DOCTOR_WARN, "no limits", NULL };
  char *s = doctor_format_line (&ok);
  assert_string_equal (s, "ok   procfs: fine");
  free (s);
  s = doctor_format_line (&bad);
  assert_string_equal (s, "FAIL seccomp: refused; fix: allow it");
  free (s);
  s = doctor_format_line (&warn);
  assert_string_equal (s, "warn cgroups: no limits");
  free (s);

  struct doctor_check v[] = { ok, bad, warn };
  struct doctor_report r = { .v = v, .n = 3 };
  char *json = NULL;
  size_t len = 0;
  ohr_error_t err = NULL;
  assert_int_equal (doctor_report_json (&r, &json, &len, &err), 0);
  char ebuf[256];
  yajl_val tree = yajl_tree_parse (json, ebuf, sizeof ebuf);
  assert_non_null (tree);
  assert_true (YAJL_IS_ARRAY (tree));
  assert_int_equal (tree->u.array.len, 3);
  const char *pc[] = { "check", NULL }, *ps[] = { "status", NULL },
             *pf[] = { "fix", NULL }, *pd[] = { "detail", NULL };
  yajl_val b = tree->u.array.values[1];
  assert_string_equal (YAJL_GET_STRING (yajl_tree_get (b, pc, yajl_t_string)),
                       "seccomp");
  assert_string_equal (YAJL_GET_STRING (yajl_tree_get (b, ps, yajl_t_string)),
                       "fail");
  assert_string_equal (YAJL_GET_STRING (yajl_tree_get (b, pf, yajl_t_string)),
                       "allow it");
  assert_string_equal (YAJL_GET_STRING (yajl_tree_get (b, pd, yajl_t_string)),
                       "refused");
  /* an ok check carries no fix */
  assert_true (
      YAJL_IS_NULL (yajl_tree_get (tree->u.array.values[0], pf, yajl_t_any)));
  yajl_tree_free (tree);
  free (json);
}

/* The real probes, on whatever this machine is: they run, fill the facts,
 * and the report ends with a verdict that matches can_run. */
static void
test_probe_here (void **state)
{
  (void)state;
  char *argv[] = { "oci-host-runner", NULL };
  char *envp[]
      = { "HOME=/tmp", "XDG_CACHE_HOME=/tmp/test-doctor-cache", NULL };
  struct run_options o;
  ohr_error_t err = NULL;
  assert_int_equal (options_parse (1, argv, envp, &o, &err), 0);
  struct doctor_facts f;
  assert_int_equal (doctor_probe (&o, &f, &err), 0);
  options_clear (&o);
  assert_non_null (f.want_runtime);
  assert_non_null (f.state.path);
  assert_true (f.seccomp_mode >= -1 && f.seccomp_mode <= 2);
  assert_true (f.image_state == 0);
  struct doctor_report r;
  assert_int_equal (doctor_evaluate (&f, &r, &err), 0);
  doctor_facts_clear (&f);
  const struct doctor_check *v = &r.v[r.n - 1];
  assert_string_equal (v->name, "verdict");
  assert_int_equal (v->status == DOCTOR_FAIL, !r.can_run);
  doctor_report_clear (&r);
}

/* ---- doctor --cargo: cargo's outputs, and the verdicts on them */

/* `cargo config get --show-origin` as cargo 1.95 prints it. */
static const char config_text[]
    = "build.target-applies-to-host = true # /p/.cargo/config.toml\n"
      "host.linker = \"cc\" # /p/.cargo/config.toml\n"
      "host.runner = \"oci-host-runner --image 'a # b'\" # "
      "/p/.cargo/config.toml\n"
      "host.x86_64-unknown-linux-gnu.rustflags = [\n"
      "    \"-C\", # /p/.cargo/config.toml\n"
      "    \"x\", # /p/.cargo/config.toml\n"
      "]\n"
      "host-config = true # /p/.cargo/config.toml\n"
      "target.\"cfg(unix)\".runner = [\n"
      "    \"a\", # --config cli option\n"
      "]\n"
      "unstable.host-config = true # /home/u/.cargo/config.toml\n"
      "# The following environment variables may affect the loaded values.\n"
      "# CARGO_HOME=/home/u/.cargo\n";

static void
test_cargo_parsers (void **state)
{
  (void)state;
  assert_string_equal (
      doctor_cargo_channel ("cargo 1.95.0 (f2d3ce0bd 2026-03-21)"), "stable");
  assert_string_equal (
      doctor_cargo_channel ("cargo 1.97.0-nightly (abc 2026-05-01)"),
      "nightly");
  assert_string_equal (doctor_cargo_channel ("cargo 1.96.0-beta.3 (x)"),
                       "beta");
  assert_string_equal (doctor_cargo_channel ("cargo 1.96.0-dev"), "dev");
  assert_null (doctor_cargo_channel (NULL));

  struct doctor_cargo c = { 0 };
  assert_int_equal (doctor_cargo_parse_config (config_text, &c), 0);
  assert_int_equal (c.n_keys, 7);
  const struct doctor_cargo_key *k = doctor_cargo_key (&c, "host.runner");
  assert_non_null (k);
  /* the last " # " starts the origin: a string may hold one */
  assert_string_equal (k->value, "\"oci-host-runner --image 'a # b'\"");
  assert_string_equal (k->origin, "/p/.cargo/config.toml");
  k = doctor_cargo_key (&c, "host.x86_64-unknown-linux-gnu.rustflags");
  assert_string_equal (k->value, "[\"-C\", \"x\"]");
  assert_string_equal (k->origin, "/p/.cargo/config.toml");
  k = doctor_cargo_key (&c, "target.\"cfg(unix)\".runner");
  assert_string_equal (k->origin, "--config cli option");
  assert_string_equal (doctor_cargo_key (&c, "host-config")->value, "true");
  assert_string_equal (doctor_cargo_key (&c, "unstable.host-config")->origin,
                       "/home/u/.cargo/config.toml");
  assert_null (doctor_cargo_key (&c, "unstable.target-applies-to-host"));

  /* the environment and -Z flags come after the files: the last wins */
  char *envp[] = { "CARGO_UNSTABLE_HOST_CONFIG=false",
                   "CARGO_HOST_RUNNER=oci-host-runner",
                   "CARGO_HOST_RUNNERX=no", "HOME=/home/u", NULL };
  char *args[] = { "-Z",  "target-applies-to-host", "--config",
                   "x=1", "-Zhost-config",          "-Zother",
                   NULL };
  assert_int_equal (doctor_cargo_parse_env_args (envp, args, &c), 0);
  k = doctor_cargo_key (&c, "unstable.host-config");
  assert_string_equal (k->value, "true");
  assert_string_equal (k->origin, "-Zhost-config");
  k = doctor_cargo_key (&c, "unstable.target-applies-to-host");
  assert_string_equal (k->origin, "-Ztarget-applies-to-host");
  k = doctor_cargo_key (&c, "host.runner");
  assert_string_equal (k->value, "oci-host-runner");
  assert_string_equal (k->origin, "CARGO_HOST_RUNNER");
  assert_int_equal (c.n_keys, 11);
  doctor_cargo_clear (&c);
}

/* cargo build -v, as cargo 1.95 prints it */
#define RUSTC_LINE                                                            \
  "     Running `/r/bin/rustc --crate-name build_script_build "               \
  "--edition=2021 build.rs --out-dir /t/target/debug/build/"                  \
  "ohr-doctor-probe-92fe`\n"
#define SCRIPT "/t/target/debug/build/ohr-doctor-probe-92fe/build-script-build"

static const char build_in_container[]
    = "   Compiling ohr-doctor-probe v0.0.0 (/t)\n" RUSTC_LINE
      "     Running `/usr/local/bin/oci-host-runner --image "
      "'oci:/x y:base' " SCRIPT "`\n"
      "warning: ohr-doctor-probe@0.0.0: ohr-doctor-probe: container "
      "x86_64-unknown-linux-gnu\n"
      "    Finished `dev` profile [unoptimized + debuginfo] target(s)\n";

static const char build_on_host[]
    = "   Compiling ohr-doctor-probe v0.0.0 (/t)\n" RUSTC_LINE
      "     Running `" SCRIPT "`\n"
      "warning: ohr-doctor-probe@0.0.0: ohr-doctor-probe: host "
      "x86_64-unknown-linux-gnu\n";

static const char build_runner_failed[]
    = "   Compiling ohr-doctor-probe v0.0.0 (/t)\n" RUSTC_LINE
      "     Running `/bin/oci-host-runner -v '/a b/build-script-build'`\n"
      "error: failed to run custom build command for `ohr-doctor-probe "
      "v0.0.0 (/t)`\n"
      "\n"
      "Caused by:\n"
      "  process didn't exit successfully: `/bin/oci-host-runner -v '/a "
      "b/build-script-build'` (exit status: 125)\n"
      "  --- stderr\n"
      "  oci-host-runner: image host: rootfs /c/host/rootfs-1\n"
      "  oci-host-runner: build script of ohr-doctor-probe 0.0.0: runtime "
      "'/nonexistent/runc': no executable at that path\n";

static const char build_refused[]
    = "error: the -Zhost-config flag requires the -Ztarget-applies-to-host "
      "flag to be set\n";

static void
test_cargo_build_output (void **state)
{
  (void)state;
  struct doctor_cargo c = { .ran = -1 };
  assert_int_equal (doctor_cargo_parse_build (build_in_container, &c), 0);
  assert_int_equal (c.ran, 1);
  assert_string_equal (c.host_triple, "x86_64-unknown-linux-gnu");
  assert_string_equal (
      c.runner, "/usr/local/bin/oci-host-runner --image 'oci:/x y:base'");
  assert_string_equal (c.command, "/usr/local/bin/oci-host-runner --image "
                                  "'oci:/x y:base' " SCRIPT);
  assert_null (c.error);
  assert_null (c.runner_error);
  doctor_cargo_clear (&c);

  c = (struct doctor_cargo){ .ran = -1 };
  assert_int_equal (doctor_cargo_parse_build (build_on_host, &c), 0);
  assert_int_equal (c.ran, 0);
  assert_string_equal (c.command, SCRIPT);
  assert_null (c.runner);
  doctor_cargo_clear (&c);

  c = (struct doctor_cargo){ .ran = -1 };
  assert_int_equal (doctor_cargo_parse_build (build_runner_failed, &c), 0);
  assert_int_equal (c.ran, -1);
  assert_string_equal (c.runner, "/bin/oci-host-runner -v");
  assert_string_equal (c.error, "error: failed to run custom build command "
                                "for `ohr-doctor-probe v0.0.0 (/t)`");
  /* the last of the runner's lines is its error */
  assert_string_equal (c.runner_error,
                       "oci-host-runner: build script of ohr-doctor-probe "
                       "0.0.0: runtime '/nonexistent/runc': no executable "
                       "at that path");
  doctor_cargo_clear (&c);

  c = (struct doctor_cargo){ .ran = -1 };
  assert_int_equal (doctor_cargo_parse_build (build_refused, &c), 0);
  assert_null (c.command);
  assert_int_equal (c.ran, -1);
  assert_non_null (strstr (c.error, "-Ztarget-applies-to-host"));
  doctor_cargo_clear (&c);
}

/* A healthy machine, and cargo here with this configuration, this build
 * output (status), RUSTC_BOOTSTRAP and cargo version. */
static void
cargo_case (struct doctor_facts *f, const char *config, const char *output,
            int status, const char *bootstrap, const char *version)
{
  healthy_pod (f);
  struct doctor_cargo *c = &f->cargo;
  c->probed = true;
  c->ran = -1;
  c->status = status;
  c->dir = strdup ("/home/u/proj");
  c->path = strdup ("/home/u/.cargo/bin/cargo");
  c->version = version ? strdup (version) : NULL;
  c->bootstrap = bootstrap ? strdup (bootstrap) : NULL;
  assert_int_equal (doctor_cargo_parse_config (config, c), 0);
  assert_int_equal (doctor_cargo_parse_build (output, c), 0);
}

#define STABLE "cargo 1.95.0 (f2d3ce0bd 2026-03-21)"
#define NIGHTLY "cargo 1.97.0-nightly (0123456 2026-05-01)"
#define CFG "/home/u/proj/.cargo/config.toml"
#define GOOD_CONFIG                                                           \
  "host.runner = [\n    \"oci-host-runner\", # " CFG "\n]\n"                  \
  "unstable.host-config = true # " CFG "\n"                                   \
  "unstable.target-applies-to-host = true # " CFG "\n"

/* The FAIL lines of a cargo case, its verdict missing only Cargo. */
static char *
cargo_fails (struct result *res)
{
  assert_false (res->r.can_run);
  assert_string_equal (res->missing,
                       "a Cargo configuration that calls the runner");
  return fails (res);
}

static const struct doctor_check *
find_detail (const struct result *res, const char *name, const char *text)
{
  const struct doctor_check *c = find (res, name);
  if (strstr (c->detail, text) == NULL)
    fail_msg ("%s: '%s' lacks '%s'", name, c->detail, text);
  return c;
}

static void
test_eval_cargo (void **state)
{
  (void)state;
  struct doctor_facts f;
  struct result res = { 0 };

  /* not asked: no cargo line */
  healthy_pod (&f);
  evaluate (&f, &res);
  for (size_t i = 0; i < res.r.n; i++)
    assert_null (strstr (res.r.v[i].name, "cargo"));
  result_clear (&res);

  /* it works: one ok line naming the runner */
  cargo_case (&f, GOOD_CONFIG, build_in_container, 0, "1", STABLE);
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  const struct doctor_check *c
      = find_detail (&res, "cargo", "calls the runner");
  assert_int_equal (c->status, DOCTOR_OK);
  assert_non_null (strstr (c->detail, "oci-host-runner --image"));
  result_clear (&res);

  /* trap 1: stable without RUSTC_BOOTSTRAP=1 */
  cargo_case (&f, GOOD_CONFIG, build_on_host, 0, NULL, STABLE);
  evaluate (&f, &res);
  char *fl = cargo_fails (&res);
  assert_string_equal (fl, "cargo, cargo RUSTC_BOOTSTRAP, verdict");
  free (fl);
  find_detail (&res, "cargo", "runs build scripts itself");
  c = find_detail (&res, "cargo RUSTC_BOOTSTRAP", "is not set");
  assert_non_null (strstr (c->fix, "RUSTC_BOOTSTRAP=1"));
  result_clear (&res);
  /* set, but not to 1 */
  cargo_case (&f, GOOD_CONFIG, build_on_host, 0, "serde", STABLE);
  evaluate (&f, &res);
  find_detail (&res, "cargo RUSTC_BOOTSTRAP", "is 'serde', not 1");
  result_clear (&res);
  /* a nightly toolchain needs none */
  cargo_case (&f, "unstable.target-applies-to-host = true # " CFG "\n",
              build_on_host, 0, NULL, NIGHTLY);
  evaluate (&f, &res);
  fl = cargo_fails (&res);
  assert_string_equal (fl,
                       "cargo, cargo host-config, cargo host.runner, verdict");
  free (fl);
  result_clear (&res);

  /* trap 2: target-applies-to-host as a top-level key */
  cargo_case (&f,
              "host.runner = \"oci-host-runner\" # " CFG "\n"
              "target-applies-to-host = true # " CFG "\n"
              "unstable.host-config = true # " CFG "\n",
              build_refused, 101, "1", STABLE);
  evaluate (&f, &res);
  fl = cargo_fails (&res);
  assert_string_equal (fl, "cargo, cargo target-applies-to-host, verdict");
  free (fl);
  find_detail (&res, "cargo", "failed before its build script ran");
  c = find_detail (&res, "cargo target-applies-to-host",
                   "is a top-level key (" CFG ")");
  assert_non_null (strstr (c->fix, "under [unstable]"));
  result_clear (&res);
  /* ... beside the right one: Cargo applies [target] to build scripts */
  cargo_case (&f, GOOD_CONFIG "target-applies-to-host = true # " CFG "\n",
              build_on_host, 0, "1", STABLE);
  evaluate (&f, &res);
  fl = cargo_fails (&res);
  assert_string_equal (fl, "cargo, cargo target-applies-to-host, verdict");
  free (fl);
  find_detail (&res, "cargo target-applies-to-host",
               "makes Cargo apply [target] settings to build scripts");
  result_clear (&res);

  /* host-config in the wrong table */
  cargo_case (&f,
              "host-config = true # " CFG "\n"
              "host.runner = \"oci-host-runner\" # " CFG "\n"
              "unstable.target-applies-to-host = true # " CFG "\n",
              build_on_host, 0, "1", STABLE);
  evaluate (&f, &res);
  fl = cargo_fails (&res);
  assert_string_equal (fl, "cargo, cargo config, cargo host-config, verdict");
  free (fl);
  c = find_detail (&res, "cargo config",
                   "host-config = true is at the top level (" CFG ")");
  assert_string_equal (c->fix, "move it under [unstable]");
  result_clear (&res);
  /* a runner under [unstable] */
  cargo_case (&f,
              "unstable.host-config = true # " CFG "\n"
              "unstable.runner = \"oci-host-runner\" # " CFG "\n"
              "unstable.target-applies-to-host = true # " CFG "\n",
              build_on_host, 0, "1", STABLE);
  evaluate (&f, &res);
  fl = cargo_fails (&res);
  assert_string_equal (fl, "cargo, cargo config, cargo host.runner, verdict");
  free (fl);
  c = find_detail (&res, "cargo config",
                   "runner = \"oci-host-runner\" is in [unstable]");
  assert_string_equal (c->fix, "move it under [host]");
  result_clear (&res);

  /* [host.TRIPLE] wins over [host] */
  cargo_case (&f,
              GOOD_CONFIG
              "host.x86_64-unknown-linux-gnu.linker = \"cc\" # " CFG "\n",
              build_on_host, 0, "1", STABLE);
  evaluate (&f, &res);
  find_detail (&res, "cargo host.runner",
               "[host.x86_64-unknown-linux-gnu] (" CFG
               ") takes precedence over [host]");
  result_clear (&res);
  /* ... unless it has the runner */
  cargo_case (&f,
              "unstable.host-config = true # " CFG "\n"
              "unstable.target-applies-to-host = true # " CFG "\n"
              "host.x86_64-unknown-linux-gnu.runner = \"ohr\" # " CFG "\n",
              build_in_container, 0, "1", STABLE);
  evaluate (&f, &res);
  assert_true (res.r.can_run);
  result_clear (&res);

  /* the runner is called and fails: the configuration is right */
  cargo_case (&f, GOOD_CONFIG, build_runner_failed, 101, "1", STABLE);
  evaluate (&f, &res);
  fl = cargo_fails (&res);
  assert_string_equal (fl, "cargo, verdict");
  free (fl);
  find_detail (&res, "cargo",
               "calls host.runner (/bin/oci-host-runner -v), "
               "which failed: oci-host-runner: build script");
  result_clear (&res);
  /* another program as host.runner */
  cargo_case (&f, GOOD_CONFIG,
              "     Running `/usr/bin/env " SCRIPT "`\n"
              "warning: ohr-doctor-probe@0.0.0: ohr-doctor-probe: host "
              "x86_64-unknown-linux-gnu\n",
              0, "1", STABLE);
  evaluate (&f, &res);
  find_detail (&res, "cargo", "did not run in a container of oci-host-runner");
  result_clear (&res);

  /* the runner called, the report not seen */
  cargo_case (&f, GOOD_CONFIG,
              "     Running `/bin/oci-host-runner " SCRIPT "`\n", 0, "1",
              STABLE);
  evaluate (&f, &res);
  c = find_detail (&res, "cargo", "report did not show");
  assert_int_equal (c->status, DOCTOR_FAIL);
  result_clear (&res);

  /* no cargo, or no cause found */
  cargo_case (&f, "", "", -1, "1", STABLE);
  free (f.cargo.path);
  f.cargo.path = NULL;
  evaluate (&f, &res);
  find_detail (&res, "cargo", "cargo not found");
  result_clear (&res);
  cargo_case (&f, GOOD_CONFIG, build_on_host, 0, "1", STABLE);
  evaluate (&f, &res);
  c = find_detail (&res, "cargo", "runs build scripts itself");
  assert_non_null (strstr (c->fix, "examples/cargo-config.toml"));
  result_clear (&res);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_find_masks_pod),
    cmocka_unit_test (test_find_masks_none),
    cmocka_unit_test (test_find_masks_escapes),
    cmocka_unit_test (test_status_parsers),
    cmocka_unit_test (test_eval_healthy),
    cmocka_unit_test (test_eval_strict_pod),
    cmocka_unit_test (test_eval_masked_pod),
    cmocka_unit_test (test_eval_degraded),
    cmocka_unit_test (test_eval_old_runtime),
    cmocka_unit_test (test_eval_seccomp_mount),
    cmocka_unit_test (test_eval_sysctls),
    cmocka_unit_test (test_eval_root_cgroups),
    cmocka_unit_test (test_eval_runtimes),
    cmocka_unit_test (test_eval_store),
    cmocka_unit_test (test_format_and_json),
    cmocka_unit_test (test_probe_here),
    cmocka_unit_test (test_cargo_parsers),
    cmocka_unit_test (test_cargo_build_output),
    cmocka_unit_test (test_eval_cargo),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
