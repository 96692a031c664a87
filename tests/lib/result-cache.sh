# result-cache.sh: helpers for the result cache's tests (sourced after
# libtest.sh): checkouts of tests/fixtures/cache, the -v line of a
# package's script, and a snapshot of every OUT_DIR.

FIX=$TOP/tests/fixtures/cache

# A checkout of the fixture at DIR.
checkout() {
  mkdir -p "$1"
  cp -r "$FIX/." "$1/"
}

# What the script of package PKG got from the cache in checkout DIR: hit,
# miss or off (its -v line).
cache_line() { # dir pkg
  cat "$1"/target/debug/build/"$2"-*/stderr 2>/dev/null | sed -n 's/^oci-host-runner: result-cache: //p'
}

expect_cache() { # dir pkg regex
  local line
  line=$(cache_line "$1" "$2")
  if [[ "$line" =~ $3 ]]; then return 0; fi
  echo "# $2 in $1: expected /$3/, got '$line'" >&2
  return 1
}

# Every OUT_DIR entry by package: type, mode, link target, sha256.
out_snapshot() { # target_dir
  local d n
  for d in "$1"/debug/build/*/out; do
    n=$(basename "$(dirname "$d")")
    (cd "$d" && find . -mindepth 1 -printf '%P %y %m %l\n' | sort | while read -r p y m l; do
      h=-
      [ "$y" = f ] && h=$(sha256sum <"$p" | cut -d' ' -f1)
      echo "${n%-*} $p $y $m $l $h"
    done)
  done | sort
}
