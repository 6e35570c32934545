//! The web dashboard: one HTML page, one script and one stylesheet,
//! compiled into the binary.
//!
//! Hand-written, with no framework and no build step, so that building or
//! running Rampart needs no Node or npm and the page has nothing to audit
//! but these three files. The script builds every element with
//! `textContent` and `setAttribute`, never `innerHTML`: event contents come
//! from attackers (paths, user names, error details), and the CSP set on
//! every admin response forbids inline script besides.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

const INDEX: &str = include_str!("../assets/index.html");
const LOGIN: &str = include_str!("../assets/login.html");
const APP_JS: &str = include_str!("../assets/app.js");
const APP_CSS: &str = include_str!("../assets/app.css");

fn html(body: &'static str) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// `GET /`: the dashboard (behind the session check).
pub async fn index() -> Response {
    html(INDEX)
}

/// `GET /login`: the token form. A failed attempt comes back with
/// `?failed`, and the page's script shows the message (no query value is
/// ever echoed into the page).
pub async fn login_page() -> Response {
    html(LOGIN)
}

/// `GET /assets/{name}`: the script and the stylesheet.
pub async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind) = match name.as_str() {
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        _ => return crate::problem(StatusCode::NOT_FOUND, "no such asset"),
    };
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(kind))],
        body,
    )
        .into_response()
}
