//! Matching a normalized path to an operation.
//!
//! `matchit` does the matching (a radix trie, static segments before
//! parameters). It sees the *decoded* route path produced by the normalizer,
//! in which no segment can contain `/`, so a path parameter always matches
//! exactly one segment. Parameters are renamed positionally (`p0`, `p1`, ...)
//! before insertion: OpenAPI documents routinely name the same position
//! differently in sibling paths (`/accounts/{AccountSid}/calls/{Sid}` next to
//! `/accounts/{Sid}`), which `matchit` would reject as a conflict.

use http::Method;

/// The methods OpenAPI path items can declare.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

#[derive(Debug, Default, Clone)]
struct Entry {
    ops: Vec<(Method, usize)>,
}

/// Routes of one contract.
#[derive(Default)]
pub struct Router {
    inner: matchit::Router<Entry>,
    templates: Vec<(String, Entry)>,
}

impl std::fmt::Debug for Router {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Router")
            .field("routes", &self.templates.len())
            .finish()
    }
}

/// The outcome of matching.
#[derive(Debug, PartialEq, Eq)]
pub enum RouteMatch {
    /// An operation matched; path parameter values in positional order.
    Found {
        /// Index into the contract's operations.
        op: usize,
        /// Values of `p0`, `p1`, ... (decoded segments).
        values: Vec<String>,
    },
    /// The path exists but not with this method.
    MethodNotAllowed {
        /// The methods that exist for the path.
        allowed: Vec<Method>,
    },
    /// No declared path matches.
    NotFound,
}

/// Most path parameters one template may have.
pub const MAX_PARAMS: usize = 16;

/// Convert an OpenAPI template (already prefixed with the base path, trailing
/// slash removed) to a matchit route. Returns the route and the parameter names
/// in order, or an error message.
pub fn to_matchit(template: &str) -> Result<(String, Vec<String>), String> {
    // matchit panics on a route with more than 25 parameters; a spec is
    // input, so the limit is checked here (with room to spare) and reported.
    let params = template.matches('{').count();
    if params > MAX_PARAMS {
        return Err(format!(
            "the template has {params} parameters; at most {MAX_PARAMS} are supported"
        ));
    }
    let mut route = String::with_capacity(template.len());
    let mut names = Vec::new();
    for (i, seg) in template.split('/').enumerate() {
        if i > 0 {
            route.push('/');
        }
        let opens = seg.matches('{').count();
        if opens > 1 {
            return Err(format!(
                "segment \"{seg}\" has {opens} parameters; one parameter per segment is supported"
            ));
        }
        match (seg.find('{'), seg.find('}')) {
            (Some(a), Some(b)) if a < b => {
                let name = &seg[a + 1..b];
                if name.is_empty() {
                    return Err(format!("empty parameter name in \"{seg}\""));
                }
                route.push_str(&seg[..a]);
                route.push_str(&format!("{{p{}}}", names.len()));
                route.push_str(&seg[b + 1..]);
                names.push(name.to_string());
            }
            (None, None) => route.push_str(seg),
            _ => return Err(format!("unbalanced braces in \"{seg}\"")),
        }
    }
    Ok((route, names))
}

impl Router {
    /// Add an operation under a matchit route.
    pub fn add(&mut self, route: &str, method: Method, op: usize) -> Result<(), String> {
        if let Some((_, e)) = self.templates.iter_mut().find(|(t, _)| t == route) {
            if e.ops.iter().any(|(m, _)| *m == method) {
                return Err(format!("{method} {route} is declared twice"));
            }
            e.ops.push((method, op));
            return Ok(());
        }
        self.templates.push((
            route.to_string(),
            Entry {
                ops: vec![(method, op)],
            },
        ));
        Ok(())
    }

    /// Build the trie once every operation is added.
    pub fn build(&mut self) -> Result<(), String> {
        let mut inner = matchit::Router::new();
        for (route, entry) in &self.templates {
            inner
                .insert(route.clone(), entry.clone())
                .map_err(|e| format!("{route}: {e}"))?;
        }
        self.inner = inner;
        Ok(())
    }

    /// Match a decoded route path.
    pub fn at(&self, method: &Method, path: &str) -> RouteMatch {
        let Ok(m) = self.inner.at(path) else {
            return RouteMatch::NotFound;
        };
        let lookup = if method == Method::HEAD {
            // HEAD is served by GET when the contract declares no HEAD.
            m.value
                .ops
                .iter()
                .find(|(mm, _)| mm == method)
                .or_else(|| m.value.ops.iter().find(|(mm, _)| mm == Method::GET))
        } else {
            m.value.ops.iter().find(|(mm, _)| mm == method)
        };
        match lookup {
            Some((_, op)) => {
                let mut values = vec![String::new(); m.params.len()];
                for (k, v) in m.params.iter() {
                    if let Some(i) = k.strip_prefix('p').and_then(|n| n.parse::<usize>().ok())
                        && let Some(slot) = values.get_mut(i)
                    {
                        *slot = v.to_string();
                    }
                }
                RouteMatch::Found { op: *op, values }
            }
            None => RouteMatch::MethodNotAllowed {
                allowed: m.value.ops.iter().map(|(mm, _)| mm.clone()).collect(),
            },
        }
    }

    /// Number of distinct paths.
    pub fn len(&self) -> usize {
        self.templates.len()
    }

    /// Whether no path is routed.
    pub fn is_empty(&self) -> bool {
        self.templates.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `router` fuzz target: a template with 30 parameters made
    /// matchit panic ("Too many route parameters") while building the router,
    /// which would take the gateway down on start-up or reload.
    #[test]
    fn fuzz_crash_too_many_parameters_is_an_error_not_a_panic() {
        const CRASH: &str = "/api/{a}/api/{a}/ia/p)/{!}//{.}//{!}a/xp{a}/a{a}/i{a}/ap)/{!}//{.}//{!}a/p)/{!}//{.}//{!}a/{!}//{.}//{!}a/p)/{!}//{.}/x/ia/p)/{!}//{.}//{!}a/xp{a}/a{a}/i{a}/ap)/{!}//{.}//{!}a/p)/{!}//{.}//{!}a/{!}//{.}//{!}a/p)/{!}//{.}/xp";
        let err = to_matchit(CRASH).unwrap_err();
        assert!(err.contains("at most 16"), "{err}");
        // The most a template may have still builds.
        let template: String = (0..MAX_PARAMS).map(|i| format!("/s/{{p{i}}}")).collect();
        let (route, names) = to_matchit(&template).unwrap();
        assert_eq!(names.len(), MAX_PARAMS);
        let mut r = Router::default();
        r.add(&route, Method::GET, 0).unwrap();
        r.build().unwrap();
    }

    #[test]
    fn positional_names_avoid_sibling_conflicts() {
        let mut r = Router::default();
        let (a, na) = to_matchit("/accounts/{AccountSid}/calls/{Sid}.json").unwrap();
        let (b, nb) = to_matchit("/accounts/{Sid}.json").unwrap();
        let (c, _) = to_matchit("/accounts/{AccountSid}/calls.json").unwrap();
        assert_eq!(na, vec!["AccountSid", "Sid"]);
        assert_eq!(nb, vec!["Sid"]);
        r.add(&a, Method::GET, 0).unwrap();
        r.add(&b, Method::GET, 1).unwrap();
        r.add(&c, Method::POST, 2).unwrap();
        r.build().unwrap();
        assert_eq!(
            r.at(&Method::GET, "/accounts/AC1/calls/CA2.json"),
            RouteMatch::Found {
                op: 0,
                values: vec!["AC1".into(), "CA2".into()]
            }
        );
        assert_eq!(
            r.at(&Method::GET, "/accounts/AC1.json"),
            RouteMatch::Found {
                op: 1,
                values: vec!["AC1".into()]
            }
        );
        assert_eq!(
            r.at(&Method::GET, "/accounts/AC1/calls.json"),
            RouteMatch::MethodNotAllowed {
                allowed: vec![Method::POST]
            }
        );
        assert_eq!(r.at(&Method::GET, "/nope"), RouteMatch::NotFound);
    }

    #[test]
    fn static_segments_win_over_parameters() {
        let mut r = Router::default();
        r.add(&to_matchit("/users/{id}").unwrap().0, Method::GET, 0)
            .unwrap();
        r.add(&to_matchit("/users/me").unwrap().0, Method::GET, 1)
            .unwrap();
        r.build().unwrap();
        assert!(matches!(
            r.at(&Method::GET, "/users/me"),
            RouteMatch::Found { op: 1, .. }
        ));
        assert!(matches!(
            r.at(&Method::GET, "/users/42"),
            RouteMatch::Found { op: 0, .. }
        ));
    }

    #[test]
    fn two_parameters_in_one_segment_are_refused() {
        assert!(to_matchit("/a/{x}-{y}").is_err());
    }
}
