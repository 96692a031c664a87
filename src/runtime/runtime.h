/* runtime.h: one interface in front of the OCI runtimes (crun, runc, or a
 * runc-compatible binary given by path), like ostree-fetcher.h in front of
 * its curl and soup backends.
 *
 * Owns: choosing a runtime that can work on this host (and saying why:
 * runtime_choose in select.c, a pure function that run mode and doctor
 * both call), the per-user state root, spawning `run` with the right
 * global flags and preserved fds, forwarding SIGINT/SIGTERM/SIGHUP/SIGQUIT,
 * and removing the container (`delete --force`) whenever its state
 * outlives the run.  The backends (crun.c, runc.c) share this header.
 * May call src/util/ only.
 */
#ifndef OHR_RUNTIME_H
#define OHR_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>

#include "runtime/hostinfo.h"
#include "util/error.h"

/* What the child must do before exec'ing the runtime. */
enum runtime_prep
{
  RUNTIME_PREP_NONE,
  /* crun as root on a hybrid-cgroup host: a private mount namespace in
   * which the v2 "unified" tree is hidden under an empty tmpfs, so crun
   * sees plain v1. */
  RUNTIME_PREP_HIDE_UNIFIED,
  /* crun rootless on a hybrid host: the runner makes the user namespace
   * (0 -> our uid) and a mount namespace with an empty /sys/fs/cgroup; the
   * spec then carries no user namespace of its own. */
  RUNTIME_PREP_OWN_USERNS,
};

struct runtime;

struct runtime_backend
{
  const char *name;
  /* Global options before the command (log file, cgroup manager). */
  int (*global_args) (const struct runtime *rt, const char *log_path,
                      char ***argv);
};

extern const struct runtime_backend runtime_backend_crun;
extern const struct runtime_backend runtime_backend_runc;

struct runtime
{
  const struct runtime_backend *backend;
  char *path;       /* the binary */
  char *state_root; /* --root */
  enum runtime_prep prep;
  char *reason; /* why this runtime was chosen (for -v) */
  /* runtime_private_ns done: the runner is in a mount namespace of its
   * own, where the v2 tree is hidden when prep says so */
  bool private_ns;
  /* the binary is bound read-only over itself there: the runtime is told
   * it needs no cloned copy of itself */
  bool bound_ro;
  /* the spec's limits go to a scope of the user's systemd (rootless on a
   * delegated cgroup v2: hostinfo_delegation_refusal) */
  bool systemd_cgroups;
  /* the runtime makes no cgroups (crun --cgroup-manager=disabled): as root
   * the runner made the one that bounds anything (memcg.h) */
  bool no_cgroups;
};

/* ---- which runtime (select.c) */

/* What the choice is made from: looked up by the caller (runtime_select
 * for run mode, doctor_probe for doctor), so that the choice itself is
 * pure. */
struct runtime_facts
{
  const char *want;      /* "auto", "crun", "runc" or a path */
  const char *crun_path; /* crun found in PATH; NULL: not found */
  const char *runc_path; /* runc found in PATH; NULL: not found */
  bool want_executable;  /* want is a path, to an executable */
  bool rootless;
  enum cgroup_mode cgroups;
  /* why user namespaces cannot be made here (userns_available's static
   * text), NULL when they can: rootless runtimes need them */
  const char *userns_unavailable;
};

struct runtime_choice
{
  const struct runtime_backend *backend;
  const char *path; /* borrowed from the facts (crun_path, runc_path, want) */
  enum runtime_prep prep;
  char *reason; /* "auto: crun at /usr/bin/crun (hybrid cgroups: ...)" */
};

/* The runtime run mode uses for these facts: with "auto" the first of
 * crun and runc found that can run here (crun starts faster), else the
 * one named; a path gets crun's command line if its file name contains
 * "crun", else runc's.  Fails with run mode's message: EINVAL
 * (OHR_ERR_USAGE) for an unknown name, ENOENT (OHR_ERR_RUNTIME) when
 * nothing is there, ENOTSUP (OHR_ERR_RUNTIME) when what is there cannot
 * run on this host.  *out is set only on success. */
int runtime_choose (const struct runtime_facts *in, struct runtime_choice *out,
                    ohr_error_t *err);

void runtime_choice_clear (struct runtime_choice *c);

/* The backend a --runtime value names ("crun", "runc", or a path by its
 * file name); NULL for "auto" and unknown names. */
const struct runtime_backend *runtime_backend_named (const char *want);

/* name itself when it contains a slash and is executable, else the first
 * executable name in $PATH; NULL when there is none. */
char *runtime_find_in_path (const char *name);

/* ---- run mode */

/* runtime_choose on this host's facts, and the state root.  want:
 * "auto", "crun", "runc" or a path to a runtime binary.  state_base:
 * per-user directory for runtime state (created 0700). */
int runtime_select (const char *want, const struct hostinfo *host,
                    const char *state_base, struct runtime *out,
                    ohr_error_t *err);

/* Root only: move the runner into a mount namespace of its own, a slave
 * of the host's (host mounts still appear in it; nothing in it reaches the
 * host), for the rest of the run.  There the runtime's binary is bound
 * read-only over itself and the runtime started with
 * _LIBCONTAINER_CLONED_BINARY=1: crun and runc protect their binary from
 * a container overwriting it through /proc/PID/exe (CVE-2019-5736) by
 * re-executing from a read-only bind or a sealed memfd copy, which they
 * skip when their binary is already on a read-only mount and that
 * variable is set: the same protection, without a second exec (crun) or a
 * copy of the binary (runc) per run.  With RUNTIME_PREP_HIDE_UNIFIED the
 * v2 tree is unmounted here once, not in the runtime's child.  Mounts the
 * run makes afterwards (the source overlay's bounded scratch tmpfs) stay
 * private and vanish with the runner, however it ends.  On failure
 * (no CAP_SYS_ADMIN) rt->private_ns stays false and the run can go on
 * without. */
int runtime_private_ns (struct runtime *rt, ohr_error_t *err);

/* true when the spec must carry a user namespace with mappings: as root
 * always (idmap.h), rootless unless the runner makes it. */
bool runtime_spec_needs_userns (const struct runtime *rt,
                                const struct hostinfo *host);

struct runtime_result
{
  bool exited;        /* the runtime process exited (else: killed by signal) */
  int status;         /* its exit code, or the signal that killed it */
  int forwarded;      /* last stop signal the runner received, 0 if none */
  bool killed;        /* the script outlived the grace period: SIGKILLed */
  bool timed_out;     /* killed because io->timeout_seconds passed */
  bool force_deleted; /* state was left behind and removed */
  bool status_lost;   /* the runtime was reaped by someone else (ECHILD):
                         exited and status say nothing */
};

/* How the runtime's process is wired. */
struct runtime_io
{
  const int *pass_fds; /* become fds 3, 4, ... in the container */
  size_t n_pass;
  int stdout_fd; /* the runtime's (and so the script's) stdout; -1 inherit */
  int stderr_fd; /* the runtime's own stderr; -1 inherit.  Its messages
                    must not mix with the script's, which travels as a
                    passed fd */
  /* Drained while the container runs: pump(ctx, buf, len) per read, and
   * once with len 0 at end of file.  With a pump, runtime_run closes
   * stdout_fd (the pipe's write end) once the runtime holds it, so the
   * end of file comes when the container is gone. */
  int pump_fd;
  void (*pump) (void *ctx, const char *buf, size_t len);
  void *pump_ctx;
  int timeout_seconds; /* 0: none; else the container is killed */
  /* Where the container's init writes RUNTIME_INIT_READY once a signal
   * sent to it can no longer be lost: pid 1 of a PID namespace drops every
   * signal it has no handler for, so one forwarded while the init starts
   * would vanish and the script would run on.  Stop signals received
   * before that line are held, then forwarded.  runtime_run reads exactly
   * the line and leaves the rest of the pipe.  -1: forward at once. */
  int ready_fd;
  /* When not NULL, the runtime's child writes itself into the cgroup whose
   * cgroup.procs this is before it execs the runtime (memcg.h): the
   * runtime and the container it makes are charged there.  Under
   * CLONE_VFORK the runner waits for that write. */
  const int *join_cgroup_fd;
  /* As root, host paths the container's root (an unprivileged id range)
   * cannot reach, such as a rootfs under /root, are bound where it can in
   * a private mount namespace of the runtime's own: source, target pairs,
   * NULL-terminated; NULL: none. */
  char *const *stage_binds;
  /* With idmap_userns_fd >= 0, the stage bind whose target is idmap_target
   * is made an idmapped, read-only mount through that user namespace: its
   * files appear owned by the container's ids (the package source under
   * the overlay, which the container's root may then write through the
   * upper layer as root could before).  Where the kernel or the
   * filesystem cannot, a plain bind. */
  int idmap_userns_fd;
  const char *idmap_target;
};

#define RUNTIME_INIT_READY "ready\n"

/* Run `RUNTIME run --bundle BUNDLE ID`.  Blocks until it exits; forwards
 * termination signals once the init is ready (after a grace period a
 * second signal, or the first repeated, kills the container).  Always
 * removes the container state before returning. */
int runtime_run (const struct runtime *rt, const char *bundle, const char *id,
                 const char *log_path, const struct runtime_io *io,
                 struct runtime_result *out, ohr_error_t *err);

/* Whether the runtime holds state for container id under its root. */
bool runtime_has_container (const struct runtime *rt, const char *id);

/* `RUNTIME delete --force ID`: kills whatever of the container is left and
 * removes its state (cgroup included).  The runtime's output is dropped. */
int runtime_force_delete (const struct runtime *rt, const char *id,
                          ohr_error_t *err);

/* Why the runtime failed: the last error it logged in log_path (JSON
 * lines), else the last line it printed to stderr_path; NULL if neither. */
char *runtime_error_message (const char *log_path, const char *stderr_path);

void runtime_clear (struct runtime *rt);

#endif
