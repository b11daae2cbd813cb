//! Full-text search over entry names, metadata values and text sidecars,
//! with filters by kind and by metadata value.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::entry::{self, Entry};
use super::names;
use crate::error::{OpError, OpResult};

/// Most terms in one query.
const MAX_TERMS: usize = 16;

/// A metadata filter: `namespace.key = value` (compared as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MetadataFilter {
    /// Namespace, e.g. `user` or `finance`.
    pub namespace: String,
    /// Key within the namespace.
    pub key: String,
    /// Value as text (a string's contents, or JSON text for other values).
    pub value: String,
}

impl std::str::FromStr for MetadataFilter {
    type Err = OpError;

    /// Parses `namespace.key=value`, as in `--where finance.category=food`.
    fn from_str(s: &str) -> OpResult<Self> {
        let (lhs, value) = s
            .split_once('=')
            .ok_or_else(|| OpError::invalid(format!("filter `{s}` must look like `namespace.key=value`")))?;
        let (namespace, key) = lhs
            .split_once('.')
            .ok_or_else(|| OpError::invalid(format!("filter `{s}` must name a namespace: `namespace.key=value`")))?;
        names::validate_namespace(namespace)?;
        names::validate_key(key)?;
        Ok(Self { namespace: namespace.to_string(), key: key.to_string(), value: value.to_string() })
    }
}

/// Why an entry matched: which field, and the matching text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct MatchReason {
    /// `name`, `metadata:<namespace>.<key>`, or `sidecar:<namespace>/<name>`.
    pub source: String,
    /// The matching text with hits in `[brackets]`.
    pub snippet: String,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SearchHit {
    /// The entry.
    pub entry: Entry,
    /// Relevance (BM25; higher is better).
    pub score: f64,
    /// Fields that matched the query.
    pub reasons: Vec<MatchReason>,
}

/// Splits free text into search terms the way the FTS tokenizer does:
/// runs of letters and digits, lowercased.
pub fn terms(query: &str) -> Vec<String> {
    query.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase).collect()
}

/// SQL selecting the ids of entries of `kind` with all `filters`, and its
/// arguments.
fn filter_query(kind: Option<&str>, filters: &[MetadataFilter]) -> (String, Vec<String>) {
    let mut sql = String::from("SELECT id FROM entries WHERE 1 = 1");
    let mut args: Vec<String> = Vec::new();
    if let Some(kind) = kind {
        sql.push_str(" AND kind = ?");
        args.push(kind.to_string());
    }
    // `id IN (…)` lets SQLite start from the metadata index and look each
    // entry up by id; a correlated EXISTS would scan every entry.
    for f in filters {
        sql.push_str(" AND id IN (SELECT entry_id FROM metadata WHERE namespace = ? AND key = ? AND value_text = ?)");
        args.extend([f.namespace.clone(), f.key.clone(), f.value.clone()]);
    }
    (sql, args)
}

/// Conditions on the column `entry` (an entry's row id) for `kind` and
/// `filters`, checked per candidate: point lookups by entry, for candidates
/// that full-text matching has already narrowed.
fn candidate_conditions(entry: &str, kind: Option<&str>, filters: &[MetadataFilter]) -> (String, Vec<String>) {
    let mut sql = String::from("1 = 1");
    let mut args: Vec<String> = Vec::new();
    if let Some(kind) = kind {
        sql.push_str(&format!(" AND (SELECT kind FROM entries WHERE id = {entry}) = ?"));
        args.push(kind.to_string());
    }
    for f in filters {
        sql.push_str(&format!(
            " AND (SELECT value_text FROM metadata WHERE entry_id = {entry} AND namespace = ? AND key = ?) = ?"
        ));
        args.extend([f.namespace.clone(), f.key.clone(), f.value.clone()]);
    }
    (sql, args)
}

/// Row ids of the entries of `kind` with all `filters`; `None` when there
/// is no filter (every entry).
pub fn filtered_ids(
    conn: &Connection,
    kind: Option<&str>,
    filters: &[MetadataFilter],
) -> OpResult<Option<std::collections::HashSet<i64>>> {
    if kind.is_none() && filters.is_empty() {
        return Ok(None);
    }
    let (sql, args) = filter_query(kind, filters);
    let mut stmt = conn.prepare(&sql)?;
    let ids = stmt.query_map(rusqlite::params_from_iter(&args), |r| r.get(0))?.collect::<Result<_, _>>()?;
    Ok(Some(ids))
}

/// Runs a search. Every term must match the entry (in any of its fields, as a
/// prefix); filters narrow further. With no terms, lists entries matching the
/// filters.
pub fn search(
    conn: &Connection,
    query: &str,
    kind: Option<&str>,
    filters: &[MetadataFilter],
    limit: u32,
    offset: u64,
) -> OpResult<(Vec<SearchHit>, u64)> {
    let terms = terms(query);
    if terms.len() > MAX_TERMS {
        return Err(OpError::invalid(format!("query has {} terms; at most {MAX_TERMS} are allowed", terms.len())));
    }
    if terms.is_empty() && kind.is_none() && filters.is_empty() {
        return Err(OpError::invalid("give search terms, a kind or a metadata filter"));
    }

    if terms.is_empty() {
        // No words: start from the filter's own indexes.
        let (filter_sql, filter_args) = filter_query(kind, filters);
        // The window count gives the total in the same pass as the page.
        let mut stmt = conn.prepare(&format!(
            "SELECT id, COUNT(*) OVER () FROM ({filter_sql}) ORDER BY id LIMIT {limit} OFFSET {offset}"
        ))?;
        let mut total = 0u64;
        let ids: Vec<i64> = stmt
            .query_map(rusqlite::params_from_iter(&filter_args), |r| {
                total = r.get::<_, i64>(1)?.max(0) as u64;
                r.get(0)
            })?
            .collect::<Result<_, _>>()?;
        if ids.is_empty() && offset > 0 {
            total = conn.query_row(
                &format!("SELECT COUNT(*) FROM ({filter_sql})"),
                rusqlite::params_from_iter(&filter_args),
                |r| r.get::<_, i64>(0).map(|n| n.max(0) as u64),
            )?;
        }
        let hits = entry::get_many(conn, &ids)?
            .into_iter()
            .map(|(_, entry)| SearchHit { entry, score: 0.0, reasons: Vec::new() })
            .collect();
        return Ok((hits, total));
    }

    // FTS5 phrase syntax: each term quoted (so no operator injection) and used
    // as a prefix. Matching and ranking read the one document per entry
    // (`entry_fts`, migration 010), where all terms must appear.
    let fts_term = |t: &String| format!("\"{}\"*", t.replace('"', "\"\""));
    let all_terms = terms.iter().map(fts_term).collect::<Vec<_>>().join(" ");
    let any_term = terms.iter().map(fts_term).collect::<Vec<_>>().join(" OR ");
    let (conditions, condition_args) = candidate_conditions("entry_fts.rowid", kind, filters);
    let mut args: Vec<String> = vec![all_terms];
    args.extend(condition_args);
    // FTS5 sorts by `rank` (bm25) itself; conditions are checked per match.
    let ranked_sql = format!(
        "SELECT rowid, rank FROM entry_fts WHERE entry_fts MATCH ? AND {conditions} \
         ORDER BY rank, rowid LIMIT {limit} OFFSET {offset}"
    );
    let ranked: Vec<(i64, f64)> = conn
        .prepare_cached(&ranked_sql)?
        .query_map(rusqlite::params_from_iter(&args), |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?;
    // A short first page is the whole answer; otherwise count on their own,
    // which reads the matches without scoring them.
    let total = if offset == 0 && (ranked.len() as u64) < u64::from(limit) {
        ranked.len() as u64
    } else {
        conn.prepare_cached(&format!("SELECT COUNT(*) FROM entry_fts WHERE entry_fts MATCH ? AND {conditions}"))?
            .query_row(rusqlite::params_from_iter(&args), |r| r.get::<_, i64>(0).map(|n| n.max(0) as u64))?
    };
    let mut by_entry: HashMap<i64, (f64, Vec<MatchReason>)> =
        ranked.iter().map(|&(id, score)| (id, (-score, Vec::new()))).collect();
    // Reasons for the page's entries only: each of an entry's documents is
    // looked up by rowid inside the full-text index (a `rowid IN (…)` list
    // would make FTS5 walk every match of the query instead).
    let mut docs = conn.prepare_cached("SELECT id, source FROM search_docs WHERE entry_id = ?1")?;
    let mut snippet = conn.prepare_cached(
        "SELECT snippet(search_fts, 0, '[', ']', '…', 12), bm25(search_fts) FROM search_fts \
         WHERE search_fts MATCH ?1 AND rowid = ?2",
    )?;
    for &(id, _) in &ranked {
        let of_entry = docs
            .query_map([id], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut reasons: Vec<(f64, MatchReason)> = Vec::new();
        for (doc, source) in of_entry {
            let hit = snippet
                .query_row(rusqlite::params![&any_term, doc], |r| Ok((r.get::<_, String>(0)?, r.get::<_, f64>(1)?)))
                .optional()?;
            if let Some((snippet, score)) = hit {
                reasons.push((score, MatchReason { source, snippet }));
            }
        }
        // Best-matching document first (bm25 is lower-is-better).
        reasons.sort_by(|a, b| a.0.total_cmp(&b.0));
        if let Some(slot) = by_entry.get_mut(&id) {
            slot.1 = reasons.into_iter().map(|(_, r)| r).collect();
        }
    }
    let order: Vec<i64> = ranked.iter().map(|&(id, _)| id).collect();
    let hits = entry::get_many(conn, &order)?
        .into_iter()
        .filter_map(|(id, entry)| by_entry.remove(&id).map(|(score, reasons)| SearchHit { entry, score, reasons }))
        .collect();
    Ok((hits, total))
}
