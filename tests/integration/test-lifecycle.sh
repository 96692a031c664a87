#!/usr/bin/env bash
# Nothing is left running, or lying around, after the runner dies.
#
# A real build script (tests/fixtures/lifecycle/build.rs, compiled here
# with rustc) is run by the runner as Cargo runs it, root and rootless,
# with runc and with crun.  Per case:
#  - `kill -9` of the runner alone while the script sleeps: one second
#    later no process of the container is left (the lifeline: the init's
#    status socket, whose other end only the runner held); the next run
#    sweeps the bundle and the source overlay, and neutralises OUT_DIR as
#    the after-run checks would have (the script's setuid file cleared,
#    its link to /etc/passwd removed);
#  - `kill -9` of the runner and the runtime together (the process group,
#    as a terminal's SIGKILL would): the same, and the runtime's own state
#    (left by the killed runtime) is deleted by the next run;
#  - a live run is not swept by a run in another PID namespace (root),
#    to which its pid looks dead: the runner's flock on its bundle;
#  - --degraded proc (no PID namespace): a script that leaves its session
#    twice (setsid, then a setsid'd grandchild) still leaves nothing;
#  - a report forged through /proc/1/fd/3 (and /proc/PPID/fd/3) does not
#    reach the runner: the script's exit 7 stays 7.
# Processes are found by a token new for every case, in the environment
# of every process of the container (as test-escape does), never by name.
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "test-lifecycle needs root (it runs a rootless user too)"
ensure_test_user
uid=$(id -u "$TEST_USER")

# The runner where the user can run it; the build script compiled as
# Cargo would (a host binary, dynamically linked against the host's libc).
mkdir -p "$T/bin"
cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/bin/"
RUNNER=$T/bin/oci-host-runner
rustc --edition 2021 -O "$TOP/tests/fixtures/lifecycle/build.rs" -o "$T/build-script" 2>"$T/rustc.err" ||
  fatal "cannot compile the build script: $(head -c 500 "$T/rustc.err")"

token_procs() { # token: their pids, one a line
  grep -lzxF "LCTOK=$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true
}
token_comms() { # token: their command names, one a line (no pipe that a
  # match could cut short: under pipefail that SIGPIPE would read as "none")
  local p
  for p in $(token_procs "$1"); do cat "/proc/$p/comm" 2>/dev/null || true; done
}
ntoken=0
new_token() { ntoken=$((ntoken + 1)); TOKEN=ohr-lc-${T##*.}-$ntoken; }

# A Cargo-like context per user: W/pkg (the package root), OUT_DIR, the
# script where Cargo puts it, a private state directory.
setup_user() { # who (r: root, u: the test user)
  local W=$T/$1
  mkdir -p "$W/pkg" "$W/target/debug/build/pkg-0000/out" "$W/target/debug/build/pkg-1111" "$W/home" "$W/xdg"
  cp "$T/build-script" "$W/target/debug/build/pkg-1111/build-script-build"
  if [ "$1" = u ]; then chown -R "$TEST_USER" "$W"; fi
  chmod 700 "$W/xdg"
}
setup_user r
setup_user u
NSPRE=()         # a prefix for run_as: another PID namespace
OUT_SUB=pkg-0000 # OUT_DIR's build directory (another package: pkg-2222)
mkdir -p "$T/r/target/debug/build/pkg-2222/out"

# run_as WHO CMD...: CMD as root or as the test user, in a Cargo-like
# environment; its own session, so that its process group can be killed.
run_as() {
  local who=$1 W=$T/$1
  shift
  local pre=()
  [ "$who" = u ] && pre=(setpriv --reuid="$uid" --regid="$uid" --clear-groups)
  setsid "${NSPRE[@]}" "${pre[@]}" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$W/home" \
    XDG_RUNTIME_DIR="$W/xdg" LCTOK="$TOKEN" \
    OCI_HOST_RUNNER_STATE_DIR="$W/state" OCI_HOST_RUNNER_CACHE_DIR="$W/cache" \
    OUT_DIR="$W/target/debug/build/$OUT_SUB/out" CARGO_MANIFEST_DIR="$W/pkg" \
    CARGO_PKG_NAME=pkg CARGO_PKG_VERSION=0.1.0 \
    bash -c 'cd "$CARGO_MANIFEST_DIR" && echo $$ >"$0" && exec "$@"' "$W/pid" "$@"
}
# the runner: run_runner WHO RUNTIME MODE [OPTIONS...]
run_runner() {
  local who=$1 rt=$2 mode=$3
  shift 3
  run_as "$who" "$RUNNER" --runtime "$rt" --env LCTOK "$@" \
    "$T/$who/target/debug/build/pkg-1111/build-script-build" "$mode"
}

HANG=60
# start WHO RUNTIME MODE [OPTIONS...]: the runner in the background, until
# its script printed "ready" and its sleeping child runs; $pid: the runner
start() {
  local who=$1 W=$T/$1
  new_token
  rm -f "$W/pid" "$T/out" "$T/err"
  run_runner "$@" >"$T/out" 2>"$T/err" &
  local k
  for ((k = 0; k < HANG * 10; k++)); do
    grep -q '^ready$' "$T/out" 2>/dev/null && [ -s "$W/pid" ] &&
      [[ $'\n'$(token_comms "$TOKEN")$'\n' == *$'\nsleep\n'* ]] && break
    sleep 0.1
  done
  pid=$(cat "$W/pid" 2>/dev/null || true)
  [ $k -lt $((HANG * 10)) ] && [ -n "$pid" ] ||
    fatal "$2 ($1): the script did not start: $(head -c 500 "$T/err")"
}
# Should the test stop early (or the lifeline fail), what it started must
# not run on: the processes of any of its tokens.
all_ours() { grep -lzxE "LCTOK=ohr-lc-${T##*.}-[0-9]+" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true; }
at_exit 'for p in $(all_ours); do kill -9 "$p"; done'

none_left() { # one second after the kill: no process with the token
  sleep 1
  local left
  left=$(token_procs "$TOKEN")
  [ -z "$left" ] && return 0
  echo "# processes of the container left: $(echo $left)" >&2
  ps -o pid,user,sid,pgid,args -p "$(echo $left | tr ' ' ,)" 2>/dev/null | sed 's/^/#   /' >&2
  return 1
}

containers() { # who runtime: the runtime's containers under the state root
  local root=$T/$1/state/$2
  [ -d "$root" ] || return 0
  "$2" --root "$root" list 2>/dev/null | grep -o 'ohr-[0-9a-f-]*' || true
}
bundles() { ls "$T/$1/state/bundles" 2>/dev/null | grep -c '^ohr-' || true; }
out_dir() { echo "$T/$1/target/debug/build/pkg-0000/out"; }

# The run after a kill: succeeds, says what it swept, and leaves nothing.
next_run_sweeps() { # who runtime what
  local who=$1 rt=$2
  new_token
  if ! run_runner "$who" "$rt" quick >"$T/out2" 2>"$T/err2"; then
    not_ok "$rt ($who) $3: the next run succeeds"
    sed 's/^/#   /' "$T/err2" | head -5
    return
  fi
  ok "$rt ($who) $3: the next run succeeds"
  check "$rt ($who) $3: the next run says it swept the stale run" \
    assert_file_has "$T/err2" "stale run ohr-[0-9]+-[0-9]+-[0-9a-f]{12}: bundle and source overlay removed"
  check "$rt ($who) $3: no bundle, no source overlay upper left" assert_eq 0 "$(bundles "$who")" "bundles"
  # as root under crun on cgroup v1 the run made its memory cgroup itself
  # (src/runtime/memcg.h; not with --degraded proc, where crun makes its
  # cgroups): the sweep removes it, named by the run's id
  local id mp
  id=$(sed -n 's/.*stale run \(ohr-[0-9]*-[0-9]*-[0-9a-f]*\): bundle.*/\1/p' "$T/err2" | head -1)
  mp=$(memcg_parent)
  if [ "$who" = r ] && [ "$rt" = crun ] && [ -n "$mp" ] && [ "$3" != "--degraded proc" ]; then
    check "$rt ($who) $3: the next run removed the stale run's memory cgroup" \
      assert_file_has "$T/err2" "stale run $id: its memory cgroup removed"
  fi
  check "$rt ($who) $3: no memory cgroup of the stale run left" test ! -e "${mp:-/nonexistent}/$id"
  check "$rt ($who) $3: no container left under the runtime's root" \
    assert_eq "" "$(containers "$who" "$rt"; containers "$who" runc; containers "$who" crun)" "containers"
  check "$rt ($who) $3: OUT_DIR's link to /etc/passwd is removed" test ! -L "$(out_dir "$who")/passwd-link"
  check "$rt ($who) $3: OUT_DIR's setuid file is cleared" \
    assert_eq 755 "$(stat -c %a "$(out_dir "$who")/suid-tool")" "mode of suid-tool"
}

for rt in $(runtimes); do
  for who in r u; do
    # ---- the runner alone is killed
    start "$who" "$rt" sleep
    kill -9 "$pid"
    check "$rt ($who) kill -9 runner: no process of the container after one second" none_left
    check "$rt ($who) kill -9 runner: precondition: its bundle was left" test "$(bundles "$who")" -ge 1
    check "$rt ($who) kill -9 runner: precondition: OUT_DIR holds the setuid file" \
      assert_eq 4755 "$(stat -c %a "$(out_dir "$who")/suid-tool")" "mode of suid-tool"
    run_as "$who" "$RUNNER" doctor >"$T/doctor" 2>&1 || true
    check "$rt ($who) kill -9 runner: doctor names the stale run" \
      assert_file_has "$T/doctor" "state dir: .*1 run whose runner died left state here; the next run sweeps it"
    next_run_sweeps "$who" "$rt" "kill -9 runner"

    # ---- the runner and the runtime are killed together
    start "$who" "$rt" sleep
    kill -9 -- "-$pid"
    check "$rt ($who) kill -9 group: no process of the container after one second" none_left
    check "$rt ($who) kill -9 group: precondition: the killed runtime left its container" \
      test -n "$(containers "$who" "$rt")"
    next_run_sweeps "$who" "$rt" "kill -9 group"

    # ---- a live run is never swept, even by a runner in another PID
    # namespace, to which its pid looks dead: the bundle's lock says
    # otherwise
    if [ "$who" = r ]; then
      start "$who" "$rt" sleep
      outer=$TOKEN outer_pid=$pid
      outer_bundle=$(ls "$T/$who/state/bundles")
      new_token
      rc=0
      NSPRE=(unshare --pid --fork --mount-proc) OUT_SUB=pkg-2222
      run_runner "$who" "$rt" quick >"$T/out2" 2>"$T/err2" || rc=$?
      NSPRE=() OUT_SUB=pkg-0000
      [ $rc -eq 0 ] || sed 's/^/#   /' "$T/err2" | head -5
      check "$rt ($who) live run: a run in another PID namespace succeeds" assert_eq 0 "$rc" "exit code"
      check "$rt ($who) live run: precondition: that run cannot see the live runner's pid"         unshare --pid --fork --mount-proc sh -c "! test -e /proc/$outer_pid"
      check "$rt ($who) live run: it does not sweep the live run" assert_file_lacks "$T/err2" "stale run"
      check "$rt ($who) live run: the live run's bundle stays" test -d "$T/$who/state/bundles/$outer_bundle"
      TOKEN=$outer
      check "$rt ($who) live run: the live run's script still runs" test -n "$(token_procs "$TOKEN")"
      kill -9 "$outer_pid"
      check "$rt ($who) live run, then kill -9: no process of the container after one second" none_left
      next_run_sweeps "$who" "$rt" "live run, then kill -9"
    fi

    # ---- no PID namespace: processes that left the session
    start "$who" "$rt" escape --degraded proc
    kill -9 "$pid"
    check "$rt ($who) --degraded proc: no process after one second, setsid'd ones included" none_left
    next_run_sweeps "$who" "$rt" "--degraded proc"

    # ---- a forged report
    for mode in default degraded; do
      opt=()
      [ $mode = degraded ] && opt=(--degraded proc)
      new_token
      rc=0
      run_runner "$who" "$rt" forge "${opt[@]}" >"$T/out" 2>"$T/err" || rc=$?
      check "$rt ($who, $mode) forged report: the script's exit 7 is the runner's" assert_eq 7 "$rc" "exit code"
      check "$rt ($who, $mode) forged report: /proc/1/fd/3 is closed to the script" \
        assert_file_has "$T/out" "^blocked: (open|write) /proc/1/fd/3"
      check "$rt ($who, $mode) forged report: nothing got through" assert_file_lacks "$T/out" "^forged"
    done
    check "$rt ($who, degraded) forged report: the init's fd 3 (/proc/PPID/fd/3) is closed too" \
      assert_file_has "$T/out" "^blocked: (open|write) /proc/[0-9]+/fd/3"
  done
done
finish
