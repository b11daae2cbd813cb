//! Our side: an in-process core with a raw-ABI guest and the release
//! test-extension installed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sd_core::{Caller, Core};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

use sd_peers::{REPS, median, median_with};

/// A guest (raw ABI, no SDK) whose `op_loop` calls `query:test.ping.v1` as
/// many times as the decimal number in its payload says, with
/// `spacedrive_call_buf` (answers land in a buffer at 8192) or, in
/// `op_loop_v1`, with `spacedrive_call` (answers in a fresh `wasm_alloc`
/// block; the bump heap is reset after each call so memory stays flat).
const LOOP_WAT: &str = r#"
(module
  (import "spacedrive" "spacedrive_call" (func $call (param i32 i32 i32 i32 i32) (result i32)))
  (import "spacedrive" "spacedrive_call_buf" (func $call_buf (param i32 i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 2)
  (data (i32.const 16) "query:test.ping.v1")
  (data (i32.const 64) "{\"message\":\"bench\"}")
  (data (i32.const 96) "\09\00\00\00{\"ok\":{}}")
  (global $heap (mut i32) (i32.const 16384))
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
    (local $r i64)
    (local.set $r (call $call_buf (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 19)
      (i32.const 8196) (i32.const 4092)))
    (if (result i32) (i64.ge_s (local.get $r) (i64.const 0))
      (then (i32.store (i32.const 8192) (i32.wrap_i64 (local.get $r))) (i32.const 8192))
      (else (i32.wrap_i64 (i64.sub (i64.const 0) (local.get $r))))))
  (func (export "op_empty") (param i32 i32 i32) (result i32) (i32.const 96))
  (func $digits (param $p i32) (param $len i32) (result i32)
    (local $i i32) (local $n i32)
    (block $parsed
      (loop $digit
        (br_if $parsed (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $n (i32.add (i32.mul (local.get $n) (i32.const 10))
          (i32.sub (i32.load8_u (i32.add (local.get $p) (local.get $i))) (i32.const 48))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $digit)))
    (local.get $n))
  (func (export "op_loop") (param $p i32) (param $len i32) (param $lib i32) (result i32)
    (local $i i32) (local $n i32)
    (local.set $n (call $digits (local.get $p) (local.get $len)))
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (drop (call $call_buf (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 19)
          (i32.const 8192) (i32.const 4096)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (global.set $heap (i32.const 16384))
    (call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 19)))
  (func (export "op_loop_v1") (param $p i32) (param $len i32) (param $lib i32) (result i32)
    (local $i i32) (local $n i32) (local $saved i32)
    (local.set $n (call $digits (local.get $p) (local.get $len)))
    (local.set $saved (global.get $heap))
    (block $done
      (loop $again
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (drop (call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 19)))
        (global.set $heap (local.get $saved))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $again)))
    (global.set $heap (i32.const 16384))
    (call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 19))))
"#;

/// The core under test and where its extensions came from.
pub struct Bench {
    /// The in-process core.
    pub core: Arc<Core>,
    data: tempfile::TempDir,
    _src: tempfile::TempDir,
    sdk_wasm: PathBuf,
    /// Whether a second build is installed as [`ALT_ID`].
    alt: bool,
}

fn exec(rt: &Runtime, core: &Arc<Core>, method: &str, lib: Option<uuid::Uuid>, payload: Value) -> Value {
    rt.block_on(core.execute_json_operation(method, lib, payload, Caller::Cli))
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn wat_extension(root: &Path) -> PathBuf {
    let dir = root.join("loop");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("module.wasm"), wat::parse_str(LOOP_WAT).unwrap()).unwrap();
    let manifest = json!({
        "id": "loop", "name": "loop", "version": "1.0.0", "wasm": "module.wasm",
        "permissions": {
            "methods": ["test."], "libraries": ["*"], "max_cpu_ms_per_call": 60000,
            "rate_limits": { "requests_per_minute": 100_000_000u64 }
        },
        "operations": [
            { "method": "query:loop.run.v1", "export": "op_loop" },
            { "method": "query:loop.run_v1.v1", "export": "op_loop_v1" },
            { "method": "query:loop.once.v1", "export": "op_once" },
            { "method": "query:loop.empty.v1", "export": "op_empty" },
        ],
    });
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    dir
}

/// Id of the second test-extension build (`SD_BENCH_ALT_WASM`); as long
/// as `test-extension`, so both answers are the same size.
const ALT_ID: &str = "tset-extension";

/// `wasm` (a test-extension build) installed as extension `id`, beside a
/// manifest that lifts its rate limit and CPU budget, so the benchmark
/// measures calls, not the limiter.
fn sdk_extension(root: &Path, id: &str, wasm: &Path) -> PathBuf {
    let text = std::fs::read_to_string(repo().join("extensions/test-extension/manifest.json")).unwrap();
    let mut manifest: Value = serde_json::from_str(&text.replace("test-extension", id)).unwrap();
    manifest["permissions"]["rate_limits"]["requests_per_minute"] = json!(100_000_000u64);
    manifest["permissions"]["max_cpu_ms_per_call"] = json!(60000);
    let dir = root.join(id);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(wasm, dir.join("test_extension.wasm")).unwrap();
    std::fs::write(dir.join("manifest.json"), manifest.to_string()).unwrap();
    dir.join("test_extension.wasm")
}

impl Bench {
    /// A fresh core with both guests installed.
    pub fn new(rt: &Runtime) -> Bench {
        let data = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let core = Core::open(data.path()).unwrap();
        let built = repo().join("extensions/target/wasm32-unknown-unknown/release/test_extension.wasm");
        assert!(built.is_file(), "build the extensions first: (cd extensions && cargo build --release)");
        let sdk_wasm = sdk_extension(src.path(), "test-extension", &built);
        for path in [wat_extension(src.path()), sdk_wasm.clone()] {
            exec(rt, &core, "action:extensions.install.input.v1", None, json!({ "path": path, "allow_unsigned": true }));
        }
        // A second build of test-extension, under an id of the same length
        // (the answer names the caller), to compare two guest builds in one
        // process: `host calls sdk,alt`.
        let alt = std::env::var_os("SD_BENCH_ALT_WASM");
        if let Some(wasm) = &alt {
            let path = sdk_extension(src.path(), ALT_ID, Path::new(wasm));
            exec(rt, &core, "action:extensions.install.input.v1", None, json!({ "path": path, "allow_unsigned": true }));
        }
        Bench { core, data, _src: src, sdk_wasm, alt: alt.is_some() }
    }

    /// Size of the release test-extension.
    pub fn sdk_wasm_len(&self) -> u64 {
        std::fs::metadata(&self.sdk_wasm).map_or(0, |m| m.len())
    }

    /// Native `execute_json_operation` of the ping, per call.
    pub fn native_per_call(&self, rt: &Runtime, n: u32, reps: usize) -> Duration {
        let core = &self.core;
        median(reps, || {
            rt.block_on(async {
                for _ in 0..n {
                    core.execute_json_operation("query:test.ping.v1", None, json!({ "message": "bench" }), Caller::Cli)
                        .await
                        .unwrap();
                }
            })
        }) / n
    }

    /// The raw-ABI guest's loop, per ping: answers in a buffer the guest
    /// offers (`spacedrive_call_buf`), or with `v1` in `wasm_alloc` blocks.
    pub fn raw_per_call(&self, rt: &Runtime, n: u32, v1: bool, reps: usize) -> Duration {
        let method = if v1 { "query:loop.run_v1.v1" } else { "query:loop.run.v1" };
        median(reps, || {
            exec(rt, &self.core, method, None, json!(n));
        }) / n
    }

    /// test-extension's `ping_loop` through the SDK, per ping.
    pub fn sdk_per_call(&self, rt: &Runtime, n: u32, reps: usize) -> Duration {
        median(reps, || {
            exec(rt, &self.core, "query:test-extension.ping_loop.v1", None, json!({ "n": n }));
        }) / n
    }

    /// The same for the second build (`SD_BENCH_ALT_WASM`).
    pub fn alt_per_call(&self, rt: &Runtime, n: u32, reps: usize) -> Duration {
        assert!(self.alt, "path `alt` needs SD_BENCH_ALT_WASM=<a test_extension.wasm>");
        median(reps, || {
            exec(rt, &self.core, &format!("query:{ALT_ID}.ping_loop.v1"), None, json!({ "n": n }));
        }) / n
    }

    /// Calling an operation the raw guest provides, which pings once.
    pub fn provided_op(&self, rt: &Runtime) -> Duration {
        median(REPS, || {
            for _ in 0..1000 {
                exec(rt, &self.core, "query:loop.once.v1", None, json!({}));
            }
        }) / 1000
    }

    /// Calling an operation whose handler returns `{}` at once: the cost
    /// of reaching a guest and back, with no host call inside.
    pub fn provided_empty_op(&self, rt: &Runtime) -> Duration {
        median(REPS, || {
            for _ in 0..1000 {
                exec(rt, &self.core, "query:loop.empty.v1", None, json!({}));
            }
        }) / 1000
    }

    /// Cold load, cached load and a fresh instance of the test-extension.
    pub fn loading(&self, rt: &Runtime) -> (Duration, Duration, Duration) {
        let load = |core: Arc<Core>| {
            exec(rt, &core, "action:extensions.load.input.v1", None, json!({ "id": "test-extension" }));
        };
        let cold = median_with(
            7,
            || {
                let _ = std::fs::remove_dir_all(self.data.path().join("extensions/.cache"));
                Core::open(self.data.path()).unwrap()
            },
            load,
        );
        let cached = median_with(REPS, || Core::open(self.data.path()).unwrap(), load);
        let core = Core::open(self.data.path()).unwrap();
        load(core.clone());
        let fresh = median(REPS, || {
            for _ in 0..100 {
                rt.block_on(core.extensions().instantiate("test-extension")).unwrap();
            }
        }) / 100;
        (cold, cached, fresh)
    }

    /// `n` loads from the module cache, each in a new core (for profiles).
    pub fn cached_loads(&self, rt: &Runtime, n: usize) {
        for _ in 0..n {
            let core = Core::open(self.data.path()).unwrap();
            exec(rt, &core, "action:extensions.load.input.v1", None, json!({ "id": "test-extension" }));
        }
    }

    /// `n` checkpoints from the test-extension's counter job, each committed
    /// before the guest call returns; and, first, the time to dispatch an
    /// empty job and follow it to completion.
    pub fn checkpoints(&self, rt: &Runtime, n: u32) -> (Duration, Duration) {
        let lib: uuid::Uuid =
            // A new name each time: profiles call this repeatedly.
            exec(rt, &self.core, "action:libraries.create.input.v1", None, json!({ "name": uuid::Uuid::new_v4().to_string() }))["id"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
        let run = |target: u32| {
            let job = exec(
                rt,
                &self.core,
                "action:jobs.dispatch.input.v1",
                Some(lib),
                json!({ "extension": "test-extension", "job": "counter",
                        "input": { "current": 0, "target": target, "checkpoint_every": 1 } }),
            );
            let done = exec(rt, &self.core, "query:jobs.watch.v1", Some(lib), json!({ "id": job["id"] }));
            assert_eq!(done["state"], "completed", "{done}");
        };
        // The job's fixed cost (dispatch, instance, final state) is measured
        // with an empty run and taken off.
        let empty = median(REPS, || run(0));
        let full = median(REPS, || run(n));
        (empty, full.saturating_sub(empty).max(Duration::from_nanos(1)))
    }
}
