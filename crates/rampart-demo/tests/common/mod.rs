//! Helpers shared by the integration tests: real servers on ephemeral
//! loopback ports, a client that ignores proxy settings, and validators
//! built from the bundled specs.

#![allow(dead_code, reason = "each test binary uses a different subset")]
#![allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]

use std::future::Future;
use std::io;

use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Start `run` on 127.0.0.1:0 and return its base URL. The server lives as
/// long as the test's runtime.
pub async fn spawn<F, Fut>(run: F) -> String
where
    F: FnOnce(TcpListener) -> Fut,
    Fut: Future<Output = io::Result<()>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(run(listener));
    format!("http://{addr}")
}

/// A client that never goes through an environment proxy.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// A validator for `schema`, whose `$ref`s point into `spec`'s components.
pub fn validator(spec: &str, schema: Value) -> jsonschema::Validator {
    let document: Value = serde_saphyr::from_str(spec).unwrap();
    let mut root = json!({ "components": document["components"].clone() });
    if let (Value::Object(root), Value::Object(schema)) = (&mut root, schema) {
        root.extend(schema);
    }
    jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap()
}

/// Panic with every violation if `instance` does not satisfy `validator`.
pub fn assert_valid(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}\n{instance:#}");
}
