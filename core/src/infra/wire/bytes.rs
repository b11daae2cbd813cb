//! Bytes in JSON payloads: text travels as text, anything else as base64.
//! One pair of helpers so every operation names its fields and reports bad
//! base64 the same way.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{OpError, OpResult};

/// `bytes` as `(text, base64)`: the text when it is valid UTF-8, else the
/// bytes as base64.
pub fn text_or_base64(bytes: Vec<u8>) -> (Option<String>, Option<String>) {
    match String::from_utf8(bytes) {
        Ok(text) => (Some(text), None),
        Err(e) => (None, Some(STANDARD.encode(e.into_bytes()))),
    }
}

/// Decodes the base64 of payload field `field`, an `invalid_input` error
/// naming the field when it is not base64.
pub fn decode_base64(field: &str, b64: &str) -> OpResult<Vec<u8>> {
    STANDARD.decode(b64.as_bytes()).map_err(|e| OpError::invalid(format!("{field} is not valid base64: {e}")))
}
