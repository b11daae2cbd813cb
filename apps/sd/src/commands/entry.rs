//! `sd entry`: list, show and create entries, set metadata.

use clap::Subcommand;
use sd_core::OpResult;
use serde_json::json;
use uuid::Uuid;

use crate::ctx::Ctx;
use crate::ctx::parse_pairs;
use crate::output;

#[derive(Subcommand)]
pub enum EntryCmd {
    /// List entries.
    List {
        /// Only children of this entry.
        #[arg(long)]
        parent: Option<Uuid>,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only virtual entries.
        #[arg(long = "virtual")]
        virtual_only: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show an entry with its metadata and sidecars.
    Show { id: Uuid },
    /// Create a virtual entry.
    Create {
        name: String,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        parent: Option<Uuid>,
        /// Metadata `key=value` in your namespace (value parsed as JSON when it is JSON).
        #[arg(long = "meta")]
        meta: Vec<String>,
    },
    /// Set metadata `key=value` (JSON when it parses as JSON, else text).
    Meta {
        id: Uuid,
        #[arg(required = true)]
        pairs: Vec<String>,
        #[arg(long)]
        namespace: Option<String>,
    },
}

pub async fn run(ctx: &mut Ctx, cmd: EntryCmd) -> OpResult<()> {
    let lib = ctx.library().await?;
    match cmd {
        EntryCmd::List { parent, kind, virtual_only, limit, offset } => {
            let payload = json!({ "parent": parent, "kind": kind, "virtual_only": virtual_only, "limit": limit, "offset": offset });
            let v = ctx.call("query:vdfs.list_entries.v1", Some(lib), payload).await?;
            ctx.print(&v, output::entries);
        }
        EntryCmd::Show { id } => {
            let v = ctx.call("query:vdfs.entry.v1", Some(lib), json!({ "id": id })).await?;
            ctx.print(&v, output::entry_detail);
        }
        EntryCmd::Create { name, kind, parent, meta } => {
            let payload = json!({ "name": name, "kind": kind, "parent": parent, "metadata": parse_pairs(&meta)? });
            let v = ctx.call("action:vdfs.create_entry.input.v1", Some(lib), payload).await?;
            ctx.print(&v, |v| println!("Created entry {}", v["entry_id"].as_str().unwrap_or("")));
        }
        EntryCmd::Meta { id, pairs, namespace } => {
            let payload = json!({ "entry_id": id, "namespace": namespace, "set": parse_pairs(&pairs)? });
            let v = ctx.call("action:vdfs.update_metadata.input.v1", Some(lib), payload).await?;
            ctx.print(&v, |v| println!("{}", serde_json::to_string_pretty(&v["metadata"]).unwrap_or_default()));
        }
    }
    Ok(())
}
