//! Sidecars: named blobs attached to an entry and owned by a namespace. The
//! bytes are content-addressed by BLAKE3 hash: up to [`INLINE_MAX`] bytes in
//! the database's `sidecar_blobs` table, larger ones in files
//! (`sidecars/blobs/ab/abcd…`); the database maps (entry, namespace, name)
//! to a hash.
//!
//! Every change happens inside the database's write transaction, so blob
//! creation and garbage collection are serialised with the rows that refer to
//! them, across threads and processes.

use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::entry::SidecarInfo;
use super::{format_ns, names, now_ns};
use crate::error::{OpError, OpResult};

/// Largest sidecar, in bytes.
pub const MAX_SIDECAR_BYTES: usize = 8 * 1024 * 1024;

/// Largest blob kept in the database rather than in a file. SQLite reads
/// and writes blobs this small faster than the file system, and a row needs
/// no fsync of its own: it is as durable as the transaction that names it.
pub const INLINE_MAX: usize = 64 * 1024;

/// Most text indexed for search from one sidecar, in bytes.
const MAX_INDEXED_TEXT: usize = 1024 * 1024;

/// The blob store of one library.
pub struct SidecarStore {
    root: PathBuf,
    /// Blob files created by transactions not yet settled, by the thread
    /// running each (a write transaction runs on one thread from start to
    /// commit): removed if that transaction rolls back.
    created: std::sync::Mutex<std::collections::HashMap<std::thread::ThreadId, Vec<PathBuf>>>,
}

impl SidecarStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: PathBuf) -> Self {
        Self { root, created: Default::default() }
    }

    fn blob_path(&self, hash: &str) -> PathBuf {
        self.root.join("blobs").join(&hash[..2]).join(hash)
    }

    /// Stores `data` under its hash and returns the hash: in the database
    /// when small, else in a file (atomically: temp file, fsync, rename).
    /// Writing the same bytes twice stores them once.
    fn put(&self, conn: &Connection, data: &[u8]) -> OpResult<String> {
        let hash = blake3::hash(data).to_hex().to_string();
        if data.len() <= INLINE_MAX {
            conn.prepare_cached("INSERT OR IGNORE INTO sidecar_blobs(hash, data) VALUES (?1, ?2)")?
                .execute(params![hash, data])?;
            return Ok(hash);
        }
        let path = self.blob_path(&hash);
        if path.is_file() {
            return Ok(hash);
        }
        let dir = path.parent().ok_or_else(|| OpError::internal("blob path has no parent"))?;
        std::fs::create_dir_all(dir)?;
        let tmp_dir = self.root.join("tmp");
        std::fs::create_dir_all(&tmp_dir)?;
        let tmp = tmp_dir.join(uuid::Uuid::new_v4().to_string());
        let result = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        })();
        if let Err(e) = result {
            let _ = std::fs::remove_file(&tmp);
            return Err(OpError::internal(format!("could not store sidecar blob: {e}")));
        }
        let mut created = self.created.lock().unwrap_or_else(|p| p.into_inner());
        created.entry(std::thread::current().id()).or_default().push(path);
        Ok(hash)
    }

    /// Reads a blob and checks it against its hash.
    fn get(&self, conn: &Connection, hash: &str) -> OpResult<Vec<u8>> {
        let inline: Option<Vec<u8>> = conn
            .prepare_cached("SELECT data FROM sidecar_blobs WHERE hash = ?1")?
            .query_row([hash], |r| r.get(0))
            .optional()?;
        let data = match inline {
            Some(d) => d,
            None => std::fs::read(self.blob_path(hash)).map_err(|e| {
                OpError::internal(format!(
                    "sidecar blob {hash} is missing from the store ({e}); write the sidecar again"
                ))
            })?,
        };
        if blake3::hash(&data).to_hex().as_str() != hash {
            return Err(OpError::internal(format!(
                "sidecar blob {hash} is corrupt (hash mismatch); write the sidecar again"
            )));
        }
        Ok(data)
    }

    fn remove_if_unreferenced(&self, conn: &Connection, hash: &str) -> OpResult<()> {
        let refs: i64 = conn.query_row("SELECT COUNT(*) FROM sidecars WHERE hash = ?1", [hash], |r| r.get(0))?;
        if refs == 0 {
            conn.execute("DELETE FROM sidecar_blobs WHERE hash = ?1", [hash])?;
            match std::fs::remove_file(self.blob_path(hash)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(%hash, error = %e, "could not delete unreferenced sidecar blob")
                }
            }
        }
        Ok(())
    }

    /// Root folder of the store.
    /// Settles the blob files the current thread's transaction created:
    /// kept when it committed, removed when it rolled back. Called by
    /// `library::write_tx` while the transaction's write lock is still held
    /// (no other transaction can have come to reference them).
    pub fn settle(&self, committed: bool) {
        let mine = self.created.lock().unwrap_or_else(|p| p.into_inner()).remove(&std::thread::current().id());
        if committed {
            return;
        }
        for path in mine.into_iter().flatten() {
            if let Err(e) = std::fs::remove_file(&path) {
                tracing::warn!(path = %path.display(), error = %e, "could not remove a rolled-back sidecar blob");
            }
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Deletes blobs no sidecar refers to any more (their entries were
    /// removed by a rescan or with a location), inside the caller's write
    /// transaction so no concurrent write can start referring to one.
    /// Returns how many were deleted.
    pub fn collect_garbage(&self, conn: &Connection) -> OpResult<u64> {
        let mut deleted =
            conn.execute("DELETE FROM sidecar_blobs WHERE hash NOT IN (SELECT hash FROM sidecars)", [])? as u64;
        let Ok(shards) = std::fs::read_dir(self.root.join("blobs")) else { return Ok(deleted) };
        let mut referenced = conn.prepare_cached("SELECT 1 FROM sidecars WHERE hash = ?1 LIMIT 1")?;
        for shard in shards.flatten() {
            let Ok(blobs) = std::fs::read_dir(shard.path()) else { continue };
            for blob in blobs.flatten() {
                let name = blob.file_name();
                let Some(hash) = name.to_str() else { continue };
                if !referenced.exists([hash])? && std::fs::remove_file(blob.path()).is_ok() {
                    deleted += 1;
                }
            }
        }
        Ok(deleted)
    }
}

/// Whether a content type is text we index for search.
fn is_text(content_type: &str) -> bool {
    let ct = content_type.trim().to_ascii_lowercase();
    ct.starts_with("text/") || ct.starts_with("application/json") || ct.ends_with("+json")
}

/// Writes (or replaces) sidecar `name` of `namespace` on entry row `entry`,
/// inside the caller's write transaction.
pub fn write(
    conn: &Connection,
    store: &SidecarStore,
    entry: i64,
    namespace: &str,
    name: &str,
    content_type: &str,
    data: &[u8],
) -> OpResult<SidecarInfo> {
    names::validate_namespace(namespace)?;
    names::validate_name("sidecar name", name)?;
    if content_type.is_empty() || content_type.len() > 128 || content_type.chars().any(char::is_control) {
        return Err(OpError::invalid("content_type must be 1-128 printable characters, e.g. `text/plain`"));
    }
    if data.len() > MAX_SIDECAR_BYTES {
        return Err(OpError::exhausted(format!(
            "sidecar `{name}` is {} bytes, over the {MAX_SIDECAR_BYTES}-byte limit; split it",
            data.len()
        )));
    }
    let old: Option<String> = conn
        .query_row(
            "SELECT hash FROM sidecars WHERE entry_id = ?1 AND namespace = ?2 AND name = ?3",
            params![entry, namespace, name],
            |r| r.get(0),
        )
        .optional()?;
    let hash = store.put(conn, data)?;
    let created = now_ns();
    conn.prepare_cached(
        "INSERT INTO sidecars(entry_id, namespace, name, hash, size, content_type, created_ns) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(entry_id, namespace, name) DO UPDATE SET \
         hash = excluded.hash, size = excluded.size, content_type = excluded.content_type, created_ns = excluded.created_ns",
    )?
    .execute(params![entry, namespace, name, hash, data.len() as i64, content_type, created])?;

    let source = format!("sidecar:{namespace}/{name}");
    match std::str::from_utf8(data) {
        Ok(text) if is_text(content_type) => {
            let mut end = text.len().min(MAX_INDEXED_TEXT);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            conn.prepare_cached(
                "INSERT INTO search_docs(entry_id, source, body) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(entry_id, source) DO UPDATE SET body = excluded.body",
            )?
            .execute(params![entry, source, &text[..end]])?;
        }
        _ => {
            conn.execute("DELETE FROM search_docs WHERE entry_id = ?1 AND source = ?2", params![entry, source])?;
        }
    }
    if let Some(old) = old.filter(|o| *o != hash) {
        store.remove_if_unreferenced(conn, &old)?;
    }
    Ok(SidecarInfo {
        namespace: namespace.to_string(),
        name: name.to_string(),
        hash,
        size: data.len() as u64,
        content_type: content_type.to_string(),
        created_at: format_ns(created),
    })
}

/// Reads sidecar `name` of `namespace` on entry row `entry`.
pub fn read(
    conn: &Connection,
    store: &SidecarStore,
    entry: i64,
    namespace: &str,
    name: &str,
) -> OpResult<(SidecarInfo, Vec<u8>)> {
    names::validate_namespace(namespace)?;
    names::validate_name("sidecar name", name)?;
    let info = conn
        .query_row(
            "SELECT hash, size, content_type, created_ns FROM sidecars WHERE entry_id = ?1 AND namespace = ?2 AND name = ?3",
            params![entry, namespace, name],
            |r| {
                Ok(SidecarInfo {
                    namespace: namespace.to_string(),
                    name: name.to_string(),
                    hash: r.get(0)?,
                    size: r.get::<_, i64>(1)?.max(0) as u64,
                    content_type: r.get(2)?,
                    created_at: format_ns(r.get(3)?),
                })
            },
        )
        .optional()?
        .ok_or_else(|| {
            OpError::not_found(format!("entry has no sidecar `{name}` in namespace `{namespace}`; see `sd entry show`"))
        })?;
    let data = store.get(conn, &info.hash)?;
    Ok((info, data))
}
