//! Exact bytes on a fresh TCP connection, for the protocol-level hostile
//! cases: request smuggling, malformed framing, trickled headers and bodies.
//! An HTTP client library would repair or refuse these before they left the
//! test, so nothing here goes through one.
//!
//! [`exchange`] writes the bytes and reads until the gateway closes the
//! connection (or a bound passes), then splits what came back into
//! responses: a smuggled second request shows up as a second response.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::answer::{Answer, parse_http1_response};

/// What a raw exchange produced.
#[derive(Debug)]
pub struct RawOutcome {
    /// Every complete response, in order.
    pub responses: Vec<Answer>,
    /// Whether the gateway closed the connection (rather than the bound passing).
    pub closed: bool,
    /// How long until the connection closed or the bound passed.
    pub elapsed: Duration,
}

impl RawOutcome {
    /// The one response (panics unless exactly one came back).
    #[track_caller]
    pub fn only(&self) -> &Answer {
        assert_eq!(
            self.responses.len(),
            1,
            "expected exactly one response: {self:#?}"
        );
        &self.responses[0]
    }

    /// Assert one response with `status`, and that the gateway closed the
    /// connection after it (so nothing left in the buffer can be read as a
    /// second request).
    #[track_caller]
    pub fn assert_refused_and_closed(&self, status: u16) -> &Answer {
        let answer = self.only();
        assert_eq!(answer.status, status, "{self:#?}");
        assert!(self.closed, "the connection was left open: {self:#?}");
        answer
    }
}

/// Write `bytes` to `addr` and read until the peer closes or `bound` passes.
pub async fn exchange(addr: SocketAddr, bytes: &[u8], bound: Duration) -> RawOutcome {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    // The peer may close before everything is written (it refused the head
    // early); what it answered is still readable.
    let _ = stream.write_all(bytes).await;
    read_until_closed(&mut stream, bound).await
}

/// Read from `stream` until the peer closes it or `bound` passes.
pub async fn read_until_closed(stream: &mut TcpStream, bound: Duration) -> RawOutcome {
    let started = Instant::now();
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(bound, async {
        let mut chunk = [0u8; 8192];
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .is_ok();
    RawOutcome {
        responses: split_responses(&buf),
        closed,
        elapsed: started.elapsed(),
    }
}

/// Split a byte stream into HTTP/1.1 responses framed by `Content-Length`
/// (every response the gateway writes has one); anything after the last
/// complete one is handed to the single-response parser as a whole. Bytes
/// that are not HTTP/1.x (an HTTP/2 peer's frames) give no responses.
fn split_responses(mut bytes: &[u8]) -> Vec<Answer> {
    let mut out = Vec::new();
    if !bytes.starts_with(b"HTTP/1.") {
        // Not HTTP/1.x (HTTP/2 frames, or nothing): no responses to split.
        return out;
    }
    while !bytes.is_empty() {
        let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") else {
            panic!(
                "a partial response head: {:?}",
                String::from_utf8_lossy(bytes)
            );
        };
        let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
        let length = head.lines().find_map(|l| {
            l.strip_prefix("content-length:")
                .and_then(|v| v.trim().parse::<usize>().ok())
        });
        match length {
            Some(n) if end + 4 + n <= bytes.len() => {
                out.push(parse_http1_response(&bytes[..end + 4 + n]));
                bytes = &bytes[end + 4 + n..];
            }
            _ => {
                out.push(parse_http1_response(bytes));
                break;
            }
        }
    }
    out
}

/// Open a connection and write `first`, then every piece of `rest` one
/// `every` apart, while reading what the peer answers. Returns the answers
/// and whether (and how soon after connecting) the peer closed the connection.
pub async fn trickle(
    addr: SocketAddr,
    first: Vec<u8>,
    rest: Vec<Vec<u8>>,
    every: Duration,
    bound: Duration,
) -> RawOutcome {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    write.write_all(&first).await.unwrap();
    let writer = tokio::spawn(async move {
        for piece in rest {
            tokio::time::sleep(every).await;
            if write.write_all(&piece).await.is_err() {
                return;
            }
        }
        // Keep the write half open: a closed half would end the request.
        std::future::pending::<()>().await;
    });
    let mut buf = Vec::new();
    let closed = tokio::time::timeout(bound, async {
        let mut chunk = [0u8; 8192];
        loop {
            match read.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await
    .is_ok();
    let elapsed = started.elapsed();
    writer.abort();
    RawOutcome {
        responses: split_responses(&buf),
        closed,
        elapsed,
    }
}
