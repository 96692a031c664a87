/* seccomp.h: the seccomp profile every build script gets (the OCI
 * "linux.seccomp" object, which crun and runc compile with libseccomp).
 *
 * Modelled on containers-common's default profile for a container without
 * capabilities, and stricter where a build script has no use for a call:
 * the kernel keyrings, io_uring, userfaultfd, perf_event_open, bpf,
 * kexec, modules, open_by_handle_at, ptrace and process_vm_*, the mount
 * calls, setns, and namespace creation through unshare and clone flags
 * (clone3 answers ENOSYS, so that libc falls back to clone, whose flags a
 * filter can see); personality only with the values containers-common
 * allows.  Every denial is an errno, never a kill: ENOSYS where a missing
 * kernel feature makes callers fall back, EPERM elsewhere, so a script that
 * tries fails as it would on a locked-down host.
 *
 * The profile is a denylist (defaultAction SCMP_ACT_ALLOW): the runtimes
 * compile it in a fraction of the time an allowlist of ~400 calls takes
 * (docs/performance.md), and a new syscall the compilers' libc starts
 * using does not break builds.  The policy can relax it per package
 * (policy.h: "seccomp", "syscalls"), never the crate.
 */
#ifndef OHR_SECCOMP_H
#define OHR_SECCOMP_H

#include <stdbool.h>
#include <yajl/yajl_gen.h>

#include "policy/policy.h"
#include "util/error.h"

/* Does the profile deny or restrict the call `name`?  The names a policy's
 * "syscalls" may list: every call below, "unshare" and "clone" (namespace
 * flags) and "personality" (values beyond the usual). */
bool seccomp_restricts (const char *name);

/* "seccomp": {...} for the "linux" object, leaving out the restrictions on
 * the calls in allowed (NULL-terminated; NULL: none). */
yajl_gen_status seccomp_gen (yajl_gen g, char *const *allowed);

/* The object alone, {...}, the value of "seccomp". */
yajl_gen_status seccomp_gen_object (yajl_gen g, char *const *allowed);

/* Check every "syscalls" list of a loaded policy (defaults and rules):
 * each name must be one seccomp_restricts knows, else EINVAL naming the
 * file, the JSON path and the names it knows. */
int seccomp_check_policy (const struct policy *p, ohr_error_t *err);

#endif
