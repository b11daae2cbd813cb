//! The indexer: walks a location in parallel, hashes new and changed files on
//! all cores, and writes the differences in batched transactions.
//!
//! Incremental by design: a file whose size and modification time are
//! unchanged is not read again; a file that vanished from one path and
//! appeared with the same hash at another keeps its entry (and its metadata
//! and sidecars). Each batch commits on its own, so a crash leaves a
//! consistent database that the next scan completes.

mod walk;

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{TryRecvError, sync_channel};
use std::time::Instant;

use rayon::prelude::*;
use rusqlite::{Connection, OptionalExtension, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::entry::{KIND_DIR, KIND_FILE, KIND_SYMLINK};
use super::file::Root;
use super::names::shown;
use super::{format_ns, now_ns, to_ns};
use crate::error::{OpError, OpResult};
use crate::library::{Library, write_tx};
use walk::{Found, Listing};

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
    /// Progress: phase, folders compared, folders listed so far (the walk
    /// runs only a little ahead, so this grows as it goes).
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

/// Registers `path` as a location (with its root entry) and returns its row
/// id. `..`, links and a relative path are resolved first; `allow` then
/// decides on the folder that resolves to (the caller's grants, never the
/// data dir).
pub fn add_location(
    conn: &mut Connection,
    path: &Path,
    follow_links: bool,
    allow: &dyn Fn(&Path) -> OpResult<()>,
) -> OpResult<(i64, Location)> {
    let canon =
        std::fs::canonicalize(path).map_err(|e| OpError::not_found(format!("cannot open {}: {e}", shown(path))))?;
    if !canon.is_dir() {
        return Err(OpError::invalid(format!("{} is not a folder; a location must be a folder", shown(&canon))));
    }
    let canon_str = canon
        .to_str()
        .ok_or_else(|| OpError::invalid(format!("{} is not valid UTF-8; rename the folder", shown(&canon))))?
        .to_string();
    allow(&canon)?;
    // The folder the check passed is the one stored: nothing on its path
    // became a link since it was resolved.
    Root::open(&canon_str).map_err(|e| root_error(&canon_str, e))?;
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

/// What the database holds for one entry of a folder.
struct Existing {
    id: i64,
    /// One of the `KIND_*` a disk entry has (see [`disk_kind`]).
    kind: &'static str,
    size: i64,
    modified: Option<i64>,
    /// Whether the file was hashed (a scan stopped midway leaves some not).
    hashed: bool,
}

/// Maps keyed by names of one folder: foldhash instead of SipHash, which
/// was a tenth of an unchanged rescan. Its seeds are random per process, so
/// file names cannot be chosen to collide.
type FoldMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// The stored entries directly in folder entry `folder`, by name.
fn read_children(conn: &Connection, location: i64, folder: i64) -> OpResult<FoldMap<String, Existing>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, kind, size, modified_ns, content_hash IS NOT NULL FROM entries \
         WHERE parent_id = ?1 AND location_id = ?2",
    )?;
    let mut rows = stmt.query([folder, location])?;
    let mut children = FoldMap::default();
    while let Some(r) = rows.next()? {
        let ex = Existing {
            id: r.get(0)?,
            kind: disk_kind(r.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?),
            size: r.get(3)?,
            modified: r.get(4)?,
            hashed: r.get(5)?,
        };
        children.insert(r.get(1)?, ex);
    }
    Ok(children)
}

fn file_name(rel: &str) -> &str {
    rel.rsplit_once('/').map_or(rel, |(_, n)| n)
}

/// A file to hash: new (no entry yet) or changed.
struct ToHash {
    found: Found,
    existing: Option<i64>,
    /// The entry id of its folder.
    parent: i64,
}

/// A file and the outcome of hashing it.
type Hashed = (ToHash, std::io::Result<(String, u64)>);

/// Why a location's folder cannot be opened, for people.
fn root_error(root: &str, e: std::io::Error) -> OpError {
    match rustix::io::Errno::from_io_error(&e) {
        Some(rustix::io::Errno::LOOP) => OpError::unavailable(format!(
            "{} is now a symbolic link or reached through one, and a location's folder is never followed through a link; remove the location and add the real folder",
            shown(Path::new(root))
        )),
        _ => OpError::unavailable(format!(
            "location folder {} is not reachable ({e}); reconnect the drive or remove the location",
            shown(Path::new(root))
        )),
    }
}

/// Hashes the file at `rel`: below `root` with no link on the way, or,
/// where the location follows links, by its path. Anything but a regular
/// file (a FIFO or device swapped in since the walk) is refused unread.
fn hash_file(root: &Root, path: &Path, rel: &str, follow_links: bool) -> std::io::Result<(String, u64)> {
    let file = match follow_links {
        true => super::file::open_following(path)?,
        false => root.open_file(rel)?,
    };
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("no longer a regular file"));
    }
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

/// A folder the walk has listed but the scan has not yet compared.
#[derive(Clone, Copy)]
struct Waiting {
    id: i64,
    /// Added by this scan: nothing is stored below it yet.
    new: bool,
}

/// A stored entry this scan did not find on disk. Deleted when the scan
/// ends, after files added elsewhere with its content took its entry over.
struct Vanished {
    id: i64,
    rel: String,
    dir: bool,
}

/// What a scan keeps between folders: bounded by the folders listed but
/// not yet compared, the files waiting to be hashed, and what vanished,
/// never by the size of the tree.
struct Comparison<'a> {
    location: i64,
    waiting: FoldMap<String, Waiting>,
    to_hash: Vec<ToHash>,
    vanished: Vec<Vanished>,
    folders_done: u64,
    report: &'a mut ScanReport,
    now: i64,
}

impl Comparison<'_> {
    /// Compares one folder's listing with what is stored: changed and new
    /// files queue for hashing, new folders and links are inserted (their
    /// folders' ids are needed below), entries whose kind changed are
    /// replaced, and what is gone is noted.
    fn compare(&mut self, tx: &rusqlite::Transaction<'_>, listing: Listing) -> OpResult<()> {
        for w in listing.warnings {
            self.report.warn(w);
        }
        let Some(folder) = self.waiting.remove(&listing.rel) else {
            return Err(OpError::internal(format!("the walk listed {:?} before its folder", listing.rel)));
        };
        self.folders_done += 1;
        // Unreadable: what is stored of it stays until it can be read.
        let Some(found) = listing.entries else { return Ok(()) };
        let mut stored = if folder.new { FoldMap::default() } else { read_children(tx, self.location, folder.id)? };
        let mut insert = tx.prepare_cached(
            "INSERT INTO entries(uuid, location_id, parent_id, rel_path, name, kind, size, created_ns, modified_ns, \
             indexed_ns, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7, ?8, ?9, 'core')",
        )?;
        // What the listing holds is taken out of `stored`: what is left there
        // has vanished.
        for f in found {
            match stored.remove(file_name(&f.rel)) {
                Some(ex) if ex.kind == f.kind => {
                    if f.kind == KIND_DIR {
                        self.waiting.insert(f.rel, Waiting { id: ex.id, new: false });
                        self.report.unchanged += 1;
                    } else if f.kind == KIND_FILE && (ex.size != f.size || ex.modified != f.modified || !ex.hashed) {
                        self.to_hash.push(ToHash { found: f, existing: Some(ex.id), parent: folder.id });
                    } else {
                        self.report.unchanged += 1;
                    }
                }
                other => {
                    if let Some(ex) = other {
                        // Same path, different kind: the old entry goes.
                        tx.prepare_cached("DELETE FROM entries WHERE id = ?1")?.execute([ex.id])?;
                        self.report.deleted += 1;
                    }
                    if f.kind == KIND_FILE {
                        self.to_hash.push(ToHash { found: f, existing: None, parent: folder.id });
                        continue;
                    }
                    insert.execute(params![
                        Uuid::now_v7().to_string(),
                        self.location,
                        folder.id,
                        f.rel,
                        file_name(&f.rel),
                        f.kind,
                        f.created,
                        f.modified,
                        self.now
                    ])?;
                    self.report.added += 1;
                    if f.kind == KIND_DIR {
                        self.waiting.insert(f.rel, Waiting { id: tx.last_insert_rowid(), new: true });
                    }
                }
            }
        }
        for (name, ex) in stored {
            let rel = if listing.rel.is_empty() { name } else { format!("{}/{name}", listing.rel) };
            self.vanished.push(Vanished { id: ex.id, rel, dir: ex.kind == KIND_DIR });
        }
        Ok(())
    }
}

/// Writes one hashed batch: changed files get their new hash, new files are
/// inserted. Returns the counts and a warning per file that could not be
/// read.
fn write_hashed(
    tx: &rusqlite::Transaction<'_>,
    hashed: &[Hashed],
    root: &Path,
    location: i64,
) -> OpResult<(ScanReport, Vec<String>)> {
    let mut stats = ScanReport::default();
    let mut warnings = Vec::new();
    let mut update = tx.prepare_cached(
        "UPDATE entries SET size = ?1, modified_ns = ?2, created_ns = ?3, content_hash = ?4, indexed_ns = ?5 \
         WHERE id = ?6",
    )?;
    let now = now_ns();
    let mut fresh: Vec<(&Found, i64, Option<&str>)> = Vec::new();
    for (file, result) in hashed {
        let f = &file.found;
        let hash = match result {
            Ok((h, n)) => {
                stats.files_hashed += 1;
                stats.bytes_hashed += n;
                Some(h.as_str())
            }
            Err(e) => {
                warnings.push(format!("could not read {}: {e}", root.join(&f.rel).display()));
                None
            }
        };
        match file.existing {
            Some(id) => {
                update.execute(params![f.size, f.modified, f.created, hash, now, id])?;
                stats.modified += 1;
            }
            None => fresh.push((f, file.parent, hash)),
        }
    }
    insert_files(tx, &fresh, location, now)?;
    stats.added += fresh.len() as u64;
    Ok((stats, warnings))
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

/// Ids of the entries a scan may take for the new paths of moved files.
#[derive(Clone, Copy)]
struct Added {
    /// The lowest id an entry added since the last completed scan can have:
    /// a scan that stopped, failed or was killed may have added the new
    /// path of a file whose old one only this scan finds gone.
    since: i64,
    /// The lowest id an entry this scan adds can have (counted in its
    /// report as added). This scan saw those files; an earlier scan's may
    /// have moved or gone since, so they count only while still on disk.
    by_this_scan: i64,
}

/// Settles what vanished, once the walk is done: a vanished file, or one
/// below a vanished folder, whose content a file added since the last
/// completed scan has, keeps its entry (and its metadata and sidecars) at
/// the new path, in place of the added one; then the rest is deleted.
fn settle_vanished(
    conn: &mut Connection,
    library: &Library,
    (location, root): (i64, &Path),
    vanished: &[Vanished],
    added: Added,
    report: &mut ScanReport,
) -> OpResult<()> {
    if vanished.is_empty() {
        return Ok(());
    }
    for chunk in vanished.chunks(64) {
        write_tx(conn, |tx| {
            // Hashed files: the vanished file itself, or every one below a
            // vanished folder (by path, in `entries_listing`).
            let mut file = tx.prepare_cached(
                "SELECT id, content_hash FROM entries WHERE id = ?1 AND content_hash IS NOT NULL \
                 AND kind NOT IN ('dir', 'symlink')",
            )?;
            let mut files_below = tx.prepare_cached(
                "SELECT id, content_hash FROM entries WHERE location_id = ?1 AND rel_path > ?2 || '/' \
                 AND rel_path < ?2 || '0' AND content_hash IS NOT NULL AND kind NOT IN ('dir', 'symlink')",
            )?;
            // Newest first: this scan's own before an earlier one's.
            let mut added_files = tx.prepare_cached(
                "SELECT id, rel_path, name, parent_id, size, modified_ns, created_ns FROM entries \
                 WHERE content_hash = ?1 AND location_id = ?2 AND id >= ?3 ORDER BY id DESC",
            )?;
            let mut drop_added = tx.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
            let mut take_over = tx.prepare_cached(
                "UPDATE entries SET rel_path = ?1, name = ?2, parent_id = ?3, size = ?4, modified_ns = ?5, \
                 created_ns = ?6, indexed_ns = ?7 WHERE id = ?8",
            )?;
            let now = now_ns();
            let mut taken_over = Vec::new();
            for v in chunk {
                let row = |r: &rusqlite::Row<'_>| Ok((r.get(0)?, r.get(1)?));
                let candidates: Vec<(i64, String)> = if v.dir {
                    files_below.query_map(params![location, v.rel], row)?.collect::<Result<_, _>>()?
                } else {
                    file.query_map([v.id], row)?.collect::<Result<_, _>>()?
                };
                for (old, hash) in candidates {
                    type NewPath = (i64, String, String, i64, i64, Option<i64>, Option<i64>);
                    let found: Option<NewPath> = added_files
                        .query_map(params![hash, location, added.since], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?))
                        })?
                        .find(|row| {
                            row.as_ref().map_or(true, |(id, rel, ..): &NewPath| {
                                *id >= added.by_this_scan
                                    || std::fs::symlink_metadata(root.join(rel)).is_ok_and(|m| m.is_file())
                            })
                        })
                        .transpose()?;
                    let Some((new, rel, name, parent, size, modified, created)) = found else { continue };
                    drop_added.execute([new])?;
                    take_over.execute(params![rel, name, parent, size, modified, created, now, old])?;
                    taken_over.push(old);
                    if new >= added.by_this_scan {
                        report.added = report.added.saturating_sub(1);
                    }
                    report.moved += 1;
                }
            }
            // Then the vanished go, folders with what is left below them.
            let mut below = tx.prepare_cached(
                "SELECT COUNT(*) FROM entries WHERE location_id = ?1 AND rel_path > ?2 || '/' AND rel_path < ?2 || '0'",
            )?;
            let mut delete = tx.prepare_cached("DELETE FROM entries WHERE id = ?1")?;
            for v in chunk.iter().filter(|v| !taken_over.contains(&v.id)) {
                let under: i64 = if v.dir { below.query_row(params![location, v.rel], |r| r.get(0))? } else { 0 };
                if delete.execute([v.id])? == 1 {
                    report.deleted += 1 + under.max(0) as u64;
                }
            }
            Ok(())
        })?;
    }
    // Sidecars of deleted entries went with them; so do their blobs.
    let store = library.sidecars();
    write_tx(conn, |tx| store.collect_garbage(tx))?;
    Ok(())
}

/// Listings the walk may run ahead of the scan.
const LISTINGS_AHEAD: usize = 64;

/// Scans location row `location` of `library`, bringing its entries in line
/// with the disk. Runs on the calling (blocking) thread; the walk and the
/// hashing run on other threads, a folder and a batch ahead of the
/// database. Returns `None` when the observer asked it to stop; what was
/// committed stays, and the next scan goes on from there.
///
/// `never` is a folder no scan enters (the data dir): skipped, with a
/// warning, wherever it turns up below the location.
pub fn scan(
    library: &Library,
    location: i64,
    observer: &dyn ScanObserver,
    never: Option<&Path>,
) -> OpResult<Option<ScanReport>> {
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
    let opened_root = Root::open(&root).map_err(|e| root_error(&root, e))?;
    let root = PathBuf::from(root);
    let never = never.and_then(|n| std::fs::metadata(n).ok()).map(|m| (m.dev(), m.ino()));
    if let Some(never) = never
        && root.ancestors().filter_map(|a| std::fs::metadata(a).ok()).any(|m| (m.dev(), m.ino()) == never)
    {
        return Err(OpError::invalid(format!(
            "{} is Spacedrive's data folder or inside it, which is never indexed; remove this location",
            shown(&root)
        )));
    }
    let root_id: i64 = conn
        .query_row("SELECT id FROM entries WHERE location_id = ?1 AND rel_path = ''", [location], |r| r.get(0))
        .optional()?
        .ok_or_else(|| OpError::internal("location has no root entry"))?;
    // Entries this scan adds get ids above every id there is now; those a
    // scan that did not complete added lie between `added_since` (kept
    // until a scan completes) and here.
    let by_this_scan: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM entries", [], |r| r.get(0))?;
    let since: i64 = conn
        .query_row(
            "UPDATE locations SET last_scan_started_at = ?1, added_since = COALESCE(added_since, ?2) WHERE id = ?3 \
             RETURNING added_since",
            params![now_ns(), by_this_scan, location],
            |r| r.get(0),
        )
        .optional()?
        .ok_or_else(|| OpError::not_found("location vanished during the scan"))?;
    let added = Added { since, by_this_scan };
    observer.progress("indexing", 0, None);

    let mut comparison = Comparison {
        location,
        waiting: FoldMap::from_iter([(String::new(), Waiting { id: root_id, new: false })]),
        to_hash: Vec::new(),
        vanished: Vec::new(),
        folders_done: 0,
        report: &mut report,
        now: now_ns(),
    };
    let stopped = std::thread::scope(|scope| -> OpResult<bool> {
        let (listings_tx, listings) = sync_channel::<Listing>(LISTINGS_AHEAD);
        let root = &root;
        let opened_root = &opened_root;
        scope.spawn(move || walk::walk(root, opened_root, follow_links, never, listings_tx));
        // Hashing runs up to two batches ahead of the database: while one is
        // written here, the next is hashed on the other cores.
        let (batches_tx, batches) = sync_channel::<Vec<ToHash>>(1);
        let (hashed_tx, hashed) = sync_channel::<Vec<Hashed>>(1);
        scope.spawn(move || {
            for batch in batches {
                let out: Vec<Hashed> = batch
                    .into_par_iter()
                    .map(|file| {
                        let rel = &file.found.rel;
                        let result = hash_file(opened_root, &root.join(rel), rel, follow_links);
                        (file, result)
                    })
                    .collect();
                if hashed_tx.send(out).is_err() {
                    break; // the scan stopped
                }
            }
        });
        let mut in_flight = 0usize;
        let write_next = |conn: &mut Connection, comparison: &mut Comparison<'_>| -> OpResult<()> {
            let batch = hashed.recv().map_err(|_| OpError::internal("the hashing thread stopped"))?;
            let (stats, warnings) = write_tx(conn, |tx| write_hashed(tx, &batch, root, location))?;
            let report = &mut *comparison.report;
            for w in warnings {
                report.warn(w);
            }
            report.added += stats.added;
            report.modified += stats.modified;
            report.files_hashed += stats.files_hashed;
            report.bytes_hashed += stats.bytes_hashed;
            library.checkpoint_soon();
            observer.batch_committed(report);
            Ok(())
        };
        let mut walking = true;
        loop {
            if observer.should_stop() {
                return Ok(true);
            }
            if walking && comparison.to_hash.len() < BATCH {
                // Wait for the walk outside a transaction; then compare what
                // it has listed in one, up to a batch of entries.
                let Ok(first) = listings.recv() else {
                    walking = false;
                    continue;
                };
                write_tx(&mut conn, |tx| {
                    let mut next = Some(first);
                    let mut compared = 0;
                    while let Some(listing) = next.take() {
                        compared += listing.entries.as_ref().map_or(0, Vec::len);
                        comparison.compare(tx, listing)?;
                        if compared >= BATCH || comparison.to_hash.len() >= BATCH {
                            break;
                        }
                        match listings.try_recv() {
                            Ok(l) => next = Some(l),
                            Err(TryRecvError::Empty) => {}
                            Err(TryRecvError::Disconnected) => walking = false,
                        }
                    }
                    Ok(())
                })?;
                library.checkpoint_soon();
                let known = comparison.folders_done + comparison.waiting.len() as u64;
                observer.progress("indexing", comparison.folders_done, Some(known));
            } else if !comparison.to_hash.is_empty() {
                if in_flight == 2 {
                    write_next(&mut conn, &mut comparison)?;
                    in_flight -= 1;
                }
                let rest = comparison.to_hash.split_off(comparison.to_hash.len().min(BATCH));
                let batch = std::mem::replace(&mut comparison.to_hash, rest);
                batches_tx.send(batch).map_err(|_| OpError::internal("the hashing thread stopped"))?;
                in_flight += 1;
            } else if in_flight > 0 {
                write_next(&mut conn, &mut comparison)?;
                in_flight -= 1;
            } else {
                return Ok(false);
            }
        }
    })?;
    let Comparison { vanished, folders_done: comparison_folders, .. } = comparison;
    // Also when stopped, for what was compared so far. A scan that fails
    // before this leaves it to the next one, which finds the same files
    // vanished and, through `added_since`, the new paths this one added.
    settle_vanished(&mut conn, library, (location, &root), &vanished, added, &mut report)?;
    if stopped {
        return Ok(None);
    }
    conn.execute(
        "UPDATE locations SET last_scan_completed_at = ?1, added_since = NULL WHERE id = ?2",
        params![now_ns(), location],
    )?;
    report.duration_ms = started.elapsed().as_millis() as u64;
    observer.progress("done", comparison_folders, Some(comparison_folders));
    Ok(Some(report))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    /// Runs scans to completion, or stops them after their first committed
    /// batch, as pausing the job does (a killed daemon leaves the same).
    #[derive(Default)]
    struct Observer {
        stop_after_a_batch: bool,
        committed: AtomicBool,
    }

    impl ScanObserver for Observer {
        fn progress(&self, _phase: &str, _done: u64, _total: Option<u64>) {}
        fn batch_committed(&self, _report: &ScanReport) {
            self.committed.store(true, Ordering::Relaxed);
        }
        fn should_stop(&self) -> bool {
            self.stop_after_a_batch && self.committed.load(Ordering::Relaxed)
        }
    }

    fn entry_id(library: &Library, rel: &str) -> Option<i64> {
        let conn = library.dedicated_connection().unwrap();
        conn.query_row("SELECT id FROM entries WHERE rel_path = ?1", [rel], |r| r.get(0)).optional().unwrap()
    }

    /// A move split across scans: `old/x.txt` indexed, copied to
    /// `new/x.txt`, a scan stopped after its first batch (it sees the new
    /// path, not yet the old one gone), then `old/x.txt` removed.
    struct SplitMove {
        _dir: tempfile::TempDir,
        tree: std::path::PathBuf,
        library: Library,
        row: i64,
        /// The entry `old/x.txt` had.
        entry: i64,
    }

    fn split_move() -> SplitMove {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        for folder in ["old", "new"] {
            std::fs::create_dir_all(tree.join(folder)).unwrap();
        }
        std::fs::write(tree.join("old/x.txt"), b"the same bytes at every path").unwrap();
        let library = Library::create(&dir.path().join("library"), Uuid::new_v4(), "test").unwrap();
        let (row, _) = add_location(&mut library.dedicated_connection().unwrap(), &tree, false, &|_| Ok(())).unwrap();
        scan(&library, row, &Observer::default(), None).unwrap().unwrap();
        let entry = entry_id(&library, "old/x.txt").unwrap();

        std::fs::copy(tree.join("old/x.txt"), tree.join("new/x.txt")).unwrap();
        let stopped = Observer { stop_after_a_batch: true, ..Default::default() };
        assert!(scan(&library, row, &stopped, None).unwrap().is_none(), "the scan was stopped");
        assert!(entry_id(&library, "new/x.txt").is_some());
        std::fs::remove_file(tree.join("old/x.txt")).unwrap();
        SplitMove { _dir: dir, tree, library, row, entry }
    }

    #[test]
    fn a_move_split_across_an_interrupted_scan_keeps_the_entry() {
        let SplitMove { _dir, library, row, entry, .. } = split_move();
        let report = scan(&library, row, &Observer::default(), None).unwrap().unwrap();

        assert_eq!(entry_id(&library, "new/x.txt"), Some(entry), "the moved file keeps its entry");
        assert_eq!(entry_id(&library, "old/x.txt"), None);
        assert_eq!((report.moved, report.added, report.deleted), (1, 0, 0), "{report:?}");
        // Completed: the next scan's moves are its own again.
        let conn = library.dedicated_connection().unwrap();
        let since: Option<i64> =
            conn.query_row("SELECT added_since FROM locations WHERE id = ?1", [row], |r| r.get(0)).unwrap();
        assert_eq!(since, None);
    }

    #[test]
    fn a_path_an_interrupted_scan_added_counts_for_a_move_only_while_it_is_there() {
        // Moved again after the interrupted scan saw it: the entry goes to
        // where the file is now, not to the path in between.
        let SplitMove { _dir, tree, library, row, entry } = split_move();
        std::fs::rename(tree.join("new/x.txt"), tree.join("new/y.txt")).unwrap();
        let report = scan(&library, row, &Observer::default(), None).unwrap().unwrap();
        assert_eq!(entry_id(&library, "new/y.txt"), Some(entry), "{report:?}");
        assert_eq!((entry_id(&library, "old/x.txt"), entry_id(&library, "new/x.txt")), (None, None));

        // Gone altogether: the entry goes too, rather than to a path that
        // is no longer there.
        let SplitMove { _dir, tree, library, row, .. } = split_move();
        std::fs::remove_file(tree.join("new/x.txt")).unwrap();
        let report = scan(&library, row, &Observer::default(), None).unwrap().unwrap();
        assert_eq!((entry_id(&library, "old/x.txt"), entry_id(&library, "new/x.txt")), (None, None), "{report:?}");
        assert_eq!((report.moved, report.deleted), (0, 2), "{report:?}");
    }
}
