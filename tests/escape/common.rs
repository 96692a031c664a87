// Shared by every case's build.rs (`include!("../common.rs")`): what the
// script saw goes to Cargo as a warning and, one line each, to
// OUT_DIR/result.txt, which the test reads from the host.  Lines start with
// "blocked:" (the attempt failed), "ESCAPED:" (it worked) or "info:".
#[allow(dead_code)]
mod esc {
    use std::io::Write;
    use std::path::PathBuf;

    pub fn out_dir() -> PathBuf {
        PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"))
    }

    pub fn manifest_dir() -> PathBuf {
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"))
    }

    /// A value the test passes with the runner's --env.
    pub fn var(name: &str) -> String {
        std::env::var(name).unwrap_or_else(|_| panic!("{name} must be passed with --env"))
    }

    /// Every run starts afresh: the test changes OHR_ESC_NONCE to rerun.
    /// Refuses to attack anything unless it runs under oci-host-runner (its
    /// init is mounted at /dev/.ohr-init): a native build does nothing.
    /// The first line of result.txt is the run's token (OHR_ESC_TOKEN, new
    /// for every build): every process the script starts inherits it in its
    /// environment, which is how the test finds them on the host, and this
    /// line proves they carry it.
    pub fn start() {
        println!("cargo::rerun-if-env-changed=OHR_ESC_NONCE");
        if !std::path::Path::new("/dev/.ohr-init").exists() {
            panic!("escape battery: not inside oci-host-runner's container; refusing to run");
        }
        let _ = std::fs::remove_file(out_dir().join("result.txt"));
        if let Ok(token) = std::env::var("OHR_ESC_TOKEN") {
            report(&format!("info: token {token}"));
        }
    }

    pub fn report(line: &str) {
        let line = line.replace(['\n', '\r'], " ");
        println!("cargo::warning={line}");
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(out_dir().join("result.txt"))
        {
            let _ = writeln!(f, "{line}");
            let _ = f.sync_data();
        }
    }

    pub fn errno() -> std::io::Error {
        std::io::Error::last_os_error()
    }

    /// A C string for the libc calls below.
    pub fn cstr(s: &str) -> std::ffi::CString {
        std::ffi::CString::new(s).unwrap()
    }

    extern "C" {
        fn prctl(option: i32, arg2: *const u8, arg3: u64, arg4: u64, arg5: u64) -> i32;
    }

    /// Name this process (for people looking at ps; the test looks for
    /// leftovers by the token in their environment, see start()).
    pub fn set_name(name: &str) {
        let c = cstr(name);
        unsafe { prctl(15 /* PR_SET_NAME */, c.as_ptr() as *const u8, 0, 0, 0) };
    }
}
