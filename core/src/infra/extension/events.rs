//! Delivering events to extensions: one loop per loaded extension that
//! subscribes, reading each library it may use from its own durable cursor
//! and calling its `on_event` export, one event at a time, in order.
//!
//! A handler runs under the extension's CPU budget like any call; one that
//! fails or is cut off is counted and skipped, so it cannot stall its own
//! queue, and since every extension has its own loop it cannot stall anyone
//! else's. Events raised while the daemon was down or the extension was
//! unloaded wait in the library's log until its loop reads them.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use serde_json::json;

use super::manager::ExtensionManager;
use super::manifest::{EVENT_EXPORT, Manifest};
use super::permissions::Guard;
use crate::Core;
use crate::error::{OpError, OpResult};
use crate::infra::event::{self, Event};
use crate::infra::wire::Form;
use crate::library::Library;

/// Events read from a library per pass.
const BATCH: u32 = 64;
/// Pause between passes that found nothing.
const IDLE: Duration = Duration::from_millis(200);

impl ExtensionManager {
    /// Delivers events to extensions loaded from now on (the daemon calls
    /// this before loading them; a CLI run in its own process does not, so
    /// its events wait for the daemon).
    pub fn start_event_delivery(&self) {
        self.delivering.store(true, Ordering::SeqCst);
    }

    /// Starts the delivery loop of a just-loaded extension, if it subscribes.
    pub(super) fn spawn_delivery(&self, manifest: &Manifest, guard: &Arc<Guard>) -> Option<tokio::task::AbortHandle> {
        if manifest.events.is_empty() || !self.delivering.load(Ordering::SeqCst) {
            return None;
        }
        let task =
            tokio::spawn(delivery_loop(self.core.clone(), manifest.id.clone(), manifest.events.clone(), guard.clone()));
        Some(task.abort_handle())
    }

    /// Publishes `extension.loaded` or `extension.unloaded` in every library.
    pub(super) async fn publish_lifecycle(&self, kind: &'static str, id: &str, version: &str) {
        let Some(core) = self.core.upgrade() else { return };
        let detail = json!({ "extension": id, "version": version });
        for lib in core.libraries().list().await {
            let detail = detail.clone();
            if let Err(e) = lib.write(move |tx| event::publish(tx, kind, &detail)).await {
                tracing::warn!(extension = id, error = %e, "could not publish {kind}");
            }
        }
    }

    /// Starts a newly installed extension's cursors at the present in every
    /// library, so it is not handed the whole history.
    pub(super) async fn start_cursors(&self, id: &str) {
        let Some(core) = self.core.upgrade() else { return };
        for lib in core.libraries().list().await {
            let id_owned = id.to_string();
            if let Err(e) = lib.write(move |tx| event::start_cursor(tx, &id_owned)).await {
                tracing::warn!(extension = id, error = %e, "could not start the event cursor");
            }
        }
    }

    /// Calls the extension's `on_event` with one event.
    async fn deliver(&self, id: &str, ev: &Event) -> OpResult<()> {
        let payload =
            serde_json::to_vec(ev).map_err(|e| OpError::internal(format!("could not encode an event: {e}")))?;
        let method = format!("event {}", ev.kind);
        self.run_operation(id, &method, EVENT_EXPORT, Some(ev.library_id), &payload, Form::Text).await.map(|_| ())
    }
}

async fn delivery_loop(core: Weak<Core>, id: String, patterns: Vec<String>, guard: Arc<Guard>) {
    loop {
        let Some(strong) = core.upgrade() else { return };
        let mut busy = false;
        for lib in strong.libraries().list().await {
            if !guard.library_allowed(lib.id()) {
                continue;
            }
            match deliver_some(&strong, &lib, &id, &patterns).await {
                Ok(n) => busy |= n > 0,
                Err(e) => tracing::warn!(extension = %id, library = %lib.id(), error = %e, "event delivery failed"),
            }
        }
        drop(strong);
        if !busy {
            tokio::time::sleep(IDLE).await;
        }
    }
}

/// Delivers the next batch of one library; returns how many events were read.
async fn deliver_some(core: &Arc<Core>, lib: &Arc<Library>, id: &str, patterns: &[String]) -> OpResult<usize> {
    let (library, ext) = (lib.id(), id.to_string());
    let (events, lost) = lib
        .read(move |c| {
            let cursor = event::cursor(c, &ext)?.unwrap_or(0);
            // Pruning may have dropped events this cursor never saw.
            let first = event::first_seq(c)?.unwrap_or(cursor + 1);
            let lost = (first - 1 - cursor).max(0);
            Ok((event::after(c, library, cursor.max(first - 1), BATCH)?, lost))
        })
        .await?;
    let stats = core.extensions().stats_for(id);
    if lost > 0 {
        stats.events_overflowed.fetch_add(lost as u64, Ordering::Relaxed);
        stats.set_last_error(format!(
            "{lost} events were dropped before delivery: the log overflowed while the extension was behind"
        ));
    }
    let Some(last) = events.last().map(|e| e.seq) else {
        return Ok(0);
    };
    let mut saved = None;
    for ev in &events {
        if !patterns.iter().any(|p| event::matches(p, &ev.kind)) {
            continue;
        }
        match core.extensions().deliver(id, ev).await {
            Ok(()) => stats.events_delivered.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                stats.set_last_error(format!("on_event for event {} ({}) failed: {e}", ev.seq, ev.kind));
                stats.events_failed.fetch_add(1, Ordering::Relaxed)
            }
        };
        let (ext, seq) = (id.to_string(), ev.seq);
        lib.write(move |tx| event::set_cursor(tx, &ext, seq)).await?;
        saved = Some(seq);
    }
    // Past the events it does not subscribe to, unless the last one was
    // delivered and saved already.
    if saved != Some(last) {
        let ext = id.to_string();
        lib.write(move |tx| event::set_cursor(tx, &ext, last)).await?;
    }
    Ok(events.len())
}
