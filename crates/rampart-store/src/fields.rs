//! Field classes: which kinds of sensitive data (email, card number,
//! secret, ...) each operation's responses were seen to carry, and where.
//!
//! The gateway samples some JSON responses, and the inventory's classifier
//! turns each into (JSON-pointer template, class) pairs. Only those pairs
//! reach the store, with a count and the first and last time seen: never a
//! value. One row per (api, operation, pointer, class), so the table grows
//! with the API's surface, not with its traffic.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

/// How often one class of data was seen at one place of one operation's
/// responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldClassCount {
    /// The API's name.
    pub api: String,
    /// The operationId, or for unrouted traffic the inventory's shadow key
    /// (`GET /v1/users/{id}`).
    pub operation: String,
    /// JSON pointer of the field, array indices collapsed to `*`
    /// (`/items/*/email`).
    pub pointer: String,
    /// The data class (`email`, `card_number`, `secret`, ...).
    pub class: String,
    /// First sighting.
    #[serde(with = "crate::event::rfc3339")]
    pub first_seen: SystemTime,
    /// Latest sighting.
    #[serde(with = "crate::event::rfc3339")]
    pub last_seen: SystemTime,
    /// Sampled responses that carried it.
    pub count: u64,
}

impl FieldClassCount {
    /// One sighting at `at`.
    pub fn seen(
        api: impl Into<String>,
        operation: impl Into<String>,
        pointer: impl Into<String>,
        class: impl Into<String>,
        at: SystemTime,
    ) -> Self {
        FieldClassCount {
            api: api.into(),
            operation: operation.into(),
            pointer: pointer.into(),
            class: class.into(),
            first_seen: at,
            last_seen: at,
            count: 1,
        }
    }

    fn key(&self) -> (&str, &str, &str, &str) {
        (&self.api, &self.operation, &self.pointer, &self.class)
    }
}

/// Merges rows with the same key (earliest first sighting, latest last
/// sighting, counts added): one upsert statement may not touch a row
/// twice in PostgreSQL.
pub(crate) fn merge(rows: &[FieldClassCount]) -> Vec<FieldClassCount> {
    let mut merged: BTreeMap<(&str, &str, &str, &str), FieldClassCount> = BTreeMap::new();
    for row in rows {
        merged
            .entry(row.key())
            .and_modify(|m| {
                m.first_seen = m.first_seen.min(row.first_seen);
                m.last_seen = m.last_seen.max(row.last_seen);
                m.count = m.count.saturating_add(row.count);
            })
            .or_insert_with(|| row.clone());
    }
    merged.into_values().collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn merging_keeps_the_widest_window_and_adds_counts() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let rows = [
            FieldClassCount::seen("a", "op", "/email", "email", t(20)),
            FieldClassCount::seen("a", "op", "/email", "email", t(10)),
            FieldClassCount::seen("a", "op", "/email", "phone", t(15)),
        ];
        let merged = merge(&rows);
        assert_eq!(merged.len(), 2);
        assert_eq!(merged[0].class, "email");
        assert_eq!(
            (merged[0].first_seen, merged[0].last_seen, merged[0].count),
            (t(10), t(20), 2)
        );
    }
}
