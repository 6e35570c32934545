//! Policies decide as written: ownership, privacy, roles, function level,
//! fail-closed unknowns, and load errors with file and line.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use rampart_policy::{FULL_VIEW_ACTION, Phase, PolicyEngine, Query, Resource, Subject};

const OPS: &[&str] = &["getRider", "updateRider", "exportRiders"];

const POLICIES: &str = r#"
@id("members-read")
permit(principal, action == Action::"getRider", resource)
  when { principal.role == "member" || principal.role == "admin" };

@id("own-profile-writes")
permit(principal, action == Action::"updateRider", resource)
  when { resource.owner == principal || principal.role == "admin" };

@id("admin-export")
permit(principal, action == Action::"exportRiders", resource) when { principal.role == "admin" };

@id("full-view")
permit(principal, action == Action::"fullView", resource)
  when { resource.owner == principal || !resource.is_private || context.privileged };
"#;

fn engine(dir: &Path, text: &str) -> Result<PolicyEngine, rampart_policy::PolicyErrors> {
    let file = dir.join("riders.cedar");
    std::fs::write(&file, text).unwrap();
    PolicyEngine::load(&file, OPS, vec!["admin".into()])
}

fn ask(
    e: &PolicyEngine,
    who: &str,
    role: &str,
    action: &str,
    owner: Option<&str>,
    private: Option<bool>,
) -> bool {
    let roles = if role.is_empty() {
        vec![]
    } else {
        vec![role.to_string()]
    };
    e.decide(&Query {
        subject: Subject {
            id: who,
            roles: &roles,
            scopes: &[],
            kind: "jwt",
        },
        action,
        resource: Resource {
            id: Some("7"),
            owner,
            private,
        },
        phase: Phase::Response,
        api: "riders",
        operation: "getRider",
    })
    .allowed
}

#[test]
fn the_peloton_rules_decide_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), POLICIES).unwrap();
    // Full view: the owner, an admin, or a public profile.
    assert!(ask(
        &e,
        "7",
        "member",
        FULL_VIEW_ACTION,
        Some("7"),
        Some(true)
    ));
    assert!(!ask(
        &e,
        "8",
        "member",
        FULL_VIEW_ACTION,
        Some("7"),
        Some(true)
    ));
    assert!(ask(
        &e,
        "8",
        "member",
        FULL_VIEW_ACTION,
        Some("7"),
        Some(false)
    ));
    assert!(ask(
        &e,
        "1",
        "admin",
        FULL_VIEW_ACTION,
        Some("7"),
        Some(true)
    ));
    // Writes: own profile only.
    assert!(ask(&e, "7", "member", "updateRider", Some("7"), None));
    assert!(!ask(&e, "8", "member", "updateRider", Some("7"), None));
    // Function level: export is admin-only; unknown roles get nothing.
    assert!(!ask(&e, "8", "member", "exportRiders", None, None));
    assert!(ask(&e, "1", "admin", "exportRiders", None, None));
    assert!(!ask(&e, "9", "guest", "getRider", None, None));
}

#[test]
fn unknown_facts_fail_closed() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), POLICIES).unwrap();
    // Unknown privacy is private; unknown owner is nobody, not the anonymous caller.
    assert!(!ask(&e, "8", "member", FULL_VIEW_ACTION, Some("7"), None));
    assert!(!ask(&e, "", "", "updateRider", None, None));
    assert!(!ask(&e, "8", "member", "updateRider", None, None));
}

#[test]
fn the_deciding_policy_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let e = engine(dir.path(), POLICIES).unwrap();
    let roles = vec!["member".to_string()];
    let v = e.decide(&Query {
        subject: Subject {
            id: "7",
            roles: &roles,
            scopes: &[],
            kind: "jwt",
        },
        action: "getRider",
        resource: Resource::default(),
        phase: Phase::Request,
        api: "riders",
        operation: "getRider",
    });
    assert!(v.allowed);
    assert_eq!(v.policies, vec!["members-read".to_string()]);
}

#[test]
fn an_unknown_action_or_attribute_is_a_load_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad = "permit(principal, action == Action::\"getRider\", resource);\n\npermit(principal, action == Action::\"getRidr\", resource);\n";
    let errs = engine(dir.path(), bad).unwrap_err().to_string();
    assert!(errs.contains("riders.cedar:3:"), "{errs}");
    assert!(errs.contains("getRidr"), "{errs}");
    let bad_attr = "permit(principal, action == Action::\"getRider\", resource)\n  when { resource.ownr == principal };\n";
    let errs = engine(dir.path(), bad_attr).unwrap_err().to_string();
    assert!(errs.contains("riders.cedar:2:"), "{errs}");
}

#[test]
fn a_syntax_error_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let errs = engine(
        dir.path(),
        "permit(principal, action, resource);\n\npermit(principal action resource);\n",
    )
    .unwrap_err()
    .to_string();
    assert!(errs.contains("riders.cedar:3:"), "{errs}");
}
