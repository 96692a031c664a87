#!/usr/bin/env bash
# Canonical paths and container paths left in OUT_DIR: refused only in
# files a later step reads (src/run/outreach.h).  A script that runs a
# configure-like step leaves build/config.status and a Makefile naming its
# OUT_DIR, as jemalloc-sys does: the build passes, two checkouts give the
# same bytes, and -v says what was kept.  The same script putting the path
# into a header under its exported include directory is refused, naming
# the file, who reads it and the rule.  Real cargo, crun and runc.
. "$(dirname "$0")/../lib/libtest.sh"

export OCI_HOST_RUNNER_STATE_DIR=$T/state OCI_HOST_RUNNER_CACHE_DIR=$T/cache

make_crate() { # dir
  mkdir -p "$1/src"
  cat >"$1/Cargo.toml" <<'TOML'
[package]
name = "ohr-leftovers-probe"
version = "0.1.0"
edition = "2021"
links = "ohrleftovers"

[features]
leak-header = []
TOML
  cat >"$1/build.rs" <<'RS'
use std::{env, fs, path::PathBuf};
fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").unwrap());
    let b = out.join("build");
    fs::create_dir_all(&b).unwrap();
    // what autoconf leaves behind: nobody reads it after the run
    fs::write(b.join("config.status"), format!("ac_pwd='{}'\n", b.display())).unwrap();
    fs::write(b.join("Makefile"), format!("prefix = {}\n", out.display())).unwrap();
    fs::create_dir_all(out.join("include")).unwrap();
    let header = if env::var_os("CARGO_FEATURE_LEAK_HEADER").is_some() {
        format!("#define PROBE_DATA \"{}/share/probe.dat\"\n", out.display())
    } else {
        "#define PROBE_DATA \"probe.dat\"\n".to_string()
    };
    fs::write(out.join("include/probe.h"), header).unwrap();
    fs::write(out.join("gen.rs"), "pub const X: u8 = 7;\n").unwrap();
    println!("cargo:root={}", out.display());
    println!("cargo:include={}/include", out.display());
}
RS
  echo 'include!(concat!(env!("OUT_DIR"), "/gen.rs"));' >"$1/src/lib.rs"
}
A=$T/a/probe
B=$T/b/somewhere/much/deeper/probe
make_crate "$A"
make_crate "$B"

out_sums() { # target_dir
  (cd "$(ls -d "$1"/debug/build/ohr-leftovers-probe-*/out | sed -n 1p)" &&
    find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

for rt in $(runtimes); do
  if cargo_build_runner "$A" "$T/a-$rt" --runtime "$rt" --paths canonical -v; then
    ok "$rt: leftovers with container paths do not refuse the build"
  else
    not_ok "$rt: leftovers with container paths do not refuse the build"
    tail -15 "$T/cargo.out" | sed 's/^/# /'
    continue
  fi
  st=$(ls "$T/a-$rt"/debug/build/ohr-leftovers-probe-*/stderr | sed -n 1p)
  check "$rt: ... they are still in OUT_DIR as the script wrote them" \
    assert_file_has "$(dirname "$st")/out/build/config.status" "^ac_pwd='/cargo/"
  check "$rt: ... -v names them once" \
    assert_file_has "$st" "container paths left in OUT_DIR/build/(Makefile, build/config.status|config.status, build/Makefile), which no later step reads: kept"
  check "$rt: ... in a container" ran_in_container "$T/a-$rt" ohr-leftovers-probe "$rt"
  cargo_build_runner "$B" "$T/b-$rt" --runtime "$rt" --paths canonical \
    || not_ok "$rt: second checkout builds"
  check "$rt: two checkouts leave byte-identical OUT_DIRs, leftovers included" \
    diff <(out_sums "$T/a-$rt") <(out_sums "$T/b-$rt")

  if cargo_build_runner_args "$A" "$T/leak-$rt" "--features leak-header" \
    --runtime "$rt" --paths canonical; then
    not_ok "$rt: a container path in an exported header refuses the build"
  else
    ok "$rt: a container path in an exported header refuses the build"
  fi
  check "$rt: ... naming file:line, who reads it, and the identity rule" \
    assert_file_has "$T/cargo.out" "wrote the container path '/cargo/[^']*' into OUT_DIR/include/probe.h:1, which a later step reads on the host \\(in OUT_DIR.*, which it hands on \\(cargo:(root|include)\\)\\).*\"paths\":\"identity\""
  check "$rt: ... exit 124" assert_file_has "$T/cargo.out" "exit status: 124"
  cargo_build_runner_args "$A" "$T/leak-id-$rt" "--features leak-header" \
    --runtime "$rt" --paths identity \
    && ok "$rt: with identity paths the same script builds" \
    || not_ok "$rt: with identity paths the same script builds"
done
finish
