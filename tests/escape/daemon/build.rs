// A daemon that outlives the build script: double fork, setsid, SIGTERM
// ignored, named ohr-esc-daemon, sleeping 30 s at most; the script itself
// exits 0 at once.  Contained: no such process is left when Cargo is done.
include!("../common.rs");

extern "C" {
    fn fork() -> i32;
    fn setsid() -> i32;
    fn signal(sig: i32, handler: usize) -> usize;
    fn sleep(s: u32) -> u32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn close(fd: i32) -> i32;
    fn _exit(code: i32) -> !;
}

fn main() {
    esc::start();
    let pid = unsafe { fork() };
    if pid == 0 {
        unsafe {
            setsid();
            if fork() != 0 {
                _exit(0);
            }
            signal(15, 1);
            signal(1, 1);
            // let go of Cargo's pipes, as a daemon would
            for fd in 0..3 {
                close(fd);
            }
        }
        esc::set_name("ohr-esc-daemon");
        unsafe {
            sleep(30);
            _exit(0)
        }
    }
    unsafe { waitpid(pid, std::ptr::null_mut(), 0) };
    esc::report("info: daemon started, script exits");
}
