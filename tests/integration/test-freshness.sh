#!/usr/bin/env bash
# A build script in a pinned image stays fresh: a real cargo build in an
# image pulled by digest from a real docker-registry, whose build script
# reads files only the image has and prints rerun-if-changed for each (what
# bindgen does for every header it reads).  Cargo stats those paths on the
# host before every build: the runner must hand it the image's own files
# (its read-only checkout in the store), or the script, the crate and all
# above it rebuild every time.  runc and crun, canonical and identity paths.
. "$(dirname "$0")/../lib/libtest.sh"
. "$TOP/tests/lib/registry.sh"

for t in docker-registry skopeo "$PY"; do
  command -v "$t" >/dev/null || fatal "missing $t: run 'make deps'"
done
unset REGISTRY_AUTH_FILE http_proxy https_proxy
export XDG_RUNTIME_DIR=$T/run OCI_HOST_RUNNER_STATE_DIR=$T/state
mkdir -p "$XDG_RUNTIME_DIR"
STORE=$T/store
export OCI_HOST_RUNNER_STORE_DIR=$STORE OCI_HOST_RUNNER_CACHE_DIR=$T/cache

# The test image plus a layer with a header only the image has, and an
# absolute symlink to it: on the host that symlink would lead to the
# host's /opt, so the runner must resolve it inside the image.  (Python's
# tarfile: umoci 0.4.7's insert writes layers without the tar trailer.)
"$PY" "$TOP/tests/lib/make-test-image.py" "$T/layout"
[ ! -e /opt/only-in-image.h ] || fatal "/opt/only-in-image.h exists on this host: the test needs a file only the image has"
"$PY" - "$T/layout" <<'PYEOF' || fatal "cannot add the layer to the test image"
import gzip, hashlib, io, json, os, sys, tarfile
root = sys.argv[1]
def put(data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs/sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}
def get(desc):
    with open(os.path.join(root, "blobs/sha256", desc["digest"][7:]), "rb") as f:
        return f.read()
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as t:
    def add(name, kind, payload=b"", mode=0o644):
        info = tarfile.TarInfo(name)
        info.mtime, info.mode = 0, mode
        if kind == "dir":
            info.type = tarfile.DIRTYPE
        elif kind == "link":
            info.type, info.linkname = tarfile.SYMTYPE, payload
        else:
            info.size = len(payload)
        t.addfile(info, io.BytesIO(payload) if kind == "file" else None)
    add("opt", "dir", mode=0o755)
    add("opt/only-in-image.h", "file", b"#define OHR_ONLY_IN_IMAGE 1\n")
    add("usr/include", "dir", mode=0o755)
    add("usr/include/ohr-link.h", "link", "/opt/only-in-image.h", 0o777)
tar = raw.getvalue()
layer = put(gzip.compress(tar, mtime=0))
layer["mediaType"] = "application/vnd.oci.image.layer.v1.tar+gzip"
index = json.load(open(os.path.join(root, "index.json")))
base = next(m for m in index["manifests"]
            if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "base")
manifest = json.loads(get(base))
config = json.loads(get(manifest["config"]))
config["rootfs"]["diff_ids"].append("sha256:" + hashlib.sha256(tar).hexdigest())
manifest["config"] = dict(manifest["config"], **put(json.dumps(config, sort_keys=True).encode()))
manifest["layers"].append(layer)
desc = dict(base, **put(json.dumps(manifest, sort_keys=True).encode()))
desc["annotations"] = {"org.opencontainers.image.ref.name": "fresh"}
index["manifests"].append(desc)
json.dump(index, open(os.path.join(root, "index.json"), "w"))
PYEOF
start_registry reg
REG=127.0.0.1:$PORT
skopeo copy -q --dest-tls-verify=false "oci:$T/layout:fresh" "docker://$REG/ohr/fresh:v1" ||
  fatal "skopeo copy failed"
DIGEST=$(skopeo inspect --tls-verify=false "docker://$REG/ohr/fresh:v1" |
  "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')
PINNED=$REG/ohr/fresh@$DIGEST

# The crate: its build script reads each file, keeps a copy in OUT_DIR
# (what it saw) and names it in rerun-if-changed.  /etc/passwd is on the
# host too, with other content: Cargo must watch the image's.
mkdir -p "$T/crate/src"
cat >"$T/crate/Cargo.toml" <<'TOML'
[package]
name = "imgfresh"
version = "0.1.0"
edition = "2021"
TOML
echo 'fn main() { println!("{}", env!("SEEN")); }' >"$T/crate/src/main.rs"
echo data >"$T/crate/data.txt"
touch -d 2000-01-01 "$T/crate/data.txt"
cat >"$T/crate/build.rs" <<'RS'
use std::{env, fs};
fn main() {
    let out = env::var("OUT_DIR").unwrap();
    let files = ["/opt/only-in-image.h", "/usr/include/ohr-link.h", "/etc/passwd"];
    for (i, p) in files.iter().enumerate() {
        let text = fs::read(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        fs::write(format!("{out}/seen-{i}"), text).unwrap();
        println!("cargo::rerun-if-changed={p}");
    }
    println!("cargo::rerun-if-changed=data.txt");
    println!("cargo::rustc-env=SEEN={}", files.len());
}
RS

build() { # target-dir runner-args...: cargo build -v, output in $T/cargo.out
  cargo_build_runner_args "$T/crate" "$@" || {
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    return 1
  }
}
# Every rerun-if-changed of an image file names an existing file of the
# image's checkout, with what the script read (OUT_DIR/seen-N, in the
# order the script printed them).
mapped_to_image() { # output-file out-dir
  local i=0 host
  while read -r host; do
    case $host in
    "$STORE"/rootfs/*) ;;
    *)
      echo "# line $((i + 1)) was passed to Cargo as '$host', not a path in the image's checkout" >&2
      return 1
      ;;
    esac
    [ -f "$host" ] || { echo "# '$host' does not exist on the host" >&2; return 1; }
    cmp -s "$host" "$2/seen-$i" || { echo "# '$host' is not the file the script read" >&2; return 1; }
    i=$((i + 1))
  done < <(sed -n 's|^cargo::rerun-if-changed=\(/.*\)|\1|p' "$1")
  assert_eq 3 "$i" "absolute rerun-if-changed paths"
}

# --result-cache off: this is Cargo's freshness with real runs; a pinned
# image with canonical paths is cached by default, and the second runtime's
# first build would be a hit that starts no container
for rt in $(runtimes); do
  for paths in canonical identity; do
    name="$rt, $paths paths"
    tgt=$T/t-$rt-$paths
    if ! build "$tgt" "-v" --runtime "$rt" --paths "$paths" --image "$PINNED" --result-cache off -v; then
      not_ok "$name: cargo build in $REG/ohr/fresh@..."
      continue
    fi
    ok "$name: cargo build in $REG/ohr/fresh@..."
    check "$name: the build script ran in the pinned image" \
      ran_in_container "$tgt" imgfresh "$rt"
    out=$(ls "$tgt"/debug/build/imgfresh-*/output)
    outdir=$(ls -d "$tgt"/debug/build/imgfresh-*/out)
    check "$name: each image path names the image's own file in its checkout, which the script read" \
      mapped_to_image "$out" "$outdir"
    check "$name: an absolute symlink of the image resolved inside it" \
      assert_file_has "$out" "^cargo::rerun-if-changed=$STORE/rootfs/[0-9a-f]{64}/opt/only-in-image\.h$"
    check "$name: the package's own file still names the package" \
      assert_file_has "$out" "^cargo::rerun-if-changed=data\.txt$"
    if build "$tgt" "-v" --runtime "$rt" --paths "$paths" --image "$PINNED" --result-cache off -v; then
      check "$name: the second build finds the crate Fresh" \
        assert_file_has "$T/cargo.out" "^ +Fresh imgfresh v0\.1\.0"
      check "$name: ... and runs no build script" \
        assert_file_lacks "$T/cargo.out" "Dirty|Compiling|oci-host-runner"
    else
      not_ok "$name: the second build finds the crate Fresh"
      not_ok "$name: ... and runs no build script"
    fi
    # a real change still runs the script again
    touch "$T/crate/data.txt"
    if build "$tgt" "-v" --runtime "$rt" --paths "$paths" --image "$PINNED" --result-cache off -v; then
      check "$name: a changed package file runs the script again" \
        assert_file_has "$T/cargo.out" "Dirty imgfresh v0\.1\.0 .*data\.txt"
    else
      not_ok "$name: a changed package file runs the script again"
    fi
    check "$name: the binary runs" assert_eq 3 "$("$tgt/debug/imgfresh")" "output"
    touch -d 2000-01-01 "$T/crate/data.txt"
  done
done
finish
