//! The router: arbitrary OpenAPI path templates (a spec is input too), and
//! arbitrary decoded paths against a fixed set of routes.
#![no_main]

use std::sync::OnceLock;

use http::Method;
use libfuzzer_sys::fuzz_target;
use rampart_contract::router::{RouteMatch, Router, to_matchit};

fn fixed() -> &'static Router {
    static ROUTER: OnceLock<Router> = OnceLock::new();
    ROUTER.get_or_init(|| {
        let mut r = Router::default();
        for (i, (t, m)) in [
            ("/api/riders", Method::GET),
            ("/api/riders", Method::POST),
            ("/api/riders/{riderId}", Method::GET),
            ("/api/riders/{riderId}", Method::PATCH),
            ("/api/riders/{riderId}/workouts/{workoutId}", Method::GET),
            ("/api/riders/me", Method::GET),
            ("/api/files/{name}", Method::GET),
            ("/api/{version}/status", Method::GET),
        ]
        .into_iter()
        .enumerate()
        {
            let (route, _) = to_matchit(t).expect("a valid template");
            r.add(&route, m, i).expect("no conflict");
        }
        r.build().expect("the routes build");
        r
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // The first line is a template to compile into a router of its own;
    // the rest is a path to match against the fixed routes and that one.
    let (template, path) = text.split_once('\n').unwrap_or((text, text));
    if let RouteMatch::Found { op, values } = fixed().at(&Method::GET, path) {
        assert!(op < 8);
        assert!(values.iter().all(|v| !v.contains('/')), "{values:?}");
    }
    let _ = fixed().at(&Method::DELETE, path);
    if let Ok((route, names)) = to_matchit(template) {
        let mut r = Router::default();
        if r.add(&route, Method::GET, 0).is_ok()
            && r.build().is_ok()
            && let RouteMatch::Found { values, .. } = r.at(&Method::GET, path)
        {
            assert_eq!(values.len(), names.len());
        }
    }
});
