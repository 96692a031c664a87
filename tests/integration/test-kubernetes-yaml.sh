#!/usr/bin/env bash
# test-kubernetes-yaml: examples/kubernetes parses (python3-yaml), carries
# the settings its README documents and test-pod proves, and its files
# agree with each other: the ConfigMap with the baked cargo config, the
# Localhost seccomp profile with the runtime default plus exactly the calls
# nested containers need, the cached Job with the plain one and the cache
# server; and the cache server's nginx configuration, run by a real nginx
# on loopback, serves the remote cache protocol to the runner's client.
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
def load_all(n):
    with open(os.path.join(K, n)) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]
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

case_py "cache-server.yaml: a ConfigMap, a PVC, a Deployment and a Service" '
kinds = [(d["apiVersion"], d["kind"]) for d in load_all("cache-server.yaml")]
assert kinds == [("v1", "ConfigMap"), ("v1", "PersistentVolumeClaim"),
                 ("apps/v1", "Deployment"), ("v1", "Service")], kinds
'

case_py "the cache server: non-root, no privilege, read-only root, pinned, probed, limited" '
import re
ccm, pvc, dep, svc = load_all("cache-server.yaml")
spod = dep["spec"]["template"]["spec"]
assert spod["securityContext"]["runAsNonRoot"] is True
assert spod["securityContext"]["runAsUser"] != 0
assert spod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
assert spod["automountServiceAccountToken"] is False
for ctr in spod["containers"] + spod.get("initContainers", []):
    sc = ctr["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False, ctr["name"]
    assert sc["readOnlyRootFilesystem"] is True, ctr["name"]
    assert sc["capabilities"] == {"drop": ["ALL"]}, ctr["name"]
    assert re.fullmatch(r"[a-z0-9.:/_-]+@sha256:[0-9a-f]{64}", ctr["image"]), ctr["image"]
(n,) = spod["containers"]
for probe in ("readinessProbe", "livenessProbe"):
    assert n[probe]["httpGet"]["path"] == "/healthz", probe
for k in ("cpu", "memory"):
    assert n["resources"]["requests"][k] and n["resources"]["limits"][k], k
assert dep["spec"]["strategy"]["type"] == "Recreate"  # one pod owns the RWO volume
assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
'

case_py "the cache server: config, store and password mounted where nginx.conf says; the Service reaches it" '
ccm, pvc, dep, svc = load_all("cache-server.yaml")
spod = dep["spec"]["template"]["spec"]
(n,) = spod["containers"]
smounts = {m["name"]: m["mountPath"] for m in n["volumeMounts"]}
svols = {v["name"]: v for v in spod["volumes"]}
assert set(smounts) == set(svols), (set(smounts), set(svols))
conf = ccm["data"]["default.conf"]
assert svols["config"]["configMap"]["name"] == ccm["metadata"]["name"]
assert smounts["config"] == "/etc/nginx/conf.d"
assert svols["store"]["persistentVolumeClaim"]["claimName"] == pvc["metadata"]["name"]
store = smounts["store"]
assert "root %s;" % store in conf
# the temp path on the store volume: PUT ends in a rename, never a copy
assert "client_body_temp_path %s/" % store in conf
(init,) = spod["initContainers"]
assert {m["mountPath"] for m in init["volumeMounts"]} == {store}
assert "auth_basic_user_file %s/htpasswd;" % smounts["htpasswd"] in conf
assert svols["htpasswd"]["secret"]["secretName"] == "oci-host-runner-cache-htpasswd"
assert "dav_methods PUT;" in conf and "create_full_put_path on;" in conf
assert "limit_except GET HEAD" in conf
labels = dep["spec"]["template"]["metadata"]["labels"]
assert dep["spec"]["selector"]["matchLabels"].items() <= labels.items()
assert svc["spec"]["selector"].items() <= labels.items()
(port,) = svc["spec"]["ports"]
(cport,) = n["ports"]
assert port["targetPort"] in (cport["name"], cport["containerPort"])
assert "listen %d;" % cport["containerPort"] in conf
'

case_py "job-cache.yaml is job.yaml plus the result cache: its env, key Secret and trust ConfigMap" '
import copy
cj = load("job-cache.yaml")
ccm, pvc, dep, svc = load_all("cache-server.yaml")
cpod = cj["spec"]["template"]["spec"]
(cc,) = cpod["containers"]
cenv = {e["name"]: e.get("value") for e in cc["env"]}
cmounts = {m["name"]: m for m in cc["volumeMounts"]}
cvols = {v["name"]: v for v in cpod["volumes"]}
added_env = {k for k in cenv if k.startswith("OCI_HOST_RUNNER_RESULT_CACHE")}
assert added_env == {"OCI_HOST_RUNNER_RESULT_CACHE", "OCI_HOST_RUNNER_RESULT_CACHE_MODE",
                     "OCI_HOST_RUNNER_RESULT_CACHE_SIGN", "OCI_HOST_RUNNER_RESULT_CACHE_TRUST",
                     "OCI_HOST_RUNNER_RESULT_CACHE_NETRC"}, added_env
# all else equal to job.yaml
stripped = copy.deepcopy(cj)
sp = stripped["spec"]["template"]["spec"]
sp["containers"][0]["env"] = [e for e in sp["containers"][0]["env"] if e["name"] not in added_env]
sp["containers"][0]["volumeMounts"] = [m for m in sp["containers"][0]["volumeMounts"]
                                       if m["name"] not in ("cache-writer", "cache-trust")]
sp["volumes"] = [v for v in sp["volumes"] if v["name"] not in ("cache-writer", "cache-trust")]
stripped["metadata"]["name"] = job["metadata"]["name"]
assert stripped == job, "job-cache.yaml differs from job.yaml beyond the cache"
assert cj["metadata"]["name"] != job["metadata"]["name"]
# the URL is the Service
(port,) = svc["spec"]["ports"]
assert cenv["OCI_HOST_RUNNER_RESULT_CACHE"] == "http://%s:%d" % (svc["metadata"]["name"], port["port"])
assert cenv["OCI_HOST_RUNNER_RESULT_CACHE_MODE"] in ("read", "read-write")
# the private key and the password come from the Secret, group-readable only
w = cmounts["cache-writer"]
assert w["readOnly"] is True
assert cvols["cache-writer"]["secret"]["secretName"] == "oci-host-runner-cache-writer"
assert cvols["cache-writer"]["secret"]["defaultMode"] == 0o440
for v in ("OCI_HOST_RUNNER_RESULT_CACHE_SIGN", "OCI_HOST_RUNNER_RESULT_CACHE_NETRC"):
    assert os.path.dirname(cenv[v]) == w["mountPath"], v
# the public key from a ConfigMap, not the Secret: a read-only job gets it alone
t = cmounts["cache-trust"]
assert "configMap" in cvols["cache-trust"] and t["readOnly"] is True
assert os.path.dirname(cenv["OCI_HOST_RUNNER_RESULT_CACHE_TRUST"]) == t["mountPath"]
'

# The cache server's nginx configuration, run by a real nginx on loopback
# (its paths moved under $T), serves the runner's remote cache client:
# anyone reads, a write needs the password, nothing else is served.
k8s_cache_server() {
  . "$TOP/tests/lib/nginx-cache.sh"
  local ch
  ch=$(dirname "$OHR")/tests/cache-http
  [ -x "$ch" ] || { echo "# no $ch: run make" >&2; return 1; }
  nginx_prepare k8s-cache
  local d=$NGINX_DIR
  mkdir -p "$d/store/.tmp" "$d/htpasswd"
  printf 'writer:%s\n' "$(openssl passwd -apr1 w-pass)" >"$d/htpasswd/htpasswd"
  "$PY" - "$K/cache-server.yaml" >"$d/default.conf" <<'PYEOF' || return 1
import sys, yaml
print(next(yaml.safe_load_all(open(sys.argv[1])))["data"]["default.conf"])
PYEOF
  sed -e "s#/var/cache/result-cache#$d/store#g" -e "s#/etc/nginx/htpasswd#$d/htpasswd#g" \
    -e "s/listen 8080;/listen 127.0.0.1:$NGINX_PORT;/" "$d/default.conf" >"$d/http.conf"
  nginx_start
  printf 'a blob' >"$d/blob"
  local h rc
  h=$(sha256sum "$d/blob" | cut -c1-64)
  rc=0; "$ch" "$NGINX_URL" put cas "$h" "$d/blob" >/dev/null 2>"$d/anon.err" || rc=$?
  assert_eq 3 "$rc" "anonymous put" && assert_file_has "$d/anon.err" "HTTP 401" &&
    "$ch" "http://writer:w-pass@127.0.0.1:$NGINX_PORT" put cas "$h" "$d/blob" >/dev/null &&
    [ -f "$d/store/cas/$h" ] &&
    "$ch" "$NGINX_URL" get cas "$h" "$d/got" >/dev/null && cmp "$d/blob" "$d/got" &&
    { rc=0; "$ch" "$NGINX_URL" has ac "$h" >/dev/null || rc=$?; assert_eq 1 "$rc" "has ac"; } &&
    assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/cas/not-a-digest")" "other path" &&
    assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$NGINX_URL/")" "root"
}
check "the cache server's nginx.conf, run by nginx: reads open, writes need the password, nothing else" k8s_cache_server

readme_documents_cache() {
  local s
  for s in cache-server.yaml job-cache.yaml OCI_HOST_RUNNER_RESULT_CACHE_MODE=read \
    OCI_HOST_RUNNER_RESULT_CACHE_SIGN OCI_HOST_RUNNER_RESULT_CACHE_TRUST \
    OCI_HOST_RUNNER_RESULT_CACHE_NETRC oci-host-runner-cache-writer \
    oci-host-runner-cache-htpasswd bazel-remote --s3.bucket --gcs_proxy.bucket \
    --allow_unauthenticated_reads; do
    grep -qF -- "$s" "$K/README.md" || { echo "# README lacks $s" >&2; return 1; }
  done
}
check "the README documents the cache server, the cached Job and bazel-remote" readme_documents_cache

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
