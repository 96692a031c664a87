// The user's secrets: reads ~/.ssh/id_rsa, ~/.cargo/credentials.toml,
// ~/.docker/config.json under $HOME, under the host home the test names
// (OHR_ESC_HOSTHOME, as a script guessing it would) and under /root; writes
// a .bashrc line into both homes.  Any secret it reads lands in result.txt,
// where the test looks for it.
include!("../common.rs");
use std::fs;
use std::io::Write;
use std::path::PathBuf;

fn main() {
    esc::start();
    let mut homes = vec![std::env::var("HOME").unwrap_or_default(), esc::var("OHR_ESC_HOSTHOME")];
    homes.push("/root".into());
    esc::report(&format!("info: HOME={}", homes[0]));
    for home in &homes {
        for rel in [".ssh/id_rsa", ".cargo/credentials.toml", ".docker/config.json"] {
            let p = PathBuf::from(home).join(rel);
            match fs::read_to_string(&p) {
                Ok(s) => esc::report(&format!("ESCAPED: read {}: {s}", p.display())),
                Err(e) => esc::report(&format!("blocked: read {}: {e}", p.display())),
            }
        }
    }
    // the environment a script sees: no secret either
    for (k, v) in std::env::vars() {
        if v.contains("secret-marker") || k.contains("TOKEN") {
            esc::report(&format!("ESCAPED: env {k}={v}"));
        }
    }
    for home in &homes[..2] {
        let p = PathBuf::from(home).join(".bashrc");
        let r = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .and_then(|mut f| f.write_all(b"echo ESCAPED-bashrc\n"));
        match r {
            Ok(()) => esc::report(&format!("info: append to {}: accepted inside", p.display())),
            Err(e) => esc::report(&format!("blocked: append to {}: {e}", p.display())),
        }
    }
}
