//! The small HTTP plumbing the sample API and the bench upstream share: one
//! accept loop, JSON responses, one bounded body read and query decoding.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

/// The response body type of both servers: always fully buffered.
pub(crate) type Body = Full<Bytes>;

/// Serve HTTP/1.1 on `listener`, answering each request with `handler`.
///
/// Connections run in a [`JoinSet`] owned by this future, so dropping the
/// future (a test ending, the demo shutting down) closes every connection
/// too. Accept errors never end the loop: per-connection errors are skipped
/// and others (such as running out of file descriptors) back off briefly, as
/// hyper 0.14's `AddrIncoming` did, instead of spinning or giving up.
pub(crate) async fn serve<H, F>(listener: TcpListener, handler: H) -> io::Result<()>
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => {
                    // Latency matters more than packet count for small JSON answers.
                    let _ = stream.set_nodelay(true);
                    let handler = handler.clone();
                    let service = service_fn(move |req| {
                        let answer = handler(req);
                        async move { Ok::<_, Infallible>(answer.await) }
                    });
                    let connection = builder.serve_connection(TokioIo::new(stream), service);
                    // A connection error (client gone, bad request line) concerns
                    // that connection only; hyper has already answered if it could.
                    connections.spawn(async move {
                        let _ = connection.await;
                    });
                }
                Err(err) if is_connection_error(&err) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

fn is_connection_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
    )
}

/// A response with a JSON body that is already serialized.
pub(crate) fn json_bytes(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// A response with `value` serialized as JSON.
pub(crate) fn json<T: serde::Serialize + ?Sized>(status: StatusCode, value: &T) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(status, Bytes::from(body)),
        // Only a map with non-string keys fails, and no caller builds one.
        Err(_) => json_bytes(
            StatusCode::INTERNAL_SERVER_ERROR,
            Bytes::from_static(br#"{"error":"could not serialize the response"}"#),
        ),
    }
}

/// `{"error": message}` with `status`.
pub(crate) fn error(status: StatusCode, message: &str) -> Response<Body> {
    json(status, &serde_json::json!({ "error": message }))
}

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// The body is longer than the cap.
    #[error("request body exceeds {0} bytes")]
    TooLarge(usize),
    /// The connection failed while the body was read.
    #[error("could not read the request body")]
    Read,
}

impl BodyError {
    /// The response this error deserves.
    pub(crate) fn response(&self) -> Response<Body> {
        let status = match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Read => StatusCode::BAD_REQUEST,
        };
        error(status, &self.to_string())
    }
}

/// Read a whole request body, refusing more than `limit` bytes.
pub(crate) async fn read_body(body: Incoming, limit: usize) -> Result<Bytes, BodyError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.downcast_ref::<LengthLimitError>().is_some() => {
            Err(BodyError::TooLarge(limit))
        }
        Err(_) => Err(BodyError::Read),
    }
}

/// Percent-decode one path segment (invalid UTF-8 is replaced, not rejected:
/// the sample API is lenient on purpose).
pub(crate) fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The decoded value of the first `name` parameter in a query string
/// (`application/x-www-form-urlencoded`: `+` is a space).
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    query?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        (decode_form(key) == name).then(|| decode_form(value))
    })
}

fn decode_form(text: &str) -> String {
    decode_segment(&text.replace('+', " "))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_form_decoded() {
        let query = Some("q=jo+rd%61n&limit=5&empty");
        assert_eq!(query_param(query, "q").as_deref(), Some("jo rdan"));
        assert_eq!(query_param(query, "limit").as_deref(), Some("5"));
        assert_eq!(query_param(query, "empty").as_deref(), Some(""));
        assert_eq!(query_param(query, "missing"), None);
        assert_eq!(query_param(None, "q"), None);
    }

    #[test]
    fn segments_decode_leniently() {
        assert_eq!(decode_segment("1%20OR%201=1"), "1 OR 1=1");
        assert_eq!(decode_segment("%ff%"), "\u{fffd}%");
    }
}
