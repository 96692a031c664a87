//! Reads the `links` metadata published by links-provider and forwards it to
//! the binary, checking that the advertised header really exists.

use std::env;
use std::fs;
use std::path::Path;

fn dep_var(name: &str) -> String {
    env::var(name).unwrap_or_else(|_| panic!("links-consumer: {name} not set by links-provider"))
}

fn main() {
    // DEP_* changes already trigger a rerun via the dependency; this only
    // stops Cargo from rerunning on every unrelated file edit.
    println!("cargo:rerun-if-changed=build.rs");

    let version = dep_var("DEP_OHRPROVIDER_VERSION");
    let include = dep_var("DEP_OHRPROVIDER_INCLUDE");
    let header = Path::new(&include).join("provider.h");
    let text = fs::read_to_string(&header)
        .unwrap_or_else(|e| panic!("links-consumer: cannot read {}: {e}", header.display()));
    // Forward only the first line: the include path differs per checkout.
    let first_line = text.lines().next().unwrap_or_default();

    println!("cargo:rustc-env=PROVIDER_VERSION={version}");
    println!("cargo:rustc-env=PROVIDER_HEADER_LINE={first_line}");
}
