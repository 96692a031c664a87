#!/usr/bin/env bash
# test-pod: the runner image (Containerfile, `make container`) run by runc
# the way a Kubernetes pod runs it: a non-root user, no capabilities,
# noNewPrivileges, a read-only root, emptyDirs, resource limits, and then
# with or without the pod settings examples/kubernetes documents:
#   hostUsers: false       a user namespace for the pod (uid 0 -> 100000)
#   procMount: Unmasked    no masked or read-only /proc and /sys paths
#   seccompProfile         tests/lib/seccomp-pod.json (the runtime default:
#                          Docker's, for a container without capabilities)
#                          or the shipped Localhost profile
#                          examples/kubernetes/seccomp-oci-host-runner.json
# It proves that `doctor` names exactly the missing settings, that with the
# documented settings a real `cargo build` of examples/ runs every build
# script in a nested rootless container (runc and crun) with the right
# outputs, and that --degraded proc is recommended, and works, where only
# /proc is masked.
#
# The image is built once per test run, on images/cc built once per test
# run (tests/lib/images.sh: shared by the tests of one `make check`).
. "$(dirname "$0")/../lib/libtest.sh"
. "$TOP/tests/lib/images.sh"

[ "$(id -u)" -eq 0 ] || fatal "test-pod needs root (runc starts the pods)"
for tool in buildah runc umoci skopeo docker-registry; do
  command -v "$tool" >/dev/null || fatal "test-pod needs $tool (apt-get install $tool)"
done
BIN=$(cd "$(dirname "$OHR")" && pwd)
for f in oci-host-runner ohr-init oci-host-runner-store oci-host-runner-attest; do
  [ -x "$BIN/$f" ] || fatal "test-pod builds the image from a build tree: no $BIN/$f"
done
PY=/usr/bin/python3
HOST_UID_BASE=100000
t0=$(date +%s)

# ---- the image: images/cc as its base, then `make container`
shared_image cc || fatal "images/build cc failed"
IMG=$OHR_TEST_SHARED/pod-image
(
  flock 9
  [ -f "$IMG/done" ] && exit 0
  rm -rf "$IMG"
  mkdir -p "$IMG"
  s=$(date +%s)
  if ! make -s -C "$TOP" BUILD="$(dirname "$BIN")/$(basename "$BIN")" \
    CONTAINER_DIR="$T/container" CONTAINER_LAYOUT="$IMG/image" \
    CONTAINER_BASE_LAYOUT="$SHARED_LAYOUT" CONTAINER_TAG="localhost/oci-host-runner:test-$$" \
    CONTAINER_PUSH_FLAGS=--disable-compression \
    BUILDAH="buildah --storage-driver vfs --root $T/buildah --runroot $T/buildah-run" \
    container >"$T/container.log" 2>&1; then
    tail -20 "$T/container.log" | sed 's/^/# /'
    exit 1
  fi
  rm -rf "$T/buildah" "$T/container"
  echo "# make container: $(($(date +%s) - s)) s" >&2
  s=$(date +%s)
  umoci unpack --image "$IMG/image:oci-host-runner" "$IMG/bundle" >/dev/null 2>&1 ||
    { echo "# umoci unpack of the image failed" >&2; exit 1; }
  # hostUsers: false pods see the image's files owned by their own root:
  # the runtime idmaps (or chowns) the rootfs.  runc 1.1 cannot idmap, so a
  # copy shifted by the pod's mapping stands in for it.
  cp -a "$IMG/bundle/rootfs" "$IMG/rootfs-userns"
  "$PY" - "$IMG/rootfs-userns" "$HOST_UID_BASE" <<'PYEOF'
import os, stat, sys
root, base = sys.argv[1], int(sys.argv[2])
for d, dirs, files in os.walk(root):
    for p in [d] + [os.path.join(d, n) for n in dirs + files]:
        if p != d and os.path.isdir(p) and not os.path.islink(p):
            continue  # visited as d
        st = os.lstat(p)
        os.lchown(p, st.st_uid + base, st.st_gid + base)
        if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o6000:
            os.chmod(p, stat.S_IMODE(st.st_mode))
PYEOF
  echo "# unpacked and shifted in $(($(date +%s) - s)) s" >&2
  touch "$IMG/done"
) 9>"$OHR_TEST_SHARED/pod-image.lock" || fatal "make container failed"
check "make container builds the image with buildah from images/cc, pinned by its digest" \
  grep -q "\"org.opencontainers.image.base.name\": *\"127.0.0.1:[0-9]*/oci-host-runner/base-cc@$SHARED_DIGEST\"" \
  <("$PY" -m json.tool "$IMG/bundle/config.json")
ROOTFS=$IMG/bundle/rootfs
check "the image has the runner, crun, runc, cargo and the entrypoint" \
  test -x "$ROOTFS/usr/local/bin/oci-host-runner" -a -x "$ROOTFS/usr/bin/crun" \
  -a -x "$ROOTFS/usr/sbin/runc" -a -x "$ROOTFS/usr/local/rust/bin/cargo" \
  -a -x "$ROOTFS/usr/local/bin/container-entrypoint"
check "the image's base is images/cc, which has the pinned compiler" \
  test -x "$ROOTFS/usr/bin/gcc-12" -a -f "$ROOTFS/var/lib/dpkg/status"

# ---- pods
# pod NAME USERNS MASKS SECCOMP ENV... -- ARGS...: run ARGS in a pod; its
# stdout in $T/NAME.out, stderr in $T/NAME.err, exit status in $rc.
#   USERNS  1: hostUsers: false (0 -> 100000, 65536 ids); 0: hostUsers: true
#           noidmap: hostUsers: false on a runtime that cannot idmap the
#           image (its files then belong to "nobody")
#   MASKS   all: procMount: Default (kubelet's masked and read-only paths)
#           proc: only the /proc ones; none: procMount: Unmasked
#   SECCOMP default | nested | unconfined
pod() {
  local name=$1 userns=$2 masks=$3 seccomp=$4
  shift 4
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  local b=$T/pods/$name
  rm -rf "$b"
  mkdir -p "$b/cache" "$b/home"
  local owner=1000
  [ "$userns" != 0 ] && owner=$((HOST_UID_BASE + 1000))
  chown "$owner:$owner" "$b/cache" "$b/home"
  "$PY" - "$b/config.json" "$IMG/bundle/config.json" "$T/rootfs" "$userns" "$masks" \
    "$TOP/tests/lib/seccomp-pod.json" "$TOP/examples/kubernetes/seccomp-oci-host-runner.json" \
    "$seccomp" "$b" "${WS:-$T/ws}" "${#envs[@]}" "${envs[@]}" "$@" <<'PYEOF'
import json, sys
(out, image_cfg, rootfs, userns, masks, sec_default, sec_nested, seccomp, b, ws,
 nenv) = sys.argv[1:12]
rest = sys.argv[12:]
envs, args = rest[:int(nenv)], rest[int(nenv):]
env = json.load(open(image_cfg))["process"]["env"] + envs
ro = ["nosuid", "noexec", "nodev", "ro"]
mounts = [
    {"destination": "/proc", "type": "proc", "source": "proc", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ro},
    {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ro + ["relatime"]},
    # emptyDirs and the workspace volume
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777"]},
    {"destination": "/home/builder", "type": "bind", "source": b + "/home", "options": ["rbind", "rw"]},
    {"destination": "/var/cache/oci-host-runner", "type": "bind", "source": b + "/cache", "options": ["rbind", "rw"]},
    {"destination": "/workspace", "type": "bind", "source": ws, "options": ["rbind", "rw"]},
]
# kubelet's defaults for procMount: Default
masked = ["/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi",
          "/sys/firmware", "/sys/devices/virtual/powercap"]
readonly = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
if masks == "proc":
    masked = [p for p in masked if p.startswith("/proc/")]
elif masks == "none":
    masked, readonly = [], []
ns = [{"type": t} for t in ("pid", "ipc", "uts", "mount", "network")]
linux = {
    "namespaces": ns,
    "maskedPaths": masked,
    "readonlyPaths": readonly,
    # resources.limits of the Job
    "resources": {"memory": {"limit": 4 << 30}, "pids": {"limit": 4096},
                  "devices": [{"allow": False, "access": "rwm"}]},
}
if userns != "0":
    ns.append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": 100000, "size": 65536}]
if seccomp != "unconfined":
    linux["seccomp"] = json.load(open(sec_default if seccomp == "default" else sec_nested))
none = []
cfg = {
    "ociVersion": "1.0.2",
    "process": {
        "terminal": False,
        "user": {"uid": 1000, "gid": 1000},          # runAsUser/runAsGroup
        "args": args, "env": env, "cwd": "/workspace",
        "capabilities": {k: none for k in ("bounding", "effective", "permitted", "inheritable", "ambient")},
        "noNewPrivileges": True,                      # allowPrivilegeEscalation: false
    },
    "root": {"path": rootfs, "readonly": True},       # readOnlyRootFilesystem
    "hostname": "ci-pod",
    "mounts": mounts,
    "linux": linux,
}
json.dump(cfg, open(out, "w"), indent=1)
PYEOF
  rc=0
  # The shared rootfs lives in a 0700 temporary directory, out of reach of the pod's
  # mapped uids: bind it into $T, in a mount namespace of its own.
  timeout --kill-after=10 600 unshare -m --propagation private bash -c \
    'mount --bind "$1" "$2" && exec runc --root "$3" run --bundle "$4" "$5"' \
    pod "$([ "$userns" = 1 ] && echo "$IMG/rootfs-userns" || echo "$ROOTFS")" \
    "$T/rootfs" "$T/runc" "$b" "ohr-pod-$name-$$" \
    </dev/null >"$T/$name.out" 2>"$T/$name.err" || rc=$?
  runc --root "$T/runc" delete --force "ohr-pod-$name-$$" >/dev/null 2>&1 || true
}

# fails NAME: the FAIL checks of a doctor report, comma-separated
fails() { sed -n 's/^FAIL \([^:]*\):.*/\1/p' "$T/$1.out" | paste -sd, -; }
# missing NAME: the verdict's list of missing settings
missing() { sed -n 's/^FAIL verdict: .*; missing: \(.*\); fix: .*/\1/p' "$T/$1.out"; }
show() { sed 's/^/#   /' "$T/$1.out" "$T/$1.err" | head -40 >&2; }

expect_doctor() { # NAME RC FAILS MISSING
  if [ "$rc" = "$2" ] && [ "$(fails "$1")" = "$3" ] && [ "$(missing "$1")" = "$4" ]; then
    return 0
  fi
  echo "# $1: rc $rc (want $2), FAIL '$(fails "$1")' (want '$3'), missing '$(missing "$1")' (want '$4')" >&2
  show "$1"
  return 1
}

mkdir -p "$T/ws" "$T/pods" "$T/rootfs"
chmod 755 "$T/pods"
SECCOMP_NAME="seccompProfile: Localhost oci-host-runner.json or Unconfined"

# 1. a pod with none of the settings: hostUsers true, masked /proc and /sys,
# the runtime's default seccomp profile
chown 1000:1000 "$T/ws"
pod strict 0 all default -- /usr/local/bin/container-entrypoint doctor
check "strict pod: doctor names hostUsers, procMount and seccompProfile" \
  expect_doctor strict 1 "pod user namespace,user namespace,seccomp,procfs,sysfs,verdict" \
  "hostUsers: false, procMount: Unmasked, $SECCOMP_NAME"
check "strict pod: the failures say why (EPERM from seccomp, masked paths)" \
  grep -q 'FAIL user namespace: unshare(CLONE_NEWUSER): EPERM (a seccomp filter' "$T/strict.out"
sed 's/^/# strict pod: /' "$T/strict.out" >&2
pod strict-json 0 all default -- /usr/local/bin/container-entrypoint doctor --json
check "strict pod: doctor --json gives the same checks" \
  "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert all(set(c) == {"check", "status", "detail", "fix"} for c in r), r
f = [c["check"] for c in r if c["status"] == "fail"]
assert f == "pod user namespace,user namespace,seccomp,procfs,sysfs,verdict".split(","), f
assert all(c["fix"] for c in r if c["status"] == "fail")
' "$T/strict-json.out"
pod strict-build 0 all default -- /usr/local/bin/container-entrypoint build --offline
check "strict pod: the entrypoint refuses to build and shows the report" \
  eval '[ "$rc" = 1 ] && grep -q "^FAIL verdict" "$T/strict-build.err" &&
        grep -q "build scripts cannot run in containers" "$T/strict-build.err" &&
        [ ! -e "$T/ws/target" ]'

# 2. hostUsers: false and the Localhost seccomp profile, but procMount
# Default: a fresh procfs and sysfs are refused (every procfs mount, with
# subset=pid or hidepid= too: the kernel's mount_too_revealing); --degraded
# proc binds both
chown "$((HOST_UID_BASE + 1000)):$((HOST_UID_BASE + 1000))" "$T/ws"
pod masked 1 all nested -- /usr/local/bin/container-entrypoint doctor
check "masked pod: doctor names only procMount" \
  expect_doctor masked 1 "procfs,sysfs,verdict" "procMount: Unmasked"
check "masked pod: --degraded proc is offered (it binds /proc and /sys)" \
  eval 'grep -q "^FAIL sysfs: .*; fix: .*--degraded proc" "$T/masked.out" &&
        grep -q "^FAIL verdict.*--degraded proc" "$T/masked.out"'
# passes_degraded NAME: doctor exits 0 without a FAIL, the verdict a warning
passes_degraded() {
  [ "$rc" = 0 ] && [ -z "$(fails "$1")" ] &&
    grep -q "^warn verdict: build scripts can run here" "$T/$1.out"
}
pod masked-degraded 1 all nested OCI_HOST_RUNNER_DEGRADED=proc -- \
  /usr/local/bin/container-entrypoint doctor
check "masked pod with OCI_HOST_RUNNER_DEGRADED=proc: doctor passes, /sys bound" \
  eval 'passes_degraded masked-degraded &&
        grep -q "^ok   sysfs: not mounted fresh: degraded mode" "$T/masked-degraded.out"'

# 3. the same with only /proc masked: doctor recommends --degraded proc,
# and with it a real build runs (the pod's /proc and /sys in a PID
# namespace)
pod procmasked 1 proc nested -- /usr/local/bin/container-entrypoint doctor
check "proc-masked pod: doctor names procMount and recommends --degraded proc" \
  eval 'expect_doctor procmasked 1 "procfs,verdict" "procMount: Unmasked" &&
        grep -q "^FAIL verdict: .*; fix: .*--degraded proc (OCI_HOST_RUNNER_DEGRADED=proc)" "$T/procmasked.out"'
pod procmasked-degraded 1 proc nested OCI_HOST_RUNNER_DEGRADED=proc -- \
  /usr/local/bin/container-entrypoint doctor
check "proc-masked pod with OCI_HOST_RUNNER_DEGRADED=proc: doctor passes, with a warning" \
  eval 'passes_degraded procmasked-degraded &&
        grep -q "^warn procfs: .*degraded mode .proc. is on" "$T/procmasked-degraded.out"'

# the reference: a native build of the examples
cargo_build_native "$TOP/examples" "$T/native" || fatal "native build failed"
for b in codegen cffi links-consumer cfgprobe; do "$T/native/debug/$b"; done >"$T/native.txt"

# build NAME USERNS MASKS SECCOMP RUNTIME ENV...: cargo build of a fresh
# copy of the examples in a pod, then its binaries' output
build() {
  local name=$1 userns=$2 masks=$3 seccomp=$4 runtime=$5
  shift 5
  WS=$T/ws-$name
  rm -rf "$WS"
  cp -r "$TOP/examples" "$WS"
  rm -rf "$WS/target"
  chown -R "$((HOST_UID_BASE + 1000)):$((HOST_UID_BASE + 1000))" "$WS"
  local s
  s=$(date +%s)
  pod "$name" "$userns" "$masks" "$seccomp" OCI_HOST_RUNNER_RUNTIME="$runtime" \
    OCI_HOST_RUNNER_VERBOSE=1 CARGO_TERM_COLOR=never "$@" -- \
    /usr/local/bin/container-entrypoint build --offline
  echo "# $name: cargo build in the pod: exit $rc, $(($(date +%s) - s)) s" >&2
  WS_OUT=$T/$name.txt
  : >"$WS_OUT"
  [ "$rc" = 0 ] || { show "$name"; return 1; }
  for b in codegen cffi links-consumer cfgprobe; do "$WS/target/debug/$b"; done >"$WS_OUT"
}

# every build script ran in a nested container of that runtime
all_in_containers() { # name runtime [extra pattern]
  local p
  for p in codegen cffi links-provider links-consumer cfgprobe; do
    ran_in_container "$T/ws-$1/target" "$p" "$2" || return 1
  done
}

# the kubelet's default masks (/proc and /sys): the realistic case
if build degraded 1 all nested runc OCI_HOST_RUNNER_DEGRADED=proc; then
  ok "masked pod, --degraded proc: cargo build of the examples (runc)"
else
  not_ok "masked pod, --degraded proc: cargo build of the examples (runc)"
fi
check "degraded: binaries print the same as a native build" diff -u "$T/native.txt" "$T/degraded.txt"
check "degraded: every build script ran in a runc container, with the notice" \
  eval 'all_in_containers degraded runc &&
        grep -q "degraded mode .proc." "$(ls "$T"/ws-degraded/target/debug/build/cffi-*/stderr | head -1)"'

# What a build script reaches of the pod in that mode
# (tests/fixtures/crates/contain-probe): Cargo and a process whose command
# line carries a token, both started before it.  The pod's pids are pushed
# past the small ones the script's own PID namespace uses, so that a pid
# number cannot name one of its own processes by chance.
WS=$T/ws-contain
rm -rf "$WS"
cp -r "$TOP/tests/fixtures/crates" "$WS"
rm -rf "$WS/target"
chown -R "$((HOST_UID_BASE + 1000)):$((HOST_UID_BASE + 1000))" "$WS"
PTOKEN=ohr-pod-secret-$$-$RANDOM
pod contain 1 all nested OCI_HOST_RUNNER_DEGRADED=proc OCI_HOST_RUNNER_RUNTIME=crun \
  "OCI_HOST_RUNNER_ENV=OHR_PROBE_RO=/proc:/sys OHR_PROBE_PID_FILES=cargo.pid:sleeper.pid" -- \
  /bin/sh -c "for i in \$(seq 300); do /bin/true; done
    bash -c 'exec -a $PTOKEN sleep 300' </dev/null >/dev/null 2>&1 &
    echo \$! >contain-probe/sleeper.pid
    /usr/local/bin/container-entrypoint build --offline -p ohr-fixture-contain-probe &
    echo \$! >contain-probe/cargo.pid
    wait \$!"
REPORT=$(ls "$WS"/target/debug/build/ohr-fixture-contain-probe-*/out/report.txt 2>/dev/null | head -1)
cpid=$(cat "$WS/contain-probe/cargo.pid" 2>/dev/null)
spid=$(cat "$WS/contain-probe/sleeper.pid" 2>/dev/null)
check "degraded pod: the probe ran (crun), Cargo's pid above 300" \
  eval '[ "$rc" = 0 ] && [ -f "$REPORT" ] && [ "$cpid" -gt 300 ] || { show contain; false; }'
check "degraded pod: kill(0) of Cargo and of the other process give ESRCH" \
  eval 'grep -qx "kill $cpid: errno 3" "$REPORT" && grep -qx "kill $spid: errno 3" "$REPORT"'
check "degraded pod: their /proc entries are masked, the token is nowhere in the report" \
  eval 'grep -qx "cmdline $cpid: errno 2" "$REPORT" && grep -qx "cmdline $spid: errno 2" "$REPORT" &&
        ! grep -q "$PTOKEN" "$REPORT" && grep -q "^self-cmdline: [1-9]" "$REPORT"'
check "degraded pod: no mount under /proc or /sys is read-write" \
  eval '! grep -q "^rw-mount" "$REPORT" && grep -q "^mounts-checked [1-9]" "$REPORT"'

# 4. the documented settings: hostUsers false, procMount Unmasked, the
# shipped Localhost seccomp profile
pod documented 1 none nested -- /usr/local/bin/container-entrypoint doctor
check "documented settings: doctor passes (exit 0, no FAIL)" \
  eval '[ "$rc" = 0 ] && [ -z "$(fails documented)" ] &&
        grep -q "^ok   verdict: build scripts can run here" "$T/documented.out"'
check "documented settings: the lost limits are said (warn cgroups)" \
  grep -q "^warn cgroups: .*rootless: memory and pids limits are not enforced" "$T/documented.out"
sed 's/^/# documented pod: /' "$T/documented.out" >&2
pod noidmap noidmap none nested -- /usr/local/bin/container-entrypoint doctor
check "hostUsers: false without an idmapped image: doctor names the hooks directory" \
  eval 'expect_doctor noidmap 1 "hooks,verdict" "see the checks above" &&
        grep -q "^FAIL hooks: .*belongs to another user.*; fix: .*idmap" "$T/noidmap.out"'
pod unconfined 1 none unconfined -- /usr/local/bin/container-entrypoint doctor
check "seccomp Unconfined instead of the Localhost profile: doctor passes too" \
  eval '[ "$rc" = 0 ] && grep -q "^ok   seccomp: no filter" "$T/unconfined.out"'

for rt in runc crun; do
  if build "pod-$rt" 1 none nested "$rt"; then
    ok "documented settings: cargo build of the examples in the pod ($rt)"
  else
    not_ok "documented settings: cargo build of the examples in the pod ($rt)"
    continue
  fi
  check "$rt: binaries print the same as a native build" diff -u "$T/native.txt" "$T/pod-$rt.txt"
  check "$rt: every build script ran in a nested rootless $rt container" \
    eval 'all_in_containers "pod-$rt" "$rt" &&
          grep -q "rootless" "$(ls "$T"/ws-pod-$rt/target/debug/build/cffi-*/stderr | head -1)"'
  sed -n '1,2s/^/# evidence: /p' "$(ls "$T"/ws-pod-$rt/target/debug/build/cffi-*/stderr | head -1)" >&2
  check "$rt: generated files belong to the pod's user" \
    assert_eq "$((HOST_UID_BASE + 1000))" \
    "$(stat -c %u "$(ls -d "$T"/ws-pod-$rt/target/debug/build/codegen-*/out | head -1)/generated.rs")" \
    "owner of generated.rs"
done
echo "# test-pod: $(($(date +%s) - t0)) s" >&2
finish
