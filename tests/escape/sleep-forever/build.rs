// Never finishes: ignores SIGTERM and sleeps (120 s at most, so that a
// failure to stop it does not leave it around for long).
include!("../common.rs");

extern "C" {
    fn signal(sig: i32, handler: usize) -> usize;
    fn sleep(s: u32) -> u32;
}

fn main() {
    esc::start();
    esc::set_name("ohr-esc-sleep");
    unsafe { signal(15, 1 /* SIG_IGN */) };
    esc::report("info: sleeping, SIGTERM ignored");
    for _ in 0..120 {
        unsafe { sleep(1) };
    }
    esc::report("ESCAPED: slept 120 s and was never stopped");
}
