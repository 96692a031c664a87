//! Generates a C header in OUT_DIR and publishes its location and a version
//! to dependents through `links` metadata.

use std::env;
use std::fs;
use std::path::PathBuf;

const VERSION: &str = "1.2.3";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");

    let include = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR not set")).join("include");
    fs::create_dir_all(&include).expect("cannot create include dir");
    let header = format!("/* ohr provider header */\n#define OHR_PROVIDER_VERSION \"{VERSION}\"\n");
    fs::write(include.join("provider.h"), header).expect("cannot write provider.h");

    // Deliberately use both syntaxes: the legacy single-colon form (any
    // unknown key is metadata) and the explicit `cargo::metadata=` form.
    println!("cargo:include={}", include.display());
    println!("cargo::metadata=version={VERSION}");
}
