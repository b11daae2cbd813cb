//! Frames: a 4-byte big-endian length, then that many bytes of UTF-8 JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio_util::codec::LengthDelimitedCodec;
use uuid::Uuid;

use crate::error::OpError;
use crate::infra::wire::{MAX_PAYLOAD_BYTES, Progress};

/// Largest frame accepted: a maximal payload plus room for the envelope.
pub const MAX_FRAME_BYTES: usize = MAX_PAYLOAD_BYTES + 64 * 1024;

/// The frame codec both sides use.
pub fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder().big_endian().length_field_length(4).max_frame_length(MAX_FRAME_BYTES).new_codec()
}

/// A request frame.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Chosen by the client (a number or string) and echoed in every frame
    /// answering this request, so requests may be pipelined.
    pub id: Value,
    /// Versioned method string.
    pub method: String,
    /// Library, for library-scoped operations.
    #[serde(default)]
    pub library_id: Option<Uuid>,
    /// Operation input.
    #[serde(default)]
    pub payload: Value,
}

/// A response frame: zero or more `progress` frames, then one `ok` or `error`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Response {
    /// The request's id (`null` when the request could not be read).
    pub id: Value,
    /// The result, on success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ok: Option<Value>,
    /// The error, on failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<OpError>,
    /// A progress report; more frames follow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<Progress>,
}

impl Response {
    /// The final frame for a result.
    pub fn result(id: Value, result: Result<Value, OpError>) -> Self {
        match result {
            Ok(v) => Self { id, ok: Some(v), error: None, progress: None },
            Err(e) => Self { id, ok: None, error: Some(e), progress: None },
        }
    }

    /// A progress frame.
    pub fn progress(id: Value, p: Progress) -> Self {
        Self { id, ok: None, error: None, progress: Some(p) }
    }
}
