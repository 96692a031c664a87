#!/usr/bin/env bash
# doctor --cargo with real cargo: does `cargo build` in a directory call
# the runner, and if not, why?  A configuration that works (in the
# project's .cargo/config.toml, in $CARGO_HOME/config.toml, on the command
# line) is ok on runc and crun; the README's two silent traps are each
# named with their fix: no RUSTC_BOOTSTRAP=1 on a stable toolchain, and
# target-applies-to-host outside [unstable]; so are host-config outside
# [unstable], a missing host.runner and a runner that is not ours.
. "$(dirname "$0")/../lib/libtest.sh"

PY=${PY:-/usr/bin/python3}
command -v cargo >/dev/null || fatal "missing cargo"
export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
export CARGO_TERM_COLOR=never
RUNNER="\"$OHR\", \"--image\", \"host\""
CHANNEL=$(cargo --version)

# doctor --cargo [ARGS...] in the project directory $P, without the
# variables named in $UNSET; output in $T/doc.out, exit status in $rc.
doctor() {
  rc=0
  # shellcheck disable=SC2086
  (cd "$P" && env ${UNSET:+-u $UNSET} "$OHR" doctor --cargo "$@") >"$T/doc.out" 2>"$T/doc.err" || rc=$?
}
project() { # name config-text: a project directory with that config
  P=$T/$1
  mkdir -p "$P/.cargo"
  printf '%s\n' "$2" >"$P/.cargo/config.toml"
}
# one line of doctor's text report: "STATUS CHECK: ..."
line_is() { # status check pattern
  assert_file_has "$T/doc.out" "^$1 +$2: $3"
}
GOOD="[unstable]
host-config = true
target-applies-to-host = true

[host]
runner = [$RUNNER]"

for rt in $(runtimes); do
  project "good-$rt" "${GOOD/\"host\"]/\"host\", \"--runtime\", \"$rt\"]}"
  UNSET= doctor
  check "$rt: a working configuration: exit 0" assert_eq 0 "$rc" "exit status"
  check "$rt: ... and the cargo check says the runner ran the build script in its container" \
    line_is ok cargo "\`cargo build\` in $P calls the runner: a throwaway build script ran in its container \(host.runner: $OHR --image host --runtime $rt;"
  check "$rt: ... with no other cargo line" \
    bash -c "[ \$(grep -c '^[a-zA-Z]* *cargo' '$T/doc.out') -eq 1 ]"
done

UNSET= doctor --json
check "--json: the cargo check as {check, status, detail, fix}" \
  "$PY" -c '
import json, sys
checks = json.load(open(sys.argv[1]))
c = [x for x in checks if x["check"] == "cargo"]
assert len(c) == 1 and c[0]["status"] == "ok" and c[0]["fix"] is None, c
assert checks[-1]["check"] == "verdict" and checks[-1]["status"] == "ok"' "$T/doc.out"

# The configuration in $CARGO_HOME/config.toml instead: cargo reads it too.
P=$T/plain
mkdir -p "$P" "$T/cargo-home"
printf '%s\n' "$GOOD" >"$T/cargo-home/config.toml"
(export CARGO_HOME=$T/cargo-home && UNSET= doctor)
# (the subshell's rc is lost: read the report)
check "\$CARGO_HOME/config.toml: the runner is called" line_is ok cargo "\`cargo build\` in $P calls the runner"

# On the command line, as the README's first example.
UNSET= doctor -- -Zhost-config -Ztarget-applies-to-host --config "host.runner=[$RUNNER]"
check "-Z flags and --config after --: the runner is called" \
  bash -c "[ $rc -eq 0 ] && grep -q '^ok   cargo: ' '$T/doc.out'"

# Trap 1: no RUSTC_BOOTSTRAP on a stable toolchain.
P=$T/good-$(runtimes | sed -n 1p)
if [[ $CHANNEL == *-nightly* || $CHANNEL == *-dev* ]]; then
  skip "without RUSTC_BOOTSTRAP: $CHANNEL is not a stable toolchain"
  skip "... (the trap named)"
else
  UNSET=RUSTC_BOOTSTRAP doctor
  check "stable without RUSTC_BOOTSTRAP: exit 1, the build script ran outside the runner" \
    bash -c "[ $rc -eq 1 ] && grep -qE '^FAIL cargo: .cargo build. in $P runs build scripts itself, never through the runner' '$T/doc.out'"
  check "... the trap named, with its fix" \
    line_is FAIL "cargo RUSTC_BOOTSTRAP" "cargo [0-9.]+ .* is a stable toolchain and RUSTC_BOOTSTRAP is not set: Cargo ignores the \[unstable\] table.*; fix: export RUSTC_BOOTSTRAP=1"
fi
check "... and the verdict names what is missing" \
  line_is FAIL verdict "build scripts cannot run here; missing: a Cargo configuration that calls the runner"
UNSET=RUSTC_BOOTSTRAP doctor --json
check "... in --json too" "$PY" -c '
import json, sys
names = [c["check"] for c in json.load(open(sys.argv[1])) if c["status"] == "fail"]
assert names == ["cargo", "cargo RUSTC_BOOTSTRAP", "verdict"], names' "$T/doc.out"

# Trap 2: target-applies-to-host in the wrong table.  Beside the
# [unstable] switch, the top-level key is the feature's setting: true makes
# Cargo apply [target] to build scripts and ignore [host], silently.
project top "target-applies-to-host = true
$GOOD"
UNSET= doctor
check "target-applies-to-host = true at the top level: exit 1, the runner not called" \
  bash -c "[ $rc -eq 1 ] && grep -q '^FAIL cargo: .* runs build scripts itself' '$T/doc.out'"
check "... the key, its file and the fix named" \
  line_is FAIL "cargo target-applies-to-host" "target-applies-to-host = true at the top level \($P/.cargo/config.toml\) makes Cargo apply \[target\] settings to build scripts and ignore \[host\]; fix: remove it"
# Instead of the switch: Cargo refuses the build (loud), doctor says why.
project toponly "target-applies-to-host = true
[unstable]
host-config = true
[host]
runner = [$RUNNER]"
UNSET= doctor
check "target-applies-to-host only at the top level: named as the wrong table, fix under [unstable]" \
  line_is FAIL "cargo target-applies-to-host" "target-applies-to-host = true is a top-level key \($P/.cargo/config.toml\).*; fix: move it under \[unstable\]"

# host-config in the wrong table.
project hc "host-config = true
[unstable]
target-applies-to-host = true
[host]
runner = [$RUNNER]"
UNSET= doctor
check "host-config at the top level: named, with its file" \
  line_is FAIL "cargo config" "host-config = true is at the top level \($P/.cargo/config.toml\), where Cargo does not read it; fix: move it under \[unstable\]"
check "... and host-config not enabled" line_is FAIL "cargo host-config" "host-config is not enabled"

# No runner at all; a runner that is not ours.
project none "[unstable]
host-config = true
target-applies-to-host = true"
UNSET= doctor
check "no host.runner: named, with the line to add" \
  line_is FAIL "cargo host.runner" "host.runner is not set.*; fix: \[host\] runner = "
project other "${GOOD/\[$RUNNER\]/[\"env\"]}"
UNSET= doctor
check "host.runner = env: called, but no container of ours" \
  line_is FAIL cargo ".* calls host.runner \(env\), but the build script did not run in a container of oci-host-runner"

# The runner is called and fails: the configuration is right, the failure
# is the runner's, in its own words.
project broken "${GOOD/\"host\"]/\"host\", \"--runtime\", \"$T/no-such-runtime\"]}"
UNSET= doctor
check "a runner that fails: called, and its error quoted" \
  line_is FAIL cargo ".* calls host.runner \($OHR --image host --runtime $T/no-such-runtime\), which failed: oci-host-runner: .*no executable at that path"

# Nothing is left behind: the throwaway crate lives in a temporary dir.
check "no throwaway crate left in TMPDIR" \
  assert_eq "" "$(find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'ohr-doctor-*' -newer "$T/good-$(runtimes | sed -n 1p)/.cargo/config.toml" 2>/dev/null)" "leftovers"
finish
