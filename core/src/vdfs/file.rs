//! Reading the files behind indexed entries, bounded and checked, for
//! operations that hand file content to callers who have no file system
//! (WebAssembly extensions above all).
//!
//! A file is opened below its location's folder without following any
//! symbolic link on the way (`openat2` with `RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS`), so a folder swapped for a link after indexing
//! gives an error, not the file the link points to. Locations that follow
//! links on purpose resolve them, and the path the kernel actually opened is
//! what the caller's scope is checked against.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension};
use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use uuid::Uuid;

use super::entry::{KIND_DIR, KIND_SYMLINK};
use crate::error::{OpError, OpResult};

/// How a file is opened for reading: never as a terminal, never blocking on
/// a FIFO swapped in for a file (it is then refused as not a regular file).
const READ_FLAGS: OFlags = OFlags::RDONLY.union(OFlags::CLOEXEC).union(OFlags::NOCTTY).union(OFlags::NONBLOCK);
/// A folder held open only to resolve names below it.
const DIR_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);
/// No symbolic link anywhere in the path, nor a `/proc` magic link.
const NO_LINKS: ResolveFlags = ResolveFlags::NO_SYMLINKS.union(ResolveFlags::NO_MAGICLINKS);
/// Times a resolution is retried when the kernel saw a rename race.
const RETRIES: usize = 8;

/// A location's folder, opened with no symbolic link anywhere in its path:
/// files below it are opened relative to it, never by a path the kernel
/// resolves again from `/`.
pub struct Root {
    path: String,
    /// `None` where the kernel has no `openat2` (before Linux 5.6): each
    /// open then walks the path a component at a time.
    fd: Option<OwnedFd>,
}

impl Root {
    /// Opens the folder at `path` (absolute and canonical). Fails with
    /// `ELOOP` when any component of it is now a symbolic link.
    pub fn open(path: &str) -> std::io::Result<Root> {
        match retry(|| rustix::fs::openat2(rustix::fs::CWD, path, DIR_FLAGS, Mode::empty(), NO_LINKS)) {
            Ok(fd) => Ok(Root { path: path.to_string(), fd: Some(fd) }),
            Err(Errno::NOSYS) => {
                walk_components(path, "", DIR_FLAGS)?;
                Ok(Root { path: path.to_string(), fd: None })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Opens `rel` (a path below the root, as the indexer records it) for
    /// reading, refusing a link on the way or a `..` that leads out.
    pub fn open_file(&self, rel: &str) -> std::io::Result<File> {
        if rel.is_empty() {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "a location's folder is not a file"));
        }
        Ok(File::from(self.open_below(rel, READ_FLAGS)?))
    }

    /// Opens the folder `rel` below the root (`""` for the root itself) to
    /// look up names in, with no link on the way.
    pub fn open_dir(&self, rel: &str) -> std::io::Result<OwnedFd> {
        self.open_below(rel, DIR_FLAGS)
    }

    fn open_below(&self, rel: &str, flags: OFlags) -> std::io::Result<OwnedFd> {
        if !rel.is_empty() && rel.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a path below the location"));
        }
        Ok(match &self.fd {
            Some(root) => {
                let rel = if rel.is_empty() { "." } else { rel };
                retry(|| rustix::fs::openat2(root, rel, flags, Mode::empty(), NO_LINKS | ResolveFlags::BENEATH))?
            }
            None => walk_components(&self.path, rel, flags)?,
        })
    }
}

/// Runs a resolution again while the kernel answers `EAGAIN` (a rename
/// raced it), a bounded number of times.
fn retry(mut f: impl FnMut() -> rustix::io::Result<OwnedFd>) -> rustix::io::Result<OwnedFd> {
    let mut tries = 0;
    loop {
        match f() {
            Err(Errno::AGAIN) if tries < RETRIES => tries += 1,
            other => return other,
        }
    }
}

/// Opens `root/rel` a component at a time from `/`, each relative to the
/// folder before it and with `O_NOFOLLOW`, for kernels without `openat2`:
/// what `RESOLVE_NO_SYMLINKS` does in one call.
fn walk_components(root: &str, rel: &str, last_flags: OFlags) -> rustix::io::Result<OwnedFd> {
    let parts: Vec<&str> = root.split('/').chain(rel.split('/')).filter(|p| !p.is_empty()).collect();
    let mut dir = rustix::fs::open("/", DIR_FLAGS, Mode::empty())?;
    let Some((last, folders)) = parts.split_last() else { return Ok(dir) };
    for part in folders.iter().chain(std::iter::once(last)) {
        if *part == "." || *part == ".." {
            return Err(Errno::XDEV);
        }
    }
    for part in folders {
        dir = match rustix::fs::openat(&dir, *part, DIR_FLAGS | OFlags::NOFOLLOW, Mode::empty()) {
            // A link where a folder should be answers "not a folder": say
            // what `openat2` says.
            Err(Errno::NOTDIR) if is_link(&dir, part) => return Err(Errno::LOOP),
            other => other?,
        };
    }
    rustix::fs::openat(&dir, *last, last_flags | OFlags::NOFOLLOW, Mode::empty())
}

/// Whether `name` in `dir` is a symbolic link itself.
fn is_link(dir: &OwnedFd, name: &str) -> bool {
    rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW)
        .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink)
}

/// Opens the file at `path` for reading, following links, as a location
/// that follows links does; with [`READ_FLAGS`]' care for FIFOs and
/// terminals.
pub fn open_following(path: &Path) -> std::io::Result<File> {
    std::fs::OpenOptions::new().read(true).custom_flags((OFlags::NOCTTY | OFlags::NONBLOCK).bits() as i32).open(path)
}

/// The path the kernel opened `fd` at, from `/proc/self/fd`.
fn real_path(fd: &impl AsFd) -> std::io::Result<PathBuf> {
    std::fs::read_link(format!("/proc/self/fd/{}", fd.as_fd().as_raw_fd()))
}

/// The typed error for a file behind an entry that could not be opened.
fn open_error(path: &str, e: std::io::Error) -> OpError {
    match Errno::from_io_error(&e) {
        Some(Errno::LOOP | Errno::XDEV) => OpError::denied(format!(
            "{} is now reached through a symbolic link, which is not followed for a location that does not follow links; rescan its location",
            super::names::shown(Path::new(path))
        )),
        Some(Errno::NOENT | Errno::NOTDIR) => {
            OpError::not_found(format!("cannot open {path}: {e}; rescan its location"))
        }
        _ => OpError::not_found(format!("cannot open {path}: {e}")),
    }
}

/// Decides which files a caller may read: what a file behind an entry is
/// checked against before it is opened and once it is.
pub trait Access {
    /// Before opening: the path the file is read from (resolved, where the
    /// location follows links).
    fn check_path(&self, path: &Path) -> OpResult<()>;
    /// Once opened: what the kernel opened, at `path`. Catches a hard link,
    /// which no path check sees, to a file that must not be read.
    fn check_opened(&self, path: &Path, meta: &std::fs::Metadata) -> OpResult<()>;
}

/// The regular file behind an indexed entry, opened, with its path and its
/// length now, once `access` has accepted the path and the file.
///
/// Refuses virtual entries, folders and symbolic links. In a location that
/// does not follow links nothing on the way may be a link; in one that
/// does, `access` sees the resolved path both before the file is opened and
/// as the kernel opened it.
pub fn open(conn: &Connection, id: Uuid, access: &dyn Access) -> OpResult<(String, File, u64)> {
    type Behind = (String, Option<String>, Option<String>, Option<bool>);
    let (kind, rel, root, follow): Behind = conn
        .query_row(
            "SELECT e.kind, e.rel_path, l.path, l.follow_links FROM entries e \
             LEFT JOIN locations l ON l.id = e.location_id WHERE e.uuid = ?1",
            [id.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?
        .ok_or_else(|| OpError::not_found(format!("no entry with id {id} in this library")))?;
    let (Some(rel), Some(root)) = (rel, root) else {
        return Err(OpError::invalid(format!("entry {id} is virtual and has no file; read its sidecars instead")));
    };
    let path = if rel.is_empty() { root.clone() } else { format!("{}/{rel}", root.trim_end_matches('/')) };
    if kind == KIND_DIR || kind == KIND_SYMLINK {
        return Err(OpError::invalid(format!("{path} is a {kind}, not a file")));
    }
    let file = if follow.unwrap_or(false) {
        let resolved =
            std::fs::canonicalize(&path).map_err(|e| OpError::not_found(format!("cannot open {path}: {e}")))?;
        access.check_path(&resolved)?;
        let file = open_following(&resolved).map_err(|e| open_error(&path, e))?;
        let opened = real_path(&file).map_err(|e| OpError::unavailable(format!("cannot tell where {path} is: {e}")))?;
        access.check_path(&opened)?;
        file
    } else {
        access.check_path(Path::new(&path))?;
        Root::open(&root).and_then(|r| r.open_file(&rel)).map_err(|e| open_error(&path, e))?
    };
    let meta = file.metadata().map_err(|e| OpError::internal(format!("cannot read {path}: {e}")))?;
    if !meta.is_file() {
        return Err(OpError::invalid(format!("{path} is no longer a regular file; rescan its location")));
    }
    access.check_opened(Path::new(&path), &meta)?;
    Ok((path, file, meta.len()))
}

/// Up to `length` bytes of the entry's file from `offset`, and the file's
/// length. Reading past the end gives fewer bytes (none at or past it).
pub fn read_range(
    conn: &Connection,
    id: Uuid,
    offset: u64,
    length: usize,
    access: &dyn Access,
) -> OpResult<(Vec<u8>, u64)> {
    let (path, mut file, size) = open(conn, id, access)?;
    let want = usize::try_from(size.saturating_sub(offset)).unwrap_or(usize::MAX).min(length);
    let mut data = Vec::with_capacity(want);
    if want > 0 {
        file.seek(SeekFrom::Start(offset)).map_err(|e| OpError::internal(format!("cannot seek in {path}: {e}")))?;
        // `take` bounds the read even when the file grew since `open`.
        file.take(want as u64)
            .read_to_end(&mut data)
            .map_err(|e| OpError::internal(format!("cannot read {path}: {e}")))?;
    }
    Ok((data, size))
}

/// The whole file behind an entry, refused with `resource_exhausted` when it
/// is over `max` bytes (`what` names the use, for the message).
pub fn read_all(conn: &Connection, id: Uuid, max: u64, what: &str, access: &dyn Access) -> OpResult<Vec<u8>> {
    let (path, file, size) = open(conn, id, access)?;
    if size > max {
        return Err(OpError::exhausted(format!("{path} is {size} bytes, over the {max}-byte limit for {what}")));
    }
    let mut data = Vec::with_capacity(size as usize);
    file.take(max + 1).read_to_end(&mut data).map_err(|e| OpError::internal(format!("cannot read {path}: {e}")))?;
    if data.len() as u64 > max {
        return Err(OpError::exhausted(format!("{path} grew over the {max}-byte limit for {what} while being read")));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_anywhere_on_the_way_are_refused_by_both_resolvers() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let root = base.join("loc");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/a.txt"), "inside").unwrap();
        std::fs::create_dir_all(base.join("secret")).unwrap();
        std::fs::write(base.join("secret/a.txt"), "outside").unwrap();
        std::os::unix::fs::symlink(base.join("secret"), root.join("link")).unwrap();
        std::os::unix::fs::symlink(base.join("secret/a.txt"), root.join("file-link")).unwrap();
        let root_str = root.to_str().unwrap();

        let r = Root::open(root_str).unwrap();
        let mut text = String::new();
        r.open_file("sub/a.txt").unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "inside");
        for bad in ["link/a.txt", "file-link", "../secret/a.txt", "sub/../../secret/a.txt", "/etc/passwd", ""] {
            assert!(r.open_file(bad).is_err(), "{bad}");
        }
        let fallback = walk_components(root_str, "link/a.txt", READ_FLAGS).unwrap_err();
        assert_eq!(fallback, Errno::LOOP);
        assert!(walk_components(root_str, "file-link", READ_FLAGS).is_err());
        assert!(walk_components(root_str, "sub/a.txt", READ_FLAGS).is_ok());
        assert_eq!(walk_components(root_str, "../secret/a.txt", READ_FLAGS).unwrap_err(), Errno::XDEV);

        // The root itself reached through a link.
        std::os::unix::fs::symlink(&root, base.join("alias")).unwrap();
        let e = Root::open(base.join("alias").to_str().unwrap()).err().unwrap();
        assert_eq!(Errno::from_io_error(&e), Some(Errno::LOOP));
    }
}
