//! The virtual distributed file system: entries (indexed from real folders or
//! created by operations), per-namespace metadata, sidecars, full-text search,
//! and the indexer that keeps entries in step with the disk.

pub mod entry;
pub mod file;
pub mod indexer;
pub mod metadata;
pub mod names;
pub mod search;
pub mod semantic;
pub mod sidecar;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, saturating; the unit stored in the database.
pub fn to_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// Now, in nanoseconds since the epoch.
pub fn now_ns() -> i64 {
    to_ns(SystemTime::now())
}

/// RFC 3339 text for a stored timestamp; what clients see.
pub fn format_ns(ns: i64) -> String {
    let t = if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    };
    humantime::format_rfc3339_millis(t).to_string()
}
