//! The guided tour `rampart demo` prints: each leak shown directly against the
//! sample API, then the same request through Rampart.
//!
//! The tour is data ([`steps`]) before it is text ([`render`]), so a test can
//! execute exactly what is printed and check the statuses it promises. Calls
//! made as a rider carry `Authorization: Bearer $MEMBER` (or `$OWNER`,
//! `$ADMIN`): the printed tour starts with the `export` lines that set those
//! variables to tokens minted for the run. Some steps change the sample API's
//! data, so the order matters: run in order, each step's direct call and then
//! its call through Rampart, the results are the ones printed.

use std::fmt::Write as _;

use http::StatusCode;

use crate::tokens::{Persona, Tokens};

/// One HTTP request of the tour.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The method, e.g. `GET`.
    pub method: &'static str,
    /// The path and query exactly as sent on the wire (already percent-encoded).
    pub path: String,
    /// Who calls: the bearer token of this persona is sent, or none.
    pub auth: Option<Persona>,
    /// Other request headers, in order.
    pub headers: Vec<(&'static str, String)>,
    /// The request body, if any.
    pub body: Option<String>,
}

impl Call {
    fn get(path: &str) -> Self {
        Call {
            method: "GET",
            path: path.to_owned(),
            auth: None,
            headers: Vec::new(),
            body: None,
        }
    }

    fn patch_json(path: &str, body: &str) -> Self {
        Call {
            method: "PATCH",
            path: path.to_owned(),
            auth: None,
            headers: vec![("content-type", "application/json".to_owned())],
            body: Some(body.to_owned()),
        }
    }

    fn as_(mut self, who: Persona) -> Self {
        self.auth = Some(who);
        self
    }

    /// A copy-pasteable curl command sending this call to `base` (e.g.
    /// `http://127.0.0.1:8080`). Every argument that is not made of plainly
    /// safe characters is single-quoted, so bodies with quotes, `$` or
    /// backticks reach curl byte for byte in any POSIX shell; the token is
    /// the one argument in double quotes, so that `$MEMBER` expands.
    pub fn to_curl(&self, base: &str) -> String {
        let mut command = String::from("curl -si");
        if self.method != "GET" {
            command.push_str(" -X ");
            command.push_str(&shell_quote(self.method));
        }
        command.push(' ');
        command.push_str(&shell_quote(&format!(
            "{}{}",
            base.trim_end_matches('/'),
            self.path
        )));
        if let Some(who) = self.auth {
            command.push_str(&format!(" -H \"Authorization: Bearer ${}\"", who.var()));
        }
        for (name, value) in &self.headers {
            command.push_str(" -H ");
            command.push_str(&shell_quote(&format!("{name}: {value}")));
        }
        if let Some(body) = &self.body {
            command.push_str(" --data-raw ");
            command.push_str(&shell_quote(body));
        }
        command
    }
}

/// Quote `arg` for a POSIX shell: as is when every character is harmless,
/// otherwise in single quotes, where only `'` itself needs care (`'\''`).
fn shell_quote(arg: &str) -> String {
    let harmless = |c: char| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c);
    if !arg.is_empty() && !arg.starts_with('=') && arg.chars().all(harmless) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

/// One leak of the tour, with what happens directly and through Rampart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// A short title.
    pub title: &'static str,
    /// The leak, in one or two sentences.
    pub why: &'static str,
    /// The request, sent once directly and once through Rampart.
    pub call: Call,
    /// The sample API's status when called directly.
    pub direct_status: u16,
    /// A substring of the direct response's body that proves the leak.
    pub direct_shows: Option<&'static str>,
    /// Rampart's status for the same call.
    pub through_status: u16,
    /// A substring present in the response through Rampart.
    pub through_shows: Option<&'static str>,
    /// A substring absent from the response through Rampart.
    pub through_hides: Option<&'static str>,
}

/// Jordan's (rider 2's) weight: private, in the full profile only.
const JORDAN_WEIGHT: &str = r#""weight_kg":81.2"#;

/// The tour, in the order it must be run.
pub fn steps() -> Vec<Step> {
    use Persona::{Admin, Member, Owner};
    vec![
        Step {
            title: "Anyone can read a private profile",
            why: "Rider 2 (jordan_lee) made their profile private, yet the API hands it, with \
                  age, weight and city, to anyone who asks. Rampart wants a valid token first.",
            call: Call::get("/api/riders/2"),
            direct_status: 200,
            direct_shows: Some(JORDAN_WEIGHT),
            through_status: 401,
            through_shows: Some("identity.missing"),
            through_hides: Some(JORDAN_WEIGHT),
        },
        Step {
            title: "A login is not a fix: any member reads the private profile",
            why: "Peloton's first fix only required a login, so every member could still read \
                  everyone. Through Rampart, another member gets the restricted view: the \
                  profile without the fields marked owner-only, and without the undeclared \
                  password hash the API adds.",
            call: Call::get("/api/riders/2").as_(Member),
            direct_status: 200,
            direct_shows: Some("password_hash"),
            through_status: 200,
            through_shows: Some(r#""username":"jordan_lee""#),
            through_hides: Some(JORDAN_WEIGHT),
        },
        Step {
            title: "The owner sees their whole profile",
            why: "The same request by the profile's owner gets the full view, still without \
                  the password hash and login IP the contract never declared.",
            call: Call::get("/api/riders/2").as_(Owner),
            direct_status: 200,
            direct_shows: Some("last_login_ip"),
            through_status: 200,
            through_shows: Some(JORDAN_WEIGHT),
            through_hides: Some("password_hash"),
        },
        Step {
            title: "So does an administrator",
            why: "Administrators are a privileged role in the policies: they see full views.",
            call: Call::get("/api/riders/2").as_(Admin),
            direct_status: 200,
            direct_shows: Some("password_hash"),
            through_status: 200,
            through_shows: Some(JORDAN_WEIGHT),
            through_hides: Some("last_login_ip"),
        },
        Step {
            title: "Search leaks every private profile at once",
            why: "Search returns full profiles. Through Rampart each result is decided on its \
                  own: public profiles and the caller's own are shown in full, private ones \
                  are redacted item by item.",
            call: Call::get("/api/riders?limit=20").as_(Member),
            direct_status: 200,
            direct_shows: Some(JORDAN_WEIGHT),
            through_status: 200,
            through_shows: Some(r#""weight_kg":58.9"#),
            through_hides: Some(JORDAN_WEIGHT),
        },
        Step {
            title: "A private rider's workouts",
            why: "Workout history belongs to the rider. The policies let only the owner (and \
                  administrators) list it; to anyone else the workouts do not exist.",
            call: Call::get("/api/riders/2/workouts").as_(Member),
            direct_status: 200,
            direct_shows: Some("calories"),
            through_status: 404,
            through_shows: Some("authz.object"),
            through_hides: Some("calories"),
        },
        Step {
            title: "Editing someone else's profile",
            why: "The API lets any caller change any profile (BOLA on writes). Rampart checks \
                  ownership before the request reaches the API, and answers 404 so the caller \
                  cannot tell a profile that is not theirs from one that does not exist.",
            call: Call::patch_json("/api/riders/3", r#"{"city":"Nowhere"}"#).as_(Member),
            direct_status: 200,
            direct_shows: Some("Nowhere"),
            through_status: 404,
            through_shows: Some("authz.object"),
            through_hides: None,
        },
        Step {
            title: "Mass assignment: make yourself an admin",
            why: "PATCH merges every key it receives, so a member can set their own role. The \
                  contract says only administrators may set role.",
            call: Call::patch_json("/api/riders/4", r#"{"role":"admin"}"#).as_(Member),
            direct_status: 200,
            direct_shows: Some(r#""role":"admin""#),
            through_status: 403,
            through_shows: Some("authz.write-field"),
            through_hides: None,
        },
        Step {
            title: "Inject a property the API never declared",
            why: "Unknown keys are stored too: is_admin means nothing today, and everything \
                  the day some code reads it. The contract's RiderProfile is a closed object.",
            call: Call::patch_json("/api/riders/4", r#"{"is_admin":true}"#).as_(Member),
            direct_status: 200,
            direct_shows: Some(r#""is_admin":true"#),
            through_status: 422,
            through_shows: Some("contract.body.undeclared"),
            through_hides: None,
        },
        Step {
            title: "An administrator's function, called by a member",
            why: "The export of every profile has no role check (BFLA). The policies keep it \
                  for administrators.",
            call: Call::get("/api/admin/export").as_(Member),
            direct_status: 200,
            direct_shows: Some(JORDAN_WEIGHT),
            through_status: 403,
            through_shows: Some("authz.function"),
            through_hides: Some(JORDAN_WEIGHT),
        },
        Step {
            title: "Dump every rider with one search",
            why: "Search ignores its bounds, so limit=100000 returns every profile. The \
                  contract caps limit at 50.",
            call: Call::get("/api/riders?limit=100000").as_(Member),
            direct_status: 200,
            direct_shows: Some(r#""is_private":true"#),
            through_status: 400,
            through_shows: Some("query.limit"),
            through_hides: Some(r#""is_private":true"#),
        },
        Step {
            title: "A forgotten debug endpoint",
            why: "A shadow endpoint the contract does not list answers with a database URL, an \
                  API key and a signing secret (all fake here).",
            call: Call::get("/api/internal/debug"),
            direct_status: 200,
            direct_shows: Some("database_url"),
            through_status: 404,
            through_shows: Some("contract.route.unknown"),
            through_hides: Some("database_url"),
        },
        Step {
            title: "A zombie API version",
            why: "The old v1 route still serves full profiles, secrets included. It is not in \
                  the contract, so through Rampart it does not exist.",
            call: Call::get("/api/v1/riders/2"),
            direct_status: 200,
            direct_shows: Some("last_login_ip"),
            through_status: 404,
            through_shows: None,
            through_hides: Some("last_login_ip"),
        },
        Step {
            title: "Verbose errors from a type confusion",
            why: "A non-numeric id reaches the database and the API answers with its error and \
                  a stack trace. Rampart checks the id's type first.",
            call: Call::get("/api/riders/1%20OR%201=1").as_(Member),
            direct_status: 500,
            direct_shows: Some("invalid input syntax for type integer"),
            through_status: 400,
            through_shows: Some("path.riderId"),
            through_hides: Some("invalid input syntax for type integer"),
        },
        Step {
            title: "Method override: a POST that deletes",
            why: "The API honours X-HTTP-Method-Override, so a POST the contract does not even \
                  declare turns into a DELETE. Rampart refuses override headers outright.",
            call: Call {
                method: "POST",
                path: "/api/riders/5".to_owned(),
                auth: Some(Member),
                headers: vec![("x-http-method-override", "DELETE".to_owned())],
                body: None,
            },
            direct_status: 200,
            direct_shows: Some(r#""deleted":true"#),
            through_status: 400,
            through_shows: Some("normalize.method-override"),
            through_hides: Some(r#""deleted":true"#),
        },
    ]
}

/// The `export` lines that set the tour's token variables.
pub fn exports(tokens: &Tokens) -> String {
    let mut out = String::new();
    for (persona, token) in &tokens.tokens {
        let _ = writeln!(
            out,
            "export {}='{token}'   # {}",
            persona.var(),
            persona.describe()
        );
    }
    out
}

/// The text `rampart demo` prints: for each step its title, the leak, the
/// curl command against the sample API (`upstream_base`) and against Rampart
/// (`gateway_base`), and what each returns.
pub fn render(gateway_base: &str, upstream_base: &str, tokens: &Tokens) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail; the results are ignored for that reason.
    let _ = writeln!(
        out,
        "Rampart demo: a riders API that leaks the way Peloton's did in 2021."
    );
    let _ = writeln!(out);
    let _ = writeln!(out, "  leaky sample API (direct):  {upstream_base}");
    let _ = writeln!(out, "  through Rampart:            {gateway_base}");
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Tokens for the tour (HS256, signed with a secret made for this run, valid 24 h):"
    );
    let _ = writeln!(out);
    let _ = write!(out, "{}", exports(tokens));
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "Run the steps in order: some change the sample API's data (restart the demo to reset it)."
    );
    for (number, step) in (1..).zip(steps()) {
        let _ = writeln!(out);
        let _ = writeln!(out, "{number}. {}", step.title);
        for line in wrap(step.why, 72) {
            let _ = writeln!(out, "   {line}");
        }
        let _ = writeln!(out);
        let _ = writeln!(out, "   directly:");
        let _ = writeln!(out, "     {}", step.call.to_curl(upstream_base));
        let _ = writeln!(out, "     -> {}", direct_outcome(&step));
        let _ = writeln!(out, "   through Rampart:");
        let _ = writeln!(out, "     {}", step.call.to_curl(gateway_base));
        let _ = writeln!(out, "     -> {}", through_outcome(&step));
    }
    out
}

fn status_line(code: u16) -> String {
    let reason = StatusCode::from_u16(code)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("");
    format!("{code} {reason}").trim_end().to_owned()
}

fn direct_outcome(step: &Step) -> String {
    let status = status_line(step.direct_status);
    match step.direct_shows {
        Some(shows) => format!("{status}, and the body shows {shows}"),
        None => status,
    }
}

fn through_outcome(step: &Step) -> String {
    let status = status_line(step.through_status);
    if step.through_status >= 400 {
        match step.through_shows {
            Some(rule) if step.through_status == 401 || rule.contains('.') => {
                format!("{status} ({rule}): stopped before it reaches the API")
            }
            _ => format!("{status}: stopped before it reaches the API"),
        }
    } else {
        match (step.through_shows, step.through_hides) {
            (Some(shows), Some(hidden)) => {
                format!("{status}, the body shows {shows} but not {hidden}")
            }
            (None, Some(hidden)) => format!("{status}, without {hidden}"),
            (Some(shows), None) => format!("{status}, the body shows {shows}"),
            (None, None) => status,
        }
    }
}

/// Greedy word wrap; a word longer than `width` gets a line of its own.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "in tests a panic is the failure report")]
mod tests {
    use super::*;

    #[test]
    fn harmless_arguments_stay_bare_and_the_rest_is_quoted() {
        assert_eq!(
            shell_quote("http://127.0.0.1:3000/api/riders/2"),
            "http://127.0.0.1:3000/api/riders/2"
        );
        assert_eq!(
            shell_quote("http://h/api/riders?limit=5"),
            "'http://h/api/riders?limit=5'"
        );
        assert_eq!(shell_quote(r#"{"a":"it's"}"#), r#"'{"a":"it'\''s"}'"#);
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("=x"), "'=x'");
    }

    #[test]
    fn curl_commands_carry_method_headers_and_body() {
        let call = Call::patch_json("/api/riders/3", r#"{"role":"admin"}"#);
        assert_eq!(
            call.to_curl("http://127.0.0.1:3000/"),
            r#"curl -si -X PATCH http://127.0.0.1:3000/api/riders/3 -H 'content-type: application/json' --data-raw '{"role":"admin"}'"#
        );
    }

    #[test]
    fn render_prints_every_step_against_both_bases() {
        let tokens = Tokens::mint_all(&crate::tokens::new_secret().unwrap()).unwrap();
        let text = render("http://gw:8080", "http://up:3000", &tokens);
        for p in Persona::ALL {
            assert!(
                text.contains(&format!("export {}='{}'", p.var(), tokens.get(p))),
                "{text}"
            );
        }
        for (number, step) in (1..).zip(steps()) {
            assert!(
                text.contains(&format!("{number}. {}", step.title)),
                "{text}"
            );
            assert!(text.contains(&step.call.to_curl("http://gw:8080")));
            assert!(text.contains(&step.call.to_curl("http://up:3000")));
        }
        assert!(
            text.lines()
                .filter(|l| !l.starts_with("export "))
                .all(|line| line.len() <= 160),
            "{text}"
        );
    }

    #[test]
    fn wrap_respects_width() {
        let lines = wrap("aaa bbb ccc ddd", 7);
        assert_eq!(lines, ["aaa bbb", "ccc ddd"]);
    }
}
