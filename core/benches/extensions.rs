//! Extension host benchmarks: guest -> host -> guest round trips against the
//! native call, cold and cached module loads, and instantiation per job.
//!
//! The SDK benchmark needs the release test-extension:
//! `(cd extensions && cargo build --release)`.
//! Run with `cargo bench -p sd-core --bench extensions`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sd_core::{Caller, Core};
use serde_json::json;

/// A guest (raw ABI, no SDK) whose `op_loop` calls `query:test.ping.v1` 1000
/// times, resetting its bump heap after each call so memory stays flat.
const LOOP_WAT: &str = r#"
(module
  (import "spacedrive" "spacedrive_call" (func $call (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "query:test.ping.v1")
  (data (i32.const 64) "{\"message\":\"bench\"}")
  (global $heap (mut i32) (i32.const 4096))
  (func (export "wasm_alloc") (param $size i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.and (i32.add (i32.add (local.get $p) (local.get $size)) (i32.const 7)) (i32.const -8)))
    (if (i32.gt_u (global.get $heap) (i32.const 131072)) (then (return (i32.const 0))))
    (local.get $p))
  (func (export "wasm_free") (param i32 i32))
  (func (export "spacedrive_abi_version") (result i32) (i32.const 1))
  (func (export "plugin_init") (result i32) (i32.const 0))
  (func (export "plugin_cleanup") (result i32) (i32.const 0))
  (func (export "op_once") (param $p i32) (param $len i32) (param $lib i32) (result i32)
    (global.set $heap (i32.const 4096))
    (call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 19)))
  (func (export "op_loop") (param $p i32) (param $len i32) (param $lib i32) (result i32)
    (local $i i32) (local $saved i32)
    (local.set $saved (global.get $heap))
    (loop $again
      (drop (call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 19)))
      (global.set $heap (local.get $saved))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))
    ;; Start the heap over (the payload is no longer needed) and answer with
    ;; the envelope of one last ping.
    (global.set $heap (i32.const 4096))
    (call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 19))))
"#;

fn install(core: &Arc<Core>, rt: &tokio::runtime::Runtime, dir: &Path) {
    rt.block_on(core.execute_json_operation(
        "action:extensions.install.input.v1",
        None,
        json!({ "path": dir }),
        Caller::Cli,
    ))
    .unwrap();
}

fn wat_extension(root: &Path) -> PathBuf {
    let dir = root.join("loop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("module.wasm"), wat::parse_str(LOOP_WAT).unwrap()).unwrap();
    let manifest = json!({
        "id": "loop", "name": "loop", "version": "1.0.0", "wasm": "module.wasm",
        "permissions": { "methods": ["test."], "libraries": ["*"], "rate_limits": { "requests_per_minute": 100000000 } },
        "operations": [
            { "method": "query:loop.run.v1", "export": "op_loop" },
            { "method": "query:loop.once.v1", "export": "op_once" },
        ],
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    dir
}

/// The release test-extension, copied beside a manifest that lifts its rate
/// limit (a manifest.json beside a module takes precedence over the embedded
/// one), so that the benchmark measures calls, not the limiter.
fn sdk_extension(root: &Path) -> Option<PathBuf> {
    let ext = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../extensions");
    let wasm = ext.join("target/wasm32-unknown-unknown/release/test_extension.wasm");
    if !wasm.is_file() {
        return None;
    }
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(ext.join("test-extension/manifest.json")).unwrap()).unwrap();
    manifest["permissions"]["rate_limits"]["requests_per_minute"] = json!(100_000_000);
    let dir = root.join("sdk");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(&wasm, dir.join("test_extension.wasm")).unwrap();
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    Some(dir.join("test_extension.wasm"))
}

fn round_trips(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    install(&core, &rt, &wat_extension(src.path()));

    let mut group = c.benchmark_group("guest_round_trip");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("native_execute_json_operation_x1000", |b| {
        b.iter(|| {
            rt.block_on(async {
                for _ in 0..1000 {
                    core.execute_json_operation("query:test.ping.v1", None, json!({ "message": "bench" }), Caller::Cli)
                        .await
                        .unwrap();
                }
            })
        })
    });
    group.bench_function("wat_guest_to_ping_x1000", |b| {
        b.iter(|| rt.block_on(core.execute_json_operation("query:loop.run.v1", None, json!({}), Caller::Cli)).unwrap())
    });
    if let Some(wasm) = sdk_extension(src.path()) {
        install(&core, &rt, &wasm);
        group.bench_function("sdk_guest_to_ping_x1000", |b| {
            b.iter(|| {
                rt.block_on(core.execute_json_operation(
                    "query:test-extension.ping_loop.v1",
                    None,
                    json!({ "n": 1000 }),
                    Caller::Cli,
                ))
                .unwrap()
            })
        });
    } else {
        eprintln!("skipping sdk_guest_to_ping_x1000: build extensions/ first");
    }
    group.finish();

    let mut group = c.benchmark_group("host_to_guest_operation");
    // Host -> guest handler -> host (one ping) -> guest -> host.
    group.bench_function("extension_operation_call", |b| {
        b.iter(|| rt.block_on(core.execute_json_operation("query:loop.once.v1", None, json!({}), Caller::Cli)).unwrap())
    });
    group.finish();
}

fn loading(c: &mut Criterion) {
    let src = tempfile::tempdir().unwrap();
    let Some(wasm) = sdk_extension(src.path()) else {
        eprintln!("skipping load benchmarks: build extensions/ first");
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    {
        let core = Core::open(data.path()).unwrap();
        install(&core, &rt, &wasm);
    }
    let mut group = c.benchmark_group("load_test_extension");
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    let load = |core: Arc<Core>| {
        rt.block_on(core.execute_json_operation(
            "action:extensions.load.input.v1",
            None,
            json!({ "id": "test-extension" }),
            Caller::Cli,
        ))
        .unwrap()
    };
    group.bench_function("cold_compile_and_init", |b| {
        b.iter_batched(
            || {
                let _ = std::fs::remove_dir_all(data.path().join("extensions/.cache"));
                Core::open(data.path()).unwrap()
            },
            load,
            BatchSize::PerIteration,
        )
    });
    group.bench_function("cached_and_init", |b| {
        b.iter_batched(|| Core::open(data.path()).unwrap(), load, BatchSize::PerIteration)
    });
    let core = Core::open(data.path()).unwrap();
    load(core.clone());
    group.bench_function("fresh_instance_per_job", |b| {
        b.iter(|| rt.block_on(core.extensions().instantiate("test-extension")).unwrap())
    });
    group.finish();
}

fn jobs(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let src = tempfile::tempdir().unwrap();
    let Some(wasm) = sdk_extension(src.path()) else {
        eprintln!("skipping job benchmarks: build extensions/ first");
        return;
    };
    let core = Core::open(data.path()).unwrap();
    install(&core, &rt, &wasm);
    let lib = rt
        .block_on(core.execute_json_operation(
            "action:libraries.create.input.v1",
            None,
            json!({ "name": "b" }),
            Caller::Cli,
        ))
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .parse::<uuid::Uuid>()
        .unwrap();
    let run = |input: serde_json::Value| {
        rt.block_on(async {
            let job = core
                .execute_json_operation(
                    "action:jobs.dispatch.input.v1",
                    Some(lib),
                    json!({ "extension": "test-extension", "job": "counter", "input": input }),
                    Caller::Cli,
                )
                .await
                .unwrap();
            let done = core
                .execute_json_operation("query:jobs.watch.v1", Some(lib), json!({ "id": job["id"] }), Caller::Cli)
                .await
                .unwrap();
            assert_eq!(done["state"], "completed");
        })
    };
    let mut group = c.benchmark_group("jobs");
    group.sample_size(10).measurement_time(Duration::from_secs(15));
    group.bench_function("dispatch_to_completion_empty_job", |b| b.iter(|| run(json!({ "current": 0, "target": 0 }))));
    group.throughput(Throughput::Elements(1000));
    group.bench_function("guest_checkpoints_x1000", |b| {
        b.iter(|| run(json!({ "current": 0, "target": 1000, "checkpoint_every": 1 })))
    });
    group.finish();
}

criterion_group!(benches, round_trips, loading, jobs);
criterion_main!(benches);
