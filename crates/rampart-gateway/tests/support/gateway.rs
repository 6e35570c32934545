//! The real gateway, in-process: a temp dir with the spec and a config,
//! `Runtime::load`, `Server::with_listener` on `127.0.0.1:0`, and a clean
//! shutdown that flushes the security log before a test reads it.

#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::net::SocketAddr;
use std::path::PathBuf;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::answer::{Answer, SecurityLog, parse_http1_response, send};
use super::upstream::Upstream;

/// How to configure a gateway before it starts.
pub struct GatewayBuilder {
    spec: String,
    upstream: String,
    config: Value,
    api: Value,
    tls: bool,
}

impl GatewayBuilder {
    /// Merge settings into the config's top level (`mode`, `limits`, `contract`, ...).
    pub fn config(mut self, extra: Value) -> Self {
        merge(&mut self.config, extra);
        self
    }

    /// Merge settings into the API's entry (`mode`, `operations`, `base_path`, ...).
    pub fn api(mut self, extra: Value) -> Self {
        merge(&mut self.api, extra);
        self
    }

    /// Serve TLS with a fresh self-signed certificate for `localhost`.
    pub fn tls(mut self) -> Self {
        self.tls = true;
        self
    }

    /// Write the files, load the runtime, bind `127.0.0.1:0` and serve.
    pub async fn start(self) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let spec_path = dir.path().join("openapi.yaml");
        std::fs::write(&spec_path, &self.spec).unwrap();
        let log_path = dir.path().join("security.log");
        let mut api = json!({
            "name": "riders",
            "spec": spec_path,
            "upstream": self.upstream,
        });
        merge(&mut api, self.api);
        let mut config = json!({
            "listen": "127.0.0.1:0",
            "apis": [api],
            "log": {"security": log_path},
        });
        let mut certificate = None;
        if self.tls {
            let key = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
            std::fs::write(dir.path().join("cert.pem"), key.cert.pem()).unwrap();
            std::fs::write(dir.path().join("key.pem"), key.signing_key.serialize_pem()).unwrap();
            // Relative paths: resolved against the config file's directory.
            merge(
                &mut config,
                json!({"tls": {"cert": "cert.pem", "key": "key.pem"}}),
            );
            certificate = Some(key.cert.der().clone());
        }
        merge(&mut config, self.config);
        // YAML is a superset of JSON: the config is written as JSON.
        let config_path = dir.path().join("rampart.yaml");
        std::fs::write(&config_path, serde_json::to_vec_pretty(&config).unwrap()).unwrap();

        let runtime = rampart_gateway::Runtime::load(&config_path)
            .unwrap_or_else(|e| panic!("the test config does not load:\n{e}"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let server =
            rampart_gateway::Server::with_listener(runtime, listener, &config_path).unwrap();
        let addr = server.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let run = server.run(async {
            let _ = stopped.await;
        });
        let task = tokio::spawn(async move {
            if let Err(e) = run.await {
                panic!("the gateway failed to run: {e}");
            }
        });
        Gateway {
            addr,
            certificate,
            client: client(),
            log_path,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        }
    }
}

/// A running gateway.
pub struct Gateway {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The self-signed certificate it serves, with TLS on.
    pub certificate: Option<rustls::pki_types::CertificateDer<'static>>,
    /// An HTTP/1.1 client that ignores proxy settings.
    pub client: reqwest::Client,
    log_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Configure a gateway for `spec` in front of `upstream`.
    pub fn builder(spec: &str, upstream: &Upstream) -> GatewayBuilder {
        Gateway::builder_for(spec, &upstream.url())
    }

    /// Configure a gateway for `spec` in front of the upstream at `url`.
    pub fn builder_for(spec: &str, url: &str) -> GatewayBuilder {
        GatewayBuilder {
            spec: spec.to_string(),
            upstream: url.to_string(),
            config: json!({}),
            api: json!({}),
            tls: false,
        }
    }

    /// A gateway with the default config (everything `enforce`).
    pub async fn start(spec: &str, upstream: &Upstream) -> Gateway {
        Gateway::builder(spec, upstream).start().await
    }

    /// A gateway whose global mode is `mode`.
    pub async fn in_mode(mode: &str, spec: &str, upstream: &Upstream) -> Gateway {
        Gateway::builder(spec, upstream)
            .config(json!({"mode": mode}))
            .start()
            .await
    }

    /// The URL of `path_and_query` on this gateway.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// `GET path_and_query`.
    pub async fn get(&self, path_and_query: &str) -> Answer {
        send(self.client.get(self.url(path_and_query))).await
    }

    /// A request builder for `method path_and_query`.
    pub fn request(&self, method: &str, path_and_query: &str) -> reqwest::RequestBuilder {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.client.request(method, self.url(path_and_query))
    }

    /// `method path_and_query` with a JSON body given as exact text.
    pub async fn send_json(&self, method: &str, path_and_query: &str, body: &str) -> Answer {
        send(
            self.request(method, path_and_query)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await
    }

    /// `GET target` written byte for byte over a fresh TCP connection, so
    /// nothing on the client side normalizes the target.
    pub async fn raw_get(&self, target: &str) -> Answer {
        self.raw(&format!("GET {target} HTTP/1.1\r\nHost: localhost\r\n\r\n"))
            .await
    }

    /// Write `head` (a request head ending in an empty line; `Connection:
    /// close` is added) and read the whole response.
    pub async fn raw(&self, head: &str) -> Answer {
        let head = head
            .strip_suffix("\r\n\r\n")
            .expect("a request head ends with an empty line");
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        stream
            .write_all(format!("{head}\r\nConnection: close\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).await.unwrap();
        parse_http1_response(&bytes)
    }

    /// Stop the gateway, wait until it has drained and flushed, and read
    /// the security log.
    pub async fn finish(mut self) -> SecurityLog {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        let text = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        SecurityLog(
            text.lines()
                .map(|l| {
                    serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"))
                })
                .collect(),
        )
    }
}

/// A client that never goes through an environment proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A client that speaks HTTP/2 over plain TCP without upgrade (prior knowledge).
pub fn h2c_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

fn merge(into: &mut Value, from: Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                merge(into.entry(k).or_insert(Value::Null), v);
            }
        }
        (into, from) => *into = from,
    }
}
