//! The WebAssembly extension host, on Wasmtime.
//!
//! A guest speaks ABI v1 (`abi`, and `docs/extension-abi.md`): it imports a
//! few host functions from module `spacedrive` and exports memory, an
//! allocator and lifecycle functions. Every host call is checked against the
//! manifest's permissions (`permissions`) and runs the one operation registry
//! as `Caller::Extension(id)`. Each store is limited in memory, CPU (epoch
//! deadlines that do not count time spent in the host) and stack.

pub mod abi;
pub mod consent;
mod events;
mod host;
mod instance;
mod manager;
pub mod manifest;
pub mod permissions;
pub mod runtime;
mod source;
pub mod view;

pub use consent::Consent;
pub use host::{check_extension_call, current_call_may_use, current_network_grant};
pub use instance::Instance;
pub use manager::{ExtensionInfo, ExtensionManager, ExtensionState, Inspection, Outdated};
pub use manifest::Manifest;
pub use permissions::NetworkGrant;
pub(crate) use source::read_package;
pub use source::{InstallSource, MAX_MODULE_BYTES, MAX_PACKAGE_BYTES, Origin};

/// Largest job checkpoint, in bytes.
pub const MAX_CHECKPOINT_BYTES: u32 = 16 * 1024 * 1024;
