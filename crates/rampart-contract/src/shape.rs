//! The property-level view of schemas: which properties an object declares,
//! which are `readOnly` or `writeOnly`, and whether undeclared ones are allowed.
//!
//! JSON Schema validation answers "is this value valid?"; the gateway also
//! needs to *act* on properties: reject a `readOnly` field a client tries to
//! set (mass assignment), strip fields the upstream returns but the contract
//! never declared (excessive data exposure), and drop `writeOnly` fields such
//! as passwords from responses. Validators treat those keywords as mere
//! annotations, so we compile our own small model.
//!
//! Composition is flattened at compile time: `allOf`, `anyOf` and `oneOf`
//! contribute the union of their properties. Union is the permissive choice
//! for `anyOf`/`oneOf` (a property declared by any branch is "declared"); the
//! JSON Schema validator still checks the value against the real composition.
//! An object is *closed* when it declares properties (or forbids additional
//! ones) and does not open itself with `additionalProperties: true`, a schema,
//! or `patternProperties`. A bare `type: object` is an open map.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::pointer;

/// Index of a shape in a [`ShapeArena`].
pub type ShapeId = u32;

#[derive(Debug, Clone)]
struct RawProp {
    name: String,
    shape: ShapeId,
    meta: PropMeta,
}

/// What a property schema says about who may see and set the property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropMeta {
    /// `readOnly`.
    pub read_only: bool,
    /// `writeOnly`.
    pub write_only: bool,
    /// `x-rampart-visibility: owner`: left out of restricted views.
    pub owner_only: bool,
    /// `x-rampart-writable-by: [roles]`: only these roles may set it.
    pub writable_by: Option<Vec<String>>,
}

/// Where an object schema says its ownership facts live
/// (`x-rampart-owner`, `x-rampart-private`, `x-rampart-id`: JSON pointers
/// into the object).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ownership {
    /// Pointer to the owner's principal id.
    pub owner: Option<String>,
    /// Pointer to a boolean "private" flag.
    pub private: Option<String>,
    /// Pointer to the object's own id.
    pub id: Option<String>,
}

impl Ownership {
    /// Whether the schema declares any ownership fact.
    pub fn is_annotated(&self) -> bool {
        self.owner.is_some() || self.private.is_some()
    }
}

#[derive(Debug, Default, Clone)]
struct RawShape {
    props: Vec<RawProp>,
    ownership: Ownership,
    open: bool,
    forbidden: bool,
    additional: Option<ShapeId>,
    items: Option<ShapeId>,
    all_of: Vec<ShapeId>,
    any_of: Vec<ShapeId>,
    may_be_object: bool,
}

/// A property as the flattened view sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// The property's (merged) shape.
    pub shape: ShapeId,
    /// Declared `readOnly` by any contributing schema.
    pub read_only: bool,
    /// Declared `writeOnly` by any contributing schema.
    pub write_only: bool,
    /// Left out of restricted views.
    pub owner_only: bool,
    /// Roles allowed to set it, when restricted.
    pub writable_by: Option<Vec<String>>,
}

/// A shape with composition flattened.
#[derive(Debug, Clone, Default)]
pub struct Flat {
    /// Declared properties.
    pub props: HashMap<String, Prop>,
    /// Undeclared properties are not allowed.
    pub closed: bool,
    /// Shape of additional property values, when the schema gives one.
    pub additional: Option<ShapeId>,
    /// Shape of array items.
    pub items: Option<ShapeId>,
    /// Ownership facts of objects of this shape.
    pub ownership: Ownership,
}

/// What a walk over a value found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyFinding {
    /// JSON pointer of the property in the instance.
    pub pointer: String,
    /// What is wrong with it.
    pub kind: PropertyFindingKind,
}

/// The kinds of property-level findings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyFindingKind {
    /// A request sets a `readOnly` property.
    ReadOnly,
    /// A property the schema does not declare.
    Undeclared,
    /// A response carries a `writeOnly` property.
    WriteOnly,
    /// A request sets a property only other roles may set.
    RoleRestricted,
}

/// All shapes of one contract.
#[derive(Debug, Default)]
pub struct ShapeArena {
    /// Problems with `x-rampart-*` annotations: (schema pointer, message).
    pub errors: Vec<(String, String)>,
    raw: Vec<RawShape>,
    flat: Vec<Flat>,
    by_pointer: HashMap<String, ShapeId>,
    unions: HashMap<Vec<ShapeId>, ShapeId>,
}

const MAX_REF_HOPS: usize = 32;

impl ShapeArena {
    /// The shape of the schema at `ptr` in `doc`, building it (and everything it reaches) on first use.
    pub fn intern(&mut self, doc: &Value, ptr: &str) -> ShapeId {
        if let Some(&id) = self.by_pointer.get(ptr) {
            return id;
        }
        let id = self.alloc(RawShape::default());
        self.by_pointer.insert(ptr.to_string(), id);
        let Ok(node) = pointer::resolve(doc, ptr) else {
            self.raw[id as usize].open = true;
            self.raw[id as usize].may_be_object = true;
            return id;
        };
        let shape = self.build(doc, ptr, node);
        self.raw[id as usize] = shape;
        id
    }

    fn alloc(&mut self, s: RawShape) -> ShapeId {
        self.raw.push(s);
        (self.raw.len() - 1) as ShapeId
    }

    fn build(&mut self, doc: &Value, ptr: &str, node: &Value) -> RawShape {
        let mut s = RawShape::default();
        let Value::Object(m) = node else {
            // `true`/`{}`-like schemas accept anything: an open map.
            s.open = node != &Value::Bool(false);
            s.may_be_object = s.open;
            return s;
        };
        if let Some(Value::String(r)) = m.get("$ref") {
            if let Some(target) = r.strip_prefix('#') {
                let t = self.intern(doc, target);
                s.all_of.push(t);
            } else {
                s.open = true;
            }
        }
        s.may_be_object = match m.get("type") {
            Some(Value::String(t)) => t == "object",
            Some(Value::Array(ts)) => ts.iter().any(|t| t == "object"),
            _ => true,
        };
        if let Some(Value::Object(props)) = m.get("properties") {
            let base = pointer::push(ptr, "properties");
            for (name, sub) in props {
                let sub_ptr = pointer::push(&base, name);
                let id = self.intern(doc, &sub_ptr);
                let meta = match prop_meta(doc, sub) {
                    Ok(m) => m,
                    Err(e) => {
                        self.errors.push((sub_ptr.clone(), e));
                        PropMeta::default()
                    }
                };
                s.props.push(RawProp {
                    name: name.clone(),
                    shape: id,
                    meta,
                });
            }
        }
        for (kw, slot) in [
            ("x-rampart-owner", &mut s.ownership.owner),
            ("x-rampart-private", &mut s.ownership.private),
            ("x-rampart-id", &mut s.ownership.id),
        ] {
            match m.get(kw) {
                None => {}
                Some(Value::String(p)) if p.starts_with('/') => *slot = Some(p.clone()),
                Some(other) => self.errors.push((
                    pointer::push(ptr, kw),
                    format!(
                        "{kw} must be a JSON pointer into the object such as \"/id\", not {other}"
                    ),
                )),
            }
        }
        match m.get("additionalProperties") {
            Some(Value::Bool(false)) => s.forbidden = true,
            Some(Value::Bool(true)) => s.open = true,
            Some(Value::Object(_)) => {
                s.open = true;
                s.additional = Some(self.intern(doc, &pointer::push(ptr, "additionalProperties")));
            }
            _ => {}
        }
        if m.contains_key("patternProperties") || m.contains_key("unevaluatedProperties") {
            s.open = true;
        }
        if let Some(items) = m.get("items")
            && items.is_object()
        {
            s.items = Some(self.intern(doc, &pointer::push(ptr, "items")));
        }
        for (kw, into_all) in [("allOf", true), ("anyOf", false), ("oneOf", false)] {
            if let Some(Value::Array(branches)) = m.get(kw) {
                let base = pointer::push(ptr, kw);
                for i in 0..branches.len() {
                    let id = self.intern(doc, &format!("{base}/{i}"));
                    if into_all {
                        s.all_of.push(id);
                    } else {
                        s.any_of.push(id);
                    }
                }
            }
        }
        s
    }

    /// Flatten every shape. Call once after the last [`intern`](Self::intern).
    pub fn finish(&mut self) {
        let mut i = 0;
        while i < self.raw.len() {
            let flat = self.flatten(i as ShapeId);
            if self.flat.len() <= i {
                self.flat.resize(i + 1, Flat::default());
            }
            self.flat[i] = flat;
            i += 1;
        }
    }

    fn flatten(&mut self, id: ShapeId) -> Flat {
        let mut acc = Acc::default();
        let mut seen = Vec::new();
        self.collect(id, true, &mut acc, &mut seen);
        let mut props = HashMap::with_capacity(acc.props.len());
        for (name, (ids, meta)) in acc.props {
            let shape = self.union(ids);
            props.insert(
                name,
                Prop {
                    shape,
                    read_only: meta.read_only,
                    write_only: meta.write_only,
                    owner_only: meta.owner_only,
                    writable_by: meta.writable_by,
                },
            );
        }
        let additional = if acc.additional.is_empty() {
            None
        } else {
            Some(self.union(acc.additional))
        };
        let items = if acc.items.is_empty() {
            None
        } else {
            Some(self.union(acc.items))
        };
        Flat {
            closed: !acc.open && (!props.is_empty() || acc.forbidden),
            props,
            additional,
            items,
            ownership: acc.ownership,
        }
    }

    fn collect(&self, id: ShapeId, all: bool, acc: &mut Acc, seen: &mut Vec<ShapeId>) {
        if seen.contains(&id) || seen.len() > 4096 {
            return;
        }
        seen.push(id);
        let s = &self.raw[id as usize];
        for p in &s.props {
            let e = acc.props.entry(p.name.clone()).or_default();
            if !e.0.contains(&p.shape) {
                e.0.push(p.shape);
            }
            e.1.read_only |= p.meta.read_only;
            e.1.write_only |= p.meta.write_only;
            e.1.owner_only |= p.meta.owner_only;
            if let Some(roles) = &p.meta.writable_by {
                // Several contributing schemas: the intersection is the safe reading.
                e.1.writable_by = Some(match e.1.writable_by.take() {
                    Some(prev) => prev.into_iter().filter(|r| roles.contains(r)).collect(),
                    None => roles.clone(),
                });
            }
        }
        if all {
            let o = &s.ownership;
            acc.ownership.owner = acc.ownership.owner.take().or_else(|| o.owner.clone());
            acc.ownership.private = acc.ownership.private.take().or_else(|| o.private.clone());
            acc.ownership.id = acc.ownership.id.take().or_else(|| o.id.clone());
        }
        acc.open |= s.open;
        acc.forbidden |= s.forbidden && all;
        acc.additional.extend(s.additional);
        acc.items.extend(s.items);
        for &b in &s.all_of {
            self.collect(b, all, acc, seen);
        }
        for &b in &s.any_of {
            // A branch that may be an object but declares nothing makes the union an open map.
            let mut sub = Acc::default();
            let mut sub_seen = seen.clone();
            self.collect(b, false, &mut sub, &mut sub_seen);
            let branch = &self.raw[b as usize];
            if branch.may_be_object && sub.props.is_empty() && !sub.forbidden {
                acc.open = true;
            }
            self.collect(b, false, acc, seen);
        }
    }

    fn union(&mut self, mut ids: Vec<ShapeId>) -> ShapeId {
        if ids.len() == 1 {
            return ids[0];
        }
        ids.sort_unstable();
        ids.dedup();
        if let Some(&u) = self.unions.get(&ids) {
            return u;
        }
        let u = self.alloc(RawShape {
            all_of: ids.clone(),
            may_be_object: true,
            ..RawShape::default()
        });
        self.unions.insert(ids, u);
        u
    }

    /// The flattened view of a shape.
    pub fn flat(&self, id: ShapeId) -> &Flat {
        static EMPTY: std::sync::OnceLock<Flat> = std::sync::OnceLock::new();
        self.flat
            .get(id as usize)
            .unwrap_or_else(|| EMPTY.get_or_init(Flat::default))
    }

    /// Check a request body: `readOnly` properties, and undeclared ones when `reject_undeclared`.
    pub fn check_request(
        &self,
        root: ShapeId,
        value: &Value,
        reject_undeclared: bool,
        out: &mut Vec<PropertyFinding>,
    ) {
        self.walk_request(root, value, reject_undeclared, None, out);
    }

    fn walk_request(
        &self,
        id: ShapeId,
        value: &Value,
        reject_undeclared: bool,
        at: Option<&Path<'_>>,
        out: &mut Vec<PropertyFinding>,
    ) {
        let flat = self.flat(id);
        match value {
            Value::Object(m) => {
                for (k, v) in m {
                    let here = Path::key(at, k);
                    match flat.props.get(k) {
                        Some(p) if p.read_only => {
                            out.push(here.finding(PropertyFindingKind::ReadOnly))
                        }
                        Some(p) => {
                            self.walk_request(p.shape, v, reject_undeclared, Some(&here), out)
                        }
                        None if flat.closed && reject_undeclared => {
                            out.push(here.finding(PropertyFindingKind::Undeclared))
                        }
                        None => {
                            if let Some(a) = flat.additional {
                                self.walk_request(a, v, reject_undeclared, Some(&here), out);
                            }
                        }
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = flat.items {
                    for (i, v) in items.iter().enumerate() {
                        let here = Path::index(at, i);
                        self.walk_request(item, v, reject_undeclared, Some(&here), out);
                    }
                }
            }
            _ => {}
        }
    }

    /// Strip undeclared and `writeOnly` properties from a response value.
    /// With `apply == false` nothing is removed but findings are still reported (monitor mode).
    pub fn shape_response(
        &self,
        root: ShapeId,
        value: &mut Value,
        apply: bool,
        out: &mut Vec<PropertyFinding>,
    ) {
        self.walk_response(root, value, apply, None, out);
    }

    fn walk_response(
        &self,
        id: ShapeId,
        value: &mut Value,
        apply: bool,
        at: Option<&Path<'_>>,
        out: &mut Vec<PropertyFinding>,
    ) {
        let flat = self.flat(id);
        match value {
            Value::Object(m) => {
                let before = out.len();
                for (k, v) in m.iter_mut() {
                    let here = Path::key(at, k);
                    match flat.props.get(k) {
                        Some(p) if p.write_only => {
                            out.push(here.finding(PropertyFindingKind::WriteOnly))
                        }
                        Some(p) => self.walk_response(p.shape, v, apply, Some(&here), out),
                        None if flat.closed => {
                            out.push(here.finding(PropertyFindingKind::Undeclared))
                        }
                        None => {
                            if let Some(a) = flat.additional {
                                self.walk_response(a, v, apply, Some(&here), out);
                            }
                        }
                    }
                }
                if apply && out.len() > before {
                    m.retain(|k, _| match flat.props.get(k) {
                        Some(p) => !p.write_only,
                        None => !flat.closed,
                    });
                }
            }
            Value::Array(items) => {
                if let Some(item) = flat.items {
                    for (i, v) in items.iter_mut().enumerate() {
                        let here = Path::index(at, i);
                        self.walk_response(item, v, apply, Some(&here), out);
                    }
                }
            }
            _ => {}
        }
    }

    /// Find properties a request sets that only other roles may set
    /// (`x-rampart-writable-by`). A principal with any listed role may.
    pub fn check_writes(
        &self,
        root: ShapeId,
        value: &Value,
        roles: &[String],
        out: &mut Vec<PropertyFinding>,
    ) {
        self.walk_writes(root, value, roles, None, out);
    }

    fn walk_writes(
        &self,
        id: ShapeId,
        value: &Value,
        roles: &[String],
        at: Option<&Path<'_>>,
        out: &mut Vec<PropertyFinding>,
    ) {
        let flat = self.flat(id);
        match value {
            Value::Object(m) => {
                for (k, v) in m {
                    let here = Path::key(at, k);
                    if let Some(p) = flat.props.get(k) {
                        if let Some(allowed) = &p.writable_by
                            && !allowed.iter().any(|r| roles.contains(r))
                        {
                            out.push(here.finding(PropertyFindingKind::RoleRestricted));
                            continue;
                        }
                        self.walk_writes(p.shape, v, roles, Some(&here), out);
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item) = flat.items {
                    for (i, v) in items.iter().enumerate() {
                        let here = Path::index(at, i);
                        self.walk_writes(item, v, roles, Some(&here), out);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether any object reachable from `root` carries ownership annotations
    /// (so a response of this shape needs object-level authorization).
    pub fn has_ownership(&self, root: ShapeId) -> bool {
        let mut seen = Vec::new();
        self.reaches_ownership(root, &mut seen)
    }

    fn reaches_ownership(&self, id: ShapeId, seen: &mut Vec<ShapeId>) -> bool {
        if seen.contains(&id) {
            return false;
        }
        seen.push(id);
        let flat = self.flat(id);
        flat.ownership.is_annotated()
            || flat.items.is_some_and(|i| self.reaches_ownership(i, seen))
            || flat
                .additional
                .is_some_and(|a| self.reaches_ownership(a, seen))
            || flat
                .props
                .values()
                .any(|p| self.reaches_ownership(p.shape, seen))
    }

    /// Object-level authorization of a response value: every object whose
    /// shape declares ownership facts is shown to `decide`, which answers
    /// with a [`View`]. Restricted objects lose their `owner_only`
    /// properties; denied objects are dropped from arrays, and a denied
    /// top-level object denies the whole response. With `apply == false`
    /// (monitor mode) decisions are made and counted but nothing changes.
    pub fn authorize_objects(
        &self,
        root: ShapeId,
        value: &mut Value,
        apply: bool,
        decide: &mut dyn FnMut(&ObjectFacts) -> View,
    ) -> ObjectsOutcome {
        let mut outcome = ObjectsOutcome::default();
        let top = self.walk_objects(root, value, apply, decide, &mut outcome);
        outcome.denied_whole = top == View::Deny;
        outcome
    }

    fn walk_objects(
        &self,
        id: ShapeId,
        value: &mut Value,
        apply: bool,
        decide: &mut dyn FnMut(&ObjectFacts) -> View,
        outcome: &mut ObjectsOutcome,
    ) -> View {
        let flat = self.flat(id);
        match value {
            Value::Object(_) => {
                let mut view = View::Full;
                if flat.ownership.is_annotated() {
                    let mut facts = ObjectFacts::read(value, &flat.ownership);
                    facts.restrictable = flat.props.values().any(|p| p.owner_only);
                    view = decide(&facts);
                    outcome.count(view, facts);
                    if view == View::Deny {
                        return View::Deny;
                    }
                }
                let Value::Object(m) = value else {
                    return view;
                };
                if view == View::Restricted && apply {
                    m.retain(|k, _| !flat.props.get(k).is_some_and(|p| p.owner_only));
                }
                for (k, v) in m.iter_mut() {
                    let child = match flat.props.get(k) {
                        Some(p) => Some(p.shape),
                        None => flat.additional,
                    };
                    if let Some(child) = child
                        && self.walk_objects(child, v, apply, decide, outcome) == View::Deny
                        && apply
                    {
                        // A denied nested object is replaced by null rather than
                        // revealed; its parent stays visible.
                        *v = Value::Null;
                    }
                }
                view
            }
            Value::Array(items) => {
                if let Some(item) = flat.items {
                    let mut keep = Vec::with_capacity(items.len());
                    for v in items.iter_mut() {
                        keep.push(self.walk_objects(item, v, apply, decide, outcome) != View::Deny);
                    }
                    if apply {
                        let mut i = 0;
                        items.retain(|_| {
                            let k = keep[i];
                            i += 1;
                            k
                        });
                    }
                }
                View::Full
            }
            _ => View::Full,
        }
    }

    /// Number of shapes (for tests and metrics).
    pub fn len(&self) -> usize {
        self.raw.len()
    }

    /// Whether the arena is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }
}

#[derive(Default)]
struct Acc {
    props: BTreeMap<String, (Vec<ShapeId>, PropMeta)>,
    ownership: Ownership,
    open: bool,
    forbidden: bool,
    additional: Vec<ShapeId>,
    items: Vec<ShapeId>,
}

/// What a property schema says (following `$ref`s; the property's own
/// keywords win over its target's, the safe reading for flags).
fn prop_meta<'a>(doc: &'a Value, mut node: &'a Value) -> Result<PropMeta, String> {
    let (read_only, write_only) = flags(doc, node);
    let mut meta = PropMeta {
        read_only,
        write_only,
        ..PropMeta::default()
    };
    for _ in 0..MAX_REF_HOPS {
        match node.get("x-rampart-visibility") {
            None => {}
            Some(Value::String(v)) if v == "owner" => meta.owner_only = true,
            Some(Value::String(v)) if v == "public" => {}
            Some(other) => {
                return Err(format!(
                    "x-rampart-visibility must be \"owner\" or \"public\", not {other}"
                ));
            }
        }
        if meta.writable_by.is_none() {
            match node.get("x-rampart-writable-by") {
                None => {}
                Some(Value::Array(roles)) if roles.iter().all(Value::is_string) => {
                    meta.writable_by = Some(
                        roles
                            .iter()
                            .filter_map(Value::as_str)
                            .map(str::to_string)
                            .collect(),
                    );
                }
                Some(other) => {
                    return Err(format!(
                        "x-rampart-writable-by must be a list of role names, not {other}"
                    ));
                }
            }
        }
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(target) => match pointer::resolve(doc, target) {
                Ok(t) => node = t,
                Err(_) => break,
            },
            None => break,
        }
    }
    Ok(meta)
}

/// `readOnly`/`writeOnly` of a property schema, following `$ref`s (OAS 3.0
/// ignores `$ref` siblings, but people write `{$ref, readOnly: true}` meaning
/// it, and honouring it is the safe reading).
pub fn flags<'a>(doc: &'a Value, mut node: &'a Value) -> (bool, bool) {
    let (mut ro, mut wo) = (false, false);
    for _ in 0..MAX_REF_HOPS {
        ro |= node.get("readOnly") == Some(&Value::Bool(true));
        wo |= node.get("writeOnly") == Some(&Value::Bool(true));
        match node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(target) => match pointer::resolve(doc, target) {
                Ok(t) => node = t,
                Err(_) => break,
            },
            None => break,
        }
    }
    (ro, wo)
}

/// What an object of an annotated shape says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectFacts {
    /// The owner's principal id (numbers are written in decimal).
    pub owner: Option<String>,
    /// The private flag, when declared and boolean.
    pub private: Option<bool>,
    /// The object's id.
    pub id: Option<String>,
    /// Whether a restricted view would differ from the full one (the shape
    /// has `x-rampart-visibility: owner` properties). When it would not,
    /// there is no view to decide.
    pub restrictable: bool,
}

impl ObjectFacts {
    /// Read the facts `o` points at out of an object.
    pub fn read(value: &Value, o: &Ownership) -> Self {
        let text = |p: &Option<String>| {
            p.as_deref()
                .and_then(|p| value.pointer(p))
                .and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
        };
        ObjectFacts {
            owner: text(&o.owner),
            private: o
                .private
                .as_deref()
                .and_then(|p| value.pointer(p))
                .and_then(Value::as_bool),
            id: text(&o.id).or_else(|| text(&o.owner)),
            restrictable: false,
        }
    }
}

/// How much of an object a caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Everything the contract declares.
    Full,
    /// Everything but `x-rampart-visibility: owner` properties.
    Restricted,
    /// Nothing: the object is dropped (or the response refused).
    Deny,
}

/// What object-level authorization did to a response.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectsOutcome {
    /// The top-level object was denied.
    pub denied_whole: bool,
    /// Objects shown in full.
    pub full: usize,
    /// Objects shown restricted.
    pub restricted: usize,
    /// Objects dropped.
    pub denied: usize,
    /// Ids of the objects decided (for the security log), at most 32.
    pub ids: Vec<String>,
}

impl ObjectsOutcome {
    fn count(&mut self, view: View, facts: ObjectFacts) {
        match view {
            View::Full => self.full += 1,
            View::Restricted => self.restricted += 1,
            View::Deny => self.denied += 1,
        }
        if self.ids.len() < 32
            && let Some(id) = facts.id
        {
            self.ids.push(id);
        }
    }
}

/// The location of the value being walked, as a linked list on the stack:
/// no allocation unless a finding needs its pointer.
struct Path<'a> {
    parent: Option<&'a Path<'a>>,
    seg: Seg<'a>,
}

enum Seg<'a> {
    Key(&'a str),
    Index(usize),
}

impl<'a> Path<'a> {
    fn key(parent: Option<&'a Path<'a>>, k: &'a str) -> Self {
        Path {
            parent,
            seg: Seg::Key(k),
        }
    }

    fn index(parent: Option<&'a Path<'a>>, i: usize) -> Self {
        Path {
            parent,
            seg: Seg::Index(i),
        }
    }

    fn finding(&self, kind: PropertyFindingKind) -> PropertyFinding {
        let mut segs = Vec::new();
        let mut cur = Some(self);
        while let Some(p) = cur {
            segs.push(match p.seg {
                Seg::Key(k) => pointer::escape(k),
                Seg::Index(i) => i.to_string(),
            });
            cur = p.parent;
        }
        let mut pointer = String::new();
        for s in segs.iter().rev() {
            pointer.push('/');
            pointer.push_str(s);
        }
        PropertyFinding { pointer, kind }
    }
}
