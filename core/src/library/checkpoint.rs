//! WAL checkpoints off the writers' threads.
//!
//! By default SQLite checkpoints inside the commit that pushes the WAL past
//! 1,000 pages, so whichever writer commits then copies the log into the
//! database file and waits for its `fsync`: for the indexer, a third of
//! each batch's time. Library connections replace that hook with
//! [`bound_log`], and a thread per library runs passive checkpoints, which
//! never block a writer, after writers nudge it and at least once a second.

use std::path::Path;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::hooks::{CheckpointMode, Wal};

use crate::error::OpResult;

/// How often the thread checkpoints when nobody nudges it: writes made
/// outside [`Checkpointer::nudge`] still reach the database file.
const IDLE: Duration = Duration::from_secs(1);

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
    thread: Option<JoinHandle<()>>,
}

impl Checkpointer {
    /// Starts the thread with a connection of its own to `db`.
    pub fn start(db: &Path) -> OpResult<Self> {
        let conn = super::db::open_dedicated(db)?;
        let (nudges, rx) = sync_channel(1);
        let thread = std::thread::Builder::new().name("sd-checkpoint".into()).spawn(move || run(&conn, &rx))?;
        Ok(Self { nudges: Some(nudges), thread: Some(thread) })
    }

    /// Asks for a checkpoint soon; returns at once. Nudges that arrive
    /// while one is pending or running fold into the next.
    pub fn nudge(&self) {
        if let Some(n) = &self.nudges {
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

fn run(conn: &Connection, nudges: &Receiver<()>) {
    loop {
        match nudges.recv_timeout(IDLE) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        // Busy (another process checkpoints) or I/O: the next round tries
        // again.
        if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
            tracing::debug!(error = %e, "WAL checkpoint did not complete");
        }
    }
}
