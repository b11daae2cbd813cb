//! Reading the files behind indexed entries, bounded and checked, for
//! operations that hand file content to callers who have no file system
//! (WebAssembly extensions above all).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use rusqlite::Connection;
use uuid::Uuid;

use super::entry::{self, KIND_DIR, KIND_SYMLINK};
use crate::error::{OpError, OpResult};

/// The regular file behind an indexed entry, opened, with its length now.
///
/// Refuses virtual entries, folders and symbolic links: a link may point out
/// of every location, and following it would hand out files the person never
/// indexed.
pub fn open(conn: &Connection, id: Uuid) -> OpResult<(String, File, u64)> {
    let entry = entry::get(conn, id)?;
    let path = entry
        .path
        .ok_or_else(|| OpError::invalid(format!("entry {id} is virtual and has no file; read its sidecars instead")))?;
    if entry.kind == KIND_DIR || entry.kind == KIND_SYMLINK {
        return Err(OpError::invalid(format!("{path} is a {}, not a file", entry.kind)));
    }
    let meta = std::fs::symlink_metadata(&path)
        .map_err(|e| OpError::not_found(format!("cannot read {path}: {e}; rescan its location")))?;
    if !meta.file_type().is_file() {
        return Err(OpError::invalid(format!("{path} is no longer a regular file; rescan its location")));
    }
    let file = File::open(&path).map_err(|e| OpError::not_found(format!("cannot open {path}: {e}")))?;
    Ok((path, file, meta.len()))
}

/// Up to `length` bytes of the entry's file from `offset`, and the file's
/// length. Reading past the end gives fewer bytes (none at or past it).
pub fn read_range(conn: &Connection, id: Uuid, offset: u64, length: usize) -> OpResult<(Vec<u8>, u64)> {
    let (path, mut file, size) = open(conn, id)?;
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
pub fn read_all(conn: &Connection, id: Uuid, max: u64, what: &str) -> OpResult<Vec<u8>> {
    let (path, file, size) = open(conn, id)?;
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
