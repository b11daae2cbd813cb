//! `search`: full-text search with kind and metadata filters.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::OpResult;
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope};
use crate::ops::vdfs::check_limit;
use crate::register_operation;
use crate::vdfs::search::{self, MetadataFilter, SearchHit};

pub(crate) fn default_limit() -> u32 {
    50
}

/// Input of `query:search.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// Free text; every word must match (as a prefix) the entry's name, a
    /// metadata value or a text sidecar.
    #[serde(default)]
    pub query: String,
    /// Only entries of this kind.
    #[serde(default)]
    pub kind: Option<String>,
    /// Only entries whose metadata has these values.
    #[serde(default, rename = "where")]
    pub filters: Vec<MetadataFilter>,
    /// Page size, 1 to 10000 (default 50).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Results to skip.
    #[serde(default)]
    pub offset: u64,
}

/// Search results.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct SearchOutput {
    /// Matches, best first, each with the reasons it matched.
    pub results: Vec<SearchHit>,
    /// Entries matching in all.
    pub total: u64,
    /// How `results` are ordered: by relevance, or newest first when over
    /// 10,000 entries match (add words to rank by relevance).
    #[serde(default)]
    pub ranking: search::Ranking,
}

/// Searches the library.
pub struct Search;

impl Operation for Search {
    const METHOD: &'static str = "query:search.v1";
    const DESCRIPTION: &'static str = "Full-text search over names, metadata and text sidecars";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = SearchInput;
    type Output = SearchOutput;

    async fn execute(ctx: OpContext, input: SearchInput) -> OpResult<SearchOutput> {
        let limit = check_limit(input.limit)?;
        let (results, total, ranking) = ctx
            .library()?
            .read(move |c| search::search(c, &input.query, input.kind.as_deref(), &input.filters, limit, input.offset))
            .await?;
        Ok(SearchOutput { results, total, ranking })
    }
}
register_operation!(Search);

mod semantic;
pub use semantic::{SemanticInput, SemanticOutput, SemanticSearch};
