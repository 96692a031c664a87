#!/usr/bin/env bash
# test-mounts: what a build script can reach of the host's mounts and
# processes, through real cargo builds of tests/fixtures/crates/contain-probe
# on runc and crun, as root and as an unprivileged user.
#
# Recursive read-only binds: a tmpfs mounted under a policy mount's source
# and one under the host image's /usr are writable on the host (controls);
# inside, writing into either gives EROFS, and no mount under /usr, /policy
# (or /sys, bound rootless with --network host) is read-write.  Then the
# same under a seccomp wrapper that makes mount_setattr answer ENOSYS (a
# kernel before 5.12): the runner binds every submount read-only itself.
#
# --degraded proc: the host's /proc and /sys bound read-only.  kill(0) of
# Cargo and of another process of the same user gives ESRCH (a PID
# namespace), and the command line of that process, which carries a token,
# is not readable (its /proc directory is masked), while the script's own
# /proc/self is; no mount under /proc or /sys is read-write.
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "test-mounts needs root (it mounts the submounts and makes the test user)"
trap 'exit 143' TERM INT
ensure_test_user
SYSROOT=$(rustc --print sysroot)
TOKEN=ohr-secret-$$-$RANDOM$RANDOM

# Everything both users need, in $T (mode 755).  Every build runs in a
# private mount namespace that binds the toolchain at $T/toolchain (as
# test-rootless does) and makes the submounts, so the host's mount table
# never changes (test-escape, or another test on the machine, checks it).
mkdir -p "$T/bin" "$T/toolchain" "$T/u" "$T/pol/sub"
cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/bin/"
cp -r "$TOP/tests/fixtures/crates" "$T/u/crates"
rm -rf "$T/u/crates/target"
chown -R "$TEST_USER" "$T/u"

# The submounts: a tmpfs under the policy mount's source, and one under
# the host image's /usr (its directory removed at exit, also when the test
# is killed; the mounts die with their namespace).
USUB=/usr/local/$TOKEN
mkdir "$USUB" || fatal "cannot create $USUB"
at_exit "rmdir '$USUB'"
# in_ns COMMAND...: run COMMAND (a shell line) in that namespace, bounded
in_ns() {
  timeout 300 unshare -m --propagation private bash -c \
    "mount --bind '$SYSROOT' '$T/toolchain' &&
     mount -t tmpfs -o size=1m,mode=1777 ohr-test-mounts '$T/pol/sub' &&
     mount -t tmpfs -o size=1m,mode=1777 ohr-test-mounts '$USUB' && $*"
}
cat >"$T/policy.json" <<EOF
{ "version": 1, "packages": [
  { "package": "ohr-fixture-contain-probe", "source": "path",
    "mounts": [ { "source": "$T/pol", "destination": "/policy" } ] } ] }
EOF
chmod 644 "$T/policy.json"

# A kernel without mount_setattr (before 5.12), as far as cargo, the runner
# and the runtimes under it can tell: the call answers ENOSYS.
cat >"$T/no-mount-setattr.c" <<'EOF'
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
int
main (int argc, char **argv)
{
  struct sock_filter f[] = {
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, arch)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    BPF_STMT (BPF_LD | BPF_W | BPF_ABS, offsetof (struct seccomp_data, nr)),
    BPF_JUMP (BPF_JMP | BPF_JEQ | BPF_K, __NR_mount_setattr, 0, 1),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
    BPF_STMT (BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = { sizeof f / sizeof *f, f };
  if (argc < 2 || prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0
      || prctl (PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
    return perror ("no-mount-setattr"), 127;
  execvp (argv[1], argv + 1);
  return perror (argv[1]), 127;
}
EOF
NO_SETATTR=
if [ "$(uname -m)" = x86_64 ] && cc -o "$T/bin/no-mount-setattr" "$T/no-mount-setattr.c"; then
  NO_SETATTR=$T/bin/no-mount-setattr
fi

writable_on_host() { # user dir
  local f=$2/control-$1 w="touch '$2/control-$1'"
  [ "$1" = root ] || w="su $TEST_USER -s /bin/sh -c \"touch '$f'\""
  in_ns "mountpoint -q '$2' && $w && rm '$f'"
}
for d in "$T/pol/sub" "$USUB"; do
  check "control: $d is a submount, writable on the host by root" writable_on_host root "$d"
  check "control: ... and by $TEST_USER" writable_on_host "$TEST_USER" "$d"
done

# probe NAME USER RUNTIME RUNNER_ARGS...: cargo build of contain-probe as
# USER (root or the test user) with the runner (under $WRAP, a command,
# when set); the script's report in
# $T/NAME.report.  A process of USER whose command line carries $TOKEN runs
# meanwhile, its pid in $T/u/NAME.sleeper; the probe gets it and Cargo's.
probe() {
  local name=$1 user=$2 rt=$3
  shift 3
  # TOML literal strings: the shell line below quotes with "
  local args="'$T/bin/oci-host-runner','--runtime','$rt','--policy','$T/policy.json'"
  local a
  for a in "$@"; do args+=",'$a'"; done
  cat >"$T/u/$name.sh" <<SH
set -e
export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$T/u/home-$user CARGO_HOME=$T/u/cargo-home-$user
export RUSTC_BOOTSTRAP=1 CARGO_NET_OFFLINE=true CARGO_TERM_COLOR=never OHR_PROBE_NONCE=$name
export OCI_HOST_RUNNER_STATE_DIR=$T/u/state-$user OCI_HOST_RUNNER_CACHE_DIR=$T/u/cache-$user
unset XDG_CONFIG_HOME OCI_HOST_RUNNER_STORE_DIR
bash -c 'exec -a "\$0" sleep 120' $TOKEN </dev/null >/dev/null 2>&1 &
echo \$! >$T/u/$name.sleeper
cd $T/u/crates/contain-probe
# exec: this shell's pid becomes Cargo's
exec $WRAP cargo build --offline -Zhost-config -Ztarget-applies-to-host --target-dir $T/u/target-$name \\
  --config "host.runner=[$args,'--env','OHR_PROBE_PIDS=\$\$,\$(cat $T/u/$name.sleeper)']"
SH
  chmod 644 "$T/u/$name.sh"
  local run="bash $T/u/$name.sh"
  [ "$user" = root ] || run="su $TEST_USER -s /bin/bash -c 'bash $T/u/$name.sh'"
  rm -f "$T/$name.report"
  local rc=0
  in_ns "$run" >"$T/$name.out" 2>&1 || rc=$?
  local sleeper
  sleeper=$(cat "$T/u/$name.sleeper" 2>/dev/null) || true
  SLEEPER=$sleeper SLEEPER_LAST=$sleeper
  if [ "$rc" != 0 ]; then
    echo "# $name: cargo build failed ($rc)" >&2
    tail -15 "$T/$name.out" | sed 's/^/#   /' >&2
  else
    cp "$(ls "$T"/u/target-"$name"/debug/build/ohr-fixture-contain-probe-*/out/report.txt | head -1)" \
      "$T/$name.report"
  fi
  return "$rc"
}
end_sleeper() { [ -n "$SLEEPER" ] && kill "$SLEEPER" 2>/dev/null; SLEEPER=; }
at_exit 'end_sleeper'

# has NAME LINE...: the report holds each line exactly
has() {
  local name=$1 l
  shift
  for l in "$@"; do
    grep -qxF -- "$l" "$T/$name.report" 2>/dev/null ||
      { echo "# $name: no line '$l' in the report:" >&2; sed 's/^/#   /' "$T/$name.report" >&2; return 1; }
  done
}
mounts_checked() { # name minimum
  local n
  n=$(sed -n 's/^mounts-checked //p' "$T/$1.report" 2>/dev/null)
  [ -n "$n" ] && [ "$n" -ge "$2" ] ||
    { echo "# $1: $n mounts checked, want >= $2; the report:" >&2; sed 's/^/#   /' "$T/$1.report" >&2; return 1; }
}

EROFS=30 ESRCH=3 ENOENT=2
# the runtimes set the attributes recursively; then, without mount_setattr,
# the runner binds each submount read-only itself
for how in rro fallback; do
  WRAP=
  if [ "$how" = fallback ]; then
    if [ -z "$NO_SETATTR" ]; then
      skip "without mount_setattr: needs x86_64 and cc to make the seccomp wrapper"
      continue
    fi
    WRAP=$NO_SETATTR
  fi
  for user in root "$TEST_USER"; do
    for rt in $(runtimes); do
      n=$how-$user-$rt
      w="$user $rt${WRAP:+ (no mount_setattr)}"
      if probe "$n" "$user" "$rt" -v --env "OHR_PROBE_WRITE=/policy/sub:$USUB:/policy:/tmp" \
        --env "OHR_PROBE_RO=/usr:/policy"; then
        ok "$w: cargo build of the probe"
      else
        not_ok "$w: cargo build of the probe"
        end_sleeper
        continue
      fi
      end_sleeper
      check "$w: the submount under a policy mount is read-only inside (EROFS)" \
        has "$n" "write /policy/sub: errno $EROFS"
      check "$w: the submount under the host image's /usr is read-only inside (EROFS)" \
        has "$n" "write $USUB: errno $EROFS"
      check "$w: ... as are the binds themselves, while /tmp takes the same write" \
        has "$n" "write /policy: errno $EROFS" "write /tmp: ok"
      check "$w: no mount under /usr or /policy is read-write (4 or more seen)" \
        eval 'assert_file_lacks "$T/$n.report" "^rw-mount" && mounts_checked "$n" 4'
      if [ -n "$WRAP" ]; then
        check "$w: the runner saw that it had to bind the submounts itself" \
          grep -q "submounts bound read-only one by one" \
          "$(ls "$T"/u/target-"$n"/debug/build/ohr-fixture-contain-probe-*/stderr | head -1)"
      fi
    done
  done
done
WRAP=

# Rootless with --network host binds the host's /sys, with its submounts
# (cgroup trees, securityfs...); again without mount_setattr (crun on a
# hybrid-cgroup host then sees an empty /sys/fs/cgroup: the runner must not
# ask for the trees it hides)
for WRAP in "" $NO_SETATTR; do
  for rt in $(runtimes); do
    n=sys-$rt${WRAP:+-fallback}
    w="$TEST_USER $rt --network host${WRAP:+ (no mount_setattr)}"
    if probe "$n" "$TEST_USER" "$rt" --network host --env "OHR_PROBE_RO=/sys"; then
      end_sleeper
      check "$w: no mount under /sys is read-write" \
        eval 'assert_file_lacks "$T/$n.report" "^rw-mount" && mounts_checked "$n" 2'
    else
      end_sleeper
      not_ok "$w: cargo build of the probe"
    fi
  done
done
WRAP=

for user in root "$TEST_USER"; do
  for rt in $(runtimes); do
    n=degraded-$user-$rt
    if probe "$n" "$user" "$rt" --degraded proc --env "OHR_PROBE_RO=/proc:/sys"; then
      ok "$user $rt --degraded proc: cargo build of the probe"
    else
      not_ok "$user $rt --degraded proc: cargo build of the probe"
      end_sleeper
      continue
    fi
    cargo_pid=$(sed -n 's/^kill \([0-9]*\): .*/\1/p' "$T/$n.report" | head -1)
    # controls, from the host, while the process still runs
    check "$user $rt: control: the host reads the token in the process's command line" \
      grep -qF "$TOKEN" "/proc/$SLEEPER/cmdline"
    if [ "$user" != root ]; then
      check "$user $rt: control: $user can signal it outside the runner" \
        su "$TEST_USER" -s /bin/sh -c "kill -0 $SLEEPER"
    fi
    end_sleeper
    check "$user $rt: kill(Cargo, 0) and kill(the other process, 0) give ESRCH" \
      has "$n" "kill $cargo_pid: errno $ESRCH" "kill $SLEEPER_LAST: errno $ESRCH"
    check "$user $rt: their /proc entries are masked; the script's own are there" \
      eval 'has "$n" "cmdline $cargo_pid: errno $ENOENT" "cmdline $SLEEPER_LAST: errno $ENOENT" &&
            grep -q "^self-cmdline: [1-9][0-9]* bytes" "$T/$n.report"'
    check "$user $rt: the token is nowhere in what the script saw" \
      assert_file_lacks "$T/$n.report" "$TOKEN"
    check "$user $rt: no mount under /proc or /sys is read-write" \
      eval 'assert_file_lacks "$T/$n.report" "^rw-mount" && mounts_checked "$n" 3'
    check "$user $rt: the notice says what degraded mode leaves" \
      grep -q "notice: degraded mode 'proc': .* in a PID namespace of its own" \
      "$(ls "$T"/u/target-"$n"/debug/build/ohr-fixture-contain-probe-*/stderr | head -1)"
  done
done
finish
