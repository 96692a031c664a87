// Fork bomb, bounded: forks children (named ohr-esc-bomb, each sleeping at
// most 60 s, then exiting on its own) until fork fails or it has 2000.
// Fork failing (the pids limit) ends the script; reaching the cap means no
// limit, and it holds its children until something kills it (the timeout).
include!("../common.rs");

extern "C" {
    fn fork() -> i32;
    fn sleep(s: u32) -> u32;
    fn _exit(code: i32) -> !;
}

const CAP: usize = 2000;

fn main() {
    esc::start();
    let mut n = 0;
    let mut err = None;
    while n < CAP {
        match unsafe { fork() } {
            0 => {
                esc::set_name("ohr-esc-bomb");
                unsafe {
                    sleep(60);
                    _exit(0)
                }
            }
            -1 => {
                err = Some(esc::errno());
                break;
            }
            _ => n += 1,
        }
    }
    match err {
        Some(e) => esc::report(&format!("blocked: forked {n} processes, then fork: {e}")),
        None => {
            esc::report(&format!("ESCAPED: forked {n} processes (the cap), holding them"));
            esc::set_name("ohr-esc-bomb");
            unsafe { sleep(60) };
        }
    }
}
