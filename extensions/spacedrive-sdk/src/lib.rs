//! Write Spacedrive extensions in safe Rust.
//!
//! ```ignore
//! use spacedrive_sdk::prelude::*;
//!
//! #[extension(id = "hello", name = "Hello", version = "0.1.0")]
//! struct Hello;
//!
//! impl Extension for Hello {
//!     fn init(ctx: &ExtensionContext) -> Result<()> {
//!         let pong = ctx.client().ping("hi")?;
//!         info!("host answered {}", pong.echo);
//!         Ok(())
//!     }
//! }
//! ```
//!
//! `#[extension]` generates the exports of ABI v1 (`plugin_init`,
//! `plugin_cleanup`, `wasm_alloc`, `wasm_free`, `spacedrive_abi_version`)
//! and embeds the crate's `manifest.json` in the module, so the `.wasm` file
//! alone can be installed. `#[spacedrive_operation]` exports a handler for an
//! operation the extension provides. Extension code needs no `unsafe`.

mod ai;
mod client;
mod event;
mod ffi;
mod files;
mod http;
mod job;
mod log;

pub use ai::*;
pub use client::*;
pub use event::{Event, EventKind};
pub use files::{EntryPage, ListQuery, Location};
pub use http::{HttpAuth, HttpRequest, HttpResponse};
pub use job::{INTERRUPTED, JobContext};
pub use spacedrive_sdk_macros::{extension, on_event, spacedrive_job, spacedrive_operation};
pub use uuid::Uuid;

/// The ABI version this SDK speaks.
pub const ABI_VERSION: i32 = 1;

/// An error from the host (or from the extension itself), with the same codes
/// the host uses: `invalid_input`, `not_found`, `permission_denied`,
/// `rate_limited`, `resource_exhausted`, `unavailable`, `internal`, ...
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Error {
    /// Machine-readable class.
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

impl Error {
    /// An error with any code.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_string(), message: message.into() }
    }

    /// An `invalid_input` error.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new("invalid_input", message)
    }

    /// An `internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("internal", message)
    }

    /// Whether this error has `code`.
    pub fn is(&self, code: &str) -> bool {
        self.code == code
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::invalid(format!("JSON: {e}"))
    }
}

/// Result with the SDK's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An extension's lifecycle. `#[extension]` calls these from the exports.
pub trait Extension {
    /// Called once after the module is loaded. An error prevents loading.
    fn init(ctx: &ExtensionContext) -> Result<()>;

    /// Called before the module is unloaded.
    fn cleanup(_ctx: &ExtensionContext) -> Result<()> {
        Ok(())
    }
}

/// What `init` and `cleanup` get.
pub struct ExtensionContext {
    _private: (),
}

impl ExtensionContext {
    /// A client for operations that need no library, and for listing them.
    pub fn client(&self) -> Client {
        Client::new(None)
    }
}

/// What an operation handler gets.
pub struct OperationContext {
    library: Option<Uuid>,
}

impl OperationContext {
    /// The library the operation was called for, if any.
    pub fn library(&self) -> Option<Uuid> {
        self.library
    }

    /// A client bound to the call's library.
    pub fn client(&self) -> Client {
        Client::new(self.library)
    }
}

/// Everything the `prelude` glob brings: the macros, the traits and types
/// an extension uses, and serde's derives.
pub mod prelude {
    pub use crate::{
        Client, Error, Event, EventKind, Extension, ExtensionContext, JobContext, OperationContext, Result, Uuid,
        debug, error, extension, info, on_event, spacedrive_job, spacedrive_operation, warn,
    };
    pub use serde::{Deserialize, Serialize};
}

/// Glue used by the macros; not part of the API.
#[doc(hidden)]
pub mod __private {
    use super::*;

    pub use crate::ffi::{alloc, free};

    pub fn init<T: Extension>() -> i32 {
        match T::init(&ExtensionContext { _private: () }) {
            Ok(()) => 0,
            Err(e) => {
                crate::log::write(4, &format!("init failed: {e}"));
                1
            }
        }
    }

    pub fn cleanup<T: Extension>() -> i32 {
        match T::cleanup(&ExtensionContext { _private: () }) {
            Ok(()) => 0,
            Err(e) => {
                crate::log::write(4, &format!("cleanup failed: {e}"));
                1
            }
        }
    }

    fn library_at(ptr: u32) -> Option<Uuid> {
        (ptr != 0).then(|| {
            let b = crate::ffi::host_bytes(ptr, 16);
            let mut raw = [0u8; 16];
            raw.copy_from_slice(&b);
            Uuid::from_bytes(raw)
        })
    }

    /// Runs a job on the host's state (its input, or its last checkpoint) and
    /// returns the `[len][envelope]` block: `{"ok": final_state}`,
    /// `{"interrupted": true}` after checkpointing, or `{"error": ...}`.
    pub fn job<S>(
        handle: u32,
        state_ptr: u32,
        state_len: u32,
        library_ptr: u32,
        body: fn(&JobContext, &mut S) -> Result<()>,
    ) -> u32
    where
        S: serde::de::DeserializeOwned + serde::Serialize,
    {
        let bytes = crate::ffi::host_bytes(state_ptr, state_len);
        let ctx = JobContext::new(handle, library_at(library_ptr));
        let envelope = match serde_json::from_slice::<S>(&bytes) {
            Err(e) => serde_json::json!({ "error": Error::invalid(format!(
                "the job's saved state does not fit its state type (was it written by another version?): {e}"
            )) }),
            Ok(mut state) => match body(&ctx, &mut state) {
                Ok(()) => serde_json::json!({ "ok": state }),
                Err(e) if e.is(crate::INTERRUPTED) => match ctx.checkpoint(&state) {
                    Ok(()) => serde_json::json!({ "interrupted": true }),
                    Err(e) => serde_json::json!({ "error": e }),
                },
                Err(e) => serde_json::json!({ "error": e }),
            },
        };
        crate::ffi::framed(&serde_json::to_vec(&envelope).unwrap_or_default())
    }

    /// Runs an operation handler on the host's payload and returns the
    /// `[len][envelope]` block the host reads and frees.
    pub fn operation<I, O>(
        payload_ptr: u32,
        payload_len: u32,
        library_ptr: u32,
        handler: fn(&OperationContext, I) -> Result<O>,
    ) -> u32
    where
        I: serde::de::DeserializeOwned,
        O: serde::Serialize,
    {
        let payload = crate::ffi::host_bytes(payload_ptr, payload_len);
        let library = library_at(library_ptr);
        let result = serde_json::from_slice::<I>(&payload)
            .map_err(|e| Error::invalid(format!("payload does not match the operation's input: {e}")))
            .and_then(|input| handler(&OperationContext { library }, input))
            .and_then(|out| serde_json::to_value(out).map_err(Error::from));
        let envelope = match result {
            Ok(v) => serde_json::json!({ "ok": v }),
            Err(e) => serde_json::json!({ "error": e }),
        };
        crate::ffi::framed(&serde_json::to_vec(&envelope).unwrap_or_default())
    }
}

#[doc(hidden)]
pub fn __log(level: u32, text: &str) {
    log::write(level, text);
}
