#!/usr/bin/env bash
# test-image-drift: Debian's archive serves only the current version of each
# package, so a lock of exact versions decays (linux-libc-dev moves about
# monthly).  Simulated here with a lock that names a version Debian never
# had, in a working copy of images/ whose lock.json is otherwise coherent:
#   - images/build stops with one line that names the gone pin and what to
#     do, exit 3, and writes nothing (no layout, nothing in the .deb cache);
#   - with a snapshot archive (Debian's URL scheme, served on loopback),
#     images/build fetches the gone file, checks it against its pinned
#     sha256 and builds the very image the lock describes; a file with
#     another sha256 (exit 4) or an archive that does not answer (exit 4)
#     leaves nothing behind;
#   - test-images, run on that tree, passes through its fallback (a fresh
#     resolution in a temporary lock) and says so in a "# note:" line.
. "$(dirname "$0")/../lib/libtest.sh"
. "$TOP/tests/lib/images.sh"

PY=/usr/bin/python3
for tool in apt-get dpkg-deb gzip "$PY"; do
  command -v "$tool" >/dev/null || fatal "$tool missing (make deps)"
done
WC=$T/drift/images
copy_images "$WC"

# The reference: minimal resolved against today's lists, so that every pin
# is served, and built.
"$WC/resolve" minimal >"$T/resolve.log" 2>&1 || { sed 's/^/# /' "$T/resolve.log"; fatal "images/resolve minimal failed"; }
ref=$("$WC/build" minimal "$T/ref" 2>"$T/ref.log") || { sed 's/^/# /' "$T/ref.log"; fatal "images/build minimal failed"; }
LOCK=$WC/minimal/packages.lock
CACHE=$(cd "$WC/lib" && "$PY" -B -c 'import imagetool as it; print(it.cache_dir())')

# The drift: one pin renamed to a version Debian never had (its sha256 and
# pool path stay those of the real file, as a pin that was current once).
victim=$(grep -E '^zlib1g=' "$LOCK" || grep -E '^[a-z0-9][^ ]*=' "$LOCK" | head -1)
vname=${victim%%=*}
vrest=${victim#*=}
vver=${vrest%% *}
# '~' sorts before anything: an older version than the one Debian serves,
# as a pin that a newer upload replaced
gone_ver="${vver}~ohr.gone1"
re() { printf '%s' "$1" | sed 's/[][\.*^$+?(){}|]/\\&/g'; }
GONE_RE=$(re "$vname=$gone_ver")
sed -i "s|^$vname=$vver |$vname=$gone_ver |" "$LOCK"
grep -q "^$vname=$gone_ver " "$LOCK" || fatal "could not edit $LOCK"
vsha=$(echo "$vrest" | sed -E 's/.* sha256:([0-9a-f]{64}).*/\1/')
vpool=$(echo "$vrest" | awk '{print $4}')
vdeb=$CACHE/$(cd "$WC/lib" && "$PY" -B -c "import imagetool as it; print(it.deb_filename({'name':'$vname','version':'$vver','arch':'$(echo "$vrest" | awk '{print $2}')'}))")
[ -f "$vdeb" ] || fatal "the reference build left no $vdeb"
# lock.json as a commit that pinned this lock would have it
"$PY" - "$WC" "$ref" <<'EOF'
import os, sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(sys.argv[1], "lib"))
import imagetool as it
it.IMAGES_DIR, it.LOCK_JSON = sys.argv[1], os.path.join(sys.argv[1], "lock.json")
lock = it.read_lock_json()
lock["minimal"] = {"definition": it.definition_digest("minimal"), "digest": sys.argv[2]}
it.write_lock_json(lock)
EOF
echo "# drift: $vname=$vver renamed to $gone_ver in a copy of images/minimal/packages.lock"

# ---- a user's build on that lock: one line, exit 3, nothing written
mkdir -p "$T/empty-cache"
rc=0
"$WC/build" --cache "$T/empty-cache" minimal "$T/out-gone" >"$T/gone.out" 2>"$T/gone.err" || rc=$?
check "images/build on a lock with a gone pin exits 3" assert_eq 3 "$rc" "exit status"
check "it says so in one line" assert_eq 1 "$(wc -l <"$T/gone.err")" "stderr lines"
check "the line names the gone pin and the ways on (update-lock, snapshot archive, cache)" assert_file_has \
  "$T/gone.err" "^images: error: minimal: 1 pinned package is no longer in Debian's archive \($GONE_RE\): re-pin with 'images/update-lock minimal', or .*--snapshot .*resolved at [0-9]{8}T[0-9]{6}Z.*$T/empty-cache"
check "it writes no layout and downloads nothing" \
  assert_eq "absent 0" "$([ -e "$T/out-gone" ] && echo present || echo absent) $(find "$T/empty-cache" -mindepth 1 | wc -l)" "out, cache entries"

# a pin newer than any version apt knows: its lists are old, not the pin
cp -a "$WC" "$T/newer"
sed -i "s|^$vname=$gone_ver |$vname=$vver+ohr.newer1 |" "$T/newer/minimal/packages.lock"
rc=0
"$T/newer/build" --cache "$T/empty-cache" minimal "$T/out-newer" >/dev/null 2>"$T/newer.err" || rc=$?
check "a pin newer than apt's lists know asks for apt-get update (exit 3, one line)" \
  assert_eq "3 1 1" "$rc $(wc -l <"$T/newer.err") $(grep -cE "apt's package lists are older than the lock: .*$(re "$vname=$vver+ohr.newer1").*: run apt-get update$" "$T/newer.err")" \
  "exit status, lines, matching"

# ---- a snapshot archive on loopback, Debian's URL scheme
stamp=$(sed -n 's/^resolved-at //p' "$LOCK")
case $stamp in [0-9]*T*Z) ;; *) fatal "no resolved-at line in $LOCK" ;; esac
SNAP=$T/snapshot
# on disk by its decoded name (apt's URIs escape '+' as %2b)
served=$SNAP/archive/${vpool%%/*}/$stamp/$("$PY" -c 'import sys, urllib.parse; print(urllib.parse.unquote(sys.argv[1]))' "${vpool#*/}")
mkdir -p "$(dirname "$served")"
cp "$vdeb" "$served"
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$PY" -m http.server --bind 127.0.0.1 --directory "$SNAP" "$port" >"$T/http.log" 2>&1 &
http=$!
at_exit "kill $http 2>/dev/null; wait $http 2>/dev/null"
up=0
for _ in $(seq 100); do
  "$PY" -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/', timeout=1)" 2>/dev/null && { up=1; break; }
  sleep 0.1
done
[ "$up" = 1 ] || fatal "the snapshot server did not start"

mkdir -p "$T/snap-cache"
rc=0
d=$("$WC/build" --cache "$T/snap-cache" --snapshot "http://127.0.0.1:$port/" minimal "$T/out-snap" 2>"$T/snap.err") || rc=$?
check "with --snapshot the build fetches the gone pin and succeeds" assert_eq 0 "$rc" "exit status"
check "it says where the gone pin came from" assert_file_has "$T/snap.err" \
  "fetching 1 package Debian's archive no longer serves from http://127.0.0.1:$port"
check "the snapshot server was asked for Debian's snapshot path of that file" \
  assert_file_has "$T/http.log" "GET /archive/${vpool%%/*}/$stamp/${vpool#*/} HTTP/1.[01]\" 200"
check "the image is the one the lock describes (the reference digest)" assert_eq "$ref" "$d" "digest"

# OHR_SNAPSHOT_BASE does the same; a tampered file is refused and not kept
printf 'X' | dd of="$served" bs=1 seek=100 conv=notrunc status=none
mkdir -p "$T/bad-cache"
rc=0
OHR_SNAPSHOT_BASE=http://127.0.0.1:$port "$WC/build" --cache "$T/bad-cache" minimal "$T/out-bad" \
  >/dev/null 2>"$T/bad.err" || rc=$?
check "a snapshot file with another sha256 fails the build with exit 4" assert_eq 4 "$rc" "exit status"
check "the error names the package, its URL and both digests" assert_file_has "$T/bad.err" \
  "^images: error: $GONE_RE from http://127.0.0.1:$port/archive/.* has sha256 [0-9a-f]{64}, not the pinned $vsha: nothing was kept"
check "the tampered file is not in the cache, nor any temporary file, nor a layout" \
  assert_eq "0 absent" "$(find "$T/bad-cache" -name "$vname*" -o -name '.snapshot-*' | wc -l) $([ -e "$T/out-bad" ] && echo present || echo absent)" "cache entries, out"

kill "$http" && wait "$http" 2>/dev/null || true
mkdir -p "$T/down-cache"
rc=0
"$WC/build" --cache "$T/down-cache" --snapshot "http://127.0.0.1:$port" minimal "$T/out-down" >/dev/null 2>"$T/down.err" || rc=$?
check "a snapshot archive that does not answer fails with exit 4 and one error line" \
  assert_eq "4 1" "$rc $(grep -c '^images: error:' "$T/down.err")" "exit status, error lines"
check "the error says which file could not be fetched from where" assert_file_has "$T/down.err" \
  "cannot fetch $GONE_RE from the snapshot archive: http://127.0.0.1:$port/archive/"

# ---- the image tests on that tree: they pass through the fallback
rc=0
OHR_TEST_IMAGES_SRC=$WC OHR_TEST_SHARED=$T/shared-inner timeout 900 bash "$TOP/tests/integration/test-images.sh" \
  >"$T/inner.out" 2>&1 || rc=$?
sed 's/^/#   /' "$T/inner.out" | grep -E '^#   (not ok|# note|Bail)' || true
check "test-images passes on the drifted tree" assert_eq 0 "$rc" "exit status"
check "it fell back to a fresh resolution and said so" assert_file_has "$T/inner.out" \
  "^# note: images/minimal: the pinned lock cannot be built today \(minimal: 1 pinned package is no longer in Debian's archive \($GONE_RE\)"
inner_ok=$(grep -c '^ok ' "$T/inner.out" || true)
inner_plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$T/inner.out")
check "every one of its checks ran and passed ($inner_ok of plan $inner_plan)" \
  assert_eq "${inner_plan:-none} 0" "$inner_ok $(grep -c '^not ok ' "$T/inner.out" || true)" "ok count, not ok count"
check "the fallback still proved the lock's failure, reproducibility and the runner in the image" \
  assert_eq $((2 + $(runtimes | wc -l))) \
  "$(grep -cE "^ok [0-9]+ - minimal: (the pinned lock fails with one line|the second working copy, built by an unprivileged user, has the same manifest digest|(runc|crun): cargo build of the examples)" "$T/inner.out")" \
  "matching checks"
finish
