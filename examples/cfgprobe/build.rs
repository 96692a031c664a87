//! Sets custom cfgs from the environment, declaring them for check-cfg so
//! rustc does not warn about unexpected cfg names/values.

use std::env;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(ohr_fast)");
    println!("cargo::rustc-check-cfg=cfg(ohr_mode, values(\"a\", \"b\"))");
    // The only input; also disables the default "rerun on any file change".
    println!("cargo::rerun-if-env-changed=OHR_EXAMPLE_MODE");

    let mode = env::var("OHR_EXAMPLE_MODE").unwrap_or_else(|_| "a".to_string());
    if mode != "a" && mode != "b" {
        panic!("cfgprobe: OHR_EXAMPLE_MODE must be \"a\" or \"b\", got {mode:?}");
    }

    println!("cargo::rustc-cfg=ohr_fast");
    println!("cargo::rustc-cfg=ohr_mode=\"{mode}\"");
    println!("cargo::warning=cfgprobe: mode {mode}");
    println!("cargo::rustc-env=CFGPROBE_BUILT_BY=build.rs");
}
