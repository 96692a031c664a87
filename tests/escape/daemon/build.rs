// A daemon that outlives the build script: double fork, setsid, SIGTERM
// ignored, stdio closed, named ohr-esc-daemon.  It proves it runs: every
// 200 ms (30 s at most) it replaces OUT_DIR/daemon.txt with its pid, the
// run's token (OHR_ESC_TOKEN, from its own environment) and a heartbeat
// count.  The script exits 0 once the first heartbeat is there, so the
// daemon is alive when the script ends.  Contained: after the run no
// process carries the token and the heartbeat has stopped.
include!("../common.rs");

use std::time::Duration;

extern "C" {
    fn fork() -> i32;
    fn setsid() -> i32;
    fn signal(sig: i32, handler: usize) -> usize;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn close(fd: i32) -> i32;
    fn _exit(code: i32) -> !;
}

fn main() {
    esc::start();
    let marker = esc::out_dir().join("daemon.txt");
    let _ = std::fs::remove_file(&marker);
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
        let me = std::process::id();
        let token = std::env::var("OHR_ESC_TOKEN").unwrap_or_default();
        // written aside and renamed: whenever the daemon is killed,
        // daemon.txt holds a whole line
        let tmp = esc::out_dir().join("daemon.txt.tmp");
        for beat in 1..=150 {
            let _ = std::fs::write(&tmp, format!("daemon pid {me} token {token} beat {beat}\n"));
            let _ = std::fs::rename(&tmp, &marker);
            std::thread::sleep(Duration::from_millis(200));
        }
        unsafe { _exit(0) }
    }
    unsafe { waitpid(pid, std::ptr::null_mut(), 0) };
    for _ in 0..500 {
        if marker.exists() {
            esc::report("info: daemon started (OUT_DIR/daemon.txt), script exits");
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    esc::report("info: the daemon wrote no heartbeat within 5 s, script exits");
}
