//! A TLS client that trusts only the gateway's self-signed certificate and
//! offers chosen ALPN protocols, and hyper's HTTP/1.1 and HTTP/2 clients over it.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Version};
use http_body_util::BodyExt;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use super::answer::Answer;
use super::gateway::Gateway;

/// Connect over TLS to `gateway`, trusting only its self-signed certificate
/// and offering the ALPN protocols `alpn`. Returns the stream and the
/// protocol the server chose.
pub async fn tls_connect(
    gateway: &Gateway,
    alpn: &[&[u8]],
) -> (tokio_rustls::client::TlsStream<TcpStream>, Option<Vec<u8>>) {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(gateway.certificate.clone().expect("the gateway serves TLS"))
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(gateway.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let negotiated = stream.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
    (stream, negotiated)
}

/// Send one `GET path` over an established stream, with hyper's HTTP/2
/// client when `h2`, else its HTTP/1.1 client.
pub async fn get_over<S>(stream: S, h2: bool, path: &str) -> Answer
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(stream);
    let req = |version| {
        Request::builder()
            .version(version)
            .uri(format!("https://localhost{path}"))
            .header("host", "localhost")
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap()
    };
    let resp = if h2 {
        let (mut sender, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .unwrap();
        tokio::spawn(conn);
        sender.send_request(req(Version::HTTP_2)).await.unwrap()
    } else {
        let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
        tokio::spawn(conn);
        let mut r = req(Version::HTTP_11);
        *r.uri_mut() = path.parse().unwrap();
        sender.send_request(r).await.unwrap()
    };
    let (parts, body) = resp.into_parts();
    Answer {
        status: parts.status.as_u16(),
        version: parts.version,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}
