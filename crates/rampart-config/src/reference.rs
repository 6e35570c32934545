//! The config reference (`docs/config.md`), rendered from the JSON Schema so
//! that the prose operators read is generated from the same structs as the
//! loader and the schema, and cannot drift from them.

use serde_json::Value;

/// Render the reference as Markdown: one table row per setting, nested
/// sections flattened to dotted keys (`limits.max_headers`), with type,
/// default and description.
pub fn reference_markdown() -> String {
    let schema = crate::json_schema();
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let mut out = String::from(
        "# Configuration reference\n\n\
         Generated from the config structs (`rampart config-schema` prints the same \
         definitions as JSON Schema, published as `config.schema.json`). \
         Relative paths resolve against the config file's directory.\n\n\
         | key | type | default | description |\n|---|---|---|---|\n",
    );
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        rows(props, "", &defs, &mut out);
    }
    out
}

fn rows(props: &serde_json::Map<String, Value>, prefix: &str, defs: &Value, out: &mut String) {
    for (key, prop) in props {
        let name = format!("{prefix}{key}");
        let target = resolve(prop, defs);
        let ty = type_of(prop, defs);
        let default = prop
            .get("default")
            .filter(|d| !d.is_object())
            .map(|d| format!("`{d}`"))
            .unwrap_or_default();
        let desc = prop
            .get("description")
            .or_else(|| target.and_then(|t| t.get("description")))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .replace('\n', " ")
            .replace('|', "\\|");
        out.push_str(&format!("| `{name}` | {ty} | {default} | {desc} |\n"));
        if let Some(nested) = target
            .and_then(|t| t.get("properties"))
            .and_then(Value::as_object)
        {
            let sep = match ty.as_str() {
                "list" => "[].",
                "map" => ".<name>.",
                _ => ".",
            };
            rows(nested, &format!("{name}{sep}"), defs, out);
        }
    }
}

/// The definition a property refers to (directly, through `anyOf` with null,
/// through `items`, or through `additionalProperties` for maps).
fn resolve<'a>(prop: &'a Value, defs: &'a Value) -> Option<&'a Value> {
    let by_ref = |v: &'a Value| {
        v.get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .and_then(|n| defs.get(n))
    };
    by_ref(prop)
        .or_else(|| {
            prop.get("anyOf")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().find_map(by_ref))
        })
        .or_else(|| prop.get("items").and_then(by_ref))
        .or_else(|| prop.get("additionalProperties").and_then(by_ref))
}

fn type_of(prop: &Value, defs: &Value) -> String {
    if let Some(t) = resolve(prop, defs) {
        if let Some(values) = t.get("enum").and_then(Value::as_array) {
            return values
                .iter()
                .map(|v| format!("`{}`", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(" \\| ");
        }
        if let Some(one_of) = t.get("oneOf").and_then(Value::as_array) {
            let names: Vec<String> = one_of
                .iter()
                .filter_map(|o| {
                    o.get("const")
                        .or_else(|| o.get("enum").and_then(|e| e.get(0)))
                })
                .filter_map(Value::as_str)
                .map(|s| format!("`{s}`"))
                .collect();
            if !names.is_empty() {
                return names.join(" \\| ");
            }
        }
    }
    if let Some(Value::String(t)) = resolve(prop, defs).and_then(|t| t.get("type"))
        && t != "object"
    {
        return t.clone();
    }
    match prop.get("type") {
        Some(Value::String(t)) if t == "array" => "list".into(),
        Some(Value::String(t)) if t == "object" && prop.get("additionalProperties").is_some() => {
            "map".into()
        }
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(", "),
        _ if prop.get("items").is_some() => "list".into(),
        _ => "object".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reference_lists_every_setting_and_matches_the_published_file() {
        let md = super::reference_markdown();
        for key in [
            "`listen`",
            "`apis[].upstream`",
            "`limits.max_headers`",
            "`contract.undeclared_cookies`",
            "`log.security`",
        ] {
            assert!(md.contains(key), "{key} missing:\n{md}");
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/config.md");
        if std::env::var("RAMPART_BLESS").as_deref() == Ok("1") {
            std::fs::write(path, &md).unwrap();
        }
        let published = std::fs::read_to_string(path).unwrap_or_default();
        // Not assert_eq!: the whole reference in a failure message helps nobody.
        assert!(
            md == published,
            "docs/config.md is stale: run RAMPART_BLESS=1 cargo test -p rampart-config"
        );
    }
}
