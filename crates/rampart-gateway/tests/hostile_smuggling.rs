//! Hostile input at the protocol level: request smuggling and malformed
//! framing over HTTP/1.1, and HTTP/2-to-HTTP/1.1 downgrade injection over
//! h2c. Every message is written byte for byte on a fresh TCP connection.
//!
//! The gateway re-frames every request it forwards (the upstream always
//! gets a fresh HTTP/1.1 message with one framing), so a smuggling attempt
//! can only succeed if the gateway itself reads two requests where the
//! client meant one, or forwards a framing header it did not use. Each case
//! therefore checks: exactly one answer, a 400 (hyper's own for a framing
//! error, or the gateway's problem document), the connection closed so no
//! leftover bytes are read as a second request, the upstream never reached,
//! and the gateway still serving.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

mod support;

use std::time::Duration;

use support::h2raw::{H2End, h2_request};
use support::raw::{RawOutcome, exchange};
use support::{Gateway, RIDERS, Upstream};

const BOUND: Duration = Duration::from_secs(5);

/// A smuggled request hidden in the body: if the gateway ever reads it as
/// a request, it reaches the upstream as `GET /api/riders/666`.
const SMUGGLED: &str = "GET /api/riders/666 HTTP/1.1\r\nHost: x\r\n\r\n";

/// Send `raw` to a fresh gateway and return the outcome, the upstream and
/// the gateway (still running).
async fn against_fresh(raw: &[u8]) -> (RawOutcome, Upstream, Gateway) {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let outcome = exchange(gateway.addr, raw, BOUND).await;
    (outcome, upstream, gateway)
}

/// The gateway still answers a well-formed request.
async fn assert_alive(gateway: &Gateway) {
    let answer = gateway.get("/api/riders/7").await;
    assert_eq!(
        answer.status, 200,
        "the gateway stopped serving: {answer:?}"
    );
}

/// `raw` is refused with one 400, the connection is closed, nothing reached
/// the upstream, and the gateway serves the next client.
async fn assert_smuggling_refused(name: &str, raw: &[u8]) -> RawOutcome {
    let (outcome, upstream, gateway) = against_fresh(raw).await;
    let answer = outcome.only();
    assert_eq!(answer.status, 400, "{name}: {outcome:#?}");
    assert!(outcome.closed, "{name}: the connection was left open");
    upstream.assert_untouched();
    assert_alive(&gateway).await;
    assert_eq!(
        upstream.requests().len(),
        1,
        "{name}: only the liveness probe"
    );
    gateway.finish().await;
    outcome
}

#[tokio::test]
async fn cl_te_both_framings_is_400_and_closed() {
    // Content-Length says the body ends after `0\r\n\r\n`, chunked says the
    // same: the smuggled request after it must not be read as a request.
    let raw = format!(
        "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
    );
    assert_smuggling_refused("CL.TE", raw.as_bytes()).await;
}

#[tokio::test]
async fn te_cl_both_framings_is_400_and_closed() {
    // Content-Length covers only the chunk size line; a CL-reading
    // upstream would take the chunk data as the next request.
    let chunk = SMUGGLED;
    let raw = format!(
        "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    assert_smuggling_refused("TE.CL", raw.as_bytes()).await;
}

#[tokio::test]
async fn te_with_content_length_in_either_order_or_obfuscated_is_400() {
    let cases: [(&str, &str); 6] = [
        (
            "TE first",
            "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        ),
        (
            "TE list",
            "Transfer-Encoding: gzip, chunked\r\nContent-Length: 5\r\n",
        ),
        (
            "TE tab",
            "Transfer-Encoding:\tchunked\r\nContent-Length: 5\r\n",
        ),
        (
            "TE case",
            "transfer-encoding: CHUNKED\r\ncontent-length: 5\r\n",
        ),
        (
            "TE twice",
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n",
        ),
        (
            "CL empty",
            "Content-Length: \r\nTransfer-Encoding: chunked\r\n",
        ),
    ];
    for (name, framing) in cases {
        let raw = format!(
            "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             {framing}\r\n0\r\n\r\n{SMUGGLED}"
        );
        assert_smuggling_refused(name, raw.as_bytes()).await;
    }
}

#[tokio::test]
async fn a_transfer_coding_other_than_final_chunked_is_400() {
    for te in [
        "xchunked",
        "chunked, identity",
        "identity",
        "chunked;q=1",
        "\"chunked\"",
    ] {
        let raw = format!(
            "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: {te}\r\n\r\n0\r\n\r\n{SMUGGLED}"
        );
        assert_smuggling_refused(te, raw.as_bytes()).await;
    }
}

#[tokio::test]
async fn duplicate_or_malformed_content_length_is_400() {
    for cl in [
        "Content-Length: 14\r\nContent-Length: 0\r\n",
        "Content-Length: 0, 14\r\n",
        "Content-Length: +14\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: 0x0e\r\n",
        "Content-Length: 14 14\r\n",
        "Content-Length: 99999999999999999999999\r\n",
    ] {
        let raw = format!(
            "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             {cl}\r\n{{\"name\":\"a\"}}{SMUGGLED}"
        );
        assert_smuggling_refused(cl.trim(), raw.as_bytes()).await;
    }
}

#[tokio::test]
async fn transfer_encoding_over_http_1_0_is_400() {
    let raw = format!(
        "POST /api/riders HTTP/1.0\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n{SMUGGLED}"
    );
    assert_smuggling_refused("TE on 1.0", raw.as_bytes()).await;
}

#[tokio::test]
async fn obs_fold_and_malformed_header_lines_are_400() {
    for (name, lines) in [
        // RFC 9112 §5.2: a server must reject obs-fold (or replace it); a
        // fold that hides `Transfer-Encoding` in another header's value is
        // the classic way to get two readings of one head.
        (
            "obs-fold",
            "X-Api-Version: 1\r\n Transfer-Encoding: chunked\r\n",
        ),
        ("obs-fold tab", "X-Api-Version: 1\r\n\tchunked\r\n"),
        ("space before colon", "Transfer-Encoding : chunked\r\n"),
        ("no colon", "Transfer-Encoding chunked\r\n"),
        (
            "bare CR in value",
            "X-Api-Version: 1\rTransfer-Encoding: chunked\r\n",
        ),
        ("NUL in value", "X-Api-Version: 1\0\r\n"),
        ("empty name", ": chunked\r\n"),
        ("space in name", "Transfer Encoding: chunked\r\n"),
    ] {
        let raw = format!("GET /api/riders HTTP/1.1\r\nHost: x\r\n{lines}\r\n");
        assert_smuggling_refused(name, raw.as_bytes()).await;
    }
}

#[tokio::test]
async fn chunk_size_tricks_are_400_and_closed() {
    for (name, body) in [
        // 2^64 + 5: wraps to 5 in a parser that does not check overflow.
        (
            "hex overflow",
            "10000000000000005\r\n{\"name\":\"a\"}\r\n0\r\n\r\n",
        ),
        (
            "size with 17 significant digits",
            "fffffffffffffffff\r\n{\"name\":\"ann\"}\r\n0\r\n\r\n",
        ),
        ("negative size", "-e\r\n{\"name\":\"ann\"}\r\n0\r\n\r\n"),
        ("0x prefix", "0xe\r\n{\"name\":\"ann\"}\r\n0\r\n\r\n"),
        ("not hex", "zz\r\n{\"name\":\"ann\"}\r\n0\r\n\r\n"),
        (
            "size shorter than data",
            "2\r\n{\"name\":\"ann\"}\r\n0\r\n\r\n",
        ),
        ("data without CRLF", "e\r\n{\"name\":\"ann\"}XX0\r\n\r\n"),
        ("bare CR after size", "e\r{\"name\":\"ann\"}\r\n0\r\n\r\n"),
    ] {
        let raw = format!(
            "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\n\r\n{body}{SMUGGLED}"
        );
        let (outcome, upstream, gateway) = against_fresh(raw.as_bytes()).await;
        // hyper rejects the framing while the gateway reads the body: the
        // gateway answers 400 (the body could not be read) and closes.
        assert_eq!(outcome.responses.len(), 1, "{name}: {outcome:#?}");
        let answer = outcome.assert_refused_and_closed(400);
        if answer.header("content-type") == Some("application/problem+json") {
            answer.assert_problem(400, "contract.body.malformed");
        }
        upstream.assert_untouched();
        assert_alive(&gateway).await;
        let log = gateway.finish().await;
        if answer.headers.contains_key("x-request-id") {
            log.assert(answer, "blocked", Some("contract.body.malformed"));
        }
        assert!(
            upstream
                .requests()
                .iter()
                .all(|r| r.path() != "/api/riders/666"),
            "{name}: the smuggled request reached the upstream"
        );
    }
}

#[tokio::test]
async fn bare_lf_chunk_framing_is_never_read_as_two_requests() {
    // Some parsers accept a bare LF as a line end, others do not: the
    // gateway must either read the body exactly as chunked says, or refuse.
    // What it must never do is answer the smuggled request.
    let raw = format!(
        "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\ne\n{{\"name\":\"ann\"}}\n0\n\n{SMUGGLED}"
    );
    let (outcome, upstream, gateway) = against_fresh(raw.as_bytes()).await;
    assert!(outcome.closed, "{outcome:#?}");
    assert!(
        outcome.responses.len() <= 1,
        "two answers: the smuggled request was read: {outcome:#?}"
    );
    assert!(
        upstream
            .requests()
            .iter()
            .all(|r| r.path() != "/api/riders/666"),
        "the smuggled request reached the upstream: {:#?}",
        upstream.requests()
    );
    for seen in upstream.requests() {
        assert_eq!(
            seen.body,
            r#"{"name":"ann"}"#.as_bytes(),
            "the body as validated"
        );
        assert!(
            seen.header("transfer-encoding").is_none() || seen.header("content-length").is_none()
        );
    }
    assert_alive(&gateway).await;
}

#[tokio::test]
async fn chunk_extensions_are_consumed_and_never_forwarded() {
    // Extensions are legal (RFC 9112 §7.1.1); the gateway must consume
    // them, validate the decoded body, and forward a freshly framed one.
    let raw = "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
               Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
               e;ext=\"0\r\n\r\nGET /x\"\r\n{\"name\":\"ann\"}\r\n0\r\n\r\n";
    let (outcome, upstream, gateway) = against_fresh(raw.as_bytes()).await;
    let only = outcome.only();
    if only.status == 201 {
        let seen = upstream.only_request();
        assert_eq!(seen.body, r#"{"name":"ann"}"#.as_bytes());
        assert!(seen.header("transfer-encoding").is_none(), "{seen:?}");
        assert_eq!(seen.header("content-length"), Some("14"));
    } else {
        assert_eq!(only.status, 400, "{outcome:#?}");
        upstream.assert_untouched();
    }
    assert_alive(&gateway).await;
}

#[tokio::test]
async fn a_valid_chunked_body_is_forwarded_with_one_framing() {
    // The baseline for the cases above: the framing the client used is
    // replaced, so the upstream cannot disagree about where the body ends.
    let raw = "POST /api/riders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
               Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
               7\r\n{\"name\"\r\n7\r\n:\"ann\"}\r\n0\r\n\r\n";
    let (outcome, upstream, gateway) = against_fresh(raw.as_bytes()).await;
    assert_eq!(outcome.only().status, 201, "{outcome:#?}");
    let seen = upstream.only_request();
    assert_eq!(seen.body, r#"{"name":"ann"}"#.as_bytes());
    let framings = [
        seen.header("transfer-encoding").is_some(),
        seen.header("content-length").is_some(),
    ];
    assert_eq!(framings.iter().filter(|f| **f).count(), 1, "{seen:?}");
    gateway.finish().await;
}

#[tokio::test]
async fn a_body_on_a_get_cannot_carry_a_second_request() {
    // A GET with Content-Length: the gateway refuses the body (the
    // operation takes none) and must not read the body bytes as a request.
    let raw = format!(
        "GET /api/riders/7 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{SMUGGLED}",
        SMUGGLED.len()
    );
    let (outcome, upstream, gateway) = against_fresh(raw.as_bytes()).await;
    let answer = &outcome.responses[0];
    answer.assert_problem(400, "contract.body.unexpected");
    assert_eq!(outcome.responses.len(), 1, "{outcome:#?}");
    upstream.assert_untouched();
    assert_alive(&gateway).await;
    gateway
        .finish()
        .await
        .assert(answer, "blocked", Some("contract.body.unexpected"));
}

#[tokio::test]
async fn connection_header_cannot_strip_security_relevant_headers() {
    // `Connection: X` makes X hop-by-hop; naming the gateway's own headers
    // must not remove what the gateway adds for the upstream.
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let answer = gateway
        .raw(
            "GET /api/riders/7 HTTP/1.1\r\nHost: x\r\n\
             Connection: x-forwarded-for, x-request-id, x-forwarded-proto, host\r\n\r\n",
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let seen = upstream.only_request();
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(seen.header("x-forwarded-proto"), Some("http"));
    assert_eq!(seen.header("x-request-id"), Some(answer.request_id()));
    assert_eq!(
        seen.header("host"),
        Some(upstream.addr.to_string().as_str())
    );
}

// --- HTTP/2 to HTTP/1.1 downgrade -------------------------------------------

/// Header fields of a hand-written HTTP/2 request, in order.
type Fields = Vec<(&'static [u8], &'static [u8])>;

fn h2_get(path: &'static [u8]) -> Fields {
    vec![
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b":authority", b"localhost"),
        (b":path", path),
    ]
}

#[tokio::test]
async fn a_well_formed_handwritten_h2_request_is_served() {
    // The baseline: the hand-written frames are valid, so the refusals
    // below are about their content.
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let end = h2_request(gateway.addr, &h2_get(b"/api/riders/7"), None).await;
    assert_eq!(end, H2End::Response(Some(200)));
    assert_eq!(upstream.only_request().target, "/api/riders/7");
}

#[tokio::test]
async fn h2_header_injection_is_refused_before_the_upstream() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let mut cases: Vec<(&str, Fields)> = Vec::new();
    let with = |extra: &[(&'static [u8], &'static [u8])]| {
        let mut f = h2_get(b"/api/riders/7");
        f.extend_from_slice(extra);
        f
    };
    cases.push((
        "CRLF in a value",
        with(&[(b"x-api-version", b"1\r\ntransfer-encoding: chunked")]),
    ));
    cases.push((
        "LF in a value",
        with(&[(b"x-api-version", b"1\nx-admin: 1")]),
    ));
    cases.push(("CR in a value", with(&[(b"x-api-version", b"1\rx")])));
    cases.push(("NUL in a value", with(&[(b"x-api-version", b"1\0")])));
    cases.push(("CRLF in a name", with(&[(b"x-a\r\nx-b", b"1")])));
    cases.push(("colon in a name", with(&[(b"x-a:b", b"1")])));
    cases.push((
        "transfer-encoding",
        with(&[(b"transfer-encoding", b"chunked")]),
    ));
    cases.push(("connection", with(&[(b"connection", b"close")])));
    cases.push(("keep-alive", with(&[(b"keep-alive", b"timeout=5")])));
    cases.push(("upgrade", with(&[(b"upgrade", b"h2c")])));
    cases.push(("te other than trailers", with(&[(b"te", b"gzip")])));
    cases.push(("uppercase name", with(&[(b"X-Api-Version", b"1")])));
    cases.push(("duplicate :path", with(&[(b":path", b"/api/riders/666")])));
    cases.push(("unknown pseudo-header", with(&[(b":proxy", b"evil")])));
    cases.push((
        "pseudo-header after a field",
        vec![
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b"x-api-version", b"1"),
            (b":authority", b"localhost"),
            (b":path", b"/api/riders/7"),
        ],
    ));
    cases.push((
        "missing :path",
        vec![
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":authority", b"localhost"),
        ],
    ));
    cases.push((
        "request line in :path",
        h2_get(b"/api/riders/7 HTTP/1.1\r\nHost: x"),
    ));
    cases.push(("space in :path", h2_get(b"/api/riders/7 x")));
    cases.push((
        "CRLF in :method",
        vec![
            (b":method", b"GET /api/riders/666 HTTP/1.1\r\n"),
            (b":scheme", b"http"),
            (b":authority", b"localhost"),
            (b":path", b"/api/riders/7"),
        ],
    ));
    cases.push((
        "CRLF in :authority",
        vec![
            (b":method", b"GET"),
            (b":scheme", b"http"),
            (b":authority", b"localhost\r\nx-admin: 1"),
            (b":path", b"/api/riders/7"),
        ],
    ));
    for (name, fields) in &cases {
        let end = h2_request(gateway.addr, fields, None).await;
        assert!(end.is_refusal(), "{name}: {end:?}");
    }
    upstream.assert_untouched();
    assert_alive(&gateway).await;
}

#[tokio::test]
async fn h2_content_length_that_disagrees_with_the_data_is_refused() {
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let fields: Vec<(&[u8], &[u8])> = vec![
        (b":method", b"POST"),
        (b":scheme", b"http"),
        (b":authority", b"localhost"),
        (b":path", b"/api/riders"),
        (b"content-type", b"application/json"),
        (b"content-length", b"2"),
    ];
    let end = h2_request(gateway.addr, &fields, Some(br#"{"name":"ann"}"#)).await;
    match end {
        H2End::Response(status) => assert_eq!(status, Some(400), "{end:?}"),
        other => assert!(other.is_refusal(), "{other:?}"),
    }
    upstream.assert_untouched();
    assert_alive(&gateway).await;
}

#[tokio::test]
async fn h2_absolute_authority_and_host_cannot_disagree_upstream() {
    // `:authority` and a `host` field that differ: the upstream gets the
    // gateway's own Host, never either of the client's.
    let upstream = Upstream::riders().await;
    let gateway = Gateway::start(RIDERS, &upstream).await;
    let mut fields = h2_get(b"/api/riders/7");
    fields.push((b"host", b"admin.internal"));
    let end = h2_request(gateway.addr, &fields, None).await;
    if end == H2End::Response(Some(200)) {
        let seen = upstream.only_request();
        assert_eq!(
            seen.header("host"),
            Some(upstream.addr.to_string().as_str())
        );
    } else {
        assert!(end.is_refusal(), "{end:?}");
        upstream.assert_untouched();
    }
}
