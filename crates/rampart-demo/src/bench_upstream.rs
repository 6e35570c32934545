//! A fixed, fast upstream for benchmarking Rampart.
//!
//! Every answer is a precomputed static body, so the upstream costs next to
//! nothing and the difference between "direct" and "through Rampart" is the
//! gateway's own work: routing, validating the request and the response.
//! The bodies are valid against [`crate::BENCH_SPEC`], so in enforce mode the
//! gateway validates them fully and forwards them unchanged.

use std::io;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::net::TcpListener;

use crate::http_util::{self, Body, json_bytes};

/// `GET /profile`'s body: a rider profile of about 1 KB.
const PROFILE: &str = include_str!("../assets/bench-profile.json");

/// `POST /items`' answer.
const CREATED: &str = r#"{"id":"itm_000123","status":"created"}"#;

const NOT_FOUND: &str = r#"{"error":"not found"}"#;

/// The bench upstream reads at most this much of a `POST /items` body.
const BODY_LIMIT: u64 = 64 * 1024;

/// The JSON body the benchmark POSTs to `/items` (about 0.5 KB), valid
/// against [`crate::BENCH_SPEC`].
pub const POST_BODY: &str = include_str!("../assets/bench-item.json");

/// Serve the bench upstream on `listener` until the future is dropped.
///
/// `GET /profile` answers a constant ~1 KB JSON object; `POST /items` drains
/// its body and answers 201 with a small constant JSON; anything else is a
/// JSON 404.
pub async fn run(listener: TcpListener) -> io::Result<()> {
    http_util::serve(listener, handle).await
}

async fn handle(req: Request<Incoming>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/profile") => {
            json_bytes(StatusCode::OK, Bytes::from_static(PROFILE.as_bytes()))
        }
        (&Method::POST, "/items") => match drain(req.into_body()).await {
            Ok(()) => json_bytes(StatusCode::CREATED, Bytes::from_static(CREATED.as_bytes())),
            Err(status) => json_bytes(status, Bytes::from_static(br#"{"error":"bad body"}"#)),
        },
        _ => json_bytes(
            StatusCode::NOT_FOUND,
            Bytes::from_static(NOT_FOUND.as_bytes()),
        ),
    }
}

/// Read the body to its end without keeping it: the answer does not depend
/// on it, but a proxy must see it consumed for the connection to be reused.
async fn drain(mut body: Incoming) -> Result<(), StatusCode> {
    let mut read = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| StatusCode::BAD_REQUEST)?;
        if let Some(data) = frame.data_ref() {
            read += data.len() as u64;
            if read > BODY_LIMIT {
                return Err(StatusCode::PAYLOAD_TOO_LARGE);
            }
        }
    }
    Ok(())
}
