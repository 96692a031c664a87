// UDP datagrams to a listener the test runs on the host's loopback; the
// listener echoes.  sendto() on a connectionless socket succeeds anywhere
// there is a route, so only the host's count and the missing echo tell.
include!("../common.rs");
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

fn main() {
    esc::start();
    let port: u16 = esc::var("OHR_ESC_UDP_PORT").parse().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut sent = 0;
    let mut send_err = String::new();
    for _ in 0..3 {
        match sock.send_to(b"ESCAPED udp", addr) {
            Ok(_) => sent += 1,
            Err(e) => send_err = e.to_string(),
        }
    }
    let mut buf = [0u8; 64];
    match sock.recv_from(&mut buf) {
        Ok((n, from)) => esc::report(&format!(
            "ESCAPED: udp {addr}: reply {:?} from {from}",
            String::from_utf8_lossy(&buf[..n])
        )),
        Err(e) => esc::report(&format!(
            "blocked: udp {addr}: {sent} datagrams sent{}{send_err}, no reply: {e}",
            if send_err.is_empty() { "" } else { ", send: " }
        )),
    }
}
