//! Events the host delivers to `#[on_event]` handlers.

use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

/// What happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// An entry was indexed or created.
    EntryCreated,
    /// An entry's content changed.
    EntryModified,
    /// An entry was renamed or moved.
    EntryMoved,
    /// An entry was deleted.
    EntryDeleted,
    /// A metadata key was set or removed (`detail`: namespace, key, removed).
    MetadataUpdated,
    /// A sidecar was written (`detail`: namespace, name).
    SidecarWritten,
    /// A location finished indexing (`detail`: location_id, path).
    LocationIndexed,
    /// A job changed state (`detail`: job_id, kind, owner, name, from, state).
    JobStateChanged,
    /// An extension was loaded (`detail`: extension, version).
    ExtensionLoaded,
    /// An extension was unloaded.
    ExtensionUnloaded,
    /// A kind this SDK does not know yet.
    Other(String),
}

/// One event.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// Position in the library's event log.
    pub seq: i64,
    /// The library it happened in (also the handler's `ctx.library()`).
    pub library_id: Uuid,
    /// The kind, e.g. `entry.created`; see [`Event::kind`].
    #[serde(rename = "kind")]
    pub kind_name: String,
    /// The entry concerned, for entry, metadata and sidecar events.
    #[serde(default)]
    pub entry_id: Option<Uuid>,
    /// Details of the kind.
    #[serde(default)]
    pub detail: Value,
    /// When it happened (RFC 3339).
    pub at: String,
}

impl Event {
    /// The kind, typed.
    pub fn kind(&self) -> EventKind {
        match self.kind_name.as_str() {
            "entry.created" => EventKind::EntryCreated,
            "entry.modified" => EventKind::EntryModified,
            "entry.moved" => EventKind::EntryMoved,
            "entry.deleted" => EventKind::EntryDeleted,
            "metadata.updated" => EventKind::MetadataUpdated,
            "sidecar.written" => EventKind::SidecarWritten,
            "location.indexed" => EventKind::LocationIndexed,
            "job.state_changed" => EventKind::JobStateChanged,
            "extension.loaded" => EventKind::ExtensionLoaded,
            "extension.unloaded" => EventKind::ExtensionUnloaded,
            other => EventKind::Other(other.to_string()),
        }
    }

    /// A text field of `detail`.
    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.detail.get(key).and_then(Value::as_str)
    }
}
