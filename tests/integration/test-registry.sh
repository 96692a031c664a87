#!/usr/bin/env bash
# test-registry: the registry client (src/registry/registry.c) through its driver
# tests/registry-fetch (beside $OHR), against real docker-registry instances on
# 127.0.0.1 (anonymous, htpasswd Basic, token auth with a real token server
# signing JWTs) and against tests/lib/evil-registry.py, which tampers,
# fails, rate-limits, cuts connections and redirects on purpose.
. "$(dirname "$0")/../lib/libtest.sh"

# the driver of the build under test, beside $OHR
FETCH=${OHR_REGISTRY_FETCH:-$(dirname "$OHR")/tests/registry-fetch}
PY=/usr/bin/python3 # Debian's, with python3-cryptography
[ -x "$FETCH" ] || fatal "no $FETCH: run 'make all'"
for t in docker-registry skopeo htpasswd openssl "$PY"; do
  command -v "$t" >/dev/null || fatal "missing $t: run 'make deps'"
done

# Loopback only, no proxy; credentials only from the files written here.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY \
  REGISTRY_AUTH_FILE OCI_HOST_RUNNER_REGISTRY_DEBUG
export HOME=$T/home XDG_RUNTIME_DIR=$T/run
mkdir -p "$HOME" "$XDG_RUNTIME_DIR"
export OCI_HOST_RUNNER_RETRY_BASE_MS=20
USER_NAME=ohr-tester
PASSWORD="pw-$RANDOM$RANDOM-do-not-print"
BASIC_B64=$(printf '%s:%s' "$USER_NAME" "$PASSWORD" | base64 -w0)
MT_OCI_MANIFEST_RE="application/vnd\.oci\.image\.manifest\.v1\+json"

. "$TOP/tests/lib/registry.sh"

wait_file() { # path
  local i
  for ((i = 0; i < 100; i++)); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  fatal "$1 did not appear"
}

# A small OCI layout: a config and six gzip layers, one of them 1 MiB of
# random bytes (so a cut in the middle of it is a real partial download).
make_layout() {
  "$PY" - "$T/layout" <<'EOF'
import gzip, hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
os.makedirs(root + "/blobs/sha256")
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(root + "/blobs/sha256/" + d, "wb").write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
def layer(name, content):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        info = tarfile.TarInfo(name); info.size = len(content); info.mtime = 0
        t.addfile(info, io.BytesIO(content))
    tar = raw.getvalue()
    desc = blob(gzip.compress(tar, mtime=0))
    desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    return desc, "sha256:" + hashlib.sha256(tar).hexdigest()
layers = [layer("hello.txt", b"hello from a registry\n"), layer("big.bin", os.urandom(1 << 20))]
layers += [layer("small-%d" % i, b"%d\n" % i) for i in range(4)]
config = {"architecture": "amd64", "os": "linux", "config": {},
          "rootfs": {"type": "layers", "diff_ids": [d for _, d in layers]}}
cdesc = blob(json.dumps(config).encode())
cdesc["mediaType"] = "application/vnd.oci.image.config.v1+json"
manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": cdesc, "layers": [l for l, _ in layers]}
mdesc = blob(json.dumps(manifest, indent=2).encode())
mdesc["mediaType"] = manifest["mediaType"]
mdesc["annotations"] = {"org.opencontainers.image.ref.name": "v1"}
json.dump({"schemaVersion": 2, "manifests": [mdesc]}, open(root + "/index.json", "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(root + "/oci-layout", "w"))
print(mdesc["digest"])
EOF
}

# "digest:size" of the config and layers of a manifest file
blob_args() {
  "$PY" -c '
import json, sys
m = json.load(open(sys.argv[1]))
for d in [m["config"]] + m["layers"]:
    print("%s:%d" % (d["digest"], d["size"]))' "$1"
}

push() { # port [creds]
  local creds=()
  [ -n "${2:-}" ] && creds=(--dest-creds "$2")
  skopeo --insecure-policy copy -q --dest-tls-verify=false "${creds[@]}" \
    oci:"$T/layout":v1 "docker://127.0.0.1:$1/test/app:v1" >"$T/push.log" 2>&1 ||
    { cat "$T/push.log"; fatal "skopeo push to 127.0.0.1:$1 failed"; }
}

# fetch NAME ARGS...: run the driver; output in $T/NAME.out and .err,
# status in $RC.
fetch() {
  local name=$1
  shift
  RC=0
  "$FETCH" "$@" >"$T/$name.out" 2>"$T/$name.err" || RC=$?
}

stat_of() { # name key -> value from the "stats:" line
  sed -n "s/^stats:.* $2=\([0-9]*\).*/\1/p" "$T/$1.out"
}

write_auth() { # file key [base64]
  mkdir -p "$(dirname "$1")"
  printf '{"auths":{"%s":{"auth":"%s"}}}\n' "$2" "${3:-$BASIC_B64}" >"$1"
}

# Every blob in DIR is named by its sha256, and nothing else is there.
blobs_verified() { # dir count
  local f n=0
  for f in "$1"/*; do
    [ -e "$f" ] || continue
    n=$((n + 1))
    [ "$(sha256sum <"$f" | cut -d' ' -f1)" = "$(basename "$f")" ] ||
      { echo "# $f does not match its name" >&2; return 1; }
  done
  assert_eq "$2" "$n" "files in $1"
}

one_line() { # file
  assert_eq 1 "$(wc -l <"$1")" "lines in $1"
}

# ---- set-up: the image, three real registries, a token server

MANIFEST_DIGEST=$(make_layout)
mapfile -t BLOBS < <(blob_args "$T/layout/blobs/sha256/${MANIFEST_DIGEST#sha256:}")
BIG_BLOB=${BLOBS[2]}

start_registry anon ""
ANON=127.0.0.1:$PORT
push "$PORT"

htpasswd -Bbc "$T/htpasswd" "$USER_NAME" "$PASSWORD" 2>/dev/null
start_registry basic "auth:
  htpasswd:
    realm: ohr-test
    path: $T/htpasswd"
BASIC=127.0.0.1:$PORT
push "$PORT" "$USER_NAME:$PASSWORD"

openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=ohr-test-issuer \
  -keyout "$T/token.key" -out "$T/token.crt" 2>/dev/null
"$PY" "$TOP/tests/lib/token-server.py" --key "$T/token.key" --cert "$T/token.crt" \
  --issuer ohr-test-issuer --service ohr-test-registry --user "$USER_NAME" \
  --password "$PASSWORD" --port-file "$T/token.port" --log "$T/token.log" &
at_exit "kill $!"
wait_file "$T/token.port"
TOKEN_SERVER=127.0.0.1:$(cat "$T/token.port")
start_registry tokreg "auth:
  token:
    realm: http://$TOKEN_SERVER/token
    service: ohr-test-registry
    issuer: ohr-test-issuer
    rootcertbundle: $T/token.crt"
TOKREG=127.0.0.1:$PORT
push "$PORT" "$USER_NAME:$PASSWORD"
: >"$T/token.log" # from here on, only the client's token requests

"$PY" "$TOP/tests/lib/evil-registry.py" --layout "$T/layout" \
  --port-file "$T/evil.port" --log "$T/evil.log" --user "$USER_NAME" \
  --password "$PASSWORD" &
at_exit "kill $!"
wait_file "$T/evil.port"
read -r EVIL_PORT EVIL_SECOND <"$T/evil.port"
EVIL=127.0.0.1:$EVIL_PORT
wait_http "http://$EVIL/v2/"

# ---- manifests

fetch tag "$ANON" test/app manifest v1 "$T/tag.json"
check "manifest by tag: digest, media type, bytes" eval '
  [ $RC -eq 0 ] &&
  assert_file_has "$T/tag.out" "^manifest-digest: $MANIFEST_DIGEST\$" &&
  assert_file_has "$T/tag.out" "^manifest-media-type: $MT_OCI_MANIFEST_RE\$" &&
  assert_eq "${MANIFEST_DIGEST#sha256:}" "$(sha256sum <"$T/tag.json" | cut -d" " -f1)" "bytes"'

fetch bydigest "$ANON" test/app manifest "$MANIFEST_DIGEST" "$T/bydigest.json"
check "manifest by digest" eval '
  [ $RC -eq 0 ] && cmp -s "$T/tag.json" "$T/bydigest.json" &&
  assert_file_has "$T/bydigest.out" "^stats: requests=1 retries=0"'

MISSING=sha256:$(printf x | sha256sum | cut -d' ' -f1)
fetch missing "$ANON" test/app manifest "$MISSING" -
check "unknown manifest: 404 naming registry and repository" eval '
  [ $RC -eq 1 ] && one_line "$T/missing.err" &&
  assert_file_has "$T/missing.err" "404 Not Found from $ANON for repo test/app: manifest .$MISSING."'

fetch tampered-manifest "$EVIL" tamper/app manifest "$MANIFEST_DIGEST" "$T/tampered.json"
check "manifest by digest with other bytes: refused, nothing written" eval '
  [ $RC -eq 1 ] && [ ! -e "$T/tampered.json" ] && one_line "$T/tampered-manifest.err" &&
  assert_file_has "$T/tampered-manifest.err" "digest mismatch for manifest from $EVIL for repo tamper/app: expected $MANIFEST_DIGEST, got sha256:[0-9a-f]{64}\$"'

fetch baddigest "$EVIL" baddigest/app manifest v1 -
check "Docker-Content-Digest header cross-checked" eval '
  [ $RC -eq 1 ] && assert_file_has "$T/baddigest.err" "Docker-Content-Digest says sha256:0{64}, got $MANIFEST_DIGEST"'

fetch bigmanifest "$EVIL" bigmanifest/app manifest v1 -
check "manifest over MANIFEST_MAX_SIZE cut short" eval '
  [ $RC -eq 1 ] && assert_file_has "$T/bigmanifest.err" "manifest .v1. from $EVIL for repo bigmanifest/app is larger than 4194304 bytes" &&
  [ "$(stat_of bigmanifest bytes)" -le 4194304 ]'

# ---- blobs

fetch blobs "$ANON" test/app blobs "$T/anon-blobs" "${BLOBS[@]}"
check "blobs fetched, verified, renamed into place" eval '
  [ $RC -eq 0 ] && blobs_verified "$T/anon-blobs" 7 &&
  assert_file_has "$T/blobs.out" "^stats: requests=7 retries=0"'

fetch blobs-again "$ANON" test/app blobs "$T/anon-blobs" "${BLOBS[@]}"
check "blobs already present are not fetched" eval '
  [ $RC -eq 0 ] && assert_file_has "$T/blobs-again.out" "^stats: requests=0 "'

# ---- Basic auth (htpasswd)

write_auth "$T/empty-auth.json" other.example
REGISTRY_AUTH_FILE=$T/empty-auth.json fetch basic-none "$BASIC" test/app manifest v1 -
check "Basic: 401 without credentials names registry, repository, remedy" eval '
  [ $RC -eq 1 ] && one_line "$T/basic-none.err" &&
  assert_file_has "$T/basic-none.err" "^registry-fetch: 401 Unauthorized from $BASIC for repo test/app: no credentials for $BASIC \(set REGISTRY_AUTH_FILE or log in with skopeo login\)\$"'

write_auth "$T/auth.json" "$BASIC"
REGISTRY_AUTH_FILE=$T/auth.json fetch basic "$BASIC" test/app manifest v1 "$T/basic.json" blobs "$T/basic-blobs" "${BLOBS[@]}"
check "Basic: REGISTRY_AUTH_FILE credentials, manifest and blobs" eval '
  [ $RC -eq 0 ] && cmp -s "$T/tag.json" "$T/basic.json" && blobs_verified "$T/basic-blobs" 7'

write_auth "$XDG_RUNTIME_DIR/containers/auth.json" "https://$BASIC"
fetch basic-xdg "$BASIC" test/app manifest v1 -
check "Basic: \${XDG_RUNTIME_DIR}/containers/auth.json, key with scheme" eval '[ $RC -eq 0 ]'
rm "$XDG_RUNTIME_DIR/containers/auth.json"

write_auth "$T/wrong-auth.json" "$BASIC" "$(printf '%s:wrong-%s' "$USER_NAME" "$PASSWORD" | base64 -w0)"
REGISTRY_AUTH_FILE=$T/wrong-auth.json fetch basic-wrong "$BASIC" test/app manifest v1 -
check "Basic: wrong password is a clear 401" eval '
  [ $RC -eq 1 ] && assert_file_has "$T/basic-wrong.err" "401 Unauthorized from $BASIC for repo test/app: the credentials for $BASIC were rejected"'

REGISTRY_AUTH_FILE=$T/auth.json OCI_HOST_RUNNER_REGISTRY_DEBUG=1 fetch basic-debug "$BASIC" test/app manifest v1 -
check "debug trace redacts Authorization" eval '
  [ $RC -eq 0 ] && assert_file_has "$T/basic-debug.err" "> Authorization: <redacted>" &&
  assert_file_lacks "$T/basic-debug.err" "Basic [A-Za-z0-9+/=]{8}"'

# ---- Bearer tokens (docker-registry with token auth, a real token server)

write_auth "$HOME/.docker/config.json" "http://$TOKREG"
fetch bearer "$TOKREG" test/app manifest v1 "$T/bearer.json" blobs "$T/bearer-blobs" "${BLOBS[@]}"
check "Bearer: ~/.docker/config.json credentials, manifest and blobs" eval '
  [ $RC -eq 0 ] && cmp -s "$T/tag.json" "$T/bearer.json" && blobs_verified "$T/bearer-blobs" 7'
check "Bearer: one token request (cached), service, scope, Basic credentials" eval '
  assert_eq 1 "$(grep -c "\"path\": \"/token\"" "$T/token.log")" "token requests" &&
  assert_file_has "$T/token.log" "\"service\": \[\"ohr-test-registry\"\]" &&
  assert_file_has "$T/token.log" "\"scope\": \[\"repository:test/app:pull\"\]" &&
  assert_file_has "$T/token.log" "\"basic\": true"'

OCI_HOST_RUNNER_REGISTRY_DEBUG=1 fetch bearer-debug "$TOKREG" test/app manifest v1 -
check "Bearer: works with the debug trace on" eval '[ $RC -eq 0 ]'
rm "$HOME/.docker/config.json"

fetch bearer-none "$TOKREG" test/app manifest v1 -
check "Bearer: no credentials, the token server refuses: clear 401" eval '
  [ $RC -eq 1 ] && one_line "$T/bearer-none.err" &&
  assert_file_has "$T/bearer-none.err" "401 Unauthorized from token server $TOKEN_SERVER for repo test/app: no credentials for $TOKREG \(set REGISTRY_AUTH_FILE"'

# ---- a misbehaving registry

# How many requests overlap depends on the machine's speed: only the cap
# (MAX_PARALLEL, 4) is asserted; the figure seen is printed.  Only this
# fetch asks for slow/ blobs, so the registry log's "inflight" lines count
# its requests and nothing else.
fetch slow --progress "$EVIL" slow/app blobs "$T/slow-blobs" "${BLOBS[@]}"
slow_requests=$(grep -c '"inflight": ' "$T/evil.log" || true)
max_inflight=$(sed -n 's/.*"inflight": \([0-9]*\).*/\1/p' "$T/evil.log" | sort -n | tail -1)
echo "# slow/ blob requests in flight at once: at most ${max_inflight:-none} (not asserted beyond the cap)"
check "7 blobs, one request each, never more than 4 at a time, with a progress line" eval '
  [ $RC -eq 0 ] && blobs_verified "$T/slow-blobs" 7 &&
  assert_eq 7 "$slow_requests" "slow/ blob requests" &&
  [ -n "$max_inflight" ] && [ "$max_inflight" -le 4 ] &&
  assert_file_has "$T/slow.err" "fetching blobs: 7/7, 1\.0/1\.0 MiB" ||
  { echo "# at most ${max_inflight:-none} in flight" >&2; false; }'

fetch tamper "$EVIL" tamper/app blobs "$T/tamper-blobs" "${BLOBS[1]}"
check "tampered blob: digest mismatch names both digests, nothing left" eval '
  [ $RC -eq 1 ] && one_line "$T/tamper.err" &&
  assert_file_has "$T/tamper.err" "digest mismatch for blob from $EVIL for repo tamper/app: expected ${BLOBS[1]%:*}, got sha256:[0-9a-f]{64}\$" &&
  assert_eq "" "$(ls -A "$T/tamper-blobs")" "files left"'

fetch flaky "$EVIL" flaky/app blobs "$T/flaky-blobs" "${BLOBS[1]}"
check "503 twice, then success: two retries counted" eval '
  [ $RC -eq 0 ] && blobs_verified "$T/flaky-blobs" 1 &&
  assert_file_has "$T/flaky.out" "^stats: requests=3 retries=2 "'

fetch busy --retries 2 "$EVIL" busy/app manifest v1 -
check "503 for ever: gives up after the retries, says so" eval '
  [ $RC -eq 1 ] && assert_file_has "$T/busy.err" "503 Service Unavailable from $EVIL for repo busy/app: manifest .v1., after 3 attempts: try again later" &&
  assert_file_has "$T/busy.out" "^stats: requests=3 retries=2 "'

# A lower bound only: the client must sleep the second Retry-After asks
# for (the backoff alone would be 20 ms here); how much longer it takes
# depends on the machine and is not asserted.
start=$(date +%s%N)
fetch ratelimit "$EVIL" ratelimit/app blobs "$T/ratelimit-blobs" "${BLOBS[1]}"
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "# 429 then success took ${elapsed_ms}ms"
check "429 with Retry-After: 1 is honoured" eval '
  [ $RC -eq 0 ] && blobs_verified "$T/ratelimit-blobs" 1 &&
  assert_file_has "$T/ratelimit.out" "^stats: requests=2 retries=1 " &&
  [ "$elapsed_ms" -ge 1000 ] || { echo "# took ${elapsed_ms}ms" >&2; false; }'

fetch cut "$EVIL" cut/app blobs "$T/cut-blobs" "$BIG_BLOB"
check "connection cut mid-blob: resumed with Range (206)" eval '
  [ $RC -eq 0 ] && blobs_verified "$T/cut-blobs" 1 &&
  assert_file_has "$T/cut.out" "^stats: requests=2 retries=1 resumed=1 " &&
  assert_file_has "$T/evil.log" "\"path\": \"/v2/cut/app/blobs/${BIG_BLOB%:*}\", \"range\": \"bytes=[1-9][0-9]*-\""'

fetch norange "$EVIL" norange/app blobs "$T/norange-blobs" "$BIG_BLOB"
check "resume refused by the server (200): whole blob again, verified" eval '
  [ $RC -eq 0 ] && blobs_verified "$T/norange-blobs" 1 &&
  assert_file_has "$T/norange.out" "^stats: requests=2 retries=1 resumed=0 "'

write_auth "$T/evil-auth.json" "$EVIL"
REGISTRY_AUTH_FILE=$T/evil-auth.json fetch redirect "$EVIL" redirect/app blobs "$T/redirect-blobs" "${BLOBS[1]}"
check "redirect to another host: followed, Authorization not forwarded" eval '
  [ $RC -eq 0 ] && blobs_verified "$T/redirect-blobs" 1 &&
  assert_file_has "$T/evil.log" "\"listener\": \"main\", \"method\": \"GET\", \"path\": \"/v2/redirect/app/blobs/[^\"]*\", \"range\": null, \"auth\": true" &&
  assert_file_has "$T/evil.log" "\"listener\": \"second\".*\"auth\": false" &&
  assert_file_lacks "$T/evil.log" "\"listener\": \"second\".*\"auth\": true"'

# ---- a registry that is down

DOWN=127.0.0.1:$(free_port)
fetch down "$DOWN" test/app manifest v1 -
check "registry down: clear error with the attempt count" eval '
  [ $RC -eq 1 ] && one_line "$T/down.err" &&
  assert_file_has "$T/down.err" "^registry-fetch: cannot connect to $DOWN \(Connection refused\) after 5 attempts for repo test/app\$" &&
  assert_file_has "$T/down.out" "^stats: requests=5 retries=4 "'

# ---- no secret in any output, debug traces included

check "password, credentials and tokens never printed" eval '
  assert_eq "" "$(grep -lF -e "$PASSWORD" -e "$BASIC_B64" "$T"/*.out "$T"/*.err || true)" "files with a credential" &&
  tokens=$("$PY" -c "import json,sys; [print(t) for t in (json.loads(l)[\"token\"] for l in open(sys.argv[1])) if t]" "$T/token.log") &&
  [ -n "$tokens" ] &&
  assert_eq "" "$(grep -lF "$tokens" "$T"/*.out "$T"/*.err || true)" "files with a token"'

finish
