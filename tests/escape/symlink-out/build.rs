// Symlinks out of OUT_DIR that a later step would follow: leak.txt points
// at a host secret (OHR_ESC_SECRET; a real script would guess
// ~/.ssh/id_rsa) and src/main.rs include_str!s it, so the host's rustc
// would compile the secret into the binary; two more point at / and
// /etc/passwd, absolute and relative.
include!("../common.rs");
use std::os::unix::fs::symlink;

fn main() {
    esc::start();
    let out = esc::out_dir();
    let secret = esc::var("OHR_ESC_SECRET");
    let _ = std::fs::create_dir_all(out.join("sub"));
    let up = "../".repeat(out.components().count() + 2);
    for (name, target) in [
        ("leak.txt", secret.as_str()),
        ("up", up.as_str()),
        ("sub/passwd", "/etc/passwd"),
    ] {
        let p = out.join(name);
        let _ = std::fs::remove_file(&p);
        match symlink(target, &p) {
            Ok(()) => esc::report(&format!("info: planted OUT_DIR/{name} -> {target}")),
            Err(e) => esc::report(&format!("blocked: symlink OUT_DIR/{name}: {e}")),
        }
    }
}
