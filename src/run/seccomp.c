/* seccomp.c: see seccomp.h.
 *
 * Why each call is denied, and with which errno.  Where containers-common
 * denies a call to a container without the capability the call needs, so
 * do we (a build script has no capability); where it leaves a call out of
 * its allowlist (ENOSYS there), we answer ENOSYS too.  The keyrings, the
 * mount calls, setns and namespace creation are allowed by
 * containers-common (podman relies on user namespaces for them); a build
 * script has no use for them, and a nested user namespace would give it
 * CAP_SYS_ADMIN over new namespaces: the way to most recent kernel
 * privilege escalations (nf_tables, overlayfs, fsconfig).
 */
#define _GNU_SOURCE
#include "run/seccomp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/jsongen.h"
#include "util/strv.h"

/* Whole subsystems a kernel may be built without: callers treat ENOSYS as
 * "not here" and fall back (liburing users to epoll, keyutils users to
 * files).  clone3 too: glibc then uses clone, whose flags the filter can
 * read (clone3's are in memory, out of a filter's reach). */
static const char *const deny_enosys[] = {
  "add_key",        "request_key",       "keyctl", "io_uring_setup",
  "io_uring_enter", "io_uring_register", "clone3", NULL,
};

/* EPERM, what the kernel answers a caller without the capability. */
static const char *const deny_eperm[] = {
  /* the kernel and the machine (CAP_SYS_BOOT, CAP_SYS_MODULE,
   * CAP_SYS_ADMIN, CAP_SYS_TIME, CAP_SYS_RAWIO, CAP_SYS_PACCT,
   * CAP_SYS_TTY_CONFIG) */
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "create_module",
  "query_module",
  "get_kernel_syms",
  "reboot",
  "swapon",
  "swapoff",
  "acct",
  "quotactl",
  "quotactl_fd",
  "nfsservctl",
  "bdflush",
  "lookup_dcookie",
  "sethostname",
  "setdomainname",
  "settimeofday",
  "stime",
  "clock_settime",
  "clock_settime64",
  "iopl",
  "ioperm",
  "vhangup",
  "pciconfig_iobase",
  "pciconfig_read",
  "pciconfig_write",
  /* kernel attack surface a build has no use for (unprivileged BPF,
   * perf counters, userfaultfd's stalls that widen kernel races) */
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "fanotify_init",
  /* file handles: "shocker" reads any file of the filesystem by handle */
  "open_by_handle_at",
  /* other processes (CAP_SYS_PTRACE); the PID namespace hides the
   * host's anyway */
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "process_madvise",
  "kcmp",
  /* NUMA placement (CAP_SYS_NICE in containers-common) */
  "mbind",
  "get_mempolicy",
  "set_mempolicy",
  "migrate_pages",
  "move_pages",
  /* mounts, the root and other namespaces (CAP_SYS_ADMIN, CAP_SYS_CHROOT) */
  "mount",
  "umount",
  "umount2",
  "pivot_root",
  "chroot",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "move_mount",
  "open_tree",
  "mount_setattr",
  "setns",
  /* obsolete calls containers-common refuses (vmsplice: page-cache bugs) */
  "uselib",
  "ustat",
  "sysfs",
  "vm86",
  "vm86old",
  "oldfstat",
  "oldlstat",
  "oldstat",
  "oldolduname",
  "olduname",
  "sgetmask",
  "ssetmask",
  "nice",
  "io_pgetevents",
  "vmsplice",
  NULL,
};

/* The namespace flags of clone(2) and unshare(2); CLONE_NEWTIME shares its
 * bit with the exit signal in clone's flags, so only unshare checks it. */
static const unsigned long ns_flags[] = {
  0x00020000, /* CLONE_NEWNS */
  0x02000000, /* CLONE_NEWCGROUP */
  0x04000000, /* CLONE_NEWUTS */
  0x08000000, /* CLONE_NEWIPC */
  0x10000000, /* CLONE_NEWUSER */
  0x20000000, /* CLONE_NEWPID */
  0x40000000, /* CLONE_NEWNET */
  0x00000080, /* CLONE_NEWTIME, unshare only */
};
#define N_CLONE_FLAGS 7
#define N_UNSHARE_FLAGS 8

/* personality(2): PER_LINUX (0), PER_LINUX32 (0x8), UNAME26 (0x20000),
 * both (0x20008), and the query 0xffffffff, as containers-common allows;
 * anything else (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC...) is EPERM.
 *
 * With defaultAction ALLOW an allowlist of values cannot be written (runc
 * drops rules whose action is the default one), and libseccomp takes one
 * comparison per argument in a rule, rules being or-ed.  So the denied
 * values are covered by masked comparisons.  Of the 32 bits the kernel
 * reads (it takes an unsigned int), 30 are "free" (not 0x8 or 0x20000).
 * A value with every free bit clear is allowed.  Any other value but the
 * all-free-bits-set ones has a free bit set followed, cyclically, by a
 * free bit clear: one rule per pair of cyclically adjacent free bits
 * catches it.  Two more rules refuse the three values with every free bit
 * set but not both of the others, leaving 0xffffffff. */
#define PERSONALITY_KEEP 0x00020008UL
#define LOW32 0xffffffffUL

static bool
in_list (char *const *list, const char *name)
{
  return list && strv_contains (list, name);
}

static bool
in_table (const char *const *t, const char *name)
{
  for (size_t i = 0; t[i]; i++)
    if (strcmp (t[i], name) == 0)
      return true;
  return false;
}

bool
seccomp_restricts (const char *name)
{
  return in_table (deny_enosys, name) || in_table (deny_eperm, name)
         || strcmp (name, "clone") == 0 || strcmp (name, "unshare") == 0
         || strcmp (name, "personality") == 0;
}

/* One rule: {"names": [names of t not in allowed], "action":
 * "SCMP_ACT_ERRNO", "errnoRet": errno_ret}; nothing when all are allowed. */
static yajl_gen_status
gen_names_rule (yajl_gen g, const char *const *t, int errno_ret,
                char *const *allowed)
{
  yajl_gen_status st = yajl_gen_status_ok;
  size_t kept = 0;
  for (size_t i = 0; t[i]; i++)
    kept += !in_list (allowed, t[i]);
  if (kept == 0)
    return st;
  G (yajl_gen_map_open (g));
  G (gen_str (g, "names"));
  G (yajl_gen_array_open (g));
  for (size_t i = 0; t[i]; i++)
    if (!in_list (allowed, t[i]))
      G (gen_str (g, t[i]));
  G (yajl_gen_array_close (g));
  G (gen_kv (g, "action", "SCMP_ACT_ERRNO"));
  G (gen_kint (g, "errnoRet", errno_ret));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

/* {"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": EPERM,
 *  "args": [{"index": 0, "value": mask, "valueTwo": want,
 *            "op": "SCMP_CMP_MASKED_EQ"}]}: EPERM when (arg0 & mask) ==
 * want (OCI's "value" is libseccomp's mask). */
static yajl_gen_status
gen_masked_rule (yajl_gen g, const char *name, unsigned long mask,
                 unsigned long want)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_str (g, "names"));
  G (yajl_gen_array_open (g));
  G (gen_str (g, name));
  G (yajl_gen_array_close (g));
  G (gen_kv (g, "action", "SCMP_ACT_ERRNO"));
  G (gen_kint (g, "errnoRet", EPERM));
  G (gen_str (g, "args"));
  G (yajl_gen_array_open (g));
  G (yajl_gen_map_open (g));
  G (gen_kint (g, "index", 0));
  G (gen_kint (g, "value", (long long)mask));
  G (gen_kint (g, "valueTwo", (long long)want));
  G (gen_kv (g, "op", "SCMP_CMP_MASKED_EQ"));
  G (yajl_gen_map_close (g));
  G (yajl_gen_array_close (g));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

/* EPERM for each namespace flag set in the first argument. */
static yajl_gen_status
gen_ns_rules (yajl_gen g, const char *name, size_t n_flags)
{
  yajl_gen_status st = yajl_gen_status_ok;
  for (size_t i = 0; i < n_flags; i++)
    G (gen_masked_rule (g, name, ns_flags[i], ns_flags[i]));
fail:
  return st;
}

/* See PERSONALITY_KEEP above. */
static yajl_gen_status
gen_personality_rules (yajl_gen g)
{
  unsigned bits[32];
  size_t n = 0;
  for (unsigned b = 0; b < 32; b++)
    if (!(PERSONALITY_KEEP & (1UL << b)))
      bits[n++] = b;
  yajl_gen_status st = yajl_gen_status_ok;
  for (size_t i = 0; i < n; i++)
    {
      unsigned long set = 1UL << bits[i], clear = 1UL << bits[(i + 1) % n];
      G (gen_masked_rule (g, "personality", set | clear, set));
    }
  /* every free bit set, 0x8 clear (0x20000 either) / 0x20000 clear */
  G (gen_masked_rule (g, "personality", LOW32 & ~0x20000UL,
                      LOW32 & ~0x20000UL & ~0x8UL));
  G (gen_masked_rule (g, "personality", LOW32 & ~0x8UL,
                      LOW32 & ~0x8UL & ~0x20000UL));
fail:
  return st;
}

/* The architectures whose calls the filter checks: the native one and
 * those its CPU also runs (containers-common's archMap).  A call through
 * an architecture not listed gets libseccomp's bad-architecture action,
 * which the runtimes make a kill: never reached on these CPUs. */
static const char *const architectures[] = {
#if defined(__x86_64__)
  "SCMP_ARCH_X86_64",
  "SCMP_ARCH_X86",
  "SCMP_ARCH_X32",
#elif defined(__i386__)
  "SCMP_ARCH_X86",
#elif defined(__aarch64__)
  "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_ARM",
#endif
  NULL,
};

yajl_gen_status
seccomp_gen (yajl_gen g, char *const *allowed)
{
  yajl_gen_status st = gen_str (g, "seccomp");
  return st != yajl_gen_status_ok ? st : seccomp_gen_object (g, allowed);
}

yajl_gen_status
seccomp_gen_object (yajl_gen g, char *const *allowed)
{
  yajl_gen_status st;
  G (yajl_gen_map_open (g));
  G (gen_kv (g, "defaultAction", "SCMP_ACT_ALLOW"));
  G (gen_strv (g, "architectures", (char *const *)architectures));
  G (gen_str (g, "syscalls"));
  G (yajl_gen_array_open (g));
  G (gen_names_rule (g, deny_enosys, ENOSYS, allowed));
  G (gen_names_rule (g, deny_eperm, EPERM, allowed));
  if (!in_list (allowed, "clone"))
    G (gen_ns_rules (g, "clone", N_CLONE_FLAGS));
  if (!in_list (allowed, "unshare"))
    G (gen_ns_rules (g, "unshare", N_UNSHARE_FLAGS));
  if (!in_list (allowed, "personality"))
    G (gen_personality_rules (g));
  G (yajl_gen_array_close (g));
  G (yajl_gen_map_close (g));
fail:
  return st;
}

static int
check_names (char *const *names, const char *where, const char *path,
             ohr_error_t *err)
{
  for (size_t i = 0; names && names[i]; i++)
    if (!seccomp_restricts (names[i]))
      return ohr_error_set (
          err, EINVAL, OHR_ERR_USAGE,
          "policy '%s': %s.syscalls[%zu]: \"%s\" is not a call the seccomp "
          "profile denies or restricts (docs/security.md lists them)",
          path ? path : "(built-in)", where, i, names[i]);
  return 0;
}

int
seccomp_check_policy (const struct policy *p, ohr_error_t *err)
{
  if (check_names (p->defaults.syscalls, "defaults", p->path, err) < 0)
    return -1;
  for (size_t i = 0; i < p->n_rules; i++)
    {
      char where[32];
      snprintf (where, sizeof where, "packages[%zu]", i);
      if (check_names (p->rules[i].settings.syscalls, where, p->path, err) < 0)
        return -1;
    }
  return 0;
}
