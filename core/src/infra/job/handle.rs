//! What a running job writes through: progress, counters, warnings and
//! durable checkpoints, plus the pause/cancel flag it polls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rusqlite::params;
use serde_json::Value;
use tokio::sync::watch;
use uuid::Uuid;

use crate::error::{OpError, OpResult};
use crate::library::Library;
use crate::vdfs::now_ns;

/// Progress and counters are written at most this often; checkpoints and
/// state changes always at once.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Warnings kept per job; more are counted in the last one.
const MAX_WARNINGS: usize = 1000;
/// Longest progress message or warning.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// What a job is asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interrupt {
    /// Keep going.
    None,
    /// Checkpoint and stop; `resume` continues from the checkpoint.
    Pause,
    /// Stop for good.
    Cancel,
}

/// How often watchers look for progress: a job checkpointing in a loop
/// writes every few microseconds, and waking its watchers each time would
/// slow the job itself. Changes of state wake them at once.
const WATCH_PROGRESS_EVERY: Duration = Duration::from_millis(50);

/// Shared between the manager (which sets interrupts) and watchers.
pub struct JobControl {
    interrupt: AtomicU8,
    /// Ticks on changes of state and on pause/cancel requests.
    changed: watch::Sender<u64>,
    /// Counts progress written, which watchers poll.
    progress: AtomicU64,
}

impl JobControl {
    /// A control with no interrupt.
    pub fn new() -> Arc<Self> {
        Arc::new(Self { interrupt: AtomicU8::new(0), changed: watch::channel(0).0, progress: AtomicU64::new(0) })
    }

    /// Asks the job to pause or cancel (cancel wins over pause).
    pub fn request(&self, what: Interrupt) {
        let v = match what {
            Interrupt::None => 0,
            Interrupt::Pause => 1,
            Interrupt::Cancel => 2,
        };
        self.interrupt.fetch_max(v, Ordering::SeqCst);
        self.notify();
    }

    /// The pending request.
    pub fn interrupt(&self) -> Interrupt {
        match self.interrupt.load(Ordering::SeqCst) {
            0 => Interrupt::None,
            1 => Interrupt::Pause,
            _ => Interrupt::Cancel,
        }
    }

    /// Wakes watchers: the job's state changed.
    pub fn notify(&self) {
        self.changed.send_modify(|v| *v += 1);
    }

    /// Records that the job's progress was written, without waking anyone.
    fn progressed(&self) {
        self.progress.fetch_add(1, Ordering::Relaxed);
    }

    /// Starts following the job: wait on [`Watcher::next_change`].
    pub fn watch(&self) -> Watcher {
        Watcher { state: self.changed.subscribe(), progress: self.progress.load(Ordering::Relaxed) }
    }
}

/// What a watcher has seen of one job, from [`JobControl::watch`].
pub struct Watcher {
    state: watch::Receiver<u64>,
    progress: u64,
}

impl Watcher {
    /// Waits until the job's state changes after [`JobControl::watch`],
    /// until its progress has changed at the next look (every
    /// [`WATCH_PROGRESS_EVERY`] from `read_at`, when the watcher read the
    /// job's record), or until `within` of `read_at` has passed.
    pub async fn next_change(&mut self, control: &JobControl, read_at: Instant, within: Duration) {
        let read_at = tokio::time::Instant::from_std(read_at);
        let deadline = read_at + within;
        let mut look = read_at;
        loop {
            look = (look + WATCH_PROGRESS_EVERY).min(deadline);
            match tokio::time::timeout_at(look, self.state.changed()).await {
                Ok(_) => return,
                Err(_) if look >= deadline || control.progress.load(Ordering::Relaxed) != self.progress => return,
                Err(_) => {}
            }
        }
    }
}

#[derive(Default)]
struct Live {
    progress: f32,
    message: String,
    items: u64,
    bytes: u64,
    warnings: Vec<String>,
    warnings_dropped: u64,
    dirty: bool,
    last_flush: Option<Instant>,
    violation: Option<OpError>,
}

/// The running job's side of the record.
pub struct JobHandle {
    /// Job id.
    pub id: Uuid,
    library: Arc<Library>,
    control: Arc<JobControl>,
    live: std::sync::Mutex<Live>,
}

fn clip(s: &str) -> String {
    let mut end = s.len().min(MAX_MESSAGE_BYTES);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

impl JobHandle {
    /// A handle for job `id`, starting from the counters already recorded.
    pub fn new(
        id: Uuid,
        library: Arc<Library>,
        control: Arc<JobControl>,
        items: u64,
        bytes: u64,
        warnings: Vec<String>,
    ) -> Self {
        let live = Live { items, bytes, warnings, ..Default::default() };
        Self { id, library, control, live: std::sync::Mutex::new(live) }
    }

    fn live(&self) -> std::sync::MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The library the job runs in.
    pub fn library(&self) -> &Arc<Library> {
        &self.library
    }

    /// The pending pause or cancel request.
    pub fn interrupt(&self) -> Interrupt {
        self.control.interrupt()
    }

    /// Records progress (`fraction` in 0..=1); written within 100 ms.
    pub async fn report_progress(&self, fraction: f32, message: &str) -> OpResult<()> {
        {
            let mut live = self.live();
            live.progress = fraction.clamp(0.0, 1.0);
            live.message = clip(message);
            live.dirty = true;
        }
        self.flush_if_due().await
    }

    /// Adds to the item counter.
    pub fn add_items(&self, n: u64) {
        let mut live = self.live();
        live.items = live.items.saturating_add(n);
        live.dirty = true;
    }

    /// Adds to the byte counter.
    pub fn add_bytes(&self, n: u64) {
        let mut live = self.live();
        live.bytes = live.bytes.saturating_add(n);
        live.dirty = true;
    }

    /// Records a warning.
    pub async fn add_warning(&self, message: &str) -> OpResult<()> {
        {
            let mut live = self.live();
            if live.warnings.len() < MAX_WARNINGS {
                live.warnings.push(clip(message));
            } else {
                live.warnings_dropped += 1;
            }
            live.dirty = true;
        }
        self.flush_if_due().await
    }

    /// Marks the job to fail when it returns, whatever it returns: the host
    /// saw it break a rule (e.g. an oversized checkpoint).
    pub fn violation(&self, error: OpError) {
        let mut live = self.live();
        live.violation.get_or_insert(error);
    }

    /// The recorded violation, if any.
    pub fn take_violation(&self) -> Option<OpError> {
        self.live().violation.take()
    }

    /// Saves a checkpoint durably (committed before this returns), with the
    /// counters.
    pub async fn checkpoint(&self, state: String) -> OpResult<()> {
        let (items, bytes, progress, message, warnings) = self.snapshot();
        let id = self.id.to_string();
        self.library
            .write_inline(move |tx| {
                tx.prepare_cached(
                    "UPDATE jobs SET checkpoint = ?1, checkpoints = checkpoints + 1, items = ?2, bytes = ?3, \
                     progress = ?4, message = ?5, warnings = ?6, updated_ns = ?7 WHERE id = ?8",
                )?
                .execute(params![
                    state,
                    items as i64,
                    bytes as i64,
                    progress,
                    message,
                    warnings,
                    now_ns(),
                    id
                ])?;
                Ok(())
            })
            .await?;
        self.mark_flushed();
        Ok(())
    }

    fn snapshot(&self) -> (u64, u64, f64, String, String) {
        let live = self.live();
        let mut warnings = live.warnings.clone();
        if live.warnings_dropped > 0 {
            warnings.push(format!("{} more warnings were dropped", live.warnings_dropped));
        }
        (
            live.items,
            live.bytes,
            f64::from(live.progress),
            live.message.clone(),
            serde_json::to_string(&warnings).unwrap_or_else(|_| "[]".into()),
        )
    }

    fn mark_flushed(&self) {
        {
            let mut live = self.live();
            live.dirty = false;
            live.last_flush = Some(Instant::now());
        }
        self.control.progressed();
    }

    async fn flush_if_due(&self) -> OpResult<()> {
        let due = {
            let live = self.live();
            live.dirty && live.last_flush.is_none_or(|t| t.elapsed() >= FLUSH_EVERY)
        };
        if due { self.flush().await } else { Ok(()) }
    }

    /// Writes progress, counters and warnings now.
    pub async fn flush(&self) -> OpResult<()> {
        let (items, bytes, progress, message, warnings) = self.snapshot();
        let id = self.id.to_string();
        self.library
            .write(move |tx| {
                tx.execute(
                    "UPDATE jobs SET items = ?1, bytes = ?2, progress = ?3, message = ?4, warnings = ?5, \
                     updated_ns = ?6 WHERE id = ?7",
                    params![items as i64, bytes as i64, progress, message, warnings, now_ns(), id],
                )?;
                Ok(())
            })
            .await?;
        self.mark_flushed();
        Ok(())
    }
}

/// Parses a stored checkpoint.
pub fn parse_checkpoint(text: &str) -> OpResult<Value> {
    serde_json::from_str(text).map_err(|e| {
        OpError::invalid(format!("the job's checkpoint is not valid JSON ({e}); cancel the job and start it again"))
    })
}
