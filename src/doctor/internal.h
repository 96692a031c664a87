/* internal.h: what the files of src/doctor/ share, and nothing outside it
 * includes.
 *
 *   probe.c       doctor_probe: every fact, from files, sysctls, --version
 *                 and the probes below
 *   namespaces.c  the probes that fork and unshare
 *   parse.c       the pure parsers of the /proc texts probe.c reads
 *   evaluate.c    doctor_evaluate: facts -> checks and a verdict, pure
 *   report.c      the report as text lines or JSON
 *   cargo.c       doctor_probe_cargo: a throwaway cargo build (--cargo)
 */
#ifndef OHR_DOCTOR_INTERNAL_H
#define OHR_DOCTOR_INTERNAL_H

#include "doctor/doctor.h"

/* A user namespace, then (when root, or when that worked) the mount, PID
 * and network namespaces with a fresh procfs and sysfs and a read-only
 * rbind of /proc: sets userns_error, mount_ns_error, proc_error,
 * sysfs_error and proc_bind_error.  Needs f->rootless. */
void doctor_probe_namespaces (struct doctor_facts *f);

/* crun's hybrid-cgroup workaround, when the host is hybrid: sets
 * hybrid_error.  Needs f->rootless and f->cgroups. */
void doctor_probe_hybrid (struct doctor_facts *f);

#endif
