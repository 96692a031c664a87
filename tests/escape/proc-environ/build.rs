// Another process's secrets through /proc: the environ, cmdline and status
// of a host process (its host PID passed as OHR_ESC_TARGET_PID), then every
// /proc/*/environ the script can see.  Whatever it reads lands in
// result.txt, where the test looks for the secret.
include!("../common.rs");
use std::fs;

fn show(b: &[u8]) -> String {
    String::from_utf8_lossy(b).replace('\0', " ")
}

fn main() {
    esc::start();
    let pid = esc::var("OHR_ESC_TARGET_PID");
    for f in ["environ", "cmdline", "status"] {
        let p = format!("/proc/{pid}/{f}");
        match fs::read(&p) {
            Ok(b) => esc::report(&format!("ESCAPED: read {p}: {}", show(&b[..b.len().min(400)]))),
            Err(e) => esc::report(&format!("blocked: read {p}: {e}")),
        }
    }
    let mut pids = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.bytes().all(|c| c.is_ascii_digit()) {
            pids.push(name);
        }
    }
    esc::report(&format!("info: processes visible in /proc: {}", pids.join(" ")));
    for p in &pids {
        if let Ok(b) = fs::read(format!("/proc/{p}/environ")) {
            let s = show(&b);
            if s.contains("OHR_ESC_HOST_SECRET") {
                esc::report(&format!("ESCAPED: /proc/{p}/environ: {s}"));
            }
        }
    }
}
