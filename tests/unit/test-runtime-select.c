/* test-runtime-select.c: runtime_choose, the one decision of which
 * runtime run mode uses and doctor reports: auto with both, one or none
 * of crun and runc present, names and paths, cgroup v2, v1 and hybrid
 * hosts, root and rootless, with and without user namespaces.  Pure:
 * the facts are made up here.  Then runtime_find_in_path, the lookup
 * that feeds it, on a PATH the test makes. */
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runtime/runtime.h"
#include "util/error.h"

#define CRUN "/usr/bin/crun"
#define RUNC "/usr/sbin/runc"
#define NO_USERNS                                                             \
  "user namespaces are disabled (sysctl user.max_user_namespaces=0)"

/* Root on a cgroup v2 host with both runtimes installed. */
static struct runtime_facts
host (const char *want)
{
  return (struct runtime_facts){ .want = want,
                                 .crun_path = CRUN,
                                 .runc_path = RUNC,
                                 .cgroups = CGROUP_MODE_UNIFIED };
}

static void
expect (const struct runtime_facts *in, const struct runtime_backend *b,
        const char *path, enum runtime_prep prep, const char *reason)
{
  struct runtime_choice c;
  ohr_error_t err = NULL;
  if (runtime_choose (in, &c, &err) < 0)
    fail_msg ("--runtime %s: %s", in->want, err->msg);
  assert_ptr_equal (c.backend, b);
  assert_string_equal (c.path, path);
  assert_int_equal (c.prep, prep);
  assert_string_equal (c.reason, reason);
  runtime_choice_clear (&c);
  assert_null (c.reason);
}

/* Fails with status and kind; the message contains each of the NULL-ended
 * fragments; *out stays as it was. */
static void
expect_fail (const struct runtime_facts *in, int status,
             enum ohr_error_kind kind, ...)
{
  struct runtime_choice c = { .reason = (char *)"untouched" };
  ohr_error_t err = NULL;
  assert_true (runtime_choose (in, &c, &err) < 0);
  assert_non_null (err);
  assert_int_equal (err->status, status);
  assert_int_equal (err->kind, kind);
  assert_string_equal (c.reason, "untouched");
  assert_null (strchr (err->msg, '\n'));
  va_list ap;
  va_start (ap, kind);
  for (const char *s; (s = va_arg (ap, const char *));)
    if (strstr (err->msg, s) == NULL)
      fail_msg ("'%s' not in '%s'", s, err->msg);
  va_end (ap);
  ohr_error_free (&err);
}

static void
test_auto (void **state)
{
  (void)state;
  struct runtime_facts in = host ("auto");
  /* both: crun, the faster to start */
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_NONE,
          "auto: crun at " CRUN);
  /* one */
  in.crun_path = NULL;
  expect (&in, &runtime_backend_runc, RUNC, RUNTIME_PREP_NONE,
          "auto: runc at " RUNC);
  in = host ("auto");
  in.runc_path = NULL;
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_NONE,
          "auto: crun at " CRUN);
  /* none */
  in.crun_path = NULL;
  expect_fail (&in, ENOENT, OHR_ERR_RUNTIME,
               "no usable OCI runtime (crun: not found in PATH; runc: not "
               "found in PATH)",
               "apt-get install crun runc", NULL);
}

static void
test_named (void **state)
{
  (void)state;
  struct runtime_facts in = host ("runc");
  expect (&in, &runtime_backend_runc, RUNC, RUNTIME_PREP_NONE,
          "runc at " RUNC);
  in.want = "crun";
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_NONE,
          "crun at " CRUN);
  /* named and absent: no falling back to the other */
  in.crun_path = NULL;
  expect_fail (&in, ENOENT, OHR_ERR_RUNTIME,
               "runtime 'crun': not found in "
               "PATH",
               NULL);
  in = host ("runc");
  in.runc_path = NULL;
  expect_fail (&in, ENOENT, OHR_ERR_RUNTIME, "runtime 'runc'", NULL);
  /* not a runtime we know, and not a path */
  in = host ("docker");
  expect_fail (&in, EINVAL, OHR_ERR_USAGE, "unknown runtime 'docker'",
               "use auto, crun, runc or the path", NULL);
  in.want = "";
  expect_fail (&in, EINVAL, OHR_ERR_USAGE, "unknown runtime ''", NULL);
  in.want = "Auto";
  expect_fail (&in, EINVAL, OHR_ERR_USAGE, NULL);
  assert_null (runtime_backend_named ("auto"));
  assert_null (runtime_backend_named ("crun-1.8"));
}

static void
test_paths (void **state)
{
  (void)state;
  /* a path: crun's command line when its file name says crun */
  struct runtime_facts in = host ("/opt/crun-1.14/bin/crun");
  in.want_executable = true;
  expect (&in, &runtime_backend_crun, "/opt/crun-1.14/bin/crun",
          RUNTIME_PREP_NONE, "crun at /opt/crun-1.14/bin/crun");
  /* ... and only the file name counts */
  in.want = "/opt/crun/bin/runc";
  expect (&in, &runtime_backend_runc, "/opt/crun/bin/runc", RUNTIME_PREP_NONE,
          "runc at /opt/crun/bin/runc");
  /* any other runc-compatible binary */
  in.want = "/usr/local/bin/youki";
  expect (&in, &runtime_backend_runc, "/usr/local/bin/youki",
          RUNTIME_PREP_NONE, "runc at /usr/local/bin/youki");
  in.want = "./crun";
  expect (&in, &runtime_backend_crun, "./crun", RUNTIME_PREP_NONE,
          "crun at ./crun");
  /* the path given, never the one in PATH */
  in.want = CRUN;
  in.crun_path = "/usr/local/bin/crun";
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_NONE,
          "crun at " CRUN);
  /* not executable (or not there) */
  in.want_executable = false;
  expect_fail (&in, ENOENT, OHR_ERR_RUNTIME,
               "runtime '" CRUN "': no executable at that path", NULL);
  /* a path with crun on a hybrid host gets crun's workaround */
  in = host ("/opt/bin/crun");
  in.want_executable = true;
  in.cgroups = CGROUP_MODE_HYBRID;
  expect (&in, &runtime_backend_crun, "/opt/bin/crun",
          RUNTIME_PREP_HIDE_UNIFIED,
          "crun at /opt/bin/crun (hybrid cgroups: started in a private "
          "mount namespace without the v2 tree)");
}

static void
test_cgroups (void **state)
{
  (void)state;
  /* v2, v1 and no cgroups: nothing to work around */
  const enum cgroup_mode plain[]
      = { CGROUP_MODE_UNIFIED, CGROUP_MODE_LEGACY, CGROUP_MODE_NONE };
  for (size_t i = 0; i < 3; i++)
    for (int rootless = 0; rootless < 2; rootless++)
      {
        struct runtime_facts in = host ("auto");
        in.cgroups = plain[i];
        in.rootless = rootless;
        expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_NONE,
                "auto: crun at " CRUN);
      }
  /* hybrid: crun as root hides the v2 tree ... */
  struct runtime_facts in = host ("auto");
  in.cgroups = CGROUP_MODE_HYBRID;
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_HIDE_UNIFIED,
          "auto: crun at " CRUN " (hybrid cgroups: started in a private "
          "mount namespace without the v2 tree)");
  /* ... rootless, it runs in the runner's own user namespace */
  in.rootless = true;
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_OWN_USERNS,
          "auto: crun at " CRUN " (hybrid cgroups, rootless: started in "
          "the runner's own user namespace, no cgroups)");
  in.want = "crun";
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_OWN_USERNS,
          "crun at " CRUN " (hybrid cgroups, rootless: started in the "
          "runner's own user namespace, no cgroups)");
  /* runc copes with hybrid hosts as they are */
  in.want = "runc";
  expect (&in, &runtime_backend_runc, RUNC, RUNTIME_PREP_NONE,
          "runc at " RUNC);
  in.rootless = false;
  expect (&in, &runtime_backend_runc, RUNC, RUNTIME_PREP_NONE,
          "runc at " RUNC);
}

static void
test_rootless_userns (void **state)
{
  (void)state;
  /* rootless with user namespaces: as root */
  struct runtime_facts in = host ("auto");
  in.rootless = true;
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_NONE,
          "auto: crun at " CRUN);
  /* without them, neither runtime can run rootless */
  in.userns_unavailable = NO_USERNS;
  expect_fail (&in, ENOTSUP, OHR_ERR_RUNTIME,
               "no usable OCI runtime (crun: " NO_USERNS "; runc: " NO_USERNS
               ")",
               NULL);
  in.runc_path = NULL;
  expect_fail (&in, ENOTSUP, OHR_ERR_RUNTIME,
               "(crun: " NO_USERNS "; runc: not found in PATH)", NULL);
  in = host ("runc");
  in.rootless = true;
  in.userns_unavailable = NO_USERNS;
  expect_fail (&in, ENOTSUP, OHR_ERR_RUNTIME,
               "runtime 'runc' cannot run on this host: " NO_USERNS, NULL);
  in.want = "/opt/bin/crun";
  in.want_executable = true;
  expect_fail (&in, ENOTSUP, OHR_ERR_RUNTIME,
               "runtime '/opt/bin/crun' cannot run on this host", NULL);
  /* root needs no user namespace of its own */
  in = host ("auto");
  in.userns_unavailable = NO_USERNS;
  expect (&in, &runtime_backend_crun, CRUN, RUNTIME_PREP_NONE,
          "auto: crun at " CRUN);
}

static void
make_exe (const char *path, mode_t mode)
{
  int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  assert_true (fd >= 0);
  close (fd);
  assert_int_equal (chmod (path, mode), 0);
}

static void
test_find_in_path (void **state)
{
  (void)state;
  char dir[] = "/tmp/test-runtime-select-XXXXXX";
  assert_non_null (mkdtemp (dir));
  char a[128], b[128], exe[160], plain[160], path[300];
  snprintf (a, sizeof a, "%s/a", dir);
  snprintf (b, sizeof b, "%s/b", dir);
  assert_int_equal (mkdir (a, 0755), 0);
  assert_int_equal (mkdir (b, 0755), 0);
  snprintf (exe, sizeof exe, "%s/crun", b);
  snprintf (plain, sizeof plain, "%s/crun", a);
  make_exe (exe, 0755);
  make_exe (plain, 0644); /* not executable: skipped */
  const char *old = getenv ("PATH");
  char *saved = old ? strdup (old) : NULL;
  snprintf (path, sizeof path, "%s::%s", a, b);
  setenv ("PATH", path, 1);
  /* a/crun has no x bit (access(X_OK) refuses it even to root): b/crun */
  char *found = runtime_find_in_path ("crun");
  assert_non_null (found);
  assert_string_equal (found, exe);
  free (found);
  assert_null (runtime_find_in_path ("runc"));
  /* a path is taken as it is */
  found = runtime_find_in_path (exe);
  assert_string_equal (found, exe);
  free (found);
  assert_null (runtime_find_in_path (plain));
  if (saved)
    setenv ("PATH", saved, 1);
  else
    unsetenv ("PATH");
  free (saved);
  unlink (exe);
  unlink (plain);
  rmdir (a);
  rmdir (b);
  rmdir (dir);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_auto),
    cmocka_unit_test (test_named),
    cmocka_unit_test (test_paths),
    cmocka_unit_test (test_cgroups),
    cmocka_unit_test (test_rootless_userns),
    cmocka_unit_test (test_find_in_path),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
