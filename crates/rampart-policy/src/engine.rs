//! Loading, validating and evaluating policies.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicyId,
    PolicySet, Request, RestrictedExpression, Schema, ValidationMode, Validator,
};

use crate::schema::cedar_schema;

/// Largest policy file read (policies are code; a megabyte is plenty).
const MAX_POLICY_BYTES: u64 = 1024 * 1024;
/// The principal id of anonymous callers, and the owner id of objects whose
/// owner is unknown. NUL cannot occur in ids Rampart accepts from tokens or
/// keys, so neither can ever equal a real principal.
const ANONYMOUS: &str = "\u{0}anonymous";
const NOBODY: &str = "\u{0}nobody";

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Every problem found while loading policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors(pub Vec<PolicyError>);

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyErrors {}

/// The caller, as policies see it.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// Principal id ("" for anonymous).
    pub id: &'a str,
    /// Roles.
    pub roles: &'a [String],
    /// Scopes.
    pub scopes: &'a [String],
    /// `jwt`, `api_key` or `anonymous`.
    pub kind: &'a str,
}

/// The object, as far as it is known.
#[derive(Debug, Clone, Copy, Default)]
pub struct Resource<'a> {
    /// Its id.
    pub id: Option<&'a str>,
    /// Its owner's principal id.
    pub owner: Option<&'a str>,
    /// Its private flag.
    pub private: Option<bool>,
}

/// When the decision is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before the upstream is called.
    Request,
    /// After, with facts from the response.
    Response,
}

/// One authorization question.
#[derive(Debug, Clone, Copy)]
pub struct Query<'a> {
    /// Who.
    pub subject: Subject<'a>,
    /// The action: an operationId or `fullView`.
    pub action: &'a str,
    /// On what.
    pub resource: Resource<'a>,
    /// When.
    pub phase: Phase,
    /// The API's name.
    pub api: &'a str,
    /// The operation being served.
    pub operation: &'a str,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Permitted.
    pub allowed: bool,
    /// Ids of the policies that decided (permits when allowed, forbids when
    /// denied by a forbid; empty when denied by default).
    pub policies: Vec<String>,
    /// Evaluation errors (a policy that errors is skipped, which Cedar
    /// treats as not applying).
    pub errors: Vec<String>,
}

/// Policies compiled once per (re)load.
pub struct PolicyEngine {
    policies: PolicySet,
    authorizer: Authorizer,
    privileged: Vec<String>,
    files: Vec<PathBuf>,
    user: EntityTypeName,
    object: EntityTypeName,
    action: EntityTypeName,
}

impl fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("files", &self.files)
            .field("policies", &self.policies.policies().count())
            .finish()
    }
}

fn type_name(s: &str) -> EntityTypeName {
    // The three names are constants that always parse.
    EntityTypeName::from_str(s).unwrap_or_else(|_| unreachable!("valid Cedar type name {s}"))
}

impl PolicyEngine {
    /// Load a `.cedar` file, or every `.cedar` file of a directory (sorted),
    /// and validate each policy against the schema generated for
    /// `operations`. Policies are named by their `@id("...")` annotation, or
    /// `file.cedar#N` (N counting from 0 within the file).
    pub fn load<S: AsRef<str>>(
        path: &Path,
        operations: &[S],
        privileged_roles: Vec<String>,
    ) -> Result<PolicyEngine, PolicyErrors> {
        let err = |file: &Path, line: Option<usize>, message: String| PolicyError {
            file: file.to_path_buf(),
            line,
            message,
        };
        let files = policy_files(path).map_err(|m| PolicyErrors(vec![err(path, None, m)]))?;
        let schema = Schema::from_json_value(cedar_schema(operations))
            .map_err(|e| PolicyErrors(vec![err(path, None, format!("schema: {e}"))]))?;
        let mut set = PolicySet::new();
        let mut errors = Vec::new();
        let mut texts: HashMap<String, (PathBuf, String)> = HashMap::new();
        for file in &files {
            let text = match read_capped(file) {
                Ok(t) => t,
                Err(m) => {
                    errors.push(err(file, None, m));
                    continue;
                }
            };
            let parsed = match PolicySet::from_str(&text) {
                Ok(p) => p,
                Err(e) => {
                    let line = first_line(&e, &text);
                    errors.push(err(file, line, one_line(&e.to_string())));
                    continue;
                }
            };
            let stem = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut parsed: Vec<_> = parsed.policies().cloned().collect();
            parsed.sort_by_key(|p| {
                p.id().to_string()["policy".len()..]
                    .parse::<usize>()
                    .unwrap_or(0)
            });
            for (n, policy) in parsed.into_iter().enumerate() {
                let id = policy
                    .annotation("id")
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{stem}#{n}"));
                texts.insert(id.clone(), (file.clone(), text.clone()));
                if let Err(e) = set.add(policy.new_id(PolicyId::new(&id))) {
                    errors.push(err(file, None, format!("policy {id}: {e}")));
                }
            }
        }
        if errors.is_empty() {
            let result = Validator::new(schema).validate(&set, ValidationMode::Strict);
            for e in result.validation_errors() {
                let id = e.policy_id().to_string();
                let (file, text) = texts
                    .get(&id)
                    .cloned()
                    .unwrap_or_else(|| (path.to_path_buf(), String::new()));
                let line = first_line(e, &text);
                errors.push(err(
                    &file,
                    line,
                    format!("policy {id}: {}", one_line(&e.to_string())),
                ));
            }
        }
        if !errors.is_empty() {
            return Err(PolicyErrors(errors));
        }
        Ok(PolicyEngine {
            policies: set,
            authorizer: Authorizer::new(),
            privileged: privileged_roles,
            files,
            user: type_name("User"),
            object: type_name("Object"),
            action: type_name("Action"),
        })
    }

    /// The files the policies came from (the reload watcher polls them).
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// Decide one query. Never fails: anything that cannot be evaluated is a deny.
    pub fn decide(&self, q: &Query<'_>) -> Verdict {
        match self.try_decide(q) {
            Ok(v) => v,
            Err(e) => Verdict {
                allowed: false,
                policies: Vec::new(),
                errors: vec![e],
            },
        }
    }

    fn uid(&self, ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }

    fn try_decide(&self, q: &Query<'_>) -> Result<Verdict, String> {
        let s = q.subject;
        let principal_id = if s.id.is_empty() { ANONYMOUS } else { s.id };
        let principal = self.uid(&self.user, principal_id);
        let strings = |v: &[String]| {
            RestrictedExpression::new_set(
                v.iter()
                    .map(|x| RestrictedExpression::new_string(x.clone())),
            )
        };
        let user = Entity::new(
            principal.clone(),
            HashMap::from([
                (
                    "role".to_string(),
                    RestrictedExpression::new_string(s.roles.first().cloned().unwrap_or_default()),
                ),
                ("roles".to_string(), strings(s.roles)),
                ("scopes".to_string(), strings(s.scopes)),
                (
                    "kind".to_string(),
                    RestrictedExpression::new_string(s.kind.to_string()),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(|e| e.to_string())?;
        let r = q.resource;
        let resource_id = r.id.unwrap_or(q.operation);
        let resource = self.uid(&self.object, resource_id);
        let owner = self.uid(
            &self.user,
            r.owner.filter(|o| !o.is_empty()).unwrap_or(NOBODY),
        );
        let object = Entity::new(
            resource.clone(),
            HashMap::from([
                (
                    "id".to_string(),
                    RestrictedExpression::new_string(resource_id.to_string()),
                ),
                (
                    "owner".to_string(),
                    RestrictedExpression::new_entity_uid(owner),
                ),
                (
                    "is_private".to_string(),
                    RestrictedExpression::new_bool(r.private.unwrap_or(true)),
                ),
            ]),
            HashSet::new(),
        )
        .map_err(|e| e.to_string())?;
        let entities = Entities::from_entities([user, object], None).map_err(|e| e.to_string())?;
        let privileged = s.roles.iter().any(|role| self.privileged.contains(role));
        let context = Context::from_pairs([
            (
                "phase".to_string(),
                RestrictedExpression::new_string(
                    match q.phase {
                        Phase::Request => "request",
                        Phase::Response => "response",
                    }
                    .to_string(),
                ),
            ),
            (
                "api".to_string(),
                RestrictedExpression::new_string(q.api.to_string()),
            ),
            (
                "operation".to_string(),
                RestrictedExpression::new_string(q.operation.to_string()),
            ),
            (
                "privileged".to_string(),
                RestrictedExpression::new_bool(privileged),
            ),
            (
                "authenticated".to_string(),
                RestrictedExpression::new_bool(!s.id.is_empty()),
            ),
        ])
        .map_err(|e| e.to_string())?;
        let action = self.uid(&self.action, q.action);
        let request =
            Request::new(principal, action, resource, context, None).map_err(|e| e.to_string())?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let diagnostics = response.diagnostics();
        Ok(Verdict {
            allowed: response.decision() == Decision::Allow,
            policies: diagnostics.reason().map(ToString::to_string).collect(),
            errors: diagnostics
                .errors()
                .map(|e| one_line(&e.to_string()))
                .collect(),
        })
    }
}

fn policy_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read: {e}"))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("cannot list the directory: {e}"))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err("no .cedar files in the directory".into());
    }
    Ok(files)
}

fn read_capped(file: &Path) -> Result<String, String> {
    let meta = std::fs::metadata(file).map_err(|e| format!("cannot read: {e}"))?;
    if meta.len() > MAX_POLICY_BYTES {
        return Err(format!(
            "{} bytes is over the {MAX_POLICY_BYTES}-byte limit for a policy file",
            meta.len()
        ));
    }
    std::fs::read_to_string(file).map_err(|e| format!("cannot read: {e}"))
}

/// The line of a diagnostic's first labelled span within `text`.
fn first_line(d: &dyn miette::Diagnostic, text: &str) -> Option<usize> {
    let offset = d.labels()?.next()?.offset();
    Some(text.get(..offset)?.bytes().filter(|b| *b == b'\n').count() + 1)
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}
