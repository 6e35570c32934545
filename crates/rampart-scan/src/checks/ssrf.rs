//! Server-side request forgery: URL-typed parameters pointed at a canary
//! listener on loopback.
//!
//! Each probe carries its own random token in the canary URL, so a hit on
//! the canary with that token can only come from the target fetching what
//! it was given: the token is the control against coincidence. The control
//! exchange is the same read with the parameter's ordinary value. Only
//! query parameters of reads are probed (no writes are needed), and the
//! canary only listens on 127.0.0.1, so it finds SSRF against loopback, the
//! case that reaches internal services.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_contract::ParamLocation;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::Ctx;
use crate::client::{Req, Who};
use crate::error::ScanError;
use crate::exchange::{Auth, Exchange};
use crate::finding::{Check, Evidence, Finding, Severity};

/// How long to wait for the target to call the canary.
const WAIT: Duration = Duration::from_millis(1500);

/// A loopback listener that records the request lines it receives.
pub struct Canary {
    /// Its address, `127.0.0.1:port`.
    pub addr: std::net::SocketAddr,
    hits: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Canary {
    /// Start listening.
    pub async fn start() -> Result<Canary, ScanError> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(ScanError::Canary)?;
        let addr = listener.local_addr().map_err(ScanError::Canary)?;
        let hits = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&hits);
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let seen = Arc::clone(&seen);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 2048];
                    let n = tokio::time::timeout(Duration::from_secs(2), stream.read(&mut buf))
                        .await
                        .ok()
                        .and_then(Result::ok)
                        .unwrap_or(0);
                    let line = String::from_utf8_lossy(buf.get(..n).unwrap_or_default())
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    if let Ok(mut h) = seen.lock() {
                        h.push(line);
                    }
                    let _ = stream
                        .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                        .await;
                });
            }
        });
        Ok(Canary { addr, hits, task })
    }

    /// The request line that carried `token`, if the canary saw one.
    pub fn hit(&self, token: &str) -> Option<String> {
        self.hits
            .lock()
            .ok()?
            .iter()
            .find(|l| l.contains(token))
            .cloned()
    }
}

impl Drop for Canary {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Run the check.
pub async fn run(ctx: &Ctx<'_>, canary: &Canary) -> Vec<Finding> {
    let mut out = Vec::new();
    for base in &ctx.baseline {
        let Some(op) = ctx.ops.get(base.op) else {
            continue;
        };
        for param in op
            .params
            .iter()
            .filter(|p| p.location == ParamLocation::Query && p.is_url())
        {
            let token = format!("rampart-canary-{}", crate::nonce());
            let url = format!("http://{}/{token}", canary.addr);
            let mut values: BTreeMap<String, String> = base.values.clone();
            values.insert(param.name.clone(), url.clone());
            let Some(path) = op.build(&values) else {
                continue;
            };
            let Some(probe) = ctx.client.send(&Req::get(path, Who::Id(base.who))).await else {
                continue;
            };
            let mut hit = canary.hit(&token);
            let deadline = tokio::time::Instant::now() + WAIT;
            while hit.is_none() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
                hit = canary.hit(&token);
            }
            let Some(line) = hit else { continue };
            let canary_log = Exchange {
                method: line.split(' ').next().unwrap_or_default().to_string(),
                url: url.clone(),
                auth: Auth::None,
                headers: Vec::new(),
                body: None,
                status: 0,
                response_headers: Vec::new(),
                response_body: format!("canary received: {line}"),
                json: None,
                elapsed_ms: 0,
            };
            out.push(Finding::new(
                Check::Ssrf,
                Severity::Critical,
                op.id.clone(),
                format!("{} fetches the URL given in {}", op.id, param.name),
                Evidence {
                    probe,
                    control: base.exchange.clone(),
                    steps: vec![canary_log],
                    fields: vec![param.name.clone()],
                    why: format!(
                        "the loopback canary received \"{line}\", carrying the random token sent only in {} of this request: the server fetched it",
                        param.name
                    ),
                },
            ));
        }
    }
    out
}
