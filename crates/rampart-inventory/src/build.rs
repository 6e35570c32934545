//! Building the inventory: events are fed one at a time (so a week of
//! traffic never sits in memory), then field classes are joined and the
//! shadow traffic is clustered.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::time::SystemTime;

use http::Method;
use rampart_contract::operation::StatusKey;
use rampart_contract::{Contract, Matched, Operation};
use rampart_store::{AuditEvent, FieldClassCount};

use crate::classify::DataClass;
use crate::model::{
    ApiInventory, AuthSeen, ExampleRequest, Inventory, OperationUse, Protection, SensitiveField,
    ShadowEndpoint, ShadowParam, Zombies,
};
use crate::template::{self, ParamKind, Segment, Template};

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
struct Usage {
    calls: u64,
    first: Option<SystemTime>,
    last: Option<SystemTime>,
    auth: AuthAcc,
    statuses: BTreeMap<u16, u64>,
    decisions: BTreeMap<String, u64>,
    rules: BTreeMap<String, u64>,
}

#[derive(Debug, Default)]
struct AuthAcc {
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

    fn finish(self) -> AuthSeen {
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
struct ShadowUsage {
    usage: Usage,
    upstream_statuses: BTreeMap<u16, u64>,
    query_params: BTreeSet<String>,
    undeclared_method: bool,
    /// Newest first.
    examples: Vec<ExampleRequest>,
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

    fn merge(&mut self, other: ShadowUsage) {
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
            .filter_map(|f| sensitive(f, protection(contract, op, &f.pointer)))
            .collect();
        if usage.calls == 0 {
            zombies.never_called.push(op.id.clone());
        } else if op.deprecated {
            zombies.deprecated_in_use.push(op.id.clone());
        }
        operations.push(operation_use(op, usage, sensitive));
    }
    let shadow = cluster(contract, shadow, fields);
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

fn sensitive(f: &FieldClassCount, protection: Protection) -> Option<SensitiveField> {
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

/// What guards the field at `pointer` of `op`'s successful JSON responses.
fn protection(contract: &Contract, op: &Operation, pointer: &str) -> Protection {
    let success = op
        .responses
        .iter()
        .filter(|r| match r.status {
            StatusKey::Exact(s) => (200..300).contains(&s),
            StatusKey::Range(d) => d == 2,
            StatusKey::Default => false,
        })
        .chain(
            op.responses
                .iter()
                .filter(|r| r.status == StatusKey::Default),
        );
    let Some(mut shape) = success
        .flat_map(|r| r.content.iter())
        .find_map(|m| if m.json { m.shape } else { None })
    else {
        return Protection::Undeclared;
    };
    let shapes = &contract.shapes;
    let mut owned = false;
    let mut owner_only = false;
    for token in pointer.split('/').skip(1) {
        let flat = shapes.flat(shape);
        owned |= flat.ownership.is_annotated();
        let next = if token == "*" {
            flat.items
        } else {
            let name = token.replace("~1", "/").replace("~0", "~");
            match flat.props.get(&name) {
                Some(prop) => {
                    owner_only |= prop.owner_only;
                    Some(prop.shape)
                }
                None if flat.closed => return Protection::Undeclared,
                None => flat.additional,
            }
        };
        match next {
            Some(s) => shape = s,
            // An open value: served as the upstream sent it.
            None => break,
        }
    }
    if owner_only {
        Protection::OwnerOnly
    } else if owned {
        Protection::OwnedObject
    } else {
        Protection::None
    }
}

/// Clusters the shadow keys of one API into endpoints.
fn cluster(
    contract: &Contract,
    shadow: HashMap<(String, Template), ShadowUsage>,
    fields: &[&FieldClassCount],
) -> Vec<ShadowEndpoint> {
    let mut entries: Vec<((String, Template), ShadowUsage)> = shadow.into_iter().collect();
    // Deterministic input order for the merge (HashMap order is random).
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let weights: Vec<u64> = entries.iter().map(|(_, u)| u.usage.calls).collect();
    let typed: Vec<Template> = entries.iter().map(|((_, t), _)| t.clone()).collect();
    let known: HashSet<String> = contract
        .operations
        .iter()
        .flat_map(|op| op.route.split('/'))
        .filter(|s| !s.is_empty() && !s.contains('{'))
        .map(str::to_owned)
        .collect();
    let merged = template::merge_words(typed, &weights, &known);
    struct Group {
        method: String,
        template: Template,
        kinds: Vec<BTreeSet<ParamKind>>,
        usage: ShadowUsage,
        keys: BTreeSet<String>,
    }
    let mut groups: BTreeMap<(String, Vec<Option<String>>), Group> = BTreeMap::new();
    for (((method, typed), usage), final_t) in entries.into_iter().zip(merged) {
        let shape: Vec<Option<String>> = template::shape_key(&final_t)
            .into_iter()
            .map(|s| s.map(str::to_owned))
            .collect();
        let key_text = format!("{method} {}", typed.text());
        let kinds: Vec<ParamKind> = final_t
            .segments
            .iter()
            .zip(&typed.segments)
            .filter_map(|(f, t)| match (f, t) {
                (Segment::Param(_), Segment::Param(k)) => Some(*k),
                (Segment::Param(k), Segment::Static(_)) => Some(*k),
                _ => None,
            })
            .collect();
        match groups.entry((method.clone(), shape)) {
            std::collections::btree_map::Entry::Occupied(mut g) => {
                let g = g.get_mut();
                for (set, k) in g.kinds.iter_mut().zip(kinds) {
                    set.insert(k);
                }
                g.usage.merge(usage);
                g.keys.insert(key_text);
            }
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Group {
                    method,
                    template: final_t,
                    kinds: kinds.into_iter().map(|k| BTreeSet::from([k])).collect(),
                    usage,
                    keys: BTreeSet::from([key_text]),
                });
            }
        }
    }
    let mut out: Vec<ShadowEndpoint> = groups
        .into_values()
        .map(|g| {
            let (text, names) = g.template.render();
            let version_of = g
                .usage
                .examples
                .first()
                .and_then(|e| older_version_of(contract, &g.method, &e.path));
            let sensitive_fields = fields
                .iter()
                .filter(|f| g.keys.contains(&f.operation))
                .filter_map(|f| sensitive(f, Protection::ShadowEndpoint))
                .collect::<Vec<_>>();
            let ShadowUsage {
                usage,
                upstream_statuses,
                query_params,
                undeclared_method,
                examples,
                ..
            } = g.usage;
            ShadowEndpoint {
                method: g.method,
                template: text,
                params: names
                    .into_iter()
                    .zip(g.kinds)
                    .map(|(name, kinds)| ShadowParam {
                        name,
                        kinds: kinds.into_iter().collect(),
                    })
                    .collect(),
                query_params: query_params.into_iter().collect(),
                calls: usage.calls,
                first_seen: usage.first.map(time).unwrap_or_default(),
                last_seen: usage.last.map(time).unwrap_or_default(),
                statuses: usage.statuses,
                upstream_statuses,
                decisions: usage.decisions,
                auth: usage.auth.finish(),
                undeclared_method,
                version_of,
                examples,
                sensitive_fields: merge_sensitive(sensitive_fields),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.calls
            .cmp(&a.calls)
            .then_with(|| a.template.cmp(&b.template))
            .then_with(|| a.method.cmp(&b.method))
    });
    out
}

/// Field classes recorded under several keys of one endpoint, added up.
fn merge_sensitive(fields: Vec<SensitiveField>) -> Vec<SensitiveField> {
    let mut by: BTreeMap<(String, DataClass), SensitiveField> = BTreeMap::new();
    for f in fields {
        by.entry((f.pointer.clone(), f.class))
            .and_modify(|m| {
                m.count += f.count;
                if f.first_seen < m.first_seen {
                    m.first_seen = f.first_seen.clone();
                }
                if f.last_seen > m.last_seen {
                    m.last_seen = f.last_seen.clone();
                }
            })
            .or_insert(f);
    }
    by.into_values().collect()
}

/// The declared operation `path` reaches once its version segment (`v1`)
/// is removed: `/api/v1/riders/3` is an old `getRider` when
/// `/api/riders/3` routes to it.
fn older_version_of(contract: &Contract, method: &str, path: &str) -> Option<String> {
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let segments: Vec<&str> = path.split('/').collect();
    let at = segments.iter().position(|s| template::is_version(s))?;
    let mut rest: Vec<String> = Vec::with_capacity(segments.len());
    for (i, s) in segments.iter().enumerate() {
        if i != at {
            rest.push(
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .ok()?
                    .into_owned(),
            );
        }
    }
    let stripped = rest.join("/");
    match contract.route(&method, if stripped.is_empty() { "/" } else { &stripped }) {
        Matched::Found(op, _) => Some(op.id.clone()),
        _ => None,
    }
}
