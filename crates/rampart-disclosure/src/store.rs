//! The tracker: reports, their append-only history and sent reminders, in
//! SQLite (embedded, the default) or PostgreSQL (for clusters).
//!
//! Like the audit store (rampart-store), it uses sqlx with runtime queries
//! and bound parameters only. The SQL is written once: both databases
//! accept `$n` placeholders, `RETURNING` and `ON CONFLICT`, and a small
//! macro runs the same statements on whichever pool is open.
//!
//! The history is the record of who did what when, so the database itself
//! refuses to change it: triggers abort any UPDATE or DELETE of a history
//! row (and, in PostgreSQL, TRUNCATE), whatever client connects. Report
//! rows change under optimistic concurrency (`WHERE state = <read state>`),
//! so two operators cannot both move a report from the same state.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::DisclosureError;
use crate::report::{HistoryEntry, NewReport, Report, Severity};
use crate::secret;
use crate::state::{Action, State};

/// The schema version this code writes.
const SCHEMA_VERSION: i64 = 1;
/// How long to wait for a connection or a SQLite lock.
const DB_TIMEOUT: Duration = Duration::from_secs(5);
/// Serializes migrations between instances sharing a PostgreSQL database
/// ("rampdisc" in ASCII, truncated to fit).
const PG_MIGRATION_LOCK: i64 = 0x0072_616d_7064_6973;
/// Serializes report filing in PostgreSQL so the open-report cap holds
/// across instances.
const PG_FILING_LOCK: i64 = 0x0072_616d_7066_696c;
/// A hash no token has (hex of SHA-256 is never this), compared against
/// when no row matched, so a miss runs the same comparison as a hit.
const NO_MATCH_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Tables and indexes, shared by both databases; `{id}` is the dialect's
/// auto-increment key.
const TABLES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS disclosure_reports (
        id {id},
        state TEXT NOT NULL,
        title TEXT NOT NULL,
        description TEXT NOT NULL,
        endpoint TEXT,
        contact TEXT,
        token_hash TEXT NOT NULL UNIQUE,
        received_ms BIGINT NOT NULL,
        updated_ms BIGINT NOT NULL,
        severity TEXT,
        operations TEXT NOT NULL,
        check_id TEXT,
        patches TEXT NOT NULL,
        evidence TEXT,
        duplicate_of BIGINT
    )",
    "CREATE INDEX IF NOT EXISTS disclosure_reports_state ON disclosure_reports (state)",
    "CREATE TABLE IF NOT EXISTS disclosure_history (
        seq {id},
        report_id BIGINT NOT NULL REFERENCES disclosure_reports (id),
        at_ms BIGINT NOT NULL,
        actor TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        note TEXT,
        detail TEXT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS disclosure_history_report ON disclosure_history (report_id, seq)",
    "CREATE TABLE IF NOT EXISTS disclosure_reminders (
        report_id BIGINT NOT NULL REFERENCES disclosure_reports (id),
        days_before BIGINT NOT NULL,
        sent_ms BIGINT NOT NULL,
        PRIMARY KEY (report_id, days_before)
    )",
];

const SQLITE_TRIGGERS: &[&str] = &[
    "CREATE TRIGGER IF NOT EXISTS disclosure_history_no_update
     BEFORE UPDATE ON disclosure_history
     BEGIN SELECT RAISE(ABORT, 'disclosure history is append-only'); END",
    "CREATE TRIGGER IF NOT EXISTS disclosure_history_no_delete
     BEFORE DELETE ON disclosure_history
     BEGIN SELECT RAISE(ABORT, 'disclosure history is append-only'); END",
];

const PG_TRIGGERS: &[&str] = &[
    "CREATE OR REPLACE FUNCTION disclosure_history_append_only() RETURNS trigger
     LANGUAGE plpgsql AS $$
     BEGIN RAISE EXCEPTION 'disclosure history is append-only'; END $$",
    "CREATE OR REPLACE TRIGGER disclosure_history_no_change
     BEFORE UPDATE OR DELETE ON disclosure_history
     FOR EACH ROW EXECUTE FUNCTION disclosure_history_append_only()",
    "CREATE OR REPLACE TRIGGER disclosure_history_no_truncate
     BEFORE TRUNCATE ON disclosure_history
     FOR EACH STATEMENT EXECUTE FUNCTION disclosure_history_append_only()",
];

const REPORT_COLUMNS: &str = "id, state, title, description, endpoint, contact, received_ms, \
     updated_ms, severity, operations, check_id, patches, evidence, duplicate_of";

type ReportRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    i64,
    Option<String>,
    String,
    Option<String>,
    String,
    Option<String>,
    Option<i64>,
);

type HistoryRow = (
    i64,
    i64,
    i64,
    String,
    Option<String>,
    String,
    Option<String>,
    String,
);

const HISTORY_COLUMNS: &str = "seq, report_id, at_ms, actor, from_state, to_state, note, detail";

/// A reminder whose time has come and that has not been sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueReminder {
    /// The report.
    pub report_id: i64,
    /// Days before the deadline it is for; 0 is the overdue notice.
    pub days_before: u32,
    /// The report's SLA deadline (ms since the epoch).
    pub deadline_ms: i64,
}

/// An opened tracker: cheap to clone.
#[derive(Debug, Clone)]
pub struct Tracker {
    pool: Pool,
}

#[derive(Debug, Clone)]
enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$p` bound to whichever pool is open; the body is
/// compiled once per database, so each gets its own types.
macro_rules! on_pool {
    ($self:expr, $p:ident => $body:expr) => {
        match &$self.pool {
            Pool::Sqlite($p) => $body,
            Pool::Postgres($p) => $body,
        }
    };
}

impl Tracker {
    /// Opens the tracker `config` names; relative paths resolve against
    /// `base_dir`.
    pub async fn open(
        config: &rampart_config::DisclosureStoreConfig,
        base_dir: &Path,
    ) -> Result<Tracker, DisclosureError> {
        match config.backend {
            rampart_config::DisclosureBackend::Sqlite => {
                Tracker::sqlite(&base_dir.join(&config.sqlite_path)).await
            }
            rampart_config::DisclosureBackend::Postgres => {
                let env = &config.postgres_url_env;
                let url =
                    std::env::var(env).map_err(|_| DisclosureError::MissingUrl(env.clone()))?;
                Tracker::postgres(&url, &config.postgres_schema).await
            }
        }
    }

    /// An embedded SQLite file, created when missing (WAL, fsync on commit:
    /// a report acknowledged to a researcher must survive power loss).
    pub async fn sqlite(path: &Path) -> Result<Tracker, DisclosureError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(DB_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(DB_TIMEOUT)
            .connect_with(options)
            .await?;
        let mut tx = pool.begin().await?;
        migrate_sqlite(&mut tx).await?;
        tx.commit().await?;
        Ok(Tracker {
            pool: Pool::Sqlite(pool),
        })
    }

    /// A PostgreSQL database at `url`, tables in `schema` (created when
    /// missing), migrated under an advisory lock.
    pub async fn postgres(url: &str, schema: &str) -> Result<Tracker, DisclosureError> {
        if !is_identifier(schema) {
            return Err(DisclosureError::InvalidSchema(schema.to_owned()));
        }
        let options = PgConnectOptions::from_str(url)?;
        let mut conn = sqlx::PgConnection::connect_with(&options).await?;
        let mut tx = conn.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(PG_MIGRATION_LOCK)
            .execute(&mut *tx)
            .await?;
        // `schema` is a checked identifier, so quoting it is enough.
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
        )))
        .execute(&mut *tx)
        .await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SET LOCAL search_path TO \"{schema}\""
        )))
        .execute(&mut *tx)
        .await?;
        migrate_postgres(&mut tx).await?;
        tx.commit().await?;
        conn.close().await?;
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(DB_TIMEOUT)
            .connect_with(options.options([("search_path", schema)]))
            .await?;
        Ok(Tracker {
            pool: Pool::Postgres(pool),
        })
    }

    /// Files a validated report in state `received`, unless `max_open`
    /// reports are already open ([`DisclosureError::Full`]). The count and
    /// the insert are one statement (and, in PostgreSQL, under a lock), so
    /// concurrent floods cannot overshoot the cap.
    pub async fn file(
        &self,
        report: &NewReport,
        token_hash: &str,
        now_ms: i64,
        max_open: u64,
    ) -> Result<i64, DisclosureError> {
        let cap = i64::try_from(max_open).unwrap_or(i64::MAX);
        let sql = "INSERT INTO disclosure_reports \
             (state, title, description, endpoint, contact, token_hash, received_ms, updated_ms, operations, patches) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $7, '[]', '[]' \
             WHERE (SELECT COUNT(*) FROM disclosure_reports \
                    WHERE state NOT IN ('disclosed', 'rejected', 'duplicate')) < $8 \
             RETURNING id";
        let detail = serde_json::json!({ "action": "receive" }).to_string();
        let history = "INSERT INTO disclosure_history \
             (report_id, at_ms, actor, from_state, to_state, note, detail) \
             VALUES ($1, $2, 'reporter', NULL, 'received', NULL, $3)";
        let id: Option<i64> = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            if matches!(self.pool, Pool::Postgres(_)) {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(PG_FILING_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            let id: Option<i64> = sqlx::query_scalar(sql)
                .bind(State::Received.as_str())
                .bind(&report.title)
                .bind(&report.description)
                .bind(&report.endpoint)
                .bind(&report.contact)
                .bind(token_hash)
                .bind(now_ms)
                .bind(cap)
                .fetch_optional(&mut *tx)
                .await?;
            if let Some(id) = id {
                sqlx::query(history)
                    .bind(id)
                    .bind(now_ms)
                    .bind(&detail)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
            }
            id
        });
        id.ok_or(DisclosureError::Full(max_open))
    }

    /// The report `id`.
    pub async fn get(&self, id: i64) -> Result<Report, DisclosureError> {
        let sql = format!("SELECT {REPORT_COLUMNS} FROM disclosure_reports WHERE id = $1");
        let row: Option<ReportRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(pool).await?
        });
        row.map_or(Err(DisclosureError::NotFound(id)), decode_report)
    }

    /// The report whose status token is `token`, if any. The token is
    /// hashed, the hash looked up, and the stored hash compared with it in
    /// constant time; a miss runs the same comparison against a dummy.
    pub async fn find_by_token(&self, token: &str) -> Result<Option<Report>, DisclosureError> {
        let hash = secret::token_hash(token);
        let row: Option<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT id, token_hash FROM disclosure_reports WHERE token_hash = $1")
                .bind(&hash)
                .fetch_optional(pool)
                .await?
        });
        let (id, stored) = match &row {
            Some((id, stored)) => (Some(*id), stored.as_str()),
            None => (None, NO_MATCH_HASH),
        };
        let equal = secret::hashes_equal(stored, &hash);
        match id {
            Some(id) if equal => Ok(Some(self.get(id).await?)),
            _ => Ok(None),
        }
    }

    /// Reports in `state` (all when `None`), oldest first.
    pub async fn list(&self, state: Option<State>) -> Result<Vec<Report>, DisclosureError> {
        let rows: Vec<ReportRow> = match state {
            Some(state) => {
                let sql = format!(
                    "SELECT {REPORT_COLUMNS} FROM disclosure_reports WHERE state = $1 ORDER BY id"
                );
                on_pool!(self, pool => {
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(state.as_str()).fetch_all(pool).await?
                })
            }
            None => {
                let sql = format!("SELECT {REPORT_COLUMNS} FROM disclosure_reports ORDER BY id");
                on_pool!(self, pool => {
                    sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?
                })
            }
        };
        rows.into_iter().map(decode_report).collect()
    }

    /// Reports not closed.
    pub async fn open_count(&self) -> Result<u64, DisclosureError> {
        let sql = "SELECT COUNT(*) FROM disclosure_reports \
                   WHERE state NOT IN ('disclosed', 'rejected', 'duplicate')";
        let n: i64 = on_pool!(self, pool => {
            sqlx::query_scalar(sql).fetch_one(pool).await?
        });
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// A report's history, oldest first.
    pub async fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, DisclosureError> {
        let sql = format!(
            "SELECT {HISTORY_COLUMNS} FROM disclosure_history WHERE report_id = $1 ORDER BY seq"
        );
        let rows: Vec<HistoryRow> = on_pool!(self, pool => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(pool).await?
        });
        rows.into_iter().map(decode_history).collect()
    }

    /// Applies `action` to report `id` on behalf of `actor`: checks it is
    /// legal from the report's state (and, for `verify`, that the evidence
    /// passed), updates the report and appends the history row, in one
    /// transaction. Returns the updated report and the new history row.
    pub async fn apply(
        &self,
        id: i64,
        action: &Action,
        actor: &str,
        now_ms: i64,
    ) -> Result<(Report, HistoryEntry), DisclosureError> {
        let before = self.get(id).await?;
        if let Action::Duplicate { of } = action {
            if *of == id {
                return Err(DisclosureError::Invalid(format!(
                    "report #{id} cannot be a duplicate of itself"
                )));
            }
            self.get(*of).await.map_err(|_| {
                DisclosureError::Invalid(format!("report #{of} (the original) does not exist"))
            })?;
        }
        let after = crate::state::next(&before, action, now_ms)?;
        let note = action.public_note();
        let detail =
            serde_json::to_string(action).map_err(|e| DisclosureError::Invalid(e.to_string()))?;
        let operations = json(&after.operations)?;
        let patches = json(&after.patches)?;
        let evidence = after.evidence.as_ref().map(json).transpose()?;
        let update = "UPDATE disclosure_reports SET state = $1, updated_ms = $2, severity = $3, \
             operations = $4, check_id = $5, patches = $6, evidence = $7, duplicate_of = $8 \
             WHERE id = $9 AND state = $10";
        let insert = "INSERT INTO disclosure_history \
             (report_id, at_ms, actor, from_state, to_state, note, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq";
        let seq: Option<i64> = on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            let changed = sqlx::query(update)
                .bind(after.state.as_str())
                .bind(now_ms)
                .bind(after.severity.map(Severity::as_str))
                .bind(&operations)
                .bind(&after.check)
                .bind(&patches)
                .bind(&evidence)
                .bind(after.duplicate_of)
                .bind(id)
                .bind(before.state.as_str())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed == 1 {
                let seq: i64 = sqlx::query_scalar(insert)
                    .bind(id)
                    .bind(now_ms)
                    .bind(actor)
                    .bind(before.state.as_str())
                    .bind(after.state.as_str())
                    .bind(&note)
                    .bind(&detail)
                    .fetch_one(&mut *tx)
                    .await?;
                tx.commit().await?;
                Some(seq)
            } else {
                None
            }
        });
        let seq = seq.ok_or(DisclosureError::Conflict(id))?;
        let entry = HistoryEntry {
            seq,
            report_id: id,
            at_ms: now_ms,
            actor: actor.to_owned(),
            from: Some(before.state),
            to: after.state,
            note,
            detail: serde_json::to_value(action).unwrap_or_default(),
        };
        Ok((after, entry))
    }

    /// Reminders due at `now_ms` and not yet claimed: for each open
    /// report, one per entry of `remind_before_days` whose time has come,
    /// plus an overdue notice (0) past the deadline. A reminder whose time
    /// passed while no task ran is still due (once): a late reminder beats
    /// a silent one.
    pub async fn due_reminders(
        &self,
        now_ms: i64,
        sla_days: u32,
        remind_before_days: &[u32],
    ) -> Result<Vec<DueReminder>, DisclosureError> {
        let open = self.list(None).await?;
        let sent_sql = "SELECT report_id, days_before FROM disclosure_reminders";
        let sent: Vec<(i64, i64)> = on_pool!(self, pool => {
            sqlx::query_as(sent_sql).fetch_all(pool).await?
        });
        let sent: std::collections::HashSet<(i64, i64)> = sent.into_iter().collect();
        let mut due = Vec::new();
        for report in open.iter().filter(|r| !r.state.is_closed()) {
            let sla = crate::sla::SlaStatus::at(report, now_ms, sla_days);
            let mut marks: Vec<u32> = remind_before_days.to_vec();
            marks.push(0);
            marks.sort_unstable_by(|a, b| b.cmp(a));
            marks.dedup();
            for days in marks {
                let at = sla.deadline_ms - i64::from(days) * crate::time::DAY_MS;
                if now_ms >= at && !sent.contains(&(report.id, i64::from(days))) {
                    due.push(DueReminder {
                        report_id: report.id,
                        days_before: days,
                        deadline_ms: sla.deadline_ms,
                    });
                }
            }
        }
        Ok(due)
    }

    /// Records that a reminder is being sent; `false` if another task
    /// already claimed it (so each reminder goes out once).
    pub async fn claim_reminder(
        &self,
        report_id: i64,
        days_before: u32,
        now_ms: i64,
    ) -> Result<bool, DisclosureError> {
        let sql = "INSERT INTO disclosure_reminders (report_id, days_before, sent_ms) \
                   VALUES ($1, $2, $3) ON CONFLICT (report_id, days_before) DO NOTHING";
        let n = on_pool!(self, pool => {
            sqlx::query(sql)
                .bind(report_id)
                .bind(i64::from(days_before))
                .bind(now_ms)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Closes the connections.
    pub async fn close(&self) {
        on_pool!(self, pool => pool.close().await)
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String, DisclosureError> {
    serde_json::to_string(value).map_err(|e| DisclosureError::Invalid(e.to_string()))
}

fn corrupt(id: i64, field: &'static str, reason: impl ToString) -> DisclosureError {
    DisclosureError::Corrupt {
        id,
        field,
        reason: reason.to_string(),
    }
}

fn decode_report(row: ReportRow) -> Result<Report, DisclosureError> {
    let (
        id,
        state,
        title,
        description,
        endpoint,
        contact,
        received_ms,
        updated_ms,
        severity,
        operations,
        check,
        patches,
        evidence,
        duplicate_of,
    ) = row;
    Ok(Report {
        id,
        state: state.parse().map_err(|e| corrupt(id, "state", e))?,
        submitted: NewReport {
            title,
            description,
            endpoint,
            contact,
        },
        received_ms,
        updated_ms,
        severity: severity
            .map(|s| s.parse())
            .transpose()
            .map_err(|e| corrupt(id, "severity", e))?,
        operations: serde_json::from_str(&operations).map_err(|e| corrupt(id, "operations", e))?,
        check,
        patches: serde_json::from_str(&patches).map_err(|e| corrupt(id, "patches", e))?,
        evidence: evidence
            .map(|e| serde_json::from_str(&e))
            .transpose()
            .map_err(|e| corrupt(id, "evidence", e))?,
        duplicate_of,
    })
}

fn decode_history(row: HistoryRow) -> Result<HistoryEntry, DisclosureError> {
    let (seq, report_id, at_ms, actor, from, to, note, detail) = row;
    Ok(HistoryEntry {
        seq,
        report_id,
        at_ms,
        actor,
        from: from
            .map(|s| s.parse())
            .transpose()
            .map_err(|e| corrupt(report_id, "history state", e))?,
        to: to
            .parse()
            .map_err(|e| corrupt(report_id, "history state", e))?,
        note,
        detail: serde_json::from_str(&detail)
            .map_err(|e| corrupt(report_id, "history detail", e))?,
    })
}

async fn migrate_sqlite(conn: &mut sqlx::SqliteConnection) -> Result<(), DisclosureError> {
    let found = schema_version_sqlite(conn).await?;
    if found < SCHEMA_VERSION {
        for statement in TABLES {
            let sql = statement.replace("{id}", "INTEGER PRIMARY KEY AUTOINCREMENT");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await?;
        }
        for statement in SQLITE_TRIGGERS {
            sqlx::query(*statement).execute(&mut *conn).await?;
        }
        sqlx::query(
            "INSERT INTO rampart_schema (component, version) VALUES ('disclosure', $1) \
             ON CONFLICT (component) DO UPDATE SET version = excluded.version",
        )
        .bind(SCHEMA_VERSION)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

async fn schema_version_sqlite(conn: &mut sqlx::SqliteConnection) -> Result<i64, DisclosureError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS rampart_schema (component TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let found: Option<i64> =
        sqlx::query_scalar("SELECT version FROM rampart_schema WHERE component = 'disclosure'")
            .fetch_optional(&mut *conn)
            .await?;
    check_version(found.unwrap_or(0))
}

async fn migrate_postgres(conn: &mut sqlx::PgConnection) -> Result<(), DisclosureError> {
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS rampart_schema (component TEXT PRIMARY KEY, version BIGINT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    let found: Option<i64> =
        sqlx::query_scalar("SELECT version FROM rampart_schema WHERE component = 'disclosure'")
            .fetch_optional(&mut *conn)
            .await?;
    let found = check_version(found.unwrap_or(0))?;
    if found < SCHEMA_VERSION {
        for statement in TABLES {
            let sql = statement.replace("{id}", "BIGSERIAL PRIMARY KEY");
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await?;
        }
        for statement in PG_TRIGGERS {
            sqlx::query(*statement).execute(&mut *conn).await?;
        }
        sqlx::query(
            "INSERT INTO rampart_schema (component, version) VALUES ('disclosure', $1) \
             ON CONFLICT (component) DO UPDATE SET version = excluded.version",
        )
        .bind(SCHEMA_VERSION)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn check_version(found: i64) -> Result<i64, DisclosureError> {
    if found > SCHEMA_VERSION {
        return Err(DisclosureError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// An unquoted PostgreSQL identifier.
fn is_identifier(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
