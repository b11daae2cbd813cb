//! Events delivered to extensions: from indexing to the test-extension's
//! `on_event`, held while it is unloaded, cut off when a handler loops, and
//! only for libraries an extension may use.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::wasm::{Parts, manifest, write_extension};
use common::{call, new_library};
use sd_core::{Core, ErrorCode};
use serde_json::{Value, json};
use uuid::Uuid;

fn test_extension() -> std::path::PathBuf {
    let wasm = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../extensions/target/wasm32-unknown-unknown/release/test_extension.wasm");
    assert!(wasm.is_file(), "build the extensions first: (cd extensions && cargo build --release)");
    wasm
}

async fn seen(core: &Arc<Core>, lib: Uuid, entry: &Value) -> bool {
    let e = call(core, "query:vdfs.entry.v1", Some(lib), json!({ "id": entry })).await.unwrap();
    e["metadata"]["test-extension"]["seen_seq"].is_number()
}

/// Waits until `check` holds, for at most 20 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn stats(core: &Arc<Core>, id: &str) -> Value {
    call(core, "query:extensions.info.v1", None, json!({ "id": id })).await.unwrap()["stats"].clone()
}

/// A WAT extension subscribing to `entry.created` whose `on_event` body is
/// `body` (returning a result block pointer).
fn subscriber(id: &str, body: &str, perms: Value) -> (Value, Vec<u8>) {
    let mut m = manifest(id, perms);
    m["events"] = json!(["entry.created"]);
    let parts = Parts {
        extra: format!(
            r#"(data (i32.const 600) "\08\00\00\00{{\"ok\":1}}")
               (func (export "on_event") (param $p i32) (param $len i32) (param $lib i32) (result i32) {body})"#
        ),
        ..Default::default()
    };
    (m, parts.wasm())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexing_delivers_entry_created_to_the_test_extension_in_order() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    core.extensions().start_event_delivery();
    let lib = new_library(&core, "l").await;
    call(
        &core,
        "action:extensions.install.input.v1",
        None,
        json!({ "path": test_extension(), "allow_unsigned": true }),
    )
    .await
    .unwrap();
    let tree = tempfile::tempdir().unwrap();
    for i in 0..5 {
        std::fs::write(tree.path().join(format!("f{i}.txt")), format!("file {i}")).unwrap();
    }
    call(&core, "action:locations.add.input.v1", Some(lib), json!({ "path": tree.path() })).await.unwrap();
    let files = call(&core, "query:search.v1", Some(lib), json!({ "kind": "file", "limit": 10 })).await.unwrap();
    let ids: Vec<Value> = files["results"].as_array().unwrap().iter().map(|h| h["entry"]["id"].clone()).collect();
    assert_eq!(ids.len(), 5);
    for id in &ids {
        let core = core.clone();
        eventually("the handler to mark each file", || {
            let (core, id) = (core.clone(), id.clone());
            async move { seen(&core, lib, &id).await }
        })
        .await;
    }
    // In order: sequence numbers grow with creation.
    let mut seqs = Vec::new();
    for id in &ids {
        let e = call(&core, "query:vdfs.entry.v1", Some(lib), json!({ "id": id })).await.unwrap();
        seqs.push(e["metadata"]["test-extension"]["seen_seq"].as_i64().unwrap());
    }
    let listed = call(&core, "query:events.list.v1", Some(lib), json!({ "kinds": ["entry.created"], "limit": 1000 }))
        .await
        .unwrap();
    let order: Vec<i64> = listed["events"].as_array().unwrap().iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.iter().all(|s| order.contains(s)));

    // Unloaded: events wait; loaded again: they arrive.
    call(&core, "action:extensions.unload.input.v1", None, json!({ "id": "test-extension" })).await.unwrap();
    let mut later = Vec::new();
    for i in 0..3 {
        let e = call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": format!("later {i}") }))
            .await
            .unwrap();
        later.push(e["entry_id"].clone());
    }
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!seen(&core, lib, &later[0]).await, "nothing is delivered while unloaded");
    call(&core, "action:extensions.load.input.v1", None, json!({ "id": "test-extension" })).await.unwrap();
    for id in &later {
        let core = core.clone();
        eventually("events raised while unloaded", || {
            let (core, id) = (core.clone(), id.clone());
            async move { seen(&core, lib, &id).await }
        })
        .await;
    }
    let st = stats(&core, "test-extension").await;
    assert!(st["events_delivered"].as_u64().unwrap() >= 8, "{st}");
    assert_eq!(st["events_failed"], 0, "{st}");
    // Lifecycle events are in the log too.
    let lifecycle =
        call(&core, "query:events.list.v1", Some(lib), json!({ "kinds": ["extension."], "limit": 100 })).await.unwrap();
    let kinds: Vec<&str> =
        lifecycle["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"extension.unloaded") && kinds.contains(&"extension.loaded"), "{kinds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looping_handler_is_cut_off_and_libraries_stay_private() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    core.extensions().start_event_delivery();
    let mine = new_library(&core, "mine").await;
    let other = new_library(&core, "other").await;
    let install = |m: Value, wasm: Vec<u8>| {
        let dir = write_extension(src.path(), &m, &wasm);
        let core = core.clone();
        async move { call(&core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await }
    };
    let (m, wasm) = subscriber("spinner", "(loop $l (br $l)) i32.const 600", json!({ "max_cpu_ms_per_call": 50 }));
    install(m, wasm).await.unwrap();
    let (m, wasm) = subscriber("polite", "i32.const 600", json!({ "libraries": [mine.to_string()] }));
    install(m, wasm).await.unwrap();
    for lib in [mine, other] {
        for i in 0..2 {
            call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": format!("e{i}") }))
                .await
                .unwrap();
        }
    }
    let core2 = core.clone();
    eventually("the spinner's four events to fail", || {
        let core = core2.clone();
        async move { stats(&core, "spinner").await["events_failed"] == 4 }
    })
    .await;
    let core2 = core.clone();
    eventually("the polite extension's own library's events", || {
        let core = core2.clone();
        async move { stats(&core, "polite").await["events_delivered"] == 2 }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stats(&core, "polite").await["events_delivered"], 2, "nothing from a library it may not use");
    let spinner = stats(&core, "spinner").await;
    assert!(spinner["last_error"].as_str().unwrap().contains("CPU budget"), "{spinner}");
    let ping = call(&core, "query:test.ping.v1", None, json!({ "message": "still here" })).await.unwrap();
    assert_eq!(ping["echo"], "Pong: still here");

    // Subscriptions are checked: a kind that does not exist, a missing export.
    let mut bad = manifest("bogus", json!({}));
    bad["events"] = json!(["entry.exploded"]);
    let e = install(bad, Parts::default().wasm()).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);
    assert!(e.message.contains("events[0]"), "{e}");
    let mut no_export = manifest("deaf", json!({}));
    no_export["events"] = json!(["entry."]);
    let e = install(no_export, Parts::default().wasm()).await.unwrap_err();
    assert!(e.message.contains("on_event"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_pruned_before_delivery_are_counted_as_overflow() {
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    core.extensions().start_event_delivery();
    let lib = new_library(&core, "l").await;
    let (m, wasm) = subscriber("behind", "i32.const 600", json!({}));
    let dir = write_extension(src.path(), &m, &wasm);
    call(&core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
    call(&core, "action:extensions.unload.input.v1", None, json!({ "id": "behind" })).await.unwrap();
    for i in 0..5 {
        call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": format!("e{i}") })).await.unwrap();
    }
    // What the pruning trigger does to a log that outgrew its bound: the
    // oldest events go, here all but the newest entry.created.
    let library = core.libraries().get(lib).await.unwrap();
    library
        .write(|tx| {
            tx.execute(
                "DELETE FROM events WHERE seq < (SELECT MAX(seq) FROM events WHERE kind = 'entry.created')",
                [],
            )?;
            Ok(())
        })
        .await
        .unwrap();
    call(&core, "action:extensions.load.input.v1", None, json!({ "id": "behind" })).await.unwrap();
    let core2 = core.clone();
    eventually("the surviving event", || {
        let core = core2.clone();
        async move { stats(&core, "behind").await["events_delivered"] == 1 }
    })
    .await;
    let st = stats(&core, "behind").await;
    assert!(st["events_overflowed"].as_u64().unwrap() >= 4, "{st}");
    assert!(st["last_error"].as_str().unwrap().contains("overflowed"), "{st}");
}
