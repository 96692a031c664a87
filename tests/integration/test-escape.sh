#!/usr/bin/env bash
# Escape battery: every crate in tests/escape is a real build script that
# tries to get out of its container (network, secrets, other processes,
# mounts, setuid, limits, symlinks, leftovers).  Each is built by real cargo
# through the runner, on runc and crun, as root and as an unprivileged user
# (rootless), and the outcome is checked from the host: listener counts,
# checksums of the source tree and of the planted home before and after,
# the host's mount table, the target process's state, processes left over
# (found by a token new for every build, in the environment of every
# process the script starts), a heartbeat from the daemon, and the step the
# planted symlinks aim at (the host's rustc) rerun on the OUT_DIR left.
# What each case tries and how it is contained: tests/escape/RESULTS.md.
#
# Safety: the attack scripts never run outside the runner (only cargo with
# host.runner set builds them); every attempt is bounded and aims only at
# what this test planted under $T.
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "test-escape needs root (root runs, and a test user for rootless ones)"
ensure_test_user
TU=$TEST_USER
UID_U=$(id -u "$TU")
started=$(date +%s)
E=$TOP/tests/escape
SYSROOT=$(rustc --print sysroot)
mkdir -p "$T/log" "$T/bin" "$T/toolchain"
# The runner and its init where the test user can reach them (and where a
# concurrent rebuild of $OHR cannot swap them mid-test).
cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/bin/"

# Small limits, so that the fork bomb, the memory hog and the sleeper are
# quick; the other cases keep a generous timeout for a loaded machine.
POL=$T/policy.json
cat >"$POL" <<'JSON'
{ "version": 1,
  "defaults": { "memory": "256M", "pids": 64, "timeout": "60s" },
  "packages": [
    { "package": "ohr-escape-fork-bomb", "source": "path", "timeout": "3s" },
    { "package": "ohr-escape-memory-hog", "source": "path", "memory": "128M", "timeout": "3s" },
    { "package": "ohr-escape-sleep-forever", "source": "path", "timeout": "3s" },
    { "package": "ohr-escape-symlink-timeout", "source": "path", "timeout": "3s" } ] }
JSON
chmod 644 "$POL"
PIDS_LIMIT=64

# --- host side: listeners, target processes, planted secrets -------------

/usr/bin/python3 "$E/listeners.py" "$T" &
at_exit "kill $! 2>/dev/null"
for _ in $(seq 100); do [ -f "$T/ready" ] && break; sleep 0.05; done
[ -f "$T/ready" ] || fatal "the host listeners did not start"
. "$T/ready" # TCP_PORT UDP_PORT DNS_PORT ABSTRACT
count() { cat "$T/count-$1"; }
# The listeners really count what the host sends them (else the checks
# below prove nothing).
/usr/bin/python3 - "$TCP_PORT" "$UDP_PORT" "$DNS_PORT" "$ABSTRACT" <<'PY'
import socket, sys
tcp, udp, dns, ab = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
socket.create_connection(("127.0.0.1", tcp), 2).close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.settimeout(2)
u.sendto(b"probe", ("127.0.0.1", udp)); u.recvfrom(64)
u.sendto(b"\x4f\x48\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x01x\x00\x00\x01\x00\x01", ("127.0.0.1", dns))
assert u.recvfrom(512)[0].endswith(bytes([192, 0, 2, 53]))
a = socket.socket(socket.AF_UNIX); a.connect("\0" + ab); a.close()
PY
sleep 0.2
check "the host reaches every listener (tcp, udp, dns, abstract: 1 each)" \
  assert_eq "1 1 1 1" "$(count tcp) $(count udp) $(count dns) $(count abstract)" "counts"

# Two trees: r (root) and u (the test user), each with a copy of the
# battery, a fake home with secrets, and a host process holding a secret
# in its environment (owned by that user: a same-user process is what a
# script could read or trace without containment).
SETUID_PROBE=$T/probe
rustc -O --edition 2021 -o "$SETUID_PROBE" "$E/setuid/probe.rs" 2>"$T/log/probe.log" ||
  fatal "cannot compile the setuid probe"
declare -A TARGET_PID
for who in r u; do
  tree=$T/$who
  mkdir -p "$tree/home/.ssh" "$tree/home/.cargo" "$tree/home/.docker" "$tree/cargo-home"
  cp -r "$E" "$tree/escape"
  rm -rf "$tree/escape/target"
  echo "secret-marker-$who-ssh" >"$tree/home/.ssh/id_rsa"
  echo "token = \"secret-marker-$who-cargo\"" >"$tree/home/.cargo/credentials.toml"
  echo "{\"auths\":{\"x\":{\"auth\":\"secret-marker-$who-docker\"}}}" >"$tree/home/.docker/config.json"
  echo "# the host user's .bashrc" >"$tree/home/.bashrc"
  chmod 700 "$tree/home/.ssh"
  chmod 600 "$tree/home/.ssh/id_rsa"
  # no other user may reach the trees: they hold a setuid-root probe (and
  # whatever setuid files the scripts plant in OUT_DIR)
  chmod 700 "$tree"
  [ "$who" = u ] && chown -R "$TU:" "$tree"
  # setuid: a setuid-root probe, a probe with file capabilities, and a file
  # only a capability could read, in the package source
  s=$tree/escape/setuid
  install -o root -g root -m 4755 "$SETUID_PROBE" "$s/probe-setuid"
  install -o root -g root -m 0755 "$SETUID_PROBE" "$s/probe-fcaps"
  setcap cap_dac_override,cap_dac_read_search+ep "$s/probe-fcaps"
  echo "setuid-secret-marker" >"$s/secret-nobody.txt"
  chown nobody:nogroup "$s/secret-nobody.txt"
  chmod 600 "$s/secret-nobody.txt"
done
env OHR_ESC_HOST_SECRET=proc-secret-marker-r sleep 600 &
TARGET_PID[r]=$!
at_exit "kill ${TARGET_PID[r]} 2>/dev/null"
setpriv --reuid="$TU" --regid="$TU" --clear-groups env OHR_ESC_HOST_SECRET=proc-secret-marker-u sleep 600 &
TARGET_PID[u]=$!
at_exit "kill ${TARGET_PID[u]} 2>/dev/null"
sleep 0.2

# Controls: without the runner these attacks work on this host.
check "control: the host target's environ holds its secret" grep -q proc-secret-marker-u "/proc/${TARGET_PID[u]}/environ"
as_user() { setpriv --reuid="$TU" --regid="$TU" --clear-groups "$@"; }
as_user "$T/u/escape/setuid/probe-setuid" >"$T/log/control-setuid.txt" 2>&1 || true
check "control: on the host the setuid probe gives $TU euid 0 and reads the file" \
  assert_file_has "$T/log/control-setuid.txt" "uid=$UID_U euid=0 .*read=ok:setuid-secret-marker"
as_user "$T/u/escape/setuid/probe-fcaps" >"$T/log/control-fcaps.txt" 2>&1 || true
check "control: on the host the file-capability probe reads the file" \
  assert_file_has "$T/log/control-fcaps.txt" "capeff=0*6 read=ok:setuid-secret-marker"

# Processes the test started: every build passes its own OHR_ESC_TOKEN with
# --env, and every process of the script inherits it.  Only processes of
# this build carry it (not the runner, not Cargo, not a concurrent test),
# so the scan below finds nothing else on a busy machine.
token_procs() { # token: their pids, one a line
  grep -lzxF "OHR_ESC_TOKEN=$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true
}
ctl_token=ohr-esc-control-${T##*.}
setpriv --reuid="$TU" --regid="$TU" --clear-groups env OHR_ESC_TOKEN="$ctl_token" sleep 60 &
ctl_pid=$!
at_exit "kill $ctl_pid 2>/dev/null"
sleep 0.2
check "control: the scan finds a process of $TU by the token in its environment, and only it" \
  assert_eq "$ctl_pid" "$(token_procs "$ctl_token" | tr '\n' ' ' | sed 's/ $//')" "processes with the control token"
kill "$ctl_pid"
wait "$ctl_pid" 2>/dev/null || true

# The step the symlink cases aim at, run by the test on the host as Cargo
# would run it after the script (Cargo stops when the runner fails the
# script, so it never gets there by itself): rustc compiles the case's
# src/main.rs, which include_str!s OUT_DIR/leak.txt.  Prints "leaked" (the
# binary it built holds a secret), "clean" (built, without one), "gone"
# (there was no leak.txt to read) or "error: ...".
later_step() { # case out-dir binary
  local r=clean
  mkdir -p "$(dirname "$3")"
  if OUT_DIR=$2 rustc --edition 2021 -o "$3" "$E/$1/src/main.rs" 2>"$3.err"; then
    grep -qa "secret-marker-" "$3" && r=leaked
  elif grep -q "couldn't read .*/leak\.txt.: No such file or directory" "$3.err"; then
    r=gone
  else
    r="error: $(head -1 "$3.err")"
  fi
  echo "$r"
}
# Controls: a link left in OUT_DIR, direct or through the chain of links
# that each look inside, puts the secret into that binary.
ctl=$T/control-out
mkdir -p "$ctl/direct" "$ctl/chain"
ln -s "$T/r/home/.ssh/id_rsa" "$ctl/direct/leak.txt"
(
  cd "$ctl/chain" || exit 1
  ln -s . s
  prev=s
  for i in $(seq 24); do ln -s "$prev/.." "u$i" && prev=u$i; done
  ln -s "$prev/${T#/}/r/home/.ssh/id_rsa" leak.txt
)
check "control: a link to the secret left in OUT_DIR puts it into the binary the host's rustc builds" \
  assert_eq leaked "$(later_step symlink-out "$ctl/direct" "$T/later/control-direct")" "later step"
check "control: ... and so does the chain of links that each stay inside" \
  assert_eq leaked "$(later_step symlink-chain "$ctl/chain" "$T/later/control-chain")" "later step"

# --- what the host looks like before --------------------------------------

# Names, types, modes, owners, link targets and contents of a tree.
sum_tree() {
  (cd "$1" && {
    find . -path ./target -prune -o -printf '%p %y %m %u %g %l\n' | LC_ALL=C sort
    find . -path ./target -prune -o -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
  }) | sha256sum | cut -d' ' -f1
}
# The host's mounts, without those of concurrent tests and runs.
host_mounts() {
  grep -vE "/tmp/ohr-test\.|/run/oci-host-runner|/tmp/oci-host-runner|/run/user/" /proc/self/mountinfo || true
  grep -F "$T" /proc/self/mountinfo || true
}
# What a script could leave on the host outside its tree.
host_leftovers() {
  ls -d /tmp/ohr-esc-persist /dev/shm/ohr-esc-persist /var/tmp/ohr-esc-persist 2>/dev/null || true
  ipcs -m | grep -i 0x4f485253 || true
}
declare -A SRC_SUM HOME_SUM
for who in r u; do
  SRC_SUM[$who]=$(sum_tree "$T/$who/escape")
  HOME_SUM[$who]=$(sum_tree "$T/$who/home")
done
host_mounts >"$T/mounts.before"
[ -z "$(host_leftovers)" ] || fatal "leftovers of an earlier run on the host: $(host_leftovers)"

# --- building a case -------------------------------------------------------

# The test user's cargo: the toolchain under /root (mode 700) is bound to
# $T/toolchain in a private mount namespace, as in test-rootless.
cat >"$T/u/cargo.sh" <<SH
set -e
export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$T/u/home CARGO_HOME=$T/u/cargo-home
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never
export OCI_HOST_RUNNER_STATE_DIR=$T/u/state OCI_HOST_RUNNER_CACHE_DIR=$T/u/cache
export OHR_ESC_NONCE=\$1
cd $T/u/escape
exec cargo build --offline -p "ohr-escape-\$2" -Zhost-config -Ztarget-applies-to-host \
  --target-dir $T/u/target --config "host.runner=[\$3]"
SH
chmod 755 "$T/u/cargo.sh"

nonce=0
next_token() { echo "ohr-esc-${T##*.}-$((nonce + 1))"; }
# build CASE [RUNNER-ARGS...]: cargo build of one case through the runner,
# as $who with runtime $rt (and the runner arguments in EXTRA).  Sets RC
# (cargo's status), LOG (cargo's output), OUT (OUT_DIR), RES (the script's
# result.txt), ERRF (the script's captured stderr, or the log when the
# build failed), SECS (wall time, only printed: a loaded machine makes
# any bound on it flaky), TOKEN (this build's token, passed to the script
# as OHR_ESC_TOKEN).  Every run reruns the script (OHR_ESC_NONCE changes)
# in a cleared OUT_DIR.
build() {
  local case=$1
  shift
  TOKEN=$(next_token)
  nonce=$((nonce + 1))
  local args="\"$T/bin/oci-host-runner\",\"--runtime\",\"$rt\",\"--policy\",\"$POL\",\"-v\",\"--env\",\"OHR_ESC_TOKEN=$TOKEN\"" a
  for a in "${EXTRA[@]}" "$@"; do args+=",\"$a\""; done
  LOG=$T/log/$who-$rt-$case-$nonce.log
  rm -rf "$T/$who/target/debug/build/ohr-escape-$case-"*/out/* "$T/$who/target/debug/build/ohr-escape-$case-"*/out/.??*
  local t0
  t0=$(date +%s.%N)
  RC=0
  if [ "$who" = r ]; then
    (cd "$T/r/escape" && HOME=$T/r/home OHR_ESC_NONCE=$nonce CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never \
      OCI_HOST_RUNNER_STATE_DIR=$T/r-state OCI_HOST_RUNNER_CACHE_DIR=$T/r/cache \
      cargo build --offline -p "ohr-escape-$case" -Zhost-config -Ztarget-applies-to-host \
      --target-dir "$T/r/target" --config "host.runner=[$args]") >"$LOG" 2>&1 || RC=$?
  else
    unshare -m --propagation private bash -c \
      'mount --bind "$1" "$2" && exec setpriv --reuid="$3" --regid="$3" --clear-groups env -i bash "$4" "$5" "$6" "$7"' \
      - "$SYSROOT" "$T/toolchain" "$TU" "$T/u/cargo.sh" "$nonce" "$case" "$args" >"$LOG" 2>&1 || RC=$?
  fi
  SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  OUT=$(ls -d "$T/$who/target/debug/build/ohr-escape-$case-"*/out 2>/dev/null | head -1 || true)
  if [ -z "$OUT" ]; then # the script never ran
    OUT=$T/no-out-dir
    mkdir -p "$OUT"
  fi
  RES=$OUT/result.txt
  if [ ! -f "$RES" ]; then # it wrote nothing
    RES=$T/no-result.txt
    : >"$RES"
  fi
  ERRF=$LOG
  [ "$RC" -eq 0 ] && ERRF=$(dirname "$OUT")/stderr
  echo "# $who $rt $case: exit $RC in ${SECS}s" >&2
  sed 's/^/#   /' "$RES" >&2
  if [ ! -s "$RES" ] && [ "$RC" -ne 0 ]; then # the script said nothing
    grep -vE '^ *(Compiling|Finished|Running)' "$LOG" | tail -8 | sed 's/^/#   cargo: /' >&2
  fi
}

# The runner ran this build script, with this runtime, root or rootless.
ran_in() {
  local mode=root
  [ "$who" = u ] && mode=rootless
  assert_file_has "$ERRF" "oci-host-runner: runtime .*$rt.*$mode"
}
# Nothing the script touched outside OUT_DIR changed.
host_unchanged() {
  assert_eq "${SRC_SUM[$who]}" "$(sum_tree "$T/$who/escape")" "source tree checksum" &&
    assert_eq "${HOME_SUM[$who]}" "$(sum_tree "$T/$who/home")" "home checksum" &&
    assert_eq "" "$(host_leftovers)" "leftovers in the host's /tmp, /dev/shm, /var/tmp, SysV IPC"
}
no_escape() { assert_file_lacks "$RES" "ESCAPED"; }
lacks_secrets() { # files...
  local f
  for f in "$@"; do assert_file_lacks "$f" "secret-marker" || return 1; done
}
# watch_token TOKEN FILE: the pids of the first processes seen with TOKEN
# (10 s at most), into FILE: proof that the scan sees a running script's
# processes, in this mode and runtime.
watch_token() {
  local i p
  for i in $(seq 100); do
    p=$(token_procs "$1")
    [ -n "$p" ] && { echo "$p" >"$2"; return 0; }
    sleep 0.1
  done
  : >"$2"
}
# No process of the last build is left on the host: none carries its
# token.  The script reported the token, so its processes had it.
no_procs() {
  local i
  assert_file_has "$RES" "^info: token $TOKEN$" || return 1
  for i in $(seq 30); do
    [ -z "$(token_procs "$TOKEN")" ] && return 0
    sleep 0.1
  done
  echo "# processes of this build left on the host: $(token_procs "$TOKEN" | tr '\n' ' ')" >&2
  ps -o pid,user,comm,args -p "$(token_procs "$TOKEN" | head -5 | paste -sd,)" 2>/dev/null | sed 's/^/#   /' >&2
  return 1
}
status_is() { assert_file_has "$LOG" "exit status: $1\)"; }
# killed by signal N: Cargo says so as it does natively (the runner dies by it)
signal_is() { assert_file_has "$LOG" "\(signal: $1, SIG"; }
# "check" for one case: NAME prefixed with who/runtime.
c() {
  local name=$1
  shift
  check "$P: $name" "$@"
}

# One function per case (WHO and RT in $who, $rt; $P labels the checks).
case_net_tcp() {
  local before
  before=$(count tcp)
  build net-tcp --env "OHR_ESC_TCP_PORT=$TCP_PORT"
  c "net-tcp: ran in the container" ran_in
  c "net-tcp: connection refused inside" assert_file_has "$RES" "^blocked: tcp 127.0.0.1:$TCP_PORT: Connection refused"
  c "net-tcp: the host listener saw nothing" assert_eq "$before" "$(count tcp)" "tcp connections"
  build net-tcp --network host --env "OHR_ESC_TCP_PORT=$TCP_PORT"
  c "net-tcp: control: --network host reaches the listener" assert_eq "$((before + 1))" "$(count tcp)" "tcp connections"
}

case_net_udp() {
  local before
  before=$(count udp)
  build net-udp --env "OHR_ESC_UDP_PORT=$UDP_PORT"
  c "net-udp: no reply inside" assert_file_has "$RES" "^blocked: udp 127.0.0.1:$UDP_PORT: .*no reply"
  c "net-udp: the host listener got no datagram" assert_eq "$before" "$(count udp)" "udp datagrams"
  build net-udp --network host --env "OHR_ESC_UDP_PORT=$UDP_PORT"
  c "net-udp: control: --network host reaches the listener" assert_eq "$((before + 3))" "$(count udp)" "udp datagrams"
}

case_net_dns() {
  local before
  before=$(count dns)
  build net-dns --env "OHR_ESC_DNS_PORT=$DNS_PORT"
  c "net-dns: no answer inside" assert_file_has "$RES" "^blocked: dns 127.0.0.1:$DNS_PORT: .*no answer"
  c "net-dns: the system resolver fails too" assert_file_has "$RES" "^blocked: getaddrinfo"
  c "net-dns: the host resolver got no query" assert_eq "$before" "$(count dns)" "dns queries"
  build net-dns --network host --env "OHR_ESC_DNS_PORT=$DNS_PORT"
  c "net-dns: control: --network host gets the answer" assert_file_has "$RES" "escape.ohr.test is 192.0.2.53"
}

case_net_abstract() {
  local before
  before=$(count abstract)
  build net-abstract --env "OHR_ESC_ABSTRACT=$ABSTRACT"
  c "net-abstract: connection refused inside" assert_file_has "$RES" "^blocked: abstract unix socket @$ABSTRACT: Connection refused"
  c "net-abstract: the host listener saw nothing" assert_eq "$before" "$(count abstract)" "abstract connections"
  build net-abstract --network host --env "OHR_ESC_ABSTRACT=$ABSTRACT"
  c "net-abstract: control: --network host reaches the listener" assert_eq "$((before + 1))" "$(count abstract)" "abstract connections"
}

case_write_source() {
  build write-source
  c "write-source: ran in the container" ran_in
  c "write-source: fails with 124 (policy)" status_is 124
  c "write-source: the error names the files" assert_file_has "$LOG" "wrote .*(victim|generated).*; build scripts may write only to OUT_DIR"
  c "write-source: source tree and workspace unchanged" host_unchanged
}

case_home_secrets() {
  local home=$T/$who/home
  build home-secrets --env "OHR_ESC_HOSTHOME=$home"
  c "home-secrets: ran" status_is_ok
  c "home-secrets: HOME is the private tmpfs" assert_file_has "$RES" "^info: HOME=/tmp/home$"
  c "home-secrets: the host home is not there" assert_file_has "$RES" "^blocked: read $home/.ssh/id_rsa: No such file"
  c "home-secrets: no secret in the output or the environment" lacks_secrets "$RES" "$LOG" "$ERRF"
  c "home-secrets: the host home is unchanged" host_unchanged
}

case_proc_environ() {
  build proc-environ --env "OHR_ESC_TARGET_PID=${TARGET_PID[$who]}"
  c "proc-environ: the host process is not visible" assert_file_has "$RES" "^blocked: read /proc/${TARGET_PID[$who]}/environ: No such file"
  c "proc-environ: its secret is nowhere in the output" lacks_secrets "$RES" "$LOG" "$ERRF"
}

case_ptrace() {
  build ptrace --env "OHR_ESC_TARGET_PID=${TARGET_PID[$who]}"
  c "ptrace: PTRACE_ATTACH is refused by the seccomp profile (EPERM)" assert_file_has "$RES" "^blocked: ptrace\(PTRACE_ATTACH, ${TARGET_PID[$who]}\): Operation not permitted"
  c "ptrace: kill(0) finds no such process (PID namespace)" assert_file_has "$RES" "^blocked: kill\(${TARGET_PID[$who]}, 0\): No such process"
  c "ptrace: nothing reached the host process (attach, seize, vm_readv, pidfd, kill)" no_escape
  c "ptrace: the host process runs on, not stopped" target_running
}

case_mount() {
  build mount
  c "mount: the script runs to its end" status_is_ok
  c "mount: no mount without capabilities (EPERM)" assert_file_has "$RES" "^blocked: mount tmpfs on .*: Operation not permitted"
  c "mount: no remount of the read-only build directory (EPERM)" assert_file_has "$RES" "^blocked: remount <target>/debug/build read-write: Operation not permitted"
  c "mount: no nested user namespace (seccomp: EPERM)" assert_file_has "$RES" "^nested blocked: unshare\(CLONE_NEWUSER\|CLONE_NEWNS\): Operation not permitted"
  c "mount: nothing got out" no_escape
  c "mount: the host's mount table is unchanged" host_mounts_unchanged
  c "mount: nothing written through a remount" test ! -e "$(dirname "$(dirname "$OUT")")/escaped-mount.txt"
}

# syscalls: what the seccomp profile answers each call (NAME=ERRNO or
# NAME=ok, compared with the script's "info: syscall NAME: ..." lines).
SECCOMP_ENOSYS="add_key request_key keyctl io_uring_setup io_uring_enter io_uring_register clone3"
SECCOMP_EPERM="userfaultfd perf_event_open bpf kexec_load kexec_file_load open_by_handle_at mount
  umount2 pivot_root swapon reboot init_module finit_module setns chroot ptrace process_vm_readv kcmp
  settimeofday clock_settime iopl get_mempolicy vmsplice fsopen open_tree mount_setattr sethostname
  acct personality(ADDR_NO_RANDOMIZE) unshare(CLONE_NEWUSER)
  unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET) clone(CLONE_NEWUSER)"
SECCOMP_OK="personality(0xffffffff) unshare(CLONE_FILES) thread spawn"
syscalls_are() { # NAME=WANT...
  local kv name want got bad=0
  for kv in "$@"; do
    name=${kv%=*} want=${kv##*=}
    got=$(awk -v p="info: syscall $name: " 'index($0, p) == 1 { print substr($0, length(p) + 1) }' "$RES")
    [ "$got" = "$want" ] && continue
    echo "# syscall $name: got '${got:-no line}', want '$want'" >&2
    bad=1
  done
  return $bad
}
# The policies of the controls: the profile relaxed for named calls, and
# no filter at all (what the kernel answers without one).
POL_RELAXED=$T/policy-relaxed.json
POL_UNCONFINED=$T/policy-unconfined.json
sed 's/"packages": \[/"packages": [ { "package": "ohr-escape-syscalls", "source": "path", "syscalls": ["keyctl", "personality", "unshare", "clone"] },/' "$POL" >"$POL_RELAXED"
sed 's/"packages": \[/"packages": [ { "package": "ohr-escape-syscalls", "source": "path", "seccomp": "unconfined" },/' "$POL" >"$POL_UNCONFINED"
chmod 644 "$POL_RELAXED" "$POL_UNCONFINED"

case_syscalls() {
  local n
  build syscalls
  c "syscalls: the script runs to its end" status_is_ok
  # shellcheck disable=SC2086
  c "syscalls: keyrings, io_uring and clone3 answer ENOSYS" syscalls_are $(printf '%s=ENOSYS ' $SECCOMP_ENOSYS)
  # shellcheck disable=SC2086
  c "syscalls: the rest of the profile answers EPERM, nested namespaces included" syscalls_are $(printf '%s=EPERM ' $SECCOMP_EPERM)
  # shellcheck disable=SC2086
  c "syscalls: threads, processes (clone3 -> clone), the personality query still work" syscalls_are $(printf '%s=ok ' $SECCOMP_OK)
  n=$(echo $SECCOMP_ENOSYS $SECCOMP_EPERM $SECCOMP_OK | wc -w)
  c "syscalls: every call reported ($n)" assert_eq "$n" "$(grep -c '^info: syscall ' "$RES")" "reported calls"
  build syscalls --policy "$POL_RELAXED"
  c "syscalls: a policy rule lets keyctl, personality and unshare/clone(CLONE_NEWUSER) through" \
    syscalls_are "personality(ADDR_NO_RANDOMIZE)=ok" "unshare(CLONE_NEWUSER)=ok" "clone(CLONE_NEWUSER)=ok"
  c "syscalls: ... keyctl reaches the kernel (not ENOSYS)" test "$(grep -c '^info: syscall keyctl: ENOSYS' "$RES")" = 0
  c "syscalls: ... and nothing else (add_key ENOSYS, mount EPERM)" syscalls_are add_key=ENOSYS io_uring_setup=ENOSYS
  build syscalls --policy "$POL_UNCONFINED"
  c "syscalls: unconfined, the kernel answers instead (clone3 EINVAL, chroot/open_tree ENOENT, ptrace ESRCH, setns EBADF, kcmp ok)" \
    syscalls_are clone3=EINVAL chroot=ENOENT open_tree=ENOENT ptrace=ESRCH setns=EBADF kcmp=ok
}

case_setuid() {
  build setuid
  c "setuid: the setuid-root probe ran without privilege" assert_file_has "$RES" "^blocked: probe-setuid: uid=([0-9]+) euid=\1 capeff=0+ read=err"
  c "setuid: the file-capability probe ran without privilege" assert_file_has "$RES" "^blocked: probe-fcaps: uid=([0-9]+) euid=\1 capeff=0+ read=err"
  c "setuid: the nobody-only file was not read" lacks_secrets "$RES" "$LOG" "$ERRF"
  c "setuid: no setuid/setgid file left in OUT_DIR on the host" no_suid_files
  rm -f "$OUT"/planted-set?id.sh
}

case_fork_bomb() {
  build fork-bomb
  c "fork-bomb: fork fails at the pids limit ($PIDS_LIMIT)" forks_below_limit
  if [ "$who" != r ]; then
    # no cgroups rootless here: RLIMIT_NPROC, counted in the container's
    # own user namespace
    c "fork-bomb: the runner says processes are limited by RLIMIT_NPROC" assert_file_has "$ERRF" "notice: no cgroup limits here \(rootless, .*processes are limited to $PIDS_LIMIT by RLIMIT_NPROC"
  fi
  c "fork-bomb: no process left on the host" no_procs
}

case_memory_hog() {
  build memory-hog
  if [ "$who" = r ]; then
    c "memory-hog: killed at the memory limit (SIGKILL, as Cargo reports natively)" signal_is 9
    c "memory-hog: ... the runner says why" assert_file_has "$LOG" "killed by signal 9 \(SIGKILL\): most likely it reached its memory limit"
    c "memory-hog: ... it ran and allocated first (its progress lines)" hog_allocated
    c "memory-hog: ... it was stopped below 128 MiB" held_below 128
  else
    # per process only (RLIMIT_DATA): this hog is one process
    c "memory-hog: the runner says memory is limited per process only" assert_file_has "$ERRF" "notice: no cgroup limits here \(rootless, .*memory only per process \(RLIMIT_DATA 128M each"
    c "memory-hog: ... its allocation fails below 128 MiB" hog_refused_below 128
  fi
  c "memory-hog: no process left on the host" no_procs
}

case_sleep_forever() {
  local seen=$T/log/seen-$who-$rt-$((nonce + 1)) watcher
  watch_token "$(next_token)" "$seen" &
  watcher=$!
  build sleep-forever
  wait "$watcher"
  c "sleep-forever: while it ran, the scan saw its processes by the token" test -s "$seen"
  c "sleep-forever: killed at its timeout: 124" status_is 124
  c "sleep-forever: the error names the limit" assert_file_has "$LOG" "exceeded its time limit of 3s and was killed"
  c "sleep-forever: it was asleep when the timeout fired (started, never finished)" sleeper_was_running
  c "sleep-forever: no process left on the host" no_procs
}

case_daemon() {
  build daemon
  c "daemon: the build succeeds" status_is_ok
  c "daemon: the daemon ran after the script let go of its stdio (its heartbeat in OUT_DIR)" daemon_started
  c "daemon: the daemon did not outlive the container (no process with the token)" daemon_gone
  c "daemon: ... and its heartbeat stopped with the run" heartbeat_stopped
}

# Symlinks out of OUT_DIR, and the later step that follows them: the host's
# rustc compiling src/main.rs, which include_str!s OUT_DIR/leak.txt (see
# later_step).
case_symlink_out() {
  build symlink-out --env "OHR_ESC_SECRET=$T/$who/home/.ssh/id_rsa"
  c "symlink-out: fails with 124 naming the link" assert_file_has "$LOG" "left a symlink in OUT_DIR pointing outside it .*removed"
  c "symlink-out: no link out of OUT_DIR is left" no_link_out
  c "symlink-out: the secret is not in the binary" not_in_binary symlink-out
}

case_symlink_chain() {
  build symlink-chain --env "OHR_ESC_SECRET=$T/$who/home/.ssh/id_rsa"
  c "symlink-chain: no link out of OUT_DIR is left" no_link_out
  c "symlink-chain: the secret is not in the binary" not_in_binary symlink-chain
  c "symlink-chain: the build fails (124)" status_is 124
}

case_symlink_timeout() {
  build symlink-timeout --env "OHR_ESC_SECRET=$T/$who/home/.ssh/id_rsa"
  c "symlink-timeout: killed at its timeout: 124" status_is 124
  c "symlink-timeout: no link out of OUT_DIR is left" no_link_out
  c "symlink-timeout: the secret is not in the binary" not_in_binary symlink-timeout
  c "symlink-timeout: no process left on the host" no_procs
}

case_tmp_persist() {
  build tmp-persist --env OHR_ESC_PHASE=write
  c "tmp-persist: the writes work inside" assert_file_has "$RES" "^info: wrote /dev/shm/ohr-esc-persist"
  c "tmp-persist: nothing reached the host" host_unchanged
  build tmp-persist --env OHR_ESC_PHASE=read
  c "tmp-persist: the next run finds /tmp, /dev/shm, \$HOME, SysV shm empty" assert_eq 5 "$(grep -c '^blocked: .*\(is gone\|No such file\)' "$RES")" "absent leftovers"
  c "tmp-persist: nothing escaped" no_escape
}

ALL_CASES="net_tcp net_udp net_dns net_abstract write_source home_secrets proc_environ ptrace
  mount setuid fork_bomb memory_hog sleep_forever daemon symlink_out symlink_chain symlink_timeout
  tmp_persist syscalls"
ALL_CASES=${OHR_ESCAPE_CASES:-$ALL_CASES}
# Cases whose outcome depends on where paths are inside (identity: the
# host's paths, so under /tmp for this test; canonical: /cargo/...).
PATH_CASES="write_source home_secrets mount setuid symlink_out symlink_chain tmp_persist"
# OHR_ESCAPE_CASES="syscalls mount": only those (while working on them)
if [ -n "${OHR_ESCAPE_CASES:-}" ]; then
  PATH_CASES=$(for k in $PATH_CASES; do case " $ALL_CASES " in *" $k "*) echo "$k" ;; esac done)
fi

run_cases() { # who rt paths-mode cases...
  who=$1 rt=$2
  local mode=$3 k
  shift 3
  EXTRA=()
  P="root $rt"
  [ "$who" = u ] && P="rootless $rt"
  if [ "$mode" != default ]; then
    EXTRA=(--paths "$mode")
    P+=" --paths $mode"
  fi
  for k in "$@"; do "case_$k"; done
  rm -f "$T/$who"/target/debug/ohr-escape-symlink-*
  c "after all: the source tree, the home and the host are unchanged" host_unchanged
  c "after all: the host's mount table is unchanged" host_mounts_unchanged
}

status_is_ok() { [ "$RC" -eq 0 ] || { tail -5 "$LOG" | sed 's/^/#   /' >&2; return 1; }; }
target_running() {
  local pid=${TARGET_PID[$who]} st
  st=$(awk '/^State:/ {print $2}' "/proc/$pid/status" 2>/dev/null)
  [ "$st" = S ] && return 0
  echo "# the target process $pid is in state '${st:-gone}'" >&2
  kill -CONT "$pid" 2>/dev/null || true
  return 1
}
host_mounts_unchanged() {
  host_mounts >"$T/mounts.after"
  diff -u "$T/mounts.before" "$T/mounts.after" | sed 's/^/#   /' >&2
  [ "${PIPESTATUS[0]}" -eq 0 ] && ! mountpoint -q "$OUT/mnt"
}
# No setuid/setgid file in OUT_DIR, where the script planted two (they
# must be there, else the check proves nothing).
no_suid_files() {
  local f
  for f in planted-setuid.sh planted-setgid.sh; do
    [ -f "$OUT/$f" ] || { echo "# no OUT_DIR/$f: the script planted nothing to check" >&2; return 1; }
  done
  f=$(find "$OUT" -perm /6000 -printf '%p %m %u\n')
  [ -z "$f" ] && return 0
  echo "# setuid/setgid files the script left on the host:" >&2
  echo "$f" | sed 's/^/#   /' >&2
  return 1
}
forks_below_limit() {
  local n
  n=$(sed -n 's/^blocked: forked \([0-9]*\) processes, then fork: .*/\1/p' "$RES")
  [ -n "$n" ] && [ "$n" -lt "$PIDS_LIMIT" ] && return 0
  echo "# the fork bomb got ${n:-?} processes (limit $PIDS_LIMIT): $(tail -1 "$RES")" >&2
  return 1
}
# What the memory hog held when it was stopped: its last progress line
# (it prints one after each 64 MiB it allocates and touches).
hog_held() { sed -n 's/^info: holding \([0-9]*\) MiB$/\1/p' "$RES" | tail -1; }
hog_allocated() {
  [ -n "$(hog_held)" ] && return 0
  echo "# the memory hog reported no allocation: it did not run, or was stopped before its first 64 MiB" >&2
  return 1
}
held_below() { # MiB
  local n
  n=$(hog_held)
  [ -n "$n" ] && [ "$n" -lt "$1" ] && ! grep -q ESCAPED "$RES" && return 0
  echo "# the memory hog held ${n:-nothing} MiB (limit $1 MiB): $(tail -1 "$RES")" >&2
  return 1
}
# RLIMIT_DATA: the allocation fails (try_reserve), and the hog says so.
hog_refused_below() { # MiB
  local n
  n=$(sed -n 's/^blocked: allocation failed at \([0-9]*\) MiB.*/\1/p' "$RES")
  [ -n "$n" ] && [ "$n" -lt "$1" ] && ! grep -q ESCAPED "$RES" && return 0
  echo "# the memory hog got ${n:-?} MiB (limit $1 MiB): $(tail -1 "$RES")" >&2
  return 1
}
sleeper_was_running() {
  assert_file_has "$RES" "^info: sleeping, SIGTERM ignored$" && no_escape
}
# The daemon's heartbeat: OUT_DIR/daemon.txt, replaced every 200 ms by the
# daemon itself (a grandchild of the script, in a new session, stdio
# closed), with the token from its own environment.
daemon_started() {
  local f=$OUT/daemon.txt
  [ -f "$f" ] || { echo "# no $f: the daemon never ran" >&2; return 1; }
  assert_file_has "$f" "^daemon pid [0-9]+ token $TOKEN beat [0-9]+$" &&
    assert_file_has "$RES" "^info: daemon started"
}
daemon_gone() {
  [ -s "$OUT/daemon.txt" ] || { echo "# the daemon never ran: it had nothing to outlive" >&2; return 1; }
  no_procs
}
heartbeat_stopped() {
  local f=$OUT/daemon.txt a b
  [ -s "$f" ] || { echo "# no heartbeat in $f to watch" >&2; return 1; }
  a=$(cat "$f")
  sleep 1 # 5 heartbeats
  b=$(cat "$f")
  [ "$a" = "$b" ] && return 0
  echo "# the daemon is still beating after the run: '$a' then '$b'" >&2
  return 1
}
# The script planted its links (else the checks on them prove nothing).
planted() { assert_file_has "$RES" "^info: planted OUT_DIR/leak.txt -> "; }
# Every symlink left in OUT_DIR resolves inside OUT_DIR.
no_link_out() {
  local l r bad=0 out
  planted || return 1
  out=$(realpath "$OUT")
  while IFS= read -r -d '' l; do
    r=$(realpath -m "$l")
    case $r in "$out" | "$out"/*) ;; *)
      bad=$((bad + 1))
      [ $bad -le 3 ] && echo "# OUT_DIR/${l#"$OUT"/} -> $(readlink "$l") resolves to $r, outside OUT_DIR" >&2
      ;;
    esac
  done < <(find "$OUT" -type l -print0 | sort -z)
  [ $bad -gt 3 ] && echo "# ... $bad links in all" >&2
  return $((bad > 0))
}
# The host's rustc did not compile the secret into the crate's binary:
# after the script planted its links, neither Cargo's binary (if Cargo
# built one) nor the one the later step builds from the OUT_DIR the runner
# left holds it.  Cargo stops when the runner fails the script, so the
# later step is what would show a link the runner missed (the controls
# above show it does).
not_in_binary() { # case
  local bin=$T/$who/target/debug/ohr-escape-$1 r
  planted || return 1
  if [ -f "$bin" ] && grep -qa "secret-marker-$who-ssh" "$bin"; then
    echo "# $bin contains the secret ($(stat -c %y "$bin"))" >&2
    return 1
  fi
  r=$(later_step "$1" "$OUT" "$T/later/$who-$rt-$1-$nonce")
  case $r in gone | clean) return 0 ;; esac
  echo "# the host's rustc on the OUT_DIR left: $r" >&2
  return 1
}

mapfile -t rts < <(runtimes)
[ ${#rts[@]} -gt 0 ] || fatal "neither runc nor crun is installed"
for w in r u; do
  for r in "${rts[@]}"; do
    # shellcheck disable=SC2086
    run_cases "$w" "$r" default $ALL_CASES
  done
  # the cases that depend on paths, with the other path mode: root on the
  # first runtime, rootless on the last
  r=${rts[0]}
  [ "$w" = u ] && r=${rts[-1]}
  # shellcheck disable=SC2086
  run_cases "$w" "$r" identity $PATH_CASES
done

no_leftovers() { # state-dir
  [ "$(leftovers "$1")" -eq 0 ] && return 0
  echo "# left in $1:" >&2
  find "$1" -mindepth 2 -maxdepth 3 | head -6 | sed 's/^/#   /' >&2
  return 1
}
check "no container or bundle left behind (root)" no_leftovers "$T/r-state"
check "no container or bundle left behind (rootless)" no_leftovers "$T/u/state"
echo "# test-escape: $(($(date +%s) - started))s"
finish
