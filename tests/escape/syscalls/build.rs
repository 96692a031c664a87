// The kernel surface the seccomp profile closes, one raw syscall() each
// (bubblewrap's tests/try-syscall.c is the model).  Every call is made with
// arguments that do nothing even when the call gets through: a path that
// does not exist, fd -1, a NULL buffer, a query, a key type that does not
// exist, an unshare() in a child that exits at once.  What the kernel
// answered goes to result.txt as "info: syscall NAME: ERRNO" (or "ok"),
// and tests/integration/test-seccomp.sh compares each line with what the
// profile answers (ENOSYS, EPERM) and, under a policy that relaxes it, with
// what the kernel answers without a filter.  x86_64 numbers only.
include!("../common.rs");

extern "C" {
    fn syscall(n: i64, ...) -> i64;
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
    fn close(fd: i32) -> i32;
    fn getpid() -> i32;
}

const CLONE_NEWNS: i64 = 0x0002_0000;
const CLONE_NEWUSER: i64 = 0x1000_0000;
const CLONE_NEWNET: i64 = 0x4000_0000;
const CLONE_FILES: i64 = 0x0000_0400;
const SIGCHLD: i64 = 17;
const ADDR_NO_RANDOMIZE: i64 = 0x0040000;
const AT_FDCWD: i64 = -100;

fn errname(e: i32) -> String {
    let name = match e {
        1 => "EPERM",
        2 => "ENOENT",
        3 => "ESRCH",
        9 => "EBADF",
        12 => "ENOMEM",
        13 => "EACCES",
        14 => "EFAULT",
        19 => "ENODEV",
        22 => "EINVAL",
        38 => "ENOSYS",
        95 => "EOPNOTSUPP",
        126 => "ENOKEY",
        _ => return format!("errno {e}"),
    };
    name.to_string()
}

/// The outcome of one call: "ok" or the errno's name.
fn outcome(r: i64) -> (String, i64) {
    if r >= 0 {
        ("ok".to_string(), r)
    } else {
        (errname(esc::errno().raw_os_error().unwrap_or(0)), r)
    }
}

fn say(name: &str, r: i64) -> i64 {
    let (what, v) = outcome(r);
    esc::report(&format!("info: syscall {name}: {what}"));
    v
}

/// A call that could change the process (a new namespace): made in a
/// child that exits at once with 0 or the errno.
fn in_child(name: &str, f: fn() -> i64) {
    let pid = unsafe { fork() };
    if pid == 0 {
        let r = f();
        let e = if r < 0 { esc::errno().raw_os_error().unwrap_or(255) } else { 0 };
        unsafe { _exit(e) };
    }
    let mut status = 0;
    unsafe { waitpid(pid, &mut status, 0) };
    let code = (status >> 8) & 0xff;
    let what = if status & 0x7f != 0 {
        format!("killed by signal {}", status & 0x7f)
    } else if code == 0 {
        "ok".to_string()
    } else {
        errname(code)
    };
    esc::report(&format!("info: syscall {name}: {what}"));
}

fn main() {
    esc::start();
    if !cfg!(target_arch = "x86_64") {
        esc::report("info: not x86_64: no syscall probed");
        return;
    }
    let null = std::ptr::null::<u8>();
    let nowhere = esc::cstr("/ohr-nonexistent");
    let bad_type = esc::cstr("ohr-no-such-key-type");
    let x = esc::cstr("x");
    let empty = esc::cstr("");
    let me = unsafe { getpid() } as i64;
    unsafe {
        // keyrings (ENOSYS)
        say("add_key", syscall(248, bad_type.as_ptr(), x.as_ptr(), null, 0i64, -3i64));
        say("request_key", syscall(249, bad_type.as_ptr(), x.as_ptr(), null, 0i64));
        say("keyctl", syscall(250, 0i64 /* GET_KEYRING_ID */, -3i64 /* session */, 0i64));
        // io_uring (ENOSYS)
        let fd = say("io_uring_setup", syscall(425, 0i64, null));
        if fd >= 0 {
            close(fd as i32);
        }
        say("io_uring_enter", syscall(426, -1i64, 0i64, 0i64, 0i64, null, 0i64));
        say("io_uring_register", syscall(427, -1i64, 0i64, null, 0i64));
        // clone3 (ENOSYS: libc falls back to clone)
        say("clone3", syscall(435, null, 0i64));
        // EPERM
        let fd = say("userfaultfd", syscall(323, 1i64 /* UFFD_USER_MODE_ONLY */ | 0o2000000));
        if fd >= 0 {
            close(fd as i32);
        }
        say("perf_event_open", syscall(298, null, 0i64, -1i64, -1i64, 0i64));
        say("bpf", syscall(321, 0i64, null, 0i64));
        say("kexec_load", syscall(246, 0i64, 0i64, null, 0i64));
        say("kexec_file_load", syscall(320, -1i64, -1i64, 0i64, null, 0i64));
        say("open_by_handle_at", syscall(304, -1i64, null, 0i64));
        say("mount", syscall(165, null, nowhere.as_ptr(), null, 0i64, null));
        say("umount2", syscall(166, nowhere.as_ptr(), 0i64));
        say("pivot_root", syscall(155, nowhere.as_ptr(), nowhere.as_ptr()));
        say("swapon", syscall(167, nowhere.as_ptr(), 0i64));
        say("reboot", syscall(169, 0i64, 0i64, 0i64, null));
        say("init_module", syscall(175, null, 0i64, empty.as_ptr()));
        say("finit_module", syscall(313, -1i64, empty.as_ptr(), 0i64));
        say("setns", syscall(308, -1i64, 0i64));
        say("chroot", syscall(161, nowhere.as_ptr()));
        say("ptrace", syscall(101, 2i64 /* PEEKDATA */, 0x3fff_fff0i64, 0i64, 0i64));
        say("process_vm_readv", syscall(310, me, null, 0i64, null, 0i64, 0i64));
        say("kcmp", syscall(312, me, me, 0i64 /* KCMP_FILE */, 0i64, 0i64));
        say("settimeofday", syscall(164, null, null));
        say("clock_settime", syscall(227, 0i64, null));
        say("iopl", syscall(172, 0i64));
        say("get_mempolicy", syscall(239, null, null, 0i64, null, 0i64));
        say("vmsplice", syscall(278, -1i64, null, 0i64, 0i64));
        say("fsopen", syscall(430, bad_type.as_ptr(), 0i64));
        say("open_tree", syscall(428, AT_FDCWD, nowhere.as_ptr(), 0i64));
        say("mount_setattr", syscall(442, -1i64, empty.as_ptr(), 0i64, null, 0i64));
        say("sethostname", syscall(170, null, 0i64));
        say("acct", syscall(163, null));
        // personality: ADDR_NO_RANDOMIZE refused, the query allowed; a
        // change that got through is undone at once
        let old = syscall(135, 0xffff_ffffi64);
        say("personality(0xffffffff)", old);
        if say("personality(ADDR_NO_RANDOMIZE)", syscall(135, ADDR_NO_RANDOMIZE)) >= 0 {
            syscall(135, old);
        }
    }
    // namespaces, each in a child that exits at once
    in_child("unshare(CLONE_NEWUSER)", || unsafe { syscall(272, CLONE_NEWUSER) });
    in_child("unshare(CLONE_NEWUSER|CLONE_NEWNS|CLONE_NEWNET)", || unsafe {
        syscall(272, CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET)
    });
    in_child("clone(CLONE_NEWUSER)", || unsafe {
        let r = syscall(56, CLONE_NEWUSER | SIGCHLD, 0i64, 0i64, 0i64, 0i64);
        if r == 0 {
            _exit(0); // the new child
        }
        if r > 0 {
            waitpid(r as i32, std::ptr::null_mut(), 0);
        }
        r
    });
    // what must keep working: unshare without namespace flags, threads
    // and processes (clone3's ENOSYS makes glibc fall back to clone)
    in_child("unshare(CLONE_FILES)", || unsafe { syscall(272, CLONE_FILES) });
    let thread = std::thread::spawn(|| 6 * 7).join();
    esc::report(&format!(
        "info: syscall thread: {}",
        if matches!(thread, Ok(42)) { "ok" } else { "failed" }
    ));
    let child = std::process::Command::new("/bin/sh").args(["-c", "exit 7"]).status();
    esc::report(&format!(
        "info: syscall spawn: {}",
        match child.map(|s| s.code()) {
            Ok(Some(7)) => "ok".to_string(),
            other => format!("failed ({other:?})"),
        }
    ));
}
