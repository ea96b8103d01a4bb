//! What the tests that run the real `vogate` binary share: a free port, a server killed when
//! dropped, and a plain HTTP/1.0 client. (Each test crate uses part of it.)
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Child;
use std::time::Duration;

/// The binary under test.
pub const VOGATE: &str = env!("CARGO_BIN_EXE_vogate");

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A running `vogate serve`, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One HTTP/1.0 exchange with a form body (if any): (status, Location, body), or `None`
/// when nothing answers on `port`.
pub fn try_http(
    port: u16,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> Option<(u16, Option<String>, Vec<u8>)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let body = form.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let location = head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("location")
            .then(|| v.trim().to_string())
    });
    Some((status, location, raw[split + 4..].to_vec()))
}

/// [`try_http`], which must get an answer.
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    form: Option<&str>,
) -> (u16, Option<String>, Vec<u8>) {
    try_http(port, method, path, form).unwrap_or_else(|| panic!("no answer to {method} {path}"))
}

/// `GET path`: (status, body as text), or `None` when nothing answers.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    try_http(port, "GET", path, None).map(|(s, _, b)| (s, text(&b)))
}

/// Bytes as text (lossy).
pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

/// Percent-encode a form value.
pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
