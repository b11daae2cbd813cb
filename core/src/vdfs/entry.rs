//! Entries: the rows of the VDFS, their wire form and the queries on them.

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, Row, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::{format_ns, names, now_ns};
use crate::error::{OpError, OpResult};

/// Kind of an entry indexed from a folder.
pub const KIND_FILE: &str = "file";
/// Kind of a folder.
pub const KIND_DIR: &str = "dir";
/// Kind of a symbolic link that was not followed.
pub const KIND_SYMLINK: &str = "symlink";
/// Default kind of an entry created through an operation.
pub const KIND_VIRTUAL: &str = "virtual";

/// An entry as clients see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Entry {
    /// Stable id; survives renames, moves and rescans.
    pub id: Uuid,
    /// File or display name.
    pub name: String,
    /// `file`, `dir`, `symlink`, or the kind a virtual entry was created with.
    pub kind: String,
    /// Absolute path, for entries indexed from a location.
    pub path: Option<String>,
    /// Location the entry was indexed from.
    pub location_id: Option<Uuid>,
    /// Parent entry.
    pub parent_id: Option<Uuid>,
    /// Size in bytes.
    pub size: u64,
    /// Creation time (RFC 3339), when known.
    pub created_at: Option<String>,
    /// Modification time (RFC 3339), when known.
    pub modified_at: Option<String>,
    /// When the entry was last indexed or written.
    pub indexed_at: String,
    /// BLAKE3 hash of the content (hex), for files that were read.
    pub content_hash: Option<String>,
    /// Who created it: `core` for indexed entries, else the creator's namespace.
    pub owner: String,
}

/// An entry with its metadata and sidecar list, for `vdfs.entry`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct EntryDetail {
    /// The entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// Metadata by namespace, then key.
    pub metadata: BTreeMap<String, BTreeMap<String, Value>>,
    /// Sidecars attached to the entry.
    pub sidecars: Vec<SidecarInfo>,
}

/// A sidecar's description (not its content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SidecarInfo {
    /// Owning namespace.
    pub namespace: String,
    /// Name, unique per entry and namespace.
    pub name: String,
    /// BLAKE3 hash of the content (hex).
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// MIME type given by the writer.
    pub content_type: String,
    /// When it was written.
    pub created_at: String,
}

/// Columns every entry query selects, in the order [`entry_from_row`] reads.
pub const ENTRY_COLUMNS: &str = "e.uuid, e.name, e.kind, e.rel_path, l.path, l.uuid, p.uuid, e.size, \
     e.created_ns, e.modified_ns, e.indexed_ns, e.content_hash, e.owner";

/// The `FROM` clause matching [`ENTRY_COLUMNS`].
pub const ENTRY_FROM: &str =
    "entries e LEFT JOIN locations l ON l.id = e.location_id LEFT JOIN entries p ON p.id = e.parent_id";

fn parse_uuid(s: String) -> rusqlite::Result<Uuid> {
    s.parse().map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

/// Reads an [`Entry`] from a row selected with [`ENTRY_COLUMNS`].
pub fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<Entry> {
    let rel_path: Option<String> = row.get(3)?;
    let loc_path: Option<String> = row.get(4)?;
    let path = match (loc_path, rel_path) {
        (Some(root), Some(rel)) if rel.is_empty() => Some(root),
        (Some(root), Some(rel)) => Some(format!("{}/{rel}", root.trim_end_matches('/'))),
        _ => None,
    };
    Ok(Entry {
        id: parse_uuid(row.get(0)?)?,
        name: row.get(1)?,
        kind: row.get(2)?,
        path,
        location_id: row.get::<_, Option<String>>(5)?.map(parse_uuid).transpose()?,
        parent_id: row.get::<_, Option<String>>(6)?.map(parse_uuid).transpose()?,
        size: row.get::<_, i64>(7)?.max(0) as u64,
        created_at: row.get::<_, Option<i64>>(8)?.map(format_ns),
        modified_at: row.get::<_, Option<i64>>(9)?.map(format_ns),
        indexed_at: format_ns(row.get(10)?),
        content_hash: row.get(11)?,
        owner: row.get(12)?,
    })
}

/// Internal row id of the entry with this UUID.
pub fn row_id(conn: &Connection, id: Uuid) -> OpResult<i64> {
    conn.query_row("SELECT id FROM entries WHERE uuid = ?1", [id.to_string()], |r| r.get(0))
        .optional()?
        .ok_or_else(|| OpError::not_found(format!("no entry with id {id} in this library")))
}

/// The entry with this UUID.
pub fn get(conn: &Connection, id: Uuid) -> OpResult<Entry> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE e.uuid = ?1");
    conn.query_row(&sql, [id.to_string()], entry_from_row)
        .optional()?
        .ok_or_else(|| OpError::not_found(format!("no entry with id {id} in this library")))
}

/// Entries by internal row ids, in the order given; ids that no longer exist
/// are skipped.
pub fn get_many(conn: &Connection, ids: &[i64]) -> OpResult<Vec<(i64, Entry)>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM {ENTRY_FROM} WHERE e.id = ?1"))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(e) = stmt.query_row([id], entry_from_row).optional()? {
            out.push((*id, e));
        }
    }
    Ok(out)
}

/// The entry with its metadata and sidecars.
pub fn detail(conn: &Connection, id: Uuid) -> OpResult<EntryDetail> {
    let entry = get(conn, id)?;
    let rid = row_id(conn, id)?;
    let metadata = super::metadata::all(conn, rid)?;
    let mut stmt = conn.prepare_cached(
        "SELECT namespace, name, hash, size, content_type, created_ns FROM sidecars WHERE entry_id = ?1 \
         ORDER BY namespace, name",
    )?;
    let sidecars = stmt
        .query_map([rid], |r| {
            Ok(SidecarInfo {
                namespace: r.get(0)?,
                name: r.get(1)?,
                hash: r.get(2)?,
                size: r.get::<_, i64>(3)?.max(0) as u64,
                content_type: r.get(4)?,
                created_at: format_ns(r.get(5)?),
            })
        })?
        .collect::<Result<_, _>>()?;
    Ok(EntryDetail { entry, metadata, sidecars })
}

/// Creates a virtual entry owned by `owner`, optionally under `parent`.
pub fn create_virtual(
    conn: &Connection,
    name: &str,
    kind: &str,
    parent: Option<Uuid>,
    owner: &str,
) -> OpResult<(i64, Uuid)> {
    names::validate_name("entry name", name)?;
    names::validate_kind(kind)?;
    if [KIND_FILE, KIND_DIR, KIND_SYMLINK].contains(&kind) {
        return Err(OpError::invalid(format!(
            "kind `{kind}` is reserved for indexed entries; use `virtual` or a kind of your own such as `receipt`"
        )));
    }
    let parent_row = parent.map(|p| row_id(conn, p)).transpose()?;
    // Time-ordered ids: new entries land at the end of the id index, not
    // on a random page of it (which, at a million entries, misses the cache).
    let id = Uuid::now_v7();
    conn.prepare_cached(
        "INSERT INTO entries(uuid, parent_id, name, kind, size, indexed_ns, owner) VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6)",
    )?
    .execute(params![id.to_string(), parent_row, name, kind, now_ns(), owner])?;
    Ok((conn.last_insert_rowid(), id))
}

/// Filter for [`list`].
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only children of this entry.
    pub parent: Option<Uuid>,
    /// Only entries of this location.
    pub location: Option<Uuid>,
    /// Only entries of this kind.
    pub kind: Option<String>,
    /// Only virtual entries (no location).
    pub virtual_only: bool,
    /// Only indexed entries at or under this absolute path.
    pub under: Option<String>,
}

/// The SQL condition (and its arguments) for entries at or under an
/// absolute path: whole locations inside it, and the part of a location
/// that holds it.
fn under_clause(conn: &Connection, under: &str) -> OpResult<(String, Vec<Box<dyn rusqlite::ToSql>>)> {
    if !under.starts_with('/') {
        return Err(OpError::invalid(format!("`under` must be an absolute path, not `{under}`")));
    }
    let under = under.trim_end_matches('/');
    let mut parts = Vec::new();
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    let mut stmt = conn.prepare("SELECT id, path FROM locations")?;
    let locations = stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
    for location in locations {
        let (id, root) = location?;
        let root = root.trim_end_matches('/');
        if root == under || root.starts_with(&format!("{under}/")) || under.is_empty() {
            parts.push("e.location_id = ?".to_string());
            args.push(Box::new(id));
        } else if let Some(rel) = under.strip_prefix(&format!("{root}/")) {
            // A prefix compare, not LIKE: LIKE ignores ASCII case and treats
            // `%` and `_` in names as wildcards.
            let prefix = format!("{rel}/");
            parts.push("(e.location_id = ? AND (e.rel_path = ? OR substr(e.rel_path, 1, ?) = ?))".to_string());
            args.push(Box::new(id));
            args.push(Box::new(rel.to_string()));
            args.push(Box::new(prefix.chars().count() as i64));
            args.push(Box::new(prefix));
        }
    }
    if parts.is_empty() {
        return Ok(("0".to_string(), args));
    }
    Ok((format!("({})", parts.join(" OR ")), args))
}

/// Gives an entry a kind. An indexed file may take any kind of its own (or
/// `file` back) and stays a file to the indexer; folders and links keep
/// theirs; a virtual entry's kind is its owner's to change.
pub fn set_kind(conn: &Connection, row: i64, kind: &str, caller_ns: &str) -> OpResult<()> {
    names::validate_kind(kind)?;
    let (location, current, owner): (Option<i64>, String, String) =
        conn.query_row("SELECT location_id, kind, owner FROM entries WHERE id = ?1", [row], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let indexed = location.is_some();
    if indexed && (current == KIND_DIR || current == KIND_SYMLINK) {
        return Err(OpError::invalid(format!("a {current} keeps its kind; only files take kinds of their own")));
    }
    if kind == KIND_DIR || kind == KIND_SYMLINK || (!indexed && kind == KIND_FILE) {
        return Err(OpError::invalid(format!("kind `{kind}` is the indexer's to give")));
    }
    if !indexed && owner != caller_ns {
        return Err(OpError::denied(format!("this virtual entry belongs to `{owner}`; only its owner sets its kind")));
    }
    conn.execute("UPDATE entries SET kind = ?1 WHERE id = ?2", rusqlite::params![kind, row])?;
    Ok(())
}

/// A page of entries and the total matching the filter.
pub fn list(conn: &Connection, filter: &ListFilter, limit: u32, offset: u64) -> OpResult<(Vec<Entry>, u64)> {
    let mut clauses = Vec::new();
    let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
    if let Some(parent) = filter.parent {
        clauses.push("e.parent_id = ?".to_string());
        args.push(Box::new(row_id(conn, parent)?));
    }
    if let Some(loc) = filter.location {
        let lid: i64 = conn
            .query_row("SELECT id FROM locations WHERE uuid = ?1", [loc.to_string()], |r| r.get(0))
            .optional()?
            .ok_or_else(|| OpError::not_found(format!("no location with id {loc}; run `sd location list`")))?;
        clauses.push("e.location_id = ?".to_string());
        args.push(Box::new(lid));
    }
    if let Some(kind) = &filter.kind {
        clauses.push("e.kind = ?".to_string());
        args.push(Box::new(kind.clone()));
    }
    if filter.virtual_only {
        clauses.push("e.location_id IS NULL".to_string());
    }
    if let Some(under) = &filter.under {
        let (clause, under_args) = under_clause(conn, under)?;
        clauses.push(clause);
        args.extend(under_args);
    }
    let where_sql = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
    let total: u64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM entries e {where_sql}"),
        rusqlite::params_from_iter(args.iter()),
        |r| r.get::<_, i64>(0).map(|n| n.max(0) as u64),
    )?;
    // The page's ids come off the listing index first; only those rows are
    // then joined, so skipping `offset` rows reads nothing but the index.
    let sql = format!(
        "WITH page AS (SELECT e.id FROM entries e {where_sql} \
                       ORDER BY e.location_id, e.rel_path, e.name, e.id LIMIT {limit} OFFSET {offset}) \
         SELECT {ENTRY_COLUMNS} FROM page, {ENTRY_FROM} WHERE e.id = page.id \
         ORDER BY e.location_id, e.rel_path, e.name, e.id"
    );
    let mut stmt = conn.prepare(&sql)?;
    let entries = stmt.query_map(rusqlite::params_from_iter(args.iter()), entry_from_row)?.collect::<Result<_, _>>()?;
    Ok((entries, total))
}
