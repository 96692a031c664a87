// TCP to a listener the test runs on the host's loopback (127.0.0.1:PORT).
// Contained: the network namespace has its own lo, nothing listens there.
include!("../common.rs");
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

fn main() {
    esc::start();
    let port: u16 = esc::var("OHR_ESC_TCP_PORT").parse().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(mut s) => {
            let _ = s.write_all(b"ESCAPED tcp\n");
            esc::report(&format!("ESCAPED: tcp connected to {addr}"));
        }
        Err(e) => esc::report(&format!("blocked: tcp {addr}: {e}")),
    }
}
