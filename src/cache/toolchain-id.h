/* toolchain-id.h: the identity of a rustup toolchain, for the key
 * (issue 13), without reading its 1.4 GB.
 *
 * rustup records what it installed in ROOT/lib/rustlib: the channel
 * manifest (multirust-channel-manifest.toml: the release, with the sha256
 * of every component's archive), `components` (which components are
 * installed) and, for each, `manifest-COMPONENT` (the files it
 * installed, written after them).  So a file that a component lists and
 * that was last modified no later than that component's manifest is, as
 * far as rustup knows, the release's bytes: the manifests stand for it.
 *
 * The identity is the sha256 of a statement covering:
 *   - the sha256 of the channel manifest (through the memo: ~1 MB, read
 *     once), the bytes of `components` and of every `manifest-COMPONENT`
 *     it names;
 *   - a stat-only walk of ROOT (but the input's skip list: share/doc and
 *     share/man): every regular file's relative path and executable bit,
 *     every symlink's target, and, for a file that no manifest lists or
 *     that was modified after its component's manifest (mtime), the
 *     sha256 of its bytes (through the path+stat memo).
 * Nothing of where ROOT is, or of when it was installed, enters it: the
 * same toolchain at another path or on another machine (a CI machine with
 * an empty store) has the same identity, and a new store reads only the
 * manifests (a few hundred kB) instead of hashing the whole sysroot.
 *
 * Limits: a file whose bytes change while its mtime stays at or before
 * its component's manifest (a tool that restores mtimes, `touch -d` to an
 * old date, a clock set back) is not seen; nor is a change that keeps the
 * file listed and unmodified by mtime but replaces the manifest with one
 * that lists the same files (rustup itself does so only when it installs
 * the component again).  Anything that is not a rustup toolchain (no
 * channel manifest, no `components`, a component without its manifest)
 * gets no identity here: its key hashes every file (merkle.h).
 */
#ifndef OHR_CACHE_TOOLCHAIN_ID_H
#define OHR_CACHE_TOOLCHAIN_ID_H

#include "cache/memo.h"
#include "util/error.h"

/* 1: ROOT is a rustup toolchain, its identity (64 hex) in out; 0: it is
 * not (nothing set); -1 on error.  skip: paths relative to root left out
 * (may be NULL); memo (may be NULL) spares hashing unchanged deviations. */
int cache_toolchain_identity (const char *root, char *const *skip,
                              struct memo *memo, char out[65],
                              ohr_error_t *err);

#endif
