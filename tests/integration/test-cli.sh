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

# One rule for options and their variables (docs/configuration.md): a
# value option replaces its variable, a repeatable option replaces the
# variable's list, a switch has a --no- form.  Each check has a control
# that shows the variable alone does what the option then takes back.
rm -rf "$kept"
ENV_SCRIPT=$(dirname "$SCRIPT")/print-env
printf '#!/bin/sh\nenv\n' >"$ENV_SCRIPT"
chmod 755 "$ENV_SCRIPT"

run env OCI_HOST_RUNNER_IMAGE="oci:$T/no-such-layout:v1" "$OHR" "$SCRIPT"
check "rule: control: OCI_HOST_RUNNER_IMAGE alone is used (exit 123)" assert_eq 123 "$rc" "exit code"
run env OCI_HOST_RUNNER_IMAGE="oci:$T/no-such-layout:v1" "$OHR" --image host "$SCRIPT"
check "rule: --image replaces OCI_HOST_RUNNER_IMAGE" assert_eq 0 "$rc" "exit code"

run env OCI_HOST_RUNNER_DEGRADED=proc "$OHR" "$SCRIPT"
check "rule: control: OCI_HOST_RUNNER_DEGRADED=proc alone degrades" \
  assert_file_has "$T/err" "notice: degraded mode 'proc'"
run env OCI_HOST_RUNNER_DEGRADED=proc "$OHR" --degraded none "$SCRIPT"
check "rule: --degraded none takes OCI_HOST_RUNNER_DEGRADED=proc back" \
  bash -c "[ $rc -eq 0 ] && ! grep -q 'degraded' '$T/err'"

run env OHR_FROM_VAR=var-value OCI_HOST_RUNNER_ENV=OHR_FROM_VAR "$OHR" "$ENV_SCRIPT"
check "rule: control: OCI_HOST_RUNNER_ENV alone passes its names" \
  assert_file_has "$T/out" "^OHR_FROM_VAR=var-value$"
run env OHR_FROM_VAR=var-value OCI_HOST_RUNNER_ENV=OHR_FROM_VAR "$OHR" --env OHR_FROM_OPT=opt-value "$ENV_SCRIPT"
check "rule: --env replaces the list of OCI_HOST_RUNNER_ENV" \
  bash -c "[ $rc -eq 0 ] && grep -q '^OHR_FROM_OPT=opt-value$' '$T/out' && ! grep -q OHR_FROM_VAR '$T/out'"

mkdir -p "$T/hooks-bad" "$T/hooks-empty"
echo '{' >"$T/hooks-bad/bad.json"
run env OCI_HOST_RUNNER_HOOKS_DIR="$T/hooks-bad" "$OHR" "$SCRIPT"
check "rule: control: OCI_HOST_RUNNER_HOOKS_DIR alone is read (a bad hook file fails)" \
  assert_eq 121 "$rc" "exit code" && check "rule: control: the bad hook file is named" assert_file_has "$T/err" "bad.json"
run env OCI_HOST_RUNNER_HOOKS_DIR="$T/hooks-bad" "$OHR" --hooks-dir "$T/hooks-empty" "$SCRIPT"
check "rule: --hooks-dir replaces the list of OCI_HOST_RUNNER_HOOKS_DIR" assert_eq 0 "$rc" "exit code"

annotations() { # the annotations of the bundle the last run kept
  local b
  b=$(sed -n 's/^oci-host-runner: bundle kept at //p' "$T/err")
  [ -n "$b" ] || return 0
  python3 -c 'import json,sys; [print(k) for k in json.load(open(sys.argv[1])).get("annotations", {})]' "$b/config.json"
  rm -rf "$b"
}
run env OCI_HOST_RUNNER_ANNOTATIONS=org.example.from-var=1 "$OHR" --keep-bundle "$SCRIPT"
check "rule: control: OCI_HOST_RUNNER_ANNOTATIONS alone annotates" \
  bash -c "grep -qx org.example.from-var <<<'$(annotations)'"
run env OCI_HOST_RUNNER_ANNOTATIONS=org.example.from-var=1 "$OHR" --keep-bundle --annotation org.example.from-opt=2 "$SCRIPT"
got=$(annotations)
check "rule: --annotation replaces the list of OCI_HOST_RUNNER_ANNOTATIONS" \
  bash -c "grep -qx org.example.from-opt <<<'$got' && ! grep -q from-var <<<'$got'"

run env OCI_HOST_RUNNER_KEEP_BUNDLE=1 "$OHR" "$SCRIPT"
kept=$(sed -n 's/^oci-host-runner: bundle kept at //p' "$T/err")
check "rule: control: OCI_HOST_RUNNER_KEEP_BUNDLE=1 keeps the bundle" test -n "$kept"
rm -rf "$kept"
run env OCI_HOST_RUNNER_KEEP_BUNDLE=1 "$OHR" --no-keep-bundle "$SCRIPT"
n=$(leftovers "$STATE")
check "rule: --no-keep-bundle switches OCI_HOST_RUNNER_KEEP_BUNDLE=1 off" \
  bash -c "[ $rc -eq 0 ] && ! grep -q 'bundle kept' '$T/err' && [ $n -eq 0 ]"
run env OCI_HOST_RUNNER_VERBOSE=1 "$OHR" --no-verbose "$SCRIPT"
check "rule: --no-verbose switches OCI_HOST_RUNNER_VERBOSE=1 off" \
  bash -c "[ $rc -eq 0 ] && [ ! -s '$T/err' ]"
run env OCI_HOST_RUNNER_VERBOSE=0 "$OHR" "$SCRIPT"
check "rule: OCI_HOST_RUNNER_VERBOSE=0 is off" bash -c "[ $rc -eq 0 ] && [ ! -s '$T/err' ]"
run env OCI_HOST_RUNNER_VERBOSE=on "$OHR" "$SCRIPT"
check "rule: a switch variable that is not 1/true/yes/0/false/no: exit 121 naming it" \
  bash -c "[ $rc -eq 121 ] && grep -q \"OCI_HOST_RUNNER_VERBOSE: 'on'\" '$T/err'"

# The store helper reads OCI_HOST_RUNNER_INSECURE_REGISTRIES too, and
# --insecure-registry replaces it.  A plain-http server on a non-loopback
# address counts the requests it can read (https ones it cannot).
ip=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -m1 -E '^[0-9]+\.' || true)
if [ -n "$ip" ] && [ "${ip%%.*}" != 127 ]; then
  cat >"$T/plain.py" <<'PY'
import http.server, sys
count = sys.argv[3]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(count, "a") as f:
            f.write(self.path + "\n")
        self.send_response(404)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer((sys.argv[1], 0), H)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
PY
  python3 "$T/plain.py" "$ip" "$T/plain.port" "$T/plain.count" &
  plain_pid=$!
  at_exit "kill $plain_pid"
  for _ in $(seq 50); do [ -s "$T/plain.port" ] && break; sleep 0.1; done
  reg=$ip:$(cat "$T/plain.port")
  pull() { # [env...]: pull from the plain-http server; the requests it saw
    : >"$T/plain.count"
    run env OCI_HOST_RUNNER_RETRY_BASE_MS=1 "$@" --store "$T/store" "$reg/ohr/x:1"
    wc -l <"$T/plain.count"
  }
  check "rule: control: the store helper uses https for $reg by default" \
    assert_eq 0 "$(pull "$OHR" pull)" "plain http requests"
  check "rule: the store helper honours OCI_HOST_RUNNER_INSECURE_REGISTRIES" \
    bash -c "[ $(pull OCI_HOST_RUNNER_INSECURE_REGISTRIES="other,$reg" "$OHR" pull) -gt 0 ]"
  check "rule: --insecure-registry replaces OCI_HOST_RUNNER_INSECURE_REGISTRIES" \
    assert_eq 0 "$(pull OCI_HOST_RUNNER_INSECURE_REGISTRIES="$reg" "$OHR" pull --insecure-registry other.example)" "plain http requests"
else
  skip "no non-loopback IPv4 address for the insecure-registry checks"
fi

# A value JSON cannot carry: one line naming the variable, not its value.
run env CARGO_PKG_DESCRIPTION=$'caf\xe9 ohr-secret-value' "$OHR" "$SCRIPT"
check "an environment value that is not UTF-8: exit 121, one line naming the variable" \
  bash -c "[ $rc -eq 121 ] && grep -q \"environment variable 'CARGO_PKG_DESCRIPTION' is not valid UTF-8\" '$T/err' && [ \$(wc -l <'$T/err') -eq 1 ]"
check "an environment value that is not UTF-8: the value is not printed" assert_file_lacks "$T/err" "ohr-secret-value"
check "the rule checks left no bundle or container" assert_eq 0 "$(leftovers "$STATE")" "leftovers"

finish
