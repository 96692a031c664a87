//! Compiles csrc/add.c into a static library by invoking the C compiler and
//! `ar` directly (the `cc` crate is unavailable offline).

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn run(cmd: &mut Command, what: &str) {
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("cffi: failed to spawn {what} ({cmd:?}): {e}"));
    if !status.success() {
        panic!("cffi: {what} failed with {status}: {cmd:?}");
    }
}

fn main() {
    println!("cargo:rerun-if-changed=csrc/add.c");
    println!("cargo:rerun-if-env-changed=CC");
    println!("cargo:rerun-if-env-changed=AR");

    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR not set"));
    let cc = env::var("CC").unwrap_or_else(|_| "cc".to_string());
    let ar = env::var("AR").unwrap_or_else(|_| "ar".to_string());
    let obj = out_dir.join("add.o");
    let lib = out_dir.join("libohradd.a");

    // Relative source path: Cargo runs build scripts in the package root, and
    // a relative name keeps the object file independent of the checkout path.
    run(
        Command::new(&cc)
            .args(["-c", "-fPIC", "-O2", "csrc/add.c", "-o"])
            .arg(&obj),
        "C compiler",
    );
    // A stale archive could keep old members around; start from scratch.
    let _ = std::fs::remove_file(&lib);
    run(Command::new(&ar).arg("crs").arg(&lib).arg(&obj), "ar");

    println!("cargo:rustc-link-search=native={}", out_dir.display());
    println!("cargo:rustc-link-lib=static=ohradd");
}
