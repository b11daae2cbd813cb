//! `sd search`: full-text and semantic search.

use clap::Args;
use sd_core::{OpError, OpResult};
use serde_json::json;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::output;

#[derive(Args)]
pub struct SearchArgs {
    /// Words to find; all must match (with --semantic: what to look for).
    #[arg(default_value = "")]
    pub query: String,
    /// Only this kind.
    #[arg(long)]
    pub kind: Option<String>,
    /// Metadata filter `namespace.key=value`; repeatable.
    #[arg(long = "where")]
    pub filters: Vec<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Rank by meaning (local embeddings) instead of matching words.
    #[arg(long)]
    pub semantic: bool,
    /// With --semantic: the least similarity (cosine, -1 to 1) of a match
    /// (default 0.25, or the query's noise level when higher).
    #[arg(long, requires = "semantic", allow_hyphen_values = true)]
    pub min_score: Option<f64>,
}

/// Runs `sd search`.
pub async fn run(ctx: &mut Ctx, args: SearchArgs) -> OpResult<()> {
    let lib = ctx.library().await?;
    let filters = args
        .filters
        .iter()
        .map(|f| f.parse::<sd_core::vdfs::search::MetadataFilter>())
        .collect::<OpResult<Vec<_>>>()?;
    let mut payload = json!({ "query": args.query, "kind": args.kind, "where": filters, "limit": args.limit });
    if !args.semantic {
        let v = ctx.call("query:search.v1", Some(lib), payload).await?;
        ctx.print(&v, output::search);
        return Ok(());
    }
    if let Some(floor) = args.min_score {
        payload["min_score"] = json!(floor);
    }
    let mut v = ctx.call("query:search.semantic.v1", Some(lib), payload.clone()).await?;
    // Entries still waiting for vectors would be missing from the ranking:
    // finish embedding them first (with a progress bar), then rank again,
    // rather than leave the job to a process that may never come.
    if let Some(job) = v["job_id"].as_str().filter(|_| v["pending"].as_u64().unwrap_or(0) > 0) {
        let job: Uuid = job.parse().map_err(|_| OpError::internal("search answered a bad job id"))?;
        ctx.call_with_progress("action:jobs.run.input.v1", Some(lib), json!({ "id": job })).await?;
        v = ctx.call("query:search.semantic.v1", Some(lib), payload).await?;
    }
    ctx.print(&v, output::search);
    Ok(())
}
