/* helper-exe.h: find the programs that ship with oci-host-runner: ohr-init
 * (mounted into every container) and oci-host-runner-store (pulls,
 * imports, store maintenance; kept out of the runner so run mode never
 * loads libostree or libcurl).  They live beside the binary (build tree)
 * or in ../libexec/oci-host-runner/ (installed); OCI_HOST_RUNNER_<NAME>
 * (INIT, STORE) overrides. */
#ifndef OHR_UTIL_HELPER_EXE_H
#define OHR_UTIL_HELPER_EXE_H

#include "util/error.h"

/* The directory of the running binary (/proc/self/exe), where the
 * build tree and the installed tree put what ships with it. */
int helper_exe_self_dir (char **out, ohr_error_t *err);

int helper_exe_find (const char *name, const char *env_var, char **out,
                     ohr_error_t *err);

#endif
