#!/usr/bin/env bash
# Command line and bad input: one clear line, a distinct exit code, and
# nothing left on disk.
. "$(dirname "$0")/../lib/libtest.sh"

STATE=$T/state
export OCI_HOST_RUNNER_STATE_DIR=$STATE OCI_HOST_RUNNER_CACHE_DIR=$T/cache
printf '#!/bin/sh\necho cargo:rustc-cfg=from_script\n' >"$T/script.sh"
fake_cargo_context "$T/ctx" "$T/script.sh"
cd "$T/ctx/pkg"

# run CMD...: exit code in $rc, stderr in $T/err, stdout in $T/out
run() { rc=0; "$@" >"$T/out" 2>"$T/err" || rc=$?; }
one_line() { [ "$(wc -l <"$T/err")" -eq 1 ] || { cat "$T/err" >&2; return 1; }; }

run "$OHR" --help
check "--help exits 0 and documents the options" \
  bash -c "[ $rc -eq 0 ] && grep -q -- '--runtime' '$T/out' && grep -q 'Exit status' '$T/out'"
run "$OHR" --version
check "--version prints the version" bash -c "[ $rc -eq 0 ] && grep -qE '^oci-host-runner [0-9]' '$T/out'"
run "$OHR" help
check "help command" bash -c "[ $rc -eq 0 ] && grep -q Usage '$T/out'"

run "$OHR"
check "no SCRIPT: exit 121, one line" bash -c "[ $rc -eq 121 ]" && check "no SCRIPT message" one_line
assert_file_has "$T/err" "no build script given" >/dev/null && ok "no SCRIPT names the problem" || not_ok "no SCRIPT names the problem"

run "$OHR" --bogus "$SCRIPT"
check "unknown option: exit 121" assert_eq 121 "$rc" "exit code"
check "unknown option named" assert_file_has "$T/err" "unknown option '--bogus'"

run "$OHR" --image
check "option without value: exit 121" assert_eq 121 "$rc" "exit code"

run "$OHR" --network wide "$SCRIPT"
check "bad --network: exit 121 naming the value" bash -c "[ $rc -eq 121 ] && grep -q \"'wide'\" '$T/err'"

run "$OHR" --runtime kata "$SCRIPT"
check "unknown runtime: exit 121" assert_eq 121 "$rc" "exit code"
check "unknown runtime named" assert_file_has "$T/err" "unknown runtime 'kata'"

run "$OHR" --runtime /nonexistent/runc "$SCRIPT"
check "runtime path missing: exit 125" assert_eq 125 "$rc" "exit code"
check "runtime path missing: says so" assert_file_has "$T/err" "no executable at that path"

run "$OHR" --image "oci:$T/no-such-layout:v1" "$SCRIPT"
check "unknown image: exit 123" assert_eq 123 "$rc" "exit code"
check "unknown image: one line naming it" bash -c "grep -q \"image 'oci:$T/no-such-layout:v1': not an OCI image layout\" '$T/err' && [ \$(wc -l <'$T/err') -eq 1 ]"
run "$OHR" --image "Not/A Ref" "$SCRIPT"
check "malformed image reference: exit 121 naming it" bash -c "[ $rc -eq 121 ] && grep -q \"image reference 'Not/A Ref'\" '$T/err'"

run "$OHR" "$T/ctx/no-such-script"
check "script not found: exit 127" assert_eq 127 "$rc" "exit code"
check "script not found: message" assert_file_has "$T/err" "no-such-script.*No such file"

cp "$SCRIPT" "$T/ctx/noexec" && chmod 644 "$T/ctx/noexec"
run "$OHR" "$T/ctx/noexec"
check "script not executable: exit 126" assert_eq 126 "$rc" "exit code"
check "script not executable: message" assert_file_has "$T/err" "not executable"

run env -u OUT_DIR "$OHR" "$SCRIPT"
check "OUT_DIR unset: exit 122" assert_eq 122 "$rc" "exit code"
check "OUT_DIR unset: one line naming OUT_DIR" bash -c "grep -q 'OUT_DIR is not set' '$T/err' && [ \$(wc -l <'$T/err') -eq 1 ]"

run env OUT_DIR="$T/missing" "$OHR" "$SCRIPT"
check "OUT_DIR missing: exit 122" assert_eq 122 "$rc" "exit code"
run env CARGO_MANIFEST_DIR="$T/missing-pkg" "$OHR" "$SCRIPT"
check "CARGO_MANIFEST_DIR missing: exit 122 naming it" bash -c "[ $rc -eq 122 ] && grep -q 'CARGO_MANIFEST_DIR' '$T/err'"

(cd "$T" && run "$OHR" "$SCRIPT"; echo "$rc" >"$T/rc")
check "cwd outside the package: exit 122" assert_eq 122 "$(cat "$T/rc")" "exit code"

# Runtimes missing from PATH: the message says which and how to install.
mkdir -p "$T/emptybin"
run env PATH="$T/emptybin" "$OHR" --runtime crun "$SCRIPT"
check "crun not in PATH: exit 125" assert_eq 125 "$rc" "exit code"
check "crun not in PATH: says so and how to install" assert_file_has "$T/err" "runtime 'crun': not found in PATH \(Debian: apt-get install crun runc\)"
run env PATH="$T/emptybin" "$OHR" "$SCRIPT"
check "auto with no runtime: exit 125 naming both" \
  bash -c "[ $rc -eq 125 ] && grep -q 'no usable OCI runtime (crun: not found in PATH; runc: not found in PATH)' '$T/err'"

# A real runtime failure (the init mount point cannot take a directory):
# one line naming the runtime and its own error, exit 125, no leftovers.
mkdir -p "$T/not-an-init"
for rt in $(runtimes); do
  run env OCI_HOST_RUNNER_INIT="$T/not-an-init" "$OHR" --runtime "$rt" "$SCRIPT"
  check "$rt: runtime failure: exit 125" assert_eq 125 "$rc" "exit code"
  check "$rt: runtime failure: one line naming the runtime and cause" \
    bash -c "grep -q 'runtime $rt failed before the build script ran: .*' '$T/err' && [ \$(wc -l <'$T/err') -eq 1 ]"
done

run env OCI_HOST_RUNNER_NETWORK=nowhere "$OHR" "$SCRIPT"
check "bad env setting names the variable" bash -c "[ $rc -eq 121 ] && grep -q OCI_HOST_RUNNER_NETWORK '$T/err'"

check "failed runs left no bundle or container" assert_eq 0 "$(leftovers "$STATE")" "leftovers"
check "failed runs wrote nothing into OUT_DIR" assert_eq 0 "$(find "$OUT_DIR" -mindepth 1 | wc -l)" "OUT_DIR entries"

# The happy path, by hand, for each runtime.
for rt in $(runtimes); do
  run "$OHR" --runtime "$rt" "$SCRIPT"
  check "$rt: a script runs and its stdout passes through" \
    bash -c "[ $rc -eq 0 ] && [ \"\$(cat '$T/out')\" = 'cargo:rustc-cfg=from_script' ]"
  run env OCI_HOST_RUNNER_RUNTIME="$rt" OCI_HOST_RUNNER_VERBOSE=1 "$OHR" "$SCRIPT"
  check "$rt: chosen through OCI_HOST_RUNNER_RUNTIME" assert_file_has "$T/err" "runtime $rt at"
done
check "successful runs left no bundle or container" assert_eq 0 "$(leftovers "$STATE")" "leftovers"

run "$OHR" --keep-bundle "$SCRIPT"
kept=$(sed -n 's/^oci-host-runner: bundle kept at //p' "$T/err")
check "--keep-bundle keeps config.json and says where" test -f "$kept/config.json"

finish
