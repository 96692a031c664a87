// setuid escalation.  The test installs, in this package's source, a
// setuid-root copy of a probe (probe-setuid) and one with file
// capabilities cap_dac_override,cap_dac_read_search+ep (probe-fcaps), and a
// file owned by nobody, mode 0600 (secret-nobody.txt).  Contained: each
// probe runs with euid == uid, no effective capability, and cannot read the
// file.  Then the script plants setuid/setgid files in OUT_DIR, which the
// host keeps (harmless here: shell scripts, whose setuid bit the kernel
// ignores; the test checks the modes and removes them).
include!("../common.rs");
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

fn main() {
    esc::start();
    let dir = esc::manifest_dir();
    for probe in ["probe-setuid", "probe-fcaps"] {
        match Command::new(dir.join(probe)).output() {
            Ok(o) => {
                let out = String::from_utf8_lossy(&o.stdout).trim().to_string();
                let f = |k: &str| {
                    out.split_whitespace()
                        .find_map(|w| w.strip_prefix(k))
                        .unwrap_or("?")
                        .to_string()
                };
                let escaped = f("uid=") != f("euid=")
                    || f("capeff=").trim_start_matches('0') != ""
                    || f("read=").starts_with("ok");
                esc::report(&format!(
                    "{}: {probe}: {out}{}",
                    if escaped { "ESCAPED" } else { "blocked" },
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
            Err(e) => esc::report(&format!("blocked: exec {probe}: {e}")),
        }
    }
    for (name, mode) in [("planted-setuid.sh", 0o4755), ("planted-setgid.sh", 0o2755)] {
        let p = esc::out_dir().join(name);
        let r = fs::write(&p, "#!/bin/sh\necho planted by a build script\n")
            .and_then(|()| fs::set_permissions(&p, fs::Permissions::from_mode(mode)));
        let got = fs::metadata(&p).map(|m| m.permissions().mode() & 0o7777).unwrap_or(0);
        match r {
            Ok(()) => esc::report(&format!("info: chmod {mode:o} OUT_DIR/{name}: accepted, mode now {got:o}")),
            Err(e) => esc::report(&format!("blocked: chmod {mode:o} OUT_DIR/{name}: {e}")),
        }
    }
}
