#!/usr/bin/env bash
# test-userns: as root, the build script's root is an unprivileged host id
# range (src/run/idmap.h), never the host's uid 0, and OUT_DIR comes
# back to its owner after the run, whatever the outcome (src/run/idshift.h).
#
# A real cargo build of tests/fixtures/crates/userns-probe, on runc and
# crun, canonical and identity paths, from a package reachable by everyone
# and from one under a 0700 directory (the runner binds it where the
# container's root can reach it).  The script plants setuid and setgid
# copies of itself in OUT_DIR, connects to an abstract unix socket the host
# listens on (--network host), and waits until the host has looked: a
# handshake through OUT_DIR/ready and OUT_DIR/go, not a sleep.  From the
# host: the planted files belong to the mapped id while the script runs;
# the script's processes (found by a token only they carry) run as the
# mapped id while getuid() inside is 0; SO_PEERCRED gives the mapped id;
# after the run every file in OUT_DIR is root's and none is setuid/setgid.
# Then by hand, with small shell scripts: a failing and a timed-out script
# give OUT_DIR back too; an OUT_DIR of another user goes back to that user;
# writes into the root-owned source work inside (idmapped lower layer) and
# are caught; --id-range NAME and its errors.
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "test-userns runs as root (rootless runs have their own user namespace: test-rootless)"
ensure_test_user

# The range the runner picks by default (idmap.h): /etc/subuid's
# oci-host-runner entry, else the reserved one.
MAP=$(awk -F: '$1 == "oci-host-runner" { print $2; exit }' /etc/subuid 2>/dev/null || true)
MAP=${MAP:-1879048192}

mkdir -p "$T/open" "$T/private/inner"
chmod 700 "$T/private"
cp -r "$TOP/tests/fixtures/crates" "$T/open/crates"
cp -r "$TOP/tests/fixtures/crates" "$T/private/inner/crates"
rm -rf "$T/open/crates/target" "$T/private/inner/crates/target"

token_procs() { # token: pids whose environment holds it
  grep -lzxF "OHR_USERNS_TOKEN=$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 || true
}

# wait_for GLOB SECONDS PID: the first file matching GLOB, once it exists
# (fails when PID, the build, ends first)
wait_for() {
  local i f
  for ((i = 0; i < $2 * 20; i++)); do
    for f in $1; do
      [ -e "$f" ] && { echo "$f"; return 0; }
    done
    kill -0 "$3" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# Listens on the abstract socket NAME, accepts one connection and writes
# the peer's "pid uid gid" (SO_PEERCRED) to FILE.
peercred_listener() { # name file
  python3 - "$1" "$2" <<'PY' &
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0" + sys.argv[1]); s.listen(1); s.settimeout(180)
c, _ = s.accept()
pid, uid, gid = struct.unpack("3i", c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
c.settimeout(60); c.recv(16)
open(sys.argv[2], "w").write("%d %d %d\n" % (pid, uid, gid))
PY
  LISTENER=$!
  at_exit "kill $LISTENER 2>/dev/null"
}

owners_not_root() { # dir: entries (the dir too) not owned by 0:0
  find "$1" \( ! -uid 0 -o ! -gid 0 \) -printf '%P %u:%g\n'
}

setid_files() { # dir
  find "$1" ! -type d -perm /6000 -printf '%P %m %u\n'
}

probe() { # runtime paths dir
  local rt=$1 paths=$2 dir=$3 tag=$1-$2-$(basename "$(dirname "$3")")
  local tok=ohr-userns-$tag-${T##*.} tgt=$T/target-$tag
  peercred_listener "$tok" "$T/peer-$tag"
  cargo_build_runner_args "$dir" "$tgt" "-p ohr-fixture-userns-probe" \
    --runtime "$rt" --paths "$paths" --network host -v \
    --env "OHR_USERNS_TOKEN=$tok" --env "USERNS_PROBE_SOCKET=$tok" &
  local build=$!
  local ready
  if ! ready=$(wait_for "$tgt/debug/build/ohr-fixture-userns-probe-*/out/ready" 180 "$build"); then
    not_ok "$tag: the build script reached its handshake"
    kill "$build" 2>/dev/null || true
    wait "$build" 2>/dev/null || true
    kill "$LISTENER" 2>/dev/null || true
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    return
  fi
  ok "$tag: the build script reached its handshake"
  local out
  out=$(dirname "$ready")
  # the script is waiting for OUT_DIR/go: everything below sees it running
  check "$tag: during the run, the planted setuid file belongs to the mapped id, not root" \
    assert_eq "$MAP:$MAP 4755" "$(stat -c '%u:%g %a' "$out/planted-setuid")" "owner and mode of planted-setuid"
  check "$tag: ... and so does the planted setgid file" \
    assert_eq "$MAP:$MAP 2755" "$(stat -c '%u:%g %a' "$out/planted-setgid")" "owner and mode of planted-setgid"
  check "$tag: inside, the script's getuid() and getgid() are 0" \
    assert_file_has "$out/ids" "^uid=0 gid=0$"
  local pids p lines
  pids=$(token_procs "$tok")
  lines=$(for p in $pids; do awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$p/status" 2>/dev/null; done | sort -u)
  check "$tag: the host sees the script's processes run as the mapped id (Uid of /proc/PID/status)" \
    assert_eq "$MAP $MAP $MAP $MAP" "$lines" "Uid of the processes carrying the token (pids: ${pids:-none})"
  touch "$out/go"
  if wait "$build"; then ok "$tag: cargo build succeeded"; else
    not_ok "$tag: cargo build succeeded"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
  fi
  wait "$LISTENER" 2>/dev/null || true
  check "$tag: SO_PEERCRED of the script's connection to the host's socket gives the mapped id, not 0" \
    assert_eq "$MAP $MAP" "$(cut -d' ' -f2,3 "$T/peer-$tag" 2>/dev/null)" "uid and gid the host's listener saw"
  check "$tag: after the run, OUT_DIR and all in it belong to root" \
    assert_eq "" "$(owners_not_root "$out")" "entries not owned by 0:0"
  check "$tag: ... and no file in it is setuid or setgid" \
    assert_eq "" "$(setid_files "$out")" "setuid/setgid files"
  check "$tag: the binary saw getuid() == 0 in its build script" \
    assert_eq 0 "$("$tgt/debug/ohr-fixture-userns-probe")" "USERNS_PROBE_UID"
  check "$tag: the script ran under the runner with the mapped ids" \
    assert_file_has "$(ls "$tgt"/debug/build/ohr-fixture-userns-probe-*/stderr | head -1)" \
    "container's root is host uid $MAP, gid $MAP"
  LAST_TARGET=$tgt LAST_OUT=$out
}

for rt in $(runtimes); do
  probe "$rt" canonical "$T/private/inner/crates"
  probe "$rt" identity "$T/open/crates"
done

# A second run over the OUT_DIR the first gave back to root: its files are
# lent to the script again (it rewrites them) and come back again.
touch "$T/open/crates/userns-probe/build.rs"
rt=$(runtimes | tail -1)
if cargo_build_runner_args "$T/open/crates" "$LAST_TARGET" "-p ohr-fixture-userns-probe" \
  --runtime "$rt" --paths identity; then
  ok "rerun over a given-back OUT_DIR: the script rewrote its files"
else
  not_ok "rerun over a given-back OUT_DIR: the script rewrote its files"
  tail -15 "$T/cargo.out" | sed 's/^/# /'
fi
check "rerun: OUT_DIR belongs to root again, nothing setid" \
  assert_eq "" "$(owners_not_root "$LAST_OUT")$(setid_files "$LAST_OUT")" "entries not 0:0 or setid"

# By hand: a script that plants a setuid file, then fails, or runs out of
# time; OUT_DIR comes back either way.
plant='cp /bin/true "$OUT_DIR/s"; chmod 4755 "$OUT_DIR/s"; mkdir -p "$OUT_DIR/d"; echo x >"$OUT_DIR/d/f"'
printf '#!/bin/sh\n%s\nexit 3\n' "$plant" >"$T/fail.sh"
printf '#!/bin/sh\n%s\nexec sleep 100\n' "$plant" >"$T/slow.sh"
printf '#!/bin/sh\ncat /proc/self/uid_map /proc/self/gid_map\n%s\n' "$plant" >"$T/map.sh"
echo '{"version":1,"packages":[{"package":"pkg","source":"path","timeout":"2s"}]}' >"$T/policy.json"
for rt in $(runtimes); do
  fake_cargo_context "$T/hand-$rt-fail" "$T/fail.sh"
  rc=0
  (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" "$SCRIPT") >/dev/null 2>"$T/err" || rc=$?
  check "$rt: a failing script's status comes through (3)" assert_eq 3 "$rc" "exit status"
  check "$rt: ... and OUT_DIR came back to root, without setid bits" \
    assert_eq "s 755 root" "$(owners_not_root "$OUT_DIR")$(find "$OUT_DIR" -name s -printf '%P %m %u')" "OUT_DIR after the failure"

  fake_cargo_context "$T/hand-$rt-slow" "$T/slow.sh"
  rc=0
  (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" --policy "$T/policy.json" "$SCRIPT") >/dev/null 2>"$T/err" || rc=$?
  check "$rt: a script past its timeout is stopped (124)" assert_eq 124 "$rc" "exit status"
  check "$rt: ... and OUT_DIR came back to root, without setid bits" \
    assert_eq "s 755 root" "$(owners_not_root "$OUT_DIR")$(find "$OUT_DIR" -name s -printf '%P %m %u')" "OUT_DIR after the timeout"

  # OUT_DIR of another user: it goes back to that user
  fake_cargo_context "$T/hand-$rt-user" "$T/map.sh"
  chown -R "$TEST_USER:" "$T/hand-$rt-user/target"
  rc=0
  (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" "$SCRIPT") >"$T/out" 2>"$T/err" || rc=$?
  check "$rt: root run over $TEST_USER's OUT_DIR succeeds" assert_eq 0 "$rc" "exit status"
  check "$rt: ... inside, uid and gid 0 map to the range (/proc/self/uid_map, gid_map)" \
    assert_eq "0 $MAP 65536 0 $MAP 65536" "$(tr -s ' \n' ' ' <"$T/out" | sed 's/^ //; s/ $//')" "id maps"
  check "$rt: ... and OUT_DIR went back to $TEST_USER, setuid bit cleared" \
    assert_eq "$TEST_USER:$TEST_USER $TEST_USER:$TEST_USER 755" \
    "$(stat -c '%U:%G' "$OUT_DIR") $(stat -c '%U:%G %a' "$OUT_DIR/s")" "owner of OUT_DIR, owner and mode of s"
done

# The package source is root's; the overlay's lower dir is idmapped, so
# the script's writes into it land in the upper layer as they did when it
# was the host's root: refused after the run (124), or kept apart under
# source-writes: overlay.  The source itself never changes.
printf '#!/bin/sh\necho more >>victim.txt && touch made.txt && echo wrote\n' >"$T/write.sh"
echo '{"version":1,"packages":[{"package":"pkg","source":"path","source-writes":"overlay"}]}' >"$T/overlay.json"
for rt in $(runtimes); do
  fake_cargo_context "$T/src-$rt" "$T/write.sh"
  echo original >"$CARGO_MANIFEST_DIR/victim.txt"
  rc=0
  (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" "$SCRIPT") >"$T/out" 2>"$T/err" || rc=$?
  check "$rt: a write into the root-owned source works inside and is refused after (124)" \
    assert_eq "124 wrote 1" "$rc $(cat "$T/out") $(grep -c "wrote made.txt, victim.txt" "$T/err")" "status, output, message"
  rc=0
  (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" --policy "$T/overlay.json" "$SCRIPT") >"$T/out" 2>"$T/err" || rc=$?
  check "$rt: ... allowed and discarded under source-writes: overlay" \
    assert_eq "0 wrote" "$rc $(cat "$T/out")" "status, output"
  check "$rt: ... the source is unchanged" \
    assert_eq "original -" "$(cat "$CARGO_MANIFEST_DIR/victim.txt") $(ls "$CARGO_MANIFEST_DIR/made.txt" 2>/dev/null || echo -)" "victim.txt, made.txt"
done

# A fifo jobserver (make 4.4's --jobserver-auth=fifo:PATH) belongs to the
# invoking user, mode 0600: the mapped root could not open it, so the
# runner opens it and passes it as fds 5 and 6.  The script takes a token
# and gives it back.
printf '#!/bin/sh\necho "$CARGO_MAKEFLAGS"\nt=$(dd bs=1 count=1 <&5 2>/dev/null)\necho "token $t"\nprintf %%s "$t" >&6\n' >"$T/js.sh"
mkfifo -m 600 "$T/jobfifo"
exec 7<>"$T/jobfifo"
for rt in $(runtimes); do
  fake_cargo_context "$T/js-$rt" "$T/js.sh"
  printf 'x' >&7
  rc=0
  (cd "$CARGO_MANIFEST_DIR" && CARGO_MAKEFLAGS="-j2 --jobserver-auth=fifo:$T/jobfifo" \
    "$OHR" --runtime "$rt" "$SCRIPT") >"$T/out" 2>"$T/err" || rc=$?
  check "$rt: a root-owned 0600 fifo jobserver reaches the script as fds 5,6; it takes a token" \
    assert_eq "0 -j2 --jobserver-auth=5,6 token x" "$rc $(tr '\n' ' ' <"$T/out" | sed 's/ $//')" "status, CARGO_MAKEFLAGS and token"
  t=$(timeout 5 dd bs=1 count=1 <&7 2>/dev/null || true)
  check "$rt: ... and gives it back" assert_eq x "$t" "token read back on the host"
done
exec 7>&-

# --id-range: a name of /etc/subuid and /etc/subgid, a first id, errors.
rt=$(runtimes | sed -n 1p)
fake_cargo_context "$T/range" "$T/map.sh"
subid=$(awk -F: -v u="$TEST_USER" '$1 == u && $3 >= 65536 { print $2; exit }' /etc/subuid)
subgid=$(awk -F: -v u="$TEST_USER" '$1 == u && $3 >= 65536 { print $2; exit }' /etc/subgid)
if [ -n "$subid" ] && [ -n "$subgid" ]; then
  rc=0
  (cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" --id-range "$TEST_USER" "$SCRIPT") >"$T/out" 2>"$T/err" || rc=$?
  check "--id-range $TEST_USER: maps to its /etc/subuid and /etc/subgid entries" \
    assert_eq "0 0 $subid 65536 0 $subgid 65536" "$rc $(tr -s ' \n' ' ' <"$T/out" | sed 's/^ //; s/ $//')" "status and id maps"
else
  skip "--id-range NAME: $TEST_USER has no /etc/subuid and /etc/subgid entries of 65536 ids"
fi
rc=0
(cd "$CARGO_MANIFEST_DIR" && OCI_HOST_RUNNER_ID_RANGE=200000 "$OHR" --runtime "$rt" "$SCRIPT") >"$T/out" 2>"$T/err" || rc=$?
check "OCI_HOST_RUNNER_ID_RANGE=200000: maps to 200000" \
  assert_eq "0 0 200000 65536 0 200000 65536" "$rc $(tr -s ' \n' ' ' <"$T/out" | sed 's/^ //; s/ $//')" "status and id maps"
rm -rf "${OUT_DIR:?}"/*
rc=0
(cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" --id-range "$(id -u "$TEST_USER")" "$SCRIPT") >"$T/out" 2>"$T/err" || rc=$?
check "--id-range holding a user of /etc/passwd: refused (121), naming the user and the file" \
  assert_eq "121 1" "$rc $(grep -cE "holds user [0-9]+ \('[^']+'\) of /etc/passwd" "$T/err")" "status, message"
check "... in one line, and the script did not run" \
  assert_eq "1 0" "$(wc -l <"$T/err") $(find "$OUT_DIR" -mindepth 1 | wc -l)" "lines of stderr, entries in OUT_DIR"
rc=0
(cd "$CARGO_MANIFEST_DIR" && "$OHR" --runtime "$rt" --id-range no-such-entry "$SCRIPT") >"$T/out" 2>"$T/err" || rc=$?
check "--id-range with a name /etc/subuid lacks: refused (121), naming it" \
  assert_eq "121 1" "$rc $(grep -c "no entry for 'no-such-entry' in /etc/subuid" "$T/err")" "status, message"
finish
