//! The sensitive-data classifier: which kinds of personal or secret data a
//! JSON response carries, and where — never the values.
//!
//! It runs on sampled responses in the gateway, so it must be cheap and it
//! must not keep what it reads: the output is a list of (pointer template,
//! class) pairs, with array indices collapsed to `*` so that a list of a
//! thousand riders gives one `/*/email`, not a thousand pointers.
//!
//! Each class is decided by the value's shape, helped by the field's name
//! where the shape alone is ambiguous. A date is only a birth date under a
//! name that says so; nine digits are only a social security number in the
//! `AAA-GG-SSSS` layout or under a name such as `ssn`; a long number is only
//! a card number if it passes the Luhn check *and* starts like a card
//! (which rules out ids, millisecond timestamps and phone numbers). The
//! checks are small hand-written predicates rather than regexes: each is a
//! few lines, and a single byte scan beats compiling and running a dozen
//! patterns per string on the response path.

mod values;

use std::collections::BTreeSet;
use std::net::IpAddr;

use values::{
    is_card_number, is_coordinate_text, is_e164, is_email, is_id_like, is_phone, is_placeholder,
    is_secret_value, is_ssn, looks_like_date,
};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A kind of sensitive data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataClass {
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// A date of birth.
    BirthDate,
    /// Geographic coordinates.
    Geo,
    /// A payment card number (Luhn-valid, with a card brand's prefix).
    CardNumber,
    /// A password, password hash, token, API key, private key or
    /// credentials in a URL.
    Secret,
    /// A government identifier (social security number, passport, tax id).
    GovernmentId,
    /// An IP address (personal data in most privacy laws).
    IpAddress,
}

impl DataClass {
    /// Every class, in order.
    pub const ALL: [DataClass; 8] = [
        DataClass::Email,
        DataClass::Phone,
        DataClass::BirthDate,
        DataClass::Geo,
        DataClass::CardNumber,
        DataClass::Secret,
        DataClass::GovernmentId,
        DataClass::IpAddress,
    ];

    /// The class as stored and printed.
    pub fn as_str(self) -> &'static str {
        match self {
            DataClass::Email => "email",
            DataClass::Phone => "phone",
            DataClass::BirthDate => "birth_date",
            DataClass::Geo => "geo",
            DataClass::CardNumber => "card_number",
            DataClass::Secret => "secret",
            DataClass::GovernmentId => "government_id",
            DataClass::IpAddress => "ip_address",
        }
    }

    /// The class named `s` (as [`as_str`](Self::as_str) writes it).
    pub fn parse(s: &str) -> Option<DataClass> {
        DataClass::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// One class of data found at one place of a response.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FieldClass {
    /// JSON pointer template of the field: RFC 6901 escaping, array
    /// indices replaced by `*` (`/*/email`, `/rider/cards/*/number`).
    pub pointer: String,
    /// What the field holds.
    pub class: DataClass,
}

/// Deepest nesting walked; deeper values are not classified.
const MAX_DEPTH: usize = 32;
/// Most values looked at per response, so a huge body costs a bounded time.
const MAX_NODES: usize = 20_000;
/// Array items looked at per array: the pointer template is the same for
/// every item, so a few items show what the array holds.
const ITEMS_PER_ARRAY: usize = 16;
/// Longest string inspected (longer ones are only checked for secrets'
/// prefixes).
const MAX_STRING: usize = 4096;

/// The (pointer template, class) pairs of a JSON value, sorted and
/// distinct. Values are read, never copied into the result.
pub fn classify(value: &Value) -> Vec<FieldClass> {
    let mut walk = Walk {
        found: BTreeSet::new(),
        nodes: 0,
        pointer: String::new(),
    };
    walk.value(value, None, 0);
    walk.found.into_iter().collect()
}

struct Walk {
    found: BTreeSet<FieldClass>,
    nodes: usize,
    pointer: String,
}

impl Walk {
    fn value(&mut self, value: &Value, key: Option<&Key>, depth: usize) {
        self.nodes += 1;
        if self.nodes > MAX_NODES || depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(map) => {
                let geo = is_geo_object(map);
                for (name, child) in map {
                    let len = self.pointer.len();
                    self.pointer.push('/');
                    push_escaped(&mut self.pointer, name);
                    let key = Key::new(name);
                    if geo && key.is_coordinate() && child.is_number() {
                        self.add(DataClass::Geo);
                    }
                    self.value(child, Some(&key), depth + 1);
                    self.pointer.truncate(len);
                }
            }
            Value::Array(items) => {
                if let Some(key) = key
                    && key.is_geo_container()
                    && is_coordinate_pair(items)
                {
                    self.add(DataClass::Geo);
                    return;
                }
                let len = self.pointer.len();
                self.pointer.push_str("/*");
                for item in items.iter().take(ITEMS_PER_ARRAY) {
                    // Items inherit the array's name: `emails: ["a@b.c"]`.
                    self.value(item, key, depth + 1);
                }
                self.pointer.truncate(len);
            }
            Value::String(s) => {
                if let Some(class) = classify_string(s, key) {
                    self.add(class);
                }
            }
            Value::Number(n) => {
                if let Some(class) = classify_number(n, key) {
                    self.add(class);
                }
            }
            Value::Bool(_) | Value::Null => {}
        }
    }

    fn add(&mut self, class: DataClass) {
        if !self
            .found
            .iter()
            .any(|f| f.class == class && f.pointer == self.pointer)
        {
            self.found.insert(FieldClass {
                pointer: self.pointer.clone(),
                class,
            });
        }
    }
}

/// RFC 6901: `~` is `~0` and `/` is `~1` in a pointer token.
fn push_escaped(out: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => out.push_str("~0"),
            '/' => out.push_str("~1"),
            c => out.push(c),
        }
    }
}

/// A field name, lowercased with `_`, `-` and `.` removed, so that
/// `dateOfBirth`, `date_of_birth` and `Date-Of-Birth` read the same.
struct Key {
    squashed: String,
}

impl Key {
    fn new(name: &str) -> Key {
        Key {
            squashed: name
                .chars()
                .filter(|c| !matches!(c, '_' | '-' | '.' | ' '))
                .flat_map(char::to_lowercase)
                .collect(),
        }
    }

    fn has(&self, words: &[&str]) -> bool {
        words.iter().any(|w| self.squashed.contains(w))
    }

    fn is(&self, words: &[&str]) -> bool {
        words.contains(&self.squashed.as_str())
    }

    fn is_secret(&self) -> bool {
        self.has(&[
            "password",
            "passwd",
            "passphrase",
            "secret",
            "apikey",
            "accesskey",
            "privatekey",
            "token",
            "credential",
            "sessionid",
            "signingkey",
            "authorization",
        ]) || self.is(&["pwd", "pass", "salt", "otp", "pin", "cvv", "cvc"])
    }

    fn is_birth(&self) -> bool {
        self.has(&["birth", "dob"])
    }

    fn is_phone(&self) -> bool {
        self.has(&["phone", "mobile", "msisdn", "telephone", "cell"]) || self.is(&["tel", "fax"])
    }

    fn is_government_id(&self) -> bool {
        self.has(&[
            "ssn",
            "socialsecurity",
            "nationalid",
            "nationalinsurance",
            "passport",
            "taxid",
            "driverslicense",
            "driverlicense",
            "licensenumber",
        ]) || self.is(&["tin", "sin", "nino", "nif", "cpf"])
    }

    fn is_ip(&self) -> bool {
        self.is(&["ip", "ipaddress", "ipaddr", "clientip", "remoteip"])
            || self.squashed.ends_with("ip")
            || self.squashed.ends_with("ipaddress")
    }

    fn is_coordinate(&self) -> bool {
        self.is(&["lat", "latitude", "lng", "lon", "long", "longitude"])
    }

    fn is_geo_container(&self) -> bool {
        self.has(&[
            "coordinates",
            "coords",
            "location",
            "position",
            "geo",
            "latlng",
            "latlon",
        ])
    }
}

/// Both a latitude and a longitude among an object's numeric members:
/// `lat` alone could be anything.
fn is_geo_object(map: &serde_json::Map<String, Value>) -> bool {
    let mut lat = false;
    let mut lon = false;
    for (name, value) in map {
        let Some(v) = value.as_f64() else { continue };
        match Key::new(name).squashed.as_str() {
            "lat" | "latitude" if (-90.0..=90.0).contains(&v) => lat = true,
            "lng" | "lon" | "long" | "longitude" if (-180.0..=180.0).contains(&v) => lon = true,
            _ => {}
        }
    }
    lat && lon
}

/// `[lon, lat]` (GeoJSON) or `[lat, lon]`: two non-integral numbers in range.
fn is_coordinate_pair(items: &[Value]) -> bool {
    match items {
        [Value::Number(a), Value::Number(b)] => match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) => {
                a.abs() <= 180.0 && b.abs() <= 180.0 && (a.fract() != 0.0 || b.fract() != 0.0)
            }
            _ => false,
        },
        _ => false,
    }
}

fn classify_number(n: &serde_json::Number, key: Option<&Key>) -> Option<DataClass> {
    // Integers only: card numbers and phone numbers stored as numbers.
    let digits = n.as_u64()?.to_string();
    if is_card_number(&digits) {
        return Some(DataClass::CardNumber);
    }
    let key = key?;
    if key.is_phone() && (7..=15).contains(&digits.len()) {
        return Some(DataClass::Phone);
    }
    if key.is_government_id() && (6..=12).contains(&digits.len()) {
        return Some(DataClass::GovernmentId);
    }
    None
}

fn classify_string(s: &str, key: Option<&Key>) -> Option<DataClass> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if is_secret_value(s) {
        return Some(DataClass::Secret);
    }
    if s.len() > MAX_STRING {
        return None;
    }
    if let Some(key) = key {
        if key.is_secret() && !is_placeholder(s) {
            return Some(DataClass::Secret);
        }
        if key.is_birth() && looks_like_date(s) {
            return Some(DataClass::BirthDate);
        }
        if key.is_government_id() && is_id_like(s) {
            return Some(DataClass::GovernmentId);
        }
        if key.is_phone() && is_phone(s) {
            return Some(DataClass::Phone);
        }
        if key.is_ip() && s.parse::<IpAddr>().is_ok() {
            return Some(DataClass::IpAddress);
        }
        if key.is_geo_container() && is_coordinate_text(s) {
            return Some(DataClass::Geo);
        }
    }
    if is_email(s) {
        return Some(DataClass::Email);
    }
    if is_ssn(s) {
        return Some(DataClass::GovernmentId);
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if s.chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-')
        && is_card_number(&digits)
    {
        return Some(DataClass::CardNumber);
    }
    if is_e164(s) {
        return Some(DataClass::Phone);
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn classes(v: Value) -> Vec<(String, &'static str)> {
        classify(&v)
            .into_iter()
            .map(|f| (f.pointer, f.class.as_str()))
            .collect()
    }

    fn pairs(expected: &[(&str, &'static str)]) -> Vec<(String, &'static str)> {
        expected.iter().map(|(p, c)| (p.to_string(), *c)).collect()
    }

    #[test]
    fn a_leaky_rider_profile_is_classified_field_by_field() {
        let rider = json!({
            "id": 2, "username": "jordan_lee", "email": "jordan.lee@example.com",
            "age": 34, "city": "Seattle, WA", "weight_kg": 81.2,
            "created_at": "2019-06-03T18:40:00Z",
            "password_hash": "$2b$12$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0",
            "last_login_ip": "203.0.113.7",
        });
        assert_eq!(
            classes(rider),
            pairs(&[
                ("/email", "email"),
                ("/last_login_ip", "ip_address"),
                ("/password_hash", "secret"),
            ])
        );
    }

    #[test]
    fn array_indices_collapse_and_values_never_appear() {
        let list = json!([
            {"email": "a@example.com", "phone": "+1 415 555 0100"},
            {"email": "b@example.org", "phone": "(415) 555-0101"},
        ]);
        let found = classify(&list);
        assert_eq!(
            found
                .iter()
                .map(|f| (f.pointer.as_str(), f.class.as_str()))
                .collect::<Vec<_>>(),
            [("/*/email", "email"), ("/*/phone", "phone")]
        );
        let text = serde_json::to_string(&found).unwrap_or_default();
        assert!(!text.contains("example") && !text.contains("555"), "{text}");
    }

    #[test]
    fn true_positives_of_every_class() {
        let v = json!({
            "contact": {"mobile": "07700 900123", "email": "x.y+tag@mail.example.co.uk"},
            "dateOfBirth": "1990-04-01",
            "dob": "01/04/1990",
            "home": {"lat": 48.8566, "lng": 2.3522},
            "location": [2.3522, 48.8566],
            "card": "4111 1111 1111 1111",
            "card_no": 5555555555554444u64,
            "ssn": "123-45-6789",
            "passport_number": "X1234567",
            "api_key": "FAKE-DEMO-KEY-0000",
            "session": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
            "database_url": "postgres://app:hunter2@db.internal:5432/riders",
            "aws": "AKIAIOSFODNN7EXAMPLE",
            "pem": "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
            "whatsapp": "+447700900123",
            "client_ip": "2001:db8::1",
        });
        assert_eq!(
            classes(v),
            pairs(&[
                ("/api_key", "secret"),
                ("/aws", "secret"),
                ("/card", "card_number"),
                ("/card_no", "card_number"),
                ("/client_ip", "ip_address"),
                ("/contact/email", "email"),
                ("/contact/mobile", "phone"),
                ("/database_url", "secret"),
                ("/dateOfBirth", "birth_date"),
                ("/dob", "birth_date"),
                ("/home/lat", "geo"),
                ("/home/lng", "geo"),
                ("/location", "geo"),
                ("/passport_number", "government_id"),
                ("/pem", "secret"),
                ("/session", "secret"),
                ("/ssn", "government_id"),
                ("/whatsapp", "phone"),
            ])
        );
    }

    #[test]
    fn ordinary_values_are_not_flagged() {
        let v = json!({
            "id": 4111111111111111u64 / 1000,
            "order_id": 1234567890123456u64,
            "created_ms": 1_767_225_600_000u64,
            "count": 4_111_111_111_111_112u64,
            "sku": "4111-1111-1111-1112",
            "created_at": "2021-04-05T17:50:00Z",
            "release": "2021-04-05",
            "version": "10.0.0.1",
            "lat": 48.85,
            "latency": {"lat": 12.5, "p99": 80.1},
            "coords": [1, 2],
            "zip": "123-456-7890",
            "area": "000-12-3456",
            "mention": "write to support at example dot com",
            "at_handle": "@jordan_lee",
            "password": "********",
            "token_type": "bearer",
            "uuid": "550e8400-e29b-41d4-a716-446655440000",
            "phone_verified": true,
            "phone_count": 3,
            "repeated": "0000000000000000",
        });
        assert_eq!(classes(v), pairs(&[]));
    }

    #[test]
    fn luhn_and_brand_both_needed_for_a_card() {
        assert!(is_card_number("4111111111111111"));
        assert!(is_card_number("378282246310005"), "Amex");
        assert!(is_card_number("6011111111111117"), "Discover");
        assert!(!is_card_number("4111111111111112"), "Luhn fails");
        assert!(
            !is_card_number("1767225600000"),
            "a timestamp passing nothing"
        );
        assert!(
            !is_card_number("7992739871300"),
            "Luhn-valid but no brand starts with 7"
        );
        assert!(!is_card_number("411111111111"), "too short");
    }

    #[test]
    fn pointers_escape_slashes_and_tildes() {
        let v = json!({"a/b": {"c~d": "someone@example.com"}});
        assert_eq!(classes(v), pairs(&[("/a~1b/c~0d", "email")]));
    }

    #[test]
    fn deep_and_huge_values_are_bounded() {
        let mut deep = json!("x@example.com");
        for _ in 0..200 {
            deep = json!({ "n": deep });
        }
        assert!(classify(&deep).is_empty(), "past MAX_DEPTH nothing is read");
        let huge = Value::Array(vec![json!({"email": "a@example.com"}); 100_000]);
        assert_eq!(classes(huge), pairs(&[("/*/email", "email")]));
    }

    #[test]
    fn class_names_round_trip() {
        for c in DataClass::ALL {
            assert_eq!(DataClass::parse(c.as_str()), Some(c));
            assert_eq!(
                serde_json::to_value(c).unwrap_or_default(),
                json!(c.as_str())
            );
        }
    }

    fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>().prop_map(|n| json!(n)),
            ".{0,40}".prop_map(Value::String),
            "[0-9 +()-]{0,24}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,12}", inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_json_is_classified_without_panic_into_key_only_pointers(v in arbitrary_json()) {
            let found = classify(&v);
            let mut sorted = found.clone();
            sorted.sort();
            sorted.dedup();
            proptest::prop_assert_eq!(&sorted, &found, "sorted and distinct");
            for f in &found {
                proptest::prop_assert!(f.pointer.starts_with('/'));
                // Every token is `*` or a key of some object in the value.
                for token in f.pointer.split('/').skip(1) {
                    let key = token.replace("~1", "/").replace("~0", "~");
                    proptest::prop_assert!(token == "*" || has_key(&v, &key), "{} is not a key", key);
                }
            }
        }
    }

    fn has_key(v: &Value, key: &str) -> bool {
        match v {
            Value::Object(m) => m.contains_key(key) || m.values().any(|c| has_key(c, key)),
            Value::Array(items) => items.iter().any(|c| has_key(c, key)),
            _ => false,
        }
    }
}
