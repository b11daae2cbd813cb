//! `sd-core`: libraries on SQLite, the VDFS, and the one operation registry
//! that the CLI, the daemon's socket and extensions all go through.
//!
//! Start with [`Core::open`] and [`Core::execute_json_operation`].

pub mod error;
pub mod infra;
pub mod library;
pub mod ops;
pub mod services;
pub mod vdfs;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;
use tracing::Instrument;
use uuid::Uuid;

pub use error::{ErrorCode, OpError, OpResult};
pub use infra::wire::{Answer, Caller, OpContext, ProgressSink, Scope};
use infra::wire::{Form, Payload};
use library::LibraryManager;

/// Environment variable naming the data directory.
pub const DATA_DIR_ENV: &str = "SD_DATA_DIR";

/// File name of the daemon's socket inside the data directory.
pub const SOCKET_FILE: &str = "daemon.sock";

/// The data directory: `$SD_DATA_DIR`, else the platform data dir
/// (`~/.local/share/spacedrive` on Linux).
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    dirs::data_dir().unwrap_or_else(std::env::temp_dir).join("spacedrive")
}

/// The running core: its data directory and its libraries.
pub struct Core {
    data_dir: PathBuf,
    libraries: LibraryManager,
    extensions: infra::extension::ExtensionManager,
    jobs: infra::job::JobManager,
    ai: services::ai::Ai,
    vault: Arc<services::vault::Vault>,
    grants: infra::grants::Grants,
    dashboard: std::sync::OnceLock<Arc<infra::http::Dashboard>>,
    started: Instant,
}

impl Core {
    /// Opens the core on `data_dir`, creating it if needed, and opens every
    /// library in it.
    pub fn open(data_dir: &Path) -> OpResult<Arc<Core>> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| OpError::internal(format!("cannot create data dir {}: {e}", data_dir.display())))?;
        // Absolute from here on: the module cache refuses relative paths,
        // and the daemon's socket path must not depend on its working folder.
        let data_dir = &std::path::absolute(data_dir)
            .map_err(|e| OpError::internal(format!("cannot resolve data dir {}: {e}", data_dir.display())))?;
        let libraries = LibraryManager::load(data_dir.join("libraries"))?;
        let ext_dir = data_dir.join("extensions");
        std::fs::create_dir_all(&ext_dir)?;
        let grants = infra::grants::Grants::new(data_dir)?;
        Ok(Arc::new_cyclic(|core| Core {
            data_dir: data_dir.to_path_buf(),
            libraries,
            extensions: infra::extension::ExtensionManager::new(ext_dir, core.clone()),
            jobs: infra::job::JobManager::new(core.clone(), data_dir.join("runners")),
            ai: services::ai::Ai::new(data_dir),
            vault: Arc::new(services::vault::Vault::new(data_dir)),
            grants,
            dashboard: std::sync::OnceLock::new(),
            started: Instant::now(),
        }))
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Path of the daemon socket.
    pub fn socket_path(&self) -> PathBuf {
        self.data_dir.join(SOCKET_FILE)
    }

    /// The libraries.
    pub fn libraries(&self) -> &LibraryManager {
        &self.libraries
    }

    /// The extension host.
    pub fn extensions(&self) -> &infra::extension::ExtensionManager {
        &self.extensions
    }

    /// The job system.
    pub fn jobs(&self) -> &infra::job::JobManager {
        &self.jobs
    }

    /// The AI services: OCR, embeddings, classification.
    pub fn ai(&self) -> &services::ai::Ai {
        &self.ai
    }

    /// The credentials vault.
    pub fn vault(&self) -> &Arc<services::vault::Vault> {
        &self.vault
    }

    /// The folders granted to extensions, and what a caller may open.
    pub fn grants(&self) -> &infra::grants::Grants {
        &self.grants
    }

    /// The web dashboard, when this process serves one (the daemon).
    pub fn dashboard(&self) -> Option<&Arc<infra::http::Dashboard>> {
        self.dashboard.get()
    }

    /// Records the dashboard this process serves; there is at most one.
    pub fn set_dashboard(&self, dashboard: Arc<infra::http::Dashboard>) -> OpResult<()> {
        self.dashboard.set(dashboard).map_err(|_| OpError::conflict("this core serves a dashboard already"))
    }

    /// Time since [`Core::open`].
    pub fn uptime(&self) -> std::time::Duration {
        self.started.elapsed()
    }

    /// Runs the operation registered under `method` on `payload`. The only way
    /// any client reaches an operation.
    pub async fn execute_json_operation(
        self: &Arc<Self>,
        method: &str,
        library_id: Option<Uuid>,
        payload: Value,
        caller: Caller,
    ) -> OpResult<Value> {
        self.execute_with_progress(method, library_id, payload, caller, None).await
    }

    /// [`execute_json_operation`](Self::execute_json_operation), streaming
    /// progress of long operations to `progress`.
    pub async fn execute_with_progress(
        self: &Arc<Self>,
        method: &str,
        library_id: Option<Uuid>,
        payload: Value,
        caller: Caller,
        progress: Option<ProgressSink>,
    ) -> OpResult<Value> {
        self.dispatch(method, library_id, Payload::Value(payload), Form::Value, caller, progress).await?.into_value()
    }

    /// [`execute_json_operation`](Self::execute_json_operation) for a
    /// transport that holds the payload as JSON text and wants JSON text back
    /// (the extension host): the same checks, without building `Value`s.
    pub async fn execute_json_text(
        self: &Arc<Self>,
        method: &str,
        library_id: Option<Uuid>,
        payload: &[u8],
        caller: Caller,
    ) -> OpResult<Answer> {
        self.dispatch(method, library_id, Payload::Text(payload), Form::Text, caller, None).await
    }

    /// Every call's single path: who may call, the extension's manifest, the
    /// library, then the handler (or the extension providing `method`).
    async fn dispatch(
        self: &Arc<Self>,
        method: &str,
        library_id: Option<Uuid>,
        payload: Payload<'_>,
        form: Form,
        caller: Caller,
        progress: Option<ProgressSink>,
    ) -> OpResult<Answer> {
        let entry = infra::wire::find(method);
        // Registered methods were checked when the registry was built.
        if entry.is_none() {
            infra::wire::parse_method(method)?;
        }
        // Who may call comes first: no manifest grants a person-only operation.
        if let Some(entry) = entry {
            entry.audience.check(method, &caller)?;
        }
        if let Caller::Extension(id) = &caller {
            infra::extension::check_extension_call(id, method, library_id)?;
        }
        let Some(entry) = entry else {
            // Not a core operation: perhaps one an extension provides.
            // Boxed: that future is large, and every call would otherwise
            // carry (and copy) its space.
            if let Some(result) = Box::pin(self.extensions.call_operation(method, library_id, payload, form)).await {
                return result;
            }
            return Err(OpError::invalid(format!("unknown method `{method}`; run `sd ops` to list the operations")));
        };
        let library = match entry.scope {
            Scope::Core => None,
            Scope::Library => {
                let id = library_id.ok_or_else(|| {
                    OpError::invalid(format!("`{method}` needs a library: pass its id (`--library` on the CLI)"))
                })?;
                Some(self.libraries.get(id).await?)
            }
            Scope::OptionalLibrary => match library_id {
                Some(id) => Some(self.libraries.get(id).await?),
                None => None,
            },
        };
        let ctx = OpContext { core: self.clone(), library, caller, progress };
        let span = tracing::debug_span!("op", %method, caller = %ctx.caller);
        entry.call(ctx, payload, form).instrument(span).await
    }
}
