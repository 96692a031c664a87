#!/usr/bin/env bash
# Streaming stdout, byte-exact output, signal forwarding, 128+N for a
# signal death, escalation to SIGKILL, and cleanup of the container.
. "$(dirname "$0")/../lib/libtest.sh"

STATE=$T/state
export OCI_HOST_RUNNER_STATE_DIR=$STATE OCI_HOST_RUNNER_CACHE_DIR=$T/cache
printf '#!/bin/sh\nexit 0\n' >"$T/s"
fake_cargo_context "$T/ctx" "$T/s"
cd "$T/ctx/pkg"
put_script() { printf '%s\n' "#!/bin/sh" "$1" >"$SCRIPT"; chmod 755 "$SCRIPT"; }
wait_for() { # file pattern seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
# The runner in the background: pid in $pid, stdout in $T/out, stderr $T/err
# The runner's status goes through a file, not bash's `wait`: under load
# bash 5.2 can lose a background job's status ("wait_for: No record of
# process").  A small sh wrapper runs the runner and writes its status;
# $pid is the runner itself (the wrapper's child).
start() {
  rm -f "$T/rc"
  sh -c '"$@"; echo $? >"$0"' "$T/rc" "$OHR" --runtime "$1" "$SCRIPT" >"$T/out" 2>"$T/err" &
  local w=$! k=0
  pid=
  while [ -z "$pid" ] && [ $k -lt 500 ]; do
    pid=$(pgrep -P "$w" || true)
    [ -n "$pid" ] || sleep 0.01
    k=$((k + 1))
  done
}
finish_rc() {
  local k=0
  while [ ! -s "$T/rc" ] && [ $k -lt 1200 ]; do sleep 0.05; k=$((k + 1)); done
  rc=$(cat "$T/rc")
}

for rt in $(runtimes); do
  put_script 'printf "cargo:a=\377\376 bytes\r\n"; printf "no newline"; printf "err\n" >&2'
  "$OHR" --runtime "$rt" "$SCRIPT" >"$T/out" 2>"$T/err"
  printf 'cargo:a=\377\376 bytes\r\nno newline' >"$T/expected"
  check "$rt: stdout passes through byte for byte" cmp "$T/expected" "$T/out"
  check "$rt: stderr passes through" assert_eq "err" "$(cat "$T/err")" "stderr"

  put_script 'echo first; sleep 3; echo second'
  start "$rt"
  check "$rt: stdout streams (first line before the script ends)" wait_for "$T/out" first 2
  check "$rt: ... while the script is still running" bash -c "! grep -q second '$T/out' && kill -0 $pid"
  finish_rc
  check "$rt: the streamed run completes" assert_eq 0 "$rc" "exit code"

  put_script 'echo ready; exec sleep 300'
  start "$rt"
  wait_for "$T/out" ready 10 || true
  kill -TERM "$pid"
  finish_rc
  check "$rt: SIGTERM to the runner stops the script: 128+15" assert_eq 143 "$rc" "exit code"
  check "$rt: one line names the signal" assert_file_has "$T/err" "killed by signal 15 \(SIGTERM\)"

  # the sleeps run in the background (SIGINT ignored there), so only the
  # shell sees the forwarded signal, as a build script would
  put_script 'trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.1 & wait $!; done'
  start "$rt"
  wait_for "$T/out" ready 10 || true
  kill -INT "$pid"
  finish_rc
  check "$rt: SIGINT is forwarded and the script's handler decides (exit 7)" assert_eq 7 "$rc" "exit code"
  check "$rt: the handler ran" assert_file_has "$T/out" got-int

  put_script 'trap "" TERM HUP; echo ready; while :; do sleep 0.1; done'
  start "$rt"
  wait_for "$T/out" ready 10 || true
  kill -TERM "$pid"; sleep 0.5; kill -HUP "$pid"
  finish_rc
  check "$rt: a script ignoring signals is killed on the second one: 137" assert_eq 137 "$rc" "exit code"
  check "$rt: and the runner says so" assert_file_has "$T/err" "did not stop after SIGHUP and was killed"

  put_script 'kill -SEGV $$'
  rc=0; "$OHR" --runtime "$rt" "$SCRIPT" 2>"$T/err" || rc=$?
  check "$rt: a script killed by SIGSEGV gives 139" assert_eq 139 "$rc" "exit code"
  put_script 'exit 139'
  rc=0; "$OHR" --runtime "$rt" "$SCRIPT" 2>"$T/err" || rc=$?
  check "$rt: exit(139) is not mistaken for a signal" bash -c "[ $rc -eq 139 ] && ! grep -q signal '$T/err'"

  check "$rt: no container or bundle left" assert_eq 0 "$(leftovers "$STATE")" "leftovers"
  check "$rt: no script process left" assert_eq 0 "$(pgrep -fx 'sleep 300' | wc -l)" "sleep processes"
done
finish
