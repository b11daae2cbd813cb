//! `sd location`: add, rescan, list and remove indexed folders.

use std::path::PathBuf;

use clap::Subcommand;
use sd_core::{OpError, OpResult};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::output;

#[derive(Subcommand)]
pub enum LocationCmd {
    /// Add a folder and index it.
    Add {
        path: PathBuf,
        /// Follow symbolic links (loops are reported as warnings).
        #[arg(long)]
        follow_links: bool,
    },
    /// Rescan a location (by id or path); only new and changed files are read.
    Rescan { location: String },
    /// List locations.
    List,
    /// Forget a location and its entries; files on disk are untouched.
    Remove { location: String },
}

fn location_ref(s: &str) -> Value {
    match s.parse::<Uuid>() {
        Ok(id) => json!({ "id": id }),
        Err(_) => {
            let abs = std::fs::canonicalize(s).map(|p| p.display().to_string()).unwrap_or_else(|_| s.to_string());
            json!({ "path": abs })
        }
    }
}

pub async fn run(ctx: &mut Ctx, cmd: LocationCmd) -> OpResult<()> {
    let lib = ctx.library().await?;
    match cmd {
        LocationCmd::Add { path, follow_links } => {
            // The daemon may run in another directory: send an absolute path.
            let abs = std::fs::canonicalize(&path)
                .map_err(|e| OpError::not_found(format!("cannot open {}: {e}", path.display())))?;
            let payload = json!({ "path": abs.display().to_string(), "follow_links": follow_links });
            let v = ctx.call_with_progress("action:locations.add.input.v1", Some(lib), payload).await?;
            ctx.print(&v, output::scan);
        }
        LocationCmd::Rescan { location } => {
            let v =
                ctx.call_with_progress("action:locations.rescan.input.v1", Some(lib), location_ref(&location)).await?;
            ctx.print(&v, output::scan);
        }
        LocationCmd::List => {
            let v = ctx.call("query:locations.list.v1", Some(lib), Value::Null).await?;
            ctx.print(&v, output::locations);
        }
        LocationCmd::Remove { location } => {
            let v = ctx.call("action:locations.remove.input.v1", Some(lib), location_ref(&location)).await?;
            ctx.print(&v, |v| {
                println!("Removed location {} ({} entries)", v["removed"].as_str().unwrap_or(""), v["entries"])
            });
        }
    }
    Ok(())
}
