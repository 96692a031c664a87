# images.sh: the pinned images of images/ built for tests (source it after
# libtest.sh).
#
# A lock of exact Debian versions decays: Debian's archive serves only the
# current version of each package, and a fresh machine has no .deb cache.
# When `images/build` says its pins are gone (exit 3), the tests resolve the
# definition afresh against today's package lists into a temporary lock (in
# a working copy, never in the checkout), build that, and say so in a
# "# note:" line: what the tests prove about the image (reproducible, runs
# the runner) they then prove about today's resolution.  Only the
# comparison with images/lock.json needs the pinned versions.
#
# Images are built once per test run: run-integration.sh exports
# OHR_TEST_SHARED, a directory every test of one `make check` shares; a test
# run on its own uses its own.

: "${OHR_TEST_SHARED:=$T/shared}"
mkdir -p "$OHR_TEST_SHARED"

# copy_images DEST: a working copy of images/ (definitions, tools, lock.json;
# without built output).
copy_images() {
  mkdir -p "$1"
  tar -C "${IMAGES_SRC:-$TOP/images}" --exclude=./out -cf - . | tar -C "$1" -xf -
}

# build_image WC NAME OUTDIR LOG: build images/NAME of the working copy WC
# into OUTDIR.  Sets IMAGE_DIGEST, and IMAGE_FALLBACK to the one-line
# reason when the pins were gone and a fresh resolution was built instead
# (WC's packages.lock is then that resolution).  Returns non-zero, with
# the log's end on stderr, when either build fails.
build_image() {
  local wc=$1 name=$2 out=$3 log=$4 rc=0
  IMAGE_DIGEST="" IMAGE_FALLBACK=""
  IMAGE_DIGEST=$("$wc/build" "$name" "$out" 2>"$log") || rc=$?
  if [ "$rc" -eq 3 ]; then
    IMAGE_FALLBACK=$(grep 'images: error:' "$log" | tail -1 | sed 's/^images: error: //')
    "$wc/resolve" "$name" >>"$log" 2>&1 || { tail -5 "$log" | sed 's/^/# /' >&2; return 1; }
    rc=0
    IMAGE_DIGEST=$("$wc/build" "$name" "$out" 2>>"$log") || rc=$?
  fi
  if [ "$rc" -ne 0 ] || [ "${IMAGE_DIGEST#sha256:}" = "$IMAGE_DIGEST" ]; then
    tail -10 "$log" | sed 's/^/# /' >&2
    return 1
  fi
}

# image_note NAME: the "# note:" line for a fallback build.
image_note() {
  echo "# note: images/$1: the pinned lock cannot be built today ($IMAGE_FALLBACK);" \
    "tested a fresh resolution against today's package lists instead (a temporary lock):" \
    "run images/update-lock $1 to re-pin"
}

# shared_image NAME: build images/NAME once per test run (under a lock, so
# concurrent tests wait for one build) and set SHARED_LAYOUT and
# SHARED_DIGEST.  A fallback prints its note in every test that uses it.
shared_image() {
  local name=$1 d=$OHR_TEST_SHARED/images
  mkdir -p "$d"
  (
    flock 9
    [ -f "$d/$name.digest" ] && exit 0
    rm -rf "$d/$name.wc" "$d/$name"
    copy_images "$d/$name.wc"
    build_image "$d/$name.wc" "$name" "$d/$name" "$d/$name.log" || exit 1
    [ -z "$IMAGE_FALLBACK" ] || image_note "$name" >"$d/$name.note"
    echo "$IMAGE_DIGEST" >"$d/$name.digest.tmp"
    mv "$d/$name.digest.tmp" "$d/$name.digest"
  ) 9>"$d/$name.lock" || return 1
  SHARED_LAYOUT=$d/$name
  SHARED_DIGEST=$(cat "$d/$name.digest")
  [ ! -f "$d/$name.note" ] || cat "$d/$name.note"
}
