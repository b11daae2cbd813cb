//! `events.list` and `events.follow`: the library's event log, for people
//! and scripts (`sd events`). Extensions receive events through `on_event`.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{OpError, OpResult};
use crate::infra::event::{self, Event};
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Progress, Scope};
use crate::register_operation;

/// Input of `query:events.list.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// Only events after this sequence number (default: the last `limit`).
    #[serde(default)]
    pub after: Option<i64>,
    /// Only these kinds, or prefixes such as `entry.`.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// Most events, 1 to 1000 (default 100).
    #[serde(default = "default_limit")]
    pub limit: u32,
}

fn default_limit() -> u32 {
    100
}

/// Longest silence on a follow stream.
const HEARTBEAT: Duration = Duration::from_secs(5);

/// Output of `query:events.list.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ListOutput {
    /// Events, oldest first.
    pub events: Vec<Event>,
    /// The newest sequence number in the log.
    pub last_seq: i64,
}

fn check_kinds(kinds: &[String]) -> OpResult<()> {
    for k in kinds {
        event::check_pattern(k).map_err(OpError::invalid)?;
    }
    Ok(())
}

fn wanted(kinds: &[String], ev: &Event) -> bool {
    kinds.is_empty() || kinds.iter().any(|k| event::matches(k, &ev.kind))
}

/// Lists events of the library.
pub struct List;

impl Operation for List {
    const METHOD: &'static str = "query:events.list.v1";
    const DESCRIPTION: &'static str =
        "Events of the library, oldest first: entries, metadata, sidecars, jobs, extensions";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = ListInput;
    type Output = ListOutput;

    async fn execute(ctx: OpContext, input: ListInput) -> OpResult<ListOutput> {
        if input.limit == 0 || input.limit > 1000 {
            return Err(OpError::invalid("limit must be 1 to 1000"));
        }
        check_kinds(&input.kinds)?;
        let library = ctx.library()?.clone();
        let id = library.id();
        let (limit, after) = (input.limit, input.after);
        let (mut events, last_seq) = library
            .read(move |c| {
                let last = event::last_seq(c)?;
                let from = after.unwrap_or_else(|| (last - i64::from(limit)).max(0));
                Ok((event::after(c, id, from, limit)?, last))
            })
            .await?;
        events.retain(|e| wanted(&input.kinds, e));
        Ok(ListOutput { events, last_seq })
    }
}
register_operation!(List);

/// Input of `query:events.follow.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FollowInput {
    /// Only these kinds, or prefixes such as `job.`.
    #[serde(default)]
    pub kinds: Vec<String>,
}

/// Streams new events as progress frames until the client goes away.
pub struct Follow;

impl Operation for Follow {
    const METHOD: &'static str = "query:events.follow.v1";
    const DESCRIPTION: &'static str = "Stream the library's events live (each as a progress frame) until interrupted";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Person;
    const EFFECT: Effect = Effect::Read;
    type Input = FollowInput;
    type Output = ListOutput;

    async fn execute(ctx: OpContext, input: FollowInput) -> OpResult<ListOutput> {
        check_kinds(&input.kinds)?;
        let sink = ctx.progress.clone().ok_or_else(|| {
            OpError::invalid(
                "events.follow streams progress frames; call it through the socket or `sd events --follow`",
            )
        })?;
        let library = ctx.library()?.clone();
        let id = library.id();
        let mut cursor = library.read(event::last_seq).await?;
        // A quiet stream still sends a frame now and then: a client that went
        // away is only noticed when a frame to it fails.
        let mut last_frame = std::time::Instant::now();
        while !sink.is_closed() {
            if last_frame.elapsed() >= HEARTBEAT {
                sink.send(Progress {
                    phase: "waiting".into(),
                    done: cursor.max(0) as u64,
                    total: None,
                    message: "waiting for events".into(),
                    detail: None,
                });
                last_frame = std::time::Instant::now();
            }
            let from = cursor;
            let batch = library.read(move |c| event::after(c, id, from, 256)).await?;
            for ev in &batch {
                cursor = ev.seq;
                if wanted(&input.kinds, ev) {
                    last_frame = std::time::Instant::now();
                    sink.send(Progress {
                        phase: ev.kind.clone(),
                        done: ev.seq.max(0) as u64,
                        total: None,
                        message: format!("{} {}", ev.kind, ev.entry_id.map(|e| e.to_string()).unwrap_or_default()),
                        detail: serde_json::to_value(ev).ok(),
                    });
                }
            }
            if batch.is_empty() {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(ListOutput { events: Vec::new(), last_seq: cursor })
    }
}
register_operation!(Follow);
