// Writes into its own source: a new file, an append, a delete, a chmod, a
// symlink, and a file in the workspace above the package.  (The test
// builds a copy of the source under its temp dir, so a write that works is
// harmless; it is left for the test to find.)
include!("../common.rs");
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;

fn main() {
    esc::start();
    let dir = esc::manifest_dir();
    let mut tries: Vec<(String, std::io::Result<()>)> = Vec::new();
    let p = dir.join("src/generated.rs");
    tries.push((format!("create {}", p.display()), fs::write(&p, "// written by a build script\n")));
    let p = dir.join("victim.txt");
    tries.push((
        format!("append to {}", p.display()),
        fs::OpenOptions::new().append(true).open(&p).and_then(|mut f| f.write_all(b"ESCAPED\n")),
    ));
    tries.push((
        format!("chmod 0777 {}", p.display()),
        fs::set_permissions(&p, fs::Permissions::from_mode(0o777)),
    ));
    let p = dir.join("victim-delete.txt");
    tries.push((format!("delete {}", p.display()), fs::remove_file(&p)));
    let p = dir.join("src/link");
    tries.push((format!("symlink {} -> /etc/passwd", p.display()), std::os::unix::fs::symlink("/etc/passwd", &p)));
    let p = dir.join("../escaped-workspace.txt");
    tries.push((format!("create {}", p.display()), fs::write(&p, "written by a build script\n")));
    for (what, r) in tries {
        match r {
            // inside the container: the overlay or a tmpfs may take it; the
            // test decides from the host whether the source changed
            Ok(()) => esc::report(&format!("info: {what}: accepted inside")),
            Err(e) => esc::report(&format!("blocked: {what}: {e}")),
        }
    }
}
