# libtest.sh: shared helpers for tests/integration/test-*.sh
# (after ostree's tests/libtest.sh and bubblewrap's tests/test-run.sh).
#
# The binary under test comes from $OHR, so the same tests run against an
# installed build.  Each test gets a private temp dir ($T) removed at exit,
# and prints "ok N - name" / "not ok N - name" lines (TAP); the runner
# counts them.

set -euo pipefail

: "${OHR:?set OHR to the oci-host-runner binary under test}"
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Tests change HOME; rustup and cargo keep finding the real toolchain.
export RUSTUP_HOME=${RUSTUP_HOME:-$HOME/.rustup} CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}
export PATH="$CARGO_HOME/bin:$PATH"
export RUSTC_BOOTSTRAP=1

T=$(mktemp -d /tmp/ohr-test.XXXXXX)
chmod 755 "$T"
_cleanups=()
_cleanup() {
  local i
  for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[i]}" || true; done
  rm -rf "$T"
}
trap _cleanup EXIT
# Register a command run at exit (in reverse order).
at_exit() { _cleanups+=("$*"); }

_n=0
_failed=0
ok() { _n=$((_n + 1)); echo "ok $_n - $*"; }
not_ok() { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
# skip REASON: a check this machine cannot run (TAP "# SKIP"); the runner
# counts it as skipped, never as passed.
skip() { _n=$((_n + 1)); echo "ok $_n # SKIP $*"; }
fatal() { echo "Bail out! $*"; exit 1; }
finish() {
  echo "1..$_n"
  [ "$_failed" -eq 0 ]
}

# check NAME COMMAND...: one test case from a command's success.
check() {
  local name=$1
  shift
  if "$@"; then ok "$name"; else not_ok "$name"; fi
}

assert_eq() { # expected actual what
  if [ "$1" == "$2" ]; then return 0; fi
  echo "# $3: expected '$1', got '$2'" >&2
  return 1
}
assert_file_has() { # file pattern
  if grep -qE -- "$2" "$1"; then return 0; fi
  echo "# '$1' lacks /$2/; it says:" >&2
  sed 's/^/#   /' "$1" | head -20 >&2
  return 1
}
assert_file_lacks() { # file pattern; a missing file fails: it proves nothing
  local rc=0
  [ -e "$1" ] || { echo "# '$1' does not exist: cannot show that it lacks /$2/" >&2; return 1; }
  grep -qE -- "$2" "$1" || rc=$?
  if [ "$rc" -eq 1 ]; then return 0; fi
  if [ "$rc" -ne 0 ]; then echo "# cannot search '$1' for /$2/" >&2; return 1; fi
  echo "# '$1' has /$2/:" >&2
  grep -nE -- "$2" "$1" | head -5 | sed 's/^/#   /' >&2
  return 1
}

# Runtimes this machine can run (crun is started from a private mount
# namespace on hybrid-cgroup hosts, which the runner does itself).
runtimes() {
  local r
  for r in runc crun; do command -v "$r" >/dev/null && echo "$r"; done
}

# Offline cargo, with crates from Debian's registry when a test needs them.
cargo_env() {
  export CARGO_NET_OFFLINE=true
  export CARGO_TERM_COLOR=never
}

# cargo_build_runner DIR TARGET_DIR RUNNER_ARGS...: a real cargo build with
# the runner as host.runner; output in $T/cargo.out.
cargo_build_runner() {
  local dir=$1 target=$2
  shift 2
  local args="\"$OHR\""
  local a
  for a in "$@"; do args+=",\"$a\""; done
  cargo_env
  (cd "$dir" && cargo build --offline -Zhost-config -Ztarget-applies-to-host \
    --target-dir "$target" --config "host.runner=[$args]") >"$T/cargo.out" 2>&1
}

# cargo_build_runner_args DIR TARGET_DIR "CARGO ARGS" RUNNER_ARGS...
cargo_build_runner_args() {
  local dir=$1 target=$2 cargs=$3
  shift 3
  local args="\"$OHR\""
  local a
  for a in "$@"; do args+=",\"$a\""; done
  cargo_env
  # shellcheck disable=SC2086
  (cd "$dir" && cargo build --offline $cargs -Zhost-config -Ztarget-applies-to-host \
    --target-dir "$target" --config "host.runner=[$args]") >"$T/cargo.out" 2>&1
}

cargo_build_native() {
  local dir=$1 target=$2
  cargo_env
  (cd "$dir" && cargo build --offline --target-dir "$target") >"$T/cargo.out" 2>&1
}

# Proof the runner ran a package's build script: its -v lines are in the
# script's captured stderr.
ran_in_container() { # target_dir pkg runtime
  local f
  for f in "$1"/debug/build/"$2"-*/stderr; do
    [ -f "$f" ] && grep -q "oci-host-runner: runtime .*$3" "$f" && return 0
  done
  echo "# no evidence that $2's build script ran in $3" >&2
  return 1
}

# Fake Cargo context for calling the runner by hand: a package dir, a
# Cargo-shaped target dir, and a script at $SCRIPT.
fake_cargo_context() { # dir script-source
  local d=$1
  mkdir -p "$d/pkg" "$d/target/debug/build/pkg-0000/out" "$d/target/debug/build/pkg-1111"
  export OUT_DIR="$d/target/debug/build/pkg-0000/out"
  export CARGO_MANIFEST_DIR="$d/pkg" CARGO_PKG_NAME=pkg CARGO_PKG_VERSION=0.1.0
  SCRIPT="$d/target/debug/build/pkg-1111/build-script-build"
  cp "$2" "$SCRIPT"
  chmod 755 "$SCRIPT"
}

# Containers and bundles this test left behind (must be none).
# memcg_parent: this shell's cgroup in the v1 memory hierarchy, where a
# root run under crun makes its own memory cgroup (src/runtime/memcg.h);
# empty on a host without one (cgroup v2 alone)
memcg_parent() {
  local p
  p=$(sed -n 's/^[0-9]*:\([^:]*,\)\{0,1\}memory\(,[^:]*\)\{0,1\}:\(.*\)$/\3/p' /proc/self/cgroup)
  [ -n "$p" ] && [ -d "/sys/fs/cgroup/memory$p" ] && echo "/sys/fs/cgroup/memory${p%/}"
  return 0
}

leftovers() { # state_dir
  local n=0
  [ -d "$1/bundles" ] && n=$(find "$1/bundles" -mindepth 1 -maxdepth 1 | wc -l)
  local r
  for r in runc crun; do
    [ -d "$1/$r" ] && n=$((n + $(find "$1/$r" -mindepth 1 -maxdepth 1 -type d | wc -l)))
  done
  echo "$n"
}

# as_test_user SYSROOT SCRIPT: run SCRIPT (bash) as $TEST_USER, with the
# toolchain at SYSROOT (under /root, mode 700) bound at $T/toolchain in a
# private mount namespace instead of opening /root; output in
# $T/cargo.out.
as_test_user() {
  chown "$TEST_USER" "$2"
  unshare -m --propagation private bash -c \
    "mount --bind '$1' '$T/toolchain' && su $TEST_USER -s /bin/bash -c 'bash $2'" >"$T/cargo.out" 2>&1
}

# An unprivileged user for rootless tests (created once, never removed:
# other tests may run concurrently on a developer machine).
TEST_USER=ohr-test
ensure_test_user() {
  id "$TEST_USER" >/dev/null 2>&1 || useradd -M -s /bin/bash "$TEST_USER"
}
