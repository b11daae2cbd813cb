//! Semantic search storage: one unit vector per entry in `entry_embeddings`,
//! a queue of entries whose text changed (kept by triggers on
//! `search_docs`), and an in-memory index for exact cosine ranking.
//!
//! The text embedded for an entry is what full-text search indexes: its
//! name (separators as spaces), each metadata value with its key, and the
//! start of each text sidecar. Computing vectors is the caller's job; this
//! module knows nothing of models.

use std::collections::{BinaryHeap, HashMap, HashSet};

use rusqlite::{Connection, params};

use crate::error::{OpError, OpResult};

/// Characters of an entry's text that are embedded.
const MAX_TEXT_CHARS: usize = 2000;
/// Characters taken from one sidecar.
const MAX_SIDECAR_CHARS: usize = 1200;

/// An entry waiting for its vector.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Entry row id.
    pub entry: i64,
    /// Queue ticket, to dequeue only this version.
    pub ticket: i64,
    /// The text to embed.
    pub text: String,
    /// BLAKE3 of the text.
    pub digest: String,
    /// Whether the stored vector is already of this text (nothing to do).
    pub current: bool,
}

/// Entries waiting in the queue.
pub fn pending_count(conn: &Connection) -> OpResult<u64> {
    Ok(conn.query_row("SELECT COUNT(*) FROM embedding_queue", [], |r| r.get::<_, i64>(0))?.max(0) as u64)
}

/// The text embedded for an entry, from its search documents.
pub fn entry_text(conn: &Connection, entry: i64) -> OpResult<String> {
    let mut stmt = conn.prepare_cached("SELECT source, body FROM search_docs WHERE entry_id = ?1 ORDER BY id")?;
    let rows = stmt.query_map([entry], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut parts: Vec<String> = Vec::new();
    for row in rows {
        let (source, body) = row?;
        let part = if source == "name" {
            body.replace(['_', '-', '.'], " ")
        } else if let Some(field) = source.strip_prefix("metadata:") {
            let key = field.split_once('.').map_or(field, |(_, k)| k).replace('_', " ");
            format!("{key}: {body}")
        } else {
            body.chars().take(MAX_SIDECAR_CHARS).collect()
        };
        parts.push(part);
    }
    Ok(parts.join("\n").chars().take(MAX_TEXT_CHARS).collect())
}

/// Up to `limit` queued entries with their text. An entry that no longer
/// exists comes back with empty text, so [`store`] simply dequeues it.
pub fn take_pending(conn: &Connection, model: &str, limit: u32) -> OpResult<Vec<Pending>> {
    let mut stmt = conn.prepare_cached(
        "SELECT q.entry_id, q.ticket, e.digest, e.model FROM embedding_queue q \
         LEFT JOIN entry_embeddings e ON e.entry_id = q.entry_id ORDER BY q.entry_id LIMIT ?1",
    )?;
    let rows: Vec<(i64, i64, Option<String>, Option<String>)> =
        stmt.query_map([limit], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(rows.len());
    for (entry, ticket, digest, stored_model) in rows {
        let text = entry_text(conn, entry)?;
        let new_digest = blake3::hash(text.as_bytes()).to_hex().to_string();
        let current = digest.as_deref() == Some(new_digest.as_str()) && stored_model.as_deref() == Some(model);
        out.push(Pending { entry, ticket, text, digest: new_digest, current });
    }
    Ok(out)
}

fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
}

/// Stores vectors for taken entries (`None`: the stored one is current, or
/// the entry has no text) and dequeues each at the ticket it was taken with.
pub fn store(conn: &Connection, model: &str, done: &[(Pending, Option<Vec<f32>>)]) -> OpResult<()> {
    let mut seq: i64 = conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM entry_embeddings", [], |r| r.get(0))?;
    let mut upsert = conn.prepare_cached(
        "INSERT INTO entry_embeddings(entry_id, model, digest, vector, seq) \
         SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM entries WHERE id = ?1) \
         ON CONFLICT(entry_id) DO UPDATE SET model = excluded.model, digest = excluded.digest, \
         vector = excluded.vector, seq = excluded.seq",
    )?;
    let mut clear = conn.prepare_cached("DELETE FROM entry_embeddings WHERE entry_id = ?1")?;
    let mut dequeue = conn.prepare_cached("DELETE FROM embedding_queue WHERE entry_id = ?1 AND ticket = ?2")?;
    for (p, vector) in done {
        match vector {
            Some(v) => {
                seq += 1;
                upsert.execute(params![p.entry, model, p.digest, to_blob(v), seq])?;
            }
            None if p.text.trim().is_empty() => {
                clear.execute([p.entry])?;
            }
            None => {}
        }
        dequeue.execute(params![p.entry, p.ticket])?;
    }
    Ok(())
}

/// All stored vectors in memory, refreshed incrementally from `seq`.
#[derive(Default)]
pub struct VectorIndex {
    model: String,
    dims: usize,
    seq: i64,
    slot: HashMap<i64, usize>,
    ids: Vec<i64>,
    data: Vec<f32>,
}

/// Dot product in eight independent lanes, which the compiler turns into
/// SIMD (a single running sum cannot be reordered, so it stays scalar).
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            lanes[i] += x[i] * y[i];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

#[derive(PartialEq)]
struct Ranked(f32, i64);
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    // Reversed: the heap's top is the worst of the kept results.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other.0.total_cmp(&self.0).then(self.1.cmp(&other.1))
    }
}

impl VectorIndex {
    /// Number of vectors held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no vector is held.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    fn put(&mut self, id: i64, v: &[f32]) {
        match self.slot.get(&id) {
            Some(&i) => self.data[i * self.dims..(i + 1) * self.dims].copy_from_slice(v),
            None => {
                self.slot.insert(id, self.ids.len());
                self.ids.push(id);
                self.data.extend_from_slice(v);
            }
        }
    }

    /// Brings the index in step with the database: new and changed vectors
    /// by `seq`; a full reload when rows were deleted or the model changed.
    pub fn refresh(&mut self, conn: &Connection, model: &str, dims: usize) -> OpResult<()> {
        if self.model != model || self.dims != dims {
            *self = VectorIndex { model: model.to_string(), dims, ..Default::default() };
        }
        let mut stmt = conn.prepare_cached(
            "SELECT entry_id, vector, seq FROM entry_embeddings WHERE seq > ?1 AND model = ?2 ORDER BY seq",
        )?;
        let mut rows = stmt.query(params![self.seq, model])?;
        while let Some(row) = rows.next()? {
            let (id, blob, seq): (i64, Vec<u8>, i64) = (row.get(0)?, row.get(1)?, row.get(2)?);
            let v = from_blob(&blob);
            if v.len() != dims {
                return Err(OpError::internal(format!("stored vector of entry {id} has {} dimensions", v.len())));
            }
            self.put(id, &v);
            self.seq = self.seq.max(seq);
        }
        let stored: i64 =
            conn.query_row("SELECT COUNT(*) FROM entry_embeddings WHERE model = ?1", [model], |r| r.get(0))?;
        if stored as usize != self.ids.len() {
            *self = VectorIndex { model: model.to_string(), dims, ..Default::default() };
            return self.refresh(conn, model, dims);
        }
        Ok(())
    }

    /// The `k` entries most similar to `query` (a unit vector), best first,
    /// among `allowed` when given and at least `floor` similar: exact cosine
    /// over every vector. Also returns how many reach the floor.
    pub fn search(&self, query: &[f32], allowed: Option<&HashSet<i64>>, k: usize, floor: f32) -> Ranking {
        let mut ranking = Ranking { best: -1.0, ..Default::default() };
        if query.len() != self.dims {
            return ranking;
        }
        let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(k + 1);
        for (i, id) in self.ids.iter().enumerate() {
            if allowed.is_some_and(|a| !a.contains(id)) {
                continue;
            }
            ranking.compared += 1;
            let score = dot(&self.data[i * self.dims..(i + 1) * self.dims], query);
            ranking.best = ranking.best.max(score);
            if score < floor {
                continue;
            }
            ranking.matches += 1;
            if k == 0 {
                continue;
            }
            if heap.len() < k {
                heap.push(Ranked(score, *id));
            } else if heap.peek().is_some_and(|worst| score > worst.0) {
                heap.pop();
                heap.push(Ranked(score, *id));
            }
        }
        ranking.hits = heap.into_iter().map(|r| (r.1, r.0)).collect();
        ranking.hits.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranking
    }
}

/// What [`VectorIndex::search`] found.
#[derive(Debug, Default)]
pub struct Ranking {
    /// Entry ids with their similarity, best first.
    pub hits: Vec<(i64, f32)>,
    /// Entries at or above the floor.
    pub matches: usize,
    /// Entries compared (those with a vector, after filters).
    pub compared: usize,
    /// The best similarity seen, above the floor or not (-1 when none).
    pub best: f32,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_keeps_the_best_k() {
        let mut idx = VectorIndex { dims: 2, ..Default::default() };
        idx.put(1, &[1.0, 0.0]);
        idx.put(2, &[0.0, 1.0]);
        idx.put(3, &[0.8, 0.6]);
        idx.put(2, &[0.6, 0.8]);
        let got = idx.search(&[1.0, 0.0], None, 2, -1.0);
        assert_eq!(got.hits.iter().map(|g| g.0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!((got.matches, got.compared), (3, 3));
        let only: HashSet<i64> = [2].into();
        assert_eq!(idx.search(&[1.0, 0.0], Some(&only), 5, -1.0).hits[0].0, 2);
        // Entry 2 (0.6) is under the floor: neither returned nor counted.
        let floored = idx.search(&[1.0, 0.0], None, 5, 0.7);
        assert_eq!(floored.hits.iter().map(|g| g.0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!((floored.matches, floored.compared, floored.best), (2, 3, 1.0));
        let none = idx.search(&[1.0, 0.0], Some(&only), 5, 0.7);
        assert!(none.hits.is_empty() && none.matches == 0 && (none.best - 0.6).abs() < 1e-6);
        assert_eq!(from_blob(&to_blob(&[1.5, -2.0])), vec![1.5, -2.0]);
        let a: Vec<f32> = (0..21).map(|i| i as f32 * 0.5).collect();
        let b: Vec<f32> = (0..21).map(|i| 1.0 - i as f32 * 0.1).collect();
        let plain: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert!((dot(&a, &b) - plain).abs() < 1e-3);
    }
}
