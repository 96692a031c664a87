#!/usr/bin/env bash
# test-kubernetes-yaml: examples/kubernetes parses (python3-yaml), carries
# the settings its README documents and test-pod proves, and its files
# agree with each other: the ConfigMap with the baked cargo config, the
# Localhost seccomp profile with the runtime default plus exactly the calls
# nested containers need.
. "$(dirname "$0")/../lib/libtest.sh"

PY=/usr/bin/python3
"$PY" -c 'import yaml' 2>/dev/null || fatal "needs python3-yaml (apt-get install python3-yaml)"
K=$TOP/examples/kubernetes

# case NAME PYTHON: one check in Python, with the parsed files at hand
case_py() {
  local name=$1
  if "$PY" - "$K" "$TOP" >"$T/py.out" 2>&1 <<PYEOF; then
import json, os, sys, yaml
K, TOP = sys.argv[1], sys.argv[2]
def load(n):
    with open(os.path.join(K, n)) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    assert len(docs) == 1, (n, len(docs))
    return docs[0]
job, cm = load("job.yaml"), load("configmap.yaml")
pod = job["spec"]["template"]["spec"]
(c,) = pod["containers"]
env = {e["name"]: e.get("value") for e in c.get("env", [])}
mounts = {m["name"]: m for m in c["volumeMounts"]}
vols = {v["name"]: v for v in pod["volumes"]}
$2
PYEOF
    ok "$name"
  else
    not_ok "$name"
    sed 's/^/# /' "$T/py.out" | tail -15
  fi
}

case_py "job.yaml and configmap.yaml parse: a batch/v1 Job and a v1 ConfigMap" '
assert job["apiVersion"] == "batch/v1" and job["kind"] == "Job"
assert cm["apiVersion"] == "v1" and cm["kind"] == "ConfigMap"
assert pod["restartPolicy"] in ("Never", "OnFailure")
'

case_py "the pod runs in a user namespace (hostUsers: false), as a non-root user" '
assert pod["hostUsers"] is False
sc = pod["securityContext"]
assert sc["runAsNonRoot"] is True and sc["runAsUser"] != 0
for k in ("hostPID", "hostNetwork", "hostIPC"):
    assert not pod.get(k), k
assert pod["automountServiceAccountToken"] is False
'

case_py "the container: procMount Unmasked, no privilege, no capability, read-only root" '
sc = c["securityContext"]
assert sc["procMount"] == "Unmasked"
assert sc["allowPrivilegeEscalation"] is False
assert sc["readOnlyRootFilesystem"] is True
assert sc["capabilities"] == {"drop": ["ALL"]}
assert not sc.get("privileged")
assert sc["appArmorProfile"] == {"type": "Unconfined"}
'

case_py "seccomp: the Localhost profile shipped beside it" '
sp = pod["securityContext"]["seccompProfile"]
assert sp == {"type": "Localhost", "localhostProfile": "oci-host-runner.json"}, sp
assert "seccompProfile" not in c["securityContext"]
'

case_py "resource requests and limits are set" '
r = c["resources"]
for k in ("cpu", "memory"):
    assert r["requests"][k] and r["limits"][k], k
assert job["spec"]["activeDeadlineSeconds"] > 0
'

case_py "the image is pinned by digest" '
import re
assert re.fullmatch(r"[a-z0-9.:/_-]+@sha256:[0-9a-f]{64}", c["image"]), c["image"]
'

case_py "volumes: the store (emptyDir) at OCI_HOST_RUNNER_STORE_DIR, home, tmp, the ConfigMap" '
store = env["OCI_HOST_RUNNER_STORE_DIR"]
assert env["OCI_HOST_RUNNER_CACHE_DIR"] == store
(sv,) = [n for n, m in mounts.items() if m["mountPath"] == store]
assert "emptyDir" in vols[sv] or "persistentVolumeClaim" in vols[sv]
assert mounts["workspace"]["mountPath"] == "/workspace"
assert "persistentVolumeClaim" in vols["workspace"] or "emptyDir" in vols["workspace"]
for p in ("/home/builder", "/tmp"):
    assert any(m["mountPath"] == p for m in mounts.values()), p
cfg = mounts["cargo-config"]
assert cfg["mountPath"] == "/etc/oci-host-runner/cargo" and cfg["readOnly"] is True
assert vols["cargo-config"]["configMap"]["name"] == cm["metadata"]["name"]
# every mount has a volume and every volume is mounted
assert set(mounts) == set(vols), (set(mounts), set(vols))
'

case_py "the ConfigMap carries cargo-config.toml, which configures host.runner" '
import tomllib
text = open(os.path.join(K, "cargo-config.toml")).read()
assert cm["data"]["config.toml"] == text
t = tomllib.loads(text)
assert t["unstable"] == {"host-config": True, "target-applies-to-host": True}
assert t["host"]["runner"][0] == "oci-host-runner"
assert "target-applies-to-host" not in t  # the silent trap (README)
'

case_py "no unknown keys (typos) in the securityContexts and the container" '
pod_sc = {"runAsNonRoot", "runAsUser", "runAsGroup", "fsGroup", "seccompProfile",
          "appArmorProfile", "supplementalGroups", "fsGroupChangePolicy", "sysctls"}
ctr_sc = {"allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities",
          "procMount", "appArmorProfile", "seccompProfile", "runAsNonRoot",
          "runAsUser", "runAsGroup", "privileged"}
ctr = {"name", "image", "args", "command", "env", "securityContext", "resources",
       "volumeMounts", "workingDir", "imagePullPolicy"}
podk = {"restartPolicy", "hostUsers", "automountServiceAccountToken",
        "enableServiceLinks", "securityContext", "containers", "initContainers",
        "volumes", "nodeSelector", "tolerations"}
for have, known, what in ((pod["securityContext"], pod_sc, "pod securityContext"),
                          (c["securityContext"], ctr_sc, "container securityContext"),
                          (c, ctr, "container"), (pod, podk, "pod spec")):
    assert set(have) <= known, (what, set(have) - known)
'

case_py "the seccomp profile is the runtime default plus what nested containers need" '
def load_json(p):
    with open(p) as f:
        return json.load(f)
base = load_json(os.path.join(TOP, "tests/lib/seccomp-pod.json"))
prof = load_json(os.path.join(K, "seccomp-oci-host-runner.json"))
allowed = lambda p: set(n for s in p["syscalls"] if s["action"] == "SCMP_ACT_ALLOW"
                        and not s.get("args") for n in s["names"])
added = allowed(prof) - allowed(base)
assert added == {"clone", "clone3", "unshare", "setns", "mount", "umount2", "pivot_root",
                 "mount_setattr", "open_tree", "move_mount", "fsopen", "fsconfig",
                 "fsmount", "fspick", "keyctl", "sethostname", "setdomainname"}, added
assert allowed(base) <= allowed(prof)
for p in (base, prof):
    assert p["defaultAction"] == "SCMP_ACT_ERRNO"
    assert "SCMP_ARCH_X86_64" in p["architectures"]
# the default refuses what the profile allows: unshare is not in it
assert "unshare" not in allowed(base) and "mount" not in allowed(base)
'

readme_documents() {
  local s
  for s in "hostUsers: false" "procMount: Unmasked" seccompProfile appArmorProfile \
    runAsNonRoot allowPrivilegeEscalation readOnlyRootFilesystem \
    OCI_HOST_RUNNER_STORE_DIR emptyDir "OCI_HOST_RUNNER_DEGRADED=proc"; do
    grep -qF -- "$s" "$K/README.md" || { echo "# README lacks $s" >&2; return 1; }
  done
}
check "the README documents every setting the Job sets" readme_documents
finish
