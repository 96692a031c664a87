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

# No check here depends on how long anything takes.  HANG only turns a
# hang (stdout held back until the script ends, a lost signal, a runner
# that never exits) into a failure instead of a wait for the suite's time
# limit; it is far above any normal duration.
HANG=120
wait_for() { # file pattern seconds
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}

# The scripts' long sleep has a duration no other process on the machine
# uses (its fraction comes from this test's private temp dir), so counting
# it counts only what this test started: other tests, or another run of
# this one, may run at the same time.
LONG=300.$(printf '%s' "$T" | cksum | cut -d' ' -f1)
ours() { pgrep -fxc "sleep ${LONG//./\\.}" || true; }

# The runner in the background: pid in $pid, stdout in $T/out, stderr $T/err
# The runner's status goes through a file, not bash's `wait`: under load
# bash 5.2 can lose a background job's status ("wait_for: No record of
# process").  A small sh wrapper runs the runner and writes its status;
# $pid is the runner itself (the wrapper's child).
start() { # runtime
  rm -f "$T/rc"
  sh -c '"$@"; echo $? >"$0"' "$T/rc" "$OHR" --runtime "$1" "$SCRIPT" >"$T/out" 2>"$T/err" &
  local w=$! k=0
  pid=
  while [ -z "$pid" ] && kill -0 "$w" 2>/dev/null && [ $k -lt $((HANG * 100)) ]; do
    pid=$(pgrep -P "$w" || true)
    [ -n "$pid" ] || sleep 0.01
    k=$((k + 1))
  done
  [ -n "$pid" ] || fatal "$1: the runner did not start: $(head -c 500 "$T/err")"
}
ended() { # tenths of a second: whether the runner ends within them
  local k=0
  while [ ! -s "$T/rc" ] && [ $k -lt "$1" ]; do sleep 0.1; k=$((k + 1)); done
  [ -s "$T/rc" ]
}
finish_rc() { # the runner's exit status in $rc, once it has exited
  ended $((HANG * 10)) || fatal "the runner did not exit within ${HANG}s (hang): $(head -c 500 "$T/err")"
  rc=$(cat "$T/rc")
  pid=
}
# Should a precondition stop the test, the runner it left running is
# stopped too (its script would otherwise sleep on for minutes): SIGTERM,
# then a second signal, which kills the container.
pid=
stop_runner() {
  [ -n "$pid" ] && [ ! -s "$T/rc" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  ended 50 && return 0
  kill -HUP "$pid" 2>/dev/null || return 0
  ended $((HANG * 10)) || echo "# the runner $pid did not stop" >&2
}
at_exit stop_runner

# Precondition of each signal case: the script runs (its "ready" is on the
# runner's stdout) and so does its background sleep, which the signal never
# reaches: it can die only with the container.  A signal sent before would
# test the start-up instead, and "none left" would prove nothing if the
# sleep were never seen.
script_running() { # what
  wait_for "$T/out" ready "$HANG" ||
    fatal "$1: the script did not print 'ready' within ${HANG}s: $(head -c 500 "$T/err")"
  local k=0
  until [ "$(ours)" = 1 ]; do
    [ $k -lt $((HANG * 10)) ] || fatal "$1: expected the script's one 'sleep $LONG', found $(ours)"
    sleep 0.1
    k=$((k + 1))
  done
}

# Precondition of the start-up case: the runner has started the runtime
# (its stop signals are blocked from then on), matched by name, so only
# after the runtime's exec.
runtime_started() { # runtime
  local end=$((SECONDS + HANG))
  until pgrep -x -P "$pid" "$1" >/dev/null; do
    [ ! -s "$T/rc" ] || fatal "$1: the runner ended before it started $1: $(head -c 500 "$T/err")"
    [ $SECONDS -lt $end ] || fatal "$1: no $1 process under the runner within ${HANG}s"
  done
}

for rt in $(runtimes); do
  put_script 'printf "cargo:a=\377\376 bytes\r\n"; printf "no newline"; printf "err\n" >&2'
  rc=0
  "$OHR" --runtime "$rt" "$SCRIPT" >"$T/out" 2>"$T/err" || rc=$?
  printf 'cargo:a=\377\376 bytes\r\nno newline' >"$T/expected"
  check "$rt: a script that exits 0 gives 0" assert_eq 0 "$rc" "exit code"
  check "$rt: stdout passes through byte for byte" cmp "$T/expected" "$T/out"
  check "$rt: stderr passes through" assert_eq "err" "$(cat "$T/err")" "stderr"

  # Streaming without a clock: the script prints a line, then waits for a
  # file that the test creates only once it has read that line from the
  # runner's stdout.  Were stdout held until the script ends, neither could
  # go on: HANG reports that deadlock.
  rm -f "$OUT_DIR/go"
  put_script 'echo first; while [ ! -e "$OUT_DIR/go" ]; do sleep 0.05; done; echo second'
  start "$rt"
  check "$rt: stdout streams: the first line arrives while the script waits for it to be read" \
    wait_for "$T/out" first "$HANG"
  check "$rt: ... from a runner still running, before any later line" \
    bash -c "! grep -q second '$T/out' && [ ! -s '$T/rc' ] && kill -0 $pid"
  touch "$OUT_DIR/go"
  finish_rc
  rm -f "$OUT_DIR/go"
  check "$rt: the streamed run completes" assert_eq 0 "$rc" "exit code"
  check "$rt: ... with the rest of its output, in order" \
    assert_eq "$(printf 'first\nsecond')" "$(cat "$T/out")" "stdout"

  # SIGTERM goes to the script (the shell, waiting); its background sleep
  # never gets it and must die with the container.
  put_script "sleep $LONG & echo ready; wait"
  start "$rt"
  script_running "$rt: SIGTERM"
  kill -TERM "$pid"
  finish_rc
  check "$rt: SIGTERM to the runner stops the script: 128+15" assert_eq 143 "$rc" "exit code"
  check "$rt: one line names the signal" assert_file_has "$T/err" "killed by signal 15 \(SIGTERM\)"
  check "$rt: after SIGTERM, no process of the script outlives the runner" \
    assert_eq 0 "$(ours)" "sleep $LONG processes"

  # The same signal while the container starts.  pid 1 of a PID namespace
  # drops a signal it has no handler for, so one passed on before the init
  # has set up its handlers is lost, and the script runs until the grace
  # period ends (137).  The runner holds it until the init says it is ready.
  start "$rt"
  runtime_started "$rt"
  kill -TERM "$pid"
  finish_rc
  check "$rt: SIGTERM while the container starts is not lost: 128+15" assert_eq 143 "$rc" "exit code"
  check "$rt: ... it reached the script (not just the runner)" \
    assert_file_has "$T/err" "killed by signal 15 \(SIGTERM\)"

  # the loop's sleeps run in the background (SIGINT ignored there), so only
  # the shell sees the forwarded signal, as a build script would
  put_script "sleep $LONG & "'trap "echo got-int; exit 7" INT; echo ready; while :; do sleep 0.1 & wait $!; done'
  start "$rt"
  script_running "$rt: SIGINT"
  kill -INT "$pid"
  finish_rc
  check "$rt: SIGINT is forwarded and the script's handler decides (exit 7)" assert_eq 7 "$rc" "exit code"
  check "$rt: the handler ran" assert_file_has "$T/out" got-int
  check "$rt: after the handler's exit, no process of the script outlives the runner" \
    assert_eq 0 "$(ours)" "sleep $LONG processes"

  # A script that does not stop on SIGTERM (its handler only says so) and
  # ignores SIGHUP.  SIGHUP is sent once the script has shown that it got
  # SIGTERM, so the order of the two is certain.
  put_script "sleep $LONG & "'trap "echo got-term" TERM; trap "" HUP; echo ready; while :; do sleep 0.1; done'
  start "$rt"
  script_running "$rt: SIGTERM then SIGHUP"
  kill -TERM "$pid"
  check "$rt: SIGTERM reaches a script that handles it and goes on" wait_for "$T/out" got-term "$HANG"
  kill -HUP "$pid"
  finish_rc
  check "$rt: a script that does not stop is killed on the second signal: 137" assert_eq 137 "$rc" "exit code"
  check "$rt: and the runner says so" assert_file_has "$T/err" "did not stop after SIGHUP and was killed"
  check "$rt: after the kill, no process of the script outlives the runner" \
    assert_eq 0 "$(ours)" "sleep $LONG processes"

  put_script 'kill -SEGV $$'
  rc=0; "$OHR" --runtime "$rt" "$SCRIPT" 2>"$T/err" || rc=$?
  check "$rt: a script killed by SIGSEGV gives 139" assert_eq 139 "$rc" "exit code"
  put_script 'exit 139'
  rc=0; "$OHR" --runtime "$rt" "$SCRIPT" 2>"$T/err" || rc=$?
  check "$rt: exit(139) is not mistaken for a signal" bash -c "[ $rc -eq 139 ] && ! grep -q signal '$T/err'"

  check "$rt: no container or bundle left" assert_eq 0 "$(leftovers "$STATE")" "leftovers"
done
finish
