/* cgprime.h: take the cost of the runtime's first cgroup v1 migration off
 * the critical path of a run.
 *
 * On cgroup v1 (and hybrid hosts) moving a process into a cgroup takes
 * the kernel's global cgroup_threadgroup_rwsem for writing, and the first
 * writer after a quiet spell waits for an RCU grace period (rcu_sync):
 * 1 to 15 ms on a 2-vCPU VM, the runtime's largest single cost (bench/).
 * Writers that come while that grace period runs, or within one grace
 * period after it, wait less or not at all.  So the runner, as soon as it
 * knows the runtime will join cgroups, writes its own pid into the
 * cgroup.procs of the cgroup it already is in (a migration to where it
 * is: nothing changes), from a thread, while it goes on preparing the
 * run: the grace period then overlaps the runner's own work and the
 * runtime's start instead of following them.  The runtime still makes
 * and joins its cgroups, with every limit, as before.
 *
 * May call src/util/ only.
 */
#ifndef OHR_CGPRIME_H
#define OHR_CGPRIME_H

#include <pthread.h>
#include <stdbool.h>

struct cgprime
{
  pthread_t thread;
  bool started;
  char *procs; /* the cgroup.procs written to */
};

/* The cgroup.procs file of this process's cgroup in the v1 hierarchy of
 * CONTROLLER, from /proc/self/cgroup's text ("4:memory:/a/b" ->
 * ROOT/memory/a/b/cgroup.procs); NULL when there is no such line.
 * Pure, for the unit tests. */
char *cgprime_procs_path (const char *proc_self_cgroup, const char *root,
                          const char *controller);

/* Start the thread (all signals blocked in it); on any failure nothing is
 * started and the run goes on as without. */
void cgprime_start (struct cgprime *p, const char *proc_self_cgroup);

/* Wait for the thread, if one was started. */
void cgprime_finish (struct cgprime *p);

#endif
