//! Jobs: long work the host runs durably, with progress, checkpoints and
//! pause/cancel. Write `fn name(ctx: &JobContext, state: &mut State) ->
//! Result<()>` and mark it `#[spacedrive_job]`.

use serde::Serialize;
use uuid::Uuid;

use crate::{Client, Error, Result};

/// Error code of [`JobContext::check_interrupt`] when the job must stop.
pub const INTERRUPTED: &str = "interrupted";

/// What a job gets: reporting, checkpoints, interrupts, and a client.
pub struct JobContext {
    handle: u32,
    library: Option<Uuid>,
}

fn check(code: i32, what: &str) -> Result<()> {
    match code {
        0 => Ok(()),
        -1 => Err(Error::new("not_found", format!("{what}: this job is not running"))),
        -2 => Err(Error::invalid(format!("{what}: bad argument"))),
        -3 => Err(Error::new("resource_exhausted", format!("{what}: data over the host's limit"))),
        _ => Err(Error::new("unavailable", format!("{what}: the host could not store it (code {code})"))),
    }
}

impl JobContext {
    #[doc(hidden)]
    pub fn new(handle: u32, library: Option<Uuid>) -> Self {
        Self { handle, library }
    }

    /// A client bound to the job's library.
    pub fn client(&self) -> Client {
        Client::new(self.library)
    }

    /// The job's library, if it runs in one.
    pub fn library(&self) -> Option<Uuid> {
        self.library
    }

    /// Reports progress: `fraction` from 0 to 1, and a short message.
    pub fn report_progress(&self, fraction: f32, message: &str) -> Result<()> {
        check(crate::ffi::job_report_progress(self.handle, fraction.clamp(0.0, 1.0), message), "report_progress")
    }

    /// Saves the state durably; after a crash or a pause the job restarts
    /// from the last checkpoint.
    pub fn checkpoint<S: Serialize>(&self, state: &S) -> Result<()> {
        let bytes = serde_json::to_vec(state)?;
        check(crate::ffi::job_checkpoint(self.handle, &bytes), "checkpoint")
    }

    /// Returns `Err` with code `interrupted` when the job is asked to pause
    /// or cancel; propagate it with `?`. Calling this also starts a new CPU
    /// budget slice: a job that never calls it is stopped at its budget.
    pub fn check_interrupt(&self) -> Result<()> {
        match crate::ffi::job_check_interrupt(self.handle) {
            0 => Ok(()),
            1 => Err(Error::new(INTERRUPTED, "the job was asked to pause")),
            2 => Err(Error::new(INTERRUPTED, "the job was cancelled")),
            code => check(code, "check_interrupt"),
        }
    }

    /// Records a warning; the job goes on.
    pub fn add_warning(&self, message: &str) -> Result<()> {
        check(crate::ffi::job_add_warning(self.handle, message), "add_warning")
    }

    /// Adds to the job's item count.
    pub fn increment_items(&self, n: u64) -> Result<()> {
        check(crate::ffi::job_increment(self.handle, n, false), "increment_items")
    }

    /// Adds to the job's byte count.
    pub fn increment_bytes(&self, n: u64) -> Result<()> {
        check(crate::ffi::job_increment(self.handle, n, true), "increment_bytes")
    }
}
