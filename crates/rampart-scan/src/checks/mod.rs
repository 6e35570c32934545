//! The checks, one module per family, and what they share: the planned
//! operations, the identities, and the baseline reads every identity made
//! of its own objects (the controls most checks compare against).
//!
//! Each check returns findings only when its control rules out the benign
//! explanation; the module docs say which control that is.

pub mod authn;
pub mod bfla;
pub mod bola;
pub mod errors;
pub mod exposure;
pub mod headers;
pub mod injection;
pub mod jwt;
pub mod mass_assignment;
pub mod method_override;
pub mod rate_limit;
pub mod shadow;
pub mod ssrf;

use std::collections::BTreeMap;

use rampart_contract::Contract;
use rampart_contract::shape::Flat;
use serde_json::Value;

use crate::client::{Client, Req, Who};
use crate::exchange::Exchange;
use crate::identity::Jwt;
use crate::plan::OpPlan;

/// Everything a check may read.
pub struct Ctx<'a> {
    /// The client (budget, pace, identities).
    pub client: &'a Client,
    /// The compiled contract.
    pub contract: &'a Contract,
    /// Its operations, planned.
    pub ops: Vec<OpPlan>,
    /// `--seed-id` values by parameter name.
    pub seeds: BTreeMap<String, Vec<String>>,
    /// Credential operations named explicitly: writes may target them.
    pub allowed_operations: Vec<String>,
    /// Requests in a rate-limit burst.
    pub burst: usize,
    /// Each identity's reads of its own objects, made first.
    pub baseline: Vec<Baseline>,
}

/// One identity's successful read of one operation, with the path values used.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// Index into `Ctx::ops`.
    pub op: usize,
    /// The identity.
    pub who: usize,
    /// Path (and query) parameter values.
    pub values: BTreeMap<String, String>,
    /// The path and query sent.
    pub path: String,
    /// The exchange.
    pub exchange: Exchange,
}

impl<'a> Ctx<'a> {
    /// Path values naming `who`'s own object for `op`: the owner parameter
    /// gets the identity's principal id; other path parameters take seeds.
    pub fn own_values(&self, op: &OpPlan, who: usize) -> Option<BTreeMap<String, String>> {
        let principal = self.client.identities().get(who)?.principal.clone();
        let mut values = BTreeMap::new();
        for p in op.path_params() {
            let v = if op.owner_param.as_deref() == Some(p.name.as_str()) {
                principal.clone()?
            } else {
                self.seeds.get(&p.name)?.first()?.clone()
            };
            values.insert(p.name.clone(), v);
        }
        Some(values)
    }

    /// Read every GET operation as every identity, on its own objects.
    pub async fn collect_baseline(&mut self) {
        let mut out = Vec::new();
        for (i, op) in self.ops.iter().enumerate() {
            if !op.is_read() {
                continue;
            }
            for who in 0..self.client.identities().len() {
                let Some(values) = self.own_values(op, who) else {
                    continue;
                };
                let Some(path) = op.build(&values) else {
                    continue;
                };
                if let Some(exchange) = self
                    .client
                    .send(&Req::get(path.clone(), Who::Id(who)))
                    .await
                    && exchange.ok()
                    && exchange.json.is_some()
                {
                    out.push(Baseline {
                        op: i,
                        who,
                        values,
                        path,
                        exchange,
                    });
                }
            }
        }
        self.baseline = out;
    }

    /// Whether a write check may send to `op`: never to an operation that
    /// changes credentials or sessions unless it was named explicitly.
    pub fn may_write(&self, op: &OpPlan) -> bool {
        self.client.writes_allowed()
            && (!op.touches_credentials() || self.allowed_operations.contains(&op.id))
    }

    /// The baseline of `op` as `who`, if the read succeeded.
    pub fn baseline_of(&self, op: usize, who: usize) -> Option<&Baseline> {
        self.baseline.iter().find(|b| b.op == op && b.who == who)
    }

    /// The identity's name.
    pub fn name(&self, who: usize) -> &str {
        self.client
            .identities()
            .get(who)
            .map(|i| i.name.as_str())
            .unwrap_or("?")
    }

    /// The identity's principal id.
    pub fn principal(&self, who: usize) -> Option<&str> {
        self.client.identities().get(who)?.principal.as_deref()
    }

    /// The roles an identity's JWT claims; `None` when not a JWT (unknown).
    pub async fn roles(&self, who: usize) -> Option<Vec<String>> {
        let token = self.client.bearer_token(who).await?;
        Jwt::parse(&token).map(|j| j.roles())
    }

    /// The flattened shape of an operation's response objects (the item
    /// shape for arrays).
    pub fn object_shape(&self, op: &OpPlan) -> Option<&Flat> {
        let flat = self.contract.shapes.flat(op.response_shape?);
        match flat.items {
            Some(item) if flat.props.is_empty() => Some(self.contract.shapes.flat(item)),
            _ => Some(flat),
        }
    }

    /// Pairs of distinct identities (A, B), in order.
    pub fn pairs(&self) -> Vec<(usize, usize)> {
        let n = self.client.identities().len();
        (0..n)
            .flat_map(|a| (0..n).filter(move |b| *b != a).map(move |b| (a, b)))
            .collect()
    }

    /// Roles the contract marks as privileged (`x-rampart-writable-by`
    /// values) plus the usual names.
    pub fn privileged_roles(&self) -> Vec<String> {
        let mut roles: Vec<String> = ["admin", "administrator", "root", "superuser", "staff"]
            .map(String::from)
            .into();
        for op in &self.ops {
            for shape in [op.response_shape, op.body_shape].into_iter().flatten() {
                for prop in self.contract.shapes.flat(shape).props.values() {
                    roles.extend(prop.writable_by.iter().flatten().cloned());
                }
            }
        }
        roles.sort();
        roles.dedup();
        roles
    }
}

/// The objects of a JSON answer: the value itself, or an array's items.
pub fn objects(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().filter(|v| v.is_object()).collect(),
        v if v.is_object() => vec![v],
        _ => Vec::new(),
    }
}
