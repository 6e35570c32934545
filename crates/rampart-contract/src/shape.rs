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

#[derive(Debug, Default, Clone)]
struct RawShape {
    props: Vec<(String, ShapeId, bool, bool)>,
    open: bool,
    forbidden: bool,
    additional: Option<ShapeId>,
    items: Option<ShapeId>,
    all_of: Vec<ShapeId>,
    any_of: Vec<ShapeId>,
    may_be_object: bool,
}

/// A property as the flattened view sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prop {
    /// The property's (merged) shape.
    pub shape: ShapeId,
    /// Declared `readOnly` by any contributing schema.
    pub read_only: bool,
    /// Declared `writeOnly` by any contributing schema.
    pub write_only: bool,
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
}

/// All shapes of one contract.
#[derive(Debug, Default)]
pub struct ShapeArena {
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
                let (ro, wo) = flags(doc, sub);
                s.props.push((name.clone(), id, ro, wo));
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
        for (name, (ids, ro, wo)) in acc.props {
            let shape = self.union(ids);
            props.insert(
                name,
                Prop {
                    shape,
                    read_only: ro,
                    write_only: wo,
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
        }
    }

    fn collect(&self, id: ShapeId, all: bool, acc: &mut Acc, seen: &mut Vec<ShapeId>) {
        if seen.contains(&id) || seen.len() > 4096 {
            return;
        }
        seen.push(id);
        let s = &self.raw[id as usize];
        for (name, pid, ro, wo) in &s.props {
            let e = acc.props.entry(name.clone()).or_default();
            if !e.0.contains(pid) {
                e.0.push(*pid);
            }
            e.1 |= ro;
            e.2 |= wo;
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
    props: BTreeMap<String, (Vec<ShapeId>, bool, bool)>,
    open: bool,
    forbidden: bool,
    additional: Vec<ShapeId>,
    items: Vec<ShapeId>,
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
