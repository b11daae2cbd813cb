//! `locations.add`, `locations.rescan`, `locations.list`, `locations.remove`,
//! and the daemon's watch on location folders.

pub mod watch;

use std::path::PathBuf;
use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{OpError, OpResult};
use crate::infra::job::{Interrupt, JobHandle, JobState, Outcome};
use crate::infra::wire::{Audience, Caller, Effect, OpContext, Operation, Scope};
use crate::library::Library;
use crate::ops::core::NoInput;
use crate::register_operation;
use crate::vdfs::indexer::{self, Location, ScanObserver, ScanReport};

/// Input of `action:locations.add.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddLocationInput {
    /// Folder to index (absolute, or relative to the daemon's working dir).
    pub path: String,
    /// Follow symbolic links (loops are detected and reported as warnings).
    #[serde(default)]
    pub follow_links: bool,
    /// Wait for the indexing job to finish (default); else return its id.
    #[serde(default = "default_true")]
    pub wait: bool,
}

/// Output of adding or rescanning a location.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ScanOutput {
    /// The location.
    pub location: Location,
    /// The indexing job.
    pub job_id: Uuid,
    /// What the scan did (absent with `wait: false`).
    pub scan: Option<ScanReport>,
}

fn default_true() -> bool {
    true
}

/// Feeds a scan's progress and batches into its job record.
struct JobObserver<'a> {
    handle: &'a Arc<JobHandle>,
    rt: tokio::runtime::Handle,
    last: std::sync::Mutex<(u64, u64)>,
    /// The largest fraction reported: the folders still to compare are
    /// only known as the walk lists them, so a later estimate can be lower.
    shown: std::sync::Mutex<f32>,
}

impl ScanObserver for JobObserver<'_> {
    fn progress(&self, phase: &str, done: u64, total: Option<u64>) {
        let fraction = match (phase, total) {
            // Folders compared of those listed so far: the walk runs only a
            // little ahead of the scan, so the total grows as it goes.
            ("indexing", Some(t)) if t > 0 => 0.02 + 0.97 * (done as f32 / t as f32),
            ("done", _) => 1.0,
            _ => 0.02,
        };
        let fraction = {
            let mut shown = self.shown.lock().unwrap_or_else(|p| p.into_inner());
            *shown = shown.max(fraction);
            *shown
        };
        let message = match total {
            Some(t) => format!("{phase}: {done} of {t} folders"),
            None => format!("{phase}: {done} folders"),
        };
        let _ = self.rt.block_on(self.handle.report_progress(fraction, &message));
    }

    fn batch_committed(&self, report: &ScanReport) {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        self.handle.add_items(report.files_hashed.saturating_sub(last.0));
        self.handle.add_bytes(report.bytes_hashed.saturating_sub(last.1));
        *last = (report.files_hashed, report.bytes_hashed);
        let state = serde_json::json!({ "files_hashed": report.files_hashed, "added": report.added,
            "modified": report.modified, "moved": report.moved });
        if let Err(e) = self.rt.block_on(self.handle.checkpoint(state.to_string())) {
            tracing::warn!(error = %e, "could not checkpoint the indexing job");
        }
    }

    fn should_stop(&self) -> bool {
        self.handle.interrupt() != Interrupt::None
    }
}

/// Kind of the core indexing job; its home is here, with its body, so the
/// scheduler in `infra/job` names no domain.
pub const KIND_INDEX: &str = "index_location";

/// Body of the `index_location` job: an incremental scan. Resuming after a
/// pause or crash is a new scan, which reads only what the interrupted one
/// did not commit.
async fn run_index_job(
    core: Arc<crate::Core>,
    handle: Arc<JobHandle>,
    input: serde_json::Value,
    _checkpoint: Option<serde_json::Value>,
) -> OpResult<Outcome> {
    let location: Uuid = serde_json::from_value(input["location"].clone())
        .map_err(|e| OpError::invalid(format!("index job input needs `location`: {e}")))?;
    let library = handle.library().clone();
    let (row, _) = library.read(move |c| indexer::find_location(c, Some(location), None)).await?;
    let handle = handle.clone();
    let rt = tokio::runtime::Handle::current();
    let lib = library.clone();
    let report = tokio::task::spawn_blocking(move || {
        let _guard = lib.begin_scan(row)?;
        let observer = JobObserver { handle: &handle, rt, last: Default::default(), shown: Default::default() };
        indexer::scan(&lib, row, &observer, Some(core.grants().data_dir()))
    })
    .await
    .map_err(|e| OpError::internal(format!("scan task failed: {e}")))??;
    Ok(match report {
        Some(r) => Outcome::Completed(serde_json::to_value(r).map_err(|e| OpError::internal(e.to_string()))?),
        None => Outcome::Interrupted,
    })
}

crate::register_job_kind!(KIND_INDEX, run_index_job);

/// Runs (or starts) the indexing job of a location.
async fn index(ctx: &OpContext, library: &Arc<Library>, row: i64, wait: bool) -> OpResult<ScanOutput> {
    let (_, location) = library.read(move |c| indexer::find_location_by_row(c, row)).await?;
    let jobs = ctx.core.jobs();
    let input = serde_json::json!({ "location": location.id });
    let job_id = jobs.dispatch(library, KIND_INDEX, ctx.caller.owner(), KIND_INDEX, input).await?;
    if !wait {
        return Ok(ScanOutput { location, job_id, scan: None });
    }
    let info = jobs.wait(library, job_id, ctx.progress.as_ref()).await?;
    let scan = match info.state {
        JobState::Completed => serde_json::from_value(info.output.unwrap_or_default())
            .map_err(|e| OpError::internal(format!("indexing job {job_id} has a malformed report: {e}")))?,
        _ => return Err(crate::infra::job::error_of(&info)),
    };
    let (_, location) = library.read(move |c| indexer::find_location_by_row(c, row)).await?;
    Ok(ScanOutput { location, job_id, scan: Some(scan) })
}

/// Adds a folder as a location and indexes it. Never the data dir or a
/// folder inside it; for an extension, only a folder inside one granted to
/// it, and never one that follows links (they could lead out of the grant).
pub struct AddLocation;

impl Operation for AddLocation {
    const METHOD: &'static str = "action:locations.add.input.v1";
    const DESCRIPTION: &'static str =
        "Add a folder as a location and index it (extensions: only inside folders a person granted them)";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Write;
    type Input = AddLocationInput;
    type Output = ScanOutput;

    async fn execute(ctx: OpContext, input: AddLocationInput) -> OpResult<ScanOutput> {
        let library = ctx.library()?.clone();
        let path = PathBuf::from(&input.path);
        if input.path.contains('\0') {
            return Err(OpError::invalid("path contains a NUL byte"));
        }
        if let Caller::Extension(id) = &ctx.caller
            && input.follow_links
        {
            return Err(OpError::denied(format!(
                "extension `{id}` may not add a location that follows symbolic links: they could lead out of the folders granted to it"
            )));
        }
        let lib = library.clone();
        let follow = input.follow_links;
        let (core, caller) = (ctx.core.clone(), ctx.caller.clone());
        let (row, _) = tokio::task::spawn_blocking(move || {
            let scope = core.grants().scope(&caller)?;
            let mut conn = lib.connection()?;
            indexer::add_location(&mut conn, &path, follow, &|p| scope.check_location(p))
        })
        .await
        .map_err(|e| OpError::internal(format!("task failed: {e}")))??;
        index(&ctx, &library, row, input.wait).await
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
    /// Wait for the indexing job to finish (default); else return its id.
    #[serde(default = "default_true")]
    pub wait: bool,
}

async fn resolve(library: &Arc<Library>, r: &LocationRef) -> OpResult<(i64, Location)> {
    let (id, path) = (r.id, r.path.clone());
    library.read(move |c| indexer::find_location(c, id, path.as_deref())).await
}

/// Rescans a location incrementally.
pub struct RescanLocation;

impl Operation for RescanLocation {
    const METHOD: &'static str = "action:locations.rescan.input.v1";
    const DESCRIPTION: &'static str =
        "Rescan a location: only new and changed files are read (extensions: only inside folders granted to them)";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Write;
    type Input = LocationRef;
    type Output = ScanOutput;

    async fn execute(ctx: OpContext, input: LocationRef) -> OpResult<ScanOutput> {
        let library = ctx.library()?.clone();
        let (row, location) = resolve(&library, &input).await?;
        if let Caller::Extension(id) = &ctx.caller {
            if location.follow_links {
                return Err(OpError::denied(format!(
                    "extension `{id}` may not rescan {}: it follows symbolic links, which could lead out of the folders granted to it",
                    location.path
                )));
            }
            let core = ctx.core.clone();
            let caller = ctx.caller.clone();
            tokio::task::spawn_blocking(move || {
                core.grants().scope(&caller)?.check_location(std::path::Path::new(&location.path))
            })
            .await
            .map_err(|e| OpError::internal(format!("task failed: {e}")))??;
        }
        index(&ctx, &library, row, input.wait).await
    }
}
register_operation!(RescanLocation);

/// Lists locations.
pub struct ListLocations;

impl Operation for ListLocations {
    const METHOD: &'static str = "query:locations.list.v1";
    const DESCRIPTION: &'static str = "List the library's locations";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
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
    const AUDIENCE: Audience = Audience::Person;
    const EFFECT: Effect = Effect::Destructive;
    type Input = LocationRef;
    type Output = RemoveLocationOutput;

    async fn execute(ctx: OpContext, input: LocationRef) -> OpResult<RemoveLocationOutput> {
        let library = ctx.library()?.clone();
        let (row, location) = resolve(&library, &input).await?;
        let _guard = library.begin_scan(row)?;
        let lib = library.clone();
        library
            .write(move |tx| {
                tx.execute("DELETE FROM locations WHERE id = ?1", [row])?;
                lib.sidecars().collect_garbage(tx)?;
                Ok(())
            })
            .await?;
        Ok(RemoveLocationOutput { removed: location.id, entries: location.entries })
    }
}
register_operation!(RemoveLocation);
