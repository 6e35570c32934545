//! Clustering one API's unrouted traffic into shadow endpoints: the typed
//! keys the builder counted are merged where words turn out to be values
//! ([`template::merge_words`]), grouped by shape and method, and each group
//! is checked for being an older version of a declared operation.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use http::Method;
use rampart_contract::{Contract, Matched};
use rampart_store::FieldClassCount;

use crate::build::{ShadowUsage, sensitive, time};
use crate::classify::DataClass;
use crate::model::{Protection, SensitiveField, ShadowEndpoint, ShadowParam};
use crate::template::{self, ParamKind, Segment, Template};

/// Clusters the shadow keys of one API into endpoints.
pub(crate) fn cluster(
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
