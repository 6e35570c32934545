//! The vulnerability-disclosure pages on the public listener:
//! `/.well-known/security.txt`, the report form and the reporters' status
//! pages (see `rampart-disclosure`). They are Rampart's own pages, not the
//! API's, so they are answered before routing and never reach the upstream.

use std::sync::Arc;
use std::time::Duration;

use http::{Response, StatusCode, header, request};
use hyper::body::Incoming;
use rampart_contract::rules;
use rampart_disclosure::{Intake, IntakeRequest};

use crate::body::{BoxBody, ReadError, empty, full, read_bounded};
use crate::decision::{Decision, Problem};

/// What the intake needs from an exchange, and what it reports back.
pub struct IntakeExchange<'a> {
    /// The request head.
    pub parts: &'a request::Parts,
    /// The client's address, proxies considered.
    pub client_ip: std::net::IpAddr,
    /// How long the body may take.
    pub body_timeout: Duration,
}

/// Answer one request that [`Intake::routes`] accepted; a body that does
/// not arrive whole and in time is the caller's to refuse.
pub async fn answer(
    intake: &Arc<Intake>,
    ex: IntakeExchange<'_>,
    mut body: Incoming,
) -> Result<Response<BoxBody>, Decision> {
    let limit = u64::try_from(intake.max_body_bytes()).unwrap_or(u64::MAX);
    // What is past the limit is not read: the intake sees one byte more
    // than it accepts and answers 413 itself.
    let bytes = match read_bounded(&mut body, limit, ex.body_timeout).await {
        Ok(b) | Err(ReadError::TooLarge(b)) => b,
        Err(ReadError::Timeout) => {
            return Err(Decision::new(
                StatusCode::REQUEST_TIMEOUT,
                Problem::RequestTimeout,
                &rules::BODY_MALFORMED,
                "the request body was not received in time",
            ));
        }
        Err(ReadError::Io(_)) => {
            return Err(Decision::new(
                StatusCode::BAD_REQUEST,
                Problem::MalformedRequest,
                &rules::BODY_MALFORMED,
                "the request body could not be read",
            ));
        }
    };
    let header_str =
        |name: header::HeaderName| ex.parts.headers.get(name).and_then(|v| v.to_str().ok());
    let resp = intake
        .handle(IntakeRequest {
            method: &ex.parts.method,
            path: ex.parts.uri.path(),
            content_type: header_str(header::CONTENT_TYPE),
            accept: header_str(header::ACCEPT),
            client_ip: ex.client_ip,
            body: &bytes,
        })
        .await
        .into_http();
    let head = ex.parts.method == http::Method::HEAD;
    let (parts, bytes) = resp.into_parts();
    Ok(Response::from_parts(
        parts,
        if head { empty() } else { full(bytes) },
    ))
}
