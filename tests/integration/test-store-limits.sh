#!/usr/bin/env bash
# test-store-limits: what the store does with hostile layers, through the
# real store commands and run mode: setuid/setgid bits and file
# capabilities of a layer never reach the checkout (as root), a gzip bomb
# beyond OCI_HOST_RUNNER_MAX_LAYER_SIZE fails with one line and exit 123
# and leaves nothing in the store, and the store directory is created 0700.
# The layout is written here: real tar, real gzip.
. "$(dirname "$0")/../lib/libtest.sh"

[ "$(id -u)" -eq 0 ] || fatal "runs as root (the setuid case is root's)"
PY=python3
# blob() and image() of make-test-image.py; tar entries with pax headers
# (xattrs) written here
"$PY" - "$T/layout" "$TOP/tests/lib/make-test-image.py" <<'EOF'
import gzip, hashlib, importlib.util, io, json, os, sys, tarfile
root = sys.argv[1]
spec = importlib.util.spec_from_file_location("mti", sys.argv[2])
mti = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mti)
os.makedirs(root + "/blobs/sha256")
def layer(entries):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data, mode, pax in entries:
            info = tarfile.TarInfo(name)
            info.mode, info.size, info.mtime = mode, len(data), 0
            info.pax_headers = pax
            t.addfile(info, io.BytesIO(data))
    desc = mti.blob(root, gzip.compress(raw.getvalue(), 9, mtime=0))
    desc["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
    return desc, "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
# cap_setuid+ep as setcap writes it, in the pax form GNU tar uses
cap = bytes([1, 0, 0, 2, 0x80] + [0] * 15).decode("latin-1")
setid = [("usr/bin/suid", b"#!/bin/sh\n", 0o4755, {}),
         ("usr/bin/sgid", b"#!/bin/sh\n", 0o2755, {}),
         ("usr/bin/capped", b"#!/bin/sh\n", 0o755,
          {"SCHILY.xattr.security.capability": cap})]
bomb = [("zeros", bytes(64 << 20), 0o644, {})]
manifests = [mti.image(root, [layer(e)], name)
             for name, e in (("setid", setid), ("bomb", bomb))]
json.dump({"schemaVersion": 2, "manifests": manifests},
          open(root + "/index.json", "w"))
open(root + "/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF

# ---- the store directory: 0700 from its first mkdir (import and pull
# both take the pull lock in it before the store opens it)
S=$T/new/store
umask 022
if OCI_HOST_RUNNER_STORE_DIR=$S "$OHR" import "oci:$T/layout:setid" >"$T/out" 2>"$T/err"; then
  ok "import of the setid image succeeds"
else
  not_ok "import of the setid image succeeds"
  sed 's/^/# /' "$T/err"
fi
check "a new store directory is 0700" assert_eq 700 "$(stat -c %a "$S")" "a new store directory is 0700"
check "and so is the parent it created" assert_eq 700 "$(stat -c %a "$T/new")" "and so is the parent it created"

# ---- setuid, setgid and file capabilities do not reach the checkout
rootfs=$(find "$S/rootfs" -mindepth 1 -maxdepth 1 -type d ! -name '.tmp-*' | head -1)
if [ -n "$rootfs" ] && [ -f "$rootfs/usr/bin/suid" ]; then
  check "a setuid-root file of a layer is checked out 0755, as root" assert_eq 755 "$(stat -c %a "$rootfs/usr/bin/suid")" "a setuid-root file of a layer is checked out 0755, as root"
  check "a setgid file of a layer is checked out 0755" assert_eq 755 "$(stat -c %a "$rootfs/usr/bin/sgid")" "a setgid file of a layer is checked out 0755"
  caps=$("$PY" -c 'import os,sys; print(" ".join(x for x in os.listxattr(sys.argv[1]) if x != "user.ostreemeta"))' "$rootfs/usr/bin/capped")
  check "a file capability of a layer is dropped" assert_eq "" "$caps" "a file capability of a layer is dropped"
  # the layer really carried the capability: Python reads it back from the tar
  "$PY" - "$T/layout" >"$T/tarcaps" <<'EOF'
import glob, gzip, io, sys, tarfile
for p in glob.glob(sys.argv[1] + "/blobs/sha256/*"):
    data = open(p, "rb").read()
    if data[:2] != b"\x1f\x8b" or len(data) > 1 << 16:
        continue
    for m in tarfile.open(fileobj=io.BytesIO(gzip.decompress(data))):
        print(m.name, oct(m.mode), " ".join(sorted(m.pax_headers)))
EOF
  check "the layer did carry setuid bits and a capability" assert_file_has "$T/tarcaps" "usr/bin/capped .*security.capability"
  check "... and mode 04755" assert_file_has "$T/tarcaps" "usr/bin/suid 0o4755"
  # no setuid or setgid file anywhere in the store, objects included
  n=$(find "$S" -perm /6000 -type f | wc -l)
  check "no setuid or setgid file anywhere in the store" assert_eq 0 "$n" "no setuid or setgid file anywhere in the store"
else
  not_ok "the setid image was checked out"
fi

# ---- a gzip bomb beyond the limit
objects() { find "$S/repo/objects" -type f | wc -l; }
staged() { find "$S/repo/tmp" -type f | wc -l; }
before=$(objects)
rc=0
OCI_HOST_RUNNER_STORE_DIR=$S OCI_HOST_RUNNER_MAX_LAYER_SIZE=16M \
  "$OHR" import "oci:$T/layout:bomb" >"$T/out" 2>"$T/err" || rc=$?
check "a layer beyond OCI_HOST_RUNNER_MAX_LAYER_SIZE fails with exit 123" assert_eq 123 "$rc" "a layer beyond OCI_HOST_RUNNER_MAX_LAYER_SIZE fails with exit 123"
check "... with one line" assert_eq 1 "$(wc -l <"$T/err")" "... with one line"
check "... naming the limit and the variable" assert_file_has "$T/err" "larger than 16777216 bytes uncompressed.*OCI_HOST_RUNNER_MAX_LAYER_SIZE"
check "... and the layer" assert_file_has "$T/err" "layer sha256:"
check "... once" assert_eq 1 "$(grep -o 'layer sha256:' "$T/err" | wc -l)" "times named"
check "... and stores no object" assert_eq "$before" "$(objects)" "... and stores no object"
check "... and leaves nothing staged in the repository" assert_eq 0 "$(staged)" "... and leaves nothing staged in the repository"
OCI_HOST_RUNNER_STORE_DIR=$S "$OHR" images >"$T/images" 2>&1 || true
check "... and no image" assert_file_lacks "$T/images" "bomb"

# run mode: the runner starts the store helper, which fails the same way
cat >"$T/script.sh" <<'EOF'
#!/bin/sh
echo ran
EOF
fake_cargo_context "$T/ctx" "$T/script.sh"
rc=0
(cd "$CARGO_MANIFEST_DIR" && OCI_HOST_RUNNER_STORE_DIR=$S OCI_HOST_RUNNER_MAX_LAYER_SIZE=16M \
  OCI_HOST_RUNNER_STATE_DIR=$T/state "$OHR" --image "oci:$T/layout:bomb" "$SCRIPT") \
  >"$T/out" 2>"$T/err" || rc=$?
check "run mode: an image with a layer beyond the limit fails with exit 123" assert_eq 123 "$rc" "run mode: an image with a layer beyond the limit fails with exit 123"
check "... with one line" assert_eq 1 "$(wc -l <"$T/err")" "... with one line"
check "... saying why" assert_file_has "$T/err" "larger than 16777216 bytes uncompressed"
check "... and the script did not run" assert_file_lacks "$T/out" "ran"

# a bad value is a usage error naming the variable, and writes nothing
rc=0
OCI_HOST_RUNNER_STORE_DIR=$S OCI_HOST_RUNNER_MAX_LAYER_SIZE=lots \
  "$OHR" import "oci:$T/layout:bomb" >"$T/out" 2>"$T/err" || rc=$?
check "OCI_HOST_RUNNER_MAX_LAYER_SIZE=lots: exit 121" assert_eq 121 "$rc" "OCI_HOST_RUNNER_MAX_LAYER_SIZE=lots: exit 121"
check "... naming the variable" assert_file_has "$T/err" "OCI_HOST_RUNNER_MAX_LAYER_SIZE: 'lots' is not a size"
check "... and stores nothing" assert_eq "$before" "$(objects)" "... and stores nothing"

# rootless: the same limit, the same exit, nothing stored; the store 0700
ensure_test_user
install -d -m 755 -o "$TEST_USER" "$T/u"
# the binaries where the user can run them: a fresh clone (make
# check-fresh) lives in a 0700 directory
mkdir -p "$T/bin"
cp "$OHR" "$(dirname "$OHR")"/oci-host-runner-* "$(dirname "$OHR")/ohr-init" "$T/bin/"
UOHR=$T/bin/$(basename "$OHR")
chmod 755 "$T/layout" && chmod -R a+rX "$T/layout"
rc=0
su "$TEST_USER" -s /bin/bash -c "OCI_HOST_RUNNER_STORE_DIR='$T/u/store' \
  OCI_HOST_RUNNER_MAX_LAYER_SIZE=16M '$UOHR' import 'oci:$T/layout:bomb'" \
  >"$T/out" 2>"$T/err" || rc=$?
check "rootless: a layer beyond the limit fails with exit 123" assert_eq 123 "$rc" "exit"
check "rootless: ... saying why" assert_file_has "$T/err" "larger than 16777216 bytes uncompressed"
check "rootless: ... one line" assert_eq 1 "$(wc -l <"$T/err")" "lines"
check "rootless: ... and stores no file" assert_eq 0 "$(find "$T/u/store/repo/objects" "$T/u/store/repo/tmp" -type f | wc -l)" "files"
check "rootless: a new store directory is 0700" assert_eq 700 "$(stat -c %a "$T/u/store")" "mode"
su "$TEST_USER" -s /bin/bash -c "OCI_HOST_RUNNER_STORE_DIR='$T/u/store' '$UOHR' import 'oci:$T/layout:setid'" \
  >"$T/out" 2>"$T/err" || true
n=$(find "$T/u/store" -perm /6000 -type f | wc -l)
check "rootless: no setuid or setgid file in the store" assert_eq 0 "$n" "files"
check "rootless: ... and the setid image was imported" bash -c "find '$T/u/store/rootfs' -name suid | grep -q ."

# under the default limit (16G) the same layer imports
if OCI_HOST_RUNNER_STORE_DIR=$S "$OHR" import "oci:$T/layout:bomb" >"$T/out" 2>"$T/err"; then
  ok "the same layer imports under the default limit"
else
  not_ok "the same layer imports under the default limit"
  sed 's/^/# /' "$T/err"
fi
finish
