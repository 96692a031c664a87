#[cfg(ohr_mode = "a")]
const MODE: &str = "a";
#[cfg(ohr_mode = "b")]
const MODE: &str = "b";
#[cfg(not(any(ohr_mode = "a", ohr_mode = "b")))]
compile_error!("cfgprobe: build.rs did not set cfg(ohr_mode)");

fn main() {
    println!(
        "cfgprobe: fast={} mode={MODE} built_by={}",
        cfg!(ohr_fast),
        env!("CFGPROBE_BUILT_BY")
    );
}
