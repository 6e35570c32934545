//! Error signatures: the strings that give away a stack trace, an SQL error
//! or an internal host. Injection and verbose-error checks judge by these,
//! never by a status code: a 500 alone says nothing about why.

/// What a signature reveals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A database error or query text.
    Sql,
    /// A stack trace.
    Stack,
    /// An internal host name, address or connection string.
    InternalHost,
}

impl Kind {
    /// Lowercase name for evidence.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Sql => "sql",
            Kind::Stack => "stack-trace",
            Kind::InternalHost => "internal-host",
        }
    }
}

/// Lowercase substrings and what they reveal.
const SIGNATURES: &[(&str, Kind)] = &[
    ("you have an error in your sql syntax", Kind::Sql),
    ("syntax error at or near", Kind::Sql),
    ("unterminated quoted string", Kind::Sql),
    ("invalid input syntax for", Kind::Sql),
    ("queryfailederror", Kind::Sql),
    ("sqlstate", Kind::Sql),
    ("sqlite3.operationalerror", Kind::Sql),
    ("sqlite_error", Kind::Sql),
    ("psycopg2.", Kind::Sql),
    ("pg::syntaxerror", Kind::Sql),
    ("ora-00933", Kind::Sql),
    ("ora-01756", Kind::Sql),
    ("microsoft ole db provider for sql server", Kind::Sql),
    (
        "unclosed quotation mark after the character string",
        Kind::Sql,
    ),
    ("org.hibernate.", Kind::Sql),
    ("select * from ", Kind::Sql),
    ("traceback (most recent call last)", Kind::Stack),
    ("node_modules/", Kind::Stack),
    ("at java.", Kind::Stack),
    ("at org.springframework", Kind::Stack),
    ("goroutine ", Kind::Stack),
    ("panicked at", Kind::Stack),
    ("stack backtrace", Kind::Stack),
    (".internal.", Kind::InternalHost),
    (".internal:", Kind::InternalHost),
    (".corp.", Kind::InternalHost),
    (".svc.cluster.local", Kind::InternalHost),
];

/// The signatures found in `text`, sorted and unique, with what matched.
pub fn find(text: &str) -> Vec<(Kind, &'static str)> {
    let lower = text.to_ascii_lowercase();
    let mut out: Vec<(Kind, &'static str)> = SIGNATURES
        .iter()
        .filter(|(s, _)| lower.contains(s))
        .map(|(s, k)| (*k, *s))
        .collect();
    if has_stack_frame(&lower) && !out.iter().any(|(k, _)| *k == Kind::Stack) {
        out.push((Kind::Stack, "at fn (/path/file:line:col)"));
    }
    out.sort();
    out.dedup();
    out
}

/// A JavaScript or C# style frame: `at Name (/abs/path/file.ext:12:34)`.
fn has_stack_frame(lower: &str) -> bool {
    lower.match_indices("at ").any(|(i, _)| {
        let rest = lower.get(i + 3..).unwrap_or_default();
        let line = rest.split(['\n', '"']).next().unwrap_or_default();
        line.contains(" (/")
            && line
                .trim_end_matches(')')
                .rsplit(':')
                .take(2)
                .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_and_stack_and_host() {
        let body = r#"{"exception":"QueryFailedError: invalid input syntax for type integer","stack":["at Repo.find (/srv/app/src/repo.js:42:17)"],"db":"db-primary.internal.example:5432"}"#;
        let kinds: Vec<Kind> = find(body).into_iter().map(|(k, _)| k).collect();
        assert!(kinds.contains(&Kind::Sql));
        assert!(kinds.contains(&Kind::Stack));
        assert!(kinds.contains(&Kind::InternalHost));
    }

    #[test]
    fn ordinary_errors_match_nothing() {
        for body in [
            r#"{"error":"rider not found"}"#,
            r#"{"type":"about:blank","title":"Bad Request","detail":"query.limit: must be at most 50"}"#,
            "Internal Server Error",
        ] {
            assert!(find(body).is_empty(), "{body}");
        }
    }
}
