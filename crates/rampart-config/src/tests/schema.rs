//! The committed `docs/config.schema.json` is exactly what the structs generate.

use std::path::PathBuf;

use crate::json_schema;

fn committed_schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/config.schema.json")
}

/// Fails when the structs changed but the published schema was not
/// regenerated. Regenerate with `RAMPART_BLESS=1 cargo test -p rampart-config`.
#[test]
fn the_published_schema_is_current() {
    let generated = match serde_json::to_string_pretty(&json_schema()) {
        Ok(text) => text + "\n",
        Err(e) => panic!("cannot serialize the schema: {e}"),
    };
    let path = committed_schema_path();
    if std::env::var_os("RAMPART_BLESS").is_some_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create docs/");
        }
        std::fs::write(&path, &generated).expect("write the schema");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is out of date; regenerate it with `RAMPART_BLESS=1 cargo test -p rampart-config`",
        path.display()
    );
}

#[test]
fn the_schema_describes_every_field_and_its_constraints() {
    let schema = json_schema();
    assert_eq!(schema["title"], "Rampart configuration");
    assert_eq!(schema["required"], serde_json::json!(["apis"]));
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(schema["properties"]["apis"]["minItems"], 1);
    assert_eq!(schema["properties"]["listen"]["default"], "127.0.0.1:8080");
    let defs = &schema["$defs"];
    assert_eq!(
        defs["ApiConfig"]["properties"]["name"]["pattern"],
        "^[a-z0-9_-]{1,64}$"
    );
    assert_eq!(
        defs["Limits"]["properties"]["max_header_list_bytes"]["minimum"],
        8192
    );
    assert_eq!(
        defs["Limits"]["properties"]["max_json_depth"]["maximum"],
        1024
    );
    for (name, def) in defs.as_object().expect("$defs") {
        if let Some(properties) = def["properties"].as_object() {
            for (field, property) in properties {
                assert!(
                    property["description"].is_string(),
                    "{name}.{field} has no description"
                );
            }
        }
    }
}
