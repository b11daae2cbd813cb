//! The one error type every operation returns, and that every transport
//! (socket, CLI, WASM guest) serialises as `{"code": ..., "message": ...}`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Machine-readable error class. Stable across versions: clients match on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request is malformed: unknown method, wrong payload shape, bad name.
    InvalidInput,
    /// A library, entry, location or sidecar that does not exist.
    NotFound,
    /// The thing already exists (a location added twice).
    Conflict,
    /// The caller may not do this (an extension outside its manifest).
    PermissionDenied,
    /// Too many requests in a window; retry later.
    RateLimited,
    /// A size, memory or CPU budget was exceeded.
    ResourceExhausted,
    /// A dependency is down or busy (database locked, tool missing); retry later.
    Unavailable,
    /// A bug or an I/O failure inside the host.
    Internal,
}

impl ErrorCode {
    /// The wire name, e.g. `invalid_input`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Conflict => "conflict",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::ResourceExhausted => "resource_exhausted",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }
}

/// A typed error whose message tells the reader what to do next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema, thiserror::Error)]
#[error("{}: {message}", code.as_str())]
pub struct OpError {
    /// The error class.
    pub code: ErrorCode,
    /// Human-readable explanation, including what to do about it.
    pub message: String,
}

/// Result of an operation.
pub type OpResult<T> = Result<T, OpError>;

impl OpError {
    /// Builds an error of any class.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
    /// `invalid_input`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidInput, message)
    }
    /// `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    /// `permission_denied`.
    pub fn denied(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::PermissionDenied, message)
    }
    /// `internal`.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Internal, message)
    }
    /// `resource_exhausted`.
    pub fn exhausted(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ResourceExhausted, message)
    }
    /// `unavailable`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unavailable, message)
    }
    /// `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Conflict, message)
    }

    /// Prefixes the message with context, keeping the code.
    pub fn context(mut self, ctx: impl std::fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }
}

impl From<rusqlite::Error> for OpError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ffi::ErrorCode as C;
        match e.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked) => {
                OpError::unavailable(format!("the library database is busy ({e}); retry in a moment"))
            }
            Some(C::DiskFull) => OpError::exhausted(format!("disk full while writing the library: {e}")),
            Some(C::DatabaseCorrupt | C::NotADatabase) => {
                OpError::internal(format!("the library database is damaged ({e}); restore it from a backup"))
            }
            _ => OpError::internal(format!("database error: {e}")),
        }
    }
}

impl From<r2d2::Error> for OpError {
    fn from(e: r2d2::Error) -> Self {
        OpError::unavailable(format!("no database connection available ({e}); retry in a moment"))
    }
}

impl From<std::io::Error> for OpError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::NotFound => OpError::not_found(e.to_string()),
            std::io::ErrorKind::PermissionDenied => OpError::denied(e.to_string()),
            _ => OpError::internal(format!("I/O error: {e}")),
        }
    }
}
