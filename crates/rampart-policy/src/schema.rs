//! The Cedar schema Rampart generates from the contract.

use serde_json::{Value, json};

/// The action asked for each annotated object of a response: permitted means
/// the full view, denied means the restricted view.
pub const FULL_VIEW_ACTION: &str = "fullView";

/// The schema (Cedar JSON schema format, empty namespace) for the given
/// operationIds: `User` principals, `Object` resources, one action per
/// operation plus [`FULL_VIEW_ACTION`], and the context every action gets.
pub fn cedar_schema<S: AsRef<str>>(operations: &[S]) -> Value {
    let context = json!({
        "type": "Record",
        "attributes": {
            "phase": {"type": "String"},
            "api": {"type": "String"},
            "operation": {"type": "String"},
            "privileged": {"type": "Boolean"},
            "authenticated": {"type": "Boolean"},
        }
    });
    let applies = json!({
        "principalTypes": ["User"],
        "resourceTypes": ["Object"],
        "context": context,
    });
    let mut actions = serde_json::Map::new();
    for op in operations {
        actions.insert(op.as_ref().to_string(), json!({ "appliesTo": applies }));
    }
    actions.insert(
        FULL_VIEW_ACTION.to_string(),
        json!({ "appliesTo": applies }),
    );
    json!({
        "": {
            "entityTypes": {
                "User": {
                    "shape": {
                        "type": "Record",
                        "attributes": {
                            "role": {"type": "String"},
                            "roles": {"type": "Set", "element": {"type": "String"}},
                            "scopes": {"type": "Set", "element": {"type": "String"}},
                            "kind": {"type": "String"},
                        }
                    }
                },
                "Object": {
                    "shape": {
                        "type": "Record",
                        "attributes": {
                            "id": {"type": "String"},
                            "owner": {"type": "Entity", "name": "User"},
                            "is_private": {"type": "Boolean"},
                        }
                    }
                }
            },
            "actions": actions,
        }
    })
}
