//! `sd search`: full-text and semantic search.

use clap::Args;
use sd_core::OpResult;
use serde_json::json;

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
}

/// Runs `sd search`.
pub async fn run(ctx: &mut Ctx, args: SearchArgs) -> OpResult<()> {
    let lib = ctx.library().await?;
    let filters = args
        .filters
        .iter()
        .map(|f| f.parse::<sd_core::vdfs::search::MetadataFilter>())
        .collect::<OpResult<Vec<_>>>()?;
    let payload = json!({ "query": args.query, "kind": args.kind, "where": filters, "limit": args.limit });
    let method = if args.semantic { "query:search.semantic.v1" } else { "query:search.v1" };
    let v = ctx.call(method, Some(lib), payload).await?;
    ctx.print(&v, output::search);
    Ok(())
}
