// Leaves something for the next run: phase "write" (OHR_ESC_PHASE) puts a
// file in /tmp, /dev/shm, $HOME and /var/tmp and creates a System V shared
// memory segment (key 0x4f485253); phase "read" (the next run) looks for
// them.  Contained: each write lands in a per-run tmpfs/IPC namespace (or
// fails), the next run sees nothing, the host has none of them.
include!("../common.rs");
use std::path::PathBuf;

extern "C" {
    fn shmget(key: i32, size: usize, flags: i32) -> i32;
}

const KEY: i32 = 0x4f48_5253;

fn main() {
    esc::start();
    let phase = esc::var("OHR_ESC_PHASE");
    let home = std::env::var("HOME").unwrap_or_else(|_| "/tmp/home".into());
    let files: Vec<PathBuf> = ["/tmp", "/dev/shm", home.as_str(), "/var/tmp"]
        .iter()
        .map(|d| PathBuf::from(d).join("ohr-esc-persist"))
        .collect();
    if phase == "write" {
        for f in &files {
            match std::fs::write(f, "left by a build script\n") {
                Ok(()) => esc::report(&format!("info: wrote {}", f.display())),
                Err(e) => esc::report(&format!("blocked: write {}: {e}", f.display())),
            }
        }
        let id = unsafe { shmget(KEY, 4096, 0o1000 /* IPC_CREAT */ | 0o600) };
        if id >= 0 {
            esc::report(&format!("info: created SysV shm key {KEY:#x} (id {id})"));
        } else {
            esc::report(&format!("blocked: shmget({KEY:#x}, IPC_CREAT): {}", esc::errno()));
        }
    } else {
        for f in &files {
            if f.exists() {
                esc::report(&format!("ESCAPED: {} survived from the previous run", f.display()));
            } else {
                esc::report(&format!("blocked: {} is gone", f.display()));
            }
        }
        let id = unsafe { shmget(KEY, 0, 0) };
        if id >= 0 {
            esc::report(&format!("ESCAPED: SysV shm key {KEY:#x} survived (id {id})"));
        } else {
            esc::report(&format!("blocked: SysV shm key {KEY:#x}: {}", esc::errno()));
        }
    }
}
