/* spec.h: OCI runtime spec (config.json) generation with yajl.
 *
 * Owns the security baseline every build script gets: read-only root, no
 * capabilities, noNewPrivileges, pid/ipc/uts/mount namespaces (plus network
 * when isolated, user whenever the runtime does not make it: rootless and
 * root alike), runc's masked and read-only /proc and /sys paths, the
 * seccomp profile (seccomp.h).  What varies per run comes in through
 * struct spec_input.
 */
#ifndef OHR_SPEC_H
#define OHR_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "run/limits.h"
#include "run/mounts.h"
#include "util/error.h"

struct spec_hooks; /* hooks.h */

struct spec_input
{
  const char *rootfs;
  char *const *args;
  char *const *env;
  const char *cwd;
  const char *hostname; /* NULL: SPEC_HOSTNAME_FIXED; see spec_hostname */
  uid_t uid;            /* process user inside the container */
  gid_t gid;
  bool new_netns;  /* network none: own namespace with only lo */
  bool new_userns; /* user namespace mapping 0.. -> host_uid.. */
  uid_t host_uid;
  gid_t host_gid;
  unsigned id_count; /* ids mapped (0: 1; rootless: the user alone) */
  const struct mount_table *mounts;
  char *const *extra_masked; /* maskedPaths beyond the defaults; may be NULL */
  /* cgroup limits (0: none); only set where cgroups can be written */
  unsigned long long memory_limit; /* bytes */
  unsigned long long pids_limit;
  /* "linux.cgroupsPath" (NULL: none, the runtime's default) */
  const char *cgroups_path;
  /* "process.rlimits" (none when n_rlimits is 0) */
  const struct limits_rlimit *rlimits;
  size_t n_rlimits;
  /* "hooks": what hooks_select chose (NULL or empty: no "hooks") */
  const struct spec_hooks *hooks;
  /* "annotations": "KEY=VALUE" strings, a later KEY winning (NULL or
   * empty: no "annotations"); hooks read them from the state on stdin */
  char *const *annotations;
  /* "linux.seccomp": none when unconfined (the policy said so), else the
   * profile without the restrictions on the calls named in
   * syscalls_allowed (NULL: all of them apply) */
  bool seccomp_unconfined;
  char *const *syscalls_allowed;
  /* when set, the "linux.seccomp" object's text as seccomp_profile_json
   * made it (for syscalls_allowed), put in as it is */
  const char *seccomp_json;
};

/* The host name (uname -n) of a container that must not show the host's. */
#define SPEC_HOSTNAME_FIXED "build"

/* The container's host name.  With identity paths the promise is "the same
 * as a native build", and natively a script (autoconf's config.log, a
 * build-info crate) sees the machine's name: host_name, when it is one
 * the kernel takes (1 to 64 bytes).  With canonical paths the promise is
 * the same bytes on every machine and checkout: SPEC_HOSTNAME_FIXED. */
const char *spec_hostname (bool identity, const char *host_name);

/* Generate config.json; *out is NUL-terminated and owned by the caller. */
int spec_generate (const struct spec_input *in, char **out, size_t *out_len,
                   ohr_error_t *err);

#endif
