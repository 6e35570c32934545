//! Building the inventory: events are fed one at a time (so a week of
//! traffic never sits in memory), then field classes are joined and the
//! shadow traffic is clustered.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::SystemTime;

use rampart_contract::{Contract, Operation};
use rampart_store::{AuditEvent, FieldClassCount};

use crate::classify::DataClass;
use crate::model::{
    ApiInventory, AuthSeen, ExampleRequest, Inventory, OperationUse, Protection, SensitiveField,
    Zombies,
};
use crate::template::{self, Template};

/// Distinct (method, typed path) keys kept for shadow clustering; past it,
/// unrouted requests are only counted ([`Inventory::unclustered`]).
const MAX_SHADOW_KEYS: usize = 50_000;
/// Distinct principals counted per endpoint.
const MAX_PRINCIPALS: usize = 10_000;
/// Example requests kept per shadow endpoint.
const EXAMPLES: usize = 3;

/// One configured API and its contract, compiled for analysis.
#[derive(Debug)]
pub struct ApiContract {
    /// The API's name in the configuration.
    pub name: String,
    /// The contract.
    pub contract: Contract,
}

/// An API by reference: its name and contract (the gateway's runtime
/// holds compiled contracts the admin API can pass as they are).
#[derive(Debug, Clone, Copy)]
pub struct ApiRef<'c> {
    /// The API's name in the configuration.
    pub name: &'c str,
    /// Its contract.
    pub contract: &'c Contract,
}

/// Accumulates events into an [`Inventory`].
#[derive(Debug)]
pub struct Builder<'c> {
    apis: Vec<ApiRef<'c>>,
    since: Option<SystemTime>,
    until: SystemTime,
    events: u64,
    unclustered: u64,
    /// Per API, per operation.
    ops: Vec<Vec<Usage>>,
    /// (api, operationId) → (api index, operation index).
    op_index: HashMap<(String, String), (usize, usize)>,
    /// Per API: (method, typed template) → usage.
    shadow: Vec<HashMap<(String, Template), ShadowUsage>>,
    shadow_keys: usize,
}

#[derive(Debug, Default)]
pub(crate) struct Usage {
    pub(crate) calls: u64,
    pub(crate) first: Option<SystemTime>,
    pub(crate) last: Option<SystemTime>,
    pub(crate) auth: AuthAcc,
    pub(crate) statuses: BTreeMap<u16, u64>,
    pub(crate) decisions: BTreeMap<String, u64>,
    pub(crate) rules: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
pub(crate) struct AuthAcc {
    seen: AuthSeen,
    principals: HashSet<String>,
}

impl AuthAcc {
    fn add(&mut self, e: &AuditEvent) {
        if let Some(key) = &e.key_id {
            *self.seen.api_keys.entry(key.clone()).or_default() += 1;
        } else if let Some(iss) = &e.issuer {
            *self.seen.jwt_issuers.entry(iss.clone()).or_default() += 1;
        } else if e.principal.is_some() {
            self.seen.unknown_scheme += 1;
        } else {
            self.seen.anonymous += 1;
        }
        if let Some(p) = &e.principal
            && self.principals.len() < MAX_PRINCIPALS
        {
            self.principals.insert(p.clone());
        }
    }

    pub(crate) fn finish(self) -> AuthSeen {
        AuthSeen {
            distinct_principals: self.principals.len() as u64,
            ..self.seen
        }
    }

    fn merge(&mut self, other: AuthAcc) {
        self.seen.anonymous += other.seen.anonymous;
        self.seen.unknown_scheme += other.seen.unknown_scheme;
        for (k, n) in other.seen.api_keys {
            *self.seen.api_keys.entry(k).or_default() += n;
        }
        for (k, n) in other.seen.jwt_issuers {
            *self.seen.jwt_issuers.entry(k).or_default() += n;
        }
        for p in other.principals {
            if self.principals.len() < MAX_PRINCIPALS {
                self.principals.insert(p);
            }
        }
    }
}

impl Usage {
    fn add(&mut self, e: &AuditEvent) {
        self.calls += 1;
        self.first = Some(self.first.map_or(e.ts, |f| f.min(e.ts)));
        self.last = Some(self.last.map_or(e.ts, |l| l.max(e.ts)));
        self.auth.add(e);
        *self.statuses.entry(e.status).or_default() += 1;
        *self
            .decisions
            .entry(e.decision.as_str().to_owned())
            .or_default() += 1;
        for r in &e.rules {
            *self.rules.entry(r.to_string()).or_default() += 1;
        }
    }

    fn merge(&mut self, other: Usage) {
        self.calls += other.calls;
        self.first = min_opt(self.first, other.first);
        self.last = max_opt(self.last, other.last);
        self.auth.merge(other.auth);
        add_all(&mut self.statuses, other.statuses);
        add_all(&mut self.decisions, other.decisions);
        add_all(&mut self.rules, other.rules);
    }
}

#[derive(Debug, Default)]
pub(crate) struct ShadowUsage {
    pub(crate) usage: Usage,
    pub(crate) upstream_statuses: BTreeMap<u16, u64>,
    pub(crate) query_params: BTreeSet<String>,
    pub(crate) undeclared_method: bool,
    /// Newest first.
    pub(crate) examples: Vec<ExampleRequest>,
    /// Sort key of the examples: (time, request id).
    example_keys: Vec<(SystemTime, String)>,
}

impl ShadowUsage {
    fn add(&mut self, e: &AuditEvent) {
        self.usage.add(e);
        if let Some(s) = e.upstream_status {
            *self.upstream_statuses.entry(s).or_default() += 1;
        }
        self.query_params.extend(e.query_keys.iter().cloned());
        if e.rules
            .iter()
            .any(|r| r == rampart_contract::rules::ROUTE_METHOD.id)
        {
            self.undeclared_method = true;
        }
        self.offer_example((e.ts, e.request_id.clone()), example(e));
    }

    /// Keeps the newest examples, one per distinct path.
    fn offer_example(&mut self, key: (SystemTime, String), example: ExampleRequest) {
        if let Some(i) = self.examples.iter().position(|x| x.path == example.path) {
            if self.example_keys[i] >= key {
                return;
            }
            self.example_keys.remove(i);
            self.examples.remove(i);
        }
        let at = self.example_keys.partition_point(|k| *k > key);
        if at < EXAMPLES {
            self.example_keys.insert(at, key);
            self.examples.insert(at, example);
            self.example_keys.truncate(EXAMPLES);
            self.examples.truncate(EXAMPLES);
        }
    }

    pub(crate) fn merge(&mut self, other: ShadowUsage) {
        self.usage.merge(other.usage);
        add_all(&mut self.upstream_statuses, other.upstream_statuses);
        self.query_params.extend(other.query_params);
        self.undeclared_method |= other.undeclared_method;
        for (k, e) in other.example_keys.into_iter().zip(other.examples) {
            self.offer_example(k, e);
        }
    }
}

fn example(e: &AuditEvent) -> ExampleRequest {
    ExampleRequest {
        ts: time(e.ts),
        request_id: e.request_id.clone(),
        method: e.method.clone(),
        path: e.path.clone(),
        status: e.status,
    }
}

fn add_all<K: Ord>(into: &mut BTreeMap<K, u64>, from: BTreeMap<K, u64>) {
    for (k, n) in from {
        *into.entry(k).or_default() += n;
    }
}

fn min_opt(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_opt(a: Option<SystemTime>, b: Option<SystemTime>) -> Option<SystemTime> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// RFC 3339 with milliseconds, as events print times.
pub(crate) fn time(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// The key field classes of an unrouted response are recorded under:
/// the method and the path's typed template (`GET /api/v1/riders/{id}`).
/// The gateway computes it from the request alone; the inventory finds the
/// shadow endpoint holding that key.
pub fn shadow_key(method: &str, path: &str) -> String {
    format!("{method} {}", template::typed(path).text())
}

/// Whether an event is traffic the contract does not route (as opposed to
/// a request stopped before routing: malformed, over a limit, blocked by
/// detection).
fn is_unrouted(e: &AuditEvent) -> bool {
    use rampart_contract::rules::{ROUTE_METHOD, ROUTE_UNKNOWN};
    e.operation.is_none()
        && (e.rules.is_empty()
            || e.rules
                .iter()
                .any(|r| r == ROUTE_UNKNOWN.id || r == ROUTE_METHOD.id))
}

impl<'c> Builder<'c> {
    /// A builder for the window `[since, until)` over `apis`.
    pub fn new(apis: &'c [ApiContract], since: Option<SystemTime>, until: SystemTime) -> Self {
        let refs = apis
            .iter()
            .map(|a| ApiRef {
                name: &a.name,
                contract: &a.contract,
            })
            .collect();
        Builder::over(refs, since, until)
    }

    /// A builder over contracts held elsewhere (the gateway's runtime).
    pub fn over(apis: Vec<ApiRef<'c>>, since: Option<SystemTime>, until: SystemTime) -> Self {
        let mut op_index = HashMap::new();
        for (a, api) in apis.iter().enumerate() {
            for (o, op) in api.contract.operations.iter().enumerate() {
                op_index.insert((api.name.to_owned(), op.id.clone()), (a, o));
            }
        }
        Builder {
            since,
            until,
            events: 0,
            unclustered: 0,
            ops: apis
                .iter()
                .map(|a| {
                    a.contract
                        .operations
                        .iter()
                        .map(|_| Usage::default())
                        .collect()
                })
                .collect(),
            op_index,
            shadow: apis.iter().map(|_| HashMap::new()).collect(),
            shadow_keys: 0,
            apis,
        }
    }

    /// The window: `[since, until)`.
    pub fn window(&self) -> (Option<SystemTime>, SystemTime) {
        (self.since, self.until)
    }

    /// Counts one event.
    pub fn add(&mut self, e: &AuditEvent) {
        self.events += 1;
        if let Some(op) = &e.operation {
            let found = e
                .api
                .as_ref()
                .and_then(|api| self.op_index.get(&(api.clone(), op.clone())))
                .or_else(|| {
                    // Older events without `api`: the first API declaring it.
                    self.apis
                        .iter()
                        .find_map(|a| self.op_index.get(&(a.name.to_owned(), op.clone())))
                })
                .copied();
            if let Some((a, o)) = found
                && let Some(usage) = self.ops.get_mut(a).and_then(|ops| ops.get_mut(o))
            {
                usage.add(e);
            }
            return;
        }
        if !is_unrouted(e) {
            return;
        }
        let Some(a) = self.api_of(e) else { return };
        let key = (e.method.clone(), template::typed(&e.path));
        let Some(map) = self.shadow.get_mut(a) else {
            return;
        };
        if !map.contains_key(&key) {
            if self.shadow_keys >= MAX_SHADOW_KEYS {
                self.unclustered += 1;
                return;
            }
            self.shadow_keys += 1;
        }
        map.entry(key).or_default().add(e);
    }

    /// The API an unrouted event belongs to: the one it names, else the one
    /// whose base path holds its path, else the only one.
    fn api_of(&self, e: &AuditEvent) -> Option<usize> {
        if let Some(name) = &e.api
            && let Some(i) = self.apis.iter().position(|a| a.name == name)
        {
            return Some(i);
        }
        let under = |base: &str| {
            !base.is_empty()
                && e.path.starts_with(base)
                && matches!(e.path.as_bytes().get(base.len()), None | Some(b'/'))
        };
        self.apis
            .iter()
            .position(|a| under(&a.contract.base_path))
            .or(if self.apis.is_empty() { None } else { Some(0) })
    }

    /// The inventory, with `fields` (from the store) joined to the
    /// operations and shadow endpoints they were recorded for.
    pub fn finish(self, fields: &[FieldClassCount]) -> Inventory {
        let mut apis = Vec::with_capacity(self.apis.len());
        let ops = self.ops;
        let shadow = self.shadow;
        for ((api, usages), shadow) in self.apis.iter().copied().zip(ops).zip(shadow) {
            let fields: Vec<&FieldClassCount> =
                fields.iter().filter(|f| f.api == api.name).collect();
            apis.push(finish_api(api, usages, shadow, &fields));
        }
        Inventory {
            since: self.since.map(time),
            until: time(self.until),
            events: self.events,
            unclustered: self.unclustered,
            apis,
        }
    }
}

fn finish_api(
    api: ApiRef<'_>,
    usages: Vec<Usage>,
    shadow: HashMap<(String, Template), ShadowUsage>,
    fields: &[&FieldClassCount],
) -> ApiInventory {
    let contract = api.contract;
    let mut operations = Vec::with_capacity(usages.len());
    let mut zombies = Zombies::default();
    for (op, usage) in contract.operations.iter().zip(usages) {
        let sensitive = fields
            .iter()
            .filter(|f| f.operation == op.id)
            .filter_map(|f| sensitive(f, crate::protection::protection(contract, op, &f.pointer)))
            .collect();
        if usage.calls == 0 {
            zombies.never_called.push(op.id.clone());
        } else if op.deprecated {
            zombies.deprecated_in_use.push(op.id.clone());
        }
        operations.push(operation_use(op, usage, sensitive));
    }
    let shadow = crate::cluster::cluster(contract, shadow, fields);
    zombies.old_versions = shadow
        .iter()
        .filter(|s| s.version_of.is_some())
        .map(|s| format!("{} {}", s.method, s.template))
        .collect();
    zombies.never_called.sort();
    zombies.deprecated_in_use.sort();
    zombies.old_versions.sort();
    ApiInventory {
        name: api.name.to_owned(),
        title: contract.title.clone(),
        version: contract.version.clone(),
        base_path: contract.base_path.clone(),
        operations,
        shadow,
        zombies,
    }
}

fn rate(n: u64, of: u64) -> f64 {
    if of == 0 {
        0.0
    } else {
        // Four decimals are plenty and keep the JSON stable.
        ((n as f64 / of as f64) * 10_000.0).round() / 10_000.0
    }
}

fn error_counts(statuses: &BTreeMap<u16, u64>) -> (u64, u64) {
    let errors = statuses.range(400..).map(|(_, n)| n).sum();
    let server = statuses.range(500..).map(|(_, n)| n).sum();
    (errors, server)
}

fn operation_use(
    op: &Operation,
    usage: Usage,
    sensitive_fields: Vec<SensitiveField>,
) -> OperationUse {
    let (errors, server) = error_counts(&usage.statuses);
    OperationUse {
        operation: op.id.clone(),
        method: op.method.to_string(),
        route: op.route.clone(),
        deprecated: op.deprecated,
        calls: usage.calls,
        first_seen: usage.first.map(time),
        last_seen: usage.last.map(time),
        auth: usage.auth.finish(),
        error_rate: rate(errors, usage.calls),
        server_error_rate: rate(server, usage.calls),
        statuses: usage.statuses,
        decisions: usage.decisions,
        rules: usage.rules,
        sensitive_fields,
    }
}

pub(crate) fn sensitive(f: &FieldClassCount, protection: Protection) -> Option<SensitiveField> {
    Some(SensitiveField {
        pointer: f.pointer.clone(),
        class: DataClass::parse(&f.class)?,
        count: f.count,
        first_seen: time(f.first_seen),
        last_seen: time(f.last_seen),
        protection,
        unprotected: !matches!(protection, Protection::OwnerOnly | Protection::OwnedObject),
    })
}
