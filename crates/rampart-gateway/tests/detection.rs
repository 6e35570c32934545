//! Behavioural detection in the pipeline: a client walking object ids is
//! blocked (403 `detect.blocked`) before it reaches the upstream again.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use support::{Gateway, Upstream, riders_reply};

#[tokio::test]
async fn an_id_walk_gets_the_walker_blocked() {
    let upstream = Upstream::start(riders_reply).await;
    let gw = Gateway::builder(support::RIDERS, &upstream)
        .config(json!({
            "store": {"sink": "off"},
            "detection": {"shared_ip_factor": 1, "enumeration": {"sequential_run": 5, "action": "block"}}
        }))
        .start()
        .await;
    let mut statuses = Vec::new();
    for id in 1..=12 {
        statuses.push(gw.get(&format!("/api/riders/{id}")).await.status);
    }
    let first_block = statuses
        .iter()
        .position(|s| *s == 403)
        .expect("the walk is blocked");
    assert!(
        first_block <= 6,
        "blocked after about 5 sequential ids: {statuses:?}"
    );
    assert!(
        statuses[first_block..].iter().all(|s| *s == 403),
        "{statuses:?}"
    );
    assert_eq!(
        upstream.requests().len(),
        first_block,
        "blocked requests never reach the upstream"
    );
    let blocked = gw.get("/api/riders/99").await;
    blocked.assert_problem(403, "detect.blocked");
    gw.finish().await;
}
