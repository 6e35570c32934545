//! [`Disclosures`]: the tracker with what gives its records meaning: the
//! contract's operations (triage names real operationIds), the SLA, and
//! the notifier (every change is announced). The intake, the CLI and, in
//! time, the admin API all go through it, so no path can change a report
//! without validation, history and notification.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use rampart_config::{DisclosureConfig, LoadedConfig};
use rampart_contract::{CompileOptions, Contract};
use tokio::task::JoinHandle;

use crate::DisclosureError;
use crate::notify::{Notification, Notifier, NotifierOptions};
use crate::report::{NewReport, Report};
use crate::secret::{self, IssuedToken};
use crate::sla::SlaStatus;
use crate::state::Action;
use crate::store::Tracker;
use crate::time::millis;

/// The disclosure desk: tracker, SLA, contract operations and notifier.
#[derive(Debug)]
pub struct Disclosures {
    tracker: Tracker,
    notifier: Option<Arc<Notifier>>,
    sla_days: u32,
    remind_before_days: Vec<u32>,
    operations: BTreeSet<String>,
}

impl Disclosures {
    /// A desk over `tracker`, with the `disclosure` section's SLA and the
    /// operationIds triage may name.
    pub fn new(tracker: Tracker, config: &DisclosureConfig, operations: BTreeSet<String>) -> Self {
        Disclosures {
            tracker,
            notifier: None,
            sla_days: config.sla_days.max(1),
            remind_before_days: config.remind_before_days.clone(),
            operations,
        }
    }

    /// Announces every change through `notifier`.
    pub fn with_notifier(mut self, notifier: Arc<Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Opens everything `loaded` configures: the tracker, the notifier (its
    /// task handle is returned) and the operations of every API's spec.
    pub async fn open(
        loaded: &LoadedConfig,
    ) -> Result<(Disclosures, Option<JoinHandle<()>>), DisclosureError> {
        let config = &loaded.config.disclosure;
        let tracker = Tracker::open(&config.store, &loaded.dir).await?;
        let operations = operations_of(loaded)?;
        let mut desk = Disclosures::new(tracker, config, operations);
        let mut task = None;
        if let Some(webhook) = &config.webhook {
            let options = NotifierOptions::from_config(webhook, &loaded.dir)?;
            let (notifier, handle) = Notifier::start(options)?;
            desk = desk.with_notifier(notifier);
            task = Some(handle);
        }
        Ok((desk, task))
    }

    /// The tracker, for reads.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// The operationIds triage accepts.
    pub fn operations(&self) -> &BTreeSet<String> {
        &self.operations
    }

    /// The SLA deadline in days.
    pub fn sla_days(&self) -> u32 {
        self.sla_days
    }

    /// `report`'s SLA clock at `now`.
    pub fn sla(&self, report: &Report, now: SystemTime) -> SlaStatus {
        SlaStatus::at(report, millis(now), self.sla_days)
    }

    /// Files a validated report; returns its id and the reporter's token
    /// (shown once: only its hash is kept).
    pub async fn file(
        &self,
        report: &NewReport,
        max_open: u64,
        now: SystemTime,
    ) -> Result<(i64, IssuedToken), DisclosureError> {
        let token = secret::issue_token().map_err(|e| DisclosureError::Invalid(e.to_string()))?;
        let now_ms = millis(now);
        let id = self
            .tracker
            .file(report, &token.hash, now_ms, max_open)
            .await?;
        if let Some(notifier) = &self.notifier {
            let stored = self.tracker.get(id).await?;
            if let Some(entry) = self.tracker.history(id).await?.first() {
                let sla = SlaStatus::at(&stored, now_ms, self.sla_days);
                notifier.send(Notification::state_changed(&stored, entry, sla));
            }
        }
        Ok((id, token))
    }

    /// Applies `action` to report `id` as `actor`. Triage must name
    /// operations of the contract; the state rules are
    /// [`crate::state::next`]'s.
    pub async fn apply(
        &self,
        id: i64,
        action: &Action,
        actor: &str,
        now: SystemTime,
    ) -> Result<Report, DisclosureError> {
        if actor.trim().is_empty() || actor.chars().any(char::is_control) {
            return Err(DisclosureError::Invalid(
                "the actor must be a non-empty name without control characters".to_owned(),
            ));
        }
        if let Action::Triage { operations, .. } = action {
            let unknown: Vec<&str> = operations
                .iter()
                .filter(|op| !self.operations.contains(*op))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                let known: Vec<&str> = self.operations.iter().map(String::as_str).collect();
                return Err(DisclosureError::Invalid(format!(
                    "unknown operation {}: the contract declares {}",
                    unknown.join(", "),
                    known.join(", ")
                )));
            }
        }
        let now_ms = millis(now);
        let (report, entry) = self.tracker.apply(id, action, actor, now_ms).await?;
        if let Some(notifier) = &self.notifier {
            let sla = SlaStatus::at(&report, now_ms, self.sla_days);
            notifier.send(Notification::state_changed(&report, &entry, sla));
        }
        Ok(report)
    }

    /// Sends every reminder due at `now`, each once (claimed in the store
    /// before it is queued); returns how many were sent. Without a
    /// notifier, due reminders are left unclaimed.
    pub async fn send_due_reminders(&self, now: SystemTime) -> Result<usize, DisclosureError> {
        let Some(notifier) = &self.notifier else {
            return Ok(0);
        };
        let now_ms = millis(now);
        let due = self
            .tracker
            .due_reminders(now_ms, self.sla_days, &self.remind_before_days)
            .await?;
        let mut sent = 0;
        for reminder in due {
            if self
                .tracker
                .claim_reminder(reminder.report_id, reminder.days_before, now_ms)
                .await?
            {
                let report = self.tracker.get(reminder.report_id).await?;
                let sla = SlaStatus::at(&report, now_ms, self.sla_days);
                notifier.send(Notification::reminder(
                    &report,
                    reminder.days_before,
                    now_ms,
                    sla,
                ));
                sent += 1;
            }
        }
        Ok(sent)
    }
}

/// The operationIds of every API `loaded` names.
pub fn operations_of(loaded: &LoadedConfig) -> Result<BTreeSet<String>, DisclosureError> {
    let mut all = BTreeSet::new();
    for api in &loaded.config.apis {
        all.extend(operations_of_spec(&loaded.resolve(&api.spec))?);
    }
    Ok(all)
}

/// The operationIds of the OpenAPI document at `path`.
pub fn operations_of_spec(path: &Path) -> Result<BTreeSet<String>, DisclosureError> {
    let options = CompileOptions {
        skip_validators: true,
        ..CompileOptions::default()
    };
    let contract = Contract::load(path, &options)
        .map_err(|e| DisclosureError::Config(format!("{}: {e}", path.display())))?;
    Ok(contract.operations.iter().map(|o| o.id.clone()).collect())
}
