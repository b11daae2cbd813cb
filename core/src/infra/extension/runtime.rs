//! The Wasmtime engine shared by all extensions: async host calls, epoch
//! interruption for CPU budgets, a bounded stack, and an on-disk cache of
//! compiled modules keyed by content hash and engine configuration.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::error::{OpError, OpResult};

/// Length of one epoch tick; CPU budgets are counted in ticks.
pub const TICK: Duration = Duration::from_millis(5);
/// Wasm stack limit per call; deeper recursion traps cleanly.
pub const MAX_WASM_STACK: usize = 512 * 1024;
/// Instances alive at once across all extensions (each loaded extension
/// keeps one; each running job takes one while it runs). Past it,
/// instantiation fails with `resource_exhausted`.
pub const MAX_INSTANCES: u32 = 256;

/// The engine and the ticker that advances its epoch.
pub struct Runtime {
    engine: Engine,
    cache: wasmtime::Cache,
    ticks: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Runtime {
    /// Builds the engine, caching compiled modules under `cache_dir`.
    pub fn new(cache_dir: &Path) -> OpResult<Runtime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        config.max_wasm_stack(MAX_WASM_STACK);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling()));
        // For `perf`: guest functions get names in /tmp/perf-<pid>.map.
        if std::env::var_os("SD_WASM_PERFMAP").is_some() {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let mut cache = wasmtime::CacheConfig::new();
        cache.with_directory(cache_dir);
        let cache = wasmtime::Cache::new(cache)
            .map_err(|e| OpError::internal(format!("cannot open module cache at {}: {e}", cache_dir.display())))?;
        config.cache(Some(cache.clone()));
        let engine =
            Engine::new(&config).map_err(|e| OpError::internal(format!("cannot start the wasm engine: {e}")))?;

        let ticks = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (e, t, s) = (engine.weak(), ticks.clone(), stop.clone());
        std::thread::Builder::new()
            .name("sd-wasm-epoch".into())
            .spawn(move || {
                while !s.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                    let Some(engine) = e.upgrade() else { break };
                    t.fetch_add(1, Ordering::Relaxed);
                    engine.increment_epoch();
                }
            })
            .map_err(|e| OpError::internal(format!("cannot start the epoch thread: {e}")))?;
        Ok(Runtime { engine, cache, ticks, stop })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Ticks elapsed since the runtime started.
    pub fn now(&self) -> u64 {
        self.ticks.load(Ordering::Relaxed)
    }

    /// A shareable reader of the tick counter.
    pub fn clock(&self) -> Arc<AtomicU64> {
        self.ticks.clone()
    }

    /// Modules loaded from the cache, and compiled afresh, so far.
    pub fn cache_stats(&self) -> (usize, usize) {
        (self.cache.cache_hits(), self.cache.cache_misses())
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// The pooling allocator: linear memories, tables, instance records and the
/// async fiber stacks come from slots reserved once and reused, instead of
/// an `mmap`/`munmap` pair (and the page faults after it) for every
/// instance and every guest call. Slots only reserve address space; pages
/// are committed when touched, and a slot's pages are kept resident up to
/// the sizes below so a reused slot needs no fresh faults.
fn pooling() -> PoolingAllocationConfig {
    let mut pool = PoolingAllocationConfig::default();
    pool.total_core_instances(MAX_INSTANCES)
        .total_memories(MAX_INSTANCES)
        .total_tables(MAX_INSTANCES)
        // A guest call can nest one more (the host calling `wasm_alloc`
        // while it serves `spacedrive_call`).
        .total_stacks(MAX_INSTANCES * 2)
        // Manifests may ask for up to the whole 32-bit space; each
        // extension's own `max_memory_mb` is enforced by its store limiter.
        .max_memory_size(super::manifest::MAX_MEMORY_MB as usize * 1024 * 1024)
        .max_memories_per_module(1)
        .max_tables_per_module(4)
        .table_elements(20_000)
        .max_core_instance_size(16 * 1024 * 1024)
        .linear_memory_keep_resident(64 * 1024)
        .table_keep_resident(64 * 1024)
        .async_stack_keep_resident(64 * 1024);
    pool
}

/// Converts a millisecond budget to ticks (at least one).
pub fn ms_to_ticks(ms: u32) -> u64 {
    (u64::from(ms) / TICK.as_millis() as u64).max(1)
}

/// Tracks the CPU budget of the guest call under way: time in guest code
/// counts, time in the host (awaiting an operation) does not.
#[derive(Debug, Default)]
pub struct CpuBudget {
    /// Ticks left in this call.
    pub remaining: u64,
    /// Tick at which the guest last (re)entered wasm.
    pub entered_at: u64,
    /// Budget of a whole call, for messages.
    pub per_call_ms: u32,
}

impl CpuBudget {
    /// Starts a call with the full budget; returns the deadline to set.
    pub fn start(&mut self, per_call_ms: u32, now: u64) -> u64 {
        self.per_call_ms = per_call_ms;
        self.remaining = ms_to_ticks(per_call_ms);
        self.entered_at = now;
        self.remaining
    }

    /// The guest enters the host: charge the time spent in wasm.
    pub fn pause(&mut self, now: u64) {
        let used = now.saturating_sub(self.entered_at);
        self.remaining = self.remaining.saturating_sub(used);
    }

    /// The guest resumes; returns the deadline to set (at least one tick so
    /// an exhausted budget traps at the next check).
    pub fn resume(&mut self, now: u64) -> u64 {
        self.entered_at = now;
        self.remaining.max(1)
    }
}
