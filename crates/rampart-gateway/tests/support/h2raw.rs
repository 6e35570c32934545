//! Hand-written HTTP/2 (h2c, prior knowledge) for downgrade-smuggling cases.
//!
//! HTTP/2 clients refuse to send what these tests need (a header value with
//! CR LF, `transfer-encoding`, a second `:path`, an uppercase name), so the
//! frames are written by hand: the connection preface, an empty SETTINGS,
//! and one HEADERS frame whose block uses only HPACK "literal without
//! indexing, new name" fields with raw (not Huffman) strings, the one
//! representation that can carry any bytes. The answer is read frame by
//! frame until stream 1 ends: a response HEADERS frame, a RST_STREAM, or a
//! GOAWAY.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const GOAWAY: u8 = 0x7;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// How the gateway ended stream 1.
#[derive(Debug, PartialEq, Eq)]
pub enum H2End {
    /// A response with this status (decoded from the static table or a raw
    /// literal; `None` when the encoder chose a form this reader does not decode).
    Response(Option<u16>),
    /// RST_STREAM with this error code (1 is PROTOCOL_ERROR).
    Reset(u32),
    /// GOAWAY with this error code.
    GoAway(u32),
    /// The connection closed, or nothing came within the bound.
    Nothing,
}

impl H2End {
    /// Whether the stream was refused as malformed: a reset or GOAWAY with
    /// PROTOCOL_ERROR, or a 400 response.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            H2End::Reset(1) | H2End::GoAway(1) | H2End::Response(Some(400))
        )
    }
}

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1).
fn integer(out: &mut Vec<u8>, first: u8, n: u32, mut value: usize) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first | u8::try_from(value).unwrap());
        return;
    }
    out.push(first | u8::try_from(max).unwrap());
    value -= max;
    while value >= 128 {
        out.push(u8::try_from(value % 128).unwrap() | 0x80);
        value /= 128;
    }
    out.push(u8::try_from(value).unwrap());
}

/// A header block of literal fields without indexing, raw strings.
fn block(fields: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        integer(&mut out, 0, 7, name.len());
        out.extend_from_slice(name);
        integer(&mut out, 0, 7, value.len());
        out.extend_from_slice(value);
    }
    out
}

/// Send one request on stream 1 with exactly `fields` (pseudo-headers
/// included, in the order given) and an optional body, and read how the
/// gateway ends the stream.
pub async fn h2_request(addr: SocketAddr, fields: &[(&[u8], &[u8])], body: Option<&[u8]>) -> H2End {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    let flags = END_HEADERS | if body.is_none() { END_STREAM } else { 0 };
    out.extend(frame(HEADERS, flags, 1, &block(fields)));
    if let Some(body) = body {
        out.extend(frame(DATA, END_STREAM, 1, body));
    }
    stream.write_all(&out).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), read_end(&mut stream))
        .await
        .unwrap_or(H2End::Nothing)
}

async fn read_end(stream: &mut TcpStream) -> H2End {
    loop {
        let mut head = [0u8; 9];
        if stream.read_exact(&mut head).await.is_err() {
            return H2End::Nothing;
        }
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let (kind, id) = (
            head[3],
            u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff,
        );
        let mut payload = vec![0u8; len];
        if stream.read_exact(&mut payload).await.is_err() {
            return H2End::Nothing;
        }
        match (kind, id) {
            (SETTINGS, 0) if head[4] & 0x1 == 0 => {
                let ack = frame(SETTINGS, 0x1, 0, &[]);
                let _ = stream.write_all(&ack).await;
            }
            (HEADERS, 1) => return H2End::Response(status(&payload)),
            (RST_STREAM, 1) => {
                return H2End::Reset(u32::from_be_bytes(payload[..4].try_into().unwrap()));
            }
            (GOAWAY, 0) => {
                return H2End::GoAway(u32::from_be_bytes(payload[4..8].try_into().unwrap()));
            }
            _ => {}
        }
    }
}

/// `:status` when it is the block's first field, as a static-table index
/// (RFC 7541 Appendix A) or a literal with a raw value.
fn status(block: &[u8]) -> Option<u16> {
    let first = *block.first()?;
    let indexed = [
        (8, 200),
        (9, 204),
        (10, 206),
        (11, 304),
        (12, 400),
        (13, 404),
        (14, 500),
    ];
    if first & 0x80 != 0 {
        return indexed
            .iter()
            .find(|(i, _)| first & 0x7f == *i)
            .map(|(_, s)| *s);
    }
    // Literal with the name `:status` (index 8), incremental or not.
    let name = if first & 0x40 != 0 {
        first & 0x3f
    } else {
        first & 0x0f
    };
    if name != 8 {
        return None;
    }
    let len = *block.get(1)?;
    if len & 0x80 != 0 {
        return None; // Huffman
    }
    std::str::from_utf8(block.get(2..2 + usize::from(len))?)
        .ok()?
        .parse()
        .ok()
}
