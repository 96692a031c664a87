/* exitcodes.h: the exit codes of oci-host-runner (documented in README.md).
 *
 * A build script's own exit status passes through unchanged (0-120 in
 * practice).  The runner's own failures use 121-127, following the
 * convention of env(1), timeout(1) and podman-run(1) (125 = the tool
 * failed, 126 = cannot execute, 127 = not found).  A script killed by
 * signal N gives 128+N.
 */
#ifndef OHR_EXITCODES_H
#define OHR_EXITCODES_H

#include "util/error.h"

#define OHR_EXIT_USAGE 121    /* bad option, argument or configuration */
#define OHR_EXIT_CONTEXT 122  /* OUT_DIR / CARGO_MANIFEST_DIR missing, ... */
#define OHR_EXIT_IMAGE 123    /* image unknown or cannot be prepared */
#define OHR_EXIT_POLICY 124   /* the runner refused or stopped the script */
#define OHR_EXIT_RUNTIME 125  /* crun/runc failed before the script ran */
#define OHR_EXIT_NOEXEC 126   /* script exists but cannot be executed */
#define OHR_EXIT_NOTFOUND 127 /* script not found */
#define OHR_EXIT_SIGNAL_BASE 128

int ohr_exit_code_for (enum ohr_error_kind kind);

#endif
