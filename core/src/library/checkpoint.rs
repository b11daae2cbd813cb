//! WAL checkpoints off the writers' threads.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past
//! 1,000 pages, so whichever writer commits then copies the log into the
//! database file and waits for its `fsync`: for the indexer, a third of
//! each batch's time. Library connections replace that hook with
//! [`bound_log`], and a thread per library runs passive checkpoints, which
//! never block a writer, after writers nudge it and at least once a second.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::{CheckpointMode, Wal};

use crate::error::OpResult;

/// How often the thread checkpoints when nobody nudges it: writes made
/// outside [`Checkpointer::nudge`] still reach the database file.
const IDLE: Duration = Duration::from_secs(1);

/// How long the thread lets nudges gather before it checkpoints.
const GAP: Duration = Duration::from_millis(50);

/// WAL length, in frames (pages of 4 KiB: 64 MiB), past which the commit
/// that reaches it restarts the log itself.
const RESTART_FRAMES: i32 = 16_384;

/// The WAL hook of every library connection, run after each commit with
/// the log's length. A passive checkpoint copies the log but cannot start
/// it over: only a writer can, and only if the log was fully copied when
/// its transaction began, which a writer committing back to back (a scan)
/// never finds. So past [`RESTART_FRAMES`] the committing connection runs a
/// `RESTART` checkpoint, which waits for readers of the old log: the log
/// stays bounded, and the wait is short since the thread copied most of it.
pub(super) fn bound_log(wal: &Wal, frames: std::ffi::c_int) -> rusqlite::Result<()> {
    if frames > RESTART_FRAMES {
        // The commit has happened whatever this returns; a busy or failed
        // checkpoint is retried at the next commit.
        if let Err(e) = wal.checkpoint_v2(CheckpointMode::RESTART) {
            tracing::debug!(error = %e, frames, "restarting the WAL did not complete");
        }
    }
    Ok(())
}

/// The checkpoint thread of one library; stopped and joined when dropped.
pub struct Checkpointer {
    nudges: Option<SyncSender<()>>,
    /// Set by the first nudge after a checkpoint, cleared when the next
    /// one starts: later nudges in between cost an atomic swap, not a
    /// wake-up of the thread (a job checkpointing in a loop commits every
    /// few microseconds).
    pending: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread with a connection of its own to `db`.
    pub fn start(db: &Path) -> OpResult<Self> {
        let conn = super::db::open_dedicated(db)?;
        let (nudges, rx) = sync_channel(1);
        let pending = Arc::new(AtomicBool::new(false));
        let flag = pending.clone();
        let thread = std::thread::Builder::new().name("sd-checkpoint".into()).spawn(move || run(&conn, &rx, &flag))?;
        Ok(Self { nudges: Some(nudges), pending, thread: Some(thread) })
    }

    /// Asks for a checkpoint soon; returns at once.
    pub fn nudge(&self) {
        if let Some(n) = &self.nudges
            && !self.pending.swap(true, Ordering::AcqRel)
        {
            let _ = n.try_send(());
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the loop after the checkpoint under way.
        self.nudges = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: &Connection, nudges: &Receiver<()>, pending: &AtomicBool) {
    loop {
        // A nudge, or the idle period; then the gap, in which a burst of
        // small commits gathers into one checkpoint (one copy and one
        // `fsync`, not one each). Closing the channel ends the thread at
        // once: the last connection to close checkpoints what is left.
        for wait in [IDLE, GAP] {
            if let Err(RecvTimeoutError::Disconnected) = nudges.recv_timeout(wait) {
                return;
            }
        }
        pending.store(false, Ordering::Release);
        // Busy (another process checkpoints) or I/O: the next round tries
        // again.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "WAL checkpoint did not complete");
        }
    }
}
