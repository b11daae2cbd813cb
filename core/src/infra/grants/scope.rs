//! What one caller may open on disk: for people, everything the daemon can
//! read but the data dir; for an extension, only what lies inside the
//! folders granted to it, and never the data dir either.

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
    pub fn in_data_dir(&self, real: &Path) -> bool {
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
