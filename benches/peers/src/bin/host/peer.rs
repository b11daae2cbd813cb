//! The peers: an Extism plugin doing what test-extension's `ping_loop` does,
//! and a plain rusqlite loop committing checkpoints.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use extism::{CurrentPlugin, Function, Plugin, PluginBuilder, UserData, Val, Wasm};
use rusqlite::{Connection, TransactionBehavior, params};
use sd_core::{Caller, Core};
use serde_json::{Value, json};

use sd_peers::{REPS, median, median_with};

/// The core the host function calls into (a static, so the Extism figure
/// does not include locking a `UserData` mutex per call).
static CORE: OnceLock<Arc<Core>> = OnceLock::new();

/// The Extism host function: the payload the guest sent is run as
/// `query:test.ping.v1` through the same `execute_json_operation`, and the
/// result goes back in the same envelope our guests receive.
fn sd_call(
    plugin: &mut CurrentPlugin,
    inputs: &[Val],
    outputs: &mut [Val],
    _: UserData<()>,
) -> Result<(), extism::Error> {
    let payload: String = plugin.memory_get_val(&inputs[0])?;
    let payload: Value = serde_json::from_str(&payload)?;
    let core = CORE.get().expect("set before the plugin is built");
    let result =
        futures::executor::block_on(core.execute_json_operation("query:test.ping.v1", None, payload, Caller::Cli));
    let envelope = match result {
        Ok(v) => json!({ "ok": v }),
        Err(e) => json!({ "error": { "code": e.code, "message": e.message } }),
    };
    let handle = plugin.memory_new(envelope.to_string())?;
    outputs[0] = plugin.memory_to_val(handle);
    Ok(())
}

fn guest_wasm() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("extism-guest/target/wasm32-unknown-unknown/release/extism_ping.wasm");
    assert!(path.is_file(), "build the Extism guest first: bash benches/peers/run.sh");
    path
}

fn function() -> Function {
    Function::new("sd_call", [extism::PTR], [extism::PTR], UserData::new(()), sd_call)
}

/// An Extism plugin calling back into the core.
pub struct Extism {
    plugin: Plugin,
    _runtime: tokio::runtime::EnterGuard<'static>,
}

impl Extism {
    /// Builds the plugin once (cache disabled) for the call benchmarks.
    pub fn new(core: Arc<Core>) -> Extism {
        let _ = CORE.set(core);
        // Operations may use tokio handles; the host function runs on this
        // thread, so enter a runtime for the plugin's lifetime.
        let rt: &'static tokio::runtime::Runtime = Box::leak(Box::new(tokio::runtime::Runtime::new().unwrap()));
        let guard = rt.enter();
        let plugin = PluginBuilder::new(extism::Manifest::new([Wasm::file(guest_wasm())]))
            .with_functions([function()])
            .with_cache_disabled()
            .build()
            .unwrap();
        Extism { plugin, _runtime: guard }
    }

    /// Size of the guest module.
    pub fn wasm_len(&self) -> u64 {
        std::fs::metadata(guest_wasm()).map_or(0, |m| m.len())
    }

    /// Per host call, `n` calls inside one plugin call.
    pub fn per_call(&mut self, n: u32, reps: usize) -> Duration {
        self.per_call_total(n, reps) / n
    }

    /// Time of one plugin call making `n` host calls.
    pub fn per_call_total(&mut self, n: u32, reps: usize) -> Duration {
        let input = json!({ "n": n }).to_string();
        let plugin = &mut self.plugin;
        median(reps, || {
            let out: String = plugin.call("ping_loop", input.as_str()).unwrap();
            assert!(out.contains("\"calls\""), "{out}");
        })
    }

    /// Cold (compile, no cache), cached (Wasmtime's on-disk cache, which
    /// Extism enables through a cache config file) and a fresh instance of
    /// an already compiled plugin.
    pub fn loading(&self) -> (Duration, Duration, Duration) {
        let builder =
            || PluginBuilder::new(extism::Manifest::new([Wasm::file(guest_wasm())])).with_functions([function()]);
        let cold = median(7, || {
            builder().with_cache_disabled().build().unwrap();
        });
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("cache.toml");
        std::fs::write(&config, format!("[cache]\ndirectory = {:?}\n", dir.path().join("modules"))).unwrap();
        let cached = median_with(
            REPS,
            || builder().with_cache_config(&config),
            |b| {
                b.build().unwrap();
            },
        );
        let compiled = extism::CompiledPlugin::new(builder().with_cache_disabled()).unwrap();
        let fresh = median(REPS, || {
            for _ in 0..100 {
                Plugin::new_from_compiled(&compiled).unwrap();
            }
        }) / 100;
        (cold, cached, fresh)
    }
}

/// `n` checkpoints as a plain rusqlite loop: the same UPDATE of a job row
/// (a cached statement), each in its own IMMEDIATE transaction, with the library's durability
/// settings (WAL, synchronous=NORMAL).
pub fn rusqlite_checkpoints(n: u32) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = Connection::open(dir.path().join("plain.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "NORMAL").unwrap();
    conn.execute_batch(
        "CREATE TABLE jobs (id TEXT PRIMARY KEY, checkpoint TEXT, checkpoints INTEGER NOT NULL DEFAULT 0,
            items INTEGER, bytes INTEGER, progress REAL, message TEXT, warnings TEXT, updated_ns INTEGER);
         INSERT INTO jobs (id) VALUES ('job');",
    )
    .unwrap();
    median(REPS, || {
        for i in 0..n {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).unwrap();
            tx.prepare_cached(
                "UPDATE jobs SET checkpoint = ?1, checkpoints = checkpoints + 1, items = ?2, bytes = ?3, \
                 progress = ?4, message = ?5, warnings = ?6, updated_ns = ?7 WHERE id = ?8",
            )
            .unwrap()
            .execute(params![format!("{{\"current\":{i},\"target\":{n}}}"), i, 0, 0.5, "", "[]", i, "job"])
            .unwrap();
            tx.commit().unwrap();
        }
    })
}
