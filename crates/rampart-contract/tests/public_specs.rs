//! The public specs in `shared/specs` load, compile and route.

use std::path::PathBuf;

use http::Method;
use rampart_contract::{CompileOptions, Contract, Dialect, Matched};

fn spec(name: &str) -> PathBuf {
    let dir = std::env::var("RAMPART_SHARED_SPECS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/specs")
        });
    dir.join(name)
}

fn load(name: &str) -> Contract {
    match Contract::load(&spec(name), &CompileOptions::default()) {
        Ok(c) => c,
        Err(e) => panic!("{name} failed to compile:\n{e}"),
    }
}

#[test]
fn crapi_compiles_all_operations_and_routes_object_ids() {
    let c = load("crapi-openapi-spec.json");
    assert_eq!(c.dialect, Dialect::Oas30);
    assert_eq!(c.operations.len(), 44);
    match c.route(&Method::GET, "/workshop/api/shop/orders/42") {
        Matched::Found(op, values) => {
            assert_eq!(op.path, "/workshop/api/shop/orders/{order_id}");
            assert_eq!(values, vec!["42".to_string()]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn petstore_compiles_with_its_server_base_path() {
    let c = load("swagger-petstore-openapi.yaml");
    assert_eq!(c.operations.len(), 19);
    assert_eq!(c.base_path, "/api/v3");
    assert!(matches!(
        c.route(&Method::GET, "/api/v3/pet/7"),
        Matched::Found(op, _) if op.id == "getPetById"
    ));
    assert!(matches!(
        c.route(&Method::PATCH, "/api/v3/pet/7"),
        Matched::MethodNotAllowed(_)
    ));
    assert!(matches!(c.route(&Method::GET, "/pet/7"), Matched::NotFound));
}

#[test]
fn twilio_with_surrogate_pair_escapes_compiles_and_routes_suffixed_params() {
    let c = load("twilio_api_v2010.json");
    assert_eq!(c.operations.len(), 197);
    match c.route(&Method::GET, "/2010-04-01/Accounts/AC123/Calls/CA456.json") {
        Matched::Found(op, values) => {
            assert_eq!(
                op.path,
                "/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json"
            );
            assert_eq!(values, vec!["AC123".to_string(), "CA456".to_string()]);
        }
        other => panic!("{other:?}"),
    }
}
