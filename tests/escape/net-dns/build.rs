// DNS: a query for escape.ohr.test to the test's resolver on the host's
// loopback (127.0.0.1:PORT, it answers 192.0.2.53), then the system
// resolver (getaddrinfo) for the same name.
include!("../common.rs");
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

fn query() -> Vec<u8> {
    let mut q = vec![0x4f, 0x48, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in ["escape", "ohr", "test"] {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]); // root, type A, class IN
    q
}

fn main() {
    esc::start();
    let port: u16 = esc::var("OHR_ESC_DNS_PORT").parse().unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let sent = sock.send_to(&query(), addr);
    let mut buf = [0u8; 512];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) if n >= 16 && buf[0] == 0x4f && buf[1] == 0x48 => {
            let a = &buf[n - 4..n];
            esc::report(&format!(
                "ESCAPED: dns {addr}: escape.ohr.test is {}.{}.{}.{}",
                a[0], a[1], a[2], a[3]
            ))
        }
        Ok((n, _)) => esc::report(&format!("ESCAPED: dns {addr}: {n}-byte reply")),
        Err(e) => esc::report(&format!("blocked: dns {addr}: query sent: {:?}, no answer: {e}", sent.map(|_| ()))),
    }
    match ("escape.ohr.test", 80).to_socket_addrs() {
        Ok(mut a) => esc::report(&format!("info: getaddrinfo: escape.ohr.test is {:?}", a.next())),
        Err(e) => esc::report(&format!("blocked: getaddrinfo escape.ohr.test: {e}")),
    }
}
