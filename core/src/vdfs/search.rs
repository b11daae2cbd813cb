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

/// Most matches ranked by relevance; beyond, the newest come first.
pub const RANK_LIMIT: u64 = 10_000;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Ranking {
    /// Best match first (bm25 over the entry's name, metadata and text
    /// sidecars together).
    #[default]
    Relevance,
    /// Newest entry first: more than [`RANK_LIMIT`] entries matched, and
    /// scoring them all would take longer than the search itself.
    Newest,
    /// By entry, oldest first: no words were given, only filters.
    Filtered,
}

/// Splits free text into search terms the way the FTS tokenizer does:
/// runs of letters and digits, lowercased.
pub fn terms(query: &str) -> Vec<String> {
    query.split(|c: char| !c.is_alphanumeric()).filter(|t| !t.is_empty()).map(str::to_lowercase).collect()
}

/// Tokens shown around the best match of a snippet, as FTS5's snippet() did.
const SNIPPET_TOKENS: usize = 12;

/// Lowercase with diacritics removed, as the index's `unicode61
/// remove_diacritics 2` tokenizer folds text.
fn fold(token: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    token.nfd().filter(|c| !unicode_normalization::char::is_combining_mark(*c)).flat_map(char::to_lowercase).collect()
}

/// Why `body` matched `terms` (folded): how many distinct terms some token
/// starts with, and the text around the window of [`SNIPPET_TOKENS`] tokens
/// holding most matches, matched tokens in `[` `]`. `None` when nothing
/// matches.
fn snippet(body: &str, terms: &[String]) -> Option<(usize, String)> {
    // Tokens as the index splits them: runs of letters and digits.
    let mut tokens: Vec<(usize, usize, Option<usize>)> = Vec::new();
    let mut start = None;
    for (i, c) in body.char_indices().chain(std::iter::once((body.len(), ' '))) {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let raw = &body[s..i];
                // ASCII needs no folding beyond case: no allocation per token
                // of a sidecar that may hold a megabyte of text.
                let hit = if raw.is_ascii() {
                    terms.iter().position(|t| {
                        raw.len() >= t.len() && raw.as_bytes()[..t.len()].eq_ignore_ascii_case(t.as_bytes())
                    })
                } else {
                    let token = fold(raw);
                    terms.iter().position(|t| token.starts_with(t.as_str()))
                };
                tokens.push((s, i, hit));
                start = None;
            }
            _ => {}
        }
    }
    let mut matched: Vec<usize> = tokens.iter().filter_map(|t| t.2).collect();
    matched.sort_unstable();
    matched.dedup();
    if matched.is_empty() {
        return None;
    }
    // The window with the most matched tokens (the first of equals).
    let hit = |i: usize| usize::from(tokens[i].2.is_some());
    let width = SNIPPET_TOKENS.min(tokens.len());
    let mut count: usize = (0..width).map(hit).sum();
    let (mut best, mut best_count) = (0, count);
    for first in 1..=tokens.len() - width {
        count = count + hit(first + width - 1) - hit(first - 1);
        if count > best_count {
            (best, best_count) = (first, count);
        }
    }
    let window = &tokens[best..best + width];
    let mut out = String::new();
    if best > 0 {
        out.push('…');
    }
    let mut at = window[0].0;
    for &(s, e, m) in window {
        out.push_str(&body[at..s]);
        match m {
            Some(_) => {
                out.push('[');
                out.push_str(&body[s..e]);
                out.push(']');
            }
            None => out.push_str(&body[s..e]),
        }
        at = e;
    }
    if best + width < tokens.len() {
        out.push('…');
    }
    Some((matched.len(), out))
}

/// SQL selecting the ids of the entries of `kind` (every entry without
/// one), from the kind's index, and its arguments.
fn kind_query(kind: Option<&str>) -> (&'static str, Vec<&str>) {
    match kind {
        Some(kind) => ("SELECT id FROM entries WHERE kind = ?", vec![kind]),
        None => ("SELECT id FROM entries", Vec::new()),
    }
}

/// Conditions on the column `entry` (an entry's row id) for `kind` and
/// `filters`, checked per candidate: point lookups by entry, for candidates
/// that full-text matching has already narrowed.
fn candidate_conditions(entry: &str, kind: Option<&str>, filters: &[MetadataFilter]) -> (String, Vec<String>) {
    let mut sql = String::from("1 = 1");
    let mut args: Vec<String> = Vec::new();
    if let Some(kind) = kind {
        sql.push_str(&format!(" AND EXISTS (SELECT 1 FROM entries WHERE kind = ? AND id = {entry})"));
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

/// Row ids (ascending) of the entries matching the full-text query `fts`
/// (when given), of `kind`, with every metadata filter: sorted lists
/// merged, the words' matches and each filter's entries. A filter's entries
/// are one range of `metadata_lookup` (namespace, key, value, kind), in
/// entry order within a kind; without a kind, the kinds' runs are sorted
/// together. `filters` must not be empty.
fn merged_ids(
    conn: &Connection,
    fts: Option<&str>,
    kind: Option<&str>,
    filters: &[MetadataFilter],
) -> OpResult<Vec<i64>> {
    let mut lists: Vec<Vec<i64>> = Vec::with_capacity(filters.len() + 1);
    if let Some(fts) = fts {
        let mut words = conn.prepare_cached("SELECT rowid FROM entry_fts WHERE entry_fts MATCH ?1 ORDER BY rowid")?;
        lists.push(words.query_map([fts], |r| r.get(0))?.collect::<Result<_, _>>()?);
    }
    for f in filters {
        let ids = match kind {
            Some(kind) => conn
                .prepare_cached(
                    "SELECT entry_id FROM metadata INDEXED BY metadata_lookup \
                     WHERE namespace = ?1 AND key = ?2 AND value_text = ?3 AND kind = ?4 ORDER BY entry_id",
                )?
                .query_map(rusqlite::params![f.namespace, f.key, f.value, kind], |r| r.get(0))?
                .collect::<Result<_, _>>()?,
            None => {
                // In index order (by kind, then entry): a run per kind,
                // merged here by the run-detecting sort, where SQLite's
                // sorter would sort them afresh.
                let mut ids: Vec<i64> = conn
                    .prepare_cached(
                        "SELECT entry_id FROM metadata INDEXED BY metadata_lookup \
                         WHERE namespace = ?1 AND key = ?2 AND value_text = ?3",
                    )?
                    .query_map(rusqlite::params![f.namespace, f.key, f.value], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                ids.sort();
                ids
            }
        };
        lists.push(ids);
    }
    intersect(lists).ok_or_else(|| OpError::internal("merged_ids needs words or a metadata filter"))
}

/// The ids in every one of `lists` (each ascending), ascending; `None`
/// without lists.
fn intersect(mut lists: Vec<Vec<i64>>) -> Option<Vec<i64>> {
    // Smallest first: each merge keeps at most what the last one kept.
    lists.sort_by_key(Vec::len);
    let mut lists = lists.into_iter();
    let mut ids = lists.next()?;
    for other in lists {
        retain_in(&mut ids, &other);
    }
    Some(ids)
}

/// Keeps the ids (ascending) that `other` (ascending) holds too.
fn retain_in(ids: &mut Vec<i64>, other: &[i64]) {
    let mut at = 0;
    ids.retain(|id| {
        at += other[at..].partition_point(|o| o < id);
        other.get(at) == Some(id)
    });
}

/// A page of the entries of `kind` (all of them without one), by id, and
/// how many there are, started from the kind's index.
fn kind_page(conn: &Connection, kind: Option<&str>, limit: u32, offset: u64) -> OpResult<(Vec<i64>, u64)> {
    let (filter_sql, filter_args) = kind_query(kind);
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
    Ok((ids, total))
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
    if !filters.is_empty() {
        return Ok(Some(merged_ids(conn, None, kind, filters)?.into_iter().collect()));
    }
    let (sql, args) = kind_query(kind);
    let mut stmt = conn.prepare_cached(sql)?;
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
) -> OpResult<(Vec<SearchHit>, u64, Ranking)> {
    let terms = terms(query);
    if terms.len() > MAX_TERMS {
        return Err(OpError::invalid(format!("query has {} terms; at most {MAX_TERMS} are allowed", terms.len())));
    }
    if terms.is_empty() && kind.is_none() && filters.is_empty() {
        return Err(OpError::invalid("give search terms, a kind or a metadata filter"));
    }

    if terms.is_empty() {
        let (page, total) = if filters.is_empty() {
            kind_page(conn, kind, limit, offset)?
        } else {
            // The metadata filters' sorted id lists, merged.
            let ids = merged_ids(conn, None, kind, filters)?;
            let skip = usize::try_from(offset).unwrap_or(usize::MAX);
            (ids.iter().skip(skip).take(limit as usize).copied().collect(), ids.len() as u64)
        };
        let hits = entry::get_many(conn, &page)?
            .into_iter()
            .map(|(_, entry)| SearchHit { entry, score: 0.0, reasons: Vec::new() })
            .collect();
        return Ok((hits, total, Ranking::Filtered));
    }

    // FTS5 phrase syntax: each term quoted (so no operator injection) and used
    // as a prefix. Matching and ranking read the one document per entry
    // (`entry_fts`, migration 010), where all terms must appear.
    let fts_term = |t: &String| format!("\"{}\"*", t.replace('"', "\"\""));
    let all_terms = terms.iter().map(fts_term).collect::<Vec<_>>().join(" ");
    let (conditions, condition_args) = candidate_conditions("entry_fts.rowid", kind, filters);
    let mut args: Vec<String> = vec![all_terms];
    args.extend(condition_args);
    // Counting reads the matches without scoring them: a few milliseconds
    // for a third of a million.
    let count = |conditions: &str, args: &[String]| -> OpResult<u64> {
        Ok(conn
            .prepare_cached(&format!("SELECT COUNT(*) FROM entry_fts WHERE entry_fts MATCH ? AND {conditions}"))?
            .query_row(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0).map(|n| n.max(0) as u64))?)
    };
    let word_matches = count("1 = 1", &args[..1])?;
    // bm25 reads each match's document length (half a microsecond a match),
    // and a filter checked per match costs as much: past RANK_LIMIT
    // matches of the words, the newest come first, and metadata filters are
    // applied by merging sorted id lists instead.
    let (ranked, total, ranking): (Vec<(i64, f64)>, u64, Ranking) = if word_matches <= RANK_LIMIT {
        let unfiltered = kind.is_none() && filters.is_empty();
        // With filters, every match that passes them is ranked in one pass
        // and counted from it: a second pass to count would check each
        // match's filters again (up to 2 µs a match on a cold page).
        let page = if unfiltered { format!("LIMIT {limit} OFFSET {offset}") } else { String::new() };
        let ranked_sql = format!(
            "SELECT rowid, rank FROM entry_fts WHERE entry_fts MATCH ? AND {conditions} ORDER BY rank, rowid {page}"
        );
        let mut ranked: Vec<(i64, f64)> = conn
            .prepare_cached(&ranked_sql)?
            .query_map(rusqlite::params_from_iter(&args), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        let total = if unfiltered { word_matches } else { ranked.len() as u64 };
        if !unfiltered {
            let skip = usize::try_from(offset).unwrap_or(usize::MAX).min(ranked.len());
            ranked.drain(..skip);
            ranked.truncate(limit as usize);
        }
        (ranked, total, Ranking::Relevance)
    } else if filters.is_empty() {
        let total = if kind.is_none() { word_matches } else { count(&conditions, &args)? };
        let ranked = conn
            .prepare_cached(&format!(
                "SELECT rowid, 0.0 FROM entry_fts WHERE entry_fts MATCH ? AND {conditions} \
                 ORDER BY rowid DESC LIMIT {limit} OFFSET {offset}"
            ))?
            .query_map(rusqlite::params_from_iter(&args), |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
        (ranked, total, Ranking::Newest)
    } else {
        let ids = merged_ids(conn, Some(&args[0]), kind, filters)?;
        let page = ids.iter().rev().skip(offset.try_into().unwrap_or(usize::MAX)).take(limit as usize);
        (page.map(|&id| (id, 0.0)).collect(), ids.len() as u64, Ranking::Newest)
    };
    let mut by_entry: HashMap<i64, (f64, Vec<MatchReason>)> =
        ranked.iter().map(|&(id, score)| (id, (-score, Vec::new()))).collect();
    // Reasons for the page's entries only, from their documents' text. Made
    // here rather than with FTS5's snippet(): that looks each document up in
    // the term's list, a millisecond apiece when a short prefix matches a
    // third of the library.
    let folded: Vec<String> = terms.iter().map(|t| fold(t)).collect();
    let mut docs = conn.prepare_cached("SELECT source, body FROM search_docs WHERE entry_id = ?1 ORDER BY id")?;
    for &(id, _) in &ranked {
        let of_entry = docs
            .query_map([id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut reasons: Vec<(usize, MatchReason)> = of_entry
            .into_iter()
            .filter_map(|(source, body)| {
                snippet(&body, &folded).map(|(n, snippet)| (n, MatchReason { source, snippet }))
            })
            .collect();
        // The document matching the most words first; ties keep their order.
        reasons.sort_by_key(|r| std::cmp::Reverse(r.0));
        if let Some(slot) = by_entry.get_mut(&id) {
            slot.1 = reasons.into_iter().map(|(_, r)| r).collect();
        }
    }
    let order: Vec<i64> = ranked.iter().map(|&(id, _)| id).collect();
    let hits = entry::get_many(conn, &order)?
        .into_iter()
        .filter_map(|(id, entry)| by_entry.remove(&id).map(|(score, reasons)| SearchHit { entry, score, reasons }))
        .collect();
    Ok((hits, total, ranking))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snip(body: &str, query: &str) -> Option<(usize, String)> {
        let terms: Vec<String> = terms(query).iter().map(|t| fold(t)).collect();
        snippet(body, &terms)
    }

    #[test]
    fn snippets_mark_prefix_matches_as_the_index_folds_them() {
        assert_eq!(snip("Harbor Coffee Roasters", "coff"), Some((1, "Harbor [Coffee] Roasters".into())));
        assert_eq!(snip("Café Émile, Paris", "cafe emile"), Some((2, "[Café] [Émile], Paris".into())));
        assert_eq!(snip("receipt.txt", "txt receipt"), Some((2, "[receipt].[txt]".into())));
        assert_eq!(snip("nothing here", "coffee"), None);
        assert_eq!(snip("", "coffee"), None);
        // Prefixes only: a term inside a word does not match.
        assert_eq!(snip("decaffeinated", "caff"), None);
    }

    #[test]
    fn long_bodies_show_the_window_with_most_matches() {
        let body = format!("{} alpha beta {}", "word ".repeat(30), "tail ".repeat(30));
        let (n, s) = snip(&body, "alpha beta").unwrap();
        assert_eq!(n, 2);
        assert!(s.starts_with('…') && s.ends_with('…'), "{s}");
        assert!(s.contains("[alpha] [beta]"), "{s}");
        assert!(s.split_whitespace().count() <= SNIPPET_TOKENS + 1, "{s}");
    }
}
