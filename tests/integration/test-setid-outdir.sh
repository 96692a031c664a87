#!/usr/bin/env bash
# test-setid-outdir: a setuid file in OUT_DIR that the after-run clean-up
# cannot clear (immutable: chmod fails even for root) is never reported as
# cleared: the run fails with exit 124 and one line naming it and why,
# while the one beside it is cleared and said to be.  crun and runc.  The
# script sets the bits itself: as root, files that were in OUT_DIR before
# the run are lent to the container's root first, and that chown clears
# their bits before the script starts.
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "runs as root (chattr +i needs CAP_LINUX_IMMUTABLE)"
export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
printf '#!/bin/sh\nchmod 2755 "$OUT_DIR/free"\nchmod 4755 "$OUT_DIR/stuck" 2>/dev/null\necho cargo:rustc-cfg=ran\n' >"$T/script.sh"
fake_cargo_context "$T/ctx" "$T/script.sh"
cd "$CARGO_MANIFEST_DIR"
printf x >"$OUT_DIR/stuck"
printf y >"$OUT_DIR/free"
if ! chattr +i "$OUT_DIR/stuck" 2>/dev/null; then
  skip "chattr +i is refused on $(stat -f -c %T "$OUT_DIR")"
  finish
  exit 0
fi
chattr -i "$OUT_DIR/stuck"
at_exit chattr -i "$OUT_DIR/stuck"

for rt in $(runtimes); do
  chmod 4755 "$OUT_DIR/stuck"
  chmod 2755 "$OUT_DIR/free"
  chattr +i "$OUT_DIR/stuck"
  rc=0
  "$OHR" --runtime "$rt" "$SCRIPT" >"$T/out" 2>"$T/err" || rc=$?
  chattr -i "$OUT_DIR/stuck"
  check "$rt: a setuid file that cannot be cleared fails the run (exit 124)" assert_eq 124 "$rc" "exit"
  check "$rt: ... naming it and why" assert_file_has "$T/err" "left OUT_DIR/stuck with setuid/setgid, which cannot be cleared \(Operation not permitted\)"
  check "$rt: ... never saying it was cleared" assert_file_lacks "$T/err" "OUT_DIR/stuck.*: cleared"
  check "$rt: ... and it is indeed still setuid" assert_eq 4755 "$(stat -c %a "$OUT_DIR/stuck")" "mode"
  check "$rt: the file beside it is cleared, and said to be" assert_file_has "$T/err" "left OUT_DIR/free with setuid/setgid: cleared"
  check "$rt: ... truly" assert_eq 755 "$(stat -c %a "$OUT_DIR/free")" "mode"
  rc=0
  "$OHR" --runtime "$rt" "$SCRIPT" >"$T/out" 2>"$T/err" || rc=$?
  check "$rt: once it can be cleared, the run succeeds" assert_eq 0 "$rc" "exit"
  check "$rt: ... and says cleared" assert_file_has "$T/err" "left OUT_DIR/stuck with setuid/setgid: cleared"
  check "$rt: no container or bundle left" assert_eq 0 "$(leftovers "$T/state")" "leftovers"
done
finish
