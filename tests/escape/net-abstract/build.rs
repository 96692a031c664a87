// An abstract unix socket (no file, scoped to the network namespace) the
// test listens on from the host: @NAME.
include!("../common.rs");
use std::io::Write;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixStream};

fn main() {
    esc::start();
    let name = esc::var("OHR_ESC_ABSTRACT");
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
    match UnixStream::connect_addr(&addr) {
        Ok(mut s) => {
            let _ = s.write_all(b"ESCAPED abstract\n");
            esc::report(&format!("ESCAPED: connected to @{name}"));
        }
        Err(e) => esc::report(&format!("blocked: abstract unix socket @{name}: {e}")),
    }
}
