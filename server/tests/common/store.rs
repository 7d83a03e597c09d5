//! The reading side of a remote-write store, for the tests' and the benches' fake stores.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;

/// A remote-write request: its head and its body, uncompressed.
pub struct Received {
    pub head: String,
    pub body: Vec<u8>,
}

/// Reads one request; `None` when the connection closed, or the body is not a snappy block.
pub fn read_request(conn: &mut BufReader<TcpStream>) -> Option<Received> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if line.trim().is_empty() {
            break;
        }
        head.push_str(&line);
    }
    let length: usize = head.lines().find_map(|l| {
        l.to_ascii_lowercase()
            .strip_prefix("content-length:")?
            .trim()
            .parse()
            .ok()
    })?;
    let mut compressed = vec![0; length];
    conn.read_exact(&mut compressed).ok()?;
    let body = snap::raw::Decoder::new().decompress_vec(&compressed).ok()?;
    Some(Received { head, body })
}
