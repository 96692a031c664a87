// mount(2) and friends, only ever on OUT_DIR/mnt (the script's own output
// directory) or as a remount/umount of the read-only <target>/debug/build,
// never anywhere else.  Once without capabilities, then again from a nested user
// and mount namespace the script creates itself (unshare(CLONE_NEWUSER),
// which gives it every capability over namespaces it owns).  Anything that
// mounts is unmounted at once; a write through a remounted read-only tree
// goes to a file the test looks for and removes.  (Lines name OUT_DIR and
// <target>/debug/build, not their paths: with canonical paths the runner
// refuses container paths written into OUT_DIR.)
include!("../common.rs");
use std::ffi::c_void;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

extern "C" {
    fn mount(src: *const i8, target: *const i8, fstype: *const i8, flags: u64, data: *const c_void) -> i32;
    fn umount2(target: *const i8, flags: i32) -> i32;
    fn unshare(flags: i32) -> i32;
    fn fork() -> i32;
    fn waitpid(pid: i32, status: *mut i32, options: i32) -> i32;
    fn _exit(code: i32) -> !;
    fn name_to_handle_at(dirfd: i32, path: *const i8, h: *mut u8, mount_id: *mut i32, flags: i32) -> i32;
    fn open_by_handle_at(mount_fd: i32, h: *mut u8, flags: i32) -> i32;
}

const MS_RDONLY: u64 = 1;
const MS_REMOUNT: u64 = 32;
const MS_BIND: u64 = 4096;
const MS_REC: u64 = 16384;
const MNT_DETACH: i32 = 2;
const CLONE_NEWNS: i32 = 0x0002_0000;
const CLONE_NEWUSER: i32 = 0x1000_0000;

fn try_mount(src: &str, target: &Path, fstype: &str, flags: u64) -> Result<(), std::io::Error> {
    let (s, t, f) = (esc::cstr(src), esc::cstr(target.to_str().unwrap()), esc::cstr(fstype));
    let r = unsafe {
        mount(
            if src.is_empty() { std::ptr::null() } else { s.as_ptr() },
            t.as_ptr(),
            if fstype.is_empty() { std::ptr::null() } else { f.as_ptr() },
            flags,
            std::ptr::null(),
        )
    };
    if r == 0 { Ok(()) } else { Err(esc::errno()) }
}

fn undo(target: &Path) {
    let t = esc::cstr(target.to_str().unwrap());
    unsafe { umount2(t.as_ptr(), MNT_DETACH) };
}

/// <target>/debug/build, read-only in the container: OUT_DIR/../.. with
/// identity and canonical paths alike (/cargo/target/debug/build).  Never
/// `/` or anything outside the test's tree.
fn ro_build_dir() -> std::path::PathBuf {
    let out = esc::out_dir();
    let up = out.parent().and_then(Path::parent).map(Path::to_path_buf);
    match up {
        Some(b) if b.file_name().is_some_and(|n| n == "build") => b,
        _ => std::path::PathBuf::from("/cargo/target/debug/build"),
    }
}

/// The attempts; `say` gets one line each.
fn attempts(say: &mut dyn FnMut(String), nested: bool) {
    let out = esc::out_dir();
    let mnt = out.join("mnt");
    let build = ro_build_dir();
    let tag = |ok: bool| if ok { if nested { "info" } else { "ESCAPED" } } else { "blocked" };
    match try_mount("tmpfs", &mnt, "tmpfs", 0) {
        Ok(()) => {
            say(format!("{}: mount tmpfs on OUT_DIR/mnt: mounted", tag(true)));
            undo(&mnt);
        }
        Err(e) => say(format!("blocked: mount tmpfs on OUT_DIR/mnt: {e}")),
    }
    match try_mount("/", &mnt, "", MS_BIND | MS_REC) {
        Ok(()) => {
            say(format!("{}: bind mount / on OUT_DIR/mnt: mounted", tag(true)));
            undo(&mnt);
        }
        Err(e) => say(format!("blocked: bind mount / on OUT_DIR/mnt: {e}")),
    }
    for fs in ["proc", "sysfs"] {
        match try_mount(fs, &mnt, fs, 0) {
            Ok(()) => {
                say(format!("ESCAPED: mount {fs} on OUT_DIR/mnt: mounted"));
                undo(&mnt);
            }
            Err(e) => say(format!("blocked: mount {fs} on OUT_DIR/mnt: {e}")),
        }
    }
    if !build.is_dir() || build == Path::new("/") {
        say("info: no read-only <target>/debug/build here".into());
        return;
    }
    match try_mount("", &build, "", MS_REMOUNT | MS_BIND) {
        Ok(()) => {
            let probe = build.join("escaped-mount.txt");
            let w = std::fs::write(&probe, "written through a remount\n");
            say(format!("ESCAPED: remount <target>/debug/build read-write: done; write: {w:?}"));
            let _ = try_mount("", &build, "", MS_REMOUNT | MS_BIND | MS_RDONLY);
        }
        Err(e) => say(format!("blocked: remount <target>/debug/build read-write: {e}")),
    }
    let b = esc::cstr(build.to_str().unwrap());
    if unsafe { umount2(b.as_ptr(), MNT_DETACH) } == 0 {
        say("ESCAPED: umount <target>/debug/build: done".into());
    } else {
        say(format!("blocked: umount <target>/debug/build: {}", esc::errno()));
    }
}

/// The "shocker" escape: open a host file by handle (CAP_DAC_READ_SEARCH).
fn shocker(say: &mut dyn FnMut(String)) {
    let mut h = [0u8; 136];
    h[..4].copy_from_slice(&128u32.to_ne_bytes());
    let mut mount_id = 0;
    let out = esc::cstr(esc::out_dir().to_str().unwrap());
    if unsafe { name_to_handle_at(-100, out.as_ptr(), h.as_mut_ptr(), &mut mount_id, 0) } != 0 {
        say(format!("blocked: name_to_handle_at(OUT_DIR): {}", esc::errno()));
        return;
    }
    let dir = std::fs::File::open(esc::out_dir()).unwrap();
    let fd = unsafe { open_by_handle_at(std::os::fd::AsRawFd::as_raw_fd(&dir), h.as_mut_ptr(), 0) };
    if fd >= 0 {
        say("ESCAPED: open_by_handle_at: opened a file by handle".into());
    } else {
        say(format!("blocked: open_by_handle_at: {}", esc::errno()));
    }
}

fn main() {
    esc::start();
    let mnt = esc::out_dir().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    attempts(&mut |l| esc::report(&l), false);
    shocker(&mut |l| esc::report(&l));

    // Again from a nested user + mount namespace, in a child (a process
    // whose uid has no mapping there cannot create files in OUT_DIR).
    let (mut rd, mut wr) = UnixStream::pair().unwrap();
    let pid = unsafe { fork() };
    if pid == 0 {
        drop(rd);
        let mut say = |l: String| {
            let _ = writeln!(wr, "{l}");
        };
        if unsafe { unshare(CLONE_NEWUSER | CLONE_NEWNS) } != 0 {
            say(format!("blocked: unshare(CLONE_NEWUSER|CLONE_NEWNS): {}", esc::errno()));
        } else {
            say("info: unshare(CLONE_NEWUSER|CLONE_NEWNS): allowed".into());
            attempts(&mut say, true);
        }
        drop(wr);
        unsafe { _exit(0) };
    }
    drop(wr);
    let _ = rd.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    for line in BufReader::new(&mut rd).lines().map_while(Result::ok) {
        esc::report(&format!("nested {line}"));
    }
    unsafe { waitpid(pid, std::ptr::null_mut(), 0) };
}
