//! What valid files load to.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{FILE, load_ok};
use crate::*;

const FULL_EXAMPLE: &str = r#"listen: 127.0.0.1:8080          # public listener (SocketAddr)
tls:                            # optional; enables TLS (HTTP/1.1 + HTTP/2 via ALPN)
  cert: ./certs/cert.pem        # paths are relative to the config file's directory
  key: ./certs/key.pem
mode: enforce                   # global default: enforce | monitor | off
apis:
  - name: riders                # unique, [a-z0-9_-]{1,64}
    spec: ./riders.openapi.yaml # OpenAPI 3.0/3.1, YAML or JSON
    upstream: http://127.0.0.1:3000   # http or https URL, may have a path prefix, no query/fragment/userinfo
    base_path: /api             # optional: overrides the spec's servers[].url path
    mode: monitor               # optional: overrides the global mode
    operations:                 # optional per-operation overrides keyed by operationId
      getRider: { mode: enforce }
limits:
  max_request_body_bytes: 1048576
  max_response_body_bytes: 8388608
  max_header_list_bytes: 16384
  max_headers: 64
  header_read_timeout_ms: 10000
  request_body_timeout_ms: 30000
  upstream_connect_timeout_ms: 5000
  upstream_timeout_ms: 30000
  max_json_depth: 64
  max_connections: 10000
contract:
  undeclared_headers: reject     # reject | allow
  allowed_headers: [x-client-version]   # extra header names always allowed (case-insensitive)
  undeclared_cookies: reject     # reject | allow
  undeclared_body_properties: reject    # reject | allow (request bodies; responses are always stripped)
log:
  security: stdout              # stdout | stderr | a file path (JSON lines, one per exchange)
  level: info                   # operational log filter (tracing EnvFilter syntax)
  format: text                  # text | json (operational log on stderr)
"#;

const MINIMAL: &str = r#"apis: [{name: a, spec: a.yaml, upstream: "http://127.0.0.1:1"}]"#;

fn minimal_api() -> ApiConfig {
    ApiConfig {
        name: "a".to_owned(),
        spec: PathBuf::from("a.yaml"),
        upstream: "http://127.0.0.1:1".to_owned(),
        base_path: None,
        mode: None,
        operations: BTreeMap::new(),
        max_concurrent_requests: None,
    }
}

#[test]
fn the_full_example_parses_to_the_expected_values() {
    let loaded = load_ok(FULL_EXAMPLE);
    let expected = Config {
        listen: "127.0.0.1:8080".parse().expect("address"),
        tls: Some(TlsConfig {
            cert: PathBuf::from("./certs/cert.pem"),
            key: PathBuf::from("./certs/key.pem"),
        }),
        mode: Mode::Enforce,
        apis: vec![ApiConfig {
            name: "riders".to_owned(),
            spec: PathBuf::from("./riders.openapi.yaml"),
            upstream: "http://127.0.0.1:3000".to_owned(),
            base_path: Some("/api".to_owned()),
            mode: Some(Mode::Monitor),
            operations: BTreeMap::from([(
                "getRider".to_owned(),
                OperationConfig {
                    mode: Some(Mode::Enforce),
                    prefetch: None,
                },
            )]),
            max_concurrent_requests: None,
        }],
        limits: Limits {
            max_request_body_bytes: 1_048_576,
            max_response_body_bytes: 8_388_608,
            max_header_list_bytes: 16_384,
            max_headers: 64,
            header_read_timeout_ms: 10_000,
            request_body_timeout_ms: 30_000,
            upstream_connect_timeout_ms: 5_000,
            upstream_timeout_ms: 30_000,
            max_json_depth: 64,
            max_json_array_items: 10_000,
            max_json_string_bytes: 262_144,
            upstream_max_concurrent: 512,
            upstream_max_queued: 1024,
            upstream_queue_timeout_ms: 2_000,
            max_connections: 10_000,
            max_rate_limit_keys: 100_000,
        },
        contract: ContractOptions {
            undeclared_headers: Undeclared::Reject,
            allowed_headers: vec!["x-client-version".to_owned()],
            undeclared_cookies: Undeclared::Reject,
            undeclared_body_properties: Undeclared::Reject,
        },
        log: LogConfig {
            security: SecurityLogTarget::Stdout,
            level: "info".to_owned(),
            format: LogFormat::Text,
        },
        identity: IdentityConfig::default(),
        authorization: AuthorizationConfig::default(),
        admin: None,
        store: StoreConfig::default(),
        detection: DetectionConfig::default(),
        rate_limits: vec![],
        client_ip: ClientIpConfig::default(),
        cluster: ClusterConfig::default(),
        disclosure: DisclosureConfig::default(),
        telemetry: TelemetryConfig::default(),
    };
    assert_eq!(loaded.config, expected);
    assert_eq!(loaded.path, Path::new(FILE));
    assert_eq!(loaded.dir, Path::new("/etc/rampart"));
}

#[test]
fn the_full_example_spells_out_the_defaults() {
    let full = load_ok(FULL_EXAMPLE).config;
    let minimal = load_ok(MINIMAL).config;
    assert_eq!(full.listen, minimal.listen);
    assert_eq!(full.mode, minimal.mode);
    assert_eq!(full.limits, minimal.limits);
    assert_eq!(full.log, minimal.log);
}

#[test]
fn a_minimal_config_gets_every_default() {
    let loaded = load_ok(MINIMAL);
    let expected = Config {
        listen: "127.0.0.1:8080".parse().expect("address"),
        tls: None,
        mode: Mode::Enforce,
        apis: vec![minimal_api()],
        limits: Limits::default(),
        contract: ContractOptions {
            undeclared_headers: Undeclared::Reject,
            allowed_headers: vec![],
            undeclared_cookies: Undeclared::Reject,
            undeclared_body_properties: Undeclared::Reject,
        },
        log: LogConfig {
            security: SecurityLogTarget::Stdout,
            level: "info".to_owned(),
            format: LogFormat::Text,
        },
        identity: IdentityConfig {
            issuers: vec![],
            api_keys_file: None,
            revoked_jtis_file: None,
            max_token_bytes: 8192,
            token_cache_entries: 10_000,
            unsecured_operations: Unsecured::Deny,
        },
        authorization: AuthorizationConfig {
            policies: None,
            privileged_roles: vec![],
        },
        admin: None,
        store: StoreConfig::default(),
        detection: DetectionConfig::default(),
        rate_limits: vec![],
        client_ip: ClientIpConfig::default(),
        cluster: ClusterConfig::default(),
        disclosure: DisclosureConfig::default(),
        telemetry: TelemetryConfig::default(),
    };
    assert_eq!(loaded.config, expected);
}

#[test]
fn partial_sections_keep_the_other_defaults() {
    let text = format!("{MINIMAL}\nlimits: {{max_headers: 10}}\nlog: {{format: json}}\n");
    let config = load_ok(&text).config;
    assert_eq!(
        config.limits,
        Limits {
            max_headers: 10,
            ..Limits::default()
        }
    );
    assert_eq!(config.log.format, LogFormat::Json);
    assert_eq!(config.log.level, "info");
}

#[test]
fn security_log_targets() {
    for (written, expected) in [
        ("stdout", SecurityLogTarget::Stdout),
        ("stderr", SecurityLogTarget::Stderr),
        (
            "./logs/sec.jsonl",
            SecurityLogTarget::File(PathBuf::from("./logs/sec.jsonl")),
        ),
        (
            "./stdout",
            SecurityLogTarget::File(PathBuf::from("./stdout")),
        ),
    ] {
        let text = format!("{MINIMAL}\nlog: {{security: '{written}'}}\n");
        assert_eq!(load_ok(&text).config.log.security, expected, "{written}");
    }
}

#[test]
fn modes_parse_display_and_round_trip() {
    for mode in [Mode::Enforce, Mode::Monitor, Mode::Off] {
        assert_eq!(mode.as_str().parse::<Mode>(), Ok(mode));
        assert_eq!(mode.to_string(), mode.as_str());
    }
    assert_eq!(
        "Enforce".parse::<Mode>().map_err(|e| e.to_string()),
        Err("unknown mode `Enforce`, expected one of enforce, monitor, off".to_owned())
    );
    let text = format!("{MINIMAL}\nmode: off\n");
    assert_eq!(load_ok(&text).config.mode, Mode::Off);
}

#[test]
fn anchors_and_merge_keys_are_ordinary_yaml() {
    let text = r#"
defaults: &upstream "http://127.0.0.1:1"
"#;
    // Unknown top-level keys are refused even when they only hold anchors...
    assert!(load_str(text, Path::new(FILE)).is_err());
    // ...but anchors inside the structure work.
    let text = r#"
apis:
  - name: a
    spec: a.yaml
    upstream: &up "http://127.0.0.1:1"
    operations:
      one: &strict {mode: enforce}
      two: *strict
      three: {<<: *strict}
  - name: b
    spec: b.yaml
    upstream: *up
"#;
    let config = load_ok(text).config;
    assert_eq!(config.apis[1].upstream, "http://127.0.0.1:1");
    assert_eq!(config.apis[0].operations.len(), 3);
    assert!(
        config.apis[0]
            .operations
            .values()
            .all(|op| op.mode == Some(Mode::Enforce))
    );
}

#[test]
fn resolve_joins_relative_paths_to_the_config_dir() {
    let loaded = load_ok(FULL_EXAMPLE);
    assert_eq!(
        loaded.resolve(Path::new("./certs/cert.pem")),
        Path::new("/etc/rampart/certs/cert.pem")
    );
    assert_eq!(
        loaded.resolve(Path::new("specs/riders.yaml")),
        Path::new("/etc/rampart/specs/riders.yaml")
    );
    assert_eq!(
        loaded.resolve(Path::new("../shared/riders.yaml")),
        Path::new("/etc/rampart/../shared/riders.yaml")
    );
    assert_eq!(
        loaded.resolve(Path::new("/srv/specs/riders.yaml")),
        Path::new("/srv/specs/riders.yaml")
    );
}

#[test]
fn a_relative_config_path_gets_an_absolute_dir() {
    let loaded = load_str(MINIMAL, Path::new("conf/rampart.yaml")).expect("loads");
    let cwd = std::env::current_dir().expect("cwd");
    assert_eq!(loaded.dir, cwd.join("conf"));
    assert_eq!(loaded.path, Path::new("conf/rampart.yaml"));
    let bare = load_str(MINIMAL, Path::new("rampart.yaml")).expect("loads");
    assert_eq!(bare.dir, cwd);
    assert_eq!(bare.resolve(Path::new("a.yaml")), cwd.join("a.yaml"));
}

#[test]
fn referenced_files_are_the_resolved_specs_and_tls_files() {
    let text = r#"
tls: {cert: tls/cert.pem, key: /secrets/key.pem}
apis:
  - {name: a, spec: ./a.yaml, upstream: "http://h"}
  - {name: b, spec: specs/b.json, upstream: "http://h"}
  - {name: c, spec: a.yaml, upstream: "http://h"}
"#;
    assert_eq!(
        load_ok(text).referenced_files(),
        vec![
            PathBuf::from("/etc/rampart/a.yaml"),
            PathBuf::from("/etc/rampart/specs/b.json"),
            PathBuf::from("/etc/rampart/tls/cert.pem"),
            PathBuf::from("/secrets/key.pem"),
        ]
    );
}

#[test]
fn error_at_locates_settings_for_the_caller() {
    let loaded = load_ok(FULL_EXAMPLE);
    let error = loaded.error_at("apis[0].spec", "file not found");
    assert_eq!(
        error.to_string(),
        "/etc/rampart/rampart.yaml:8:11: apis[0].spec: file not found"
    );
    let error = loaded.error_at(
        "apis[0].operations.getRider",
        "no such operation in the spec",
    );
    assert_eq!((error.line, error.column), (Some(13), Some(7)));
}

#[test]
fn load_reads_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("rampart.yaml");
    std::fs::write(&path, MINIMAL).expect("write");
    let loaded = load(&path).expect("loads");
    assert_eq!(loaded.config.apis, vec![minimal_api()]);
    assert_eq!(
        loaded.resolve(Path::new("a.yaml")),
        dir.path().join("a.yaml")
    );
}
