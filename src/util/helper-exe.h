/* helpers.h: find the programs that ship with oci-host-runner: ohr-init
 * (mounted into every container) and oci-host-runner-store (pulls,
 * imports, store maintenance; kept out of the runner so run mode never
 * loads libostree or libcurl).  They live beside the binary (build tree)
 * or in ../libexec/oci-host-runner/ (installed); OCI_HOST_RUNNER_<NAME>
 * (INIT, STORE) overrides. */
#ifndef OHR_HELPERS_H
#define OHR_HELPERS_H

#include "util/error.h"

int helper_exe_find (const char *name, const char *env_var, char **out,
                     ohr_error_t *err);

#endif
