// Not a build script: the tiny program the test compiles and installs as
// setuid root (probe-setuid) and with file capabilities (probe-fcaps) in
// the setuid package's source.  It prints who it runs as and whether it
// can read secret-nobody.txt beside it (owned by nobody, mode 0600).
fn main() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l[k.len()..].split_whitespace().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let uid = field("Uid:");
    let caps = field("CapEff:");
    // only the file beside the executable (as the kernel knows it), never
    // a path from the command line: as setuid root this must not be a tool
    let file = std::env::current_exe().map(|e| e.with_file_name("secret-nobody.txt"));
    let read = match file.and_then(std::fs::read_to_string) {
        Ok(s) => format!("ok:{}", s.trim()),
        Err(e) => format!("err:{e}"),
    };
    println!(
        "uid={} euid={} capeff={} read={read}",
        uid.first().copied().unwrap_or("?"),
        uid.get(1).copied().unwrap_or("?"),
        caps.first().copied().unwrap_or("?")
    );
}
