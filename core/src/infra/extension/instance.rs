//! One live instance of an extension: its store, the exports the host calls,
//! and guest calls under the CPU budget with traps turned into typed errors.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::Value;
use serde_json::value::RawValue;
use uuid::Uuid;
use wasmtime::{InstancePre, Store, Trap, TypedFunc};

use super::abi::ABI_VERSION;
use super::host::{self, GuestExports, HostState, Limits};
use super::manifest::Manifest;
use super::permissions::{Guard, Stats};
use super::runtime::Runtime;
use crate::Core;
use crate::error::{ErrorCode, OpError, OpResult};
use crate::infra::job::Outcome;
use crate::infra::wire::{Answer, Form};

/// A live guest instance.
pub struct Instance {
    store: Store<HostState>,
    instance: wasmtime::Instance,
    init: TypedFunc<(), i32>,
    cleanup: TypedFunc<(), i32>,
    cpu_ms: u32,
    trapped: bool,
    /// A block from the guest's `wasm_alloc`, kept for the instance's life,
    /// that carries the arguments of calls into the guest (payload, then the
    /// library id) when they fit: most calls then need no `wasm_alloc` and
    /// `wasm_free` round trips. Safe to reuse: arguments are only valid
    /// during the call, and an instance serves one call at a time.
    scratch: Option<u32>,
    funcs: Funcs,
}

/// What a guest answers a call with: `{"ok": …}`, `{"error": {code,
/// message}}`, or from a job `{"interrupted": true}`. Fields are borrowed
/// from the guest's block; other fields are ignored.
#[derive(serde::Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    ok: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Option<&'a RawValue>,
    #[serde(borrow, default, deserialize_with = "present")]
    interrupted: Option<&'a RawValue>,
}

/// A field that is there, even as `null` (`{"ok": null}` is a result, which
/// a plain `Option` would read as absent).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue as serde::Deserialize>::deserialize(d).map(Some)
}

/// Size of an instance's argument block.
const SCRATCH_BYTES: u32 = 4096;

/// Turns a guest failure into a typed error that says what happened.
pub fn trap_error(extension: &str, what: &str, e: &wasmtime::Error, state: &HostState) -> OpError {
    let budget = state.budget.per_call_ms;
    if let Some(limit) = e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>() {
        return OpError::exhausted(format!(
            "extension `{extension}` could not start {what}: {limit}; too many extension instances are alive at once \
             (running jobs and calls); try again when some have finished"
        ));
    }
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => OpError::exhausted(format!(
            "extension `{extension}` exceeded its CPU budget of {budget} ms in {what} and was stopped"
        )),
        Some(Trap::StackOverflow) => OpError::exhausted(format!(
            "extension `{extension}` overflowed its stack in {what} (too deep recursion) and was stopped"
        )),
        _ if state.limits.memory_exceeded => OpError::exhausted(format!(
            "extension `{extension}` exceeded its memory limit of {} MiB in {what} and was stopped",
            state.limits.max_memory / (1024 * 1024)
        )),
        Some(trap) => OpError::internal(format!("extension `{extension}` trapped in {what}: {trap}")),
        None => OpError::internal(format!("extension `{extension}` failed in {what}: {}", e.root_cause())),
    }
}

impl Instance {
    /// Instantiates a module whose imports are already resolved (`pre`), and
    /// checks its ABI version when `check_abi` (the first instance of a
    /// module; later ones are of the same, checked module). Does not call
    /// `plugin_init`.
    pub async fn new(
        runtime: &Runtime,
        pre: &InstancePre<HostState>,
        manifest: &Manifest,
        core: std::sync::Weak<Core>,
        guard: Arc<Guard>,
        stats: Arc<Stats>,
        check_abi: bool,
    ) -> OpResult<Instance> {
        let cpu_ms = manifest.permissions.max_cpu_ms_per_call;
        let state = HostState {
            extension: manifest.id.clone(),
            core,
            guard,
            stats,
            limits: Limits {
                max_memory: manifest.permissions.max_memory_mb as usize * 1024 * 1024,
                memory_exceeded: false,
            },
            budget: Default::default(),
            clock: runtime.clock(),
            exports: None,
            log_budget: 0,
            job: None,
        };
        let mut store = Store::new(runtime.engine(), state);
        store.limiter(|s| &mut s.limits);
        store.epoch_deadline_trap();
        let deadline = store.data_mut().start_call(cpu_ms);
        store.set_epoch_deadline(deadline);
        let id = manifest.id.clone();
        let instance = match pre.instantiate_async(&mut store).await {
            Ok(i) => i,
            Err(e) => return Err(trap_error(&id, "instantiation", &e, store.data())),
        };
        let typed_err = |name: &str, e: wasmtime::Error| OpError::invalid(format!("export `{name}` is unusable: {e}"));
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| OpError::invalid("module does not export `memory`"))?;
        let alloc = instance.get_typed_func(&mut store, "wasm_alloc").map_err(|e| typed_err("wasm_alloc", e))?;
        let free = instance.get_typed_func(&mut store, "wasm_free").map_err(|e| typed_err("wasm_free", e))?;
        let init = instance.get_typed_func(&mut store, "plugin_init").map_err(|e| typed_err("plugin_init", e))?;
        let cleanup =
            instance.get_typed_func(&mut store, "plugin_cleanup").map_err(|e| typed_err("plugin_cleanup", e))?;
        let version: TypedFunc<(), i32> = instance
            .get_typed_func(&mut store, "spacedrive_abi_version")
            .map_err(|e| typed_err("spacedrive_abi_version", e))?;
        store.data_mut().exports = Some(Arc::new(GuestExports { memory, alloc, free }));
        let mut inst =
            Instance { store, instance, init, cleanup, cpu_ms, trapped: false, scratch: None, funcs: Funcs::default() };
        if !check_abi {
            return Ok(inst);
        }
        let v = inst.call(&version, (), "spacedrive_abi_version").await?;
        if v != ABI_VERSION {
            return Err(OpError::invalid(format!(
                "module speaks extension ABI version {v}, this host speaks version {ABI_VERSION}; rebuild it against a matching SDK"
            )));
        }
        Ok(inst)
    }

    fn extension(&self) -> &str {
        &self.store.data().extension
    }

    /// Whether a guest call trapped. A trapped instance may be half-way
    /// through changing its own state, so it is not used again.
    pub fn trapped(&self) -> bool {
        self.trapped
    }

    /// Records a trap and turns it into a typed error.
    fn fail(&mut self, what: &str, e: &wasmtime::Error) -> OpError {
        self.trapped = true;
        let err = trap_error(self.extension(), what, e, self.store.data());
        self.store.data().stats.traps.fetch_add(1, Ordering::Relaxed);
        self.store.data().stats.set_last_error(err.to_string());
        err
    }

    /// Calls a guest function under a fresh CPU budget.
    async fn call<P, R>(&mut self, f: &TypedFunc<P, R>, params: P, what: &str) -> OpResult<R>
    where
        P: wasmtime::WasmParams + Send + Sync,
        R: wasmtime::WasmResults + Send + Sync,
    {
        let deadline = self.store.data_mut().start_call(self.cpu_ms);
        self.store.set_epoch_deadline(deadline);
        match f.call_async(&mut self.store, params).await {
            Ok(r) => Ok(r),
            Err(e) => Err(self.fail(what, &e)),
        }
    }

    /// Runs `plugin_init`; a non-zero return is an error.
    pub async fn init(&mut self) -> OpResult<()> {
        let init = self.init.clone();
        match self.call(&init, (), "plugin_init").await? {
            0 => Ok(()),
            code => Err(OpError::internal(format!(
                "extension `{}` failed to initialise: plugin_init returned {code}",
                self.extension()
            ))),
        }
    }

    /// Runs `plugin_cleanup`.
    pub async fn cleanup(&mut self) -> OpResult<()> {
        let cleanup = self.cleanup.clone();
        match self.call(&cleanup, (), "plugin_cleanup").await? {
            0 => Ok(()),
            code => Err(OpError::internal(format!("plugin_cleanup of `{}` returned {code}", self.extension()))),
        }
    }

    /// Binds a job to this instance: its job host functions write to it.
    pub fn bind_job(&mut self, handle: Arc<crate::infra::job::JobHandle>) {
        self.store.data_mut().job = Some(handle);
    }

    /// Calls an operation handler export: the payload (and library id) are
    /// written into the instance's argument block (or, when too large, a
    /// block of their own freed afterwards); the guest's result block is read
    /// and then freed with `wasm_free(ptr, 4 + len)`. Returns the `ok` value.
    pub async fn call_operation(
        &mut self,
        export: &str,
        library: Option<Uuid>,
        payload: &[u8],
        form: Form,
    ) -> OpResult<Answer> {
        let block = self.call_block(export, None, library, payload).await?;
        let ok = self.envelope(export, &block)?.ok.ok_or_else(|| {
            OpError::internal(format!(
                "extension `{}` returned neither `ok` nor `error` from `{export}`",
                self.extension()
            ))
        })?;
        match form {
            Form::Text => Ok(Answer::Text(ok.get().to_owned())),
            Form::Value => serde_json::from_str(ok.get())
                .map(Answer::Value)
                .map_err(|e| OpError::internal(format!("extension `{}` returned invalid JSON: {e}", self.extension()))),
        }
    }

    /// Calls a job export with the job's state; the guest returns
    /// `{"ok": final_state}` or `{"interrupted": true}` (or an error).
    pub async fn call_job(&mut self, export: &str, state: &Value, library: Option<Uuid>) -> OpResult<Outcome> {
        let state = serde_json::to_vec(state).map_err(|e| OpError::internal(format!("encode job state: {e}")))?;
        let block = self.call_block(export, Some(super::abi::JOB_HANDLE), library, &state).await?;
        let envelope = self.envelope(export, &block)?;
        if envelope.interrupted.map(RawValue::get) == Some("true") {
            return Ok(Outcome::Interrupted);
        }
        let returned = envelope.ok.map(|ok| serde_json::from_str(ok.get()));
        match returned {
            Some(Ok(state)) => Ok(Outcome::Completed(state)),
            Some(Err(e)) => Err(OpError::internal(format!(
                "extension `{}` returned invalid JSON from `{export}`: {e}",
                self.extension()
            ))),
            None => Err(OpError::internal(format!(
                "extension `{}` returned no result from job `{export}`",
                self.extension()
            ))),
        }
    }

    /// Reads the envelope a guest returned, turning an `error` into `Err`.
    fn envelope<'a>(&self, export: &str, block: &'a [u8]) -> OpResult<Envelope<'a>> {
        let ext = self.extension();
        let envelope: Envelope<'a> = serde_json::from_slice(block)
            .map_err(|e| OpError::internal(format!("extension `{ext}` returned invalid JSON from `{export}`: {e}")))?;
        if let Some(err) = envelope.error {
            return Err(serde_json::from_str::<OpError>(err.get()).unwrap_or_else(|_| {
                OpError::new(
                    ErrorCode::Internal,
                    format!("extension `{ext}` returned a malformed error: {}", err.get()),
                )
            }));
        }
        Ok(envelope)
    }

    /// Shared by operations and jobs: passes `bytes` (and a library id) in
    /// guest memory, calls `export`, and returns the JSON envelope the guest
    /// answered with.
    async fn call_block(
        &mut self,
        export: &str,
        job: Option<u32>,
        library: Option<Uuid>,
        bytes: &[u8],
    ) -> OpResult<Vec<u8>> {
        // Only failures name the export: the hot path builds no strings.
        let what = || format!("`{export}`");
        let deadline = self.store.data_mut().start_call(self.cpu_ms);
        self.store.set_epoch_deadline(deadline);

        let len = u32::try_from(bytes.len()).map_err(|_| OpError::exhausted("payload too large"))?;
        // One block: the payload, then (8-aligned) the 16 bytes of the
        // library id.
        let lib_at = len.div_ceil(8).saturating_mul(8);
        let need = lib_at.saturating_add(16);
        let owned = need > SCRATCH_BYTES;
        let block = match (owned, self.scratch) {
            (false, Some(p)) => p,
            (owned, _) => {
                let size = if owned { need } else { SCRATCH_BYTES };
                let p = match host::guest_alloc(&mut self.store, size, &[]).await {
                    Ok(p) => p,
                    Err(e) => return Err(self.fail(&what(), &e)),
                };
                if !owned {
                    self.scratch = Some(p);
                }
                p
            }
        };
        let exports = self.store.data().exports.clone().ok_or_else(|| OpError::internal("guest exports not bound"))?;
        let write = |store: &mut Store<HostState>, at: u32, data: &[u8]| {
            exports.memory.write(store, at as usize, data).map_err(|e| OpError::internal(format!("{e}")))
        };
        let p_ptr = block;
        write(&mut self.store, p_ptr, bytes)?;
        let lib_ptr = match library {
            Some(id) => {
                write(&mut self.store, block + lib_at, id.as_bytes())?;
                block + lib_at
            }
            None => 0,
        };
        let called = match job {
            None => {
                let f = self.funcs.operation(&self.instance, &mut self.store, export)?;
                f.call_async(&mut self.store, (p_ptr, len, lib_ptr)).await
            }
            Some(handle) => {
                let f = self.funcs.job(&self.instance, &mut self.store, export)?;
                f.call_async(&mut self.store, (handle, p_ptr, len, lib_ptr)).await
            }
        };
        let result_ptr = match called {
            Ok(p) => p,
            Err(e) => return Err(self.fail(&what(), &e)),
        };
        let framed = host::read_framed(&self.store, result_ptr, host::MAX_RESULT_BYTES as u32);
        let frees = [owned.then_some((block, need)), framed.as_ref().ok().map(|b| (result_ptr, b.len() as u32 + 4))];
        for args in frees.into_iter().flatten() {
            if let Err(e) = exports.free.call_async(&mut self.store, args).await {
                return Err(self.fail(&what(), &e));
            }
        }
        framed.map_err(|e| e.context(format!("extension `{}` returned a bad result block", self.extension())))
    }
}

/// Typed handles of the operation and job exports called so far: looking an
/// export up and checking its type on every call cost more than the call.
#[derive(Default)]
struct Funcs {
    operations: HashMap<String, OpFunc>,
    jobs: HashMap<String, JobFunc>,
}

/// An operation export: `(payload_ptr, payload_len, library_ptr) -> result`.
type OpFunc = TypedFunc<(u32, u32, u32), u32>;
/// A job export: `(job, state_ptr, state_len, library_ptr) -> result`.
type JobFunc = TypedFunc<(u32, u32, u32, u32), u32>;

impl Funcs {
    fn operation(
        &mut self,
        instance: &wasmtime::Instance,
        store: &mut Store<HostState>,
        export: &str,
    ) -> OpResult<&OpFunc> {
        typed(&mut self.operations, instance, store, export)
    }

    fn job(&mut self, instance: &wasmtime::Instance, store: &mut Store<HostState>, export: &str) -> OpResult<&JobFunc> {
        typed(&mut self.jobs, instance, store, export)
    }
}

fn typed<'a, P: wasmtime::WasmParams, R: wasmtime::WasmResults>(
    cache: &'a mut HashMap<String, TypedFunc<P, R>>,
    instance: &wasmtime::Instance,
    store: &mut Store<HostState>,
    export: &str,
) -> OpResult<&'a TypedFunc<P, R>> {
    if !cache.contains_key(export) {
        let f = instance
            .get_typed_func(&mut *store, export)
            .map_err(|e| OpError::internal(format!("export `{export}` is unusable: {e}")))?;
        cache.insert(export.to_string(), f);
    }
    cache.get(export).ok_or_else(|| OpError::internal(format!("export `{export}` vanished")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A guest that calls `spacedrive_call` with whatever arguments it is
    /// given, and resets its heap after each call.
    const FUZZ_WAT: &str = r#"
    (module
      (import "spacedrive" "spacedrive_call" (func $call (param i32 i32 i32 i32 i32) (result i32)))
      (import "spacedrive" "spacedrive_invoke" (func $invoke (param i32 i32 i32 i32 i32 i32 i32) (result i64)))
      (memory (export "memory") 2)
      (data (i32.const 16) "query:test.ping.v1{\"message\":\"x\"}")
      (global $heap (mut i32) (i32.const 65536))
      (func (export "wasm_alloc") (param $size i32) (result i32)
        (local $p i32)
        (local.set $p (global.get $heap))
        (global.set $heap (i32.add (local.get $p) (local.get $size)))
        (local.get $p))
      (func (export "wasm_free") (param i32 i32))
      (func (export "reset") (global.set $heap (i32.const 65536)))
      (func (export "spacedrive_abi_version") (result i32) (i32.const 1))
      (func (export "plugin_init") (result i32) (i32.const 0))
      (func (export "plugin_cleanup") (result i32) (i32.const 0))
      (func (export "fuzz") (param i32 i32 i32 i32 i32) (result i32)
        (call $call (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4)))
      (func (export "fuzz_invoke") (param i32 i32 i32 i32 i32 i32 i32) (result i64)
        (call $invoke (local.get 0) (local.get 1) (local.get 2) (local.get 3) (local.get 4) (local.get 5) (local.get 6))))
    "#;

    fn arg() -> impl Strategy<Value = u32> {
        prop_oneof![
            Just(0u32),
            0u32..64,
            16u32..60,
            65_500u32..65_600,
            131_000u32..131_100,
            Just(u32::MAX),
            Just(u32::MAX - 3),
            any::<u32>(),
        ]
    }

    /// Runs `f` on a fresh instance of [`FUZZ_WAT`] (no core attached) with
    /// a fresh CPU budget.
    fn on_fuzz_instance<R>(f: impl AsyncFnOnce(&mut Instance) -> R) -> R {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let runtime = Runtime::new(cache.path()).unwrap();
        let linker = host::linker(runtime.engine()).unwrap();
        let manifest = Manifest::parse(
            br#"{"id":"fuzz","name":"f","version":"1","permissions":{"methods":["test."],"libraries":["*"]}}"#,
        )
        .unwrap();
        let module = wasmtime::Module::new(runtime.engine(), wat::parse_str(FUZZ_WAT).unwrap()).unwrap();
        let guard = Arc::new(Guard::new(
            "fuzz",
            &manifest.permissions,
            super::super::permissions::TickClock::new(runtime.clock()),
        ));
        rt.block_on(async {
            let pre = linker.instantiate_pre(&module).unwrap();
            let mut inst =
                Instance::new(&runtime, &pre, &manifest, std::sync::Weak::new(), guard, Default::default(), true)
                    .await
                    .unwrap();
            let deadline = inst.store.data_mut().start_call(1000);
            inst.store.set_epoch_deadline(deadline);
            f(&mut inst).await
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever pointers and lengths a guest passes, the host neither
        /// panics nor traps: it answers with a well-formed envelope.
        #[test]
        fn any_arguments_get_an_envelope(args in (arg(), arg(), arg(), arg(), arg())) {
            on_fuzz_instance(async |inst| {
                let fuzz: TypedFunc<(u32, u32, u32, u32, u32), u32> =
                    inst.instance.get_typed_func(&mut inst.store, "fuzz").unwrap();
                match fuzz.call_async(&mut inst.store, args).await {
                    Ok(ptr) => {
                        let block = host::read_framed(&inst.store, ptr, host::MAX_RESULT_BYTES as u32)
                            .expect("a readable block");
                        let v: Value = serde_json::from_slice(&block).expect("JSON envelope");
                        // No core is attached, so even a valid call ends in an error.
                        prop_assert!(v.get("error").is_some(), "{v}");
                    }
                    // The one trap allowed: the guest declared as argument the
                    // memory its own allocator then handed out.
                    Err(e) => prop_assert!(
                        e.root_cause().to_string().contains("overlapping a live argument"),
                        "unexpected trap: {}", e.root_cause()
                    ),
                }
                Ok(())
            })?;
        }

        /// The same for `spacedrive_invoke`, whatever buffer it is offered:
        /// no core is attached, so every call ends in an error, which comes
        /// in a block with the error bit set.
        #[test]
        fn any_invoke_arguments_get_an_error_block(
            args in (arg(), arg(), arg(), arg(), arg()),
            out in (arg(), arg()),
        ) {
            on_fuzz_instance(async |inst| {
                type Invoke = TypedFunc<(u32, u32, u32, u32, u32, u32, u32), i64>;
                let fuzz: Invoke = inst.instance.get_typed_func(&mut inst.store, "fuzz_invoke").unwrap();
                let (a, b, c, d, e) = args;
                match fuzz.call_async(&mut inst.store, (a, b, c, d, e, out.0, out.1)).await {
                    Ok(r) => {
                        prop_assert!(r < 0 && (-r) & crate::infra::extension::abi::INVOKE_ERROR_BIT != 0, "answer {r}");
                        let block = host::read_framed(&inst.store, (-r) as u32, host::MAX_RESULT_BYTES as u32)
                            .expect("a readable block");
                        let v: Value = serde_json::from_slice(&block).expect("JSON error");
                        prop_assert!(v.get("code").is_some() && v.get("message").is_some(), "{v}");
                    }
                    Err(e) => prop_assert!(
                        e.root_cause().to_string().contains("overlapping a live argument"),
                        "unexpected trap: {}", e.root_cause()
                    ),
                }
                Ok(())
            })?;
        }
    }
}
