//! Keeps locations in step with the disk while the daemon runs: a change
//! under a location's folder rescans it incrementally, so files that appear
//! become entries (and `entry.created` events for extensions) without a
//! manual `sd location rescan`.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::Duration;

use notify::Watcher;
use uuid::Uuid;

use super::KIND_INDEX;
use crate::Core;
use crate::vdfs::indexer;

/// How often the set of watched folders is brought in line with the
/// libraries' locations.
const SYNC_EVERY: Duration = Duration::from_secs(3);
/// How long a burst of changes is gathered before one rescan.
const SETTLE: Duration = Duration::from_millis(750);

/// A location: its library and its id.
type Key = (Uuid, Uuid);

/// Starts watching every location of every library, for as long as `core`
/// lives. Folders that cannot be watched (inotify limits, permissions) are
/// logged and left to manual rescans.
pub fn start(core: &Arc<Core>) {
    let weak = Arc::downgrade(core);
    let ignore = core.data_dir().to_path_buf();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Key>();
    tokio::spawn(keep_watchers(weak.clone(), ignore, tx));
    tokio::spawn(rescan_on_change(weak, rx));
}

async fn keep_watchers(core: Weak<Core>, ignore: PathBuf, tx: tokio::sync::mpsc::UnboundedSender<Key>) {
    let mut watchers: HashMap<Key, (String, notify::RecommendedWatcher)> = HashMap::new();
    let mut failed: HashSet<(Key, String)> = HashSet::new();
    let mut first_round = true;
    loop {
        let Some(c) = core.upgrade() else { return };
        let mut wanted: HashMap<Key, String> = HashMap::new();
        for library in c.libraries().list().await {
            let lib_id = library.id();
            if let Ok(locations) = library.read(indexer::list_locations).await {
                for l in locations {
                    wanted.insert((lib_id, l.id), l.path);
                }
            }
        }
        drop(c);
        watchers.retain(|k, (path, _)| wanted.get(k) == Some(path));
        for (key, path) in wanted {
            if watchers.contains_key(&key) || failed.contains(&(key, path.clone())) {
                continue;
            }
            match watch(Path::new(&path), &ignore, key, tx.clone()) {
                Ok(w) => {
                    watchers.insert(key, (path, w));
                    // A location added since the last round may have changed
                    // before its watch began; one rescan catches that up.
                    if !first_round {
                        let _ = tx.send(key);
                    }
                }
                Err(e) => {
                    tracing::warn!(path, error = %e, "cannot watch this location; rescan it by hand to see new files");
                    failed.insert((key, path));
                }
            }
        }
        first_round = false;
        tokio::time::sleep(SYNC_EVERY).await;
    }
}

fn watch(
    path: &Path,
    ignore: &Path,
    key: Key,
    tx: tokio::sync::mpsc::UnboundedSender<Key>,
) -> notify::Result<notify::RecommendedWatcher> {
    let ignore = ignore.to_path_buf();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        let Ok(ev) = ev else { return };
        if matches!(ev.kind, notify::EventKind::Access(_)) {
            return;
        }
        // The data dir may sit inside a location (a home folder): its own
        // writes must not rescan the location forever.
        if ev.paths.iter().all(|p| p.starts_with(&ignore)) {
            return;
        }
        let _ = tx.send(key);
    })?;
    watcher.watch(path, notify::RecursiveMode::Recursive)?;
    Ok(watcher)
}

/// Rescans a changed location once its changes settle; one scan per
/// location at a time, and one more after it when changes came meanwhile.
async fn rescan_on_change(core: Weak<Core>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Key>) {
    let running: Arc<std::sync::Mutex<HashSet<Key>>> = Default::default();
    let mut dirty: HashSet<Key> = HashSet::new();
    loop {
        if dirty.is_empty() {
            match rx.recv().await {
                Some(k) => {
                    dirty.insert(k);
                }
                None => return,
            }
        }
        tokio::time::sleep(SETTLE).await;
        while let Ok(k) = rx.try_recv() {
            dirty.insert(k);
        }
        let Some(c) = core.upgrade() else { return };
        let busy = running.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for key in dirty.iter().copied().filter(|k| !busy.contains(k)).collect::<Vec<_>>() {
            dirty.remove(&key);
            let Ok(library) = c.libraries().get(key.0).await else { continue };
            let input = serde_json::json!({ "location": key.1 });
            match c.jobs().dispatch(&library, KIND_INDEX, "core", KIND_INDEX, input).await {
                Ok(job) => {
                    running.lock().unwrap_or_else(|p| p.into_inner()).insert(key);
                    let (core, running) = (c.clone(), running.clone());
                    tokio::spawn(async move {
                        if let Err(e) = core.jobs().wait(&library, job, None).await {
                            tracing::warn!(error = %e, "rescan of a watched location failed");
                        }
                        running.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
                    });
                }
                Err(e) => tracing::warn!(error = %e, "cannot rescan a watched location"),
            }
        }
    }
}
