//! Per-namespace metadata on entries.

use std::collections::BTreeMap;

use rusqlite::{Connection, params};
use serde_json::Value;
use uuid::Uuid;

use super::{names, now_ns};
use crate::error::{OpError, OpResult};

/// Largest JSON value one metadata key may hold, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The text a value is filtered and searched by: a string's contents, else its
/// JSON text.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sets `key` in `namespace` on entry row `entry`.
pub fn set(conn: &Connection, entry: i64, namespace: &str, key: &str, value: &Value) -> OpResult<()> {
    names::validate_namespace(namespace)?;
    names::validate_key(key)?;
    let json = value.to_string();
    if json.len() > MAX_VALUE_BYTES {
        return Err(OpError::exhausted(format!(
            "metadata value for `{key}` is {} bytes, over the {MAX_VALUE_BYTES}-byte limit; store large data as a sidecar",
            json.len()
        )));
    }
    conn.prepare_cached(
        "INSERT INTO metadata(entry_id, namespace, key, value, value_text, updated_ns, kind) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce((SELECT kind FROM entries WHERE id = ?1), '')) \
         ON CONFLICT(entry_id, namespace, key) DO UPDATE SET value = excluded.value, \
         value_text = excluded.value_text, updated_ns = excluded.updated_ns",
    )?
    .execute(params![entry, namespace, key, json, value_text(value), now_ns()])?;
    Ok(())
}

/// Removes `key` from `namespace`; returns whether it existed.
pub fn remove(conn: &Connection, entry: i64, namespace: &str, key: &str) -> OpResult<bool> {
    let n = conn.execute(
        "DELETE FROM metadata WHERE entry_id = ?1 AND namespace = ?2 AND key = ?3",
        params![entry, namespace, key],
    )?;
    Ok(n > 0)
}

/// All metadata of entry row `entry`, by namespace and key.
pub fn all(conn: &Connection, entry: i64) -> OpResult<BTreeMap<String, BTreeMap<String, Value>>> {
    let mut stmt = conn.prepare_cached("SELECT namespace, key, value FROM metadata WHERE entry_id = ?1")?;
    let mut out: BTreeMap<String, BTreeMap<String, Value>> = BTreeMap::new();
    let rows =
        stmt.query_map([entry], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?)))?;
    for row in rows {
        let (ns, key, json) = row?;
        let value = serde_json::from_str(&json).unwrap_or(Value::String(json));
        out.entry(ns).or_default().insert(key, value);
    }
    Ok(out)
}

/// One namespace's metadata of several entries, by entry id; entries with
/// none are left out.
pub fn of_entries(
    conn: &Connection,
    ids: impl Iterator<Item = Uuid>,
    namespace: &str,
) -> OpResult<BTreeMap<Uuid, BTreeMap<String, Value>>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.key, m.value FROM metadata m JOIN entries e ON e.id = m.entry_id \
         WHERE e.uuid = ?1 AND m.namespace = ?2",
    )?;
    let mut out = BTreeMap::new();
    for id in ids {
        let rows = stmt.query_map(rusqlite::params![id.to_string(), namespace], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut keys = BTreeMap::new();
        for row in rows {
            let (key, json) = row?;
            keys.insert(key, serde_json::from_str(&json).unwrap_or(Value::String(json)));
        }
        if !keys.is_empty() {
            out.insert(id, keys);
        }
    }
    Ok(out)
}
