//! The indexer: walks a location in parallel, hashes new and changed files on
//! all cores, and writes the differences in batched transactions.
//!
//! Incremental by design: a file whose size and modification time are
//! unchanged is not read again; a file that vanished from one path and
//! appeared with the same hash at another keeps its entry (and its metadata
//! and sidecars). Each batch commits on its own, so a crash leaves a
//! consistent database that the next scan completes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use ignore::{WalkBuilder, WalkState};
use rayon::prelude::*;
use rusqlite::{Connection, OptionalExtension, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entry::{KIND_DIR, KIND_FILE, KIND_SYMLINK};
use super::{format_ns, now_ns, to_ns};
use crate::error::{OpError, OpResult};
use crate::library::{Library, write_tx};

/// Files hashed and written per transaction. Each commit rewrites every
/// page it touched (the entries table, its indexes, the name index), so
/// larger batches write far less; a crash loses at most one batch of work.
const BATCH: usize = 4096;
/// Page cache of the scanning connection, in KiB (SQLite's default is 2 MiB):
/// index pages of a big location stay in memory across batches instead of
/// being read back for every insert. Bounded, whatever the tree's size, and
/// freed with the scan's own connection.
const SCAN_CACHE_KIB: i64 = 64 * 1024;
/// Warnings kept in a report; the rest are only counted.
const MAX_WARNINGS: usize = 100;

/// A location: a real folder indexed into the library.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Location {
    /// Location id.
    pub id: Uuid,
    /// Absolute, canonical path of the folder.
    pub path: String,
    /// Whether symbolic links are followed.
    pub follow_links: bool,
    /// When it was added.
    pub created_at: String,
    /// When the last scan finished, if one did.
    pub last_scan_completed_at: Option<String>,
    /// Whether a scan started and has not finished (it was interrupted).
    pub scan_incomplete: bool,
    /// Entries indexed from it.
    pub entries: u64,
}

/// What a scan did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScanReport {
    /// The location scanned.
    pub location_id: Uuid,
    /// Entries created.
    pub added: u64,
    /// Files whose content changed.
    pub modified: u64,
    /// Files found at a new path with a known hash (entry kept).
    pub moved: u64,
    /// Entries whose file or folder disappeared.
    pub deleted: u64,
    /// Entries unchanged since the last scan.
    pub unchanged: u64,
    /// Files read and hashed.
    pub files_hashed: u64,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
    /// Problems that did not stop the scan (unreadable files, symlink loops).
    pub warnings: Vec<String>,
    /// Number of warnings, including those not listed.
    pub warning_count: u64,
    /// Wall-clock time of the scan.
    pub duration_ms: u64,
}

impl ScanReport {
    fn warn(&mut self, w: String) {
        self.warning_count += 1;
        if self.warnings.len() < MAX_WARNINGS {
            tracing::warn!("{w}");
            self.warnings.push(w);
        }
    }
}

/// Watches a scan: progress, a hook after each committed batch (for
/// checkpoints), and a stop flag checked between batches.
pub trait ScanObserver: Sync {
    /// Progress: phase, units done, units in all.
    fn progress(&self, phase: &str, done: u64, total: Option<u64>);
    /// A batch was committed; `report` holds the counts so far.
    fn batch_committed(&self, _report: &ScanReport) {}
    /// Whether to stop at the next batch boundary.
    fn should_stop(&self) -> bool {
        false
    }
}

fn row_to_location(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Location)> {
    let uuid: String = r.get(1)?;
    let started: Option<i64> = r.get(5)?;
    let completed: Option<i64> = r.get(6)?;
    Ok((
        r.get(0)?,
        Location {
            id: uuid
                .parse()
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, Box::new(e)))?,
            path: r.get(2)?,
            follow_links: r.get(3)?,
            created_at: format_ns(r.get(4)?),
            last_scan_completed_at: completed.map(format_ns),
            scan_incomplete: matches!((started, completed), (Some(s), c) if c.is_none_or(|c| c < s)),
            entries: r.get::<_, i64>(7)?.max(0) as u64,
        },
    ))
}

const LOCATION_SQL: &str = "SELECT l.id, l.uuid, l.path, l.follow_links, l.created_at, l.last_scan_started_at, \
     l.last_scan_completed_at, (SELECT COUNT(*) FROM entries e WHERE e.location_id = l.id) FROM locations l";

/// All locations.
pub fn list_locations(conn: &Connection) -> OpResult<Vec<Location>> {
    let mut stmt = conn.prepare(&format!("{LOCATION_SQL} ORDER BY l.path"))?;
    let rows = stmt.query_map([], row_to_location)?;
    Ok(rows.map(|r| r.map(|(_, l)| l)).collect::<Result<_, _>>()?)
}

/// Finds a location by id or by path; returns its row id and description.
pub fn find_location(conn: &Connection, id: Option<Uuid>, path: Option<&str>) -> OpResult<(i64, Location)> {
    let found = match (id, path) {
        (Some(id), _) => conn
            .query_row(&format!("{LOCATION_SQL} WHERE l.uuid = ?1"), [id.to_string()], row_to_location)
            .optional()?,
        (None, Some(path)) => {
            let canon = std::fs::canonicalize(path).map(|p| p.display().to_string()).unwrap_or(path.to_string());
            conn.query_row(&format!("{LOCATION_SQL} WHERE l.path = ?1"), [canon], row_to_location).optional()?
        }
        (None, None) => return Err(OpError::invalid("name a location by `id` or by `path`")),
    };
    found.ok_or_else(|| OpError::not_found("no such location in this library; run `sd location list`"))
}

/// The location with this row id.
pub fn find_location_by_row(conn: &Connection, row: i64) -> OpResult<(i64, Location)> {
    conn.query_row(&format!("{LOCATION_SQL} WHERE l.id = ?1"), [row], row_to_location)
        .optional()?
        .ok_or_else(|| OpError::not_found("the location was removed"))
}

/// Registers `path` as a location (with its root entry) and returns its row id.
pub fn add_location(conn: &mut Connection, path: &Path, follow_links: bool) -> OpResult<(i64, Location)> {
    let canon =
        std::fs::canonicalize(path).map_err(|e| OpError::not_found(format!("cannot open {}: {e}", path.display())))?;
    if !canon.is_dir() {
        return Err(OpError::invalid(format!("{} is not a folder; a location must be a folder", canon.display())));
    }
    let canon_str = canon
        .to_str()
        .ok_or_else(|| OpError::invalid(format!("{} is not valid UTF-8; rename the folder", canon.display())))?
        .to_string();
    let name = canon.file_name().and_then(|n| n.to_str()).unwrap_or("/").to_string();
    let meta = std::fs::metadata(&canon)?;
    write_tx(conn, |tx| {
        let exists: Option<String> =
            tx.query_row("SELECT uuid FROM locations WHERE path = ?1", [&canon_str], |r| r.get(0)).optional()?;
        if let Some(id) = exists {
            return Err(OpError::conflict(format!(
                "{canon_str} is already location {id}; run `sd location rescan {id}` to update it"
            )));
        }
        let now = now_ns();
        tx.execute(
            "INSERT INTO locations(uuid, path, follow_links, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![Uuid::new_v4().to_string(), canon_str, follow_links, now],
        )?;
        let loc = tx.last_insert_rowid();
        tx.execute(
            "INSERT INTO entries(uuid, location_id, rel_path, name, kind, size, modified_ns, indexed_ns, owner) \
             VALUES (?1, ?2, '', ?3, 'dir', 0, ?4, ?5, 'core')",
            params![Uuid::new_v4().to_string(), loc, name, meta.modified().ok().map(to_ns), now],
        )?;
        Ok(())
    })?;
    find_location(conn, None, Some(&canon_str))
}

/// One thing the walk found.
struct Found {
    rel: String,
    kind: &'static str,
    size: i64,
    modified: Option<i64>,
    created: Option<i64>,
}

/// What the database holds for one path of the location.
struct Existing {
    id: i64,
    /// One of the `KIND_*` a disk entry has (see [`disk_kind`]).
    kind: &'static str,
    size: i64,
    modified: Option<i64>,
    /// Whether the file was hashed (a scan stopped midway leaves some not).
    hashed: bool,
    /// Found on disk by this scan.
    seen: bool,
}

/// Maps keyed by paths and ids of one scan: foldhash instead of SipHash,
/// which was a tenth of an unchanged rescan. Its seeds are random per
/// process, so file names cannot be chosen to collide.
type FoldMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
type FoldSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// The location's stored entries by path (the root under `""`).
fn read_existing(conn: &Connection, location: i64) -> OpResult<FoldMap<String, Existing>> {
    let mut stmt = conn.prepare(
        "SELECT id, rel_path, kind, size, modified_ns, content_hash IS NOT NULL FROM entries WHERE location_id = ?1",
    )?;
    let mut rows = stmt.query([location])?;
    let mut existing = FoldMap::default();
    while let Some(r) = rows.next()? {
        let ex = Existing {
            id: r.get(0)?,
            kind: disk_kind(r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?),
            size: r.get(3)?,
            modified: r.get(4)?,
            hashed: r.get(5)?,
            seen: false,
        };
        existing.insert(r.get(1)?, ex);
    }
    Ok(existing)
}

fn parent_rel(rel: &str) -> &str {
    rel.rsplit_once('/').map_or("", |(p, _)| p)
}

fn file_name(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(_, n)| n)
}

/// Walks `root` in parallel. Errors become warnings.
fn walk(root: &Path, follow_links: bool, observer: &dyn ScanObserver) -> (Vec<Found>, Vec<String>) {
    if !follow_links {
        return walk_physical(root, observer);
    }
    let found = Mutex::new(Vec::new());
    let warnings = Mutex::new(Vec::new());
    let count = AtomicU64::new(0);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    let walker =
        WalkBuilder::new(root).standard_filters(false).follow_links(follow_links).threads(threads).build_parallel();
    let push_warning = |w: String| {
        if let Ok(mut v) = warnings.lock() {
            v.push(w);
        }
    };
    walker.run(|| {
        Box::new(|res| {
            let dent = match res {
                Ok(d) => d,
                Err(e) => {
                    push_warning(format!("skipped: {e}"));
                    return WalkState::Continue;
                }
            };
            if dent.depth() == 0 {
                return WalkState::Continue;
            }
            let Ok(rel) = dent.path().strip_prefix(root) else {
                return WalkState::Continue;
            };
            let Some(rel) = rel.to_str() else {
                push_warning(format!("skipped {}: name is not valid UTF-8", dent.path().display()));
                return WalkState::Skip;
            };
            let meta = match dent.metadata() {
                Ok(m) => m,
                Err(e) => {
                    push_warning(format!("skipped {}: {e}", dent.path().display()));
                    return WalkState::Continue;
                }
            };
            // Links are followed here: `meta` is the target's.
            let Some(f) = found_entry(rel.to_string(), &meta, false) else { return WalkState::Continue };
            if let Ok(mut v) = found.lock() {
                v.push(f);
            }
            let n = count.fetch_add(1, Ordering::Relaxed) + 1;
            if n.is_multiple_of(1000) {
                observer.progress("walking", n, None);
            }
            WalkState::Continue
        })
    });
    (found.into_inner().unwrap_or_default(), warnings.into_inner().unwrap_or_default())
}

/// What a walk records of one entry at `rel` (`link`: the entry is a link
/// not followed); `None` for sockets, FIFOs and devices, which are not
/// content.
fn found_entry(rel: String, meta: &std::fs::Metadata, link: bool) -> Option<Found> {
    let kind = if link {
        KIND_SYMLINK
    } else if meta.is_dir() {
        KIND_DIR
    } else if meta.is_file() {
        KIND_FILE
    } else {
        return None;
    };
    Some(Found {
        rel,
        kind,
        size: if kind == KIND_FILE { meta.len() as i64 } else { 0 },
        modified: meta.modified().ok().map(to_ns),
        created: meta.created().ok().map(to_ns),
    })
}

/// What [`walk_physical`]'s tasks share.
struct Walked<'a> {
    found: Mutex<Vec<Found>>,
    warnings: Mutex<Vec<String>>,
    count: AtomicU64,
    observer: &'a dyn ScanObserver,
}

/// [`walk`] without following links, one rayon task per folder. Written
/// here rather than with `ignore` (which the link-following walk keeps for
/// its loop detection) because `ignore` stats each entry by its full path,
/// so the kernel resolves every component again for every file: half of an
/// unchanged rescan. `std::fs::DirEntry::metadata` stats relative to the
/// open folder, as `find` does.
fn walk_physical(root: &Path, observer: &dyn ScanObserver) -> (Vec<Found>, Vec<String>) {
    let walked =
        Walked { found: Mutex::new(Vec::new()), warnings: Mutex::new(Vec::new()), count: AtomicU64::new(0), observer };
    rayon::scope(|scope| visit(scope, root.to_path_buf(), String::new(), &walked));
    (walked.found.into_inner().unwrap_or_default(), walked.warnings.into_inner().unwrap_or_default())
}

fn visit<'s>(scope: &rayon::Scope<'s>, dir: PathBuf, rel_dir: String, walked: &'s Walked<'s>) {
    let warn = |w: String| {
        if let Ok(mut v) = walked.warnings.lock() {
            v.push(w);
        }
    };
    let entries = match std::fs::read_dir(&dir) {
        Ok(r) => r,
        Err(e) => return warn(format!("skipped {}: {e}", dir.display())),
    };
    let mut here = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                warn(format!("skipped an entry of {}: {e}", dir.display()));
                continue;
            }
        };
        let name = entry.file_name();
        let Some(name) = name.to_str() else {
            warn(format!("skipped {}: name is not valid UTF-8", entry.path().display()));
            continue;
        };
        let rel = if rel_dir.is_empty() { name.to_string() } else { format!("{rel_dir}/{name}") };
        // Does not follow a link: a link is reported as itself.
        let meta = match entry.metadata() {
            Ok(m) => m,
            Err(e) => {
                warn(format!("skipped {}: {e}", entry.path().display()));
                continue;
            }
        };
        let Some(f) = found_entry(rel, &meta, meta.file_type().is_symlink()) else { continue };
        if f.kind == KIND_DIR {
            let (path, rel) = (entry.path(), f.rel.clone());
            scope.spawn(move |scope| visit(scope, path, rel, walked));
        }
        here.push(f);
    }
    let n = here.len() as u64;
    if let Ok(mut v) = walked.found.lock() {
        v.append(&mut here);
    }
    let before = walked.count.fetch_add(n, Ordering::Relaxed);
    if (before + n) / 1000 > before / 1000 {
        walked.observer.progress("walking", before + n, None);
    }
}

/// A file, its existing entry (if any) and the outcome of hashing it.
type Hashed<'a> = (&'a Found, Option<i64>, std::io::Result<(String, u64)>);

fn hash_file(path: &Path) -> std::io::Result<(String, u64)> {
    let file = std::fs::File::open(path)?;
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(file)?;
    Ok((hasher.finalize().to_hex().to_string(), hasher.count()))
}

/// The kind a stored entry has on disk: a file an operation gave a kind of
/// its own (say `receipt`) is still a file, so a rescan keeps it.
fn disk_kind(stored: &str) -> &'static str {
    match stored {
        KIND_DIR => KIND_DIR,
        KIND_SYMLINK => KIND_SYMLINK,
        _ => KIND_FILE,
    }
}

/// Where a scan's files go: the folder on disk, the location's row, its
/// root entry and the entry ids of its folders.
struct FilePlace<'a> {
    root: &'a Path,
    location: i64,
    root_id: i64,
    dir_ids: &'a FoldMap<&'a str, i64>,
}

/// Writes one hashed batch: changed files get their new hash, files found
/// under a hash that vanished elsewhere take over that entry (a move), the
/// rest are inserted. Returns the counts, the entries moved, and a warning
/// per file that could not be read.
fn write_hashed(
    tx: &rusqlite::Transaction<'_>,
    hashed: &[Hashed<'_>],
    place: &FilePlace<'_>,
    vanished_by_hash: &mut FoldMap<String, Vec<i64>>,
) -> OpResult<(ScanReport, Vec<i64>, Vec<String>)> {
    let mut stats = ScanReport::default();
    let mut warnings = Vec::new();
    let mut update = tx.prepare_cached(
        "UPDATE entries SET size = ?1, modified_ns = ?2, created_ns = ?3, content_hash = ?4, indexed_ns = ?5 \
         WHERE id = ?6",
    )?;
    let mut relocate = tx.prepare_cached(
        "UPDATE entries SET rel_path = ?1, name = ?2, parent_id = ?3, size = ?4, modified_ns = ?5, \
         created_ns = ?6, indexed_ns = ?7 WHERE id = ?8",
    )?;
    let now = now_ns();
    let mut moved_ids = Vec::new();
    let mut fresh: Vec<(&Found, i64, Option<&str>)> = Vec::new();
    for (f, existing_id, result) in hashed {
        let hash = match result {
            Ok((h, n)) => {
                stats.files_hashed += 1;
                stats.bytes_hashed += n;
                Some(h.as_str())
            }
            Err(e) => {
                warnings.push(format!("could not read {}: {e}", place.root.join(&f.rel).display()));
                None
            }
        };
        if let Some(id) = existing_id {
            update.execute(params![f.size, f.modified, f.created, hash, now, id])?;
            stats.modified += 1;
            continue;
        }
        let parent = place.dir_ids.get(parent_rel(&f.rel)).copied().unwrap_or(place.root_id);
        let moved_from = hash.and_then(|h| vanished_by_hash.get_mut(h)).and_then(Vec::pop);
        // The vanished entry may already be gone with a replaced folder;
        // then this is a plain addition.
        let relocated = match moved_from {
            Some(id) => {
                relocate.execute(params![f.rel, file_name(&f.rel), parent, f.size, f.modified, f.created, now, id])?
                    == 1
            }
            None => false,
        };
        if let (true, Some(id)) = (relocated, moved_from) {
            moved_ids.push(id);
            stats.moved += 1;
        } else {
            fresh.push((f, parent, hash));
        }
    }
    insert_files(tx, &fresh, place.location, now)?;
    stats.added += fresh.len() as u64;
    Ok((stats, moved_ids, warnings))
}

/// Rows per statement when inserting new files. Every statement that fires
/// triggers keeps a journal of the pages it changes, copying each page the
/// first time it touches it: one row per statement copied the same few pages
/// (the table's and each index's last) for every file.
const ROWS_PER_INSERT: usize = 64;

/// Inserts new files (each with its parent's entry id and its hash),
/// [`ROWS_PER_INSERT`] to a statement.
fn insert_files(
    tx: &rusqlite::Transaction<'_>,
    files: &[(&Found, i64, Option<&str>)],
    location: i64,
    now: i64,
) -> OpResult<()> {
    const COLUMNS: &str = "INSERT INTO entries(uuid, location_id, parent_id, rel_path, name, kind, size, created_ns, \
                           modified_ns, indexed_ns, content_hash, owner) VALUES ";
    const ROW: &str = "(?, ?, ?, ?, ?, 'file', ?, ?, ?, ?, ?, 'core')";
    /// The `?` in [`ROW`], bound below in their order.
    const PARAMS: usize = 10;
    let sql = |rows: usize| format!("{COLUMNS}{}", vec![ROW; rows].join(", "));
    let mut chunks = files.chunks_exact(ROWS_PER_INSERT);
    let mut many = tx.prepare_cached(&sql(ROWS_PER_INSERT))?;
    let mut one = tx.prepare_cached(&sql(1))?;
    let bind = |stmt: &mut rusqlite::CachedStatement<'_>, rows: &[(&Found, i64, Option<&str>)]| -> OpResult<()> {
        for (i, (f, parent, hash)) in rows.iter().enumerate() {
            let at = i * PARAMS;
            stmt.raw_bind_parameter(at + 1, Uuid::now_v7().to_string())?;
            stmt.raw_bind_parameter(at + 2, location)?;
            stmt.raw_bind_parameter(at + 3, parent)?;
            stmt.raw_bind_parameter(at + 4, &f.rel)?;
            stmt.raw_bind_parameter(at + 5, file_name(&f.rel))?;
            stmt.raw_bind_parameter(at + 6, f.size)?;
            stmt.raw_bind_parameter(at + 7, f.created)?;
            stmt.raw_bind_parameter(at + 8, f.modified)?;
            stmt.raw_bind_parameter(at + 9, now)?;
            stmt.raw_bind_parameter(at + 10, hash)?;
        }
        stmt.raw_execute()?;
        Ok(())
    };
    for rows in &mut chunks {
        bind(&mut many, rows)?;
    }
    for row in chunks.remainder() {
        bind(&mut one, std::slice::from_ref(row))?;
    }
    Ok(())
}

/// Inserts new folders and links, parents before children, recording each
/// folder's entry id in `dir_ids` for the files below it. Returns how many
/// were added.
fn write_folders<'a>(
    conn: &mut Connection,
    new: &mut [&'a Found],
    location: i64,
    dir_ids: &mut FoldMap<&'a str, i64>,
) -> OpResult<u64> {
    new.sort_by_key(|f| (f.rel.matches('/').count(), f.rel.as_str()));
    let root_id = dir_ids.get("").copied().ok_or_else(|| OpError::internal("scan lost its root entry"))?;
    let now = now_ns();
    for chunk in new.chunks(BATCH) {
        write_tx(conn, |tx| {
            let mut ins = tx.prepare_cached(
                "INSERT INTO entries(uuid, location_id, parent_id, rel_path, name, kind, size, created_ns, modified_ns, \
                 indexed_ns, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, 'core')",
            )?;
            for f in chunk {
                let parent = dir_ids.get(parent_rel(&f.rel)).copied().unwrap_or(root_id);
                ins.execute(params![
                    Uuid::now_v7().to_string(),
                    location,
                    parent,
                    f.rel,
                    file_name(&f.rel),
                    f.kind,
                    f.created,
                    f.modified,
                    now
                ])?;
                if f.kind == KIND_DIR {
                    dir_ids.insert(&f.rel, tx.last_insert_rowid());
                }
            }
            Ok(())
        })?;
    }
    Ok(new.len() as u64)
}

/// Scans location row `location` of `library`, bringing its entries in line
/// with the disk. Runs on the calling (blocking) thread and uses rayon for
/// hashing. Returns `None` when the observer asked it to stop; what was
/// committed stays, and the next scan goes on from there.
pub fn scan(library: &Library, location: i64, observer: &dyn ScanObserver) -> OpResult<Option<ScanReport>> {
    let started = Instant::now();
    let mut conn = library.dedicated_connection()?;
    conn.pragma_update(None, "cache_size", -SCAN_CACHE_KIB)?;
    let (root, follow_links, loc_uuid): (String, bool, String) = conn
        .query_row("SELECT path, follow_links, uuid FROM locations WHERE id = ?1", [location], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?
        .ok_or_else(|| OpError::not_found("location vanished during the scan"))?;
    let mut report = ScanReport {
        location_id: loc_uuid.parse().map_err(|e| OpError::internal(format!("bad location id: {e}")))?,
        ..Default::default()
    };
    let root = PathBuf::from(root);
    if !root.is_dir() {
        return Err(OpError::unavailable(format!(
            "location folder {} is not reachable; reconnect the drive or remove the location",
            root.display()
        )));
    }
    conn.execute("UPDATE locations SET last_scan_started_at = ?1 WHERE id = ?2", params![now_ns(), location])?;

    // The walk (system calls on every core) and reading what the database
    // holds for the location (SQLite on this connection) overlap.
    observer.progress("walking", 0, None);
    let (walked, stored) = std::thread::scope(|scope| {
        let walker = scope.spawn(|| walk(&root, follow_links, observer));
        let stored = read_existing(&conn, location);
        (walker.join(), stored)
    });
    let (found, walk_warnings) = walked.map_err(|_| OpError::internal("the folder walk panicked"))?;
    let mut existing = stored?;
    for w in walk_warnings {
        report.warn(w);
    }
    observer.progress("walking", found.len() as u64, Some(found.len() as u64));
    if observer.should_stop() {
        return Ok(None);
    }
    let root_id = existing.remove("").map(|ex| ex.id).ok_or_else(|| OpError::internal("location has no root entry"))?;

    // Classify.
    let mut dir_ids: FoldMap<&str, i64> = FoldMap::from_iter([("", root_id)]);
    let mut new_non_files: Vec<&Found> = Vec::new();
    let mut to_hash: Vec<(&Found, Option<i64>)> = Vec::new();
    let mut replaced: Vec<i64> = Vec::new();
    for f in &found {
        match existing.get_mut(f.rel.as_str()) {
            Some(ex) if ex.kind == f.kind => {
                ex.seen = true;
                if f.kind == KIND_DIR {
                    dir_ids.insert(&f.rel, ex.id);
                }
                if f.kind == KIND_FILE && (ex.size != f.size || ex.modified != f.modified || !ex.hashed) {
                    to_hash.push((f, Some(ex.id)));
                } else {
                    report.unchanged += 1;
                }
            }
            other => {
                if let Some(ex) = other {
                    // Same path, different kind: the old entry goes.
                    ex.seen = true;
                    replaced.push(ex.id);
                }
                if f.kind == KIND_FILE {
                    to_hash.push((f, None));
                } else {
                    new_non_files.push(f);
                }
            }
        }
    }
    let mut missing: FoldSet<i64> = existing.values().filter(|ex| !ex.seen).map(|ex| ex.id).collect();
    // Hashes of vanished files, for move detection: needed only when there
    // are new files to match them with.
    let vanished: Vec<i64> =
        existing.values().filter(|ex| !ex.seen && ex.hashed && ex.kind == KIND_FILE).map(|ex| ex.id).collect();
    let mut vanished_by_hash: FoldMap<String, Vec<i64>> = FoldMap::default();
    if !vanished.is_empty() && to_hash.iter().any(|(_, id)| id.is_none()) {
        let mut stmt = conn.prepare_cached("SELECT content_hash FROM entries WHERE id = ?1")?;
        for id in vanished {
            if let Some(h) = stmt.query_row([id], |r| r.get::<_, Option<String>>(0)).optional()?.flatten() {
                vanished_by_hash.entry(h).or_default().push(id);
            }
        }
    }
    drop(existing);

    if !replaced.is_empty() {
        write_tx(&mut conn, |tx| {
            let mut del = tx.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
            for id in &replaced {
                del.execute([id])?;
            }
            Ok(())
        })?;
        report.deleted += replaced.len() as u64;
    }

    // Files: hash a batch on all cores, then write it in one transaction.
    // Folders are written first (files name them as parents), while the
    // first batches are hashed. In path order, each batch adds to one end of the path index and to
    // the same few folders' rows, instead of to pages all over the file:
    // fewer pages to write back per commit.
    to_hash.sort_unstable_by(|a, b| a.0.rel.cmp(&b.0.rel));
    let total = to_hash.len() as u64;
    let mut done = 0u64;
    observer.progress("hashing", 0, Some(total));
    // Hashing runs one batch ahead of the database: while batch k is
    // written here, batch k + 1 is hashed on the other cores, so the writes
    // hide behind the reads instead of adding to them.
    let stopped = std::thread::scope(|scope| -> OpResult<bool> {
        let (ahead, hashed_batches) = std::sync::mpsc::sync_channel::<Vec<Hashed<'_>>>(1);
        let (to_hash, root) = (&to_hash, &root);
        scope.spawn(move || {
            for chunk in to_hash.chunks(BATCH) {
                let hashed: Vec<Hashed<'_>> =
                    chunk.par_iter().map(|(f, id)| (*f, *id, hash_file(&root.join(&f.rel)))).collect();
                if ahead.send(hashed).is_err() {
                    break; // the writer stopped
                }
            }
        });
        report.added += write_folders(&mut conn, &mut new_non_files, location, &mut dir_ids)?;
        for hashed in hashed_batches {
            if observer.should_stop() {
                return Ok(true);
            }
            let (stats, moved_ids, batch_warnings) = write_tx(&mut conn, |tx| {
                write_hashed(
                    tx,
                    &hashed,
                    &FilePlace { root, location, root_id, dir_ids: &dir_ids },
                    &mut vanished_by_hash,
                )
            })?;
            for id in moved_ids {
                missing.remove(&id);
            }
            for w in batch_warnings {
                report.warn(w);
            }
            report.added += stats.added;
            report.modified += stats.modified;
            report.moved += stats.moved;
            report.files_hashed += stats.files_hashed;
            report.bytes_hashed += stats.bytes_hashed;
            done += hashed.len() as u64;
            library.checkpoint_soon();
            observer.progress("hashing", done, Some(total));
            observer.batch_committed(&report);
        }
        Ok(false)
    })?;
    if stopped || observer.should_stop() {
        return Ok(None);
    }

    // What vanished. Deleting a folder deletes its children by cascade, so
    // some deletes below find nothing; every vanished id is gone either way.
    let gone: Vec<i64> = missing.into_iter().collect();
    for chunk in gone.chunks(BATCH) {
        write_tx(&mut conn, |tx| {
            let mut del = tx.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
            for id in chunk {
                del.execute([id])?;
            }
            Ok(())
        })?;
    }
    report.deleted += gone.len() as u64;
    if !gone.is_empty() || !replaced.is_empty() {
        // Sidecars of deleted entries went with them; so do their blobs.
        let store = library.sidecars();
        write_tx(&mut conn, |tx| store.collect_garbage(tx))?;
    }

    conn.execute("UPDATE locations SET last_scan_completed_at = ?1 WHERE id = ?2", params![now_ns(), location])?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    observer.progress("done", total, Some(total));
    Ok(Some(report))
}
