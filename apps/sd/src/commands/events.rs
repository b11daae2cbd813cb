//! `sd events`: the library's events, past and live.

use sd_core::OpResult;
use serde_json::{Value, json};

use crate::ctx::Ctx;
use crate::output;

/// `sd events`: past events, then with `--follow` new ones as they happen.
pub async fn run(ctx: &mut Ctx, follow: bool, kinds: Vec<String>, limit: u32) -> OpResult<()> {
    let lib = ctx.library().await?;
    let json_out = ctx.json;
    let print = |ev: &Value| {
        if json_out {
            println!("{ev}");
        } else {
            output::event(ev);
        }
    };
    if !follow {
        let v = ctx.call("query:events.list.v1", Some(lib), json!({ "kinds": kinds, "limit": limit })).await?;
        v["events"].as_array().into_iter().flatten().for_each(print);
        return Ok(());
    }
    let payload = json!({ "kinds": kinds });
    let follow = ctx.backend.call_with("query:events.follow.v1", Some(lib), payload, |p| {
        if let Some(ev) = &p.detail {
            print(ev);
        }
    });
    tokio::select! {
        r = follow => r.map(|_| ()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}
