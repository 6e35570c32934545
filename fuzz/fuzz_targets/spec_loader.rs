//! The spec loader: arbitrary bytes as an OpenAPI document (YAML or JSON),
//! parsed, bundled and compiled as the gateway does at start-up and reload.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use rampart_contract::CompileOptions;
use rampart_contract::bundle::bundle_value;
use rampart_contract::compile::compile;
use rampart_contract::source::parse_document;

fuzz_target!(|data: &[u8]| {
    // A directory that does not exist: an external `$ref` fails to read
    // rather than reaching into the machine's files.
    let path = Path::new("/nonexistent-rampart-fuzz/openapi.yaml");
    let Ok(doc) = parse_document(data, path) else {
        return;
    };
    let Ok(bundle) = bundle_value(doc, path) else {
        return;
    };
    let _ = compile(bundle, &CompileOptions::default());
});
