//! What the Finance benchmarks share: a core with Finance installed, and an
//! import of a folder granted to it.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_core::{Caller, Core};
use serde_json::{Value, json};
use uuid::Uuid;

/// Runs an operation as a person; panics on an error.
pub async fn call(core: &Arc<Core>, method: &str, lib: Option<Uuid>, payload: Value) -> Value {
    core.execute_json_operation(method, lib, payload, Caller::Cli).await.unwrap()
}

/// A fresh core with Finance installed and one library.
pub async fn setup(data: &Path) -> (Arc<Core>, Uuid) {
    let core = Core::open(data).unwrap();
    let lib = call(&core, "action:libraries.create.input.v1", None, json!({ "name": "bench" })).await;
    let lib: Uuid = lib["id"].as_str().unwrap().parse().unwrap();
    let wasm = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../extensions/target/wasm32-unknown-unknown/release/finance.wasm");
    assert!(wasm.is_file(), "build the extensions first: (cd extensions && cargo build --release)");
    call(&core, "action:extensions.install.input.v1", None, json!({ "path": wasm, "allow_unsigned": true })).await;
    (core, lib)
}

/// Runs `import` on `dir`; returns the wall time and the job's stats.
pub async fn import(core: &Arc<Core>, lib: Uuid, dir: &Path) -> (Duration, Value) {
    let grant = json!({ "extension": "finance", "path": dir });
    call(core, "action:grants.add.input.v1", None, grant).await;
    let start = Instant::now();
    let out = call(
        core,
        "action:jobs.dispatch.input.v1",
        Some(lib),
        json!({ "extension": "finance", "job": "import", "input": { "path": dir } }),
    )
    .await;
    let info = call(core, "query:jobs.watch.v1", Some(lib), json!({ "id": out["id"] })).await;
    assert_eq!(info["state"], "completed", "{info}");
    (start.elapsed(), info["output"]["stats"].clone())
}
