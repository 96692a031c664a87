/* toolchain.h: find the Rust toolchain a build script may call.
 *
 * Build scripts run $RUSTC (autocfg, version_check, rustversion probes) and
 * sometimes $RUSTDOC or $CARGO.  This module turns those variables into the
 * toolchain directories to mount read-only (the directory holding bin/ and
 * lib/), and sees through rustup proxies (~/.cargo/bin/rustc is a link to
 * rustup, which needs its whole home) to the real toolchain.
 */
#ifndef OHR_TOOLCHAIN_H
#define OHR_TOOLCHAIN_H

#include "util/error.h"

struct toolchain
{
  char **roots;    /* directories to mount read-only, deduplicated */
  char **rewrites; /* "NAME=VALUE" env replacements (proxy -> real binary) */
  char **notes;    /* what was skipped and why (for -v) */
};

/* env: the build script's environment (after filtering). */
int toolchain_find (char *const *env, struct toolchain *out, ohr_error_t *err);

void toolchain_clear (struct toolchain *tc);

#endif
