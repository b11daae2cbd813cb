//! Full-text search over entry names, metadata values and text sidecars,
//! with filters by kind and by metadata value.

use std::collections::HashMap;

use rusqlite::Connection;
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

    // Entry filter shared by both paths.
    let (filter_sql, filter_args) = filter_query(kind, filters);

    if terms.is_empty() {
        let total: u64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM ({filter_sql})"),
            rusqlite::params_from_iter(&filter_args),
            |r| r.get::<_, i64>(0).map(|n| n.max(0) as u64),
        )?;
        let mut stmt = conn.prepare(&format!("{filter_sql} ORDER BY id LIMIT {limit} OFFSET {offset}"))?;
        let ids: Vec<i64> =
            stmt.query_map(rusqlite::params_from_iter(&filter_args), |r| r.get(0))?.collect::<Result<_, _>>()?;
        let hits = entry::get_many(conn, &ids)?
            .into_iter()
            .map(|(_, entry)| SearchHit { entry, score: 0.0, reasons: Vec::new() })
            .collect();
        return Ok((hits, total));
    }

    // FTS5 phrase syntax: each term quoted (so no operator injection) and used
    // as a prefix.
    let fts_term = |t: &String| format!("\"{}\"*", t.replace('"', "\"\""));
    let any_term = terms.iter().map(fts_term).collect::<Vec<_>>().join(" OR ");
    let per_term = terms
        .iter()
        .map(|_| "SELECT d.entry_id FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid WHERE search_fts MATCH ?")
        .collect::<Vec<_>>()
        .join(" INTERSECT ");
    let mut args: Vec<String> = terms.iter().map(fts_term).collect();
    args.extend(filter_args);
    args.push(any_term);

    let matched = format!("SELECT entry_id FROM ({per_term}) WHERE entry_id IN ({filter_sql})");
    let total: u64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM ({matched})"),
        rusqlite::params_from_iter(&args[..args.len() - 1]),
        |r| r.get::<_, i64>(0).map(|n| n.max(0) as u64),
    )?;
    let sql = format!(
        "WITH matched AS ({matched}), \
         hits AS MATERIALIZED ( \
           SELECT d.entry_id AS entry_id, d.source AS source, \
                  snippet(search_fts, 0, '[', ']', '…', 12) AS snip, bm25(search_fts) AS score \
           FROM search_fts JOIN search_docs d ON d.id = search_fts.rowid \
           WHERE search_fts MATCH ? AND d.entry_id IN (SELECT entry_id FROM matched)), \
         ranked AS (SELECT entry_id, SUM(score) AS total FROM hits GROUP BY entry_id \
                    ORDER BY total, entry_id LIMIT {limit} OFFSET {offset}) \
         SELECT h.entry_id, h.source, h.snip, r.total FROM hits h JOIN ranked r ON r.entry_id = h.entry_id \
         ORDER BY r.total, h.entry_id, h.score"
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut order: Vec<i64> = Vec::new();
    let mut by_entry: HashMap<i64, (f64, Vec<MatchReason>)> = HashMap::new();
    let rows = stmt.query_map(rusqlite::params_from_iter(&args), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, f64>(3)?))
    })?;
    for row in rows {
        let (id, source, snippet, score) = row?;
        let slot = by_entry.entry(id).or_insert_with(|| {
            order.push(id);
            // bm25() is lower-is-better; flip it so clients sort descending.
            (-score, Vec::new())
        });
        slot.1.push(MatchReason { source, snippet });
    }
    let hits = entry::get_many(conn, &order)?
        .into_iter()
        .filter_map(|(id, entry)| by_entry.remove(&id).map(|(score, reasons)| SearchHit { entry, score, reasons }))
        .collect();
    Ok((hits, total))
}
