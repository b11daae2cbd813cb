use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// A progress report from a long operation (indexing), streamed to the caller
/// before the final result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Progress {
    /// Current phase, e.g. `walking`, `hashing`, `writing`.
    pub phase: String,
    /// Units done in this phase.
    pub done: u64,
    /// Units in this phase, when known.
    pub total: Option<u64>,
    /// Short human message.
    pub message: String,
    /// Structured details, for clients that want more than the message
    /// (a job's state and counters, for `jobs.watch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

/// Where an operation sends progress. Sending never blocks and never fails the
/// operation: a caller that went away simply stops receiving.
#[derive(Debug, Clone)]
pub struct ProgressSink(mpsc::UnboundedSender<Progress>);

impl ProgressSink {
    /// A sink and the receiver that reads from it.
    pub fn channel() -> (Self, mpsc::UnboundedReceiver<Progress>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self(tx), rx)
    }

    /// Reports progress.
    pub fn report(&self, phase: &str, done: u64, total: Option<u64>, message: impl Into<String>) {
        self.send(Progress { phase: phase.to_string(), done, total, message: message.into(), detail: None });
    }

    /// Whether the receiver went away (the client disconnected).
    pub fn is_closed(&self) -> bool {
        self.0.is_closed()
    }

    /// Sends a progress report as built by the caller.
    pub fn send(&self, progress: Progress) {
        let _ = self.0.send(progress);
    }
}
