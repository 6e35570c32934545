//! JSON pointer helpers (RFC 6901) used by `$ref` resolution and error locations.

use serde_json::Value;

/// Escape one reference token (`~` -> `~0`, `/` -> `~1`).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Unescape one reference token.
pub fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Append a token to a pointer.
pub fn push(base: &str, token: &str) -> String {
    let mut s = String::with_capacity(base.len() + token.len() + 1);
    s.push_str(base);
    s.push('/');
    s.push_str(&escape(token));
    s
}

/// Resolve `pointer` in `doc`. On failure, returns the longest prefix that did
/// resolve and the token that was missing, so messages can say exactly where
/// the path broke.
pub fn resolve<'a>(doc: &'a Value, pointer: &str) -> Result<&'a Value, (String, String)> {
    if pointer.is_empty() {
        return Ok(doc);
    }
    let Some(rest) = pointer.strip_prefix('/') else {
        return Err((String::new(), pointer.to_string()));
    };
    let mut cur = doc;
    let mut walked = String::new();
    for raw in rest.split('/') {
        let token = unescape(raw);
        let next = match cur {
            Value::Object(m) => m.get(&token),
            Value::Array(a) => token.parse::<usize>().ok().and_then(|i| a.get(i)),
            _ => None,
        };
        match next {
            Some(v) => {
                cur = v;
                walked.push('/');
                walked.push_str(raw);
            }
            None => return Err((walked, token)),
        }
    }
    Ok(cur)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_escaped_tokens() {
        let doc = json!({"paths": {"/a/b": {"get": {"x~y": [1, 2]}}}});
        assert_eq!(resolve(&doc, "/paths/~1a~1b/get/x~0y/1"), Ok(&json!(2)));
        assert_eq!(push("/paths", "/a/b"), "/paths/~1a~1b");
    }

    #[test]
    fn reports_where_resolution_broke() {
        let doc = json!({"components": {"schemas": {"A": {}}}});
        let err = resolve(&doc, "/components/schemas/B").unwrap_err();
        assert_eq!(err, ("/components/schemas".to_string(), "B".to_string()));
    }
}
