//! `jobs.dispatch`, `jobs.pause`, `jobs.resume`, `jobs.cancel`, `jobs.list`,
//! `jobs.info`, `jobs.watch`, `jobs.run`.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::Caller;
use crate::error::{OpError, OpResult};
use crate::infra::job::{JobInfo, JobState, KIND_EXTENSION};
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope};
use crate::library::Library;
use crate::ops::locations::KIND_INDEX;
use crate::register_operation;

/// Input of `action:jobs.dispatch.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DispatchInput {
    /// Extension whose job to run (an extension may only run its own; omit it
    /// there). Omit it with `job: "index_location"` for the core job.
    #[serde(default)]
    pub extension: Option<String>,
    /// Job name, as listed in the extension's manifest.
    pub job: String,
    /// The job's input (its initial state).
    #[serde(default)]
    pub input: Value,
}

/// Starts a job.
pub struct Dispatch;

impl Operation for Dispatch {
    const METHOD: &'static str = "action:jobs.dispatch.input.v1";
    const DESCRIPTION: &'static str = "Start a job: an extension's job, or `index_location`";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Write;
    type Input = DispatchInput;
    type Output = JobInfo;

    async fn execute(ctx: OpContext, input: DispatchInput) -> OpResult<JobInfo> {
        let library = ctx.library()?.clone();
        let extension = match (&ctx.caller, input.extension) {
            (Caller::Extension(me), Some(other)) if **me != *other => {
                return Err(OpError::denied(format!("extension `{me}` may not start jobs of `{other}`")));
            }
            // An extension may index; the job is then its own to watch and steer.
            (Caller::Extension(_), None) if input.job == KIND_INDEX => None,
            (Caller::Extension(me), _) => Some(me.to_string()),
            (_, e) => e,
        };
        let jobs = ctx.core.jobs();
        let id = match extension {
            None if input.job == KIND_INDEX => {
                let location: Uuid = serde_json::from_value(input.input["location"].clone())
                    .map_err(|e| OpError::invalid(format!("index_location needs input {{\"location\": <id>}}: {e}")))?;
                library.read(move |c| crate::vdfs::indexer::find_location(c, Some(location), None)).await?;
                jobs.dispatch(&library, KIND_INDEX, ctx.caller.owner(), KIND_INDEX, input.input).await?
            }
            None => {
                return Err(OpError::invalid(format!(
                    "no core job `{}`; name an `extension`, or use `index_location`",
                    input.job
                )));
            }
            Some(ext) => {
                let manifest = ctx.core.extensions().manifest(&ext)?;
                if !manifest.jobs.iter().any(|j| j.name == input.job) {
                    let names: Vec<_> = manifest.jobs.iter().map(|j| j.name.as_str()).collect();
                    return Err(OpError::not_found(format!(
                        "extension `{ext}` has no job `{}`; it has: {}",
                        input.job,
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    )));
                }
                jobs.dispatch(&library, KIND_EXTENSION, &ext, &input.job, input.input).await?
            }
        };
        jobs.info(&library, id).await
    }
}
register_operation!(Dispatch);

/// Input naming one job.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JobRef {
    /// Job id.
    pub id: Uuid,
}

/// An extension may see and steer only its own jobs.
async fn owned(ctx: &OpContext, id: Uuid) -> OpResult<Arc<Library>> {
    let library = ctx.library()?.clone();
    if let Caller::Extension(me) = &ctx.caller {
        let info = ctx.core.jobs().info(&library, id).await?;
        if *info.owner != **me {
            return Err(OpError::denied(format!("extension `{me}` may not touch job {id} of `{}`", info.owner)));
        }
    }
    Ok(library)
}

/// Operations that steer or read one job; those marked `progress` follow it,
/// streaming its progress to the caller.
macro_rules! job_control_op {
    ($ty:ident, $method:literal, $desc:literal, $effect:ident, $call:ident) => {
        crate::operation!($ty, $method, $desc, Scope::Library, Audience::Any, Effect::$effect,
            JobRef => JobInfo, |ctx, input| {
            let library = owned(&ctx, input.id).await?;
            ctx.core.jobs().$call(&library, input.id).await
        });
    };
    ($ty:ident, $method:literal, $desc:literal, $effect:ident, $call:ident, progress) => {
        crate::operation!($ty, $method, $desc, Scope::Library, Audience::Any, Effect::$effect,
            JobRef => JobInfo, |ctx, input| {
            let library = owned(&ctx, input.id).await?;
            ctx.core.jobs().$call(&library, input.id, ctx.progress.as_ref()).await
        });
    };
}

job_control_op!(Pause, "action:jobs.pause.input.v1", "Ask a job to pause at its next check", Write, pause);
job_control_op!(Resume, "action:jobs.resume.input.v1", "Continue a paused job from its last checkpoint", Write, resume);
job_control_op!(Cancel, "action:jobs.cancel.input.v1", "Cancel a job", Destructive, cancel);
job_control_op!(Info, "query:jobs.info.v1", "One job, with its input and last checkpoint", Read, info);
job_control_op!(
    Watch,
    "query:jobs.watch.v1",
    "Follow a job's progress live until it completes, fails, pauses or is cancelled",
    Read,
    wait,
    progress
);
job_control_op!(
    Run,
    "action:jobs.run.input.v1",
    "Run a queued job that no process runs (its process exited) in this process, following it to its end",
    Write,
    run_here,
    progress
);

/// Input of `query:jobs.list.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// Only jobs in this state.
    #[serde(default)]
    pub state: Option<JobState>,
    /// Most jobs to list (default 100).
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    100
}

/// Lists jobs, newest first.
pub struct List;

impl Operation for List {
    const METHOD: &'static str = "query:jobs.list.v1";
    const DESCRIPTION: &'static str = "Jobs of the library, newest first";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = ListInput;
    type Output = Vec<JobInfo>;

    async fn execute(ctx: OpContext, input: ListInput) -> OpResult<Vec<JobInfo>> {
        let limit = crate::ops::vdfs::check_limit(input.limit)?;
        let mut jobs = ctx.core.jobs().list(ctx.library()?, input.state, limit).await?;
        if let Caller::Extension(me) = &ctx.caller {
            jobs.retain(|j| *j.owner == **me);
        }
        Ok(jobs)
    }
}
register_operation!(List);
