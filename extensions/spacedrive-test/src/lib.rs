//! A test harness for Spacedrive extensions: a real host (the same core the
//! daemon runs) in process, on a temporary data folder with one library.
//! Install the module under test, call its operations, run its jobs to the
//! end and read back what it wrote, from plain `#[test]` functions.
//!
//! ```no_run
//! use serde_json::json;
//! use spacedrive_test::Host;
//!
//! let host = Host::new().unwrap();
//! host.install_crate(env!("CARGO_MANIFEST_DIR")).unwrap();
//! let out = host.call("query:hello.hello.v1", json!({ "name": "Ada" })).unwrap();
//! assert_eq!(out["greeting"], "Hello, Ada!");
//! let job = host.run_job("hello", "greet", json!({ "name": "Ada" })).unwrap();
//! assert_eq!(job["state"], "completed");
//! assert_eq!(host.search("greeting ada").unwrap()["total"], 1);
//! ```

use std::path::Path;
use std::sync::Arc;

use sd_core::{Caller, Core};
pub use sd_core::{ErrorCode, OpError, OpResult};
use serde_json::{Value, json};
use uuid::Uuid;

/// A host on a temporary data folder, removed when dropped.
pub struct Host {
    core: Arc<Core>,
    runtime: tokio::runtime::Runtime,
    library: Uuid,
    _data: tempfile::TempDir,
}

impl Host {
    /// A fresh host with one library, `test`.
    pub fn new() -> OpResult<Host> {
        let data = tempfile::tempdir().map_err(|e| OpError::internal(format!("cannot make a data folder: {e}")))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| OpError::internal(format!("cannot start a runtime: {e}")))?;
        let core = Core::open(data.path())?;
        let created = runtime.block_on(core.execute_json_operation(
            "action:libraries.create.input.v1",
            None,
            json!({ "name": "test" }),
            Caller::Cli,
        ))?;
        let library = created["id"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| OpError::internal("libraries.create returned no id"))?;
        Ok(Host { core, runtime, library, _data: data })
    }

    /// The core, for what the helpers below do not cover.
    pub fn core(&self) -> &Arc<Core> {
        &self.core
    }

    /// The test library's id.
    pub fn library(&self) -> Uuid {
        self.library
    }

    /// Runs `method` as a person would from the CLI, in the test library
    /// (ignored by operations that need none).
    pub fn call(&self, method: &str, payload: Value) -> OpResult<Value> {
        self.runtime.block_on(self.core.execute_json_operation(method, Some(self.library), payload, Caller::Cli))
    }

    /// Installs an extension, granting what it asks for: a `.wasm` file (no
    /// signature asked: a test installs what it built), a package, or a
    /// folder with a `manifest.json` naming its module. Returns its info.
    pub fn install(&self, path: impl AsRef<Path>) -> OpResult<Value> {
        let payload = json!({ "path": path.as_ref(), "allow_unsigned": true });
        self.runtime.block_on(self.core.execute_json_operation(
            "action:extensions.install.input.v1",
            None,
            payload,
            Caller::Cli,
        ))
    }

    /// Builds the cargo extension crate at `dir` for wasm32 (release) and
    /// installs its module. It builds into `target/spacedrive-test` of the
    /// crate: a test already holds the crate's own target folder.
    pub fn install_crate(&self, dir: impl AsRef<Path>) -> OpResult<Value> {
        let dir = dir.as_ref();
        let options =
            spacedrive_build::Options { target_dir: Some(dir.join("target").join("spacedrive-test")), capture: true };
        self.install(spacedrive_build::build(dir, &options)?)
    }

    /// Dispatches `extension`'s job `job` with `input` in the test library
    /// and waits for it to stop; returns the job's final record (`state`,
    /// `output`, `error`, counters).
    pub fn run_job(&self, extension: &str, job: &str, input: Value) -> OpResult<Value> {
        let started =
            self.call("action:jobs.dispatch.input.v1", json!({ "extension": extension, "job": job, "input": input }))?;
        self.call("query:jobs.watch.v1", json!({ "id": started["id"] }))
    }

    /// Full-text search in the test library.
    pub fn search(&self, query: &str) -> OpResult<Value> {
        self.call("query:search.v1", json!({ "query": query, "limit": 1000 }))
    }

    /// Every entry of the test library (up to 10,000), each with its
    /// metadata in `namespace`.
    pub fn entries(&self, namespace: &str) -> OpResult<Value> {
        self.call("query:vdfs.list_entries.v1", json!({ "limit": 10000, "with_metadata": namespace }))
    }
}
