//! A whole stack in the test process: the demo's leaky riders API, the
//! gateway in front of it with the demo config, and the admin listener,
//! each on its own loopback port.

#![allow(dead_code)] // each test binary uses part of this

use std::path::PathBuf;

use rampart_demo::tokens::{Persona, Tokens};

/// The admin token the stacks use.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789abcdef0123456789";

pub struct Stack {
    /// The gateway's base URL.
    pub gateway: String,
    /// The admin listener's base URL.
    pub admin: String,
    /// The leaky API's own URL (behind the gateway).
    pub upstream: String,
    pub tokens: Tokens,
    /// The demo's JWT signing secret (to mint tokens of one's own).
    pub secret: String,
    pub config: PathBuf,
    pub dir: tempfile::TempDir,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    admin_stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Stack {
    /// Start everything; `extra_config` is appended to the demo config.
    pub async fn start(extra_config: &str) -> Stack {
        let dir = tempfile::tempdir().unwrap();
        let upstream = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_url = format!("http://{}", upstream.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = rampart_demo::sample_api::run(upstream).await;
        });
        let secret = rampart_demo::tokens::new_secret().unwrap();
        let tokens = Tokens::mint_all(&secret).unwrap();
        let log = dir.path().join("security.log");
        let config = rampart_demo::write_bundle(
            dir.path(),
            "127.0.0.1:0".parse().unwrap(),
            &upstream_url,
            &log.to_string_lossy(),
            &secret,
        )
        .unwrap();
        if !extra_config.is_empty() {
            let mut text = std::fs::read_to_string(&config).unwrap();
            text.push_str(extra_config);
            std::fs::write(&config, text).unwrap();
        }
        let cfg = config.clone();
        let runtime = tokio::task::spawn_blocking(move || rampart_gateway::Runtime::load(&cfg))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("config: {e}"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gateway = format!("http://{}", listener.local_addr().unwrap());
        let mut server =
            rampart_gateway::Server::with_listener(runtime, listener, &config).unwrap();
        server.prepare().await.unwrap();
        let admin = rampart_admin::Admin::new(
            server.control(),
            rampart_admin::Token::new(ADMIN_TOKEN).unwrap(),
        );
        let admin_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let admin_url = format!("http://{}", admin_listener.local_addr().unwrap());
        let (admin_stop, admin_stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(admin.serve(admin_listener, async move {
            let _ = admin_stopped.await;
        }));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(server.run(async move {
            let _ = stopped.await;
        }));
        Stack {
            gateway,
            admin: admin_url,
            upstream: upstream_url,
            tokens,
            secret,
            config,
            dir,
            stop: Some(stop),
            admin_stop: Some(admin_stop),
        }
    }

    pub fn token(&self, p: Persona) -> &str {
        self.tokens.get(p)
    }

    /// A GET through the gateway as `persona`; returns the status.
    pub async fn get_as(&self, path: &str, persona: Option<Persona>) -> u16 {
        let client = reqwest::Client::new();
        let mut req = client.get(format!("{}{path}", self.gateway));
        if let Some(p) = persona {
            req = req.bearer_auth(self.token(p));
        }
        req.send().await.unwrap().status().as_u16()
    }

    /// An admin client that sends the token.
    pub fn admin_get(&self, path: &str) -> reqwest::RequestBuilder {
        reqwest::Client::new()
            .get(format!("{}{path}", self.admin))
            .bearer_auth(ADMIN_TOKEN)
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(s) = self.admin_stop.take() {
            let _ = s.send(());
        }
    }
}
