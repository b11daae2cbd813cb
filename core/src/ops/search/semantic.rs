//! `search.semantic`: entries ranked by meaning, and the `embed_entries` job
//! that catches the vectors up with changed entries.
//!
//! Triggers queue every entry whose names, metadata or text sidecars change.
//! A search first embeds what is queued, for up to a second and a half; what
//! is left (after indexing a large folder) goes to `embed_entries` in the
//! background, and the search ranks what has vectors, saying how many are
//! still pending.
//!
//! Only entries at least [`DEFAULT_MIN_SCORE`] similar (cosine) to the query
//! come back and count as matches. With the local model, a short query and
//! a document about the same thing score 0.29 to 0.7 (the low end for a scan
//! whose text sits among its file name and metadata), while twenty
//! unrelated queries over 340 log lines of five formats never passed 0.21:
//! without a floor every entry is a "match", down to noise. Meaningless
//! names (a temporary folder's `.tmpBp7ZvJ`) come nearer some queries than
//! that, so the floor rises to the query's own noise level where it is
//! higher ([`crate::services::ai::noise`]). A caller's `min_score` replaces
//! both.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::default_limit;
use crate::Core;
use crate::error::{OpError, OpResult};
use crate::infra::job::{Interrupt, JobHandle, JobState, Outcome};
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope};
use crate::library::Library;
use crate::ops::vdfs::check_limit;
use crate::register_operation;
use crate::services::ai::embed::{DIMENSIONS, MODEL_NAME};
use crate::vdfs::search::{MatchReason, MetadataFilter, SearchHit, filtered_ids};
use crate::vdfs::{entry, semantic};

/// Kind of the job that embeds queued entries.
pub const KIND_EMBED: &str = "embed_entries";
/// How long a search embeds queued entries itself before leaving the rest
/// to the `embed_entries` job (a CLI without a daemon exits before a job
/// could finish, so small backlogs are best done in the call).
const INLINE_BUDGET: std::time::Duration = std::time::Duration::from_millis(1500);
/// Entries embedded per batch.
const BATCH: u32 = 64;
/// Longest query, in bytes.
const MAX_QUERY_BYTES: usize = 4096;
/// Least similarity of a match, unless the caller asks for another.
pub const DEFAULT_MIN_SCORE: f64 = 0.25;

/// Input of `query:search.semantic.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SemanticInput {
    /// What to look for, in words; nothing needs to match literally.
    pub query: String,
    /// Only entries of this kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Only entries whose metadata has these values.
    #[serde(default, rename = "where")]
    pub filters: Vec<MetadataFilter>,
    /// Most results, 1 to 10000 (default 50).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Least cosine similarity of a match, -1 to 1: entries below it are
    /// neither returned nor counted. By default 0.25, or higher for a query
    /// that meaningless names come close to (see `min_score` in the output).
    #[serde(default)]
    pub min_score: Option<f64>,
}

/// Output of `query:search.semantic.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SemanticOutput {
    /// Entries, most similar first; `score` is the cosine similarity.
    pub results: Vec<SearchHit>,
    /// Matches: entries at least `min_score` similar.
    pub total: u64,
    /// Entries compared (those with a vector, after filters).
    pub compared: u64,
    /// The floor applied: the caller's, else 0.25 or the query's noise level
    /// when that is higher.
    pub min_score: f64,
    /// The best similarity of any entry compared, match or not (absent
    /// when none was compared): how close the nearest miss came.
    pub best_score: Option<f64>,
    /// Entries still waiting for a vector (not ranked yet).
    pub pending: u64,
    /// The job embedding them, when one runs.
    pub job_id: Option<Uuid>,
}

/// Embeds up to `limit` queued entries; returns how many were taken.
async fn embed_some(core: &Arc<Core>, library: &Arc<Library>, limit: u32) -> OpResult<usize> {
    let taken = library.read(move |c| semantic::take_pending(c, MODEL_NAME, limit)).await?;
    if taken.is_empty() {
        return Ok(0);
    }
    let todo: Vec<usize> =
        (0..taken.len()).filter(|&i| !taken[i].current && !taken[i].text.trim().is_empty()).collect();
    let texts: Vec<String> = todo.iter().map(|&i| taken[i].text.clone()).collect();
    let mut vectors = if texts.is_empty() { Vec::new() } else { core.ai().embedder.embed(texts).await? }.into_iter();
    let mut done: Vec<(semantic::Pending, Option<Vec<f32>>)> = taken.into_iter().map(|p| (p, None)).collect();
    for i in todo {
        done[i].1 = vectors.next();
    }
    let n = done.len();
    library.write(move |tx| semantic::store(tx, MODEL_NAME, &done)).await?;
    Ok(n)
}

/// The running or queued embedding job of a library (taken on here when
/// the process that queued it stopped), else a new one.
async fn ensure_job(core: &Arc<Core>, library: &Arc<Library>) -> OpResult<Uuid> {
    for state in [JobState::Running, JobState::Queued] {
        if let Some(j) = core.jobs().list(library, Some(state), 1000).await?.into_iter().find(|j| j.kind == KIND_EMBED)
        {
            core.jobs().adopt(library, &j).await?;
            return Ok(j.id);
        }
    }
    core.jobs().dispatch(library, KIND_EMBED, "core", KIND_EMBED, json!({})).await
}

/// Body of the `embed_entries` job: batches until the queue is empty,
/// stopping at pauses and cancels (a resumed job simply continues).
async fn run_embed_job(
    core: Arc<Core>,
    handle: Arc<JobHandle>,
    _input: Value,
    _checkpoint: Option<Value>,
) -> OpResult<Outcome> {
    let library = handle.library().clone();
    let mut done = 0u64;
    loop {
        if handle.interrupt() != Interrupt::None {
            return Ok(Outcome::Interrupted);
        }
        let n = embed_some(&core, &library, BATCH).await? as u64;
        if n == 0 {
            return Ok(Outcome::Completed(json!({ "embedded": done })));
        }
        done += n;
        handle.add_items(n);
        let left = library.read(semantic::pending_count).await?;
        let fraction = done as f32 / (done + left).max(1) as f32;
        handle.report_progress(fraction, &format!("embedded {done}, {left} to go")).await?;
    }
}
crate::register_job_kind!(KIND_EMBED, run_embed_job);

/// Ranks entries by meaning.
pub struct SemanticSearch;

impl Operation for SemanticSearch {
    const METHOD: &'static str = "query:search.semantic.v1";
    const DESCRIPTION: &'static str = "Entries ranked by meaning (embeddings of names, metadata and text sidecars)";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = SemanticInput;
    type Output = SemanticOutput;

    async fn execute(ctx: OpContext, input: SemanticInput) -> OpResult<SemanticOutput> {
        let limit = check_limit(input.limit)?;
        if input.query.trim().is_empty() {
            return Err(OpError::invalid("query is empty; say what you are looking for"));
        }
        if input.query.len() > MAX_QUERY_BYTES {
            return Err(OpError::invalid(format!("query is over {MAX_QUERY_BYTES} bytes")));
        }
        if let Some(floor) = input.min_score
            && !(-1.0..=1.0).contains(&floor)
        {
            return Err(OpError::invalid(format!("min_score {floor} is not a similarity; give -1 to 1")));
        }
        let library = ctx.library()?.clone();
        let core = &ctx.core;
        let embedder = &core.ai().embedder;
        let query = embedder.embed(vec![input.query.clone()]).await?.pop().unwrap_or_default();
        let min_score = match input.min_score {
            Some(floor) => floor,
            None => DEFAULT_MIN_SCORE.max(f64::from(embedder.noise_floor(&query).await?)),
        };
        let started = std::time::Instant::now();
        let mut pending = library.read(semantic::pending_count).await?;
        while pending > 0 && started.elapsed() < INLINE_BUDGET && embed_some(core, &library, BATCH).await? > 0 {
            pending = library.read(semantic::pending_count).await?;
        }
        let job_id = if pending > 0 { Some(ensure_job(core, &library).await?) } else { None };
        let lib = library.clone();
        let (kind, filters) = (input.kind, input.filters);
        let ranking = library
            .read(move |c| {
                let allowed = filtered_ids(c, kind.as_deref(), &filters)?;
                let mut index = lib.vectors().lock().unwrap_or_else(|p| p.into_inner());
                index.refresh(c, MODEL_NAME, DIMENSIONS)?;
                Ok(index.search(&query, allowed.as_ref(), limit as usize, min_score as f32))
            })
            .await?;
        let ids: Vec<i64> = ranking.hits.iter().map(|r| r.0).collect();
        let entries = library.read(move |c| entry::get_many(c, &ids)).await?;
        let results = entries
            .into_iter()
            .zip(ranking.hits)
            .map(|((_, entry), (_, score))| SearchHit {
                entry,
                score: f64::from(score),
                reasons: vec![MatchReason { source: "semantic".into(), snippet: format!("similarity {score:.3}") }],
            })
            .collect();
        Ok(SemanticOutput {
            results,
            total: ranking.matches as u64,
            compared: ranking.compared as u64,
            min_score,
            best_score: (ranking.compared > 0).then_some(f64::from(ranking.best)),
            pending,
            job_id,
        })
    }
}
register_operation!(SemanticSearch);
