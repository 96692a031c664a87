// ptrace(2) and friends against a host process (its host PID passed as
// OHR_ESC_TARGET_PID): PTRACE_ATTACH, PTRACE_SEIZE, process_vm_readv,
// pidfd_open, kill(0) and SIGSTOP.  A successful attach is undone at once
// (detach); a SIGSTOP that lands is left for the test to see (the target
// is the test's own `sleep`: harmless) and resumed by it.
include!("../common.rs");
use std::ffi::c_void;

#[repr(C)]
struct IoVec {
    base: *mut c_void,
    len: usize,
}

extern "C" {
    fn ptrace(req: i64, pid: i32, addr: *mut c_void, data: *mut c_void) -> i64;
    fn kill(pid: i32, sig: i32) -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn process_vm_readv(pid: i32, l: *const IoVec, ln: u64, r: *const IoVec, rn: u64, f: u64) -> isize;
    fn syscall(n: i64, ...) -> i64;
}

const PTRACE_ATTACH: i64 = 16;
const PTRACE_DETACH: i64 = 17;
const PTRACE_SEIZE: i64 = 0x4206;
const SIGSTOP: i32 = 19;
const SYS_PIDFD_OPEN: i64 = 434;

fn main() {
    esc::start();
    let pid: i32 = esc::var("OHR_ESC_TARGET_PID").parse().unwrap();
    let null = std::ptr::null_mut();
    for (name, req) in [("PTRACE_ATTACH", PTRACE_ATTACH), ("PTRACE_SEIZE", PTRACE_SEIZE)] {
        if unsafe { ptrace(req, pid, null, null) } == 0 {
            esc::report(&format!("ESCAPED: ptrace({name}, {pid}) worked"));
            unsafe {
                if req == PTRACE_ATTACH {
                    waitpid(pid, std::ptr::null_mut(), 0x40000000 /* __WALL */);
                }
                ptrace(PTRACE_DETACH, pid, null, null);
            }
        } else {
            esc::report(&format!("blocked: ptrace({name}, {pid}): {}", esc::errno()));
        }
    }
    let mut buf = [0u8; 8];
    let local = IoVec { base: buf.as_mut_ptr() as *mut c_void, len: 8 };
    let remote = IoVec { base: 0x400000 as *mut c_void, len: 8 };
    if unsafe { process_vm_readv(pid, &local, 1, &remote, 1, 0) } >= 0 {
        esc::report(&format!("ESCAPED: process_vm_readv({pid}) read {buf:?}"));
    } else {
        let e = esc::errno();
        // EFAULT/EIO: the process was found, only the address was bad
        let tag = if e.raw_os_error() == Some(3) || e.raw_os_error() == Some(1) { "blocked" } else { "ESCAPED" };
        esc::report(&format!("{tag}: process_vm_readv({pid}): {e}"));
    }
    let fd = unsafe { syscall(SYS_PIDFD_OPEN, pid as i64, 0i64) };
    if fd >= 0 {
        esc::report(&format!("ESCAPED: pidfd_open({pid}) = {fd}"));
    } else {
        esc::report(&format!("blocked: pidfd_open({pid}): {}", esc::errno()));
    }
    if unsafe { kill(pid, 0) } == 0 {
        esc::report(&format!("ESCAPED: kill({pid}, 0): the process is visible"));
    } else {
        esc::report(&format!("blocked: kill({pid}, 0): {}", esc::errno()));
    }
    if unsafe { kill(pid, SIGSTOP) } == 0 {
        esc::report(&format!("ESCAPED: kill({pid}, SIGSTOP) worked"));
    } else {
        esc::report(&format!("blocked: kill({pid}, SIGSTOP): {}", esc::errno()));
    }
}
