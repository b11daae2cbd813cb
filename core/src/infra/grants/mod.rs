//! Folder grants: the folders a person gave an extension, the only places
//! on disk it may read files from or add as locations.
//!
//! Grants are kept per data dir, not per library, in `grants.db` (SQLite,
//! so the daemon and a CLI without one agree, and two people granting at
//! once do not lose an update). They are read on every call that opens a
//! file, so a revoked grant holds from the next call on, running jobs
//! included.

mod scope;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use scope::FileScope;

use crate::vdfs::names::shown;

use crate::error::{OpError, OpResult};

/// File name of the grants database inside the data dir.
const GRANTS_FILE: &str = "grants.db";
/// Most folders one extension may be granted: each read checks them all.
pub const MAX_GRANTS: usize = 256;

/// One folder granted to one extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Grant {
    /// The extension.
    pub extension: String,
    /// The folder, canonical (absolute, no links, no `..`).
    pub path: String,
    /// When it was granted (RFC 3339).
    pub granted_at: String,
}

/// The grants of every extension of one data dir.
pub struct Grants {
    /// The database file.
    db: PathBuf,
    /// The data dir as the kernel resolves it: what grants and locations
    /// are compared with.
    data_dir: PathBuf,
    conn: Mutex<Option<Connection>>,
}

impl Grants {
    /// The grants of the data dir `data_dir`, which exists.
    pub fn new(data_dir: &Path) -> OpResult<Grants> {
        let canonical = std::fs::canonicalize(data_dir)
            .map_err(|e| OpError::internal(format!("cannot resolve the data dir {}: {e}", data_dir.display())))?;
        Ok(Grants { db: data_dir.join(GRANTS_FILE), data_dir: canonical, conn: Mutex::new(None) })
    }

    /// The data dir, canonical.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Runs `f` on the database, opening it on first use.
    fn with_db<T>(&self, f: impl FnOnce(&mut Connection) -> OpResult<T>) -> OpResult<T> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let conn = Connection::open(&self.db)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))?;
            conn.execute_batch(
                "PRAGMA journal_mode = WAL;
                 CREATE TABLE IF NOT EXISTS grants (
                     extension TEXT NOT NULL,
                     path TEXT NOT NULL,
                     granted_at INTEGER NOT NULL,
                     PRIMARY KEY (extension, path)
                 ) WITHOUT ROWID;",
            )?;
            *slot = Some(conn);
        }
        match slot.as_mut() {
            Some(conn) => f(conn),
            None => Err(OpError::internal("the grants database did not open")),
        }
    }

    /// Grants `extension` the folder `path` and everything below it.
    /// Refuses a file, a missing folder, a name that is not UTF-8, and the
    /// data dir or anything inside it.
    pub fn add(&self, extension: &str, path: &Path) -> OpResult<Grant> {
        if !path.is_absolute() {
            return Err(OpError::invalid(format!(
                "{} is a relative path; grant an absolute one (the CLI resolves it from the current folder)",
                shown(path)
            )));
        }
        let canon = std::fs::canonicalize(path)
            .map_err(|e| OpError::not_found(format!("cannot grant {}: {e}", shown(path))))?;
        if !canon.is_dir() {
            return Err(OpError::invalid(format!("{} is not a folder; grant the folder that holds it", shown(&canon))));
        }
        if canon.starts_with(&self.data_dir) {
            return Err(OpError::invalid(format!(
                "{} is Spacedrive's data folder or inside it (libraries, the credential vault); it is never granted",
                shown(&canon)
            )));
        }
        let text = canon
            .to_str()
            .ok_or_else(|| OpError::invalid(format!("{} is not valid UTF-8; rename the folder", shown(&canon))))?
            .to_string();
        let now = crate::vdfs::now_ns();
        self.with_db(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let count: i64 = tx.query_row(
                "SELECT COUNT(*) FROM grants WHERE extension = ?1 AND path != ?2",
                params![extension, text],
                |r| r.get(0),
            )?;
            if count as usize >= MAX_GRANTS {
                return Err(OpError::exhausted(format!(
                    "extension `{extension}` holds {MAX_GRANTS} grants already; revoke some, or grant a folder that holds them"
                )));
            }
            tx.execute(
                "INSERT INTO grants(extension, path, granted_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(extension, path) DO NOTHING",
                params![extension, text, now],
            )?;
            let granted_at: i64 = tx.query_row(
                "SELECT granted_at FROM grants WHERE extension = ?1 AND path = ?2",
                params![extension, text],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(Grant { extension: extension.to_string(), path: text, granted_at: crate::vdfs::format_ns(granted_at) })
        })
    }

    /// Takes back the grant of `path` from `extension`. `path` is matched
    /// as given and as resolved, so a folder deleted since can be revoked.
    pub fn revoke(&self, extension: &str, path: &Path) -> OpResult<Grant> {
        let mut names = vec![path.to_string_lossy().trim_end_matches('/').to_string()];
        if let Ok(canon) = std::fs::canonicalize(path) {
            names.push(canon.to_string_lossy().into_owned());
        }
        self.with_db(|conn| {
            for name in &names {
                let row = conn.query_row(
                    "DELETE FROM grants WHERE extension = ?1 AND path = ?2 RETURNING granted_at",
                    params![extension, name],
                    |r| r.get::<_, i64>(0),
                );
                match row {
                    Ok(at) => {
                        return Ok(Grant {
                            extension: extension.to_string(),
                            path: name.clone(),
                            granted_at: crate::vdfs::format_ns(at),
                        });
                    }
                    Err(rusqlite::Error::QueryReturnedNoRows) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
            Err(OpError::not_found(format!(
                "extension `{extension}` holds no grant of {}; `sd ext info {extension}` lists its grants",
                shown(path)
            )))
        })
    }

    /// The grants of `extension`, or of every extension.
    pub fn list(&self, extension: Option<&str>) -> OpResult<Vec<Grant>> {
        self.with_db(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT extension, path, granted_at FROM grants WHERE ?1 IS NULL OR extension = ?1 \
                 ORDER BY extension, path",
            )?;
            let rows = stmt.query_map([extension], |r| {
                Ok(Grant { extension: r.get(0)?, path: r.get(1)?, granted_at: crate::vdfs::format_ns(r.get(2)?) })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    /// Forgets every grant of `extension` (when it is removed).
    pub fn remove_all(&self, extension: &str) -> OpResult<usize> {
        self.with_db(|conn| Ok(conn.execute("DELETE FROM grants WHERE extension = ?1", [extension])?))
    }

    /// What `caller` may open on disk, as of now.
    pub fn scope(&self, caller: &crate::Caller) -> OpResult<FileScope> {
        match caller {
            crate::Caller::Extension(id) => {
                let folders = self.list(Some(id))?.into_iter().map(|g| PathBuf::from(g.path)).collect();
                Ok(FileScope::extension(self.data_dir.clone(), id, folders))
            }
            _ => Ok(FileScope::person(self.data_dir.clone())),
        }
    }
}
