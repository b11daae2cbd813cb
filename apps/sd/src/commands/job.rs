//! `sd job`: list, follow, pause, resume, cancel and run jobs.

use clap::Subcommand;
use sd_core::OpResult;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend::Backend;
use crate::ctx::Ctx;
use crate::output;

#[derive(Subcommand)]
pub enum JobCmd {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state (queued, running, paused, completed, failed, cancelled).
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a job with its input and last checkpoint.
    Info { id: Uuid },
    /// Follow a job until it stops: a progress bar on a terminal, JSON lines with --json.
    Watch { id: Uuid },
    /// Ask a job to pause at its next check.
    Pause { id: Uuid },
    /// Continue a paused job from its last checkpoint (without a daemon,
    /// following it to its end).
    Resume { id: Uuid },
    /// Cancel a job.
    Cancel { id: Uuid },
    /// Run a queued job that no process runs (its command exited) here, to its end.
    Run { id: Uuid },
}

/// Follows a job to its end; JSON lines with --json, a bar otherwise.
pub async fn watch(ctx: &mut Ctx, lib: Uuid, id: Uuid) -> OpResult<Value> {
    let json_out = ctx.json;
    let payload = json!({ "id": id });
    let info = if json_out {
        ctx.backend
            .call_with("query:jobs.watch.v1", Some(lib), payload, |p| {
                let line = json!({
                    "id": id, "state": p.phase, "progress": p.done as f64 / 10_000.0,
                    "message": p.message, "detail": p.detail,
                });
                println!("{line}");
            })
            .await?
    } else {
        ctx.backend.call("query:jobs.watch.v1", Some(lib), payload, true).await?
    };
    Ok(info)
}

pub async fn run(ctx: &mut Ctx, cmd: JobCmd) -> OpResult<()> {
    let lib = ctx.library().await?;
    match cmd {
        JobCmd::List { state } => {
            let v = ctx.call("query:jobs.list.v1", Some(lib), json!({ "state": state })).await?;
            ctx.print(&v, output::jobs);
        }
        JobCmd::Info { id } => {
            let v = ctx.call("query:jobs.info.v1", Some(lib), json!({ "id": id })).await?;
            ctx.print(&v, output::job);
        }
        JobCmd::Run { id } => {
            let v = ctx.call_with_progress("action:jobs.run.input.v1", Some(lib), json!({ "id": id })).await?;
            ctx.print(&v, output::job);
        }
        JobCmd::Watch { id } => {
            let v = watch(ctx, lib, id).await?;
            if ctx.json {
                println!("{v}");
            } else {
                output::job(&v);
            }
        }
        // Without a daemon the job runs in this process: follow it, or it
        // would stop again as soon as the command exits.
        JobCmd::Resume { id } if matches!(ctx.backend, Backend::Local(_)) => {
            ctx.call("action:jobs.resume.input.v1", Some(lib), json!({ "id": id })).await?;
            let v = ctx.call_with_progress("query:jobs.watch.v1", Some(lib), json!({ "id": id })).await?;
            ctx.print(&v, output::job);
        }
        JobCmd::Pause { id } | JobCmd::Resume { id } | JobCmd::Cancel { id } => {
            let method = match cmd {
                JobCmd::Pause { .. } => "action:jobs.pause.input.v1",
                JobCmd::Resume { .. } => "action:jobs.resume.input.v1",
                _ => "action:jobs.cancel.input.v1",
            };
            let v = ctx.call(method, Some(lib), json!({ "id": id })).await?;
            ctx.print(&v, output::job);
        }
    }
    Ok(())
}
