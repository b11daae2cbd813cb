//! The folder walk of a scan: one task per folder on a pool of its own,
//! each folder's entries handed on as one [`Listing`] before its subfolders
//! are read, through a bounded channel, so the walk never runs further
//! ahead of the scan than that channel holds, whatever the tree's size.

use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::SyncSender;

use super::super::entry::{KIND_DIR, KIND_FILE, KIND_SYMLINK};
use super::super::file::Root;
use super::super::to_ns;

/// One thing the walk found.
pub(super) struct Found {
    /// Path relative to the location's root.
    pub rel: String,
    pub kind: &'static str,
    pub size: i64,
    pub modified: Option<i64>,
    pub created: Option<i64>,
}

/// One folder's entries, as the walk read them.
pub(super) struct Listing {
    /// The folder, relative to the root (`""` for the root).
    pub rel: String,
    /// Its entries; `None` when the folder could not be read, so what the
    /// library holds of it is kept.
    pub entries: Option<Vec<Found>>,
    /// What could not be read, said for people.
    pub warnings: Vec<String>,
}

/// A folder's identity on disk and the chain of those above it, for
/// finding loops when links are followed.
struct Ancestors {
    id: (u64, u64),
    up: Option<Arc<Ancestors>>,
}

impl Ancestors {
    fn contains(self: &Arc<Self>, id: (u64, u64)) -> bool {
        let mut at = Some(self);
        while let Some(a) = at {
            if a.id == id {
                return true;
            }
            at = a.up.as_ref();
        }
        false
    }
}

/// What the walk's tasks share.
struct Walk<'r> {
    /// The location's folder, opened, where links are not followed: every
    /// folder is then opened below it with no link on the way, so a folder
    /// swapped for a link while the walk runs is not walked into.
    root: Option<&'r Root>,
    follow_links: bool,
    /// A folder never entered (the data dir), by device and inode.
    never: Option<(u64, u64)>,
    listings: SyncSender<Listing>,
    /// Set when the scan stopped taking listings: the walk winds down.
    stopped: AtomicBool,
}

/// Walks `root`, sending each folder's listing to `listings`, a folder's
/// before any of its subfolders'. Returns when the walk is done or the
/// receiver is gone.
///
/// Written here rather than with `ignore` or `walkdir`: those yield entries
/// one by one in an order that does not keep a folder's entries together,
/// and `ignore` stats each entry by its full path, so the kernel resolves
/// every component again for every file (half of an unchanged rescan).
/// `std::fs::DirEntry::metadata` stats relative to the open folder, as
/// `find` does.
pub(super) fn walk(
    root: &Path,
    opened: &Root,
    follow_links: bool,
    never: Option<(u64, u64)>,
    listings: SyncSender<Listing>,
) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(8);
    // A pool of its own: its threads wait on the channel while the scan
    // waits on hashing, which runs on the global pool.
    let pool =
        match rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(|i| format!("sd-walk-{i}")).build() {
            Ok(p) => p,
            Err(e) => {
                let _ = listings.send(Listing {
                    rel: String::new(),
                    entries: None,
                    warnings: vec![format!("could not start the folder walk: {e}")],
                });
                return;
            }
        };
    let ancestors = match (follow_links, std::fs::metadata(root)) {
        (true, Ok(m)) => Some(Arc::new(Ancestors { id: (m.dev(), m.ino()), up: None })),
        _ => None,
    };
    // Folders are read through `/proc/self/fd`; without it, by path.
    let beneath = !follow_links && Path::new(PROC_FDS).is_dir();
    let walk = Walk { root: beneath.then_some(opened), follow_links, never, listings, stopped: AtomicBool::new(false) };
    pool.scope(|scope| visit(scope, root.to_path_buf(), String::new(), ancestors, &walk));
}

fn visit<'s>(
    scope: &rayon::Scope<'s>,
    dir: PathBuf,
    rel_dir: String,
    ancestors: Option<Arc<Ancestors>>,
    walk: &'s Walk<'s>,
) {
    if walk.stopped.load(Ordering::Relaxed) {
        return;
    }
    let mut warnings = Vec::new();
    let mut found = Vec::new();
    let mut subfolders = Vec::new();
    let mut readable = true;
    match read_folder(walk, &dir, &rel_dir) {
        Err(e) => {
            readable = false;
            warnings.push(format!("skipped {}: {e}", dir.display()));
        }
        Ok(read) => {
            for entry in read {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        warnings.push(format!("skipped an entry of {}: {e}", dir.display()));
                        continue;
                    }
                };
                let name = entry.file_name();
                let Some(name) = name.to_str() else {
                    warnings
                        .push(format!("skipped {}: name is not valid UTF-8", dir.join(entry.file_name()).display()));
                    continue;
                };
                let rel = if rel_dir.is_empty() { name.to_string() } else { format!("{rel_dir}/{name}") };
                // Does not follow a link: a link is reported as itself.
                let meta = match entry.metadata() {
                    Ok(m) => m,
                    Err(e) => {
                        warnings.push(format!("skipped {}: {e}", dir.join(entry.file_name()).display()));
                        continue;
                    }
                };
                let link = meta.file_type().is_symlink();
                let (meta, link) = if link && walk.follow_links {
                    match std::fs::metadata(dir.join(entry.file_name())) {
                        Ok(target) => (target, false),
                        Err(e) => {
                            warnings.push(format!(
                                "skipped {}: the link's target cannot be read: {e}",
                                dir.join(entry.file_name()).display()
                            ));
                            continue;
                        }
                    }
                } else {
                    (meta, link)
                };
                let Some(f) = found_entry(rel, &meta, link) else { continue };
                if f.kind == KIND_DIR && walk.never == Some((meta.dev(), meta.ino())) {
                    warnings.push(format!(
                        "skipped {}: it is Spacedrive's data folder, which is never indexed",
                        dir.join(entry.file_name()).display()
                    ));
                    continue;
                }
                if f.kind == KIND_DIR {
                    let below = match &ancestors {
                        Some(chain) => {
                            let id = (meta.dev(), meta.ino());
                            if chain.contains(id) {
                                warnings.push(format!(
                                    "skipped {}: file system loop found (it leads back to a folder above it)",
                                    dir.join(entry.file_name()).display()
                                ));
                                continue;
                            }
                            Some(Arc::new(Ancestors { id, up: Some(chain.clone()) }))
                        }
                        None => None,
                    };
                    subfolders.push((dir.join(entry.file_name()), f.rel.clone(), below));
                }
                found.push(f);
            }
        }
    }
    let listing = Listing { rel: rel_dir, entries: readable.then_some(found), warnings };
    if walk.listings.send(listing).is_err() {
        walk.stopped.store(true, Ordering::Relaxed);
        return;
    }
    for (path, rel, below) in subfolders {
        scope.spawn(move |scope| visit(scope, path, rel, below, walk));
    }
}

/// Where the kernel lists a process's open files.
const PROC_FDS: &str = "/proc/self/fd";

/// Lists the folder at `rel` (`dir` on disk). Below a [`Root`], the folder
/// is opened with no link on the way and listed through its descriptor's
/// `/proc/self/fd` entry, which names that very folder and is not resolved
/// again: `std::fs::read_dir` takes only a path, and its `DirEntry::metadata`
/// then stats each entry relative to the folder it opened.
fn read_folder(walk: &Walk<'_>, dir: &Path, rel: &str) -> std::io::Result<std::fs::ReadDir> {
    match walk.root {
        Some(root) => {
            let fd = root.open_dir(rel)?;
            std::fs::read_dir(format!("{PROC_FDS}/{}", fd.as_raw_fd()))
        }
        None => std::fs::read_dir(dir),
    }
}

/// What a walk records of one entry at `rel` (`link`: the entry is a link
/// not followed); `None` for sockets, FIFOs and devices, which are not
/// content.
fn found_entry(rel: String, meta: &std::fs::Metadata, link: bool) -> Option<Found> {
    let kind = if link {
        KIND_SYMLINK
    } else if meta.is_dir() {
        KIND_DIR
    } else if meta.is_file() {
        KIND_FILE
    } else {
        return None;
    };
    Some(Found {
        rel,
        kind,
        size: if kind == KIND_FILE { meta.len() as i64 } else { 0 },
        modified: meta.modified().ok().map(to_ns),
        created: meta.created().ok().map(to_ns),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_a_root_a_folder_that_became_a_link_is_not_listed() {
        let dir = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(dir.path()).unwrap();
        let root = base.join("loc");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/mine.txt"), "x").unwrap();
        std::fs::create_dir_all(base.join("elsewhere")).unwrap();
        std::fs::write(base.join("elsewhere/theirs.txt"), "y").unwrap();
        let opened = Root::open(root.to_str().unwrap()).unwrap();
        let (listings, _rx) = std::sync::mpsc::sync_channel(1);
        let walk =
            Walk { root: Some(&opened), follow_links: false, never: None, listings, stopped: AtomicBool::new(false) };
        let names =
            |r: std::fs::ReadDir| -> Vec<String> { r.map(|e| e.unwrap().file_name().into_string().unwrap()).collect() };
        assert_eq!(names(read_folder(&walk, &root.join("sub"), "sub").unwrap()), ["mine.txt"]);
        assert_eq!(names(read_folder(&walk, &root, "").unwrap()), ["sub"]);

        // Listed as a folder, then swapped for a link before it is read.
        std::fs::rename(root.join("sub"), base.join("sub-moved")).unwrap();
        std::os::unix::fs::symlink(base.join("elsewhere"), root.join("sub")).unwrap();
        assert!(read_folder(&walk, &root.join("sub"), "sub").is_err(), "the link was walked into");
        let by_path = Walk { root: None, ..walk };
        assert_eq!(names(read_folder(&by_path, &root.join("sub"), "sub").unwrap()), ["theirs.txt"]);
    }
}
