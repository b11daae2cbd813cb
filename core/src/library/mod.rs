//! Libraries: each a folder under `<data dir>/libraries/<uuid>/` holding
//! `library.db` (SQLite, WAL) and a `sidecars/` store.

mod checkpoint;
mod db;
mod manager;

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use manager::LibraryManager;

use crate::error::{OpError, OpResult};
use crate::vdfs::sidecar::SidecarStore;

/// File name of a library's database inside its folder.
pub const DB_FILE: &str = "library.db";

/// An open library.
pub struct Library {
    id: Uuid,
    name: String,
    path: PathBuf,
    pool: db::Pool,
    sidecars: SidecarStore,
    /// Locations with a scan (or removal) under way in this process.
    busy_locations: std::sync::Mutex<std::collections::HashSet<i64>>,
    /// Entry vectors, loaded on the first semantic search.
    vectors: std::sync::Mutex<crate::vdfs::semantic::VectorIndex>,
    /// Copies the WAL into the database file off the writers' threads.
    checkpointer: checkpoint::Checkpointer,
}

/// Marks a location busy until dropped; see [`Library::begin_scan`].
pub struct ScanGuard<'a> {
    library: &'a Library,
    location: i64,
}

impl Drop for ScanGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.library.busy_locations.lock() {
            busy.remove(&self.location);
        }
    }
}

/// What `libraries.list` and `libraries.create` return.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct LibraryInfo {
    /// Library id.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Folder holding the database and sidecars.
    pub path: String,
    /// Number of entries (indexed and virtual).
    pub entries: u64,
    /// Number of locations.
    pub locations: u64,
}

impl Library {
    /// Creates a new library folder at `path` with the given id and name.
    pub(crate) fn create(path: &Path, id: Uuid, name: &str) -> OpResult<Self> {
        std::fs::create_dir_all(path)?;
        let pool = db::open(&path.join(DB_FILE))?;
        let conn = pool.get()?;
        conn.execute("INSERT INTO library_info(key, value) VALUES ('id', ?1), ('name', ?2)", (id.to_string(), name))?;
        drop(conn);
        Self::assemble(id, name.to_string(), path, pool)
    }

    /// Opens an existing library folder.
    pub(crate) fn open(path: &Path) -> OpResult<Self> {
        let db_path = path.join(DB_FILE);
        if !db_path.is_file() {
            return Err(OpError::not_found(format!("{} has no {DB_FILE}", path.display())));
        }
        let pool = db::open(&db_path)?;
        let conn = pool.get()?;
        let get = |key: &str| -> OpResult<String> {
            conn.query_row("SELECT value FROM library_info WHERE key = ?1", [key], |r| r.get(0))
                .optional()?
                .ok_or_else(|| OpError::internal(format!("{} lacks its `{key}`", db_path.display())))
        };
        let id: Uuid = get("id")?
            .parse()
            .map_err(|e| OpError::internal(format!("{} has a malformed id: {e}", db_path.display())))?;
        let name = get("name")?;
        drop(conn);
        Self::assemble(id, name, path, pool)
    }

    fn assemble(id: Uuid, name: String, path: &Path, pool: db::Pool) -> OpResult<Self> {
        Ok(Self {
            id,
            name,
            sidecars: SidecarStore::new(path.join("sidecars")),
            checkpointer: checkpoint::Checkpointer::start(&path.join(DB_FILE))?,
            path: path.to_path_buf(),
            pool,
            busy_locations: Default::default(),
            vectors: Default::default(),
        })
    }

    /// Claims a location for a scan; fails with `conflict` if one is running,
    /// since two scans of one location would race on the same rows.
    pub fn begin_scan(&self, location: i64) -> OpResult<ScanGuard<'_>> {
        let mut busy = self.busy_locations.lock().map_err(|_| OpError::internal("scan registry poisoned"))?;
        if !busy.insert(location) {
            return Err(OpError::conflict("a scan of this location is already running; wait for it to finish"));
        }
        Ok(ScanGuard { library: self, location })
    }

    /// Library id.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// Display name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The library's folder.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sidecar blob store.
    pub fn sidecars(&self) -> &SidecarStore {
        &self.sidecars
    }

    /// The in-memory index of entry vectors for semantic search.
    pub fn vectors(&self) -> &std::sync::Mutex<crate::vdfs::semantic::VectorIndex> {
        &self.vectors
    }

    /// Runs `f` on a pooled connection on the blocking thread pool, so async
    /// callers never block a runtime worker on SQLite.
    pub async fn read<T, F>(self: &std::sync::Arc<Self>, f: F) -> OpResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> OpResult<T> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get()?;
            f(&conn)
        })
        .await
        .map_err(|e| OpError::internal(format!("database task failed: {e}")))?
    }

    /// Runs `f` inside an immediate (write-locking) transaction that commits
    /// when `f` returns `Ok` and rolls back otherwise.
    pub async fn write<T, F>(self: &std::sync::Arc<Self>, f: F) -> OpResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> OpResult<T> + Send + 'static,
    {
        let library = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = library.pool.get()?;
            let out = write_tx_settling(&mut conn, Some(&library.sidecars), f);
            library.checkpoint_soon();
            out
        })
        .await
        .map_err(|e| OpError::internal(format!("database task failed: {e}")))?
    }

    /// [`write`](Self::write) for small transactions a caller waits on (a
    /// job's checkpoint), run on the calling thread when an idle connection
    /// and the write lock are free at once, so the transaction is all it
    /// costs: handing it to the blocking pool (or `block_in_place`, which
    /// hands the runtime's worker to another thread) costs thread wake-ups
    /// worth more than the transaction itself. Otherwise, or when SQLite
    /// would have to wait for another writer, it is `write`, and the
    /// calling thread never waits on a lock.
    pub async fn write_inline<T, F>(self: &std::sync::Arc<Self>, f: F) -> OpResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> OpResult<T> + Send + 'static,
    {
        let Some(mut conn) = self.pool.try_get() else { return self.write(f).await };
        match write_now(&mut conn, &self.sidecars, f) {
            Ok(out) => {
                self.checkpoint_soon();
                out
            }
            // Another writer holds the lock: wait for it off this thread.
            Err(f) => {
                drop(conn);
                self.write(f).await
            }
        }
    }

    /// Asks the library's checkpoint thread to copy the WAL into the
    /// database file soon, without waiting for it: for writers outside
    /// [`write`](Self::write) (the indexer's batches).
    pub fn checkpoint_soon(&self) {
        self.checkpointer.nudge();
    }

    /// A connection of its own (not from the pool), for synchronous code on
    /// a blocking thread that changes its connection's settings (the
    /// indexer); closed when dropped.
    pub fn dedicated_connection(&self) -> OpResult<rusqlite::Connection> {
        db::open_dedicated(&self.path.join(DB_FILE))
    }

    /// A pooled connection for synchronous code already on a blocking thread
    /// (the indexer).
    pub fn connection(&self) -> OpResult<r2d2::PooledConnection<r2d2_sqlite::SqliteConnectionManager>> {
        Ok(self.pool.get()?)
    }

    /// Summary for listings.
    pub async fn info(self: &std::sync::Arc<Self>) -> OpResult<LibraryInfo> {
        let (entries, locations) = self
            .read(|c| {
                let e: u64 =
                    c.query_row("SELECT COUNT(*) FROM entries", [], |r| r.get::<_, i64>(0).map(|n| n.max(0) as u64))?;
                let l: u64 =
                    c.query_row("SELECT COUNT(*) FROM locations", [], |r| r.get::<_, i64>(0).map(|n| n.max(0) as u64))?;
                Ok((e, l))
            })
            .await?;
        Ok(LibraryInfo {
            id: self.id,
            name: self.name.clone(),
            path: self.path.display().to_string(),
            entries,
            locations,
        })
    }
}

/// Runs `f` in an immediate transaction on `conn`. Search documents the
/// transaction added enter the full-text index just before it commits.
pub fn write_tx<T>(conn: &mut Connection, f: impl FnOnce(&rusqlite::Transaction<'_>) -> OpResult<T>) -> OpResult<T> {
    write_tx_settling(conn, None, f)
}

/// [`write_tx`] that also settles the sidecar blob files the transaction
/// wrote to `sidecars`: on failure they are removed before the rollback,
/// while the write lock still keeps any other transaction from coming to
/// use them.
fn write_tx_settling<T>(
    conn: &mut Connection,
    sidecars: Option<&SidecarStore>,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> OpResult<T>,
) -> OpResult<T> {
    settle_tx(conn.transaction_with_behavior(TransactionBehavior::Immediate)?, sidecars, f)
}

/// [`write_tx_settling`] if the write lock is free now; `Err(f)`, with
/// nothing done, if another connection holds it. While the lock is held
/// nothing waits on another connection either: the WAL hook's restart,
/// which waits for readers, fails at once instead and a later commit
/// retries it.
fn write_now<T, F>(conn: &mut Connection, sidecars: &SidecarStore, f: F) -> Result<OpResult<T>, F>
where
    F: FnOnce(&rusqlite::Transaction<'_>) -> OpResult<T>,
{
    if let Err(e) = conn.busy_timeout(std::time::Duration::ZERO) {
        return Ok(Err(e.into()));
    }
    let out = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => Ok(settle_tx(tx, Some(sidecars), f)),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => Err(f),
        Err(e) => Ok(Err(e.into())),
    };
    match conn.busy_timeout(db::BUSY_TIMEOUT) {
        Ok(()) => out,
        Err(e) => Ok(Err(e.into())),
    }
}

/// The body of [`write_tx_settling`], for a transaction already begun.
fn settle_tx<T>(
    tx: rusqlite::Transaction<'_>,
    sidecars: Option<&SidecarStore>,
    f: impl FnOnce(&rusqlite::Transaction<'_>) -> OpResult<T>,
) -> OpResult<T> {
    if let Some(store) = sidecars {
        // Forget files a write outside this path left recorded on this
        // thread: only this transaction's own may be removed below.
        store.settle(true);
    }
    let out = f(&tx).and_then(|out| index_pending_search_docs(&tx).map(|()| out));
    let Ok(out) = out else {
        if let Some(store) = sidecars {
            store.settle(false);
        }
        return out;
    };
    let committed = tx.commit();
    if let Some(store) = sidecars {
        // A failed commit has rolled back too (rare: I/O errors).
        store.settle(committed.is_ok());
    }
    committed?;
    Ok(out)
}

/// Rebuilds the full-text documents of the entries queued in
/// `entry_search_pending` (migration 010), once per transaction.
fn index_pending_search_docs(tx: &rusqlite::Transaction<'_>) -> OpResult<()> {
    let entries: bool =
        tx.prepare_cached("SELECT EXISTS (SELECT 1 FROM entry_search_pending)")?.query_row([], |r| r.get(0))?;
    if entries {
        // One rowid at a time: FTS5 takes `rowid = ?` as a lookup, but
        // `rowid IN (SELECT …)` as a scan of every entry's document.
        let stale: Vec<i64> = tx
            .prepare_cached("SELECT entry_id FROM entry_search_pending WHERE NOT fresh")?
            .query_map([], |r| r.get(0))?
            .collect::<Result<_, _>>()?;
        let mut delete = tx.prepare_cached("DELETE FROM entry_fts WHERE rowid = ?1")?;
        for id in stale {
            delete.execute([id])?;
        }
        // Driven from the queue: joined and grouped, SQLite walks every
        // document in entry order and looks each up in the queue.
        tx.prepare_cached(
            "INSERT INTO entry_fts(rowid, body) SELECT id, body FROM (SELECT p.entry_id AS id, \
             (SELECT group_concat(d.body, char(10)) FROM search_docs d WHERE d.entry_id = p.entry_id) AS body \
             FROM entry_search_pending p) WHERE body IS NOT NULL",
        )?
        .execute([])?;
        tx.prepare_cached("DELETE FROM entry_search_pending")?.execute([])?;
    }
    Ok(())
}
