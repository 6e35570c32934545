//! Parameters: where they live, how their wire form becomes a JSON value, and
//! how that value is checked.
//!
//! Parameter values arrive as strings; schemas talk about integers, booleans
//! and arrays. Coercion follows the OpenAPI `style`/`explode` rules for the
//! common cases (form, simple, spaceDelimited, pipeDelimited, deepObject) and
//! is strict: `01e3` is not an integer, `yes` is not a boolean, `NaN` is not
//! a number, and a single-valued parameter given twice is rejected rather
//! than silently taking the first or last (parameter pollution is a
//! classic differential between a gateway and its upstream).

use serde_json::{Map, Value};

use crate::schema::SchemaValidator;

/// Where a parameter lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamLocation {
    /// A path template variable.
    Path,
    /// A query string key.
    Query,
    /// A request header.
    Header,
    /// A cookie.
    Cookie,
}

impl ParamLocation {
    /// The OpenAPI `in` value.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamLocation::Path => "path",
            ParamLocation::Query => "query",
            ParamLocation::Header => "header",
            ParamLocation::Cookie => "cookie",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "path" => ParamLocation::Path,
            "query" => ParamLocation::Query,
            "header" => ParamLocation::Header,
            "cookie" => ParamLocation::Cookie,
            _ => return None,
        })
    }
}

/// Serialization style of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `form` (query and cookie default).
    Form,
    /// `simple` (path and header default).
    Simple,
    /// `spaceDelimited` arrays.
    SpaceDelimited,
    /// `pipeDelimited` arrays.
    PipeDelimited,
    /// `deepObject`: `name[prop]=value`.
    DeepObject,
    /// `label` and `matrix` path styles: values are taken verbatim as strings.
    Other,
}

/// The JSON type a parameter value is coerced to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueKind {
    /// Kept as a string.
    String,
    /// An integer (i64).
    Integer,
    /// A finite number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// An array of the inner kind.
    Array(Box<ValueKind>),
    /// An object with these property kinds (deepObject or exploded form).
    Object(Vec<(String, ValueKind)>),
}

/// One declared parameter.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Name (headers compare case-insensitively; stored lowercase for headers).
    pub name: String,
    /// Location.
    pub location: ParamLocation,
    /// Whether it must be present.
    pub required: bool,
    /// Serialization style.
    pub style: Style,
    /// `explode`.
    pub explode: bool,
    /// Target JSON type.
    pub kind: ValueKind,
    /// The value is JSON text (`content: application/json` parameters).
    pub json_content: bool,
    /// The schema validator, if the parameter has a schema.
    pub validator: Option<SchemaValidator>,
    /// `deprecated`.
    pub deprecated: bool,
}

/// Why a value could not be coerced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoerceError {
    /// Not of the declared type.
    Type(String),
    /// Given more than once though single-valued.
    Repeated,
}

impl Parameter {
    /// Coerce the raw wire values (one per occurrence) to JSON.
    pub fn coerce(&self, raw: &[&str]) -> Result<Value, CoerceError> {
        if self.json_content {
            if raw.len() > 1 {
                return Err(CoerceError::Repeated);
            }
            let text = raw.first().copied().unwrap_or_default();
            return serde_json::from_str(text)
                .map_err(|_| CoerceError::Type("expected a JSON value".into()));
        }
        match &self.kind {
            ValueKind::Array(inner) => {
                let parts: Vec<&str> = if raw.len() > 1 {
                    if self.location != ParamLocation::Query || !self.explode {
                        return Err(CoerceError::Repeated);
                    }
                    raw.to_vec()
                } else {
                    let one = raw.first().copied().unwrap_or_default();
                    if one.is_empty() {
                        Vec::new()
                    } else if self.location == ParamLocation::Query
                        && self.explode
                        && self.style == Style::Form
                    {
                        vec![one]
                    } else {
                        let sep = match self.style {
                            Style::SpaceDelimited => ' ',
                            Style::PipeDelimited => '|',
                            _ => ',',
                        };
                        one.split(sep).collect()
                    }
                };
                parts
                    .into_iter()
                    .map(|p| scalar(inner, p))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            kind => {
                if raw.len() > 1 {
                    return Err(CoerceError::Repeated);
                }
                scalar(kind, raw.first().copied().unwrap_or_default())
            }
        }
    }

    /// Coerce an object parameter from its properties' raw values.
    pub fn coerce_object(&self, props: &[(&str, &str)]) -> Result<Value, CoerceError> {
        let ValueKind::Object(kinds) = &self.kind else {
            return Err(CoerceError::Type("expected an object".into()));
        };
        let mut m = Map::new();
        for (k, v) in props {
            if m.contains_key(*k) {
                return Err(CoerceError::Repeated);
            }
            let kind = kinds
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, kind)| kind)
                .unwrap_or(&ValueKind::String);
            m.insert((*k).to_string(), scalar(kind, v)?);
        }
        Ok(Value::Object(m))
    }
}

fn scalar(kind: &ValueKind, raw: &str) -> Result<Value, CoerceError> {
    match kind {
        ValueKind::String | ValueKind::Object(_) | ValueKind::Array(_) => {
            Ok(Value::String(raw.to_string()))
        }
        ValueKind::Integer => {
            let digits = raw.strip_prefix('-').unwrap_or(raw);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(CoerceError::Type("expected an integer".into()));
            }
            raw.parse::<i64>()
                .map(Value::from)
                .map_err(|_| CoerceError::Type("integer out of range".into()))
        }
        ValueKind::Number => {
            let ok = !raw.is_empty()
                && raw
                    .bytes()
                    .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
            let n = if ok { raw.parse::<f64>().ok() } else { None };
            match n.and_then(serde_json::Number::from_f64) {
                Some(n) => Ok(Value::Number(n)),
                None => Err(CoerceError::Type("expected a number".into())),
            }
        }
        ValueKind::Boolean => match raw {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(CoerceError::Type("expected true or false".into())),
        },
    }
}

/// The value kind a schema asks for (following `$ref`s).
pub(crate) fn kind_of(doc: &Value, schema: &Value) -> ValueKind {
    let schema = crate::compile::deref(doc, schema);
    let ty = match schema.get("type") {
        Some(Value::String(t)) => t.as_str(),
        // 3.1 type arrays such as ["integer", "null"]: the non-null member decides.
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    };
    match ty {
        "integer" => ValueKind::Integer,
        "number" => ValueKind::Number,
        "boolean" => ValueKind::Boolean,
        "array" => ValueKind::Array(Box::new(
            schema
                .get("items")
                .map(|i| kind_of(doc, i))
                .unwrap_or(ValueKind::String),
        )),
        "object" => ValueKind::Object(
            schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(k, v)| (k.clone(), kind_of(doc, v)))
                        .collect()
                })
                .unwrap_or_default(),
        ),
        _ => ValueKind::String,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn param(kind: ValueKind, location: ParamLocation, style: Style, explode: bool) -> Parameter {
        Parameter {
            name: "p".into(),
            location,
            required: false,
            style,
            explode,
            kind,
            json_content: false,
            validator: None,
            deprecated: false,
        }
    }

    #[test]
    fn integers_are_strict() {
        let p = param(ValueKind::Integer, ParamLocation::Query, Style::Form, true);
        assert_eq!(p.coerce(&["42"]), Ok(json!(42)));
        assert_eq!(p.coerce(&["-7"]), Ok(json!(-7)));
        for bad in [
            "",
            "1.5",
            "1e3",
            " 1",
            "0x10",
            "1 OR 1=1",
            "99999999999999999999",
        ] {
            assert!(
                matches!(p.coerce(&[bad]), Err(CoerceError::Type(_))),
                "{bad}"
            );
        }
        assert_eq!(p.coerce(&["1", "2"]), Err(CoerceError::Repeated));
    }

    #[test]
    fn numbers_reject_nan_and_infinity() {
        let p = param(ValueKind::Number, ParamLocation::Query, Style::Form, true);
        assert_eq!(p.coerce(&["1.5"]), Ok(json!(1.5)));
        for bad in ["NaN", "inf", "-Infinity", "1,5"] {
            assert!(p.coerce(&[bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn arrays_follow_style_and_explode() {
        let kind = ValueKind::Array(Box::new(ValueKind::Integer));
        let exploded = param(kind.clone(), ParamLocation::Query, Style::Form, true);
        assert_eq!(exploded.coerce(&["1", "2"]), Ok(json!([1, 2])));
        let csv = param(kind.clone(), ParamLocation::Query, Style::Form, false);
        assert_eq!(csv.coerce(&["1,2"]), Ok(json!([1, 2])));
        assert_eq!(csv.coerce(&["1", "2"]), Err(CoerceError::Repeated));
        let pipes = param(kind, ParamLocation::Query, Style::PipeDelimited, false);
        assert_eq!(pipes.coerce(&["3|4"]), Ok(json!([3, 4])));
    }

    #[test]
    fn booleans_are_exact() {
        let p = param(
            ValueKind::Boolean,
            ParamLocation::Header,
            Style::Simple,
            false,
        );
        assert_eq!(p.coerce(&["true"]), Ok(json!(true)));
        assert!(p.coerce(&["True"]).is_err());
        assert!(p.coerce(&["1"]).is_err());
    }
}
