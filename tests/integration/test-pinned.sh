#!/usr/bin/env bash
# Pinned images end to end: an image pushed with skopeo to a real
# docker-registry, pulled by digest into the libostree store through the
# runner, used by a real cargo build (runc and crun), then from cache with
# the registry down; tags refused with the digest to pin; oci: layouts and
# oci-archive:; the store commands; a pull killed with SIGKILL mid-blob
# (tests/lib/evil-registry.py); parallel first use.
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

"$PY" "$TOP/tests/lib/make-test-image.py" "$T/layout" 24
start_registry reg
REG=127.0.0.1:$PORT
for tag in base big; do
  skopeo copy -q --dest-tls-verify=false "oci:$T/layout:$tag" "docker://$REG/ohr/test:$tag" \
    || fatal "skopeo copy $tag failed"
done
skopeo copy -q --all --dest-tls-verify=false "oci:$T/layout:multi" "docker://$REG/ohr/test:multi" \
  || fatal "skopeo copy --all multi failed"

# A hand-run build script that reports what it sees in the image.
cat >"$T/probe.sh" <<'SH'
#!/bin/sh
echo "cargo:rustc-env=IMAGE_VAR=$OHR_IMAGE_VAR"
read marker </etc/image-marker && echo "marker=$marker"
[ -e /usr/share/removeme ] && echo "removeme=present" || echo "removeme=whited-out"
SH
fake_cargo_context "$T/ctx" "$T/probe.sh"
run() { rc=0; (cd "$T/ctx/pkg" && "$@") >"$T/out" 2>"$T/err" || rc=$?; }

# pull by tag: the store helper fetches, prints the digest to pin
run "$OHR" pull "$REG/ohr/test:base"
check "pull by tag succeeds" assert_eq 0 "$rc" "exit code"
DIGEST=$(sed -n 's/^pin it as: .*@//p' "$T/out")
check "pull prints the digest to pin" bash -c "[[ '$DIGEST' == sha256:* ]]"
PINNED=$REG/ohr/test@$DIGEST

# a multi-arch index: this host's platform (amd64) is chosen, not the
# first entry (arm64)
run "$OHR" pull "$REG/ohr/test:multi"
check "pull of a multi-arch index picks linux/amd64 (the base image)" \
  bash -c "[ $rc -eq 0 ] && grep -q ' $DIGEST (' '$T/out'"

run "$OHR" --image "$REG/ohr/test:base" "$SCRIPT"
check "run mode refuses a tag: exit 123" assert_eq 123 "$rc" "exit code"
check "... and prints the digest to pin" assert_file_has "$T/err" "not pinned by digest: use $REG/ohr/test@$DIGEST \\(or --allow-unpinned\\)"
run "$OHR" --allow-unpinned --image "$REG/ohr/test:base" "$SCRIPT"
check "--allow-unpinned runs it and warns" \
  bash -c "[ $rc -eq 0 ] && grep -q \"warning: '$REG/ohr/test:base' is not pinned: this run used $DIGEST\" '$T/err'"

for rt in $(runtimes); do
  run "$OHR" --runtime "$rt" --image "$PINNED" "$SCRIPT"
  check "$rt: a pinned image runs the script" assert_eq 0 "$rc" "exit code"
  check "$rt: the image's Env is honoured" assert_file_has "$T/out" "^cargo:rustc-env=IMAGE_VAR=from-image$"
  check "$rt: the upper layer's file is there" assert_file_has "$T/out" "^marker=ohr test image$"
  check "$rt: the whiteout removed the lower layer's file" assert_file_has "$T/out" "^removeme=whited-out$"
done

# A real cargo build of the pure-Rust examples in the pinned image.
cargo_env
EXB="-p codegen -p cfgprobe -p links-consumer"
cargo_build_native "$TOP/examples" "$T/native" || fatal "native build failed"
for b in codegen cfgprobe links-consumer; do "$T/native/debug/$b"; done >"$T/native.txt"
for rt in $(runtimes); do
  if cargo_build_runner_args "$TOP/examples" "$T/t-$rt" "$EXB" --runtime "$rt" --image "$PINNED" -v; then
    ok "$rt: cargo build of the examples in $REG/ohr/test@..."
  else
    not_ok "$rt: cargo build of the examples in $REG/ohr/test@..."; tail -10 "$T/cargo.out" | sed 's/^/# /'
  fi
  for b in codegen cfgprobe links-consumer; do "$T/t-$rt/debug/$b"; done >"$T/$rt.txt"
  check "$rt: same output as native" diff -u "$T/native.txt" "$T/$rt.txt"
  check "$rt: the build scripts ran in the pinned image" \
    assert_file_has "$(ls "$T"/t-"$rt"/debug/build/codegen-*/stderr | head -1)" "image $REG/ohr/test@$DIGEST: rootfs $STORE/rootfs/"
done

# From cache: the registry is gone, the pinned image still runs.
kill "$REGISTRY_PID"
wait "$REGISTRY_PID" 2>/dev/null || true
run "$OHR" --image "$PINNED" "$SCRIPT"
check "registry down: the pinned image runs from the store" \
  bash -c "[ $rc -eq 0 ] && grep -q '^marker=ohr test image$' '$T/out'"
rm -rf "$T/t2"
cargo_build_runner_args "$TOP/examples" "$T/t2" "$EXB" --image "$PINNED" \
  && ok "registry down: a clean cargo build still works" \
  || not_ok "registry down: a clean cargo build still works"
run "$OHR" pull "$REG/ohr/test:big"
check "registry down: pull fails with exit 123" assert_eq 123 "$rc" "exit code"
check "... naming the registry and the attempts" assert_file_has "$T/err" "cannot connect to $REG .*after [0-9]+ attempts"

# oci: layouts and oci-archive:
run "$OHR" --image "oci:$T/layout:base" "$SCRIPT"
check "oci:LAYOUT:TAG runs" bash -c "[ $rc -eq 0 ] && grep -q '^marker=ohr test image$' '$T/out'"
run "$OHR" --image "oci:$T/layout@$DIGEST" "$SCRIPT"
check "oci:LAYOUT@DIGEST runs the same image" assert_eq 0 "$rc" "exit code"
run "$OHR" --image "oci:$T/layout" "$SCRIPT"
check "oci:LAYOUT with several images asks for a tag" \
  bash -c "[ $rc -eq 123 ] && grep -q 'holds 4 images: name one with oci:$T/layout:TAG (tags: base, multi, oldlibc, big)' '$T/err'"

# glibc check: a real Rust build script (needs GLIBC_2.x from the host
# toolchain) against an image whose libc defines only GLIBC_2.2.5.
RS=$(ls "$T"/t-*/debug/build/codegen-*/build-script-build | head -1)
cp "$RS" "$SCRIPT"
run "$OHR" --image "oci:$T/layout:oldlibc" "$SCRIPT"
check "glibc too old: exit 123 with one line naming both versions" \
  bash -c "[ $rc -eq 123 ] && [ \$(wc -l <'$T/err') -eq 1 ] && grep -qE 'needs GLIBC_2\.[0-9]+, image oci:$T/layout:oldlibc \(sha256:[0-9a-f]{64}\) has 2\.2; use an image at least as new as the toolchain' '$T/err'"
run "$OHR" --image "oci:$T/layout:base" "$SCRIPT"
check "the same script in an image with this host's glibc runs" assert_eq 0 "$rc" "exit code"
cp "$T/probe.sh" "$SCRIPT"
run "$OHR" --image "oci:$T/layout:multi" "$SCRIPT"
check "oci:LAYOUT:TAG of an index runs this platform's image" \
  bash -c "[ $rc -eq 0 ] && grep -q '^marker=ohr test image$' '$T/out'"
(cd "$T/layout" && tar -cf "$T/image.tar" .)
run "$OHR" --image "oci-archive:$T/image.tar:base" "$SCRIPT"
check "oci-archive:FILE:TAG runs" bash -c "[ $rc -eq 0 ] && grep -q '^marker=ohr test image$' '$T/out'"

# Store commands
run "$OHR" images
check "images lists the pinned name" assert_file_has "$T/out" "$REG/ohr/test:base +sha256:"
run "$OHR" inspect "$PINNED"
check "inspect prints digest and config" \
  bash -c "grep -q '\"digest\":\"$DIGEST\"' '$T/out' && grep -q 'OHR_IMAGE_VAR=from-image' '$T/out'"
run "$OHR" pull --help
check "pull --help" bash -c "[ $rc -eq 0 ] && grep -q 'Usage: oci-host-runner pull' '$T/out'"
run "$OHR" inspect "$REG/ohr/nothing@sha256:$(printf '0%.0s' $(seq 64))"
check "inspect of an unknown image: exit 123" assert_eq 123 "$rc" "exit code"

# Shared layers are stored once: importing "big" adds only its own layer.
objects() { find "$STORE/repo/objects" -type f | wc -l; }
before=$(objects)
run "$OHR" import "oci:$T/layout:big"
check "import of an image sharing two layers" \
  bash -c "[ $rc -eq 0 ] && grep -q '(1 layers fetched, 2 already stored)' '$T/out'"
after=$(objects)
check "... adds only the new layer's objects (+1 file, +dirs, +commits)" \
  bash -c "[ $((after - before)) -gt 0 ] && [ $((after - before)) -lt 12 ]"

# rm + gc free the big layer's objects
run "$OHR" rm "oci:$T/layout:big"
check "rm removes the image" bash -c "[ $rc -eq 0 ] && grep -q '^removed sha256:' '$T/out'"
run "$OHR" gc
check "gc reports what it freed" assert_file_has "$T/out" "^removed [0-9]+ objects"

# A pull killed with SIGKILL in the middle of a download leaves a store
# that the next pull completes.  The image comes from evil-registry's
# "cut/" repositories: each blob's first download stops after half its
# bytes, and the client waits OCI_HOST_RUNNER_RETRY_BASE_MS (30 s here)
# before resuming, so the kill lands while half-received .partial blobs are
# on disk, whatever the machine's speed.
STORE_HELPER=$(dirname "$OHR")/oci-host-runner-store
"$PY" "$TOP/tests/lib/evil-registry.py" --layout "$T/layout" \
  --port-file "$T/evil.port" --log "$T/evil.log" 2>"$T/evil.err" &
EVIL_PID=$!
at_exit "kill $EVIL_PID 2>/dev/null"
for ((i = 0; i < 100; i++)); do [ -s "$T/evil.port" ] && break; sleep 0.1; done
read -r EVIL_PORT _ <"$T/evil.port" || fatal "evil-registry did not start"
EVIL=127.0.0.1:$EVIL_PORT
wait_http "http://$EVIL/v2/"
KILLD=$("$PY" -c '
import json, sys
for m in json.load(open(sys.argv[1]))["manifests"]:
    if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "big":
        print(m["digest"])' "$T/layout/index.json")
CUT=$EVIL/cut/ohr/test@$KILLD
export OCI_HOST_RUNNER_STORE_DIR=$T/store2
BLOBS2=$T/store2/blobs
OCI_HOST_RUNNER_RETRY_BASE_MS=30000 "$STORE_HELPER" pull "$CUT" >"$T/killed.out" 2>&1 &
victim=$!
# Wait for the event, not for a time: a blob half received.
for ((i = 0; i < 400; i++)); do
  [ -n "$(find "$BLOBS2" -name '*.partial' -size +0 2>/dev/null)" ] && break
  sleep 0.05
done
kill -9 "$victim" 2>/dev/null || true
victim_status=0
wait "$victim" 2>/dev/null || victim_status=$?
# what the killed pull left: "HEX SIZE" of each non-empty .partial
find "$BLOBS2" -name '*.partial' -size +0 -printf '%f %s\n' 2>/dev/null |
  sed 's/\.partial / /' | sort >"$T/partials"
sed 's/^/# left by the killed pull: /' "$T/partials"
# whether the kill cut a transfer or a wait between attempts is up to the
# scheduler: said, not asserted
if grep -q ConnectionResetError "$T/evil.err"; then
  echo "# the registry saw the connection reset while it was sending"
else
  echo "# the kill landed between attempts (no transfer in progress)"
fi

killed_mid_blob() { # the pull died of the SIGKILL, its blobs incomplete
  assert_eq 137 "$victim_status" "exit status of the killed pull (128+SIGKILL)" || return 1
  [ -s "$T/partials" ] || { echo "# no half-downloaded blob in $BLOBS2" >&2; return 1; }
  local hex size full
  while read -r hex size; do
    full=$(stat -c %s "$T/layout/blobs/sha256/$hex")
    [ "$size" -lt "$full" ] || { echo "# $hex.partial has $size of $full bytes" >&2; return 1; }
  done <"$T/partials"
}
check "kill -9 landed mid-pull: the pull died of it, leaving half-downloaded blobs" killed_mid_blob
run "$OHR" inspect "$CUT"
check "... and the store does not know the image yet" assert_eq 123 "$rc" "exit code of inspect"

run "$OHR" --image "$CUT" "$SCRIPT"
check "after a pull killed with SIGKILL: pull again and run" \
  bash -c "[ $rc -eq 0 ] && grep -q '^marker=ohr test image$' '$T/out'"
resumed_each() { # every half-downloaded blob was resumed after its bytes
  local hex size
  while read -r hex size; do
    assert_file_has "$T/evil.log" "\"path\": \"/v2/cut/ohr/test/blobs/sha256:$hex\", \"range\": \"bytes=$size-\"" ||
      return 1
  done <"$T/partials"
}
check "... resuming each half-downloaded blob from the killed pull's last byte" resumed_each
check "... leaving no partial blob behind" \
  assert_eq "" "$(find "$BLOBS2" -name '*.partial' 2>/dev/null)" "partial blobs"
check "... and the ostree repo passes fsck" ostree fsck --repo="$T/store2/repo" -q

# Parallel first use (cargo -j): several runs race to prepare one image.
start_registry reg2
REG2=127.0.0.1:$PORT
skopeo copy -q --dest-tls-verify=false "oci:$T/layout:big" "docker://$REG2/ohr/test:big"
BIGD=$(skopeo inspect --tls-verify=false "docker://$REG2/ohr/test:big" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["Digest"])')
export OCI_HOST_RUNNER_STORE_DIR=$T/store3
par=()
for i in 1 2 3 4 5 6; do
  (cd "$T/ctx/pkg" && "$OHR" --image "$REG2/ohr/test@$BIGD" "$SCRIPT" >"$T/par$i.out" 2>&1) &
  par+=($!)
done
fails=0
for job in "${par[@]}"; do wait "$job" 2>/dev/null || true; done
for i in 1 2 3 4 5 6; do grep -q '^marker=ohr test image$' "$T/par$i.out" || fails=$((fails + 1)); done
check "6 parallel first runs all succeed" assert_eq 0 "$fails" "failed runs"
check "... sharing one checkout" assert_eq 1 "$(find "$T/store3/rootfs" -mindepth 1 -maxdepth 1 -type d | wc -l)" "checkouts"
finish
