//! The `rampart audit` command line.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use crate::catalog::{self, Severity};
use crate::report::{self, Format};
use crate::settings::Settings;
use crate::{SpecReport, audit_file};

/// Exit status: the audit ran and no gate failed.
pub const EXIT_OK: u8 = 0;
/// Exit status: `--fail-below` or `--fail-on` tripped.
pub const EXIT_GATE: u8 = 1;
/// Exit status: bad usage, an unreadable rule config, or a document that does not load.
pub const EXIT_ERROR: u8 = 2;

const AFTER_HELP: &str = "\
Exit status:
  0  the audit ran and no gate failed
  1  a gate failed: a score below --fail-below, or a finding at or above --fail-on
  2  usage error, unreadable rule config, or a document that does not load
     (the documents that did load are still reported)

Rule config (--rules FILE, YAML or JSON):
  rules:
    audit.limit.string-pattern: off      # disable
    audit.auth.http-basic: critical      # re-grade (info|low|medium|high|critical)
    owasp:api4:2023-string-limit: off    # Spectral/vacuum ids map to Rampart rules

Inline suppression, on any node of the document (applies to it and below):
  x-rampart-ignore: {audit.auth.write-unprotected: public sign-up endpoint}";

/// When to color text output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// When stdout is a terminal (and `NO_COLOR` is unset).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `rampart audit`.
#[derive(Debug, clap::Args)]
#[command(after_help = AFTER_HELP)]
pub struct AuditArgs {
    /// OpenAPI 3.0/3.1 documents (YAML or JSON); `$ref`s to other files are followed.
    #[arg(value_name = "SPEC", required_unless_present_any = ["explain", "list_rules"])]
    pub specs: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 if any document's overall score is below SCORE (0-100).
    #[arg(long, value_name = "SCORE", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub fail_below: Option<u8>,
    /// Exit with status 1 if any finding is at or above SEVERITY.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Rule config: enable, disable and re-grade rules.
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Print a rule's rationale, an example and the fix, then exit.
    #[arg(long, value_name = "RULE")]
    pub explain: Option<String>,
    /// List every rule with its OWASP category and default severity, then exit
    /// (with `--format json`: also the Spectral and vacuum ids each covers).
    #[arg(long)]
    pub list_rules: bool,
    /// Color text output.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

/// Run `rampart audit`.
pub fn run(args: AuditArgs) -> ExitCode {
    if let Some(id) = &args.explain {
        return explain(id);
    }
    if args.list_rules {
        if args.format != Format::Text {
            let rules: Vec<serde_json::Value> = catalog::ALL
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id(), "owasp": r.owasp(), "severity": r.severity.as_str(),
                        "title": r.rule.title, "spectral": r.spectral, "vacuum": r.vacuum,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(rules));
            return ExitCode::from(EXIT_OK);
        }
        let mut out = String::new();
        for r in catalog::ALL {
            out.push_str(&format!(
                "{:<42} {:<10} {:<8} {}\n",
                r.id(),
                r.owasp(),
                r.severity.as_str(),
                r.rule.title
            ));
        }
        print!("{out}");
        return ExitCode::from(EXIT_OK);
    }
    let settings = match &args.rules {
        Some(path) => match Settings::load(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        },
        None => Settings::default(),
    };
    let mut reports: Vec<SpecReport> = Vec::new();
    let mut failed_to_load = false;
    for spec in &args.specs {
        match audit_file(spec, &settings) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("error: {} does not load:\n{e}", spec.display());
                failed_to_load = true;
            }
        }
    }
    let rendered = match args.format {
        Format::Text => report::text::render(&reports),
        Format::Json => report::json::render(&reports),
        Format::Sarif => report::sarif::render(&reports),
    };
    if let Err(e) = write(&args, &rendered) {
        eprintln!("error: cannot write the report: {e}");
        return ExitCode::from(EXIT_ERROR);
    }
    let gate = gates(&args, &reports);
    if failed_to_load {
        ExitCode::from(EXIT_ERROR)
    } else if gate {
        ExitCode::from(EXIT_GATE)
    } else {
        ExitCode::from(EXIT_OK)
    }
}

fn write(args: &AuditArgs, text: &str) -> std::io::Result<()> {
    let choice = match args.color {
        ColorWhen::Auto => anstream::ColorChoice::Auto,
        ColorWhen::Always => anstream::ColorChoice::Always,
        ColorWhen::Never => anstream::ColorChoice::Never,
    };
    match &args.output {
        Some(path) => {
            let file = std::fs::File::create(path)?;
            // A file is not a terminal: `auto` strips styling.
            let mut out = anstream::AutoStream::new(file, choice);
            out.write_all(text.as_bytes())?;
            out.flush()
        }
        None => {
            let mut out = anstream::AutoStream::new(std::io::stdout().lock(), choice);
            out.write_all(text.as_bytes())?;
            out.flush()
        }
    }
}

/// Whether a CI gate failed (and say which on stderr).
fn gates(args: &AuditArgs, reports: &[SpecReport]) -> bool {
    let mut failed = false;
    for r in reports {
        if let Some(min) = args.fail_below
            && r.score.overall < min
        {
            eprintln!(
                "gate: {} scores {} (below --fail-below {min})",
                r.path.display(),
                r.score.overall
            );
            failed = true;
        }
        if let Some(sev) = args.fail_on {
            let n = r.findings.iter().filter(|f| f.severity >= sev).count();
            if n > 0 {
                eprintln!(
                    "gate: {} has {n} finding{} at or above {} (--fail-on)",
                    r.path.display(),
                    if n == 1 { "" } else { "s" },
                    sev.as_str()
                );
                failed = true;
            }
        }
    }
    failed
}

fn explain(id: &str) -> ExitCode {
    let Some(r) = catalog::lookup(id) else {
        eprintln!("error: unknown rule \"{id}\" (see `rampart audit --list-rules`)");
        return ExitCode::from(EXIT_ERROR);
    };
    let mut out = format!(
        "{}  ({} {}, default severity {})\n{}\n\nWhy it matters\n  {}\n\nExample\n",
        r.id(),
        r.owasp(),
        catalog::category_name(r.owasp()),
        r.severity.as_str(),
        r.rule.title,
        r.rationale
    );
    for line in r.example.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str(&format!("\nFix\n  {}\n", r.fix));
    if !r.spectral.is_empty() || !r.vacuum.is_empty() {
        let others: Vec<&str> = r.spectral.iter().chain(r.vacuum).copied().collect();
        out.push_str(&format!("\nCovers\n  {}\n", others.join(", ")));
    }
    print!("{out}");
    ExitCode::from(EXIT_OK)
}
