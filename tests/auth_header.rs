//! The `authentication` token goes out as an HPACK "literal header field never indexed"
//! (RFC 7541 §6.2.3), so that no HPACK table on the way (the client's, a proxy's, the
//! server's) keeps it, and intermediaries forwarding it must not index it either.
//!
//! A raw TCP listener plays the server of a plaintext (h2c) channel: it reads the client's
//! first HEADERS block off the wire and walks its field representations. h2's decoder does
//! not report how a field was represented, hence this small HPACK walker.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;
use swtls::Channel;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const HEADERS: u8 = 0x1;
const SETTINGS: u8 = 0x4;
const CONTINUATION: u8 = 0x9;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// Reads the client's frames up to its first complete header block and returns that block.
fn first_header_block(socket: &mut std::net::TcpStream) -> Vec<u8> {
    let mut preface = [0u8; 24];
    socket.read_exact(&mut preface).unwrap();
    assert_eq!(&preface[..], PREFACE, "not an HTTP/2 client preface");
    socket.write_all(&[0, 0, 0, SETTINGS, 0, 0, 0, 0, 0]).unwrap(); // our (empty) SETTINGS
    let mut block = Vec::new();
    loop {
        let mut head = [0u8; 9];
        socket.read_exact(&mut head).unwrap();
        let len = (head[0] as usize) << 16 | (head[1] as usize) << 8 | head[2] as usize;
        let (kind, flags) = (head[3], head[4]);
        let mut payload = vec![0u8; len];
        socket.read_exact(&mut payload).unwrap();
        match kind {
            SETTINGS if flags & 1 == 0 => socket.write_all(&[0, 0, 0, SETTINGS, 1, 0, 0, 0, 0]).unwrap(),
            HEADERS => {
                let mut start = 0;
                let mut end = len;
                if flags & PADDED != 0 {
                    start += 1;
                    end -= payload[0] as usize;
                }
                if flags & PRIORITY != 0 {
                    start += 5;
                }
                block.extend_from_slice(&payload[start..end]);
                if flags & END_HEADERS != 0 {
                    return block;
                }
            }
            CONTINUATION => {
                block.extend_from_slice(&payload);
                if flags & END_HEADERS != 0 {
                    return block;
                }
            }
            _ => {}
        }
    }
}

/// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1).
fn integer(block: &[u8], at: &mut usize, n: u32) -> usize {
    let max = (1usize << n) - 1;
    let mut value = block[*at] as usize & max;
    *at += 1;
    if value < max {
        return value;
    }
    let mut shift = 0;
    loop {
        let b = block[*at];
        *at += 1;
        value += ((b & 0x7f) as usize) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            return value;
        }
    }
}

/// An HPACK string literal (RFC 7541 §5.2), as on the wire: (Huffman-coded, bytes).
fn string(block: &[u8], at: &mut usize) -> (bool, Vec<u8>) {
    let huffman = block[*at] & 0x80 != 0;
    let len = integer(block, at, 7);
    let bytes = block[*at..*at + len].to_vec();
    *at += len;
    (huffman, bytes)
}

/// One header field representation: its first byte and, for a literal with a new name,
/// the name as on the wire.
struct Field {
    first: u8,
    name: Option<(bool, Vec<u8>)>,
}

fn fields(block: &[u8]) -> Vec<Field> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < block.len() {
        let first = block[at];
        let prefix = match first {
            b if b & 0x80 != 0 => {
                integer(block, &mut at, 7); // indexed field: no strings
                out.push(Field { first, name: None });
                continue;
            }
            b if b & 0xc0 == 0x40 => 6, // literal with incremental indexing
            b if b & 0xe0 == 0x20 => {
                integer(block, &mut at, 5); // dynamic table size update
                continue;
            }
            _ => 4, // literal without indexing (0000) or never indexed (0001)
        };
        let name = (integer(block, &mut at, prefix) == 0).then(|| string(block, &mut at));
        string(block, &mut at); // the value
        out.push(Field { first, name });
    }
    out
}

/// `s` Huffman-coded with the codes of RFC 7541 Appendix B (only the letters it needs).
fn huffman(s: &str) -> Vec<u8> {
    let code = |c: char| -> (u32, u32) {
        match c {
            'a' => (0x3, 5),
            'c' => (0x4, 5),
            'e' => (0x5, 5),
            'h' => (0x27, 6),
            'i' => (0x6, 5),
            'n' => (0x2a, 6),
            'o' => (0x7, 5),
            't' => (0x9, 5),
            'u' => (0x2d, 6),
            _ => unimplemented!("no code for {c:?} in this table"),
        }
    };
    let (mut out, mut acc, mut bits) = (Vec::new(), 0u64, 0u32);
    for c in s.chars() {
        let (value, len) = code(c);
        acc = acc << len | value as u64;
        bits += len;
        while bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    if bits > 0 {
        out.push((acc << (8 - bits)) as u8 | (0xff >> bits)); // padded with the EOS prefix
    }
    out
}

#[test]
fn huffman_table_matches_rfc_7541() {
    // "authentication" as h2 and every HPACK encoder code it.
    assert_eq!(huffman("authentication"), [0x1d, 0xa9, 0x9c, 0xb5, 0x24, 0xc4, 0x1a, 0x4c, 0x7a, 0xbf]);
}

#[test]
fn the_authentication_token_is_sent_never_indexed() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        socket.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        first_header_block(&mut socket)
    });

    let certs = Certs::new();
    let no_ca = certs.agent_dir("plaintext", &[]);
    let channel = Channel::new(&config(&target, &no_ca, &[("agent.authentication", "tok-never-indexed")])).unwrap();
    // The listener never answers: the call fails, once its headers went out.
    let call = std::thread::spawn(move || {
        let _ = channel.unary_blocking(
            "/skywalking.v3.ManagementService/keepAlive",
            ping("svc", "inst"),
            Some(Duration::from_secs(3)),
        );
    });
    let block = server.join().unwrap();
    call.join().unwrap();

    let name = huffman("authentication");
    let all = fields(&block);
    let auth: Vec<&Field> = all
        .iter()
        .filter(|f| matches!(&f.name, Some((h, n)) if (*h && *n == name) || (!*h && n == b"authentication")))
        .collect();
    assert_eq!(auth.len(), 1, "one authentication field expected in the header block {block:02x?}");
    assert_eq!(
        auth[0].first & 0xf0,
        0x10,
        "the authentication field is represented as {:#04x}, not as a never-indexed literal (0001xxxx)",
        auth[0].first
    );
}
