//! The only place that touches raw guest memory and the host imports. Every
//! `unsafe` block of the SDK is here, each with the reason it is sound.

#![allow(unsafe_code)]

use std::alloc::Layout;

/// Alignment of every block handed to or from the host.
const ALIGN: usize = 8;

fn layout(size: u32) -> Option<Layout> {
    Layout::from_size_align(size.max(1) as usize, ALIGN).ok()
}

/// `wasm_alloc`: a block of `size` bytes (at least 1), or 0 when out of memory.
pub fn alloc(size: u32) -> u32 {
    match layout(size) {
        // SAFETY: the layout has a non-zero size.
        Some(l) => unsafe { std::alloc::alloc(l) as usize as u32 },
        None => 0,
    }
}

/// `wasm_free`: releases a block from [`alloc`] of the same `size`.
pub fn free(ptr: u32, size: u32) {
    if ptr == 0 {
        return;
    }
    if let Some(l) = layout(size) {
        // SAFETY: by the ABI, `ptr` came from `alloc(size)` with this size, and
        // is freed once (the host frees what it allocated, we free what the
        // host delivered to us).
        unsafe { std::alloc::dealloc(ptr as usize as *mut u8, l) }
    }
}

/// Copies `len` bytes the host placed at `ptr`.
pub fn host_bytes(ptr: u32, len: u32) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    // SAFETY: the host wrote `len` bytes at `ptr` into a block it obtained
    // from our `wasm_alloc` and keeps alive for this call.
    unsafe { std::slice::from_raw_parts(ptr as usize as *const u8, len as usize).to_vec() }
}

/// Returns `[u32 LE length][bytes]` in a fresh block for the host, which
/// frees it with `wasm_free(ptr, 4 + length)`.
pub fn framed(bytes: &[u8]) -> u32 {
    let total = bytes.len() + 4;
    let ptr = alloc(total as u32);
    if ptr == 0 {
        return 0;
    }
    // SAFETY: `ptr` is a fresh block of `total` bytes from `alloc`.
    unsafe {
        let dst = std::slice::from_raw_parts_mut(ptr as usize as *mut u8, total);
        dst[..4].copy_from_slice(&(bytes.len() as u32).to_le_bytes());
        dst[4..].copy_from_slice(bytes);
    }
    ptr
}

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "spacedrive")]
    unsafe extern "C" {
        pub fn spacedrive_invoke(
            method_ptr: u32,
            method_len: u32,
            library_ptr: u32,
            payload_ptr: u32,
            payload_len: u32,
            out_ptr: u32,
            out_cap: u32,
        ) -> i64;
        pub fn spacedrive_log(level: u32, ptr: u32, len: u32);
        pub fn job_report_progress(job: u32, fraction: f32, ptr: u32, len: u32) -> i32;
        pub fn job_checkpoint(job: u32, ptr: u32, len: u32) -> i32;
        pub fn job_check_interrupt(job: u32) -> i32;
        pub fn job_add_warning(job: u32, ptr: u32, len: u32) -> i32;
        pub fn job_increment_bytes(job: u32, n: i64) -> i32;
        pub fn job_increment_items(job: u32, n: i64) -> i32;
    }
}

/// `job_report_progress`.
#[cfg(target_arch = "wasm32")]
pub fn job_report_progress(job: u32, fraction: f32, message: &str) -> i32 {
    // SAFETY: the pointer and length describe a live slice.
    unsafe { imports::job_report_progress(job, fraction, message.as_ptr() as usize as u32, message.len() as u32) }
}

/// `job_checkpoint`.
#[cfg(target_arch = "wasm32")]
pub fn job_checkpoint(job: u32, state: &[u8]) -> i32 {
    // SAFETY: the pointer and length describe a live slice.
    unsafe { imports::job_checkpoint(job, state.as_ptr() as usize as u32, state.len() as u32) }
}

/// `job_check_interrupt`.
#[cfg(target_arch = "wasm32")]
pub fn job_check_interrupt(job: u32) -> i32 {
    // SAFETY: plain integer call.
    unsafe { imports::job_check_interrupt(job) }
}

/// `job_add_warning`.
#[cfg(target_arch = "wasm32")]
pub fn job_add_warning(job: u32, message: &str) -> i32 {
    // SAFETY: the pointer and length describe a live slice.
    unsafe { imports::job_add_warning(job, message.as_ptr() as usize as u32, message.len() as u32) }
}

/// `job_increment_bytes` / `job_increment_items`.
#[cfg(target_arch = "wasm32")]
pub fn job_increment(job: u32, n: u64, bytes: bool) -> i32 {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    // SAFETY: plain integer calls.
    unsafe { if bytes { imports::job_increment_bytes(job, n) } else { imports::job_increment_items(job, n) } }
}

/// Outside wasm no job runs.
#[cfg(not(target_arch = "wasm32"))]
pub fn job_report_progress(_job: u32, _fraction: f32, _message: &str) -> i32 {
    -1
}
#[cfg(not(target_arch = "wasm32"))]
pub fn job_checkpoint(_job: u32, _state: &[u8]) -> i32 {
    -1
}
#[cfg(not(target_arch = "wasm32"))]
pub fn job_check_interrupt(_job: u32) -> i32 {
    -1
}
#[cfg(not(target_arch = "wasm32"))]
pub fn job_add_warning(_job: u32, _message: &str) -> i32 {
    -1
}
#[cfg(not(target_arch = "wasm32"))]
pub fn job_increment(_job: u32, _n: u64, _bytes: bool) -> i32 {
    -1
}

/// Answers up to this size land in a buffer the SDK keeps, so a call costs
/// no allocation on either side; larger ones come in a block from
/// `wasm_alloc`, and the buffer grows (up to 1 MiB) for next time.
#[cfg(target_arch = "wasm32")]
const INITIAL_BUFFER: usize = 16 * 1024;
#[cfg(target_arch = "wasm32")]
const MAX_BUFFER: usize = 1024 * 1024;

#[cfg(target_arch = "wasm32")]
thread_local! {
    static ANSWER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(INITIAL_BUFFER));
}

thread_local! {
    static PAYLOAD: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Serialises `input` into a buffer the SDK keeps and hands it to `f`, so a
/// call allocates nothing for its payload. Buffers over 1 MiB are not kept.
pub fn with_payload<I: serde::Serialize + ?Sized, R>(
    input: &I,
    f: impl FnOnce(&[u8]) -> R,
) -> Result<R, serde_json::Error> {
    PAYLOAD.with(|cell| {
        let Ok(mut buf) = cell.try_borrow_mut() else {
            // Only reachable if `f` itself made a call; use a buffer of its own.
            return serde_json::to_vec(input).map(|b| f(&b));
        };
        buf.clear();
        serde_json::to_writer(&mut *buf, input)?;
        let r = f(&buf);
        if buf.capacity() > 1024 * 1024 {
            *buf = Vec::new();
        }
        Ok(r)
    })
}

/// Takes ownership of a framed block the host delivered at `ptr`.
#[cfg(target_arch = "wasm32")]
fn take_framed(ptr: u32) -> Vec<u8> {
    // SAFETY: the host wrote `[u32 LE len][len bytes]` at `ptr`, in a block it
    // obtained from our `wasm_alloc(4 + len)`; we own it now.
    let len = unsafe { (ptr as usize as *const u32).read_unaligned() };
    let bytes = host_bytes(ptr + 4, len);
    free(ptr, len + 4);
    bytes
}

/// What an operation answered: its result's JSON, or its error's
/// (`{code, message}`).
// Outside wasm every call fails, so `Ok` is built only in a module.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
pub enum Answer<'a> {
    /// The result.
    Ok(&'a str),
    /// The error.
    Error(&'a str),
}

/// The host's answer bytes as text, unchecked.
#[cfg(target_arch = "wasm32")]
fn answer_text(bytes: &[u8]) -> &str {
    // SAFETY: the ABI promises that every answer of `spacedrive_invoke` is
    // UTF-8 JSON (docs/extension-abi.md); the host builds each from a Rust
    // `str`. Checking again here cost each call about 1.5%.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// In a negative answer of `spacedrive_invoke`, the bit saying the block
/// holds an error.
#[cfg(target_arch = "wasm32")]
const INVOKE_ERROR_BIT: u64 = 1 << 32;

/// Calls an operation with `spacedrive_invoke` and hands the answer to
/// `read`. The result lands in a buffer the SDK keeps; errors, and results
/// too large for it, come in a block from `wasm_alloc`.
#[cfg(target_arch = "wasm32")]
pub fn call<R>(method: &str, library: Option<&[u8; 16]>, payload: &[u8], read: impl FnOnce(Answer<'_>) -> R) -> R {
    let lib_ptr = library.map_or(0, |b| b.as_ptr() as usize as u32);
    let (m_ptr, m_len) = (method.as_ptr() as usize as u32, method.len() as u32);
    let (p_ptr, p_len) = (payload.as_ptr() as usize as u32, payload.len() as u32);
    ANSWER.with(|cell| {
        // Not shared, ever (`read` only decodes): without the buffer the
        // answer comes in a block.
        let mut buf = cell.try_borrow_mut().ok();
        let (out_ptr, out_cap) = buf.as_mut().map_or((0, 0), |b| (b.as_mut_ptr() as usize as u32, b.capacity() as u32));
        // SAFETY: the pointers and lengths describe live slices of our memory;
        // the host writes at most `out_cap` bytes at `out_ptr`, which is the
        // buffer's spare capacity.
        let r = unsafe { imports::spacedrive_invoke(m_ptr, m_len, lib_ptr, p_ptr, p_len, out_ptr, out_cap) };
        if r >= 0 {
            let Some(buf) = buf.as_mut() else { return read(Answer::Ok("")) };
            // SAFETY: the host initialised the first `r <= capacity` bytes.
            unsafe { buf.set_len(r as usize) };
            return read(Answer::Ok(answer_text(buf)));
        }
        let v = r.unsigned_abs();
        let bytes = take_framed(v as u32);
        if v & INVOKE_ERROR_BIT != 0 {
            return read(Answer::Error(answer_text(&bytes)));
        }
        if let Some(buf) = buf.as_mut()
            && bytes.len() <= MAX_BUFFER
        {
            buf.clear();
            buf.reserve(bytes.len().next_power_of_two());
        }
        read(Answer::Ok(answer_text(&bytes)))
    })
}

/// Outside wasm there is no host: calls fail with `unavailable`.
#[cfg(not(target_arch = "wasm32"))]
pub fn call<R>(_method: &str, _library: Option<&[u8; 16]>, _payload: &[u8], read: impl FnOnce(Answer<'_>) -> R) -> R {
    read(Answer::Error(r#"{"code":"unavailable","message":"no Spacedrive host: extensions run inside the wasm host"}"#))
}

/// Sends a log line.
#[cfg(target_arch = "wasm32")]
pub fn log(level: u32, text: &str) {
    // SAFETY: the pointer and length describe a live slice.
    unsafe { imports::spacedrive_log(level, text.as_ptr() as usize as u32, text.len() as u32) }
}

/// Outside wasm, log lines go to standard error.
#[cfg(not(target_arch = "wasm32"))]
pub fn log(level: u32, text: &str) {
    eprintln!("[{level}] {text}");
}
