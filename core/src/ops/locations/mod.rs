//! `locations.add`, `locations.rescan`, `locations.list`, `locations.remove`.

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{OpError, OpResult};
use crate::infra::wire::{OpContext, Operation, Scope};
use crate::library::Library;
use crate::ops::core::NoInput;
use crate::register_operation;
use crate::vdfs::indexer::{self, Location, ScanReport};

/// Input of `action:locations.add.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLocationInput {
    /// Folder to index (absolute, or relative to the daemon's working dir).
    pub path: String,
    /// Follow symbolic links (loops are detected and reported as warnings).
    #[serde(default)]
    pub follow_links: bool,
}

/// Output of adding or rescanning a location.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ScanOutput {
    /// The location.
    pub location: Location,
    /// What the scan did.
    pub scan: ScanReport,
}

/// Runs a scan on the blocking pool, forwarding progress to the caller.
async fn run_scan(ctx: &OpContext, library: &Arc<Library>, location: i64) -> OpResult<ScanReport> {
    let _guard = library.begin_scan(location)?;
    let library = library.clone();
    let progress = ctx.progress.clone();
    tokio::task::spawn_blocking(move || {
        let report = |phase: &str, done: u64, total: Option<u64>| {
            if let Some(p) = &progress {
                let message = match total {
                    Some(t) => format!("{phase} {done}/{t}"),
                    None => format!("{phase} {done}"),
                };
                p.report(phase, done, total, message);
            }
        };
        indexer::scan(&library, location, &report)
    })
    .await
    .map_err(|e| OpError::internal(format!("scan task failed: {e}")))?
}

/// Adds a folder as a location and indexes it.
pub struct AddLocation;

impl Operation for AddLocation {
    const METHOD: &'static str = "action:locations.add.input.v1";
    const DESCRIPTION: &'static str = "Add a folder as a location and index it";
    const SCOPE: Scope = Scope::Library;
    type Input = AddLocationInput;
    type Output = ScanOutput;

    async fn execute(ctx: OpContext, input: AddLocationInput) -> OpResult<ScanOutput> {
        let library = ctx.library()?.clone();
        let path = PathBuf::from(&input.path);
        if input.path.contains('\0') {
            return Err(OpError::invalid("path contains a NUL byte"));
        }
        let lib = library.clone();
        let (row, _) = tokio::task::spawn_blocking(move || {
            let mut conn = lib.connection()?;
            indexer::add_location(&mut conn, &path, input.follow_links)
        })
        .await
        .map_err(|e| OpError::internal(format!("task failed: {e}")))??;
        let scan = run_scan(&ctx, &library, row).await?;
        let (_, location) = library.read(move |c| indexer::find_location_by_row(c, row)).await?;
        Ok(ScanOutput { location, scan })
    }
}
register_operation!(AddLocation);

/// Input of `action:locations.rescan.input.v1`: the location by id or path.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationRef {
    /// Location id.
    #[serde(default)]
    pub id: Option<Uuid>,
    /// Location folder.
    #[serde(default)]
    pub path: Option<String>,
}

async fn resolve(library: &Arc<Library>, r: LocationRef) -> OpResult<(i64, Location)> {
    library.read(move |c| indexer::find_location(c, r.id, r.path.as_deref())).await
}

/// Rescans a location incrementally.
pub struct RescanLocation;

impl Operation for RescanLocation {
    const METHOD: &'static str = "action:locations.rescan.input.v1";
    const DESCRIPTION: &'static str = "Rescan a location: only new and changed files are read";
    const SCOPE: Scope = Scope::Library;
    type Input = LocationRef;
    type Output = ScanOutput;

    async fn execute(ctx: OpContext, input: LocationRef) -> OpResult<ScanOutput> {
        let library = ctx.library()?.clone();
        let (row, _) = resolve(&library, input).await?;
        let scan = run_scan(&ctx, &library, row).await?;
        let (_, location) = library.read(move |c| indexer::find_location_by_row(c, row)).await?;
        Ok(ScanOutput { location, scan })
    }
}
register_operation!(RescanLocation);

/// Lists locations.
pub struct ListLocations;

impl Operation for ListLocations {
    const METHOD: &'static str = "query:locations.list.v1";
    const DESCRIPTION: &'static str = "List the library's locations";
    const SCOPE: Scope = Scope::Library;
    type Input = NoInput;
    type Output = Vec<Location>;

    async fn execute(ctx: OpContext, _: NoInput) -> OpResult<Vec<Location>> {
        ctx.library()?.read(indexer::list_locations).await
    }
}
register_operation!(ListLocations);

/// Output of `action:locations.remove.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RemoveLocationOutput {
    /// The removed location.
    pub removed: Uuid,
    /// Entries removed with it.
    pub entries: u64,
}

/// Removes a location and its entries (the folder on disk is untouched).
pub struct RemoveLocation;

impl Operation for RemoveLocation {
    const METHOD: &'static str = "action:locations.remove.input.v1";
    const DESCRIPTION: &'static str = "Forget a location and its entries (files on disk are untouched)";
    const SCOPE: Scope = Scope::Library;
    type Input = LocationRef;
    type Output = RemoveLocationOutput;

    async fn execute(ctx: OpContext, input: LocationRef) -> OpResult<RemoveLocationOutput> {
        let library = ctx.library()?.clone();
        let (row, location) = resolve(&library, input).await?;
        let _guard = library.begin_scan(row)?;
        library
            .write(move |tx| {
                tx.execute("DELETE FROM locations WHERE id = ?1", [row])?;
                Ok(())
            })
            .await?;
        Ok(RemoveLocationOutput { removed: location.id, entries: location.entries })
    }
}
register_operation!(RemoveLocation);
