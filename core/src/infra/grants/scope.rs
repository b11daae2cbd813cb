//! What one caller may open on disk: for people, everything the daemon can
//! read but the data dir; for an extension, only what lies inside the
//! folders granted to it, and never the data dir either.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{OpError, OpResult};
use crate::vdfs::names::shown;

/// The folders a caller may read and index, taken at the start of a call.
///
/// Paths are compared component by component on canonical paths
/// ([`Path::starts_with`]), so `/a/bc` is not inside a grant of `/a/b`.
#[derive(Debug, Clone)]
pub struct FileScope {
    /// The data dir, canonical: libraries, the vault and its key. Never a
    /// location, never read as a file, for anyone.
    data_dir: PathBuf,
    /// `None` for people; an extension's id and its granted folders.
    extension: Option<(String, Vec<PathBuf>)>,
}

impl FileScope {
    /// The scope of a person: anything but the data dir.
    pub fn person(data_dir: PathBuf) -> FileScope {
        FileScope { data_dir, extension: None }
    }

    /// The scope of extension `id`, holding `grants` (canonical folders).
    pub fn extension(data_dir: PathBuf, id: &str, grants: Vec<PathBuf>) -> FileScope {
        FileScope { data_dir, extension: Some((id.to_string(), grants)) }
    }

    /// Whether `real` (a canonical path) lies in the data dir.
    fn in_data_dir(&self, real: &Path) -> bool {
        real.starts_with(&self.data_dir)
    }

    /// Checks that `real`, the canonical path of a file about to be read,
    /// may be read by this caller.
    pub fn check_read(&self, real: &Path) -> OpResult<()> {
        if self.in_data_dir(real) {
            return Err(OpError::denied(format!(
                "{} is inside Spacedrive's data folder ({}), which holds the libraries and the credential vault; it is never read as a file",
                shown(real),
                shown(&self.data_dir)
            )));
        }
        self.check_granted(real, "read")
    }

    /// Checks that `real`, the canonical path of a folder, may become (or be
    /// rescanned as) a location for this caller.
    pub fn check_location(&self, real: &Path) -> OpResult<()> {
        if self.in_data_dir(real) {
            return Err(OpError::invalid(format!(
                "{} is Spacedrive's data folder or inside it (libraries, the credential vault); it can never be a location: choose another folder",
                shown(real)
            )));
        }
        self.check_granted(real, "index")
    }

    fn check_granted(&self, real: &Path, verb: &str) -> OpResult<()> {
        let Some((id, grants)) = &self.extension else { return Ok(()) };
        if grants.iter().any(|g| real.starts_with(g)) {
            return Ok(());
        }
        let had = if grants.is_empty() {
            "it has no folder granted".to_string()
        } else {
            format!("it may use only {}", grants.iter().map(|g| shown(g)).collect::<Vec<_>>().join(", "))
        };
        Err(OpError::denied(format!(
            "extension `{id}` may not {verb} {}: {had}. A person can grant it a folder with `sd ext grant {id} --path DIR`",
            shown(real)
        )))
    }
}

impl crate::vdfs::file::Access for FileScope {
    fn check_path(&self, path: &Path) -> OpResult<()> {
        self.check_read(path)
    }

    /// A file with more than one name may be a hard link made, outside the
    /// data dir, to the vault key or a library database: those are refused
    /// by identity, whatever name they are reached by.
    fn check_opened(&self, path: &Path, meta: &std::fs::Metadata) -> OpResult<()> {
        if meta.nlink() <= 1 {
            return Ok(());
        }
        let id = (meta.dev(), meta.ino());
        match self.protected_files().into_iter().find(|(_, p)| *p == id) {
            Some((name, _)) => Err(OpError::denied(format!(
                "{} is another name (a hard link) for {}, in Spacedrive's data folder; it is never read as a file",
                shown(path),
                shown(&name)
            ))),
            None => Ok(()),
        }
    }
}

impl FileScope {
    /// The files of the data dir no one reads through an entry, with their
    /// device and inode: the vault, its key, the grants and every library's
    /// database (with its write-ahead log).
    fn protected_files(&self) -> Vec<(PathBuf, (u64, u64))> {
        let mut names: Vec<PathBuf> =
            ["vault.key", "vault.db", "grants.db"].iter().map(|n| self.data_dir.join(n)).collect();
        let libraries = std::fs::read_dir(self.data_dir.join("libraries")).into_iter().flatten().flatten();
        for library in libraries {
            for file in ["library.db", "library.db-wal", "library.db-shm"] {
                names.push(library.path().join(file));
            }
        }
        names.into_iter().filter_map(|n| std::fs::symlink_metadata(&n).ok().map(|m| (n, (m.dev(), m.ino())))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> FileScope {
        FileScope::extension(PathBuf::from("/data/sd"), "x", vec![PathBuf::from("/home/a/Receipts")])
    }

    #[test]
    fn only_paths_inside_a_grant_and_outside_the_data_dir_pass() {
        let s = scope();
        assert!(s.check_read(Path::new("/home/a/Receipts")).is_ok());
        assert!(s.check_read(Path::new("/home/a/Receipts/2026/x.pdf")).is_ok());
        for refused in ["/home/a/Receipts2/x", "/home/a", "/etc/passwd", "/data/sd/vault.key"] {
            let e = s.check_read(Path::new(refused)).unwrap_err();
            assert_eq!(e.code, crate::ErrorCode::PermissionDenied, "{refused}");
        }
        assert!(s.check_read(Path::new("/home/a/Receipts2")).unwrap_err().message.contains("sd ext grant x --path"));
        let person = FileScope::person(PathBuf::from("/data/sd"));
        assert!(person.check_read(Path::new("/etc/passwd")).is_ok());
        assert!(person.check_read(Path::new("/data/sd/libraries/l/library.db")).is_err());
        assert!(person.check_location(Path::new("/data/sd")).is_err());
        assert!(
            person.check_location(Path::new("/data")).is_ok(),
            "a folder holding the data dir skips it when scanned"
        );
    }
}
