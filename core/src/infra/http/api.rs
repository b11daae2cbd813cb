//! The page's two ways in: `POST /api/call` runs one operation through the
//! registry, and `GET /api/events` streams the library's jobs and events.
//! Both run as [`Caller::Ui`](crate::Caller::Ui); neither adds an operation
//! of its own.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::{CALLER, Dashboard};
use crate::error::{ErrorCode, OpError};
use crate::infra::event::{self, Event};

/// How often the stream looks for changed jobs and new events.
const POLL: Duration = Duration::from_millis(250);
/// Jobs the stream reports, newest first.
const JOBS_SHOWN: u32 = 50;
/// Events read per poll; more wait for the next one.
const EVENTS_PER_POLL: u32 = 200;
/// The kinds the page reacts to.
const EVENT_KINDS: &[&str] = &["job.", "location.", "extension.", "metadata.updated"];

/// HTTP status for an error code.
fn status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::InvalidInput => StatusCode::BAD_REQUEST,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::ResourceExhausted => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn error(e: OpError) -> Response {
    (status(e.code), Json(json!({ "error": e }))).into_response()
}

/// Body of `POST /api/call`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    method: String,
    #[serde(default)]
    library_id: Option<Uuid>,
    #[serde(default)]
    payload: Value,
}

/// Runs one operation: `{"ok": output}` or `{"error": {code, message}}`.
pub async fn call(State(dashboard): State<Arc<Dashboard>>, body: Result<Json<CallRequest>, JsonRejection>) -> Response {
    let request = match body {
        Ok(Json(r)) => r,
        Err(e) => {
            let message = format!(
                "send {{\"method\", \"library_id\", \"payload\"}} as JSON with Content-Type: application/json ({})",
                e.body_text()
            );
            return error(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                OpError::exhausted(message)
            } else {
                OpError::invalid(message)
            });
        }
    };
    let core = match dashboard.core() {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    match core.execute_json_operation(&request.method, request.library_id, request.payload, CALLER).await {
        Ok(v) => Json(json!({ "ok": v })).into_response(),
        Err(e) => error(e),
    }
}

/// Query of `GET /api/events`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    library_id: Uuid,
}

/// What one open stream remembers between polls.
struct Follow {
    core: Arc<crate::Core>,
    library: Uuid,
    last_jobs: String,
    seq: Option<i64>,
    pending: VecDeque<SseEvent>,
    ended: bool,
}

impl Follow {
    async fn call(&self, method: &str, payload: Value) -> Result<Value, OpError> {
        self.core.execute_json_operation(method, Some(self.library), payload, CALLER).await
    }

    /// Queues what changed since the last poll: the job list when it
    /// differs, and new events.
    async fn poll(&mut self) {
        let jobs = self.call("query:jobs.list.v1", json!({ "limit": JOBS_SHOWN })).await;
        let events = match self.seq {
            None => self.call("query:events.list.v1", json!({ "limit": 1 })).await,
            Some(after) => self.call("query:events.list.v1", json!({ "after": after, "limit": EVENTS_PER_POLL })).await,
        };
        match jobs.and_then(|j| Ok((j, events?))) {
            Ok((jobs, events)) => {
                let text = jobs.to_string();
                if text != self.last_jobs {
                    self.pending.push_back(SseEvent::default().event("jobs").data(&text));
                    self.last_jobs = text;
                }
                let list: Vec<Event> = serde_json::from_value(events["events"].clone()).unwrap_or_default();
                match self.seq {
                    // The stream starts at the present.
                    None => self.seq = events["last_seq"].as_i64(),
                    Some(after) => {
                        self.seq = Some(list.last().map_or(after, |e| e.seq));
                        let wanted =
                            list.into_iter().filter(|e| EVENT_KINDS.iter().any(|k| event::matches(k, &e.kind)));
                        for e in wanted {
                            self.pending.push_back(SseEvent::default().event("event").data(json!(e).to_string()));
                        }
                    }
                }
            }
            Err(e) => {
                self.pending.push_back(SseEvent::default().event("failure").data(json!(e).to_string()));
                self.ended = e.code == ErrorCode::NotFound;
            }
        }
    }
}

/// Streams `jobs` (the job list, whenever it changes) and `event` (each new
/// event) as server-sent events, until the page goes or the library does.
pub async fn events(
    State(dashboard): State<Arc<Dashboard>>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return error(OpError::invalid("give the library: /api/events?library_id=<uuid>"));
    };
    let core = match dashboard.core() {
        Ok(c) => c,
        Err(e) => return error(e),
    };
    if let Err(e) = core.libraries().get(query.library_id).await {
        return error(e);
    }
    let follow = Follow {
        core,
        library: query.library_id,
        last_jobs: String::new(),
        seq: None,
        pending: VecDeque::new(),
        ended: false,
    };
    let stream = futures::stream::unfold((follow, true), |(mut follow, mut first)| async move {
        loop {
            if let Some(event) = follow.pending.pop_front() {
                return Some((Ok::<_, Infallible>(event), (follow, first)));
            }
            if follow.ended {
                return None;
            }
            if !first {
                tokio::time::sleep(POLL).await;
            }
            first = false;
            follow.poll().await;
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}
