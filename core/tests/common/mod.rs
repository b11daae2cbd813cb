//! Helpers shared by the integration tests.
#![allow(dead_code, clippy::unwrap_used)]

pub mod docs;
pub mod finance;
pub mod http;
pub mod receipts;
pub mod wasm;
use std::path::Path;
use std::sync::Arc;

use sd_core::{Caller, Core, ErrorCode, OpError, OpResult};
use serde_json::{Value, json};
use uuid::Uuid;

/// Writes a deterministic tree of `files` files spread over nested folders
/// (`d<i>/e<j>/f<k>.txt`), each with distinct content. Returns the paths
/// relative to `root`.
pub fn make_tree(root: &Path, files: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(files);
    for i in 0..files {
        let rel = format!("d{}/e{}/f{i}.txt", i % 10, (i / 10) % 7);
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("file number {i} {}", "x".repeat(i % 97))).unwrap();
        out.push(rel);
    }
    out
}

pub async fn call(core: &Arc<Core>, method: &str, lib: Option<Uuid>, payload: Value) -> OpResult<Value> {
    core.execute_json_operation(method, lib, payload, Caller::Cli).await
}

/// The error `r` must be: of class `code`, its message holding `needle`.
pub fn assert_err(r: Result<Value, OpError>, code: ErrorCode, needle: &str) -> OpError {
    let e = r.expect_err("expected an error");
    assert_eq!(e.code, code, "{e}");
    assert!(e.message.contains(needle), "`{needle}` not in: {e}");
    e
}

pub async fn new_library(core: &Arc<Core>, name: &str) -> Uuid {
    let v = call(core, "action:libraries.create.input.v1", None, json!({ "name": name })).await.unwrap();
    v["id"].as_str().unwrap().parse().unwrap()
}

/// Every entry of a library, keyed by absolute path (virtual entries by name).
pub async fn all_entries(core: &Arc<Core>, lib: Uuid) -> std::collections::HashMap<String, Value> {
    let mut out = std::collections::HashMap::new();
    let mut offset = 0;
    loop {
        let page = call(core, "query:vdfs.list_entries.v1", Some(lib), json!({ "limit": 10000, "offset": offset }))
            .await
            .unwrap();
        let entries = page["entries"].as_array().unwrap();
        if entries.is_empty() {
            break;
        }
        offset += entries.len();
        for e in entries {
            let key = e["path"].as_str().or(e["name"].as_str()).unwrap().to_string();
            out.insert(key, e.clone());
        }
    }
    out
}
