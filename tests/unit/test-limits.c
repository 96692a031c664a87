/* test-limits.c: which limits a build script gets, and through what
 * (limits_decide), on the facts of every kind of host: root with cgroups,
 * rootless without, a user namespace of its own or not, a runner whose
 * own RLIMIT_NOFILE is lower or higher than the policy's. */
#define _GNU_SOURCE
/* cmocka.h needs these first, in this order */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
/* clang-format on */

#include <string.h>
#include <sys/resource.h>

#include "run/limits.h"

static const struct limits_rlimit *
find (const struct limits *l, const char *type)
{
  for (size_t i = 0; i < l->n_rlimits; i++)
    if (strcmp (l->rlimits[i].type, type) == 0)
      return &l->rlimits[i];
  return NULL;
}

static struct limits_facts
facts (void)
{
  return (struct limits_facts){
    .memory = 4ULL << 30,
    .pids = 4096,
    .nofile = 65536,
    .cgroups_name = "v1",
    .nofile_soft = 1024,
    .nofile_hard = 524288,
  };
}

static void
test_root_with_cgroups (void **state)
{
  (void)state;
  struct limits_facts f = facts ();
  f.cgroups = true;
  struct limits l;
  limits_decide (&f, &l);
  assert_int_equal (l.cgroup_memory, 4ULL << 30);
  assert_int_equal (l.cgroup_pids, 4096);
  const struct limits_rlimit *core = find (&l, "RLIMIT_CORE");
  assert_non_null (core);
  assert_int_equal (core->soft, 0);
  assert_int_equal (core->hard, 0);
  /* the host's uid 0 is exempt from RLIMIT_NPROC, and the memory cgroup
   * bounds the total: neither rlimit */
  assert_null (find (&l, "RLIMIT_NPROC"));
  assert_null (find (&l, "RLIMIT_DATA"));
  assert_string_equal (l.notice, "");
}

/* root, crun, cgroup v1, the container's root mapped: RLIMIT_NPROC bounds
 * the pids, so only memory needs a cgroup, and the runner makes that one
 * itself (runtime/memcg.h): nothing in the spec's resources */
static void
test_root_runner_memcg (void **state)
{
  (void)state;
  struct limits_facts f = facts ();
  f.cgroups = true;
  f.own_userns = true;
  f.runner_memcg = true;
  struct limits l;
  limits_decide (&f, &l);
  assert_true (l.runner_cgroup);
  assert_int_equal (l.runner_memory, 4ULL << 30);
  assert_int_equal (l.cgroup_memory, 0);
  assert_int_equal (l.cgroup_pids, 0);
  const struct limits_rlimit *n = find (&l, "RLIMIT_NPROC");
  assert_non_null (n);
  assert_int_equal (n->soft, 4096);
  assert_null (find (&l, "RLIMIT_DATA"));
  assert_string_equal (l.notice, "");
  /* no memory limit: no cgroup at all */
  f.memory = 0;
  limits_decide (&f, &l);
  assert_true (l.runner_cgroup);
  assert_int_equal (l.runner_memory, 0);
  /* without the mapping RLIMIT_NPROC cannot bound uid 0: the runtime's
   * pids cgroup stays */
  f = facts ();
  f.cgroups = true;
  f.runner_memcg = true;
  limits_decide (&f, &l);
  assert_false (l.runner_cgroup);
  assert_int_equal (l.cgroup_pids, 4096);
  assert_int_equal (l.cgroup_memory, 4ULL << 30);
  /* ... unless no pids limit is asked for */
  f.pids = 0;
  limits_decide (&f, &l);
  assert_true (l.runner_cgroup);
  assert_int_equal (l.runner_memory, 4ULL << 30);
  /* where the runner cannot, the runtime's cgroups as before */
  f = facts ();
  f.cgroups = true;
  f.own_userns = true;
  limits_decide (&f, &l);
  assert_false (l.runner_cgroup);
  assert_int_equal (l.cgroup_memory, 4ULL << 30);
}

static void
test_nofile_never_above_native (void **state)
{
  (void)state;
  struct limits_facts f = facts ();
  f.cgroups = true;
  struct limits l;
  limits_decide (&f, &l);
  const struct limits_rlimit *n = find (&l, "RLIMIT_NOFILE");
  assert_non_null (n);
  assert_int_equal (n->soft, 1024);  /* Cargo's, as natively */
  assert_int_equal (n->hard, 65536); /* capped */
  /* a runner with less keeps less: a lower hard limit cannot be raised */
  f.nofile_soft = 256;
  f.nofile_hard = 4096;
  limits_decide (&f, &l);
  n = find (&l, "RLIMIT_NOFILE");
  assert_int_equal (n->soft, 256);
  assert_int_equal (n->hard, 4096);
  /* a soft limit above the policy's comes down to it */
  f.nofile_soft = f.nofile_hard = UINT64_MAX;
  f.nofile = 2048;
  limits_decide (&f, &l);
  n = find (&l, "RLIMIT_NOFILE");
  assert_int_equal (n->soft, 2048);
  assert_int_equal (n->hard, 2048);
}

static void
test_rootless_without_cgroups (void **state)
{
  (void)state;
  struct limits_facts f = facts ();
  f.rootless = true;
  f.own_userns = true;
  struct limits l;
  limits_decide (&f, &l);
  assert_int_equal (l.cgroup_memory, 0);
  assert_int_equal (l.cgroup_pids, 0);
  const struct limits_rlimit *nproc = find (&l, "RLIMIT_NPROC");
  assert_non_null (nproc);
  assert_int_equal (nproc->soft, 4096);
  assert_int_equal (nproc->hard, 4096);
  const struct limits_rlimit *data = find (&l, "RLIMIT_DATA");
  assert_non_null (data);
  assert_int_equal (data->soft, 4ULL << 30);
  assert_non_null (strstr (l.notice, "rootless, cgroups v1"));
  assert_non_null (strstr (l.notice, "limited to 4096 by RLIMIT_NPROC"));
  assert_non_null (strstr (l.notice, "RLIMIT_DATA 4G each"));
  assert_non_null (strstr (l.notice, "the timeout still applies"));
}

static void
test_rootless_with_cgroups (void **state)
{
  (void)state;
  /* a delegated v2 subtree: the cgroups bound the total, RLIMIT_NPROC
   * stays as a second bound that costs nothing */
  struct limits_facts f = facts ();
  f.rootless = true;
  f.own_userns = true;
  f.cgroups = true;
  struct limits l;
  limits_decide (&f, &l);
  assert_int_equal (l.cgroup_memory, 4ULL << 30);
  assert_non_null (find (&l, "RLIMIT_NPROC"));
  assert_null (find (&l, "RLIMIT_DATA"));
  assert_string_equal (l.notice, "");
}

static void
test_root_without_cgroups (void **state)
{
  (void)state;
  struct limits_facts f = facts ();
  f.cgroups_name = "none";
  f.memory = 512ULL << 20;
  struct limits l;
  limits_decide (&f, &l);
  assert_null (find (&l, "RLIMIT_NPROC"));
  assert_non_null (strstr (l.notice, "root, cgroups none"));
  assert_non_null (strstr (l.notice, "processes are not limited"));
  assert_non_null (strstr (l.notice, "RLIMIT_DATA 512M each"));
  /* a root mapped to an unprivileged id range: RLIMIT_NPROC counts */
  f.own_userns = true;
  limits_decide (&f, &l);
  assert_non_null (find (&l, "RLIMIT_NPROC"));
}

static void
test_probe (void **state)
{
  (void)state;
  struct limits_facts f = { 0 };
  limits_probe_nofile (&f);
  struct rlimit r;
  assert_int_equal (getrlimit (RLIMIT_NOFILE, &r), 0);
  assert_true (
      f.nofile_soft == r.rlim_cur
      || (r.rlim_cur == RLIM_INFINITY && f.nofile_soft == UINT64_MAX));
  assert_true (f.nofile_hard >= f.nofile_soft);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_root_with_cgroups),
    cmocka_unit_test (test_root_runner_memcg),
    cmocka_unit_test (test_nofile_never_above_native),
    cmocka_unit_test (test_rootless_without_cgroups),
    cmocka_unit_test (test_rootless_with_cgroups),
    cmocka_unit_test (test_root_without_cgroups),
    cmocka_unit_test (test_probe),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
