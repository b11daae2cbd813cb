//! The job system in process: extension jobs (WAT and the SDK's counter),
//! limits, faults, and the core indexing job.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::wasm::write_extension;
use common::{call, new_library};
use sd_core::{Core, ErrorCode};
use serde_json::{Value, json};
use uuid::Uuid;

/// A WAT extension with one job, `run`, whose body is `body`. Data: 16 the
/// sleep method (19 bytes), 48 `{"ms":40}` (9 bytes), 512 an `ok` block,
/// 544 an `interrupted` block.
fn job_module(body: &str) -> Vec<u8> {
    let wat = format!(
        r#"(module
  (import "spacedrive" "spacedrive_call" (func $call (param i32 i32 i32 i32 i32) (result i32)))
  (import "spacedrive" "job_checkpoint" (func $ckpt (param i32 i32 i32) (result i32)))
  (import "spacedrive" "job_check_interrupt" (func $check (param i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "query:test.sleep.v1")
  (data (i32.const 48) "{{\"ms\":40}}")
  (data (i32.const 64) "{{\"n\":1}}")
  (data (i32.const 512) "\09\00\00\00{{\"ok\":{{}}}}")
  (data (i32.const 544) "\14\00\00\00{{\"interrupted\":true}}")
  (global $heap (mut i32) (i32.const 65536))
  (func (export "wasm_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $heap) (i32.const 131072)) (then (global.set $heap (i32.const 65536)) (return (i32.const 65536))))
    (local.get $p))
  (func (export "wasm_free") (param i32 i32))
  (func (export "spacedrive_abi_version") (result i32) (i32.const 1))
  (func (export "plugin_init") (result i32) (i32.const 0))
  (func (export "plugin_cleanup") (result i32) (i32.const 0))
  (func (export "job_run") (param $job i32) (param $sp i32) (param $sl i32) (param $lib i32) (result i32)
    (local $i i32)
    {body}))"#
    );
    wat::parse_str(&wat).unwrap_or_else(|e| panic!("{e}\n{wat}"))
}

/// Sleeps 40 ms per step in the host, checking for interrupts, for `steps`.
fn slow_body(steps: u32) -> String {
    format!(
        r#"(block $done
      (loop $step
        (if (call $check (local.get $job)) (then (return (i32.const 544))))
        (drop (call $call (i32.const 16) (i32.const 19) (i32.const 0) (i32.const 48) (i32.const 9)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $step (i32.lt_u (local.get $i) (i32.const {steps})))))
    (drop (call $ckpt (local.get $job) (i32.const 64) (i32.const 7)))
    (i32.const 512)"#
    )
}

fn job_manifest(id: &str, concurrent: u32) -> Value {
    json!({
        "id": id, "name": id, "version": "1.0.0", "wasm": "module.wasm",
        "permissions": {
            "methods": ["test."], "libraries": ["*"], "max_cpu_ms_per_call": 200,
            "rate_limits": { "requests_per_minute": 100000, "concurrent_jobs": concurrent }
        },
        "jobs": [{ "name": "run", "export": "job_run" }],
    })
}

struct Env {
    core: Arc<Core>,
    lib: Uuid,
    _data: tempfile::TempDir,
    src: tempfile::TempDir,
}

impl Env {
    async fn new() -> Env {
        let data = tempfile::tempdir().unwrap();
        let core = Core::open(data.path()).unwrap();
        let lib = new_library(&core, "jobs").await;
        Env { core, lib, _data: data, src: tempfile::tempdir().unwrap() }
    }

    async fn install_wat(&self, id: &str, concurrent: u32, body: &str) {
        let dir = write_extension(self.src.path(), &job_manifest(id, concurrent), &job_module(body));
        call(&self.core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
    }

    /// The release test-extension, built by the test command.
    async fn install_test_extension(&self) {
        let wasm = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../extensions/target/wasm32-unknown-unknown/release/test_extension.wasm");
        assert!(wasm.is_file(), "build the extensions first: (cd extensions && cargo build --release)");
        call(&self.core, "action:extensions.install.input.v1", None, json!({ "path": wasm, "allow_unsigned": true }))
            .await
            .unwrap();
    }

    async fn dispatch(&self, ext: &str, job: &str, input: Value) -> Uuid {
        let out = call(
            &self.core,
            "action:jobs.dispatch.input.v1",
            Some(self.lib),
            json!({ "extension": ext, "job": job, "input": input }),
        )
        .await
        .unwrap();
        out["id"].as_str().unwrap().parse().unwrap()
    }

    async fn info(&self, id: Uuid) -> Value {
        call(&self.core, "query:jobs.info.v1", Some(self.lib), json!({ "id": id })).await.unwrap()
    }

    async fn wait(&self, id: Uuid) -> Value {
        call(&self.core, "query:jobs.watch.v1", Some(self.lib), json!({ "id": id })).await.unwrap()
    }

    async fn wait_state(&self, id: Uuid, state: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let info = self.info(id).await;
            if info["state"] == state {
                return info;
            }
            assert!(Instant::now() < deadline, "job never reached {state}: {info}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_job_checkpoints_pauses_resumes_and_completes_exactly() {
    let env = Env::new().await;
    env.install_test_extension().await;
    let id = env
        .dispatch(
            "test-extension",
            "counter",
            json!({ "current": 0, "target": 2000, "checkpoint_every": 100, "sleep_ms": 20 }),
        )
        .await;
    // Pause once a few checkpoints are in.
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.info(id).await["checkpoints"].as_u64().unwrap() < 3 {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    call(&env.core, "action:jobs.pause.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    let paused = env.wait(id).await;
    assert_eq!(paused["state"], "paused", "{paused}");
    let at = paused["checkpoint"]["current"].as_u64().unwrap();
    assert!(at > 0 && at < 2000, "{paused}");
    // Resuming twice, or pausing a paused job, is refused.
    let resumed = call(&env.core, "action:jobs.resume.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    assert_ne!(resumed["state"], "paused");
    let e = call(&env.core, "action:jobs.resume.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict);
    let done = env.wait(id).await;
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["output"]["current"], 2000);
    assert_eq!(done["runs"], 2);
    assert_eq!(done["resumed_from"]["current"], at, "the second run started from the checkpoint");
    // Items: each step counted once per run; the steps after the checkpoint
    // that the pause threw away are counted twice, no more.
    let items = done["items"].as_u64().unwrap();
    assert!((2000..2000 + 100).contains(&items), "{done}");

    // Cancel.
    let id = env
        .dispatch(
            "test-extension",
            "counter",
            json!({ "current": 0, "target": 100000, "checkpoint_every": 100, "sleep_ms": 20 }),
        )
        .await;
    env.wait_state(id, "running").await;
    call(&env.core, "action:jobs.cancel.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    assert_eq!(env.wait(id).await["state"], "cancelled");
    let e = call(&env.core, "action:jobs.cancel.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Conflict);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_extension_limits_and_concurrency() {
    let env = Env::new().await;
    env.install_wat("pair", 2, &slow_body(50)).await;
    env.install_wat("solo", 1, &slow_body(25)).await;
    // A core indexing job alongside.
    let tree = tempfile::tempdir().unwrap();
    common::make_tree(tree.path(), 4000);
    let a = env.dispatch("pair", "run", json!({})).await;
    let b = env.dispatch("pair", "run", json!({})).await;
    let s1 = env.dispatch("solo", "run", json!({})).await;
    let s2 = env.dispatch("solo", "run", json!({})).await;
    let index =
        call(&env.core, "action:locations.add.input.v1", Some(env.lib), json!({ "path": tree.path(), "wait": false }))
            .await
            .unwrap();
    let index_job: Uuid = index["job_id"].as_str().unwrap().parse().unwrap();

    // `solo` never runs two jobs at once (checked while they run).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (i1, i2) = (env.info(s1).await, env.info(s2).await);
        assert!(!(i1["state"] == "running" && i2["state"] == "running"), "solo ran two jobs at once");
        let all = [a, b, s1, s2, index_job];
        let mut done = true;
        for id in all {
            done &= env.info(id).await["state"] == "completed";
        }
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "jobs did not finish");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // From the records: both jobs of `pair` and the core job ran at the same
    // time; `solo`'s two ran one after the other.
    let span =
        |i: &Value| (i["started_at"].as_str().unwrap().to_string(), i["finished_at"].as_str().unwrap().to_string());
    let spans = [span(&env.info(a).await), span(&env.info(b).await), span(&env.info(index_job).await)];
    let latest_start = spans.iter().map(|s| s.0.clone()).max().unwrap();
    let earliest_end = spans.iter().map(|s| s.1.clone()).min().unwrap();
    assert!(latest_start < earliest_end, "two extension jobs and the core job did not overlap: {spans:?}");
    // The first dispatched took the slot first; they did not overlap.
    let (x, y) = (span(&env.info(s1).await), span(&env.info(s2).await));
    assert!(y.0 >= x.1, "solo's jobs overlapped or ran out of order: {x:?} {y:?}");
    let indexed = env.wait(index_job).await;
    assert_eq!(indexed["state"], "completed", "{indexed}");
    assert_eq!(indexed["output"]["files_hashed"], 4000);
    assert_eq!(indexed["items"], 4000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extensions_queued_jobs_start_in_dispatch_order() {
    let env = Env::new().await;
    env.install_wat("fifo", 1, &slow_body(1)).await;
    let mut ids = Vec::new();
    for _ in 0..12 {
        ids.push(env.dispatch("fifo", "run", json!({})).await);
    }
    let mut starts = Vec::new();
    for id in &ids {
        let info = env.wait(*id).await;
        assert_eq!(info["state"], "completed", "{info}");
        starts.push(info["started_at"].as_str().unwrap().to_string());
    }
    let mut sorted = starts.clone();
    sorted.sort();
    assert_eq!(starts, sorted, "jobs started out of dispatch order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faulty_jobs_fail_with_their_cause() {
    let env = Env::new().await;
    env.install_wat("trap", 1, "unreachable").await;
    let id = env.dispatch("trap", "run", json!({})).await;
    let info = env.wait(id).await;
    assert_eq!(info["state"], "failed");
    assert!(info["error"].as_str().unwrap().contains("trapped"), "{info}");

    // Never checks for interrupts: stopped at the CPU budget of one slice.
    env.install_wat("spin", 1, "(loop $l (br $l)) (i32.const 512)").await;
    let id = env.dispatch("spin", "run", json!({})).await;
    let info = env.wait(id).await;
    assert_eq!(info["state"], "failed");
    assert!(info["error"].as_str().unwrap().contains("CPU budget of 200 ms"), "{info}");

    // Pausing such a job cannot be delivered; the record says so.
    let id = env.dispatch("spin", "run", json!({})).await;
    env.wait_state(id, "running").await;
    call(&env.core, "action:jobs.pause.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    let info = env.wait(id).await;
    assert_eq!(info["state"], "failed");
    assert!(info["error"].as_str().unwrap().contains("never called check_interrupt"), "{info}");

    // A long job that checks keeps running past one slice's budget: 25
    // steps of 40 ms in the host, checking each time.
    env.install_wat("checks", 1, &slow_body(25)).await;
    let id = env.dispatch("checks", "run", json!({})).await;
    assert_eq!(env.wait(id).await["state"], "completed");

    // A 50 MB checkpoint is over the limit.
    env.install_wat(
        "bloat",
        1,
        "(drop (call $ckpt (local.get $job) (i32.const 0) (i32.const 50000000))) (i32.const 512)",
    )
    .await;
    let id = env.dispatch("bloat", "run", json!({})).await;
    let info = env.wait(id).await;
    assert_eq!(info["state"], "failed");
    assert!(info["error"].as_str().unwrap().contains("checkpoint of 50000000 bytes"), "{info}");
    // The code has a column of its own; the message does not repeat it.
    assert_eq!(info["error_code"], "resource_exhausted", "{info}");
    assert!(!info["error"].as_str().unwrap().starts_with("resource_exhausted"), "{info}");
    assert_eq!(info["checkpoints"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_checkpoints_and_vanished_extensions_fail_the_job_only() {
    let env = Env::new().await;
    env.install_test_extension().await;
    let db = env._data.path().join("libraries").join(env.lib.to_string()).join("library.db");

    // A checkpoint from an incompatible version of the state type.
    let id =
        env.dispatch("test-extension", "counter", json!({ "current": 0, "target": 1000000, "sleep_ms": 20 })).await;
    env.wait_state(id, "running").await;
    call(&env.core, "action:jobs.pause.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    assert_eq!(env.wait(id).await["state"], "paused");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE jobs SET checkpoint = '{\"current\":\"seven\"}' WHERE id = ?1", [id.to_string()]).unwrap();
    call(&env.core, "action:jobs.resume.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    let info = env.wait(id).await;
    assert_eq!(info["state"], "failed");
    assert!(info["error"].as_str().unwrap().contains("does not fit its state type"), "{info}");

    // A checkpoint that is not JSON at all.
    let id =
        env.dispatch("test-extension", "counter", json!({ "current": 0, "target": 1000000, "sleep_ms": 20 })).await;
    env.wait_state(id, "running").await;
    call(&env.core, "action:jobs.pause.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    assert_eq!(env.wait(id).await["state"], "paused");
    conn.execute("UPDATE jobs SET checkpoint = '{not json' WHERE id = ?1", [id.to_string()]).unwrap();
    call(&env.core, "action:jobs.resume.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    let info = env.wait(id).await;
    assert_eq!(info["state"], "failed");
    assert!(info["error"].as_str().unwrap().contains("checkpoint is not valid JSON"), "{info}");

    // The extension is removed while its second job waits for a slot (the
    // first runs 4 s, long enough to see the second queued on a busy machine).
    env.install_wat("doomed", 1, &slow_body(100)).await;
    let first = env.dispatch("doomed", "run", json!({})).await;
    let second = env.dispatch("doomed", "run", json!({})).await;
    env.wait_state(first, "running").await;
    assert_eq!(env.info(second).await["state"], "queued");
    call(&env.core, "action:extensions.remove.input.v1", None, json!({ "id": "doomed" })).await.unwrap();
    let info = env.wait(second).await;
    assert_eq!(info["state"], "failed");
    assert!(info["error"].as_str().unwrap().contains("not installed"), "{info}");
    assert_eq!(info["error_code"], "not_found", "{info}");
    // The running one was cancelled at its next check, not left to finish.
    assert_eq!(env.wait(first).await["state"], "cancelled");

    // Nothing else was lost: the library and other jobs are intact.
    let jobs = call(&env.core, "query:jobs.list.v1", Some(env.lib), json!({})).await.unwrap();
    assert_eq!(jobs.as_array().unwrap().len(), 4);
    let e = call(
        &env.core,
        "action:jobs.dispatch.input.v1",
        Some(env.lib),
        json!({ "extension": "test-extension", "job": "nope" }),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code, ErrorCode::NotFound);
    assert!(e.message.contains("counter"), "{e}");

    // An upgrade that raises `concurrent_jobs` starts a queued job at once,
    // while the first still runs (each runs 10 s unless cancelled).
    env.install_wat("limited", 1, &slow_body(250)).await;
    let a = env.dispatch("limited", "run", json!({})).await;
    let b = env.dispatch("limited", "run", json!({})).await;
    env.wait_state(a, "running").await;
    assert_eq!(env.info(b).await["state"], "queued");
    env.install_wat("limited", 2, &slow_body(250)).await;
    env.wait_state(b, "running").await;
    assert_eq!(env.info(a).await["state"], "running", "the second job waited for the first");
    for id in [a, b] {
        call(&env.core, "action:jobs.cancel.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
        assert_eq!(env.wait(id).await["state"], "cancelled");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexing_job_pauses_resumes_and_cancels() {
    let env = Env::new().await;
    let tree = tempfile::tempdir().unwrap();
    let files = common::make_tree(tree.path(), 20_000);
    let add = |wait: bool| {
        call(&env.core, "action:locations.add.input.v1", Some(env.lib), json!({ "path": tree.path(), "wait": wait }))
    };
    let out = add(false).await.unwrap();
    assert!(out["scan"].is_null(), "not waited for: {out}");
    let id: Uuid = out["job_id"].as_str().unwrap().parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.info(id).await["checkpoints"].as_u64().unwrap() < 1 {
        assert!(Instant::now() < deadline, "no batch was ever committed");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    call(&env.core, "action:jobs.pause.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    let paused = env.wait(id).await;
    assert_eq!(paused["state"], "paused", "{paused}");
    let done_before = paused["checkpoint"]["files_hashed"].as_u64().unwrap();
    assert!(done_before > 0 && (done_before as usize) < files.len(), "{paused}");
    // While paused, the location reads as interrupted.
    let locs = call(&env.core, "query:locations.list.v1", Some(env.lib), json!({})).await.unwrap();
    assert_eq!(locs[0]["scan_incomplete"], true);

    call(&env.core, "action:jobs.resume.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    let done = env.wait(id).await;
    assert_eq!(done["state"], "completed", "{done}");
    let hashed_after = done["output"]["files_hashed"].as_u64().unwrap();
    assert!(hashed_after < files.len() as u64, "the resumed run skipped what was committed: {done}");
    assert!(hashed_after + done_before >= files.len() as u64, "{done}");
    let count = call(&env.core, "query:vdfs.list_entries.v1", Some(env.lib), json!({ "kind": "file", "limit": 1 }))
        .await
        .unwrap();
    assert_eq!(count["total"], files.len());

    // Cancel a rescan of a changed tree: what was committed stays consistent.
    for rel in files.iter().take(3000) {
        std::fs::write(tree.path().join(rel), "changed").unwrap();
    }
    let out = call(
        &env.core,
        "action:locations.rescan.input.v1",
        Some(env.lib),
        json!({ "path": tree.path(), "wait": false }),
    )
    .await
    .unwrap();
    let id: Uuid = out["job_id"].as_str().unwrap().parse().unwrap();
    env.wait_state(id, "running").await;
    call(&env.core, "action:jobs.cancel.input.v1", Some(env.lib), json!({ "id": id })).await.unwrap();
    let cancelled = env.wait(id).await;
    assert!(["cancelled", "completed"].contains(&cancelled["state"].as_str().unwrap()), "{cancelled}");
    let again = call(&env.core, "action:locations.rescan.input.v1", Some(env.lib), json!({ "path": tree.path() }))
        .await
        .unwrap();
    let count = call(&env.core, "query:vdfs.list_entries.v1", Some(env.lib), json!({ "kind": "file", "limit": 1 }))
        .await
        .unwrap();
    assert_eq!(count["total"], files.len(), "{again}");
}
