//! `rampart disclosures list|show|triage|mitigate|fix|verify|disclose|reject|duplicate|remind`.
//!
//! The binary adds [`DisclosuresArgs`] as a subcommand and calls [`run`].
//! Every change goes through [`Disclosures`], so the CLI records history
//! and sends notifications exactly as the admin API will. Output is sorted
//! by report id, so it is stable for scripts and diffs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::patch::{VirtualPatch, apply_patch};
use crate::report::{Report, Severity};
use crate::sla::SlaStatus;
use crate::state::{Action, Evidence, State};
use crate::time::rfc3339;
use crate::{DisclosureError, Disclosures};

/// How long the CLI waits for queued notifications before exiting.
const NOTIFY_DRAIN: Duration = Duration::from_secs(30);

/// `rampart disclosures`: the vulnerability reports the intake received.
#[derive(Debug, clap::Args)]
pub struct DisclosuresArgs {
    /// The config file (its `disclosure` section says where reports are).
    #[arg(long, short, env = "RAMPART_CONFIG")]
    pub config: PathBuf,
    /// What to do.
    #[command(subcommand)]
    pub command: DisclosuresCommand,
}

/// Who is acting (recorded in the history).
#[derive(Debug, Clone, clap::Args)]
pub struct ActorArg {
    /// Your name, recorded in the history (default: $RAMPART_ACTOR, then $USER).
    #[arg(long)]
    pub actor: Option<String>,
}

impl ActorArg {
    fn name(&self) -> String {
        self.actor
            .clone()
            .or_else(|| std::env::var("RAMPART_ACTOR").ok())
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "operator".to_owned())
    }
}

/// The subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DisclosuresCommand {
    /// List reports, oldest first, with their SLA clock; overdue ones are marked.
    List {
        /// Only reports in this state.
        #[arg(long)]
        state: Option<State>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show a report and its history.
    Show {
        /// The report's id.
        id: i64,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Assess a report: severity and affected operations (the contract's operationIds).
    Triage {
        /// The report's id.
        id: i64,
        /// low, medium, high or critical.
        #[arg(long)]
        severity: Severity,
        /// An affected operationId; repeat for several.
        #[arg(long = "operation", required = true)]
        operations: Vec<String>,
        /// The scanner check that must pass before the report can be verified.
        #[arg(long)]
        check: Option<String>,
        /// A note shown to the reporter.
        #[arg(long)]
        note: Option<String>,
        /// Who is acting.
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Record a virtual patch (a .cedar policy or a config file); with --apply, also validate and write it where hot reload picks it up.
    Mitigate {
        /// The report's id.
        id: i64,
        /// The patch file: `.cedar` for a policy, anything else a complete config file.
        #[arg(long)]
        patch: PathBuf,
        /// What the patch does, in a sentence (shown to the reporter).
        #[arg(long)]
        description: String,
        /// Apply the patch to the gateway's config directory too.
        #[arg(long)]
        apply: bool,
        /// Who is acting.
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Record that the upstream is fixed.
    Fix {
        /// The report's id.
        id: i64,
        /// A note shown to the reporter.
        #[arg(long)]
        note: Option<String>,
        /// Who is acting.
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Record scan evidence (JSON from `rampart scan`); refused unless the targeted check passed.
    Verify {
        /// The report's id.
        id: i64,
        /// The evidence file.
        #[arg(long)]
        evidence: PathBuf,
        /// Who is acting.
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Mark a verified report disclosed.
    Disclose {
        /// The report's id.
        id: i64,
        /// A note shown to the reporter (e.g. the advisory's URL).
        #[arg(long)]
        note: Option<String>,
        /// Who is acting.
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Reject a report.
    Reject {
        /// The report's id.
        id: i64,
        /// Why (shown to the reporter).
        #[arg(long)]
        reason: String,
        /// Who is acting.
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Mark a report a duplicate of another.
    Duplicate {
        /// The report's id.
        id: i64,
        /// The original report's id.
        #[arg(long)]
        of: i64,
        /// Who is acting.
        #[command(flatten)]
        actor: ActorArg,
    },
    /// Send the SLA reminders that are due (each once); run it periodically.
    Remind,
}

/// Runs `command` against the configuration at `config`, writing to `out`.
pub async fn run(
    config: &Path,
    command: DisclosuresCommand,
    out: &mut dyn Write,
) -> Result<(), DisclosureError> {
    let loaded =
        rampart_config::load(config).map_err(|e| DisclosureError::Config(e.to_string()))?;
    let (desk, task) = Disclosures::open(&loaded).await?;
    let result = dispatch(config, &desk, command, out).await;
    desk.tracker().close().await;
    drop(desk);
    if let Some(task) = task
        && tokio::time::timeout(NOTIFY_DRAIN, task).await.is_err()
    {
        tracing::warn!("some disclosure notifications were not delivered before exit");
    }
    result
}

async fn dispatch(
    config: &Path,
    desk: &Disclosures,
    command: DisclosuresCommand,
    out: &mut dyn Write,
) -> Result<(), DisclosureError> {
    let now = SystemTime::now();
    let w = |e: std::io::Error| DisclosureError::io("standard output", e);
    let (id, action, actor) = match command {
        DisclosuresCommand::List { state, json } => {
            let reports = desk.tracker().list(state).await?;
            return if json {
                let rows: Vec<_> = reports
                    .iter()
                    .map(|r| serde_json::json!({ "report": r, "sla": desk.sla(r, now) }))
                    .collect();
                writeln!(out, "{}", serde_json::Value::Array(rows)).map_err(w)
            } else {
                print_list(desk, &reports, now, out).map_err(w)
            };
        }
        DisclosuresCommand::Show { id, json } => {
            let report = desk.tracker().get(id).await?;
            let history = desk.tracker().history(id).await?;
            let sla = desk.sla(&report, now);
            return if json {
                let doc = serde_json::json!({ "report": report, "sla": sla, "history": history });
                writeln!(out, "{doc:#}").map_err(w)
            } else {
                print_report(&report, &history, &sla, out).map_err(w)
            };
        }
        DisclosuresCommand::Remind => {
            let sent = desk.send_due_reminders(now).await?;
            return writeln!(out, "{sent} reminders sent").map_err(w);
        }
        DisclosuresCommand::Triage {
            id,
            severity,
            operations,
            check,
            note,
            actor,
        } => (
            id,
            Action::Triage {
                severity,
                operations,
                check,
                note,
            },
            actor,
        ),
        DisclosuresCommand::Mitigate {
            id,
            patch,
            description,
            apply,
            actor,
        } => {
            let patch = VirtualPatch::from_file(&patch, description)?;
            let action = Action::Mitigate { patch };
            if apply {
                // Refuse before touching the gateway if it cannot be recorded.
                let report = desk.tracker().get(id).await?;
                crate::state::next(&report, &action, 0)?;
                if let Action::Mitigate { patch } = &action {
                    let written = apply_patch(config, id, patch, desk.operations())?;
                    writeln!(out, "patch written to {}", written.display()).map_err(w)?;
                }
            }
            (id, action, actor)
        }
        DisclosuresCommand::Fix { id, note, actor } => (id, Action::Fix { note }, actor),
        DisclosuresCommand::Verify {
            id,
            evidence,
            actor,
        } => {
            let text = std::fs::read_to_string(&evidence)
                .map_err(|e| DisclosureError::io(&evidence, e))?;
            let evidence: Evidence = serde_json::from_str(&text).map_err(|e| {
                DisclosureError::Invalid(format!(
                    "{}:{}:{}: not scan evidence: {e}",
                    evidence.display(),
                    e.line(),
                    e.column()
                ))
            })?;
            (id, Action::Verify { evidence }, actor)
        }
        DisclosuresCommand::Disclose { id, note, actor } => (id, Action::Disclose { note }, actor),
        DisclosuresCommand::Reject { id, reason, actor } => (id, Action::Reject { reason }, actor),
        DisclosuresCommand::Duplicate { id, of, actor } => (id, Action::Duplicate { of }, actor),
    };
    let report = desk.apply(id, &action, &actor.name(), now).await?;
    writeln!(out, "report #{} is now {}", report.id, report.state).map_err(w)
}

fn print_list(
    desk: &Disclosures,
    reports: &[Report],
    now: SystemTime,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let overdue = reports.iter().filter(|r| desk.sla(r, now).overdue).count();
    if overdue > 0 {
        writeln!(
            out,
            "!! {overdue} report(s) past the {}-day SLA",
            desk.sla_days()
        )?;
    }
    writeln!(
        out,
        "{:>5}  {:<10} {:<9} {:>9}  TITLE",
        "ID", "STATE", "SEVERITY", "DAYS"
    )?;
    for r in reports {
        let sla = desk.sla(r, now);
        writeln!(
            out,
            "{:>5}  {:<10} {:<9} {:>9}  {}{}",
            r.id,
            r.state.as_str(),
            r.severity.map_or("-", Severity::as_str),
            format!("{}/{}", sla.days_open, desk.sla_days()),
            if sla.overdue { "OVERDUE " } else { "" },
            r.submitted.title
        )?;
    }
    Ok(())
}

fn print_report(
    report: &Report,
    history: &[crate::report::HistoryEntry],
    sla: &SlaStatus,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(out, "report #{}: {}", report.id, report.submitted.title)?;
    writeln!(out, "state:      {}", report.state)?;
    writeln!(out, "received:   {}", rfc3339(report.received_ms))?;
    writeln!(
        out,
        "sla:        {} days open, deadline {}{}",
        sla.days_open,
        rfc3339(sla.deadline_ms),
        if sla.overdue { " (OVERDUE)" } else { "" }
    )?;
    if let Some(severity) = report.severity {
        writeln!(out, "severity:   {severity}")?;
    }
    if !report.operations.is_empty() {
        writeln!(out, "operations: {}", report.operations.join(", "))?;
    }
    if let Some(endpoint) = &report.submitted.endpoint {
        writeln!(out, "endpoint:   {endpoint}")?;
    }
    if let Some(contact) = &report.submitted.contact {
        writeln!(out, "contact:    {contact}")?;
    }
    for patch in &report.patches {
        writeln!(out, "patch:      {} ({:?})", patch.description, patch.kind)?;
    }
    if let Some(evidence) = &report.evidence {
        writeln!(
            out,
            "evidence:   check {} on {}: {}",
            evidence.check,
            evidence.operations.join(", "),
            if evidence.passed { "passed" } else { "failed" }
        )?;
    }
    writeln!(out, "\n{}\n\nhistory:", report.submitted.description)?;
    for h in history {
        writeln!(
            out,
            "  {}  {:<10} by {}{}",
            rfc3339(h.at_ms),
            h.to.as_str(),
            h.actor,
            h.note
                .as_deref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        )?;
    }
    Ok(())
}
