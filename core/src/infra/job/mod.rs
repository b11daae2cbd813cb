//! Durable jobs: a row per job in its library, a scheduler on tokio with a
//! global concurrency limit and per-extension limits, pause/resume/cancel,
//! live progress, and resumption from the last checkpoint after a crash.

mod handle;
mod runner;
mod store;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, oneshot};
use uuid::Uuid;

pub use handle::{Interrupt, JobControl, JobHandle, MAX_MESSAGE_BYTES, parse_checkpoint};
use runner::Runner;
pub use store::{JobInfo, JobState};

use crate::Core;
use crate::error::{ErrorCode, OpError, OpResult};
use crate::infra::wire::ProgressSink;
use crate::library::Library;

/// Jobs running at once across the process.
pub const MAX_CONCURRENT_JOBS: usize = 4;
/// Kind of extension jobs.
pub const KIND_EXTENSION: &str = "extension";

/// The body of a core job kind: from the core, its handle, its input and its
/// last checkpoint, run to an [`Outcome`].
pub type JobBody = fn(Arc<Core>, Arc<JobHandle>, Value, Option<Value>) -> BoxFuture<'static, OpResult<Outcome>>;

/// A core job kind, registered where its code lives with
/// [`register_job_kind!`](crate::register_job_kind), so the scheduler names
/// no domain.
pub struct JobKind {
    /// The kind stored in the job's record.
    pub name: &'static str,
    /// Runs one job of this kind.
    pub body: JobBody,
}

inventory::collect!(JobKind);

/// Registers a core job kind: `register_job_kind!("index_location", run_index_job);`
/// where `run_index_job(core, handle, input, checkpoint)` is an `async fn`
/// taking its arguments by value.
#[macro_export]
macro_rules! register_job_kind {
    ($name:expr, $body:path) => {
        ::inventory::submit! {
            $crate::infra::job::JobKind {
                name: $name,
                body: |core, handle, input, checkpoint| ::std::boxed::Box::pin($body(core, handle, input, checkpoint)),
            }
        }
    };
}

fn job_kind(name: &str) -> Option<&'static JobKind> {
    inventory::iter::<JobKind>.into_iter().find(|k| k.name == name)
}

/// How a job's body ended.
pub enum Outcome {
    /// Done, with an output.
    Completed(Value),
    /// Stopped at an interrupt (pause or cancel), state checkpointed.
    Interrupted,
}

/// A job's place in its extension's queue: the signal of the job dispatched
/// before it, and its own for the next.
struct Turn {
    before: Option<oneshot::Receiver<()>>,
    mine: oneshot::Sender<()>,
}

/// What a job no process runs says about itself.
fn unowned_message(id: Uuid) -> String {
    format!("queued: runs when `sd daemon` starts, or run `sd job run {id}`")
}

/// A job this process has taken on.
struct Active {
    control: Arc<JobControl>,
    library: Arc<Library>,
}

/// Schedules and tracks jobs.
pub struct JobManager {
    core: Weak<Core>,
    /// This process, as the owner of the jobs it runs.
    runner: Runner,
    /// Set when the process is about to exit: jobs that stop then are
    /// recorded as queued for another process, not as paused.
    releasing: AtomicBool,
    global: Arc<Semaphore>,
    /// Each extension's job slots, with the limit they were sized for.
    owners: std::sync::Mutex<HashMap<String, (Arc<Semaphore>, usize)>>,
    /// Per extension, a signal that fires once the job dispatched last for
    /// it holds its slot (or gave up waiting): the next one queues only after
    /// it, so an extension's jobs start in dispatch order. Tokio's semaphore
    /// is first-come first-served only among waiters already polled, and
    /// spawned tasks are polled in any order.
    turns: std::sync::Mutex<HashMap<String, oneshot::Receiver<()>>>,
    active: std::sync::Mutex<HashMap<Uuid, Active>>,
}

impl JobManager {
    /// A manager for `core`; `runners` is the folder of runner locks.
    pub fn new(core: Weak<Core>, runners: PathBuf) -> Self {
        Self {
            core,
            runner: Runner::new(runners),
            releasing: AtomicBool::new(false),
            global: Arc::new(Semaphore::new(MAX_CONCURRENT_JOBS)),
            owners: Default::default(),
            turns: Default::default(),
            active: Default::default(),
        }
    }

    fn core(&self) -> OpResult<Arc<Core>> {
        self.core.upgrade().ok_or_else(|| OpError::unavailable("the core is shutting down"))
    }

    fn control(&self, id: Uuid) -> Option<Arc<JobControl>> {
        self.active.lock().unwrap_or_else(|p| p.into_inner()).get(&id).map(|a| a.control.clone())
    }

    /// Whether a queued or running job is owned by a live process.
    fn owned(&self, info: &JobInfo) -> bool {
        self.control(info.id).is_some() || self.runner.alive(info.runner.as_deref())
    }

    /// A job as clients see it: one that no live process owns is queued,
    /// whatever its row says, with a message saying how it will run.
    fn view(&self, mut info: JobInfo) -> JobInfo {
        if matches!(info.state, JobState::Queued | JobState::Running) && !self.owned(&info) {
            info.state = JobState::Queued;
            info.message = unowned_message(info.id);
        }
        info
    }

    /// Queues a job and starts it when a slot is free.
    pub async fn dispatch(
        &self,
        library: &Arc<Library>,
        kind: &str,
        owner: &str,
        name: &str,
        input: Value,
    ) -> OpResult<Uuid> {
        let id = Uuid::new_v4();
        let (k, o, n, i) = (kind.to_string(), owner.to_string(), name.to_string(), input);
        let runner = self.runner.id()?;
        library.write(move |tx| store::insert(tx, id, &k, &o, &n, &i, &runner)).await?;
        self.spawn(library.clone(), id, kind, owner);
        Ok(id)
    }

    /// Takes on the jobs of every library that are queued or running with no
    /// live process owning them (their process exited or was killed), and
    /// runs them from their last checkpoints.
    pub async fn resume_interrupted(&self) -> OpResult<usize> {
        let core = self.core()?;
        let mut n = 0;
        for library in core.libraries().list().await {
            let lib = library.id();
            for job in library.read(move |c| store::unfinished(c, lib)).await? {
                n += usize::from(self.adopt(&library, &job).await?);
            }
        }
        Ok(n)
    }

    /// Runs a queued job that no live process owns in this process (`sd job
    /// run`), then follows it like [`wait`](Self::wait). A job another
    /// process runs is only followed.
    pub async fn run_here(
        &self,
        library: &Arc<Library>,
        id: Uuid,
        progress: Option<&ProgressSink>,
    ) -> OpResult<JobInfo> {
        let mut info = self.info(library, id).await?;
        match info.state {
            JobState::Paused => {
                return Err(OpError::conflict(format!("job {id} is paused; continue it with `sd job resume {id}`")));
            }
            s if s.is_final() => return Err(OpError::conflict(format!("job {id} already ended ({})", s.as_str()))),
            _ => {}
        }
        // A job another process runs is followed; should that process give
        // it up before it ends, it is taken on here.
        loop {
            self.adopt(library, &info).await?;
            match self.wait(library, id, progress).await {
                Err(e) if e.code == ErrorCode::Unavailable => {
                    info = self.info(library, id).await?;
                    if self.owned(&info) {
                        return Err(e);
                    }
                }
                done => return done,
            }
        }
    }

    /// Takes on a queued job that no live process owns, in the background;
    /// a job some process owns is left to it. Returns whether it took it.
    pub async fn adopt(&self, library: &Arc<Library>, info: &JobInfo) -> OpResult<bool> {
        if info.state.is_final() || info.state == JobState::Paused || self.owned(info) {
            return Ok(false);
        }
        let (me, id) = (self.runner.id()?, info.id);
        library.write(move |tx| store::claim(tx, id, &me)).await?;
        self.spawn(library.clone(), id, &info.kind, &info.owner);
        Ok(true)
    }

    /// Gives up this process's jobs before it exits: each is asked to stop
    /// at its next check and recorded as queued with no owner, keeping its
    /// last checkpoint, so the daemon (or `sd job run`) continues it. Jobs
    /// that have not stopped within `grace` are recorded so anyway: they
    /// resume from their last checkpoint. Returns the jobs given up.
    pub async fn release_all(&self, grace: Duration) -> Vec<Uuid> {
        self.releasing.store(true, Ordering::SeqCst);
        let taken: Vec<(Uuid, Arc<JobControl>, Arc<Library>)> = {
            let active = self.active.lock().unwrap_or_else(|p| p.into_inner());
            active.iter().map(|(id, a)| (*id, a.control.clone(), a.library.clone())).collect()
        };
        for (_, control, _) in &taken {
            control.request(Interrupt::Pause);
        }
        let deadline = tokio::time::Instant::now() + grace;
        while taken.iter().any(|t| self.control(t.0).is_some()) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for (id, _, library) in &taken {
            if self.control(*id).is_some()
                && let Err(e) = self.release(library, *id).await
            {
                tracing::warn!(job = %id, error = %e, "could not record a job as queued before exiting");
            }
        }
        taken.into_iter().map(|t| t.0).collect()
    }

    /// Whether a job stopped because its process is giving it up.
    fn released(&self, control: &JobControl) -> bool {
        control.interrupt() == Interrupt::Pause && self.releasing.load(Ordering::SeqCst)
    }

    /// Records a job as queued with no owner.
    async fn release(&self, library: &Arc<Library>, id: Uuid) -> OpResult<()> {
        let message = unowned_message(id);
        library.write(move |tx| store::release(tx, id, &message)).await
    }

    fn spawn(&self, library: Arc<Library>, id: Uuid, kind: &str, owner: &str) {
        let control = JobControl::new();
        let active = Active { control: control.clone(), library: library.clone() };
        self.active.lock().unwrap_or_else(|p| p.into_inner()).insert(id, active);
        let turn = (kind == KIND_EXTENSION).then(|| {
            let (mine, next) = oneshot::channel();
            let before = self.turns.lock().unwrap_or_else(|p| p.into_inner()).insert(owner.to_string(), next);
            Turn { before, mine }
        });
        let weak = self.core.clone();
        tokio::spawn(async move {
            let Some(core) = weak.upgrade() else { return };
            let jobs = core.jobs();
            if let Err(e) = jobs.run(&library, id, &control, turn).await {
                tracing::error!(job = %id, error = %e, "job bookkeeping failed");
            }
            jobs.active.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            control.notify();
        });
    }

    /// The slots of an extension's jobs, sized by its manifest when its
    /// first job runs; `None` for core jobs (indexing, even when an extension
    /// started it: an extension job waiting on its own indexing must not
    /// wait for its own slot), which only take global slots.
    fn owner_slots(&self, info: &JobInfo) -> OpResult<Option<Arc<Semaphore>>> {
        if info.kind != KIND_EXTENSION {
            return Ok(None);
        }
        let owner = info.owner.as_str();
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((slots, _)) = owners.get(owner) {
            return Ok(Some(slots.clone()));
        }
        let limit = match self.core()?.extensions().manifest(owner) {
            Ok(m) => m.permissions.rate_limits.concurrent_jobs as usize,
            Err(_) => 1,
        };
        Ok(Some(owners.entry(owner.to_string()).or_insert_with(|| (Arc::new(Semaphore::new(limit)), limit)).0.clone()))
    }

    /// Resizes an extension's job slots to `limit` (after an upgrade changed
    /// `concurrent_jobs`): more slots start queued jobs at once; fewer are
    /// taken out of use as running jobs hand theirs back.
    pub fn set_owner_limit(&self, owner: &str, limit: usize) {
        let mut owners = self.owners.lock().unwrap_or_else(|p| p.into_inner());
        let Some((slots, old)) = owners.get_mut(owner) else { return };
        match limit.cmp(old) {
            std::cmp::Ordering::Greater => slots.add_permits(limit - *old),
            std::cmp::Ordering::Less => {
                let (slots, surplus) = (slots.clone(), (*old - limit) as u32);
                tokio::spawn(async move {
                    if let Ok(permits) = slots.acquire_many(surplus).await {
                        permits.forget();
                    }
                });
            }
            std::cmp::Ordering::Equal => {}
        }
        *old = limit;
    }

    /// Asks every running job of extension `owner` to cancel (it stops at
    /// its next `check_interrupt`); used when the extension is removed.
    /// Returns how many were asked.
    pub async fn cancel_running_of(&self, owner: &str) -> OpResult<usize> {
        let core = self.core()?;
        let mut n = 0;
        for library in core.libraries().list().await {
            let lib = library.id();
            let running = library.read(move |c| store::list(c, lib, &[JobState::Running], u32::MAX)).await?;
            for job in running.iter().filter(|j| j.kind == KIND_EXTENSION && j.owner == owner) {
                if let Some(control) = self.control(job.id) {
                    control.request(Interrupt::Cancel);
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    async fn run(
        &self,
        library: &Arc<Library>,
        id: Uuid,
        control: &Arc<JobControl>,
        mut turn: Option<Turn>,
    ) -> OpResult<()> {
        let info = self.info(library, id).await?;
        // The owner's slot first: a job held back by its extension's limit
        // must not sit on one of the global slots meanwhile.
        if let Some(Turn { before: Some(before), .. }) = &mut turn {
            // An error only means the job before gave up: our turn either way.
            let _ = before.await;
        }
        let _owner = match self.owner_slots(&info)? {
            Some(s) => Some(s.acquire_owned().await.map_err(|_| OpError::unavailable("shutting down"))?),
            None => None,
        };
        if let Some(turn) = turn {
            let _ = turn.mine.send(());
        }
        let _global = self.global.clone().acquire_owned().await.map_err(|_| OpError::unavailable("shutting down"))?;
        // Asked to stop while it waited for a slot.
        if self.released(control) {
            return self.release(library, id).await;
        }
        match control.interrupt() {
            Interrupt::Pause => return library.write(move |tx| store::set_state(tx, id, JobState::Paused)).await,
            Interrupt::Cancel => return library.write(move |tx| store::set_state(tx, id, JobState::Cancelled)).await,
            Interrupt::None => {}
        }
        let (input, checkpoint) = library.write(move |tx| store::start(tx, id)).await?;
        control.notify();
        let handle = Arc::new(JobHandle::new(
            id,
            library.clone(),
            control.clone(),
            info.items,
            info.bytes,
            info.warnings.clone(),
        ));
        let result = match checkpoint.as_deref().map(parse_checkpoint).transpose() {
            Err(e) => Err(e),
            Ok(checkpoint) => self.execute(&info, input, checkpoint, &handle).await,
        };
        let _ = handle.flush().await;
        let violation = handle.take_violation();
        if matches!(result, Ok(Outcome::Interrupted)) && self.released(control) {
            return self.release(library, id).await;
        }
        let (state, output, error) = match (result, violation) {
            (_, Some(v)) => (JobState::Failed, None, Some(v)),
            (Ok(Outcome::Completed(out)), None) => (JobState::Completed, Some(out), None),
            (Ok(Outcome::Interrupted), None) => match control.interrupt() {
                Interrupt::Cancel => (JobState::Cancelled, None, None),
                _ => (JobState::Paused, None, None),
            },
            (Err(e), None) => {
                let paused = control.interrupt() != Interrupt::None;
                let note = if paused && e.code == ErrorCode::ResourceExhausted {
                    "; a pause or cancel was requested but the job never called check_interrupt, so it was stopped at its CPU budget instead"
                } else {
                    ""
                };
                (JobState::Failed, None, Some(OpError::new(e.code, format!("{}{note}", e.message))))
            }
        };
        library.write(move |tx| store::finish(tx, id, state, output.as_ref(), error.as_ref())).await
    }

    async fn execute(
        &self,
        info: &JobInfo,
        input: Value,
        checkpoint: Option<Value>,
        handle: &Arc<JobHandle>,
    ) -> OpResult<Outcome> {
        let core = self.core()?;
        if info.kind == KIND_EXTENSION {
            let state = checkpoint.unwrap_or(input);
            return core.extensions().run_job(&info.owner, &info.name, handle.clone(), state).await;
        }
        match job_kind(&info.kind) {
            Some(kind) => (kind.body)(core, handle.clone(), input, checkpoint).await,
            None => Err(OpError::internal(format!("unknown job kind `{}`", info.kind))),
        }
    }

    /// One job.
    pub async fn info(&self, library: &Arc<Library>, id: Uuid) -> OpResult<JobInfo> {
        let lib = library.id();
        Ok(self.view(library.read(move |c| store::get(c, lib, id)).await?))
    }

    /// Jobs of a library, newest first. A job no live process owns counts
    /// as queued (see [`view`](Self::view)), so asking for queued or running
    /// jobs reads both states and sorts them after.
    pub async fn list(&self, library: &Arc<Library>, state: Option<JobState>, limit: u32) -> OpResult<Vec<JobInfo>> {
        let lib = library.id();
        let (states, read_limit) = match state {
            Some(JobState::Queued | JobState::Running) => (vec![JobState::Queued, JobState::Running], u32::MAX),
            Some(s) => (vec![s], limit),
            None => (Vec::new(), limit),
        };
        let rows = library.read(move |c| store::list(c, lib, &states, read_limit)).await?;
        let mut jobs: Vec<JobInfo> =
            rows.into_iter().map(|j| self.view(j)).filter(|j| state.is_none_or(|s| j.state == s)).collect();
        jobs.truncate(limit as usize);
        Ok(jobs)
    }

    /// Asks a queued or running job to pause.
    pub async fn pause(&self, library: &Arc<Library>, id: Uuid) -> OpResult<JobInfo> {
        let info = self.info(library, id).await?;
        match (info.state, self.control(id)) {
            (JobState::Queued | JobState::Running, Some(c)) => c.request(Interrupt::Pause),
            // No process runs it: paused at its last checkpoint as it is.
            (JobState::Queued, None) if !self.owned(&info) => {
                library.write(move |tx| store::set_state(tx, id, JobState::Paused)).await?
            }
            (state, None) if !state.is_final() && state != JobState::Paused => {
                return Err(OpError::conflict(format!(
                    "job {id} runs in another process; pause it through that process (or start `sd daemon`, which all commands then use)"
                )));
            }
            (state, _) => {
                return Err(OpError::conflict(format!(
                    "job {id} is {}; only queued or running jobs can pause",
                    state.as_str()
                )));
            }
        }
        self.info(library, id).await
    }

    /// Continues a paused job from its checkpoint.
    pub async fn resume(&self, library: &Arc<Library>, id: Uuid) -> OpResult<JobInfo> {
        let info = self.info(library, id).await?;
        if info.state != JobState::Paused || self.control(id).is_some() {
            return Err(OpError::conflict(format!("job {id} is {}; only paused jobs can resume", info.state.as_str())));
        }
        let me = self.runner.id()?;
        library.write(move |tx| store::claim(tx, id, &me)).await?;
        self.spawn(library.clone(), id, &info.kind, &info.owner);
        self.info(library, id).await
    }

    /// Cancels a job that has not ended.
    pub async fn cancel(&self, library: &Arc<Library>, id: Uuid) -> OpResult<JobInfo> {
        let info = self.info(library, id).await?;
        match (info.state, self.control(id)) {
            (s, _) if s.is_final() => {
                return Err(OpError::conflict(format!("job {id} already ended ({})", s.as_str())));
            }
            (_, Some(c)) => c.request(Interrupt::Cancel),
            (_, None) => library.write(move |tx| store::set_state(tx, id, JobState::Cancelled)).await?,
        }
        self.info(library, id).await
    }

    /// Follows a job until it stops (ends or pauses), sending progress to
    /// `progress`; returns its final record.
    pub async fn wait(&self, library: &Arc<Library>, id: Uuid, progress: Option<&ProgressSink>) -> OpResult<JobInfo> {
        loop {
            let control = self.control(id);
            let mut changes = control.as_deref().map(|c| (c, c.watch()));
            let read_at = std::time::Instant::now();
            let info = self.info(library, id).await?;
            if let Some(p) = progress {
                // Progress in ten-thousandths, so a bar can show 0.01 % steps.
                p.send(crate::infra::wire::Progress {
                    phase: info.state.as_str().to_string(),
                    done: (info.progress * 10_000.0).round() as u64,
                    total: Some(10_000),
                    message: info.message.clone(),
                    detail: Some(json!({
                        "state": info.state, "items": info.items, "bytes": info.bytes,
                        "checkpoints": info.checkpoints, "warnings": info.warnings.len(),
                    })),
                });
            }
            let stopped = info.state.is_final() || info.state == JobState::Paused;
            match (&mut changes, stopped) {
                (_, true) if control.is_none() => return Ok(info),
                (None, false) if !self.owned(&info) => {
                    return Err(OpError::unavailable(format!(
                        "job {id} is queued and no process runs it; start `sd daemon`, which resumes it, or run `sd job run {id}`"
                    )));
                }
                (Some((control, watcher)), _) => {
                    watcher.next_change(control, read_at, std::time::Duration::from_secs(1)).await;
                }
                (None, _) => {
                    // Not running here (or just ending): poll.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// The error a job that did not complete stands for: its recorded error
/// (which starts with the error code), or a `conflict` for paused and
/// cancelled jobs.
pub fn error_of(info: &JobInfo) -> OpError {
    match (info.state, &info.error) {
        (JobState::Failed, Some(e)) => OpError::new(info.error_code.unwrap_or(ErrorCode::Internal), e.clone()),
        (JobState::Paused, _) => {
            OpError::conflict(format!("job {} was paused; continue it with `sd job resume {}`", info.id, info.id))
        }
        (state, _) => OpError::conflict(format!("job {} ended {}", info.id, state.as_str())),
    }
}
