#!/usr/bin/env bash
# The result cache with --attest (issue 13, item 3; docs/cache.md, "With
# --attest"; docs/attestations.md, "Cache hits"), with real cargo, runc and
# crun, as root: tests/fixtures/cache built clean in checkout A with
# --attest (every cacheable script missed, stored, and its statement is in
# the store with the result), then in checkout B at another path (every
# script a hit whose statement says so and names A's statement by its
# sha256, computed here; its subjects are A's).  `verify` of a hit's
# statement re-runs the script, never from the cache (the store's hit
# count does not move), and `attest verify` checks its subjects.  With one
# runtime: a stored statement whose bytes were changed in the store is not
# served (a miss with a warning; the run stores a good one again, and the
# next build hits); a result stored by a run without --attest is not
# served as an attested hit (a miss that says why, re-run, stored with a
# statement); the remote cache (a real nginx) carries the statement as a
# CAS blob to a checkout with an empty local store, and a flipped byte in
# that blob makes the entry a miss with a warning.  Rootless too: A then B
# with --attest by an unprivileged user, on both runtimes.
#
# gen reads depsys's OUT_DIR (DEP_DEPSYS_INCLUDE): its statements name
# that OUT_DIR as an input (resolvedDependencies
# "dependency-out-dir:depsys-<hash>/out"), and `verify` of gen's
# statements, of a run and of a hit, with the cache and with --result-cache
# off, root and rootless, reproduces; after a byte of depsys's OUT_DIR
# changed it does not, naming the output and the changed OUT_DIR.
. "$(dirname "$0")/../lib/libtest.sh"
. "$(dirname "$0")/../lib/result-cache.sh"
. "$(dirname "$0")/../lib/nginx-cache.sh"

ATTEST=$(dirname "$OHR")/oci-host-runner-attest
export XDG_RUNTIME_DIR=$T/run OCI_HOST_RUNNER_STATE_DIR=$T/state
mkdir -p "$XDG_RUNTIME_DIR"

failed() { # what
  not_ok "$1"
  tail -20 "$T/cargo.out" | sed 's/^/# /'
}

# The one statement of package PKG in attest dir DIR.
statement_of() { # dir pkg
  local f
  f=$(ls "$1/$2"-0.1.0-*.intoto.json 2>/dev/null || true)
  [ "$(printf '%s\n' "$f" | grep -c .)" = 1 ] || {
    echo "# $2 in $1: expected one statement, got '$f'" >&2
    return 1
  }
  echo "$f"
}

# A field of a statement's result-cache part: hit, key, statement (its
# sha256), dep (the sha256 of its result-cache-statement dependency),
# outdirs (the names of its dependency-out-dir dependencies), or subjects
# (name=sha256 lines).
field() { # statement field
  python3 - "$1" "$2" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
bd = s["predicate"]["buildDefinition"]
rc = bd["internalParameters"].get("resultCache")
f = sys.argv[2]
if f == "subjects":
    for x in sorted(s["subject"], key=lambda x: x["name"]):
        print(x["name"] + "=" + x["digest"]["sha256"])
elif f == "dep":
    for d in bd["resolvedDependencies"]:
        if d["name"] == "result-cache-statement":
            print(d["digest"]["sha256"])
elif f == "outdirs":
    for d in bd["resolvedDependencies"]:
        if d["name"].startswith("dependency-out-dir:") and "sha256" in d["digest"]:
            print(d["name"])
elif rc is None:
    print("none")
elif f == "statement":
    print(rc["statement"]["sha256"])
else:
    print(str(rc[f]).lower())
PY
}

sha() { sha256sum <"$1" | cut -d' ' -f1; }

# The full key of the 12 hex digits -v printed, from the store's refs.
full_key() { # store-dir key12
  ostree --repo="$1/repo" refs | sed -n "s|^ohr/result/\\($2[0-9a-f]*\\)\$|\\1|p"
}

hits() { grep -c '^hit ' "$1/results.log" || true; }

# verify STATEMENT [ENV=VALUE...]: exit code in $rc, output in $T/verify.out
verify() {
  local st=$1
  shift
  rc=0
  env "$@" "$OHR" verify "$st" >"$T/verify.out" 2>&1 || rc=$?
}
verified() { # expected-rc output-regex...
  local want=$1 re
  shift
  [ "$rc" -eq "$want" ] || {
    echo "# exit $rc, expected $want" >&2
    sed 's/^/# /' "$T/verify.out" >&2
    return 1
  }
  for re in "$@"; do
    grep -E -- "$re" "$T/verify.out" >/dev/null || {
      echo "# no /$re/ in:" >&2
      sed 's/^/# /' "$T/verify.out" >&2
      return 1
    }
  done
}

for rt in $(runtimes); do
  export OCI_HOST_RUNNER_CACHE_DIR=$T/$rt-cache
  A=$T/$rt-a
  B=$T/$rt-checkout-b-elsewhere
  checkout "$A"
  checkout "$B"
  if build_remapped "$A" --runtime "$rt" --result-cache local --attest "$A-att" -v; then
    ok "$rt: checkout A builds with --attest and the cache"
  else
    failed "$rt: checkout A builds with --attest and the cache"
    continue
  fi
  for p in gen depsys; do
    check "$rt: A: $p missed and was stored (--attest no longer turns the cache off)" \
      expect_cache "$A" "$p" '^miss [0-9a-f]{12} \(stored\)$'
  done
  SA=$(statement_of "$A-att" gen) || SA=/nonexistent
  check "$rt: A: gen's run wrote its statement" test -s "$SA"
  check "$rt: ... a statement of a run, not of a hit" assert_eq none "$(field "$SA" hit)" "resultCache"
  key=$(full_key "$OCI_HOST_RUNNER_CACHE_DIR" "$(cache_line "$A" gen | cut -d' ' -f2)")
  check "$rt: the store holds gen's statement with its result, byte for byte" \
    bash -c "ostree --repo='$OCI_HOST_RUNNER_CACHE_DIR/repo' cat 'ohr/result/$key' /statement | cmp - '$SA'"

  if build_remapped "$B" --runtime "$rt" --result-cache local --attest "$B-att" -v; then
    ok "$rt: checkout B (another path) builds with --attest"
  else
    failed "$rt: checkout B (another path) builds with --attest"
    continue
  fi
  for p in gen depsys; do
    check "$rt: B: $p is a hit of A's key" expect_cache "$B" "$p" "^hit $(cache_line "$A" "$p" | cut -d' ' -f2) \\(saved [0-9.]+ s\\)$"
  done
  for p in gen depsys; do
    sa=$(statement_of "$A-att" "$p") || sa=/nonexistent
    sb=$(statement_of "$B-att" "$p") || sb=/nonexistent
    check "$rt: B: $p's hit has a statement" test -s "$sb"
    check "$rt: ... that says it is a cache hit" assert_eq true "$(field "$sb" hit)" "resultCache.hit"
    check "$rt: ... of A's key" assert_eq "$(full_key "$OCI_HOST_RUNNER_CACHE_DIR" "$(cache_line "$A" "$p" | cut -d' ' -f2)")" "$(field "$sb" key)" "resultCache.key"
    check "$rt: ... naming A's statement by its sha256" assert_eq "$(sha "$sa")" "$(field "$sb" statement)" "resultCache.statement"
    check "$rt: ... also as a resolved dependency" assert_eq "$(sha "$sa")" "$(field "$sb" dep)" "result-cache-statement"
    check "$rt: ... with A's subjects (the outputs as restored)" \
      diff -u <(field "$sa" subjects) <(field "$sb" subjects)
  done
  SB=$(statement_of "$B-att" gen) || SB=/nonexistent
  check "$rt: ... a copy of the reused statement is beside it" \
    bash -c "cmp '$SA' \"\$(ls '$B-att'/*.reused.json | xargs grep -l '\"name\":\"gen\"')\""
  rc=0
  "$OHR" attest verify "$SB" >"$T/averify.out" 2>&1 || rc=$?
  check "$rt: attest verify of the hit's statement: its subjects are on disk (exit 0)" \
    bash -c "[ $rc -eq 0 ] && grep OK '$T/averify.out' >/dev/null"
  # depsys's hit statement (gen's, which reads depsys's OUT_DIR, below)
  SBD=$(statement_of "$B-att" depsys) || SBD=/nonexistent
  # with the cache on in the environment (the host image is cached only
  # with local), which the re-run inherits: without its --result-cache off
  # it would be a hit
  before=$(hits "$OCI_HOST_RUNNER_CACHE_DIR")
  rc=0
  OCI_HOST_RUNNER_RESULT_CACHE=local "$OHR" verify "$SBD" >"$T/verify.out" 2>&1 || rc=$?
  check "$rt: verify of depsys's hit statement re-runs the script and matches (exit 0)" \
    bash -c "[ $rc -eq 0 ] && grep '^reproducible' '$T/verify.out' >/dev/null || { sed 's/^/# /' '$T/verify.out'; exit 1; }"
  check "$rt: ... and the re-run was not served from the cache (the store's hit count)" \
    assert_eq "$before" "$(hits "$OCI_HOST_RUNNER_CACHE_DIR")" "hits in results.log"
  # the comparison is with what the script makes now: a changed source
  # makes the hit's statement fail to verify
  sed -i 's/DEPSYS 1/DEPSYS 7/' "$B/depsys/depsys.h"
  rc=0
  "$OHR" verify "$SBD" >"$T/verify.out" 2>&1 || rc=$?
  check "$rt: verify of a hit whose source changed since: it differs (exit 1, naming the file)" \
    bash -c "[ $rc -eq 1 ] && grep 'out/include/depsys.h' '$T/verify.out' >/dev/null || { sed 's/^/# /' '$T/verify.out'; exit 1; }"
  sed -i 's/DEPSYS 7/DEPSYS 1/' "$B/depsys/depsys.h"

  # gen reads depsys's OUT_DIR: its statements name it as an input
  depout=$(basename "$(dirname "$(ls -d "$B"/target/debug/build/depsys-*/out)")")/out
  check "$rt: A: gen's statement names depsys's OUT_DIR as an input" \
    assert_eq "dependency-out-dir:$depout" "$(field "$SA" outdirs)" "dependency-out-dir"
  check "$rt: B: so does the statement of gen's hit" \
    assert_eq "dependency-out-dir:$depout" "$(field "$SB" outdirs)" "dependency-out-dir"
  # verify's re-run gets a copy of it, where DEP_DEPSYS_INCLUDE names it
  verify "$SB" OCI_HOST_RUNNER_RESULT_CACHE=local
  check "$rt: verify of gen's hit statement (it reads depsys's OUT_DIR) matches (exit 0)" \
    verified 0 '^reproducible'
  verify "$SA"
  check "$rt: verify of gen's statement of A's run matches (exit 0)" verified 0 '^reproducible'
  # one byte of depsys's OUT_DIR, as the runner mounts it to gen, changed
  hdr=$(ls "$B"/target/debug/build/depsys-*/out/include/depsys.h)
  sed -i 's/DEPSYS 1/DEPSYS 3/' "$hdr"
  verify "$SB"
  check "$rt: after a byte of depsys's OUT_DIR changed: gen's differs (exit 1), naming the output and the OUT_DIR" \
    verified 1 '^changed: out/generated\.rs$' "DEPSYS 3" \
    "^note: the dependency OUT_DIR '$depout' changed since the statement"
  sed -i 's/DEPSYS 3/DEPSYS 1/' "$hdr"
  verify "$SB"
  check "$rt: ... and matches again once it is back" verified 0 '^reproducible'

  # the same without the result cache: --result-cache off
  O=$T/$rt-off
  checkout "$O"
  if build_remapped "$O" --runtime "$rt" --result-cache off --attest "$O-att" -v; then
    SO=$(statement_of "$O-att" gen) || SO=/nonexistent
    check "$rt: --result-cache off: gen's statement names depsys's OUT_DIR" \
      assert_eq "dependency-out-dir:$depout" "$(field "$SO" outdirs)" "dependency-out-dir"
    verify "$SO"
    check "$rt: --result-cache off: verify of gen's statement matches (exit 0)" \
      verified 0 '^reproducible: 4 outputs match$'
  else
    failed "$rt: --result-cache off: the build"
  fi
done

# identity paths: the re-run's DEP_* variables name the copy by its own
# path; the outputs do not depend on it
O=$T/identity
checkout "$O"
if build_remapped "$O" --runtime "$(runtimes | sed -n 1p)" --result-cache off --paths identity --attest "$O-att"; then
  verify "$(statement_of "$O-att" gen || echo /nonexistent)"
  check "--paths identity: verify of gen's statement matches (exit 0)" verified 0 '^reproducible'
else
  failed "--paths identity: the build"
fi

RT=$(runtimes | sed -n 1p)

# ---- a stored statement changed in the store: not served
export OCI_HOST_RUNNER_CACHE_DIR=$T/$RT-cache
key=$(full_key "$OCI_HOST_RUNNER_CACHE_DIR" "$(cache_line "$T/$RT-a" gen | cut -d' ' -f2)")
obj=$(ostree --repo="$OCI_HOST_RUNNER_CACHE_DIR/repo" ls -C "ohr/result/$key" /statement | awk '{print $5}')
objfile=$OCI_HOST_RUNNER_CACHE_DIR/repo/objects/${obj:0:2}/${obj:2}.file
check "the stored statement is an object of the store" test -f "$objfile"
python3 - "$objfile" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 1
open(p, 'wb').write(b)
PY
C=$T/c-tampered
checkout "$C"
if build_remapped "$C" --runtime "$RT" --result-cache local --attest "$C-att" -v; then
  check "a changed stored statement: gen misses, saying why, and stores again" \
    expect_cache "$C" gen '^miss [0-9a-f]{12} \(its stored statement was changed; stored\)$'
  check "... with one warning naming the result" \
    assert_eq 1 "$(cat "$C"/target/debug/build/gen-*/stderr | grep -c "^oci-host-runner: warning: result cache: result ${key:0:12}: its stored statement does not match")" "warnings"
  SC=$(statement_of "$C-att" gen) || SC=/nonexistent
  check "... and its statement is of a run" assert_eq none "$(field "$SC" hit)" "resultCache"
  check "... depsys, untouched, still hits" expect_cache "$C" depsys '^hit '
else
  failed "a changed stored statement: the build"
fi
D=$T/d-after-tamper
checkout "$D"
if build_remapped "$D" --runtime "$RT" --result-cache local --attest "$D-att" -v; then
  check "the next build hits the result stored again" expect_cache "$D" gen '^hit '
  SD=$(statement_of "$D-att" gen) || SD=/nonexistent
  check "... naming the statement of the run that stored it" assert_eq "$(sha "$SC")" "$(field "$SD" statement)" "resultCache.statement"
else
  failed "after a changed statement: the next build"
fi

# ---- a result stored without --attest is not an attested hit
export OCI_HOST_RUNNER_CACHE_DIR=$T/plain-cache
E=$T/e-plain
F=$T/f-attested
G=$T/g-attested
checkout "$E"
checkout "$F"
checkout "$G"
if build_remapped "$E" --runtime "$RT" --result-cache local -v; then
  check "without --attest: gen is stored" expect_cache "$E" gen '^miss [0-9a-f]{12} \(stored\)$'
else
  failed "without --attest: the build"
fi
if build_remapped "$F" --runtime "$RT" --result-cache local --attest "$F-att" -v; then
  check "with --attest over a result stored without: gen misses and says why" \
    expect_cache "$F" gen '^miss [0-9a-f]{12} \(stored without a statement \(a run without --attest\): run to store one; stored\)$'
  SF=$(statement_of "$F-att" gen) || SF=/nonexistent
  check "... and its statement is of a run, claiming no reuse" assert_eq none "$(field "$SF" hit)" "resultCache"
else
  failed "with --attest over a result stored without: the build"
fi
if build_remapped "$G" --runtime "$RT" --result-cache local --attest "$G-att" -v; then
  check "... the next attested build hits" expect_cache "$G" gen '^hit '
  SG=$(statement_of "$G-att" gen) || SG=/nonexistent
  check "... naming the statement stored by the re-run" assert_eq "$(sha "$SF")" "$(field "$SG" statement)" "resultCache.statement"
else
  failed "with --attest, after the re-run stored: the build"
fi
H=$T/h-plain
checkout "$H"
if build_remapped "$H" --runtime "$RT" --result-cache local -v; then
  check "a build without --attest hits an attested result too" expect_cache "$H" gen '^hit '
else
  failed "without --attest, an attested result: the build"
fi

# ---- the remote cache carries the statement
"$ATTEST" keygen --out "$T/good" >/dev/null
start_nginx_cache nginx
URL=$NGINX_URL/att
TRUST=(--result-cache-trust "$T/good.pub")
RA=$T/ra
RB=$T/rb-elsewhere
RC=$T/rc-poisoned
checkout "$RA"
checkout "$RB"
checkout "$RC"
export OCI_HOST_RUNNER_CACHE_DIR=$RA-store
if build_remapped "$RA" --runtime "$RT" --result-cache "$URL" --result-cache-sign "$T/good.key" "${TRUST[@]}" --attest "$RA-att" -v; then
  check "remote: A with --attest uploads gen" expect_cache "$RA" gen '^miss [0-9a-f]{12} \(stored; remote: uploaded\)$'
  SRA=$(statement_of "$RA-att" gen) || SRA=/nonexistent
  check "... its statement is a CAS blob on the server" test -f "$NGINX_STORE/att/cas/$(sha "$SRA")"
else
  failed "remote: A with --attest"
  SRA=/nonexistent
fi
export OCI_HOST_RUNNER_CACHE_DIR=$RB-store
if build_remapped "$RB" --runtime "$RT" --result-cache "$URL" "${TRUST[@]}" --attest "$RB-att" -v; then
  check "remote: B with an empty local store: gen is a remote hit" expect_cache "$RB" gen '^hit [0-9a-f]{12} \(remote, saved '
  SRB=$(statement_of "$RB-att" gen) || SRB=/nonexistent
  check "... whose statement names A's by its sha256" assert_eq "$(sha "$SRA")" "$(field "$SRB" statement)" "resultCache.statement"
else
  failed "remote: B with --attest"
fi
blob=$NGINX_STORE/att/cas/$(sha "$SRA")
if [ -f "$blob" ]; then
  python3 - "$blob" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 2] ^= 1
open(p, 'wb').write(b)
PY
fi
export OCI_HOST_RUNNER_CACHE_DIR=$RC-store
if build_remapped "$RC" --runtime "$RT" --result-cache "$URL" "${TRUST[@]}" --attest "$RC-att" -v; then
  check "remote: a flipped byte in the statement's blob: gen misses" expect_cache "$RC" gen '^miss '
  check "... with a warning naming the result" \
    bash -c "cat '$RC'/target/debug/build/gen-*/stderr | grep '^oci-host-runner: warning: result cache: remote result [0-9a-f]\{12\}: not used: ' >/dev/null"
  SRC=$(statement_of "$RC-att" gen) || SRC=/nonexistent
  check "... and its statement is of a run" assert_eq none "$(field "$SRC" hit)" "resultCache"
else
  failed "remote: a poisoned statement blob: the build"
fi
stop_nginx_cache

# ---- rootless: A then B with --attest by an unprivileged user
if [ "$(id -u)" -ne 0 ]; then
  skip "rootless: needs root to create the test user"
  finish
  exit
fi
rootless_prepare
cp "$ATTEST" "$T/bin/"
for rt in $(runtimes); do
  install -d -m 755 -o "$TEST_USER" "$T/u/att-$rt"
  rootless_script "$rt" "$T/u/cache-$rt" --runtime "$rt" --result-cache local --attest "$T/u/att-$rt" -v
  if as_test_user "$SYSROOT" "$T/u/build-$rt.sh"; then
    ok "$rt rootless: checkouts A and B build with --attest and the cache"
  else
    not_ok "$rt rootless: checkouts A and B build with --attest and the cache"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  check "$rt rootless: A's two scripts were stored" \
    assert_eq 2 "$(grep -c '^miss [0-9a-f]* (stored)$' "$T/u/$rt-a.cache")" "stored results"
  check "$rt rootless: B's two scripts were hits" \
    assert_eq 2 "$(grep -c '^hit ' "$T/u/$rt-checkout-b.cache")" "hits"
  n=0 named=0
  for s in "$T/u/att-$rt"/gen-0.1.0-*.intoto.json; do
    [ "$(field "$s" hit)" = true ] || continue
    n=$((n + 1))
    for o in "$T/u/att-$rt"/gen-0.1.0-*.intoto.json; do
      [ "$(field "$o" hit)" = none ] && [ "$(sha "$o")" = "$(field "$s" statement)" ] && named=$((named + 1))
    done
  done
  check "$rt rootless: gen's hit has a statement" assert_eq 1 "$n" "hit statements"
  check "$rt rootless: ... naming the statement of A's run by its sha256" assert_eq 1 "$named" "statements named"
  # verify of gen's statements (A's run, B's hit) by the user
  cat >"$T/u/verify-$rt.sh" <<SH
export PATH=$T/toolchain/bin:/usr/bin:/bin HOME=$T/u/home CARGO_HOME=$T/u/cargo-home
export XDG_RUNTIME_DIR=$T/u/xdg-$rt XDG_CACHE_HOME=$T/u/cache-$rt
unset OCI_HOST_RUNNER_STATE_DIR OCI_HOST_RUNNER_CACHE_DIR OCI_HOST_RUNNER_STORE_DIR
for s in $T/u/att-$rt/gen-0.1.0-*.intoto.json; do
  rc=0
  $T/bin/oci-host-runner verify "\$s" >>$T/u/verify-$rt.out 2>&1 || rc=\$?
  echo "\$rc" >>$T/u/verify-$rt.rc
done
SH
  as_test_user "$SYSROOT" "$T/u/verify-$rt.sh" || true
  check "$rt rootless: verify of gen's two statements (they read depsys's OUT_DIR) match" \
    bash -c "[ \"\$(cat '$T/u/verify-$rt.rc' 2>/dev/null | tr '\n' ' ')\" = '0 0 ' ] || { sed 's/^/# /' '$T/u/verify-$rt.out' '$T/cargo.out'; exit 1; }"
done

finish
