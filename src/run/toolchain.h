/* toolchain.h: find the tools a build script is told to run.
 *
 * Cargo hands a build script the programs it resolved for the build:
 * RUSTC, RUSTDOC and CARGO (run by autocfg, version_check, rustversion
 * probes, libc's and anyhow's build scripts), and RUSTC_WRAPPER,
 * RUSTC_WORKSPACE_WRAPPER and RUSTC_LINKER when configured.  Each may be
 * an absolute path, a path relative to the package, or a bare name that
 * the script's exec finds through PATH, the host's: a toolchain's bin/ on
 * PATH without rustup gives RUSTC=rustc.
 *
 * This module resolves each value the way the script's exec would on the
 * host (a bare name through the PATH of the runner's own environment,
 * which is the one Cargo gave the script), sees through rustup proxies
 * (~/.cargo/bin/rustc is a link to rustup, which needs its whole home) to
 * the real binary, and says what the container must mount to run it and
 * what the variable must say inside:
 *
 *   - RUSTC, RUSTDOC, CARGO: the toolchain directory (the one holding bin/
 *     and lib/), read-only;
 *   - a wrapper or linker: the Rust toolchain it belongs to (clippy-driver),
 *     else only the binary itself, never its neighbours (a wrapper
 *     installed in ~/.cargo/bin must not bring ~/.cargo's credentials);
 *   - a tool of the image's own directories (/usr/bin/rustc of a distro,
 *     /usr/bin/sccache): nothing, the image provides it, and the value is
 *     left as it is for the image's PATH;
 *   - a value that is not the resolved file's path (a bare or relative
 *     name, a proxy, a symbolic link) is rewritten to that path, so the
 *     script runs the program Cargo chose and not what the container's
 *     PATH happens to find first.
 *
 * A value that cannot be resolved is left as it is, with a note.
 */
#ifndef OHR_TOOLCHAIN_H
#define OHR_TOOLCHAIN_H

#include "util/error.h"

struct toolchain
{
  char **roots;    /* directories to mount read-only, deduplicated */
  char **files;    /* single binaries to mount read-only (not under roots) */
  char **rewrites; /* "NAME=VALUE": the resolved host path a variable runs */
  char **notes;    /* what was left as it is and why (for -v) */
};

/* env: where the variables' values are read (the runner passes its own
 * environment).  PATH, RUSTUP_HOME and RUSTUP_TOOLCHAIN are read from the
 * process environment, which is the one Cargo ran the runner with. */
int toolchain_find (char *const *env, struct toolchain *out, ohr_error_t *err);

void toolchain_clear (struct toolchain *tc);

#endif
