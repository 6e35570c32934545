//! What a scan reports: findings, each with the evidence that makes it one.
//!
//! A finding is never a status code alone. It carries the request pair (the
//! probe and the control that rules out the benign explanation), both
//! statuses, the fields that differ or leak, and a sentence saying why the
//! pair proves the flaw. Reports and the virtual patch are built from this
//! and nothing else.

use serde::Serialize;

use crate::exchange::Exchange;

/// The check families, one module each under `checks/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Check {
    /// Object-level authorization on reads: B sees A's object.
    BolaRead,
    /// Object-level authorization on writes: B changes A's object.
    BolaWrite,
    /// No credentials at all, and the data still comes back.
    MissingAuthentication,
    /// A member calls an administrator's function.
    Bfla,
    /// readOnly, role-restricted or undeclared properties stick.
    MassAssignment,
    /// Response fields the schema does not declare, secrets, personal data.
    DataExposure,
    /// Forged, expired or tampered JWTs accepted, or a guessable HS secret.
    Jwt,
    /// A burst of requests meets no limit.
    RateLimit,
    /// SQL and other injection, judged by error signatures and timing.
    Injection,
    /// The server fetches a URL it is given.
    Ssrf,
    /// Undeclared routes that answer: debug endpoints, old versions.
    ShadowEndpoint,
    /// Stack traces, SQL and internal hosts in error responses.
    VerboseError,
    /// A method-override header changes the method the server acts on.
    MethodOverride,
    /// CORS that trusts any origin with credentials, version disclosure.
    Headers,
}

impl Check {
    /// Every check, in report order.
    pub const ALL: [Check; 14] = [
        Check::BolaRead,
        Check::BolaWrite,
        Check::MissingAuthentication,
        Check::Bfla,
        Check::MassAssignment,
        Check::DataExposure,
        Check::Jwt,
        Check::RateLimit,
        Check::Injection,
        Check::Ssrf,
        Check::ShadowEndpoint,
        Check::VerboseError,
        Check::MethodOverride,
        Check::Headers,
    ];

    /// Stable id, used as the SARIF rule id and the JUnit test name.
    pub fn id(self) -> &'static str {
        match self {
            Check::BolaRead => "scan.bola.read",
            Check::BolaWrite => "scan.bola.write",
            Check::MissingAuthentication => "scan.authn.missing",
            Check::Bfla => "scan.bfla",
            Check::MassAssignment => "scan.mass-assignment",
            Check::DataExposure => "scan.data-exposure",
            Check::Jwt => "scan.jwt",
            Check::RateLimit => "scan.rate-limit",
            Check::Injection => "scan.injection",
            Check::Ssrf => "scan.ssrf",
            Check::ShadowEndpoint => "scan.shadow-endpoint",
            Check::VerboseError => "scan.verbose-error",
            Check::MethodOverride => "scan.method-override",
            Check::Headers => "scan.headers",
        }
    }

    /// The OWASP API Security Top 10 (2023) category.
    pub fn owasp(self) -> Owasp {
        match self {
            Check::BolaRead | Check::BolaWrite => Owasp::Api1,
            Check::MissingAuthentication | Check::Jwt => Owasp::Api2,
            Check::MassAssignment | Check::DataExposure => Owasp::Api3,
            Check::RateLimit => Owasp::Api4,
            Check::Bfla | Check::MethodOverride => Owasp::Api5,
            Check::Ssrf => Owasp::Api7,
            Check::Injection | Check::VerboseError | Check::Headers => Owasp::Api8,
            Check::ShadowEndpoint => Owasp::Api9,
        }
    }

    /// One-line title.
    pub fn title(self) -> &'static str {
        match self {
            Check::BolaRead => "Broken object level authorization (read)",
            Check::BolaWrite => "Broken object level authorization (write)",
            Check::MissingAuthentication => "Missing authentication",
            Check::Bfla => "Broken function level authorization",
            Check::MassAssignment => "Mass assignment",
            Check::DataExposure => "Excessive data exposure",
            Check::Jwt => "Weak JWT validation",
            Check::RateLimit => "No rate limit",
            Check::Injection => "Injection",
            Check::Ssrf => "Server-side request forgery",
            Check::ShadowEndpoint => "Shadow or zombie endpoint",
            Check::VerboseError => "Verbose error",
            Check::MethodOverride => "Method override honoured",
            Check::Headers => "CORS or header misconfiguration",
        }
    }
}

/// OWASP API Security Top 10, 2023 edition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Owasp {
    /// API1:2023 Broken Object Level Authorization.
    #[serde(rename = "API1:2023")]
    Api1,
    /// API2:2023 Broken Authentication.
    #[serde(rename = "API2:2023")]
    Api2,
    /// API3:2023 Broken Object Property Level Authorization.
    #[serde(rename = "API3:2023")]
    Api3,
    /// API4:2023 Unrestricted Resource Consumption.
    #[serde(rename = "API4:2023")]
    Api4,
    /// API5:2023 Broken Function Level Authorization.
    #[serde(rename = "API5:2023")]
    Api5,
    /// API7:2023 Server Side Request Forgery.
    #[serde(rename = "API7:2023")]
    Api7,
    /// API8:2023 Security Misconfiguration.
    #[serde(rename = "API8:2023")]
    Api8,
    /// API9:2023 Improper Inventory Management.
    #[serde(rename = "API9:2023")]
    Api9,
}

impl Owasp {
    /// `API1:2023` and so on.
    pub fn code(self) -> &'static str {
        match self {
            Owasp::Api1 => "API1:2023",
            Owasp::Api2 => "API2:2023",
            Owasp::Api3 => "API3:2023",
            Owasp::Api4 => "API4:2023",
            Owasp::Api5 => "API5:2023",
            Owasp::Api7 => "API7:2023",
            Owasp::Api8 => "API8:2023",
            Owasp::Api9 => "API9:2023",
        }
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth fixing.
    Low,
    /// Fix soon.
    Medium,
    /// Fix before release.
    High,
    /// Data of other users is exposed or changeable now.
    Critical,
}

impl Severity {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The proof of a finding.
#[derive(Debug, Clone, Serialize)]
pub struct Evidence {
    /// The request that shows the flaw.
    pub probe: Exchange,
    /// The request that rules out the benign explanation (the owner's own
    /// read, the undeclared path's 404, the baseline before a write...).
    pub control: Exchange,
    /// Further requests of the proof, in order (a read-back after a write).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<Exchange>,
    /// Fields that differ between the two, or that leak.
    pub fields: Vec<String>,
    /// Why the pair proves the flaw.
    pub why: String,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The check that found it.
    pub check: Check,
    /// Its stable id (the check's).
    pub rule: &'static str,
    /// OWASP category.
    pub owasp: Owasp,
    /// Severity.
    pub severity: Severity,
    /// The operationId, or the path probed for undeclared routes.
    pub target: String,
    /// One line saying what was found.
    pub title: String,
    /// The proof.
    pub evidence: Evidence,
    /// A curl command that reproduces the probe (tokens as `$ALICE`, `$BOB`).
    pub curl: String,
}

impl Finding {
    /// A finding of `check` on `target`, with its reproduction taken from the probe.
    pub fn new(
        check: Check,
        severity: Severity,
        target: impl Into<String>,
        title: impl Into<String>,
        evidence: Evidence,
    ) -> Self {
        let curl = evidence.probe.curl();
        Finding {
            check,
            rule: check.id(),
            owasp: check.owasp(),
            severity,
            target: target.into(),
            title: title.into(),
            evidence,
            curl,
        }
    }

    /// The order reports list findings in: check, target, title.
    pub fn sort_key(&self) -> (Check, &str, &str) {
        (self.check, &self.target, &self.title)
    }
}

/// Sort findings into report order and drop exact repeats (same check,
/// target and title), so output is stable run to run.
pub fn normalize(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    findings.dedup_by(|a, b| a.sort_key() == b.sort_key());
}
