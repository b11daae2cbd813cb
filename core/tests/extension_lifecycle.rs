//! Extension lifecycle: the compiled-module cache, hot reload, removal with
//! cleanup, loading at start, and the WAT example of docs/extension-abi.md.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::call;
use common::wasm::{Parts, manifest, write_extension};
use sd_core::{Core, ErrorCode};
use serde_json::json;

async fn wait_for(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_load_comes_from_the_module_cache() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let dir = write_extension(src.path(), &manifest("cached", json!({})), &Parts::default().wasm());
    {
        let core = Core::open(data.path()).unwrap();
        call(&core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
        let st = call(&core, "query:core.status.v1", None, json!({})).await.unwrap();
        assert_eq!(st["module_cache_hits"], 0, "{st}");
        assert!(st["module_cache_misses"].as_u64().unwrap() >= 1, "{st}");
    }
    // A new process (a new engine) loads the installed module without compiling.
    let core = Core::open(data.path()).unwrap();
    let out = call(&core, "query:cached.run.v1", None, json!({ "message": "again" })).await.unwrap();
    assert_eq!(out["echo"], "Pong: again");
    let st = call(&core, "query:core.status.v1", None, json!({})).await.unwrap();
    assert_eq!(st["module_cache_hits"], 1, "{st}");
    assert_eq!(st["module_cache_misses"], 0, "{st}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_swaps_good_builds_and_keeps_the_old_one_on_bad_builds() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let dir = write_extension(src.path(), &manifest("dev", json!({})), &Parts::default().wasm());
    let info =
        call(&core, "action:extensions.install.input.v1", None, json!({ "path": dir, "watch": true })).await.unwrap();
    assert!(info["watching"].as_str().unwrap().ends_with("module.wasm"));
    let run = || call(&core, "query:dev.run.v1", None, json!({ "message": "v" }));
    assert_eq!(run().await.unwrap()["echo"], "Pong: v");

    // A rebuild that answers differently: forward a fixed payload instead.
    let v2 = Parts {
        op: "(call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 17))".into(),
        ..Default::default()
    };
    std::fs::write(dir.join("module.wasm"), v2.wasm()).unwrap();
    wait_for("the rebuilt module", async || run().await.map(|v| v["echo"] == "Pong: wat").unwrap_or(false)).await;
    let info = call(&core, "query:extensions.info.v1", None, json!({ "id": "dev" })).await.unwrap();
    assert!(info["last_reload"].as_str().unwrap().starts_with("reloaded"), "{info}");
    // On disk the new version replaced the old one whole (swapped in one
    // step), with nothing left beside it.
    let installed = data.path().join("extensions");
    assert_eq!(std::fs::read(installed.join("dev/module.wasm")).unwrap(), v2.wasm());
    let names: Vec<String> =
        std::fs::read_dir(&installed).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(names.iter().all(|n| !n.starts_with(".install-")), "{names:?}");

    // A broken rebuild: the running version stays, and info says why.
    std::fs::write(dir.join("module.wasm"), b"\0asm garbage").unwrap();
    wait_for("the failed reload to be reported", async || {
        let info = call(&core, "query:extensions.info.v1", None, json!({ "id": "dev" })).await.unwrap();
        info["last_reload"].as_str().unwrap_or("").contains("reload failed")
    })
    .await;
    assert_eq!(run().await.unwrap()["echo"], "Pong: wat");
    let info = call(&core, "query:extensions.info.v1", None, json!({ "id": "dev" })).await.unwrap();
    assert!(info["last_reload"].as_str().unwrap().contains("not a valid WebAssembly module"), "{info}");
    assert_eq!(info["state"], "loaded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_runs_cleanup_and_forgets_the_extension() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = common::new_library(&core, "l").await;
    // plugin_cleanup creates an entry, proving it ran.
    let parts = Parts {
        cleanup: "",
        extra: r#"(data (i32.const 300) "{\"name\":\"cleaned-up\"}")
                  (func (export "plugin_cleanup") (result i32)
                    (call $call (i32.const 128) (i32.const 33) (i32.const 400) (i32.const 300) (i32.const 21)) drop
                    i32.const 0)"#
            .into(),
        ..Default::default()
    };
    let mut wat = parts.wat();
    // Put the library id where cleanup reads it, as a data segment.
    let bytes: String = lib.as_bytes().iter().map(|b| format!("\\{b:02x}")).collect();
    wat = wat.replacen("(data (i32.const 16)", &format!("(data (i32.const 400) \"{bytes}\") (data (i32.const 16)"), 1);
    let dir = write_extension(src.path(), &manifest("tidy", json!({})), &wat::parse_str(&wat).unwrap());
    call(&core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
    // Unload runs cleanup and keeps the installation; the next use loads it.
    let info = call(&core, "action:extensions.unload.input.v1", None, json!({ "id": "tidy" })).await.unwrap();
    assert_eq!(info["state"], "installed");
    let found = call(&core, "query:search.v1", Some(lib), json!({ "query": "cleaned" })).await.unwrap();
    assert_eq!(found["total"], 1, "plugin_cleanup ran: {found}");
    assert_eq!(
        call(&core, "query:tidy.run.v1", None, json!({ "message": "back" })).await.unwrap()["echo"],
        "Pong: back"
    );
    // Reload: a fresh instance replaces the running one (whose cleanup runs).
    let info = call(&core, "action:extensions.reload.input.v1", None, json!({ "id": "tidy" })).await.unwrap();
    assert_eq!(info["state"], "loaded");
    let found = call(&core, "query:search.v1", Some(lib), json!({ "query": "cleaned" })).await.unwrap();
    assert_eq!(found["total"], 2, "cleanup ran again on reload: {found}");
    call(&core, "action:extensions.remove.input.v1", None, json!({ "id": "tidy" })).await.unwrap();
    let found = call(&core, "query:search.v1", Some(lib), json!({ "query": "cleaned" })).await.unwrap();
    assert_eq!(found["total"], 3, "and on removal: {found}");
    let e = call(&core, "query:extensions.info.v1", None, json!({ "id": "tidy" })).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    let e = call(&core, "query:tidy.run.v1", None, json!({})).await.unwrap_err();
    assert!(e.message.contains("unknown method"), "{e}");
}

/// The WAT example in docs/extension-abi.md is a working extension.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_abi_document_example_works() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/extension-abi.md")).unwrap();
    let start = doc.find("```wat").expect("a ```wat block") + "```wat".len();
    let end = start + doc[start..].find("```").unwrap();
    let wasm = wat::parse_str(&doc[start..end]).expect("the example parses");
    let mstart = doc.find("```json").expect("a ```json manifest") + "```json".len();
    let mend = mstart + doc[mstart..].find("```").unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&doc[mstart..mend]).expect("the manifest parses");

    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = common::new_library(&core, "doc").await;
    let dir = write_extension(src.path(), &manifest, &wasm);
    call(&core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
    let out = call(&core, "query:hello-wat.greet.v1", Some(lib), json!({ "message": "from the docs" })).await.unwrap();
    assert_eq!(out["echo"], "Pong: from the docs");
    assert_eq!(out["caller"], "extension:hello-wat");
}
