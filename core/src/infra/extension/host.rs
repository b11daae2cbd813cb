//! Host side of the ABI: the state each guest store carries, the host
//! functions, and bounds-checked access to guest memory.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use uuid::Uuid;
use wasmtime::{AsContext, AsContextMut, Caller, Linker, Memory, TypedFunc};

use super::abi::{self, IMPORT_MODULE};
use super::permissions::{Guard, Stats};
use super::runtime::CpuBudget;
use crate::Core;
use crate::error::{OpError, OpResult};
use crate::infra::job::{Interrupt, JobHandle, MAX_MESSAGE_BYTES};
use crate::infra::wire::{Answer, MAX_PAYLOAD_BYTES};

/// Longest method string a guest may send.
const MAX_METHOD_BYTES: u32 = 256;
/// Largest result delivered to a guest.
pub const MAX_RESULT_BYTES: usize = 16 * 1024 * 1024;
/// Longest single log line.
const MAX_LOG_LINE: u32 = 16 * 1024;
/// Log bytes one guest call may emit before lines are dropped.
const LOG_BUDGET_PER_CALL: usize = 1024 * 1024;

tokio::task_local! {
    /// The extension call being served: one task-local, so entering a call
    /// wraps the operation's future once.
    static CALL: CallContext;
}

/// What the core knows of the extension call it serves.
#[derive(Clone)]
struct CallContext {
    /// Extensions whose code is on the call path; a call into one of them
    /// again would wait on its own lock, so it is refused instead.
    chain: CallChain,
    /// Permissions of the extension whose host call is being served.
    guard: Option<Arc<Guard>>,
}

/// The extensions on a call path, innermost first. A shared list: entering
/// one more extension adds a link instead of copying the chain, and
/// re-entering the innermost one (its host calls) adds nothing.
#[derive(Clone, Default)]
pub struct CallChain(Option<Arc<Link>>);

struct Link {
    id: Arc<str>,
    outer: CallChain,
}

impl CallChain {
    /// The chain of the call being served (empty outside extension calls).
    pub fn current() -> CallChain {
        CALL.try_with(|c| c.chain.clone()).unwrap_or_default()
    }

    /// Whether extension `id` is on the chain.
    pub fn contains(&self, id: &str) -> bool {
        let mut at = &self.0;
        while let Some(link) = at {
            if &*link.id == id {
                return true;
            }
            at = &link.outer.0;
        }
        false
    }

    /// The chain with `id` entered innermost.
    pub fn enter(self, id: &Arc<str>) -> CallChain {
        match &self.0 {
            Some(link) if Arc::ptr_eq(&link.id, id) || link.id == *id => self,
            _ => CallChain(Some(Arc::new(Link { id: id.clone(), outer: self }))),
        }
    }

    /// Runs `f` with this chain as the current one; the guard of the host
    /// call being served, if any, stays.
    pub async fn scope<F: Future>(self, f: F) -> F::Output {
        let guard = CALL.try_with(|c| c.guard.clone()).ok().flatten();
        CALL.scope(CallContext { chain: self, guard }, f).await
    }
}

/// The guard of the host call being served, if one is.
fn current_guard<R>(f: impl FnOnce(&Guard) -> R) -> Option<R> {
    CALL.try_with(|c| c.guard.as_deref().map(f)).ok().flatten()
}

/// Whether the extension whose host call is being served may use `library`;
/// `true` when no extension call is being served.
pub fn current_call_may_use(library: Uuid) -> bool {
    current_guard(|g| g.library_allowed(library)).unwrap_or(true)
}

/// The network grant of the extension whose host call is being served.
pub fn current_network_grant() -> Option<Arc<super::permissions::NetworkGrant>> {
    current_guard(Guard::network)
}

/// Checks a call made as extension `id` against its manifest (method prefix,
/// library, rate limit). Fails closed: a call claiming to be an extension
/// outside one of that extension's host calls is refused.
pub fn check_extension_call(id: &str, method: &str, library: Option<Uuid>) -> OpResult<()> {
    match current_guard(|g| (g.extension() == id).then(|| g.check(method, library))) {
        Some(Some(checked)) => checked,
        _ => Err(OpError::denied(format!(
            "a call as extension `{id}` must come from that extension's own module through the extension host"
        ))),
    }
}

/// Whether extension `id`'s code is on the current call path.
pub fn in_call_chain(id: &str) -> bool {
    CALL.try_with(|c| c.chain.contains(id)).unwrap_or(false)
}

/// Limits of one store: memory size and counts of instances, tables and
/// memories. Hitting the memory limit traps with a message naming it.
pub struct Limits {
    /// Largest linear memory, in bytes.
    pub max_memory: usize,
    /// Set when a growth was refused.
    pub memory_exceeded: bool,
}

impl wasmtime::ResourceLimiter for Limits {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_memory {
            self.memory_exceeded = true;
            return Err(wasmtime::Error::msg(format!(
                "memory limit exceeded: the extension asked for {desired} bytes, its limit is {} MiB",
                self.max_memory / (1024 * 1024)
            )));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }

    fn instances(&self) -> usize {
        1
    }

    fn tables(&self) -> usize {
        4
    }

    fn memories(&self) -> usize {
        1
    }
}

/// The guest exports the host itself calls.
#[derive(Clone)]
pub struct GuestExports {
    /// The guest's linear memory.
    pub memory: Memory,
    /// `wasm_alloc(size) -> ptr`.
    pub alloc: TypedFunc<u32, u32>,
    /// `wasm_free(ptr, size)`.
    pub free: TypedFunc<(u32, u32), ()>,
}

/// Data of one guest store.
pub struct HostState {
    /// Extension id.
    pub extension: String,
    /// The core, for operations.
    pub core: Weak<Core>,
    /// Permission checks.
    pub guard: Arc<Guard>,
    /// Counters.
    pub stats: Arc<Stats>,
    /// Memory and count limits.
    pub limits: Limits,
    /// CPU budget of the call under way.
    pub budget: CpuBudget,
    /// Tick counter of the runtime.
    pub clock: Arc<AtomicU64>,
    /// Set once the instance exists. Shared, not cloned: cloning a
    /// `TypedFunc` takes type-registry references.
    pub exports: Option<Arc<GuestExports>>,
    /// Log bytes left in this call.
    pub log_budget: usize,
    /// The job this instance runs, if it runs one.
    pub job: Option<Arc<JobHandle>>,
}

impl HostState {
    fn now(&self) -> u64 {
        self.clock.load(Ordering::Relaxed)
    }

    /// Resets per-call budgets; returns the epoch deadline to set.
    pub fn start_call(&mut self, cpu_ms: u32) -> u64 {
        self.log_budget = LOG_BUDGET_PER_CALL;
        let now = self.now();
        self.budget.start(cpu_ms, now)
    }
}

/// A region of guest memory.
#[derive(Debug, Clone, Copy)]
pub struct Region {
    /// Offset.
    pub ptr: u32,
    /// Length in bytes.
    pub len: u32,
}

impl Region {
    fn overlaps(&self, other: &Region) -> bool {
        let (a0, a1) = (u64::from(self.ptr), u64::from(self.ptr) + u64::from(self.len));
        let (b0, b1) = (u64::from(other.ptr), u64::from(other.ptr) + u64::from(other.len));
        self.len > 0 && other.len > 0 && a0 < b1 && b0 < a1
    }
}

/// The guest's memory (a handle: copying it copies no bytes).
fn memory(ctx: &impl AsContext<Data = HostState>) -> OpResult<Memory> {
    ctx.as_context()
        .data()
        .exports
        .as_ref()
        .map(|e| e.memory)
        .ok_or_else(|| OpError::internal("guest exports not bound yet"))
}

/// Borrows `len` bytes at `ptr` of guest memory, refusing lengths over `max`
/// and ranges outside the memory.
pub fn guest_slice<'a, T: 'static>(
    ctx: impl Into<wasmtime::StoreContext<'a, T>>,
    memory: Memory,
    ptr: u32,
    len: u32,
    max: u32,
    what: &str,
) -> OpResult<&'a [u8]> {
    if len > max {
        return Err(OpError::exhausted(format!("{what} is {len} bytes, over the limit of {max} bytes")));
    }
    let data = memory.data(ctx);
    let start = ptr as usize;
    let end = start.checked_add(len as usize).filter(|&e| e <= data.len()).ok_or_else(|| {
        OpError::invalid(format!(
            "{what} at {ptr}..{} lies outside guest memory ({} bytes)",
            u64::from(ptr) + u64::from(len),
            data.len()
        ))
    })?;
    Ok(&data[start..end])
}

/// Copies `len` bytes at `ptr` out of guest memory, refusing lengths over
/// `max` and ranges outside the memory.
pub fn read_guest(
    ctx: &impl AsContext<Data = HostState>,
    ptr: u32,
    len: u32,
    max: u32,
    what: &str,
) -> OpResult<Vec<u8>> {
    Ok(guest_slice(ctx.as_context(), memory(ctx)?, ptr, len, max, what)?.to_vec())
}

/// Allocates `len` bytes with the guest's own `wasm_alloc` and checks the
/// pointer: not 0, inside memory, and not overlapping `live` (regions the
/// guest handed to the host for this call). A bad pointer is a trap: the
/// guest's allocator is broken and the host cannot deliver.
pub async fn guest_alloc(
    ctx: &mut (impl AsContextMut<Data = HostState> + Send),
    len: u32,
    live: &[Region],
) -> wasmtime::Result<u32> {
    let (exports, memory) = match &ctx.as_context().data().exports {
        Some(e) => (e.clone(), e.memory),
        None => return Err(wasmtime::Error::msg("guest exports not bound yet")),
    };
    let ptr = exports.alloc.call_async(&mut *ctx, len).await?;
    let size = memory.data_size(&*ctx) as u64;
    let region = Region { ptr, len };
    if ptr == 0 {
        return Err(wasmtime::Error::msg(format!(
            "wasm_alloc({len}) returned 0 (out of memory, or a broken allocator)"
        )));
    }
    if u64::from(ptr) + u64::from(len) > size {
        return Err(wasmtime::Error::msg(format!(
            "wasm_alloc({len}) returned {ptr}, outside guest memory ({size} bytes)"
        )));
    }
    if let Some(r) = live.iter().find(|r| r.overlaps(&region)) {
        return Err(wasmtime::Error::msg(format!(
            "wasm_alloc({len}) returned {ptr}, overlapping a live argument at {}..{}",
            r.ptr,
            u64::from(r.ptr) + u64::from(r.len)
        )));
    }
    Ok(ptr)
}

/// Writes `body` framed (`[u32 little-endian length][bytes]`) into a fresh
/// guest allocation and returns its pointer. The guest owns it and frees it
/// with `wasm_free(ptr, 4 + length)`.
pub async fn deliver(
    ctx: &mut (impl AsContextMut<Data = HostState> + Send),
    body: &[u8],
    live: &[Region],
) -> wasmtime::Result<u32> {
    let len = u32::try_from(body.len()).map_err(|_| wasmtime::Error::msg("result too large"))?;
    let total = len.checked_add(4).ok_or_else(|| wasmtime::Error::msg("result too large"))?;
    let ptr = guest_alloc(ctx, total, live).await?;
    let memory = memory(ctx).map_err(wasmtime::Error::msg)?;
    memory.write(&mut *ctx, ptr as usize, &len.to_le_bytes())?;
    memory.write(&mut *ctx, ptr as usize + 4, body)?;
    Ok(ptr)
}

/// Writes `body` into the buffer the guest offered (`out_cap` bytes at
/// `out_ptr`) when it fits and the buffer lies inside memory (it may
/// overlap the arguments: they have been read); returns its length, or
/// `None` when it must be delivered in a block instead.
fn offer(caller: &mut Caller<'_, HostState>, body: &[u8], out_ptr: u32, out_cap: u32) -> wasmtime::Result<Option<i64>> {
    let memory = memory(caller).map_err(wasmtime::Error::msg)?;
    let inside = u64::from(out_ptr) + u64::from(out_cap) <= memory.data_size(&*caller) as u64;
    if out_cap == 0 || body.len() > out_cap as usize || !inside {
        return Ok(None);
    }
    memory.write(&mut *caller, out_ptr as usize, body)?;
    Ok(Some(body.len() as i64))
}

/// Reads a `[u32 length][bytes]` block the guest returned, bounded by `max`.
pub fn read_framed(ctx: &impl AsContext<Data = HostState>, ptr: u32, max: u32) -> OpResult<Vec<u8>> {
    let len_bytes = read_guest(ctx, ptr, 4, 4, "result length")?;
    let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    let start = ptr.checked_add(4).ok_or_else(|| OpError::invalid("result pointer overflows"))?;
    read_guest(ctx, start, len, max, "result")
}

/// The JSON envelope a guest receives (`{"ok": …}` or `{"error": …}`):
/// [`bare`]'s answer wrapped, without building an envelope `Value`.
pub fn envelope(result: &OpResult<Answer>) -> Vec<u8> {
    fn wrapped(failed: bool, body: &[u8]) -> Vec<u8> {
        let key: &[u8] = if failed { b"{\"error\":" } else { b"{\"ok\":" };
        let mut out = Vec::with_capacity(key.len() + body.len() + 1);
        out.extend_from_slice(key);
        out.extend_from_slice(body);
        out.push(b'}');
        out
    }
    let (body, failed) = bare(result);
    let out = wrapped(failed, body.as_bytes());
    if out.len() > MAX_RESULT_BYTES {
        return wrapped(true, &serde_json::to_vec(&too_large(out.len())).unwrap_or_default());
    }
    out
}

fn too_large(len: usize) -> OpError {
    OpError::exhausted(format!(
        "result is {len} bytes, over the {MAX_RESULT_BYTES}-byte limit for guests; ask for less (use limit/offset)"
    ))
}

/// What `spacedrive_invoke` hands over, and [`envelope`] wraps: the
/// result's JSON alone, or the error's (`true`). Always UTF-8 (a `str`):
/// the ABI promises it, and the SDK parses answers without checking again.
fn bare(result: &OpResult<Answer>) -> (std::borrow::Cow<'_, str>, bool) {
    use std::borrow::Cow;
    // Serialising a `Value` or an `OpError` into a String cannot fail.
    let error = |e: &OpError| (Cow::Owned(serde_json::to_string(e).unwrap_or_default()), true);
    let ok = match result {
        Ok(Answer::Text(t)) => Cow::Borrowed(t.as_str()),
        Ok(Answer::Value(v)) => Cow::Owned(serde_json::to_string(v).unwrap_or_default()),
        Err(e) => return error(e),
    };
    if ok.len() > MAX_RESULT_BYTES {
        return error(&too_large(ok.len()));
    }
    (ok, false)
}

/// The guest enters the host: stop charging CPU.
fn pause(caller: &mut Caller<'_, HostState>) {
    let now = caller.data().now();
    caller.data_mut().budget.pause(now);
}

/// The guest resumes: restart its CPU clock with what is left.
fn resume(caller: &mut Caller<'_, HostState>) {
    let now = caller.data().now();
    let deadline = caller.data_mut().budget.resume(now);
    caller.as_context_mut().set_epoch_deadline(deadline);
}

/// Serves one `spacedrive_call*` with the guest's CPU clock stopped: the
/// operation's result, and the argument regions it must not land on.
async fn serve(caller: &mut Caller<'_, HostState>, args: [u32; 5]) -> (OpResult<Answer>, LiveArgs) {
    pause(caller);
    let served = run_call(caller, args).await;
    resume(caller);
    served
}

/// [`serve`], answered with the envelope of ABI version 1.
async fn serve_call(caller: &mut Caller<'_, HostState>, args: [u32; 5]) -> (Vec<u8>, LiveArgs) {
    let (result, live) = serve(caller, args).await;
    (envelope(&result), live)
}

/// Answers `spacedrive_call_buf` and `spacedrive_invoke`: `body` goes into
/// the guest's buffer when it fits and is not an error, its length
/// returned; otherwise into a `[u32 length][bytes]` block from
/// `wasm_alloc`, returned as minus its pointer, with
/// [`abi::INVOKE_ERROR_BIT`] set when `failed`.
async fn answer_buffered(
    caller: &mut Caller<'_, HostState>,
    (body, failed): (&[u8], bool),
    live: &LiveArgs,
    out_ptr: u32,
    out_cap: u32,
) -> wasmtime::Result<i64> {
    if !failed && let Some(len) = offer(caller, body, out_ptr, out_cap)? {
        return Ok(len);
    }
    let ptr = deliver(caller, body, live).await?;
    let flag = if failed { abi::INVOKE_ERROR_BIT } else { 0 };
    Ok(-(i64::from(ptr) | flag))
}

/// Regions of guest memory the host accepted as a call's arguments (method,
/// library id, payload); a result must not land on them. Unused slots are
/// empty and overlap nothing.
pub type LiveArgs = [Region; 3];

async fn run_call(caller: &mut Caller<'_, HostState>, args: [u32; 5]) -> (OpResult<Answer>, LiveArgs) {
    let [m_ptr, m_len, lib_ptr, p_ptr, p_len] = args;
    let mut live = [Region { ptr: 0, len: 0 }; 3];
    // Borrowed, not cloned: nothing below needs the store mutably.
    let caller = &*caller;
    let (stats, guard) = (&caller.data().stats, &caller.data().guard);
    // The arguments are read in place, straight from guest memory: the
    // method as a `&str` and the payload as JSON text decoded by the
    // operation itself.
    let args = (|| -> OpResult<(&str, Option<Uuid>, &[u8])> {
        let memory = memory(caller)?;
        let method = guest_slice(caller, memory, m_ptr, m_len, MAX_METHOD_BYTES, "method")?;
        live[0] = Region { ptr: m_ptr, len: m_len };
        let method =
            std::str::from_utf8(method).map_err(|e| OpError::invalid(format!("method is not valid UTF-8: {e}")))?;
        let library = if lib_ptr == 0 {
            None
        } else {
            let b = guest_slice(caller, memory, lib_ptr, 16, 16, "library id")?;
            live[1] = Region { ptr: lib_ptr, len: 16 };
            Some(Uuid::from_slice(b).map_err(|e| OpError::invalid(format!("library id: {e}")))?)
        };
        let payload = guest_slice(caller, memory, p_ptr, p_len, MAX_PAYLOAD_BYTES as u32, "payload")?;
        live[2] = Region { ptr: p_ptr, len: p_len };
        Ok((method, library, payload))
    })();
    let (method, library, payload) = match args {
        Ok(p) => p,
        Err(e) => {
            stats.bad_requests.fetch_add(1, Ordering::Relaxed);
            stats.set_last_error(e.to_string());
            return (Err(e), live);
        }
    };
    let result = async {
        let core = caller.data().core.upgrade().ok_or_else(|| OpError::unavailable("the core is shutting down"))?;
        let chain = CallChain::current().enter(guard.id());
        let op = core.execute_json_text(method, library, payload, crate::Caller::Extension(guard.id().clone()));
        CALL.scope(CallContext { chain, guard: Some(guard.clone()) }, op).await
    }
    .await;
    stats.record(&result);
    if let Err(e) = &result {
        // The operation decodes the payload itself; a payload that is not
        // JSON at all is the guest's encoding error, counted as such.
        if e.code == crate::ErrorCode::InvalidInput
            && serde_json::from_slice::<serde::de::IgnoredAny>(payload).is_err()
            && !payload.trim_ascii().is_empty()
        {
            stats.bad_requests.fetch_add(1, Ordering::Relaxed);
        }
        tracing::debug!(extension = %guard.extension(), %method, error = %e, "extension call failed");
    }
    (result, live)
}

/// The job bound to this instance, if `handle` names it.
fn bound_job(caller: &Caller<'_, HostState>, handle: u32) -> Option<Arc<JobHandle>> {
    if handle == abi::JOB_HANDLE { caller.data().job.clone() } else { None }
}

/// Reads a job's text argument; `Err` is the ABI error code.
fn text_arg(caller: &Caller<'_, HostState>, ptr: u32, len: u32) -> Result<String, i32> {
    let bytes = read_guest(caller, ptr, len, MAX_MESSAGE_BYTES as u32, "job argument").map_err(|e| {
        if e.code == crate::ErrorCode::ResourceExhausted { abi::JOB_TOO_LARGE } else { abi::JOB_BAD_ARGUMENT }
    })?;
    String::from_utf8(bytes).map_err(|_| abi::JOB_BAD_ARGUMENT)
}

/// Runs a job's write-through with the guest's CPU clock stopped, and turns
/// the outcome into an ABI code.
async fn write_through(caller: &mut Caller<'_, HostState>, write: impl Future<Output = OpResult<()>>) -> i32 {
    pause(caller);
    let r = stored(write.await);
    resume(caller);
    r
}

fn stored(result: OpResult<()>) -> i32 {
    match result {
        Ok(()) => abi::JOB_OK,
        Err(e) => {
            tracing::warn!(error = %e, "a job's write-through failed");
            abi::JOB_FAILED
        }
    }
}

/// Builds the linker with every host function of ABI v1.
pub fn linker(engine: &wasmtime::Engine) -> OpResult<Linker<HostState>> {
    let mut linker = Linker::new(engine);
    let err = |e: wasmtime::Error| OpError::internal(format!("cannot define host functions: {e}"));
    linker
        .func_wrap_async(
            IMPORT_MODULE,
            "spacedrive_call",
            |mut caller: Caller<'_, HostState>, (m_ptr, m_len, lib_ptr, p_ptr, p_len): (u32, u32, u32, u32, u32)| {
                Box::new(async move {
                    let (json, live) = serve_call(&mut caller, [m_ptr, m_len, lib_ptr, p_ptr, p_len]).await;
                    deliver(&mut caller, &json, &live).await
                })
            },
        )
        .map_err(err)?;
    linker
        .func_wrap_async(
            IMPORT_MODULE,
            "spacedrive_call_buf",
            |mut caller: Caller<'_, HostState>,
             (m_ptr, m_len, lib_ptr, p_ptr, p_len, out_ptr, out_cap): (u32, u32, u32, u32, u32, u32, u32)| {
                Box::new(async move {
                    // The envelope carries errors too: never flagged.
                    let (json, live) = serve_call(&mut caller, [m_ptr, m_len, lib_ptr, p_ptr, p_len]).await;
                    answer_buffered(&mut caller, (&json, false), &live, out_ptr, out_cap).await
                })
            },
        )
        .map_err(err)?;
    linker
        .func_wrap_async(
            IMPORT_MODULE,
            "spacedrive_invoke",
            |mut caller: Caller<'_, HostState>,
             (m_ptr, m_len, lib_ptr, p_ptr, p_len, out_ptr, out_cap): (u32, u32, u32, u32, u32, u32, u32)| {
                Box::new(async move {
                    let (result, live) = serve(&mut caller, [m_ptr, m_len, lib_ptr, p_ptr, p_len]).await;
                    let (body, failed) = bare(&result);
                    answer_buffered(&mut caller, (body.as_bytes(), failed), &live, out_ptr, out_cap).await
                })
            },
        )
        .map_err(err)?;
    linker
        .func_wrap(
            IMPORT_MODULE,
            "spacedrive_log",
            |mut caller: Caller<'_, HostState>, level: u32, ptr: u32, len: u32| {
                let text = match read_guest(&caller, ptr, len, MAX_LOG_LINE, "log line") {
                    Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(e) => {
                        caller.data().stats.bad_requests.fetch_add(1, Ordering::Relaxed);
                        caller.data().stats.set_last_error(e.to_string());
                        return;
                    }
                };
                let data = caller.data_mut();
                if data.log_budget < text.len() {
                    data.stats.logs_dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                data.log_budget -= text.len();
                let ext = data.extension.as_str();
                match level {
                    0 => tracing::trace!(target: "extension", extension = ext, "{text}"),
                    1 => tracing::debug!(target: "extension", extension = ext, "{text}"),
                    2 => tracing::info!(target: "extension", extension = ext, "{text}"),
                    3 => tracing::warn!(target: "extension", extension = ext, "{text}"),
                    _ => tracing::error!(target: "extension", extension = ext, "{text}"),
                }
            },
        )
        .map_err(err)?;

    // Job functions write through to the job's record. Arguments are checked
    // before anything else, so a bad pointer is reported even without a job.
    linker
        .func_wrap_async(
            IMPORT_MODULE,
            "job_report_progress",
            |mut caller: Caller<'_, HostState>, (job, fraction, ptr, len): (u32, f32, u32, u32)| {
                Box::new(async move {
                    if !fraction.is_finite() || !(0.0..=1.0).contains(&fraction) {
                        return abi::JOB_BAD_ARGUMENT;
                    }
                    let text = match text_arg(&caller, ptr, len) {
                        Ok(t) => t,
                        Err(code) => return code,
                    };
                    let Some(handle) = bound_job(&caller, job) else { return abi::JOB_NO_SUCH_JOB };
                    write_through(&mut caller, async move { handle.report_progress(fraction, &text).await }).await
                })
            },
        )
        .map_err(err)?;
    linker
        .func_wrap_async(
            IMPORT_MODULE,
            "job_checkpoint",
            |mut caller: Caller<'_, HostState>, (job, ptr, len): (u32, u32, u32)| {
                Box::new(async move {
                    let max = crate::infra::extension::MAX_CHECKPOINT_BYTES;
                    let bytes = match read_guest(&caller, ptr, len, max, "checkpoint") {
                        Ok(b) => b,
                        Err(e) if e.code == crate::ErrorCode::ResourceExhausted => {
                            if let Some(handle) = bound_job(&caller, job) {
                                handle.violation(OpError::exhausted(format!(
                                    "the job wrote a checkpoint of {len} bytes, over the limit of {max} bytes; keep job state small and put bulk data in sidecars"
                                )));
                            }
                            return abi::JOB_TOO_LARGE;
                        }
                        Err(_) => return abi::JOB_BAD_ARGUMENT,
                    };
                    let Ok(text) = String::from_utf8(bytes) else { return abi::JOB_BAD_ARGUMENT };
                    if serde_json::from_str::<serde::de::IgnoredAny>(&text).is_err() {
                        return abi::JOB_BAD_ARGUMENT;
                    }
                    let Some(handle) = bound_job(&caller, job) else { return abi::JOB_NO_SUCH_JOB };
                    write_through(&mut caller, async move { handle.checkpoint(text).await }).await
                })
            },
        )
        .map_err(err)?;
    linker
        .func_wrap(IMPORT_MODULE, "job_check_interrupt", |mut caller: Caller<'_, HostState>, job: u32| -> i32 {
            let Some(handle) = bound_job(&caller, job) else { return abi::JOB_NO_SUCH_JOB };
            // A job's CPU budget is per slice: each check starts a new one.
            let now = caller.data().now();
            let per_slice = caller.data().budget.per_call_ms;
            let deadline = caller.data_mut().budget.start(per_slice, now);
            caller.as_context_mut().set_epoch_deadline(deadline);
            match handle.interrupt() {
                Interrupt::None => 0,
                Interrupt::Pause => 1,
                Interrupt::Cancel => 2,
            }
        })
        .map_err(err)?;
    linker
        .func_wrap_async(
            IMPORT_MODULE,
            "job_add_warning",
            |mut caller: Caller<'_, HostState>, (job, ptr, len): (u32, u32, u32)| {
                Box::new(async move {
                    let text = match text_arg(&caller, ptr, len) {
                        Ok(t) => t,
                        Err(code) => return code,
                    };
                    let Some(handle) = bound_job(&caller, job) else { return abi::JOB_NO_SUCH_JOB };
                    write_through(&mut caller, async move { handle.add_warning(&text).await }).await
                })
            },
        )
        .map_err(err)?;
    for (name, bytes) in [("job_increment_bytes", true), ("job_increment_items", false)] {
        linker
            .func_wrap(IMPORT_MODULE, name, move |caller: Caller<'_, HostState>, job: u32, n: i64| -> i32 {
                let Ok(n) = u64::try_from(n) else { return abi::JOB_BAD_ARGUMENT };
                let Some(handle) = bound_job(&caller, job) else { return abi::JOB_NO_SUCH_JOB };
                if bytes {
                    handle.add_bytes(n)
                } else {
                    handle.add_items(n)
                }
                abi::JOB_OK
            })
            .map_err(err)?;
    }
    Ok(linker)
}
