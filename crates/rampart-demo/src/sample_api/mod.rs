//! The leaky riders API that `rampart demo` puts behind the gateway.
//!
//! It is wrong on purpose, one flaw per OWASP API risk the demo shows, and
//! each is marked `LEAK:` below:
//!
//! - search ignores bounds: `limit=100000` dumps every profile, private ones
//!   included;
//! - every profile carries fields the contract does not declare
//!   (`password_hash`, `last_login_ip`);
//! - `PATCH` merges any JSON key into the record (mass assignment);
//! - an admin export with no check, a shadow debug endpoint with (fake)
//!   secrets and a zombie `v1` route;
//! - a non-numeric id answers 500 with a verbose SQL error and stack trace;
//! - `X-HTTP-Method-Override` turns a `POST` into a `DELETE`.
//!
//! What it does not do is crash: bodies are read with a cap, input is never
//! unwrapped, and a poisoned lock is recovered. It is a demo, not a crash test.

mod data;

use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::http_util::{self, Body, decode_segment, error, json, query_param, read_body};
use data::Store;

/// The largest request body the sample API reads.
const BODY_LIMIT: usize = 1024 * 1024;

/// Search's page size when `limit` is absent or not a number.
const DEFAULT_LIMIT: usize = 20;

/// Headers some frameworks honour to tunnel one method inside another.
const METHOD_OVERRIDE_HEADERS: [&str; 3] = [
    "x-http-method-override",
    "x-http-method",
    "x-method-override",
];

/// Serve the leaky riders API on `listener` until the future is dropped.
///
/// HTTP/1.1 only. Each call starts from the same seeded data, so tests and
/// demo runs are reproducible; changes (PATCH, DELETE) live in memory for as
/// long as the future runs.
pub async fn run(listener: TcpListener) -> io::Result<()> {
    let api = Arc::new(SampleApi {
        store: Mutex::new(Store::seeded()),
    });
    http_util::serve(listener, move |req| {
        let api = Arc::clone(&api);
        async move { api.handle(req).await }
    })
    .await
}

struct SampleApi {
    store: Mutex<Store>,
}

impl SampleApi {
    /// The store. No code panics while holding the lock, but if one ever did,
    /// the data is still plain JSON and serving it beats failing every request.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    async fn handle(&self, req: Request<Incoming>) -> Response<Body> {
        let method = effective_method(&req);
        let path = req.uri().path().to_owned();
        let query = req.uri().query().map(str::to_owned);
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        // An empty segment (`/api/riders/`, `//`) names nothing.
        if segments.iter().any(|segment| segment.is_empty()) {
            return error(StatusCode::NOT_FOUND, "not found");
        }
        match (&method, segments.as_slice()) {
            (&Method::GET, ["api", "riders"]) => self.search(query.as_deref()),
            (&Method::GET, ["api", "riders", id]) => self.get_rider(id),
            (&Method::PATCH, ["api", "riders", id]) => self.update_rider(id, req.into_body()).await,
            (&Method::DELETE, ["api", "riders", id]) => self.delete_rider(id),
            (&Method::GET, ["api", "riders", id, "workouts"]) => self.workouts(id),
            (&Method::GET, ["api", "admin", "export"]) => self.export(),
            (&Method::GET, ["api", "internal", "debug"]) => debug_info(),
            // LEAK: a zombie route from before the v2 rewrite; same data, no checks.
            (&Method::GET, ["api", "v1", "riders", id]) => self.get_rider(id),
            (
                _,
                ["api", "riders"]
                | ["api", "riders", _]
                | ["api", "riders", _, "workouts"]
                | ["api", "admin", "export"]
                | ["api", "internal", "debug"]
                | ["api", "v1", "riders", _],
            ) => error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed"),
            _ => error(StatusCode::NOT_FOUND, "not found"),
        }
    }

    /// LEAK: `limit` has no upper bound and results are full profiles.
    fn search(&self, query: Option<&str>) -> Response<Body> {
        let needle = query_param(query, "q").unwrap_or_default().to_lowercase();
        let limit = query_param(query, "limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(DEFAULT_LIMIT);
        let store = self.store();
        let found: Vec<&data::Rider> = store
            .riders
            .values()
            .filter(|rider| {
                ["username", "display_name"].iter().any(|field| {
                    rider
                        .get(*field)
                        .and_then(Value::as_str)
                        .is_some_and(|s| s.to_lowercase().contains(&needle))
                })
            })
            .take(limit)
            .collect();
        json(StatusCode::OK, &found)
    }

    /// LEAK: private profiles are served to anyone, secrets included.
    fn get_rider(&self, raw_id: &str) -> Response<Body> {
        let id = match parse_id(raw_id) {
            Ok(id) => id,
            Err(bad) => return bad.response(),
        };
        match self.store().riders.get(&id) {
            Some(rider) => json(StatusCode::OK, rider),
            None => rider_not_found(),
        }
    }

    /// LEAK: mass assignment. Every key of the body is merged into the
    /// record: `role`, `id`, `workout_count`, and keys that never existed.
    async fn update_rider(&self, raw_id: &str, body: Incoming) -> Response<Body> {
        let id = match parse_id(raw_id) {
            Ok(id) => id,
            Err(bad) => return bad.response(),
        };
        let bytes = match read_body(body, BODY_LIMIT).await {
            Ok(bytes) => bytes,
            Err(err) => return err.response(),
        };
        let changes = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(changes)) => changes,
            Ok(_) => return error(StatusCode::BAD_REQUEST, "expected a JSON object"),
            Err(err) => {
                return error(StatusCode::BAD_REQUEST, &format!("invalid JSON: {err}"));
            }
        };
        let mut store = self.store();
        match store.riders.get_mut(&id) {
            Some(rider) => {
                rider.extend(changes);
                json(StatusCode::OK, rider)
            }
            None => rider_not_found(),
        }
    }

    /// Reached through `X-HTTP-Method-Override: DELETE` on a `POST` (or a
    /// plain `DELETE`): no check at all.
    fn delete_rider(&self, raw_id: &str) -> Response<Body> {
        let id = match parse_id(raw_id) {
            Ok(id) => id,
            Err(bad) => return bad.response(),
        };
        let mut store = self.store();
        store.workouts.remove(&id);
        match store.riders.remove(&id) {
            Some(_) => json(StatusCode::OK, &json!({ "deleted": true, "id": id })),
            None => rider_not_found(),
        }
    }

    fn workouts(&self, raw_id: &str) -> Response<Body> {
        let id = match parse_id(raw_id) {
            Ok(id) => id,
            Err(bad) => return bad.response(),
        };
        match self.store().workouts.get(&id) {
            Some(workouts) => json(StatusCode::OK, workouts),
            None => rider_not_found(),
        }
    }

    /// LEAK: an administrator's function with no check of who calls it.
    fn export(&self) -> Response<Body> {
        let store = self.store();
        let all: Vec<&data::Rider> = store.riders.values().collect();
        json(StatusCode::OK, &all)
    }
}

/// The method the handler acts on. LEAK: a `POST` carrying a method-override
/// header becomes that method, so a proxy that filters methods is bypassed.
fn effective_method(req: &Request<Incoming>) -> Method {
    if req.method() != Method::POST {
        return req.method().clone();
    }
    METHOD_OVERRIDE_HEADERS
        .iter()
        .find_map(|name| req.headers().get(*name))
        .and_then(|value| value.to_str().ok())
        .and_then(|value| Method::from_bytes(value.trim().to_ascii_uppercase().as_bytes()).ok())
        .unwrap_or(Method::POST)
}

/// A rider id from its path segment.
///
/// LEAK: anything that is not a number is "passed to the database" and
/// answered with a 500 that spells out the query, the driver's error and a
/// stack trace: free reconnaissance for an attacker.
fn parse_id(raw: &str) -> Result<u64, BadId> {
    let decoded = decode_segment(raw);
    decoded.parse::<u64>().map_err(|_| BadId(decoded))
}

/// A rider id that is not a number, decoded.
struct BadId(String);

impl BadId {
    fn response(&self) -> Response<Body> {
        verbose_sql_error(&self.0)
    }
}

fn verbose_sql_error(input: &str) -> Response<Body> {
    json(
        StatusCode::INTERNAL_SERVER_ERROR,
        &json!({
            "error": "Internal Server Error",
            "exception": format!(
                "QueryFailedError: invalid input syntax for type integer: \"{input}\""
            ),
            "query": format!("SELECT * FROM riders WHERE id = '{input}' LIMIT 1"),
            "stack": [
                "at PostgresQueryRunner.query (/srv/riders-api/node_modules/typeorm/driver/postgres/PostgresQueryRunner.js:211:19)",
                "at RiderRepository.findById (/srv/riders-api/src/repositories/rider.js:42:17)",
                "at RidersController.show (/srv/riders-api/src/controllers/riders.js:88:31)",
                "at Layer.handle (/srv/riders-api/node_modules/express/lib/router/layer.js:95:5)"
            ],
            "db": "postgres 12.5 at db-primary.internal.example:5432 (user riders_app)",
        }),
    )
}

/// LEAK: a debug endpoint left in production. Every value is fake.
fn debug_info() -> Response<Body> {
    json(
        StatusCode::OK,
        &json!({
            "service": "riders-api",
            "build": "2.3.1-debug",
            "environment": "production",
            "database_url": "postgres://riders_app:FAKE-demo-password@db-primary.internal.example:5432/riders",
            "api_key": "FAKE-DEMO-KEY-0000-not-a-real-secret",
            "jwt_signing_secret": "FAKE-demo-jwt-secret-change-me",
            "feature_flags": { "legacy_v1_api": true, "private_profiles_enforced": false },
        }),
    )
}

fn rider_not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "rider not found")
}
