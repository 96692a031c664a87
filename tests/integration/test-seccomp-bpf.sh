#!/usr/bin/env bash
# Under crun the runner hands over the seccomp program it compiled once and
# cached (src/run/seccomp-bpf.h, annotation run.oci.seccomp_bpf_data).  It
# must be byte for byte the program crun compiles itself from the same
# config.json section: crun writes the one it made to its state directory
# at `crun create`, where this test reads it.  runc gets no annotation (it
# compiles the section).  Whether the filter denies what it should is
# test-escape's `syscalls` case, under both runtimes.
. "$(dirname "$0")/../lib/libtest.sh"

command -v crun >/dev/null || { skip "crun not installed"; finish; exit; }
export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
printf '#!/bin/sh\necho cargo:rustc-cfg=ran\n' >"$T/script.sh"
fake_cargo_context "$T/ctx" "$T/script.sh"
cd "$T/ctx/pkg"

run_kept() { # runtime: config.json of a kept bundle, copied to $T/config-RT.json
  "$OHR" --runtime "$1" --keep-bundle "$SCRIPT" >"$T/out" 2>"$T/err"
  grep -x 'cargo:rustc-cfg=ran' "$T/out" >/dev/null || { cat "$T/err" >&2; return 1; }
  cp "$(sed -n 's/^oci-host-runner: bundle kept at //p' "$T/err")/config.json" "$T/config-$1.json"
}

check "crun: a run with the cached program (first: compiled and stored)" run_kept crun
n=$(find "$T/cache/seccomp" -type f -name '*.bpf' | wc -l)
assert_eq 1 "$n" "one cache entry for the default profile"
check "crun: a second run takes it from the cache" run_kept crun
n=$(find "$T/cache/seccomp" -type f -name '*.bpf' | wc -l)
assert_eq 1 "$n" "still one cache entry"

# A bundle of crun's own with the runner's seccomp section and no
# annotation: crun compiles it at create.
mkdir -p "$T/cmp/rootfs/usr" "$T/cmp/rootfs/proc" "$T/cmp/rootfs/dev" "$T/cmp/rootfs/sys"
check "the annotation holds a program; crun's own bundle written" \
  python3 - "$T/config-crun.json" "$T/cmp" <<'PY'
import base64, json, sys
c = json.load(open(sys.argv[1]))
prog = base64.b64decode(c["annotations"]["run.oci.seccomp_bpf_data"], validate=True)
assert len(prog) > 0 and len(prog) % 8 == 0, len(prog)
open(sys.argv[2] + "/runner.bpf", "wb").write(prog)
m = {"ociVersion": "1.0.2",
     "process": {"args": ["/usr/bin/true"], "cwd": "/", "user": {"uid": 0, "gid": 0}},
     "root": {"path": sys.argv[2] + "/rootfs"},
     "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                {"destination": "/usr", "type": "bind", "source": "/usr", "options": ["rbind", "ro"]}],
     "linux": {"namespaces": [{"type": "mount"}, {"type": "pid"}],
               "seccomp": c["linux"]["seccomp"]}}
json.dump(m, open(sys.argv[2] + "/config.json", "w"))
PY
# crun refuses this host's hybrid cgroups unless the v2 tree is hidden, as
# the runner does in its own mount namespace (src/runtime/crun.c)
unshare -m --propagation slave sh -c '
  umount -l /sys/fs/cgroup/unified 2>/dev/null
  crun --root "$1/crunstate" create --bundle "$1" cmp-$$ || exit 1
  cp "$1/crunstate/cmp-$$/seccomp.bpf" "$1/crun.bpf"; r=$?
  crun --root "$1/crunstate" delete -f cmp-$$
  exit $r' sh "$T/cmp" 2>"$T/crun.err" || cat "$T/crun.err" >&2
check "crun compiled its own program" test -s "$T/cmp/crun.bpf"
check "the runner's program is byte for byte crun's" cmp "$T/cmp/runner.bpf" "$T/cmp/crun.bpf"

if command -v runc >/dev/null; then
  check "runc: a run" run_kept runc
  check "runc: no program annotation, the seccomp section kept" python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))
assert "run.oci.seccomp_bpf_data" not in c.get("annotations", {})
assert c["linux"]["seccomp"]["syscalls"]' "$T/config-runc.json"
fi
finish
