//! Which process runs a job. Each process that takes on jobs holds an
//! exclusive lock on a file of its own, `<data dir>/runners/<id>.lock`, and
//! writes that id into the rows of the jobs it owns. A job whose runner's
//! lock is free belongs to a process that stopped (it exited, or was killed):
//! nothing runs it, so it is shown as queued, never as running.
//!
//! An advisory file lock rather than a process id: the kernel drops it when
//! the process dies however it dies, and a reused pid cannot fake it.

use std::fs::{File, TryLockError};
use std::path::PathBuf;
use std::sync::OnceLock;

use uuid::Uuid;

use crate::error::{OpError, OpResult};

/// This process's runner identity, taken on first use.
pub struct Runner {
    dir: PathBuf,
    id: Uuid,
    /// The held lock; kept open for the life of the process.
    lock: OnceLock<Result<File, String>>,
}

impl Runner {
    /// A runner whose lock file will live in `dir`.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, id: Uuid::new_v4(), lock: OnceLock::new() }
    }

    fn path(&self, id: &Uuid) -> PathBuf {
        self.dir.join(format!("{id}.lock"))
    }

    /// This process's runner id, to write into the jobs it takes on. The
    /// lock is taken the first time, after clearing the files of runners
    /// that stopped.
    pub fn id(&self) -> OpResult<String> {
        let lock = self.lock.get_or_init(|| {
            self.sweep();
            let take = || -> std::io::Result<File> {
                std::fs::create_dir_all(&self.dir)?;
                let file = File::options().create(true).truncate(false).write(true).open(self.path(&self.id))?;
                file.try_lock().map_err(std::io::Error::from)?;
                Ok(file)
            };
            take().map_err(|e| format!("cannot take the job runner lock in {}: {e}", self.dir.display()))
        });
        match lock {
            Ok(_) => Ok(self.id.to_string()),
            Err(e) => Err(OpError::internal(format!("{e}; check that the data dir is writable"))),
        }
    }

    /// Whether the process named by `runner` (as stored in a job's row) is
    /// still alive.
    pub fn alive(&self, runner: Option<&str>) -> bool {
        let Some(id) = runner.and_then(|r| r.parse::<Uuid>().ok()) else { return false };
        if id == self.id {
            return self.lock.get().is_some_and(Result::is_ok);
        }
        let Ok(file) = File::options().write(true).open(self.path(&id)) else { return false };
        match file.try_lock() {
            Ok(()) => false,
            Err(TryLockError::WouldBlock) => true,
            // Locks unsupported here: assume the runner lives rather than
            // show a running job as abandoned.
            Err(TryLockError::Error(_)) => true,
        }
    }

    /// Removes the lock files of runners that stopped.
    fn sweep(&self) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else { return };
        for item in dir.flatten() {
            let name = item.file_name();
            let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".lock")) else { continue };
            if !self.alive(Some(id)) {
                let _ = std::fs::remove_file(item.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_runner_is_alive_while_its_lock_is_held() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (a, b) = (Runner::new(dir.path().into()), Runner::new(dir.path().into()));
        assert!(!a.alive(Some(&a.id.to_string())), "no lock taken yet");
        let id = a.id().expect("lock");
        assert!(a.alive(Some(&id)) && b.alive(Some(&id)));
        assert!(!b.alive(Some(&Uuid::new_v4().to_string())) && !b.alive(Some("../x")) && !b.alive(None));
        drop(a);
        assert!(!b.alive(Some(&id)), "a dropped runner's lock is free");
        b.id().expect("lock");
        assert!(!b.path(&id.parse().expect("uuid")).exists(), "swept");
    }
}
