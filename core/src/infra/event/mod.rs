//! Events: what happened in a library, in order. Triggers write them into
//! the library's `events` table (so every change is published, whoever made
//! it); readers follow with a sequence number. Extensions receive the kinds
//! their manifest subscribes to through a durable cursor each (see the
//! extension manager's delivery loop).

use rusqlite::{Connection, OptionalExtension, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{OpError, OpResult};

/// Every kind of event the core publishes.
pub const KINDS: &[&str] = &[
    "entry.created",
    "entry.modified",
    "entry.moved",
    "entry.deleted",
    "metadata.updated",
    "sidecar.written",
    "location.indexed",
    "job.state_changed",
    "extension.loaded",
    "extension.unloaded",
];

/// Events kept per library; older ones are pruned (by a trigger in the
/// library schema, every thousandth event).
pub const MAX_EVENTS: i64 = 100_000;

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// Position in the library's log; increases by at least one per event.
    pub seq: i64,
    /// The library it happened in.
    pub library_id: Uuid,
    /// One of [`KINDS`].
    pub kind: String,
    /// The entry concerned, for entry, metadata and sidecar events.
    pub entry_id: Option<Uuid>,
    /// Details of the kind (names, keys, states).
    pub detail: Value,
    /// When it happened (RFC 3339).
    pub at: String,
}

/// Whether `pattern` (an exact kind, or a prefix ending in `.`) selects `kind`.
pub fn matches(pattern: &str, kind: &str) -> bool {
    if pattern.ends_with('.') { kind.starts_with(pattern) } else { pattern == kind }
}

/// Checks a subscription: it must select at least one published kind.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    if KINDS.iter().any(|k| matches(pattern, k)) {
        Ok(())
    } else {
        Err(format!("`{pattern}` selects no event; events are {}, or a prefix such as `entry.`", KINDS.join(", ")))
    }
}

/// Events after `after`, oldest first, at most `limit`.
pub fn after(conn: &Connection, library: Uuid, after: i64, limit: u32) -> OpResult<Vec<Event>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, kind, entry_uuid, detail, at_ns FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![after, limit], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    rows.map(|r| {
        let (seq, kind, entry, detail, at) = r?;
        Ok(Event {
            seq,
            library_id: library,
            kind,
            entry_id: entry.and_then(|e| e.parse().ok()),
            detail: serde_json::from_str(&detail).unwrap_or(Value::Null),
            at: crate::vdfs::format_ns(at),
        })
    })
    .collect()
}

/// The newest sequence number (0 when there is none).
pub fn last_seq(conn: &Connection) -> OpResult<i64> {
    Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))?)
}

/// The oldest sequence number kept (`None` when the log is empty).
pub fn first_seq(conn: &Connection) -> OpResult<Option<i64>> {
    Ok(conn.query_row("SELECT MIN(seq) FROM events", [], |r| r.get(0))?)
}

/// Publishes an event that no table change raises (extension lifecycle).
pub fn publish(conn: &Connection, kind: &str, detail: &Value) -> OpResult<()> {
    if !KINDS.contains(&kind) {
        return Err(OpError::internal(format!("unknown event kind `{kind}`")));
    }
    conn.execute(
        "INSERT INTO events(kind, entry_uuid, detail, at_ns) VALUES (?1, NULL, ?2, ?3)",
        params![kind, detail.to_string(), crate::vdfs::now_ns()],
    )?;
    Ok(())
}

/// An extension's cursor: the last event it was given.
pub fn cursor(conn: &Connection, extension: &str) -> OpResult<Option<i64>> {
    Ok(conn.query_row("SELECT seq FROM event_cursors WHERE extension = ?1", [extension], |r| r.get(0)).optional()?)
}

/// Moves an extension's cursor.
pub fn set_cursor(conn: &Connection, extension: &str, seq: i64) -> OpResult<()> {
    conn.execute(
        "INSERT INTO event_cursors(extension, seq) VALUES (?1, ?2) ON CONFLICT(extension) DO UPDATE SET seq = excluded.seq",
        params![extension, seq],
    )?;
    Ok(())
}

/// Starts an extension's cursor at the present, unless it has one: a new
/// subscriber is not flooded with history.
pub fn start_cursor(conn: &Connection, extension: &str) -> OpResult<()> {
    conn.execute(
        "INSERT OR IGNORE INTO event_cursors(extension, seq) VALUES (?1, (SELECT COALESCE(MAX(seq), 0) FROM events))",
        [extension],
    )?;
    Ok(())
}
