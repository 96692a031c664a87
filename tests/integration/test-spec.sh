#!/usr/bin/env bash
# The generated config.json: valid against the official OCI schema, and
# carrying the security baseline and the environment allowlist.
. "$(dirname "$0")/../lib/libtest.sh"

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache
printf '#!/bin/sh\nexit 0\n' >"$T/script.sh"
fake_cargo_context "$T/ctx" "$T/script.sh"
cd "$T/ctx/pkg"

# Secrets and noise a developer's shell has; none may reach the spec.
export GITHUB_TOKEN=ghp_secret_marker_1 CARGO_REGISTRY_TOKEN=secret_marker_2
export SSH_AUTH_SOCK=/tmp/ssh-secret_marker_3 AWS_SECRET_ACCESS_KEY=secret_marker_4
export http_proxy=http://proxy.invalid:3128 CARGO_HOME=/root/.cargo
export CARGO_CFG_TARGET_OS=linux CARGO_FEATURE_STD=1 DEP_Z_INCLUDE=/x/include
export TARGET=x86_64-unknown-linux-gnu NUM_JOBS=2 OPT_LEVEL=0 PROFILE=debug
export RUSTC=$(rustc --print sysroot)/bin/rustc
export OHR_EXTRA=passed-by-name

specfile() { sed -n 's/^oci-host-runner: bundle kept at //p' "$T/err"; }
SCHEMA=/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema
[ -f "$SCHEMA/config-schema.json" ] || fatal "OCI runtime-spec schema not installed (make deps)"

for net in none host; do
  "$OHR" --keep-bundle --paths identity --network $net --env OHR_EXTRA --env OHR_SET=value "$SCRIPT" 2>"$T/err"
  cfg=$(specfile)/config.json
  cp "$cfg" "$T/config-$net.json"
  check "network=$net: config.json validates against the OCI schema" \
    /usr/bin/python3 "$TOP/tests/lib/validate-spec.py" "$cfg"
done

# Assertions on content, in Python for JSON access.
check "security baseline and environment allowlist" /usr/bin/python3 - "$T" "$OUT_DIR" "$CARGO_MANIFEST_DIR" "$RUSTC" <<'PY'
import json, sys, os
t, out_dir, manifest, rustc = sys.argv[1:5]
c = json.load(open(t + "/config-none.json"))
h = json.load(open(t + "/config-host.json"))
p = c["process"]
errors = []
def need(cond, what):
    if not cond: errors.append(what)
need(c["root"]["readonly"] is True, "root must be read-only")
need(all(p["capabilities"][k] == [] for k in ("bounding", "effective", "permitted", "inheritable", "ambient")), "no capabilities")
need(p["noNewPrivileges"] is True, "noNewPrivileges")
need(p["cwd"] == manifest, "cwd is the package root")
need(p["args"][0] == "/dev/.ohr-init" and p["args"][1].endswith("build-script-build"), "init runs the script: %r" % p["args"])
ns = {n["type"] for n in c["linux"]["namespaces"]}
need({"pid", "ipc", "uts", "mount", "network"} <= ns, "namespaces %r" % ns)
need("network" not in {n["type"] for n in h["linux"]["namespaces"]}, "--network host shares the host netns")
# as root too, the container's root is an unprivileged range (idmap.h):
# the default one unless /etc/subuid names oci-host-runner
sub = [l.split(":") for l in open("/etc/subuid") if l.startswith("oci-host-runner:")] if os.path.exists("/etc/subuid") else []
first = int(sub[0][1]) if sub else 1879048192
need("user" in ns, "a user namespace as root")
for k in ("uidMappings", "gidMappings"):
    m = c["linux"].get(k, [])
    need(len(m) == 1 and m[0]["containerID"] == 0 and m[0]["size"] == 65536
         and (k == "gidMappings" or m[0]["hostID"] == first) and m[0]["hostID"] > 0,
         "%s maps 0.. to 65536 unprivileged ids: %r" % (k, m))
need("/proc/kcore" in c["linux"]["maskedPaths"] and "/proc/sys" in c["linux"]["readonlyPaths"], "masked/readonly paths")
env = dict(e.split("=", 1) for e in p["env"])
blob = json.dumps(c)
for marker in ("secret_marker", "ghp_", "proxy.invalid"):
    need(marker not in blob, "spec leaks %s" % marker)
for gone in ("GITHUB_TOKEN", "CARGO_REGISTRY_TOKEN", "SSH_AUTH_SOCK", "AWS_SECRET_ACCESS_KEY", "http_proxy", "CARGO_HOME", "USER", "TERM"):
    need(gone not in env, "%s must not be passed" % gone)
for kept in ("OUT_DIR", "CARGO_MANIFEST_DIR", "CARGO_PKG_NAME", "CARGO_CFG_TARGET_OS", "CARGO_FEATURE_STD", "DEP_Z_INCLUDE", "TARGET", "NUM_JOBS", "OPT_LEVEL", "PROFILE", "RUSTC"):
    need(kept in env, "%s must be passed" % kept)
need(env.get("OHR_EXTRA") == "passed-by-name" and env.get("OHR_SET") == "value", "--env NAME and NAME=VALUE")
need(env["HOME"] == "/tmp/home", "HOME is the private tmpfs")
need(env["PATH"].startswith(os.path.dirname(rustc) + ":") and "/usr/bin" in env["PATH"], "PATH: toolchain then image: " + env["PATH"])
need(list(env) == sorted(env), "env sorted (spec independent of host env order)")
m = {x["destination"]: x for x in c["mounts"]}
need("rw" in m[out_dir]["options"] and m[out_dir]["type"] == "bind", "OUT_DIR read-write bind")
src = m[manifest]
# as root the lower dir is where the runner binds the package root for the
# mapped root (idmapped, in the runtime's mount namespace): BUNDLE/source-lower
lower_ok = lambda opts: ("lowerdir=" + manifest in opts) == (os.geteuid() != 0) and any(o.startswith("lowerdir=") and (o == "lowerdir=" + manifest or o.endswith("/source-lower")) for o in opts)
need(src["type"] == "overlay" and lower_ok(src["options"]) and any(o.startswith("upperdir=") for o in src["options"]), "package source: overlay with a scratch upper (writes never reach it)")
build = os.path.dirname(os.path.dirname(out_dir))
need(build in m and "ro" in m[build]["options"], "build dir read-only (dependencies' OUT_DIRs)")
tc = os.path.dirname(os.path.dirname(rustc))
need(tc in m and "ro" in m[tc]["options"], "toolchain %s read-only" % tc)
need(m["/tmp"]["type"] == "tmpfs" and m["/tmp/home"]["type"] == "tmpfs", "private /tmp and HOME")
need(m["/usr"]["source"] == "/usr" and "ro" in m["/usr"]["options"], "host image: /usr read-only")
order = [x["destination"] for x in c["mounts"]]
for i, d in enumerate(order):
    for parent in order[i + 1:]:
        need(not (d.startswith(parent + "/")), "mount %s comes before its parent %s" % (d, parent))
sc = c["linux"].get("seccomp", {})
need(sc.get("defaultAction") == "SCMP_ACT_ALLOW" and "SCMP_ARCH_X86_64" in sc.get("architectures", []), "seccomp profile: a denylist for x86_64")
denied = {n: r["errnoRet"] for r in sc.get("syscalls", []) if "args" not in r for n in r["names"]}
need(denied.get("keyctl") == 38 and denied.get("clone3") == 38 and denied.get("bpf") == 1, "seccomp: keyctl/clone3 ENOSYS, bpf EPERM")
need(all(r["action"] == "SCMP_ACT_ERRNO" for r in sc.get("syscalls", [])), "seccomp: errno answers only, never a kill")
for e in errors:
    print("# " + e)
sys.exit(1 if errors else 0)
PY

# A policy rule relaxes the profile for one package, or drops it.
printf '{"version":1,"packages":[{"package":"pkg","source":"any","syscalls":["keyctl"]}]}' >"$T/relax.json"
printf '{"version":1,"packages":[{"package":"pkg","source":"any","seccomp":"unconfined"}]}' >"$T/unconfined.json"
printf '{"version":1,"packages":[{"package":"pkg","source":"any","syscalls":["keyctl","read"]}]}' >"$T/typo.json"
chmod 644 "$T"/relax.json "$T"/unconfined.json "$T"/typo.json
"$OHR" --keep-bundle --policy "$T/relax.json" "$SCRIPT" 2>"$T/err"
cfg=$(specfile)/config.json
check "policy syscalls: the spec still validates" /usr/bin/python3 "$TOP/tests/lib/validate-spec.py" "$cfg"
check "policy syscalls: keyctl is no longer denied, add_key still is" /usr/bin/python3 -c "
import json; r=json.load(open('$cfg'))['linux']['seccomp']['syscalls']; n=[x for y in r for x in y['names']]
assert 'keyctl' not in n and 'add_key' in n, n"
"$OHR" --keep-bundle --policy "$T/unconfined.json" "$SCRIPT" 2>"$T/err"
cfg=$(specfile)/config.json
check "policy seccomp unconfined: no linux.seccomp" /usr/bin/python3 -c "
import json; assert 'seccomp' not in json.load(open('$cfg'))['linux']"
rc=0
"$OHR" --policy "$T/typo.json" "$SCRIPT" 2>"$T/err" || rc=$?
check "policy syscalls: a call the profile allows anyway is a usage error naming where" \
  assert_file_has "$T/err" "packages\[0\]\.syscalls\[1\]: \"read\" is not a call the seccomp profile denies"
check "... with the usage exit code (121)" assert_eq 121 "$rc" "exit status"

# The default: canonical paths.
"$OHR" --keep-bundle "$SCRIPT" 2>"$T/err"
cfg=$(specfile)/config.json
check "canonical (default): config.json validates" /usr/bin/python3 "$TOP/tests/lib/validate-spec.py" "$cfg"
check "canonical: fixed paths, env rewritten, /cargo is a tmpfs" /usr/bin/python3 - "$cfg" "$OUT_DIR" "$CARGO_MANIFEST_DIR" "$RUSTC" <<'PY'
import json, os, sys
c = json.load(open(sys.argv[1])); out_dir, manifest, rustc = sys.argv[2:5]
m = {x["destination"]: x for x in c["mounts"]}
env = dict(e.split("=", 1) for e in c["process"]["env"])
errors = []
def need(cond, what):
    if not cond: errors.append(what)
need(m["/cargo"]["type"] == "tmpfs", "/cargo tmpfs")
# OUT_DIR keeps Cargo's depth below the target dir: <profile>/build/<pkg>-<hash>/out
c_out = "/cargo/target/" + "/".join(out_dir.split("/")[-4:])
need(c_out == "/cargo/target/debug/build/pkg-0000/out", "OUT_DIR's place: " + c_out)
need(m[c_out]["source"] == out_dir and "rw" in m[c_out]["options"], "OUT_DIR at " + c_out + " rw")
need(m["/cargo/src"]["type"] == "overlay" and any(o == "lowerdir=" + manifest or (os.geteuid() == 0 and o.startswith("lowerdir=") and o.endswith("/source-lower")) for o in m["/cargo/src"]["options"]), "source at /cargo/src")
need(m["/cargo/target/debug/build"]["source"] == os.path.dirname(os.path.dirname(out_dir)), "build dir at /cargo/target/debug/build")
need(not any(d in m for d in ("/cargo/target", "/cargo/target/debug", "/cargo/build", "/cargo/out")), "nothing else of the target dir mounted")
need(m["/cargo/bin/build-script"]["source"].endswith("build-script-build"), "script at /cargo/bin/build-script")
need(m["/cargo/toolchain"]["source"] == os.path.dirname(os.path.dirname(rustc)), "toolchain at /cargo/toolchain")
need(env["OUT_DIR"] == c_out and env["CARGO_MANIFEST_DIR"] == "/cargo/src", "env rewritten")
need(env["RUSTC"] == "/cargo/toolchain/bin/rustc", "RUSTC rewritten: " + env["RUSTC"])
need(env["DEP_Z_INCLUDE"] == "/x/include", "unrelated paths untouched")
need(c["process"]["cwd"] == "/cargo/src" and c["process"]["args"][1] == "/cargo/bin/build-script", "cwd and script")
need(not any(v.startswith(manifest) or v.startswith(out_dir) for v in env.values()), "no host package path left in env")
for e in errors: print("# " + e)
sys.exit(1 if errors else 0)
PY

# A rootless spec: user namespace mapping 0 -> the caller (checked without
# running anything, by generating as an unprivileged user).
if id ohr-test >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin ohr-test 2>/dev/null; then
  chmod 711 "$T"
  chown -R ohr-test "$T/ctx"
  mkdir -p "$T/ustate" "$T/ubin" && chown ohr-test "$T/ustate"
  # the build under test may sit below a directory the user cannot enter
  cp "$OHR" "$(dirname "$OHR")/ohr-init" "$T/ubin/"
  su ohr-test -s /bin/bash -c "cd '$CARGO_MANIFEST_DIR' && OCI_HOST_RUNNER_STATE_DIR=$T/ustate OCI_HOST_RUNNER_CACHE_DIR=$T/ustate/cache HOME=$T/ustate XDG_CACHE_HOME=$T/ustate/xdg '$T/ubin/oci-host-runner' --runtime runc --keep-bundle '$SCRIPT'" 2>"$T/err" || sed 's/^/# rootless run: /' "$T/err"
  cfg=$(specfile)/config.json
  check "rootless: config.json validates" /usr/bin/python3 "$TOP/tests/lib/validate-spec.py" "$cfg"
  uid=$(id -u ohr-test)
  check "rootless: user namespace maps 0 to the caller" /usr/bin/python3 -c "
import json,sys; c=json.load(open('$cfg')); l=c['linux']
assert 'user' in [n['type'] for n in l['namespaces']]
assert l['uidMappings']==[{'containerID':0,'hostID':$uid,'size':1}], l['uidMappings']
assert not any('gid=5' in o for m in c['mounts'] for o in m.get('options',[])), 'devpts gid=5 cannot be mapped rootless'"
else
  not_ok "rootless spec: cannot create the test user"
fi
finish
