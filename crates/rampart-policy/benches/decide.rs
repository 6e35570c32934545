#![allow(clippy::unwrap_used, missing_docs)]
//! Micro-benchmark of Cedar decisions: what authorization adds to a
//! request. Plain `Instant` loops; run with
//! `cargo bench -p rampart-policy --bench decide`.
//!
//! Each decision builds the principal and resource entities and the context,
//! and evaluates the policy set, exactly as the gateway asks
//! ([`PolicyEngine::decide`]). The policies are the shape of a real
//! deployment: a role check per operation (function level), an ownership
//! check for writes, a forbid on other people's private objects, and the
//! `fullView` rule, among a dozen operations.
//!
//! - **function level**: one request-phase decision, no object facts;
//! - **object level**: one response-phase `fullView` decision with an owner
//!   and a private flag (the owner's own object, allowed; someone else's
//!   private object, denied);
//! - **list of 50**: a search answer: the request-phase decision, then one
//!   `fullView` decision per item (51 decisions), mixed owners and flags;
//!   and, as the gateway does for lists, the operation's action and then
//!   `fullView` per item (1 + 2 x 50 = 101 decisions).

use std::hint::black_box;
use std::time::Instant;

use rampart_policy::{FULL_VIEW_ACTION, Phase, PolicyEngine, Query, Resource, Subject};

const OPERATIONS: &[&str] = &[
    "searchRiders",
    "getRider",
    "updateRider",
    "deleteRider",
    "listFollowers",
    "listWorkouts",
    "getWorkout",
    "createWorkout",
    "exportRiders",
    "getStats",
    "listClasses",
    "getClass",
];

const POLICIES: &str = r#"
@id("members-read")
permit(principal, action in [Action::"searchRiders", Action::"getRider", Action::"listFollowers",
                             Action::"listWorkouts", Action::"getWorkout", Action::"getStats",
                             Action::"listClasses", Action::"getClass"], resource)
  when { principal.role == "member" || principal.role == "admin" };

@id("own-writes")
permit(principal, action in [Action::"updateRider", Action::"deleteRider", Action::"createWorkout"], resource)
  when { resource.owner == principal || principal.role == "admin" };

@id("admin-export")
permit(principal, action == Action::"exportRiders", resource)
  when { principal.role == "admin" && principal.scopes.contains("riders:export") };

@id("private-is-private")
forbid(principal, action in [Action::"getWorkout", Action::"listWorkouts"], resource)
  when { context.phase == "response" && resource.is_private && resource.owner != principal && !context.privileged };

@id("full-view")
permit(principal, action == Action::"fullView", resource)
  when { resource.owner == principal || !resource.is_private || context.privileged };
"#;

fn report(name: &str, iterations: u32, decisions_per_op: u32, run: impl Fn(u32)) {
    // Warm up: allocator, caches, branch predictors.
    run(iterations / 10 + 1);
    let started = Instant::now();
    run(iterations);
    let ns = started.elapsed().as_nanos() / u128::from(iterations);
    if decisions_per_op > 1 {
        let per = ns / u128::from(decisions_per_op);
        println!(
            "{name:<52} {ns:>9} ns/op   ({decisions_per_op} decisions, {per} ns each; {iterations} iterations)"
        );
    } else {
        println!("{name:<52} {ns:>9} ns/op   ({iterations} iterations)");
    }
}

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("riders.cedar");
    std::fs::write(&file, POLICIES).unwrap();
    let engine = PolicyEngine::load(&file, OPERATIONS, vec!["admin".into()]).unwrap();

    let member_roles = vec!["member".to_string()];
    let admin_roles = vec!["admin".to_string()];
    let scopes = vec!["riders:read".to_string(), "riders:export".to_string()];
    let member = Subject {
        id: "rider-1234567",
        roles: &member_roles,
        scopes: &scopes,
        kind: "jwt",
    };
    let admin = Subject {
        id: "admin-1",
        roles: &admin_roles,
        scopes: &scopes,
        kind: "jwt",
    };
    let query = |subject, action, resource, phase, operation| Query {
        subject,
        action,
        resource,
        phase,
        api: "riders",
        operation,
    };

    // Sanity: the decisions are the ones the names promise.
    let function = query(
        admin,
        "exportRiders",
        Resource::default(),
        Phase::Request,
        "exportRiders",
    );
    assert!(engine.decide(&function).allowed);
    let own = Resource {
        id: Some("rider-1234567"),
        owner: Some("rider-1234567"),
        private: Some(true),
    };
    let others_private = Resource {
        id: Some("rider-7654321"),
        owner: Some("rider-7654321"),
        private: Some(true),
    };
    let full_own = query(member, FULL_VIEW_ACTION, own, Phase::Response, "getRider");
    let full_other = query(
        member,
        FULL_VIEW_ACTION,
        others_private,
        Phase::Response,
        "getRider",
    );
    assert!(engine.decide(&full_own).allowed);
    assert!(!engine.decide(&full_other).allowed);

    // A search answer of 50 riders: every third private, every seventh the caller's.
    let ids: Vec<String> = (0..50)
        .map(|i| format!("rider-{:07}", 1_000_000 + i))
        .collect();
    let items: Vec<Resource<'_>> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| Resource {
            id: Some(id.as_str()),
            owner: Some(if i % 7 == 0 {
                "rider-1234567"
            } else {
                id.as_str()
            }),
            private: Some(i % 3 == 0),
        })
        .collect();
    let search = query(
        member,
        "searchRiders",
        Resource::default(),
        Phase::Request,
        "searchRiders",
    );
    assert!(engine.decide(&search).allowed);
    let restricted = items
        .iter()
        .filter(|r| {
            !engine
                .decide(&query(
                    member,
                    FULL_VIEW_ACTION,
                    **r,
                    Phase::Response,
                    "searchRiders",
                ))
                .allowed
        })
        .count();
    println!(
        "policies: {} in {}; {} operations; list of 50 with {restricted} restricted",
        POLICIES.matches("@id(").count(),
        file.file_name().unwrap().to_string_lossy(),
        OPERATIONS.len()
    );

    report("function level (request phase, allowed)", 200_000, 1, |n| {
        for _ in 0..n {
            black_box(engine.decide(black_box(&function)));
        }
    });
    let denied_function = query(
        member,
        "exportRiders",
        Resource::default(),
        Phase::Request,
        "exportRiders",
    );
    report("function level (request phase, denied)", 200_000, 1, |n| {
        for _ in 0..n {
            black_box(engine.decide(black_box(&denied_function)));
        }
    });
    report(
        "object level: fullView, owner (full view)",
        200_000,
        1,
        |n| {
            for _ in 0..n {
                black_box(engine.decide(black_box(&full_own)));
            }
        },
    );
    report(
        "object level: fullView, other's private (restricted)",
        200_000,
        1,
        |n| {
            for _ in 0..n {
                black_box(engine.decide(black_box(&full_other)));
            }
        },
    );
    report("list of 50: request + 50 x fullView", 5_000, 51, |n| {
        for _ in 0..n {
            black_box(engine.decide(black_box(&search)));
            for r in &items {
                black_box(engine.decide(&query(
                    member,
                    FULL_VIEW_ACTION,
                    *r,
                    Phase::Response,
                    "searchRiders",
                )));
            }
        }
    });
    report(
        "list of 50 as the gateway asks: + action per item",
        5_000,
        101,
        |n| {
            for _ in 0..n {
                black_box(engine.decide(black_box(&search)));
                for r in &items {
                    let access = engine.decide(&query(
                        member,
                        "searchRiders",
                        *r,
                        Phase::Response,
                        "searchRiders",
                    ));
                    black_box(&access);
                    black_box(engine.decide(&query(
                        member,
                        FULL_VIEW_ACTION,
                        *r,
                        Phase::Response,
                        "searchRiders",
                    )));
                }
            }
        },
    );
}
