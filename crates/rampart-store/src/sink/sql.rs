//! What the SQLite and PostgreSQL sinks share: the table, its migration,
//! batched inserts, filtered queries and retention, written once over
//! sqlx's `Database` trait.
//!
//! The table holds the whole event as JSON text plus the columns queries
//! filter on, each indexed with the time so "newest first for this
//! principal" is an index range scan. Queries are built with bound
//! parameters only; no user value is ever spliced into SQL text.

use sqlx::{
    ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, QueryBuilder, Row, Type,
};

use crate::StoreError;
use crate::event::{AuditEvent, EventQuery, unix_millis};
use crate::fields::FieldClassCount;

/// The schema version this code writes; bump it with a new step in
/// [`MIGRATIONS`].
pub(crate) const SCHEMA_VERSION: i64 = 2;

/// Rows per INSERT statement: well under SQLite's 32766 and PostgreSQL's
/// 65535 bound parameters (8 per row).
const ROWS_PER_INSERT: usize = 1000;
/// Rows per DELETE during retention, so the write lock is held briefly and
/// the recorder's batches interleave.
const ROWS_PER_DELETE: i64 = 10_000;
/// [`ROWS_PER_DELETE`] as the count a delete reports.
pub(crate) const ROWS_PER_DELETE_U64: u64 = ROWS_PER_DELETE as u64;

/// Statements per schema version. Index `i` upgrades from `i` to `i + 1`.
/// `{id}` is the dialect's auto-increment primary key.
const MIGRATIONS: &[&[&str]] = &[
    &[
        "CREATE TABLE IF NOT EXISTS audit_events (
        id {id},
        ts_ms BIGINT NOT NULL,
        request_id TEXT NOT NULL,
        client_ip TEXT NOT NULL,
        principal TEXT,
        operation TEXT,
        decision TEXT NOT NULL,
        status INTEGER NOT NULL,
        event TEXT NOT NULL
    )",
        "CREATE INDEX IF NOT EXISTS audit_events_ts ON audit_events (ts_ms)",
        "CREATE INDEX IF NOT EXISTS audit_events_principal ON audit_events (principal, ts_ms)",
        "CREATE INDEX IF NOT EXISTS audit_events_ip ON audit_events (client_ip, ts_ms)",
        "CREATE INDEX IF NOT EXISTS audit_events_operation ON audit_events (operation, ts_ms)",
    ],
    &[
        // Version 2: field classes seen in sampled responses (the inventory).
        "CREATE TABLE IF NOT EXISTS field_classes (
        api TEXT NOT NULL,
        operation TEXT NOT NULL,
        pointer TEXT NOT NULL,
        class TEXT NOT NULL,
        first_seen_ms BIGINT NOT NULL,
        last_seen_ms BIGINT NOT NULL,
        count BIGINT NOT NULL,
        PRIMARY KEY (api, operation, pointer, class)
    )",
        "CREATE INDEX IF NOT EXISTS field_classes_last_seen ON field_classes (last_seen_ms)",
    ],
];

/// Field-class rows per upsert statement (7 parameters per row).
const FIELD_ROWS_PER_UPSERT: usize = 500;
/// Most field-class rows one read returns.
const MAX_FIELD_ROWS: i64 = 100_000;

/// A sqlx database this store runs on, with what differs between them.
/// (Each function below repeats the bounds its queries need: where-clauses
/// on a trait are not implied at its use sites.)
pub(crate) trait SqlDatabase: Database {
    /// The auto-increment primary key column type.
    const ID_COLUMN: &'static str;

    /// Rows a statement changed (sqlx has no shared trait for it).
    fn rows_affected(result: &Self::QueryResult) -> u64;
}

impl SqlDatabase for sqlx::Sqlite {
    const ID_COLUMN: &'static str = "INTEGER PRIMARY KEY AUTOINCREMENT";

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

impl SqlDatabase for sqlx::Postgres {
    const ID_COLUMN: &'static str = "BIGSERIAL PRIMARY KEY";

    fn rows_affected(result: &Self::QueryResult) -> u64 {
        result.rows_affected()
    }
}

/// Brings the schema to [`SCHEMA_VERSION`] inside `conn`'s transaction,
/// refusing a database written by a newer Rampart.
pub(crate) async fn migrate<DB: SqlDatabase>(conn: &mut DB::Connection) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DB::Arguments: IntoArguments<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS rampart_schema (
            component TEXT PRIMARY KEY,
            version BIGINT NOT NULL
        )",
    )
    .execute(&mut *conn)
    .await?;
    let found: Option<i64> = sqlx::query_scalar::<DB, i64>(
        "SELECT version FROM rampart_schema WHERE component = 'audit'",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let found = found.unwrap_or(0);
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: SCHEMA_VERSION,
        });
    }
    let from = usize::try_from(found).unwrap_or(0);
    for step in MIGRATIONS.iter().skip(from) {
        for statement in *step {
            let sql = statement.replace("{id}", DB::ID_COLUMN);
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut *conn)
                .await?;
        }
    }
    if found < SCHEMA_VERSION {
        let mut upsert = QueryBuilder::<DB>::new(
            "INSERT INTO rampart_schema (component, version) VALUES ('audit', ",
        );
        upsert
            .push_bind(SCHEMA_VERSION)
            .push(") ON CONFLICT (component) DO UPDATE SET version = excluded.version");
        upsert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Inserts a batch within `conn`'s transaction.
pub(crate) async fn insert<DB: SqlDatabase>(
    conn: &mut DB::Connection,
    events: &[AuditEvent],
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DB::Arguments: IntoArguments<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    for chunk in events.chunks(ROWS_PER_INSERT) {
        let mut rows = Vec::with_capacity(chunk.len());
        for event in chunk {
            rows.push((event, serde_json::to_string(event)?));
        }
        let mut insert = QueryBuilder::<DB>::new(
            "INSERT INTO audit_events \
             (ts_ms, request_id, client_ip, principal, operation, decision, status, event) ",
        );
        insert.push_values(rows, |mut row, (event, json)| {
            row.push_bind(event.ts_millis())
                .push_bind(event.request_id.clone())
                .push_bind(event.client_ip.clone())
                .push_bind(event.principal.clone())
                .push_bind(event.operation.clone())
                .push_bind(event.decision.as_str().to_owned())
                .push_bind(i32::from(event.status))
                .push_bind(json);
        });
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Reads events matching `q`, newest first.
pub(crate) async fn select<DB: SqlDatabase>(
    conn: &mut DB::Connection,
    q: &EventQuery,
) -> Result<Vec<AuditEvent>, StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DB::Arguments: IntoArguments<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut select = QueryBuilder::<DB>::new("SELECT event FROM audit_events WHERE 1 = 1");
    if let Some(since) = q.since {
        select.push(" AND ts_ms >= ").push_bind(unix_millis(since));
    }
    if let Some(until) = q.until {
        select.push(" AND ts_ms < ").push_bind(unix_millis(until));
    }
    let text_filters = [
        ("principal", q.principal.as_ref()),
        ("client_ip", q.client_ip.as_ref()),
        ("operation", q.operation.as_ref()),
    ];
    for (column, value) in text_filters {
        if let Some(value) = value {
            select
                .push(format_args!(" AND {column} = "))
                .push_bind(value.clone());
        }
    }
    if let Some(decision) = q.decision {
        select
            .push(" AND decision = ")
            .push_bind(decision.as_str().to_owned());
    }
    let limit = i64::try_from(q.effective_limit()).unwrap_or(i64::MAX);
    select
        .push(" ORDER BY ts_ms DESC, id DESC LIMIT ")
        .push_bind(limit);
    let rows = select.build().fetch_all(&mut *conn).await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let json: String = row.try_get(0)?;
        match serde_json::from_str(&json) {
            Ok(event) => events.push(event),
            Err(e) => tracing::warn!(error = %e, "skipping an audit row that does not decode"),
        }
    }
    Ok(events)
}

/// Deletes up to [`ROWS_PER_DELETE`] events older than `cutoff_ms`;
/// returns how many went. The caller loops until it returns fewer.
pub(crate) async fn delete_some<DB: SqlDatabase>(
    conn: &mut DB::Connection,
    cutoff_ms: i64,
) -> Result<u64, StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DB::Arguments: IntoArguments<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut delete = QueryBuilder::<DB>::new(
        "DELETE FROM audit_events WHERE id IN (SELECT id FROM audit_events WHERE ts_ms < ",
    );
    delete
        .push_bind(cutoff_ms)
        .push(" ORDER BY ts_ms LIMIT ")
        .push_bind(ROWS_PER_DELETE)
        .push(")");
    let result = delete.build().execute(&mut *conn).await?;
    Ok(DB::rows_affected(&result))
}

/// Adds sightings to `field_classes` within `conn`'s transaction: new keys
/// are inserted, known ones widen their window and add their counts.
/// `rows` must hold each key once (see `fields::merge`).
pub(crate) async fn upsert_field_classes<DB: SqlDatabase>(
    conn: &mut DB::Connection,
    rows: &[FieldClassCount],
) -> Result<(), StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DB::Arguments: IntoArguments<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    for chunk in rows.chunks(FIELD_ROWS_PER_UPSERT) {
        let mut upsert = QueryBuilder::<DB>::new(
            "INSERT INTO field_classes \
             (api, operation, pointer, class, first_seen_ms, last_seen_ms, count) ",
        );
        upsert.push_values(chunk, |mut row, r| {
            row.push_bind(r.api.clone())
                .push_bind(r.operation.clone())
                .push_bind(r.pointer.clone())
                .push_bind(r.class.clone())
                .push_bind(unix_millis(r.first_seen))
                .push_bind(unix_millis(r.last_seen))
                .push_bind(i64::try_from(r.count).unwrap_or(i64::MAX));
        });
        // CASE rather than MIN/MAX or LEAST/GREATEST: the same text on
        // SQLite and PostgreSQL.
        upsert.push(
            " ON CONFLICT (api, operation, pointer, class) DO UPDATE SET \
             first_seen_ms = CASE WHEN excluded.first_seen_ms < field_classes.first_seen_ms \
                 THEN excluded.first_seen_ms ELSE field_classes.first_seen_ms END, \
             last_seen_ms = CASE WHEN excluded.last_seen_ms > field_classes.last_seen_ms \
                 THEN excluded.last_seen_ms ELSE field_classes.last_seen_ms END, \
             count = field_classes.count + excluded.count",
        );
        upsert.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Field-class rows last seen at or after `since_ms`, sorted by api,
/// operation, pointer and class.
pub(crate) async fn select_field_classes<DB: SqlDatabase>(
    conn: &mut DB::Connection,
    since_ms: Option<i64>,
) -> Result<Vec<FieldClassCount>, StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DB::Arguments: IntoArguments<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut select = QueryBuilder::<DB>::new(
        "SELECT api, operation, pointer, class, first_seen_ms, last_seen_ms, count \
         FROM field_classes WHERE 1 = 1",
    );
    if let Some(since) = since_ms {
        select.push(" AND last_seen_ms >= ").push_bind(since);
    }
    select
        .push(" ORDER BY api, operation, pointer, class LIMIT ")
        .push_bind(MAX_FIELD_ROWS);
    let rows = select.build().fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let count: i64 = row.try_get(6)?;
        out.push(FieldClassCount {
            api: row.try_get(0)?,
            operation: row.try_get(1)?,
            pointer: row.try_get(2)?,
            class: row.try_get(3)?,
            first_seen: crate::event::from_unix_millis(row.try_get(4)?),
            last_seen: crate::event::from_unix_millis(row.try_get(5)?),
            count: u64::try_from(count).unwrap_or(0),
        });
    }
    Ok(out)
}

/// Where a scan stands: the (time, id) of the last event read.
pub(crate) type ScanCursor = (i64, i64);

/// One page of a scan: up to `limit` events in `[since_ms, until_ms)`
/// after `after`, oldest first, with the cursor of the last one. Keyset
/// pagination on (ts_ms, id) walks the time index, however large the
/// table.
pub(crate) async fn scan_page<DB: SqlDatabase>(
    conn: &mut DB::Connection,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    after: Option<ScanCursor>,
    limit: i64,
) -> Result<(Vec<AuditEvent>, Option<ScanCursor>), StoreError>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DB::Arguments: IntoArguments<DB>,
    for<'r> String: Decode<'r, DB> + Type<DB>,
    for<'r> i64: Decode<'r, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB>,
    for<'q> i64: Encode<'q, DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    usize: ColumnIndex<DB::Row>,
{
    let mut select =
        QueryBuilder::<DB>::new("SELECT ts_ms, id, event FROM audit_events WHERE 1 = 1");
    if let Some(since) = since_ms {
        select.push(" AND ts_ms >= ").push_bind(since);
    }
    if let Some(until) = until_ms {
        select.push(" AND ts_ms < ").push_bind(until);
    }
    if let Some((ts, id)) = after {
        select
            .push(" AND (ts_ms > ")
            .push_bind(ts)
            .push(" OR (ts_ms = ")
            .push_bind(ts)
            .push(" AND id > ")
            .push_bind(id)
            .push("))");
    }
    select.push(" ORDER BY ts_ms, id LIMIT ").push_bind(limit);
    let rows = select.build().fetch_all(&mut *conn).await?;
    let mut events = Vec::with_capacity(rows.len());
    let mut last = None;
    for row in rows {
        last = Some((row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?));
        let json: String = row.try_get(2)?;
        match serde_json::from_str(&json) {
            Ok(event) => events.push(event),
            Err(e) => tracing::warn!(error = %e, "skipping an audit row that does not decode"),
        }
    }
    Ok((events, last))
}
