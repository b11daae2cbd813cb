//! `sd library`: create, list, remove and choose libraries.

use clap::Subcommand;
use sd_core::{OpError, OpResult};
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::output;

#[derive(Subcommand)]
pub enum LibraryCmd {
    /// Create a library.
    Create { name: String },
    /// List libraries.
    List,
    /// Delete a library with its database and sidecars.
    Remove {
        /// Library id or name.
        library: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Make a library the default for later commands.
    Use {
        /// Library id or name.
        library: String,
    },
}

pub async fn run(ctx: &mut Ctx, cmd: LibraryCmd) -> OpResult<()> {
    match cmd {
        LibraryCmd::Create { name } => {
            let v = ctx.call("action:libraries.create.input.v1", None, json!({ "name": name })).await?;
            ctx.print(&v, |v| {
                println!("Created library {} ({})", v["name"].as_str().unwrap_or(""), v["id"].as_str().unwrap_or(""))
            });
        }
        LibraryCmd::List => {
            let v = Value::Array(ctx.libraries().await?);
            let current = output::read_current_library(&ctx.data_dir);
            ctx.print(&v, |v| output::libraries(v, current));
        }
        LibraryCmd::Remove { library, yes } => {
            let id = ctx.find_library(&library).await?;
            if !yes {
                return Err(OpError::invalid(format!(
                    "removing library {id} deletes its database and sidecars; run again with --yes to confirm"
                )));
            }
            let v = ctx.call("action:libraries.remove.input.v1", None, json!({ "id": id })).await?;
            ctx.print(&v, |_| println!("Removed library {id}"));
        }
        LibraryCmd::Use { library } => {
            let id = ctx.find_library(&library).await?;
            output::write_current_library(&ctx.data_dir, id)?;
            ctx.print(&json!({ "current_library": id }), |_| println!("Using library {id}"));
        }
    }
    Ok(())
}
