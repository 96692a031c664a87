// Memory hog, bounded: 64 MiB at a time, every page touched, up to 1 GiB,
// stopping when an allocation fails.  Progress goes to result.txt after
// each step (the last line is what it had when killed).  At the cap it
// holds the memory until something kills it (the timeout), 60 s at most.
include!("../common.rs");

extern "C" {
    fn sleep(s: u32) -> u32;
}

const STEP: usize = 64 << 20;
const CAP: usize = 1 << 30;

fn main() {
    esc::start();
    esc::set_name("ohr-esc-hog");
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut total = 0;
    while total < CAP {
        let mut v: Vec<u8> = Vec::new();
        if let Err(e) = v.try_reserve_exact(STEP) {
            esc::report(&format!("blocked: allocation failed at {} MiB: {e}", total >> 20));
            return;
        }
        v.resize(STEP, 0);
        for i in (0..STEP).step_by(4096) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
        chunks.push(v);
        total += STEP;
        esc::report(&format!("info: holding {} MiB", total >> 20));
    }
    esc::report(&format!("ESCAPED: holding {} MiB (the cap), waiting", total >> 20));
    unsafe { sleep(60) };
    std::hint::black_box(&chunks);
}
