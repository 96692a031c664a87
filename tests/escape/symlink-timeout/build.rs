// A symlink out of OUT_DIR (leak.txt -> the host secret OHR_ESC_SECRET,
// include_str!d by src/main.rs), then the script outlives its time limit
// (60 s at most): is the link still removed when the run ends in a timeout?
include!("../common.rs");
use std::os::unix::fs::symlink;

extern "C" {
    fn sleep(s: u32) -> u32;
}

fn main() {
    esc::start();
    let p = esc::out_dir().join("leak.txt");
    let secret = esc::var("OHR_ESC_SECRET");
    let _ = std::fs::remove_file(&p);
    match symlink(&secret, &p) {
        Ok(()) => esc::report(&format!("info: planted OUT_DIR/leak.txt -> {secret}, now sleeping")),
        Err(e) => esc::report(&format!("blocked: symlink OUT_DIR/leak.txt: {e}")),
    }
    esc::set_name("ohr-esc-sleep");
    unsafe { sleep(60) };
}
