#!/usr/bin/env bash
# The remote result cache (issue 13, parts 5-7; docs/cache.md) with real
# cargo, runc and crun and a real nginx (WebDAV PUT, tests/lib/nginx-cache.sh),
# as root: checkout A with an empty local store uploads its results, signed;
# checkout B at another path with an EMPTY local store gets every cacheable
# script as a remote hit (OUT_DIRs and the program byte-identical to A's).
# Poisoning: a flipped byte in an action entry, in a CAS blob, and entries
# signed by a key not trusted: each a miss with one warning naming it, and
# correct output; trust any: hits, each with a warning.
# --result-cache-mode read never PUTs (nginx's access log); a second upload
# of the same blobs sends HEADs and no blob PUT.  Eight runs at once on
# one local store and one server all succeed, and a ninth with an empty
# store gets the stored result from the server.  nginx killed
# mid-build, or down for a whole build: the build succeeds, with at most
# one warning.  Rootless too: A uploads, B gets remote hits.
. "$(dirname "$0")/../lib/libtest.sh"
. "$(dirname "$0")/../lib/nginx-cache.sh"
. "$(dirname "$0")/../lib/result-cache.sh"

ATTEST=$(dirname "$OHR")/oci-host-runner-attest
export XDG_RUNTIME_DIR=$T/run OCI_HOST_RUNNER_STATE_DIR=$T/state
mkdir -p "$XDG_RUNTIME_DIR" "$T/keys"
"$ATTEST" keygen --out "$T/keys/good" >/dev/null
"$ATTEST" keygen --out "$T/keys/other" >/dev/null

start_nginx_cache nginx
URL=$NGINX_URL/team-a
TRUST=(--result-cache-trust "$T/keys/good.pub")

# cargo build in checkout DIR with an empty local store of its own.
build() { # dir runner-args...
  local dir=$1
  shift
  export OCI_HOST_RUNNER_CACHE_DIR=$dir-store
  RUSTFLAGS="--remap-path-prefix=$dir=/ws" cargo_build_runner "$dir" "$dir/target" "$@"
}

# The remote warnings a build printed (all its scripts' stderr).
warnings() { # dir
  cat "$1"/target/debug/build/*/stderr 2>/dev/null | grep '^oci-host-runner: warning: result cache: ' || true
}

# count_warnings DIR REGEX EXPECTED: the number of warnings matching REGEX
# (all of the runner's lines shown when it is not EXPECTED).
count_warnings() {
  local n
  n=$(warnings "$1" | grep -cE "$2" || true)
  if [ "$n" = "$3" ]; then return 0; fi
  echo "# expected $3 warnings /$2/, got $n; the runner said:" >&2
  cat "$1"/target/debug/build/*/stderr | grep '^oci-host-runner' | sed 's/^/#   /' >&2
  return 1
}

puts() { grep -c '"PUT ' "$NGINX_DIR/access.log" || true; }

app_ok() { # dir
  "$1/target/debug/app" | grep -x 'data one | #define DEPSYS 1 |  | from-build-script' >/dev/null
}

failed() { # what
  not_ok "$1"
  tail -20 "$T/cargo.out" | sed 's/^/# /'
}

for rt in $(runtimes); do
  rm -rf "${NGINX_STORE:?}"/*
  A=$T/$rt-a
  B=$T/$rt-checkout-b-elsewhere
  checkout "$A"
  checkout "$B"
  if build "$A" --runtime "$rt" --result-cache "$URL" --result-cache-sign "$T/keys/good.key" "${TRUST[@]}" -v; then
    ok "$rt: checkout A builds with the remote cache"
  else
    failed "$rt: checkout A builds with the remote cache"
    continue
  fi
  for p in gen depsys; do
    check "$rt: A: $p missed, was stored and uploaded" expect_cache "$A" "$p" '^miss [0-9a-f]{12} \(stored; remote: uploaded\)$'
  done
  check "$rt: A: no warning" bash -c "[ -z \"\$(cat '$A'/target/debug/build/*/stderr | grep 'warning: result cache' || true)\" ]"
  check "$rt: the server holds the entries, their signatures and the blobs" \
    bash -c "[ \$(ls '$NGINX_STORE/team-a/ac' | wc -l) -eq 4 ] && [ \$(ls '$NGINX_STORE/team-a/cas' | wc -l) -ge 6 ]"

  before=$(puts)
  log_at=$(wc -l <"$NGINX_DIR/access.log")
  if build "$B" --runtime "$rt" --result-cache "$URL" --result-cache-mode read "${TRUST[@]}" -v; then
    ok "$rt: checkout B (another path, empty local store) builds"
  else
    failed "$rt: checkout B (another path, empty local store) builds"
    continue
  fi
  for p in gen depsys; do
    check "$rt: B: $p is a remote hit of A's key" expect_cache "$B" "$p" "^hit $(cache_line "$A" "$p" | cut -d' ' -f2) \\(remote, saved [0-9.]+ s\\)$"
  done
  out_snapshot "$A/target" >"$T/a.snap"
  out_snapshot "$B/target" >"$T/b.snap"
  check "$rt: B's OUT_DIRs are A's, byte for byte (files, modes, symlinks)" diff -u "$T/a.snap" "$T/b.snap"
  check "$rt: ... and not empty" assert_file_has "$T/b.snap" '^gen lib/link l 777 sub/blob.bin -$'
  check "$rt: the program is A's, byte for byte" cmp "$A/target/debug/app" "$B/target/debug/app"
  check "$rt: the hit replayed the script's stderr" \
    assert_file_has "$(ls "$B"/target/debug/build/gen-*/stderr)" '^gen build script ran$'
  check "$rt: the remote hit was imported into B's local store" \
    bash -c "OCI_HOST_RUNNER_CACHE_DIR='$B-store' '$OHR' cache stats | grep -E 'entries:? *2' >/dev/null"
  # what the two remote hits asked the server (nginx's access log): each
  # its entry and its signature, then its blobs, all GETs on one kept
  # connection per hit (the store helper's one libcurl handle)
  tail -n +$((log_at + 1)) "$NGINX_DIR/access.log" >"$T/b.log"
  check "$rt: B: two GETs of action entries per hit" \
    assert_eq 4 "$(grep -c '"GET [^ ]*/ac/' "$T/b.log" || true)" "ac GETs"
  check "$rt: B: the blobs were GETs too, and nothing else was asked" \
    bash -c "[ \$(grep -c '\"GET [^ ]*/cas/' '$T/b.log') -ge 6 ] && [ \$(grep -vc '\"GET ' '$T/b.log') -eq 0 ]"
  check "$rt: B: one connection per hit, kept between its requests" \
    assert_eq 2 "$(awk '{print $(NF-1)}' "$T/b.log" | sort -u | wc -l)" "connections"
  check "$rt: B: OUT_DIR's files are copies (one link each), not the store's" \
    bash -c "[ -z \"\$(find '$B'/target/debug/build/*/out -type f -links +1)\" ]"
  # the import is a local result: a build at a third path with B's store
  # hits locally and asks the server nothing
  B2=$T/$rt-b-again
  checkout "$B2"
  log_at=$(wc -l <"$NGINX_DIR/access.log")
  if OCI_HOST_RUNNER_CACHE_DIR=$B-store RUSTFLAGS="--remap-path-prefix=$B2=/ws" \
    cargo_build_runner "$B2" "$B2/target" --runtime "$rt" --result-cache "$URL" \
    --result-cache-mode read "${TRUST[@]}" -v; then
    for p in gen depsys; do
      check "$rt: B's store again: $p is a local hit" expect_cache "$B2" "$p" '^hit [0-9a-f]{12} \(saved [0-9.]+ s\)$'
    done
    check "$rt: ... and the server was not asked" assert_eq "$log_at" "$(wc -l <"$NGINX_DIR/access.log")" "requests logged"
  else
    failed "$rt: B's store again: the build"
  fi

  # read mode, a miss, with a signing key: stored locally, never PUT
  C=$T/$rt-c-read
  checkout "$C"
  if build "$C" --runtime "$rt" --result-cache "$URL" --result-cache-mode read \
    --result-cache-sign "$T/keys/good.key" "${TRUST[@]}" -v --env CACHE_TEST_EXTRA=extra; then
    check "$rt: read mode: a miss is stored, not uploaded" expect_cache "$C" gen '^miss .* \(stored; remote: not uploaded \(--result-cache-mode read\)\)$'
  else
    failed "$rt: read mode: the build"
  fi
  check "$rt: read mode never PUTs (nginx's access log)" assert_eq "$before" "$(puts)" "PUT count"

  # without a signing key: not uploaded, a note for -v
  C=$T/$rt-c-nokey
  checkout "$C"
  if build "$C" --runtime "$rt" --result-cache "$URL" "${TRUST[@]}" -v --env CACHE_TEST_EXTRA=nokey; then
    check "$rt: no signing key: stored, not uploaded" expect_cache "$C" gen '^miss .* \(stored; remote: not uploaded \(no --result-cache-sign key\)\)$'
  else
    failed "$rt: no signing key: the build"
  fi
  check "$rt: ... and nothing was PUT" assert_eq "$before" "$(puts)" "PUT count"

  # the same results uploaded again (the action entries gone from the
  # server, the blobs kept): HEAD finds every blob, and only the entries
  # and their signatures are PUT
  cp -a "$NGINX_STORE" "$T/store.keep"
  rm -f "$NGINX_STORE"/team-a/ac/*
  : >"$NGINX_DIR/access.log"
  C=$T/$rt-c-again
  checkout "$C"
  if build "$C" --runtime "$rt" --result-cache "$URL" --result-cache-sign "$T/keys/good.key" "${TRUST[@]}" -v; then
    for p in gen depsys; do
      check "$rt: again: $p missed, was stored and uploaded" expect_cache "$C" "$p" '^miss [0-9a-f]{12} \(stored; remote: uploaded\)$'
    done
    check "$rt: ... no blob was PUT again (nginx's access log)" \
      assert_eq 0 "$(grep -c '"PUT [^ ]*/cas/' "$NGINX_DIR/access.log" || true)" "blob PUTs"
    check "$rt: ... every blob was asked for with HEAD" \
      bash -c "[ \$(grep -c '\"HEAD [^ ]*/cas/' '$NGINX_DIR/access.log') -ge 6 ]"
    check "$rt: ... the two entries and their signatures were PUT" \
      assert_eq 4 "$(grep -c '"PUT [^ ]*/ac/' "$NGINX_DIR/access.log" || true)" "entry PUTs"
  else
    failed "$rt: the same results uploaded again: the build"
  fi
  rm -rf "${NGINX_STORE:?}" && cp -a "$T/store.keep" "$NGINX_STORE" && rm -rf "$T/store.keep"

  # poisoning: each a miss with a warning, and correct output
  gen_key=$(cache_line "$A" gen | cut -d' ' -f2)
  entry=$(ls "$NGINX_STORE"/team-a/ac/"$gen_key"*)
  cp -a "$NGINX_STORE" "$T/store.bak"
  python3 - "$entry" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 1
open(p, 'wb').write(b)
PY
  C=$T/$rt-c-ac
  checkout "$C"
  if build "$C" --runtime "$rt" --result-cache "$URL" "${TRUST[@]}" -v; then
    check "$rt: a flipped byte in gen's action entry: a miss" expect_cache "$C" gen '^miss .*'
    check "$rt: ... with a warning naming it" bash -c "warnings() { cat '$C'/target/debug/build/*/stderr | grep '^oci-host-runner: warning: result cache: remote result $gen_key: tampered: '; }; [ \$(warnings | wc -l) -eq 1 ]"
    check "$rt: ... depsys still hits" expect_cache "$C" depsys '^hit .*\(remote, '
    check "$rt: ... and the output is right" app_ok "$C"
  else
    failed "$rt: a flipped byte in an action entry: the build"
  fi
  rm -rf "${NGINX_STORE:?}" && cp -a "$T/store.bak" "$NGINX_STORE"

  blob=$(ls -S "$NGINX_STORE"/team-a/cas/* | sed -n 1p)
  python3 - "$blob" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[0] ^= 1
open(p, 'wb').write(b)
PY
  C=$T/$rt-c-cas
  checkout "$C"
  if build "$C" --runtime "$rt" --result-cache "$URL" "${TRUST[@]}" -v; then
    check "$rt: a flipped byte in a CAS blob: one warning naming it" count_warnings "$C" 'remote result [0-9a-f]{12}: not used: ' 1
    check "$rt: ... the script it belongs to missed" bash -c "cat '$C'/target/debug/build/*/stderr | grep -E '^oci-host-runner: result-cache: miss ' >/dev/null"
    check "$rt: ... and the output is right" app_ok "$C"
    out_snapshot "$C/target" >"$T/c.snap"
    check "$rt: ... OUT_DIRs are A's" diff -u "$T/a.snap" "$T/c.snap"
  else
    failed "$rt: a flipped byte in a CAS blob: the build"
  fi
  rm -rf "${NGINX_STORE:?}" && cp -a "$T/store.bak" "$NGINX_STORE"

  C=$T/$rt-c-untrusted
  checkout "$C"
  if build "$C" --runtime "$rt" --result-cache "$URL" --result-cache-trust "$T/keys/other.pub" -v; then
    for p in gen depsys; do
      check "$rt: signed by a key not trusted: $p missed" expect_cache "$C" "$p" '^miss .*'
    done
    check "$rt: ... one warning each, naming the key" count_warnings "$C" 'untrusted: signed by key [0-9a-f]+, which is not trusted' 2
    check "$rt: ... and the output is right" app_ok "$C"
  else
    failed "$rt: an untrusted key: the build"
  fi
  rm -rf "$T/store.bak"

  C=$T/$rt-c-any
  checkout "$C"
  if build "$C" --runtime "$rt" --result-cache "$URL" --result-cache-trust any -v; then
    check "$rt: trust any: gen is a remote hit" expect_cache "$C" gen '^hit .*\(remote, '
    check "$rt: ... never silently: a warning each" count_warnings "$C" 'trusted without a signature check \(trust: any\)' 2
    check "$rt: ... and the output is right" app_ok "$C"
  else
    failed "$rt: trust any: the build"
  fi
done

# ---- rootless: A uploads, B (another user cache: an empty local store)
# gets remote hits, by an unprivileged user (as test-result-cache does)
if [ "$(id -u)" -ne 0 ]; then
  skip "rootless: needs root to create the test user"
else
  rootless_prepare
  mkdir -p "$T/u/keys"
  cp "$T/keys/good.key" "$T/keys/good.pub" "$T/u/keys/"
  for rt in $(runtimes); do
    # \$c: each checkout its own (empty) local store
    rootless_script "$rt" "$T/u/cache-$rt-\$c" --runtime "$rt" --result-cache "$NGINX_URL/rootless-$rt" \
      --result-cache-sign "$T/u/keys/good.key" --result-cache-trust "$T/u/keys/good.pub" -v
    if as_test_user "$SYSROOT" "$T/u/build-$rt.sh"; then
      ok "$rt rootless: checkouts A and B build with the remote cache"
    else
      not_ok "$rt rootless: checkouts A and B build with the remote cache"
      tail -15 "$T/cargo.out" | sed 's/^/# /'
      continue
    fi
    check "$rt rootless: A's scripts ran in a rootless container" \
      assert_file_has "$T/u/$rt-a.runtime" "runtime $rt .*rootless"
    check "$rt rootless: A's two scripts were stored and uploaded" \
      assert_eq 2 "$(grep -c '^miss [0-9a-f]* (stored; remote: uploaded)$' "$T/u/$rt-a.cache")" "uploaded results"
    check "$rt rootless: B's two scripts were remote hits" \
      assert_eq 2 "$(grep -c '^hit [0-9a-f]* (remote, saved ' "$T/u/$rt-checkout-b.cache")" "remote hits"
    check "$rt rootless: B's OUT_DIRs are A's, byte for byte" \
      diff -u "$T/u/$rt-a.snap" "$T/u/$rt-checkout-b.snap"
    check "$rt rootless: ... and not empty" assert_file_has "$T/u/$rt-checkout-b.snap" '^gen lib/tool.sh f 750 '
  done
fi

# eight builds at once sharing one local store and one server: a script
# of its own at eight checkouts (another path each), all at the same
# moment; every run succeeds with its whole OUT_DIR and output, the
# store and the server end with one entry, and a ninth run with an
# empty local store gets it from the server
rt=$(runtimes | sed -n 1p)
par_checkouts 9 /dev/urandom
export OCI_HOST_RUNNER_CACHE_DIR=$T/par-store
pids=()
par_run() { # i
  local d=$T/par$1
  (cd "$d/pkg" && OUT_DIR=$d/target/debug/build/pkg-0000/out CARGO_MANIFEST_DIR=$d/pkg \
    "$OHR" --runtime "$rt" --result-cache "$NGINX_URL/par" --result-cache-sign "$T/keys/good.key" \
    "${TRUST[@]}" -v "$d/target/debug/build/pkg-1111/build-script-build" >"$d/out" 2>"$d/err")
}
for i in 1 2 3 4 5 6 7 8; do
  par_run "$i" &
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=$((failed + 1)); done
check "eight runs at once on one store and one server all succeed" assert_eq 0 "$failed" "failed runs"
check "... each OUT_DIR complete, each stdout printed or replayed" par_complete 1 2 3 4 5 6 7 8
check "... no warning, no notice" bash -c "! grep -h 'warning: result cache\|notice: result cache' $T/par[1-8]/err"
check "... the server holds one entry and its signature" \
  bash -c "[ \$(ls '$NGINX_STORE/par/ac' | wc -l) -eq 2 ]"
stored=$(cat "$T"/par[1-8]/err | grep -c 'result-cache: miss .*stored' || true)
check "... at least one run stored it" bash -c "[ $stored -ge 1 ]"
# the blob is random: the runs that hit got the stored run's bytes
export OCI_HOST_RUNNER_CACHE_DIR=$T/par-store-empty
par_run 9
check "a ninth run with an empty local store: a remote hit" assert_file_has "$T/par9/err" 'result-cache: hit [0-9a-f]{12}'
check "... OUT_DIR complete" par_complete 9
same_blob() { # the ninth run's blob is one of the eight runs' (the stored one)
  local i
  for i in 1 2 3 4 5 6 7 8; do
    cmp -s "$T/par9/target/debug/build/pkg-0000/out/blob" "$T/par$i/target/debug/build/pkg-0000/out/blob" && return 0
  done
  return 1
}
check "... the stored run's bytes" same_blob
unset OCI_HOST_RUNNER_CACHE_DIR

# nginx killed in the middle of a build (at its first PUT, one job at a
# time): the build succeeds, with correct output and at most one warning
rt=$(runtimes | sed -n 1p)
C=$T/killed-mid
checkout "$C"
: >"$NGINX_DIR/access.log"
(
  while ! grep '"PUT ' "$NGINX_DIR/access.log" >/dev/null 2>&1; do sleep 0.02; done
  kill -9 "$NGINX_PID"
) &
watcher=$!
if CARGO_BUILD_JOBS=1 build "$C" --runtime "$rt" --result-cache "$NGINX_URL/mid" --result-cache-sign "$T/keys/good.key" "${TRUST[@]}" -v; then
  ok "nginx killed mid-build: the build succeeds"
  check "... and the output is right" app_ok "$C"
  n=$(warnings "$C" | grep -c 'unavailable' || true)
  check "... at most one warning for the build" bash -c "[ $n -le 1 ]"
else
  failed "nginx killed mid-build: the build succeeds"
fi
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
check "... nginx was killed by then" bash -c "! kill -0 $NGINX_PID 2>/dev/null"
stop_nginx_cache

# nginx down for a whole build: one warning for the whole build
stop_nginx_cache
rt=$(runtimes | sed -n 1p)
C=$T/killed
checkout "$C"
# one job: scripts that start together before the first failure would
# each pay (and report) it; one after another, only the first does
if CARGO_BUILD_JOBS=1 build "$C" --runtime "$rt" --result-cache "$URL" --result-cache-sign "$T/keys/good.key" "${TRUST[@]}" -v; then
  ok "nginx killed: the build succeeds"
  check "... the scripts ran and were stored locally" expect_cache "$C" gen '^miss .* \(stored'
  check "... one warning for the build (down once per build)" count_warnings "$C" 'unavailable' 1
  check "... later requests skipped the server" bash -c "cat '$C'/target/debug/build/depsys-*/stderr | grep 'result-cache: miss .*skipped, it was unavailable earlier in this build' >/dev/null"
  check "... and the output is right" app_ok "$C"
else
  failed "nginx killed: the build succeeds"
fi

finish
