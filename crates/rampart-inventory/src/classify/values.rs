//! The value-shape predicates the classifier combines with field names:
//! each answers "does this string look like X", in a few byte checks.

/// Values that are secrets whatever their field is called: JWTs, password
/// hashes, private keys, well-known token formats and URLs with a password.
pub(super) fn is_secret_value(s: &str) -> bool {
    const PREFIXES: &[&str] = &[
        "$2a$",
        "$2b$",
        "$2y$",
        "$argon2",
        "$scrypt$",
        "$pbkdf2",
        "$6$",
        "$5$",
        "$1$",
        "-----BEGIN",
        "ghp_",
        "gho_",
        "ghs_",
        "github_pat_",
        "glpat-",
        "xoxb-",
        "xoxp-",
        "xoxa-",
        "sk_live_",
        "rk_live_",
        "sk-proj-",
        "AIza",
    ];
    if PREFIXES.iter().any(|p| s.starts_with(p)) {
        return !s.starts_with("-----BEGIN") || s.contains("PRIVATE KEY");
    }
    if is_aws_access_key(s) || is_jwt(s) {
        return true;
    }
    url_has_password(s)
}

fn is_aws_access_key(s: &str) -> bool {
    s.len() == 20
        && (s.starts_with("AKIA") || s.starts_with("ASIA"))
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// Three base64url parts, the first a JSON header (`eyJ` is `{"`).
fn is_jwt(s: &str) -> bool {
    let parts: Vec<&str> = s.split('.').collect();
    parts.len() == 3
        && s.starts_with("eyJ")
        && parts[1].len() >= 4
        && parts.iter().all(|p| {
            p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// `scheme://user:password@host...`.
fn url_has_password(s: &str) -> bool {
    let Some((scheme, rest)) = s.split_once("://") else {
        return false;
    };
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+')
    {
        return false;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            !host.is_empty()
                && userinfo
                    .split_once(':')
                    .is_some_and(|(_, password)| !password.is_empty())
        }
        None => false,
    }
}

/// Values that hold nothing secret even under a secret's name.
pub(super) fn is_placeholder(s: &str) -> bool {
    matches!(
        s.to_ascii_lowercase().as_str(),
        "null" | "none" | "n/a" | "redacted" | "***" | "********" | "true" | "false" | "bearer"
    ) || s.bytes().all(|b| b == b'*' || b == b'x' || b == b'X')
}

/// A plain `local@domain.tld` address.
pub(super) fn is_email(s: &str) -> bool {
    if s.len() > 254 || s.contains(char::is_whitespace) {
        return false;
    }
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._%+-'".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && !l.starts_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    local_ok && domain_ok
}

/// `+` and 8 to 15 digits (E.164), spaces and dashes allowed between.
pub(super) fn is_e164(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('+') else {
        return false;
    };
    let digits = rest.bytes().filter(u8::is_ascii_digit).count();
    (8..=15).contains(&digits)
        && !rest.starts_with('0')
        && rest
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b' ' || b == b'-')
}

/// 7 to 15 digits with the punctuation phone numbers are written with.
pub(super) fn is_phone(s: &str) -> bool {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b" +-().".contains(&b) || b == b'x')
}

/// `YYYY-MM-DD` (optionally followed by a time), `DD/MM/YYYY` or
/// `MM/DD/YYYY`.
pub(super) fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|part| part.iter().all(u8::is_ascii_digit))
    };
    let iso = b.len() >= 10
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10);
    let slashed = b.len() == 10
        && digits(0..2)
        && b[2] == b'/'
        && digits(3..5)
        && b[5] == b'/'
        && digits(6..10);
    iso || slashed
}

/// A US social security number in its written layout, with the ranges
/// never issued excluded (area 000, 666, 9xx; group 00; serial 0000).
pub(super) fn is_ssn(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 11 || b[3] != b'-' || b[6] != b'-' {
        return false;
    }
    let (area, group, serial) = (&s[0..3], &s[4..6], &s[7..11]);
    let all_digits = |p: &str| p.bytes().all(|c| c.is_ascii_digit());
    all_digits(area)
        && all_digits(group)
        && all_digits(serial)
        && area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000"
}

/// What an identifier under a government id's name looks like: 6 to 20
/// characters, digits among them, letters, digits and `-`/space only.
pub(super) fn is_id_like(s: &str) -> bool {
    (6..=20).contains(&s.len())
        && s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b' ')
}

/// `48.8566,2.3522` or `48.8566, 2.3522`.
pub(super) fn is_coordinate_text(s: &str) -> bool {
    let Some((a, b)) = s.split_once(',') else {
        return false;
    };
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(a), Ok(b)) => a.abs() <= 180.0 && b.abs() <= 180.0 && a.fract() != 0.0,
        _ => false,
    }
}

/// 13 to 19 digits, Luhn-valid, starting like a card of a major brand
/// (Visa 4, Mastercard 51-55 and 2221-2720, Amex 34/37, Discover 6011/65,
/// JCB 35, Diners 30/36/38), and not one repeated digit. The prefix rule is
/// what keeps millisecond timestamps (`17...`) and most ids out: one random
/// number in ten passes Luhn.
pub(super) fn is_card_number(digits: &str) -> bool {
    let len = digits.len();
    if !(13..=19).contains(&len) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let first = digits.as_bytes()[0];
    if digits.bytes().all(|b| b == first) {
        return false;
    }
    let prefix = |n: usize| {
        digits
            .get(..n)
            .and_then(|p| p.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let brand = matches!(prefix(1), 4)
        || (51..=55).contains(&prefix(2))
        || (2221..=2720).contains(&prefix(4))
        || matches!(prefix(2), 34 | 37 | 35 | 30 | 36 | 38 | 65)
        || prefix(4) == 6011;
    brand && luhn(digits)
}

fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b - b'0');
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}
