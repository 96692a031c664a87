#!/usr/bin/env bash
# images/: pinned build images built from Debian packages into OCI image
# layouts.  `minimal` is built twice, from two working copies at different
# paths into different output directories: the manifest digests (and every
# byte of the layouts) must be equal, and equal to images/lock.json.  The
# layout validates against the OCI image-spec schemas, umoci unpacks it,
# skopeo inspects it, and a Rust program and the toolchain's rustc run in
# it.  OHR_TEST_ALL_IMAGES=1 does the same for `cc` and `sys` (large; about
# 4 more minutes) and builds tests/corpus with every build script run in the
# `sys` image, through the runner.
#
# When Debian's archive no longer serves a pinned version, the images are
# resolved afresh into a temporary lock and the same checks run on that
# (tests/lib/images.sh; a "# note:" line says so).  OHR_TEST_IMAGES_SRC
# names another images/ tree to test (test-image-drift gives it a lock
# with a version Debian never had).
. "$(dirname "$0")/../lib/libtest.sh"
. "$TOP/tests/lib/registry.sh"
IMAGES_SRC=${OHR_TEST_IMAGES_SRC:-$TOP/images}
. "$TOP/tests/lib/images.sh"

unset SOURCE_DATE_EPOCH
SCHEMA=/usr/share/gocode/src/github.com/opencontainers/image-spec/schema
for tool in umoci skopeo bwrap dpkg-deb apt-get gzip /usr/bin/python3; do
  command -v "$tool" >/dev/null || fatal "$tool missing (make deps)"
done
[ -d "$SCHEMA" ] || fatal "$SCHEMA missing (golang-github-opencontainers-image-spec-dev)"
names=(minimal)
[ "${OHR_TEST_ALL_IMAGES:-0}" = 1 ] && names+=(cc sys)

# Two working copies of images/ at different paths (without built output);
# the second one is built by an unprivileged user.
WC1=$T/wc1/images WC2=$T/second/working/copy/images
copy_images "$WC1"
copy_images "$WC2"
[ "$(id -u)" -ne 0 ] || ensure_test_user

json_get() { # file python-expression-on-j
  /usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"
}
lock_digest() { json_get "$IMAGES_SRC/lock.json" "j.get('$1', {}).get('digest', 'none')"; }
manifest_digest() { json_get "$1/index.json" "j['manifests'][0]['digest']"; }
blob() { echo "$1/blobs/sha256/${2#sha256:}"; }
validate_layout() {
  /usr/bin/python3 "$TOP/images/lib/validate-layout.py" "$1" "$SCHEMA" >"$T/validate.out" ||
    { sed 's/^/# /' "$T/validate.out"; return 1; }
}
quiet() { "$@" >/dev/null; }
skopeo_inspect() { skopeo inspect "oci:$1:$2" >"$T/inspect.json"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
secs() { # since_ms
  local ms=$(($(now_ms) - $1))
  printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100))
}

# Layer properties: sorted names, one mtime, root-owned without names, GNU
# or ustar headers only (no pax), and a gzip header without a timestamp.
check_layer() { # layout
  local m c l
  m=$(blob "$1" "$(manifest_digest "$1")")
  l=$(blob "$1" "$(json_get "$m" "j['layers'][0]['digest']")")
  c=$(blob "$1" "$(json_get "$m" "j['config']['digest']")")
  /usr/bin/python3 - "$l" "$c" <<'EOF'
import calendar, gzip, hashlib, json, sys, tarfile, time
layer, config = sys.argv[1], json.load(open(sys.argv[2]))
raw = open(layer, "rb").read()
assert raw[:3] == b"\x1f\x8b\x08" and raw[4:8] == b"\0\0\0\0", "gzip header has a timestamp"
data = gzip.decompress(raw)
assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(data).hexdigest()], "diff_id"
epoch = calendar.timegm(time.strptime(config["created"], "%Y-%m-%dT%H:%M:%SZ"))
import io
names = []
with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as t:
    for m in t:
        assert m.mtime == epoch, "%s: mtime %d, created %d" % (m.name, m.mtime, epoch)
        assert (m.uid, m.gid, m.uname, m.gname) == (0, 0, "", ""), "%s: owner" % m.name
        assert not m.pax_headers, "%s: pax header" % m.name
        names.append(m.name.rstrip("/"))
assert names == sorted(names), "entries not sorted"
assert len(names) == len(set(names)), "duplicate entries"
print("# layer: %d entries, mtime %d, root-owned, sorted" % (len(names), epoch))
EOF
}

TC=$(rustc --print sysroot)
in_image() { # rootfs command...: run in a throwaway root (bind mount points get created in it)
  local r=$1
  shift
  bwrap --bind "$r" / --proc /proc --dev /dev --tmpfs /tmp --ro-bind "$TC" "$TC" \
    --ro-bind "$T/prog" /prog --setenv PATH "$TC/bin:/usr/bin:/bin" "$@"
}
mkdir -p "$T/prog"
cat >"$T/prog/hello.rs" <<'EOF'
fn main() {
    let v: Vec<f64> = (1..4).map(|x| (x as f64).sqrt()).collect();
    let t = std::thread::spawn(move || v.iter().sum::<f64>());
    println!("hello {:.3}", t.join().unwrap());
}
EOF
rustc -O -o "$T/prog/hello" "$T/prog/hello.rs" || fatal "cannot compile the test program"
printf '#define _GNU_SOURCE\n#include <unistd.h>\n#include <stdio.h>\nint main(void){closefrom(3);puts("ok");return 0;}\n' >"$T/prog/p.c"
printf '#include <zlib.h>\n#include <stdio.h>\nint main(void){puts(zlibVersion());return 0;}\n' >"$T/prog/z.c"

PY=/usr/bin/python3
# The .debs of WC's lock for NAME, from the build cache into DIR (the
# unprivileged build cannot read root's cache).
user_cache() { # wc name dir
  mkdir -p "$3"
  "$PY" - "$1" "$2" "$3" <<'EOF'
import os, shutil, sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(sys.argv[1], "lib"))
import imagetool as it
it.IMAGES_DIR = sys.argv[1]
cache = it.cache_dir()
for p in it.read_lock(sys.argv[2]):
    f = it.deb_filename(p)
    shutil.copyfile(os.path.join(cache, f), os.path.join(sys.argv[3], f))
EOF
  chown -R "$TEST_USER" "$3"
}

times=()
fallbacks=0
for name in "${names[@]}"; do
  start=$(now_ms)
  if build_image "$WC1" "$name" "$T/out1/$name" "$T/build1.log"; then
    ok "$name: builds from the first working copy"
  else
    not_ok "$name: builds from the first working copy"
    continue
  fi
  d1=$IMAGE_DIGEST fallback=$IMAGE_FALLBACK
  if [ -n "$fallback" ]; then
    image_note "$name"
    fallbacks=$((fallbacks + 1))
    cp "$WC1/$name/packages.lock" "$WC2/$name/packages.lock"
  fi
  t1=$(secs "$start")
  start=$(now_ms)
  as_user=()
  if [ "$(id -u)" -eq 0 ]; then
    user_cache "$WC1" "$name" "$T/debs-user"
    mkdir -p "$T/elsewhere"
    chown "$TEST_USER" "$T/elsewhere"
    as_user=(runuser -u "$TEST_USER" -- "$WC2/build" --cache "$T/debs-user")
  else
    as_user=("$WC2/build") # already unprivileged
  fi
  d2=$(cd "$T" && "${as_user[@]}" "$name" "$T/elsewhere/$name.oci" 2>"$T/build2.log") ||
    sed 's/^/# /' "$T/build2.log"
  t2=$(secs "$start")
  grep -E "^images: $name: [0-9]+ packages" "$T/build1.log" | sed 's/^/# /'
  times+=("$name: first build $t1 s (may download), second (unprivileged) $t2 s")
  L=$T/out1/$name
  check "$name: the second working copy, built by an unprivileged user, has the same manifest digest" \
    assert_eq "$d1" "$d2" "digest"
  check "$name: the two layouts are byte-identical" diff -r "$L" "$T/elsewhere/$name.oci"
  if [ -z "$fallback" ]; then
    check "$name: the digest is the one in images/lock.json" assert_eq "$(lock_digest "$name")" "$d1" "lock.json"
  else
    check "$name: the pinned lock fails with one line that names the gone pins and the fix" \
      assert_eq 1 "$(echo "$fallback" | grep -cE "no longer in Debian's archive .*images/update-lock $name")" "message"
  fi
  check "$name: index.json names the image" assert_eq "$name" \
    "$(json_get "$L/index.json" "j['manifests'][0]['annotations']['org.opencontainers.image.ref.name']")" "ref.name"
  check "$name: oci-layout, index, manifest and config validate against the image-spec schemas" \
    validate_layout "$L"
  check "$name: the layer is deterministic (sorted, one mtime, root, no pax, gzip -n)" check_layer "$L"
  check "$name: skopeo inspects the layout" skopeo_inspect "$L" "$name"
  check "$name: skopeo sees the same digest" assert_eq "$d1" "$(json_get "$T/inspect.json" "j['Digest']")" "skopeo"
  if [ "$name" = minimal ]; then
    # pushable to a registry, and runnable from it by digest
    [ -n "${REG:-}" ] || { start_registry imgreg; REG=127.0.0.1:$PORT; }
    check "$name: skopeo pushes it to a docker-registry" \
      skopeo copy -q --dest-tls-verify=false "oci:$L:$name" "docker://$REG/ohr/$name:v1"
    printf '#!/bin/sh\nexit 0\n' >"$T/noop.sh"
    fake_cargo_context "$T/ctx-$name" "$T/noop.sh"
    cp "$T/prog/hello" "$SCRIPT"
    (cd "$T/ctx-$name/pkg" && OCI_HOST_RUNNER_STORE_DIR=$T/store "$OHR" --image "$REG/ohr/$name@$d1" "$SCRIPT") >"$T/reg.out" 2>&1
    check "$name: a program runs in it pulled from the registry by digest" assert_eq "hello 4.146" "$(cat "$T/reg.out")" "output"
  fi
  rootless=()
  [ "$(id -u)" -eq 0 ] || rootless=(--rootless)
  if umoci unpack "${rootless[@]}" --image "$L:$name" "$T/bundle-$name" >"$T/umoci.log" 2>&1; then
    ok "$name: umoci unpacks it"
  else
    not_ok "$name: umoci unpacks it"
    sed 's/^/# /' "$T/umoci.log" | tail -5
    continue
  fi
  R=$T/bundle-$name/rootfs
  check "$name: /usr/lib/x86_64-linux-gnu/libc.so.6 is in the image" test -f "$R/usr/lib/x86_64-linux-gnu/libc.so.6"
  check "$name: merged /usr (/bin, /lib, /lib64, /sbin are links)" \
    test "$(readlink "$R/bin") $(readlink "$R/lib") $(readlink "$R/lib64") $(readlink "$R/sbin")" = \
    "usr/bin usr/lib usr/lib64 usr/sbin"
  check "$name: ld.so.cache knows libc.so.6" grep -q libc.so.6 "$R/etc/ld.so.cache"
  check "$name: a dynamically linked Rust program runs in it" \
    assert_eq "hello 4.146" "$(in_image "$R" /prog/hello 2>&1)" "output"
  check "$name: the toolchain's rustc runs in it" \
    assert_eq "$(rustc --version)" "$(in_image "$R" "$TC/bin/rustc" --version 2>&1)" "rustc --version"
  if [ "$name" != minimal ]; then
    check "$name: cc (the alternative) compiles and links a program that runs" \
      assert_eq ok "$(in_image "$R" sh -c 'cc -o /tmp/p /prog/p.c && /tmp/p' 2>&1)" "output"
    check "$name: pkg-config, make, ar and ld are there" \
      quiet in_image "$R" sh -c 'pkg-config --version && make --version && ar --version && ld --version'
  fi
  # The runner itself, on the layout: a real cargo build of the
  # pure-Rust examples (cffi needs a C compiler: cc and sys have one).
  exb="-p codegen -p cfgprobe -p links-consumer"
  [ "$name" = minimal ] || exb=""
  for rt in $(runtimes); do
    if OCI_HOST_RUNNER_STORE_DIR=$T/store cargo_build_runner_args "$TOP/examples" "$T/ex-$name-$rt" "$exb" \
      --runtime "$rt" --image "oci:$L:$name" -v; then
      ok "$name: $rt: cargo build of the examples with --image oci:LAYOUT:$name"
    else
      not_ok "$name: $rt: cargo build of the examples with --image oci:LAYOUT:$name"
      tail -8 "$T/cargo.out" | sed 's/^/# /'
      continue
    fi
    check "$name: $rt: the build scripts ran in the image" \
      assert_file_has "$(ls "$T"/ex-$name-$rt/debug/build/codegen-*/stderr | head -1)" "image oci:$L:$name: rootfs"
    check "$name: $rt: the examples print what they print natively" \
      assert_eq "codegen: primes=2,3,5,7,11,13,17,19,23,29 sum=129" "$("$T/ex-$name-$rt/debug/codegen")" "codegen"
  done
  if [ "$name" = sys ]; then
    check "$name: a zlib program builds with pkg-config's flags" \
      assert_eq "$(in_image "$R" sh -c 'cc -o /tmp/z /prog/z.c $(pkg-config --cflags --libs zlib) && /tmp/z' 2>&1)" \
      "$(sed -En 's/^zlib1g=([0-9]+:)?([0-9.]+[0-9]).*/\2/p' "$TOP/images/sys/packages.lock")" "zlibVersion()"
    check "$name: libclang is where bindgen (clang-sys) looks" \
      quiet in_image "$R" sh -c 'ls /usr/lib/llvm-*/lib/libclang.so* /usr/lib/x86_64-linux-gnu/libclang-*.so*'
  fi
done

# images/check-lock: a changed definition without a lock update fails, and
# says what to do; a fresh build of an unchanged one passes.
check_lock() { # images-dir args...: output in $T/cl.out
  local d=$1
  shift
  "$d/check-lock" "$@" >"$T/cl.out" 2>&1 || { sed 's/^/# /' "$T/cl.out" | tail -5; return 1; }
}
check "check-lock --quick passes on the tree" check_lock "$IMAGES_SRC" --quick
echo "# edited" >>"$WC1/minimal/packages"
if check_lock "$WC1" --quick minimal >/dev/null; then
  not_ok "check-lock fails when a definition changed and lock.json did not"
else
  ok "check-lock fails when a definition changed and lock.json did not"
fi
check "check-lock says which definition changed and what to run" \
  assert_file_has "$T/cl.out" "minimal: FAILED: the definition images/minimal/ changed .*run images/update-lock minimal"
if [ "$fallbacks" -eq 0 ]; then
  check "check-lock rebuilds minimal and gets the locked digest" check_lock "$WC2" minimal
else
  # the pins are gone: check-lock must say so (and which), not pass
  copy_images "$T/wc3/images"
  if check_lock "$T/wc3/images" minimal 2>/dev/null; then
    not_ok "check-lock reports minimal's gone pins"
  else
    check "check-lock reports minimal's gone pins" assert_file_has "$T/cl.out" \
      "minimal: FAILED: .*no longer in Debian's archive"
  fi
fi

if [ "${OHR_TEST_ALL_IMAGES:-0}" = 1 ] && [ -d "$T/bundle-sys/rootfs" ]; then
  # tests/corpus with each build script in the sys image, against a native build
  directives() { # target_dir
    local f pkg
    for f in "$1"/debug/build/*/output; do
      pkg=$(basename "$(dirname "$f")")
      echo "== ${pkg%-*}"
      # cargo: lines only: Cargo ignores the rest (dh-cargo:, "running:")
      { grep -E '^cargo:' "$f" || true; } | sed -E "s|$1|TARGET|g; s|-[0-9a-f]{16}/|-HASH/|g" | sort
    done | awk '/^== /{k=$0; next} {print k "\t" $0}' | sort
  }
  CORPUS=$TOP/tests/corpus
  cargo_build_native "$CORPUS" "$T/native" || fatal "native corpus build failed"
  "$T/native/debug/ohr-corpus" >"$T/native.txt"
  start=$(date +%s)
  if OCI_HOST_RUNNER_STORE_DIR=$T/store cargo_build_runner "$CORPUS" "$T/insys" --image "oci:$T/out1/sys:sys" -v; then
    ok "sys: tests/corpus builds with every build script in the sys image"
    times+=("corpus in sys: $(($(date +%s) - start)) s")
    "$T/insys/debug/ohr-corpus" >"$T/insys.txt"
    # The image pins the archive's current versions; the host may have older
    # ones installed.  Of the corpus, only openssl-sys reports a version (of
    # the headers it compiled against): leave those numbers out.
    unversioned() { sed -E 's/(VERSION_NUMBER|version_number)=[0-9]+/\1=N/; s/(openssl-sys\tversion:) .*/\1 V/'; }
    check "sys: the corpus binary's report equals the native build's" \
      diff -u <(unversioned <"$T/native.txt") <(unversioned <"$T/insys.txt")
    check "sys: every build script printed the same directives as natively" \
      diff -u <(directives "$T/native" | unversioned) <(directives "$T/insys" | unversioned)
    check "sys: all build-script runs went through the image" assert_eq \
      "$(ls -d "$T"/insys/debug/build/*/output | wc -l)" \
      "$(grep -l "image oci:$T/out1/sys:sys: rootfs" "$T"/insys/debug/build/*/stderr | wc -l)" "runs"
  else
    not_ok "sys: tests/corpus builds with every build script in the sys image"
    grep -E '^(error|warning: .*failed)|Caused by' "$T/cargo.out" | head -20 | sed 's/^/# /'
  fi
fi
for t in "${times[@]}"; do echo "# $t"; done
finish
