//! Server-side request forgery: URL-typed parameters pointed at a canary
//! listener on loopback.
//!
//! Each probe carries its own random token in the canary URL, so a hit on
//! the canary with that token can only come from the target fetching what
//! it was given: the token is the control against coincidence. The control
//! exchange is the identity's ordinary read. Query parameters of reads are
//! probed always; URL-named body properties only with `--allow-writes`, on
//! the identity's own object, with the old value put back. The canary only
//! listens on 127.0.0.1, so it finds SSRF against loopback, the case that
//! reaches internal services.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::Method;
use rampart_contract::ParamLocation;
use serde_json::json;
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

/// Wait for the canary to see `token`; the finding if it does.
async fn judge(
    canary: &Canary,
    token: &str,
    url: &str,
    op: &str,
    field: &str,
    probe: Exchange,
    control: Exchange,
) -> Option<Finding> {
    let mut hit = canary.hit(token);
    let deadline = tokio::time::Instant::now() + WAIT;
    while hit.is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        hit = canary.hit(token);
    }
    let line = hit?;
    let canary_log = Exchange {
        method: line.split(' ').next().unwrap_or_default().to_string(),
        url: url.to_string(),
        auth: Auth::None,
        headers: Vec::new(),
        body: None,
        status: 0,
        response_headers: Vec::new(),
        response_body: format!("canary received: {line}"),
        json: None,
        elapsed_ms: 0,
    };
    Some(Finding::new(
        Check::Ssrf,
        Severity::Critical,
        op,
        format!("{op} fetches the URL given in {field}"),
        Evidence {
            probe,
            control,
            steps: vec![canary_log],
            fields: vec![field.to_string()],
            why: format!(
                "the loopback canary received \"{line}\", carrying the random token sent only in {field} of this request: the server fetched it"
            ),
        },
    ))
}

fn canary_url(canary: &Canary) -> (String, String) {
    let token = format!("rampart-canary-{}", crate::nonce());
    let url = format!("http://{}/{token}", canary.addr);
    (token, url)
}

/// Whether a body property's name says it holds a URL.
fn url_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["url", "uri", "callback", "webhook", "href"]
        .iter()
        .any(|s| name.ends_with(s))
}

/// Run the check: URL query parameters of reads, and (with
/// `--allow-writes`) URL-named properties of PATCH/PUT bodies on the
/// identity's own objects, put back afterwards.
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
            let (token, url) = canary_url(canary);
            let mut values: BTreeMap<String, String> = base.values.clone();
            values.insert(param.name.clone(), url.clone());
            let Some(path) = op.build(&values) else {
                continue;
            };
            let Some(probe) = ctx.client.send(&Req::get(path, Who::Id(base.who))).await else {
                continue;
            };
            out.extend(
                judge(
                    canary,
                    &token,
                    &url,
                    &op.id,
                    &param.name,
                    probe,
                    base.exchange.clone(),
                )
                .await,
            );
        }
    }
    for op in &ctx.ops {
        if !(op.method == Method::PATCH || op.method == Method::PUT) || !ctx.may_write(op) {
            continue;
        }
        let Some(shape) = op.body_shape else { continue };
        let mut fields: Vec<&String> = ctx
            .contract
            .shapes
            .flat(shape)
            .props
            .iter()
            .filter(|(k, p)| !p.read_only && p.writable_by.is_none() && url_name(k))
            .map(|(k, _)| k)
            .collect();
        fields.sort();
        // The identity's own object, read before (the control, and what is put back).
        let Some(before) = ctx
            .baseline
            .iter()
            .find(|b| ctx.ops.get(b.op).is_some_and(|r| r.route == op.route))
        else {
            continue;
        };
        for field in fields {
            let (token, url) = canary_url(canary);
            let write = Req {
                method: op.method.clone(),
                path: before.path.clone(),
                who: Who::Id(before.who),
                headers: Vec::new(),
                body: Some(json!({ field.clone(): url })),
            };
            let Some(probe) = ctx.client.send(&write).await else {
                continue;
            };
            if let Some(old) = before
                .exchange
                .json
                .as_ref()
                .and_then(|j| j.get(field.as_str()))
            {
                let restore = Req {
                    body: Some(json!({ field.clone(): old })),
                    ..write
                };
                let _ = ctx.client.send(&restore).await;
            }
            out.extend(
                judge(
                    canary,
                    &token,
                    &url,
                    &op.id,
                    field,
                    probe,
                    before.exchange.clone(),
                )
                .await,
            );
        }
    }
    out
}
