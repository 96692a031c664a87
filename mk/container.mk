# mk/container.mk: `make container`: the runner image (Containerfile) with
# buildah, no container engine.
#
#   1. stage the build context in $(CONTAINER_DIR)/context (see the
#      Containerfile's header: `make install` of this tree, the build
#      machine's crun and runc with the shared libraries they need, the
#      Rust toolchain of `rustc --print sysroot`, the cargo config);
#   2. build the pinned base, images/$(CONTAINER_BASE) (default cc), into
#      an OCI layout, and serve it from a docker-registry on 127.0.0.1
#      (buildah 1.28 takes no digest in an oci: FROM), so BASE is
#      REGISTRY/REPO@sha256:... ;
#   3. buildah bud --isolation chroot, tag $(CONTAINER_TAG);
#   4. buildah push it to the OCI layout $(CONTAINER_LAYOUT), for skopeo,
#      umoci and tests/integration/test-pod.sh.
#
# Needs: buildah, docker-registry, skopeo (Debian packages) and rustc.
# BUILDAH carries the storage options (vfs works everywhere, also in a
# container; the test points --root at its cache).

CONTAINER_BASE   ?= cc
# An OCI layout of images/$(CONTAINER_BASE) built before (by images/build),
# to use instead of building it again; its index names the image
# $(CONTAINER_BASE).
CONTAINER_BASE_LAYOUT ?=
# More `buildah push` options for the OCI layout (the test that unpacks it
# at once passes --disable-compression: gzip is a third of the build).
CONTAINER_PUSH_FLAGS ?=
CONTAINER_TAG    ?= localhost/oci-host-runner:dev
CONTAINER_DIR    ?= $(BUILD)/container
CONTAINER_LAYOUT ?= $(CONTAINER_DIR)/image
BUILDAH          ?= buildah --storage-driver vfs
RUSTC_FOR_IMAGE  ?= rustc

.PHONY: container container-context

# The script runs with $(value ...): shell variables keep a single $.
define CONTAINER_CONTEXT_SH
set -euo pipefail
ctx=$1 build=$2 top=$3 rustc=$4
rm -rf "$ctx"
mkdir -p "$ctx/rootfs/usr/bin" "$ctx/rootfs/usr/sbin" \
  "$ctx/rootfs/usr/local/lib/ohr-staged" "$ctx/rootfs/usr/local/rust/bin" \
  "$ctx/rootfs/usr/local/rust/lib/rustlib" \
  "$ctx/rootfs/etc/oci-host-runner/cargo" \
  "$ctx/rootfs/usr/local/share/oci-host-runner"
cp "$top/Containerfile" "$ctx/Containerfile"
make -s -C "$top" BUILD="$build" install DESTDIR="$ctx/rootfs" PREFIX=/usr/local >/dev/null
install -m 755 "$top/tools/container-entrypoint" "$ctx/rootfs/usr/local/bin/container-entrypoint"
install -m 644 "$top/examples/kubernetes/cargo-config.toml" \
  "$ctx/rootfs/etc/oci-host-runner/cargo/config.toml"
crun=$(command -v crun) runc=$(command -v runc)
cp -L "$crun" "$ctx/rootfs/usr/bin/crun"
cp -L "$runc" "$ctx/rootfs/usr/sbin/runc"
manifest="$ctx/rootfs/usr/local/share/oci-host-runner/host-files.txt"
echo "# files copied from the build machine: image path, Debian package, version" >"$manifest"
o_host=() o_image=()
origin() { o_host+=("$1"); o_image+=("$2"); } # host-path image-path: resolved below
origin "$crun" /usr/bin/crun
origin "$runc" /usr/sbin/runc
# shared libraries of everything dynamically linked we ship (not ld.so,
# not the vdso): the Containerfile keeps the base's copy of each
bins=("$ctx/rootfs/usr/bin/crun" "$ctx/rootfs/usr/sbin/runc")
while IFS= read -r f; do
  ldd "$f" >/dev/null 2>&1 && bins+=("$f") # not for scripts or static ohr-init
done < <(find "$ctx/rootfs/usr/local" -type f -perm -u+x)
for lib in $(ldd "${bins[@]}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u); do
  case $lib in */ld-linux*) continue ;; esac
  cp -L "$lib" "$ctx/rootfs/usr/local/lib/ohr-staged/${lib##*/}"
  origin "$lib" "/usr/lib/x86_64-linux-gnu/${lib##*/} (unless the base has it)"
done
# which Debian package each copied file is from: one dpkg-query for all
# (one per file cost seconds), by the file's real path, else the path given
declare -A owner version
while IFS= read -r line; do
  case $line in diversion\ *) continue ;; esac
  pkg=${line%%: /*}
  pkg=${pkg%%,*}
  owner[${line#*: }]=${pkg%%:*}
done < <(for f in "${o_host[@]}"; do readlink -f "$f"; echo "$f"; done | sort -u |
  xargs -d '\n' dpkg-query -S 2>/dev/null || true)
while read -r p v; do version[$p]=$v; done < <(
  [ ${#owner[@]} -eq 0 ] || dpkg-query -W -f='${Package} ${Version}\n' $(printf '%s\n' "${owner[@]}" | sort -u) 2>/dev/null || true)
for i in "${!o_host[@]}"; do
  real=$(readlink -f "${o_host[i]}")
  pkg=${owner[$real]:-${owner[${o_host[i]}]:-}}
  ver=?
  [ -z "$pkg" ] || ver=${version[$pkg]:-?}
  echo "${o_image[i]} ${pkg:-?} $ver" >>"$manifest"
done
# the toolchain: what `cargo build` runs, for the host target only
sysroot=$("$rustc" --print sysroot)
host=$("$rustc" -vV | sed -n 's/^host: //p')
dst="$ctx/rootfs/usr/local/rust"
for b in cargo rustc rustdoc; do cp -al "$sysroot/bin/$b" "$dst/bin/" 2>/dev/null || cp -a "$sysroot/bin/$b" "$dst/bin/"; done
for l in "$sysroot"/lib/*.so*; do cp -al "$l" "$dst/lib/" 2>/dev/null || cp -a "$l" "$dst/lib/"; done
mkdir -p "$dst/lib/rustlib/$host"
for d in lib bin; do
  [ -d "$sysroot/lib/rustlib/$host/$d" ] || continue
  cp -al "$sysroot/lib/rustlib/$host/$d" "$dst/lib/rustlib/$host/" 2>/dev/null ||
    cp -a "$sysroot/lib/rustlib/$host/$d" "$dst/lib/rustlib/$host/"
done
echo "/usr/local/rust $("$rustc" --version | tr ' ' '_') rustup" >>"$manifest"
echo "container: context in $ctx ($(du -sh "$ctx" | cut -f1))"
endef

define CONTAINER_BUILD_SH
set -euo pipefail
dir=$1 base=$2 tag=$3 layout=$4 top=$5
buildah=($6)
ctx="$dir/context"
base_layout=$7
# 2. the pinned base, served on loopback (never leaves this machine):
# built from images/$base, or an OCI layout of it built before
if [ -n "$base_layout" ]; then
  digest=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
    "$base_layout/index.json") || { echo "container: $base_layout/index.json: not an OCI layout" >&2; exit 1; }
  base_dir=$base_layout
else
  base_dir=$dir/base
  "$top/images/build" "$base" "$dir/base" >"$dir/base.log" 2>&1 ||
    { tail -1 "$dir/base.log" >&2; exit 1; }
  digest=$(tail -1 "$dir/base.log")
fi
case $digest in sha256:*) ;; *) echo "container: images/build $base printed no digest" >&2; exit 1 ;; esac
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rm -rf "$dir/registry"
mkdir -p "$dir/registry"
cat >"$dir/registry/config.yml" <<YAML
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/registry/store
http:
  addr: 127.0.0.1:$port
YAML
docker-registry serve "$dir/registry/config.yml" >"$dir/registry/log" 2>&1 &
reg=$!
trap 'kill $reg 2>/dev/null; wait $reg 2>/dev/null || true; rm -rf "$dir/registry"' EXIT
for _ in $(seq 100); do
  /usr/bin/python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/v2/', timeout=1)" 2>/dev/null && break
  sleep 0.1
done
ref="127.0.0.1:$port/oci-host-runner/base-$base"
skopeo copy -q --dest-tls-verify=false "oci:$base_dir:$base" "docker://$ref"
got=$(skopeo inspect --tls-verify=false --format '{{.Digest}}' "docker://$ref")
[ "$got" = "$digest" ] || { echo "container: registry has $got for the base, not $digest" >&2; exit 1; }
echo "container: base images/$base $digest"
# 3. the image
"${buildah[@]}" bud --isolation chroot --tls-verify=false --layers=false \
  --build-arg "BASE=$ref@$digest" -t "$tag" -f "$ctx/Containerfile" "$ctx"
# 4. an OCI layout of it
rm -rf "$layout"
"${buildah[@]}" push -q ${8:-} "$tag" "oci:$layout:oci-host-runner"
echo "container: $tag, OCI layout $layout ($(skopeo inspect --format '{{.Digest}}' "oci:$layout:oci-host-runner"))"
endef

export OHR_CONTAINER_CONTEXT_SH := $(value CONTAINER_CONTEXT_SH)
export OHR_CONTAINER_BUILD_SH := $(value CONTAINER_BUILD_SH)

container-context: all
	@bash -c "$$OHR_CONTAINER_CONTEXT_SH" container-context \
	  "$(abspath $(CONTAINER_DIR))/context" "$(abspath $(BUILD))" "$(CURDIR)" "$(RUSTC_FOR_IMAGE)"

container: container-context
	@bash -c "$$OHR_CONTAINER_BUILD_SH" container \
	  "$(abspath $(CONTAINER_DIR))" "$(CONTAINER_BASE)" "$(CONTAINER_TAG)" \
	  "$(abspath $(CONTAINER_LAYOUT))" "$(CURDIR)" "$(BUILDAH)" "$(CONTAINER_BASE_LAYOUT)" \
	  "$(CONTAINER_PUSH_FLAGS)"
