// Build script of the corpus crate itself. It exercises the `links`
// metadata channel: cargo passes DEP_<LINKS>_<KEY> variables, produced by
// the build scripts of our -sys dependencies, to this script only. A runner
// that drops or mangles them makes main.rs report a mismatch.
use std::env;

fn forward(var: &str) {
    println!("cargo:rerun-if-env-changed={}", var);
    let v = env::var(var).unwrap_or_else(|_| "<unset>".to_string());
    println!("cargo:rustc-env=OHR_{}={}", var, v);
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rustc-check-cfg=cfg(ohr_dep_openssl)");
    // openssl-sys: `cargo:version_number=30000130` (hex OPENSSL_VERSION_NUMBER)
    forward("DEP_OPENSSL_VERSION_NUMBER");
    // libudev-sys: `cargo:hwdb=true|false` from its rustc link probe
    forward("DEP_LIBUDEV_HWDB");
    if env::var("DEP_OPENSSL_VERSION_NUMBER").is_ok() {
        println!("cargo:rustc-cfg=ohr_dep_openssl");
    }
}
