//! Locations, listings and the bytes of indexed files: an extension has no
//! file system of its own and reads what the person indexed through these.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Client, Entry, Error, Result};

/// Largest range the host returns per `vdfs.read_file` call.
const READ_CHUNK: u64 = 4 * 1024 * 1024;

/// A folder indexed into the library.
#[derive(Debug, Clone, Deserialize)]
pub struct Location {
    /// Id.
    pub id: Uuid,
    /// Absolute path of the folder.
    pub path: String,
}

/// What to list with [`Client::list_entries`].
#[derive(Debug, Clone, Serialize)]
pub struct ListQuery {
    /// Only children of this entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Uuid>,
    /// Only entries of this kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Only virtual entries.
    pub virtual_only: bool,
    /// Only indexed entries at or under this absolute path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub under: Option<String>,
    /// Return each entry's metadata in this namespace too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub with_metadata: Option<String>,
    /// Page size, 1 to 10000.
    pub limit: u32,
    /// Entries to skip.
    pub offset: u64,
}

impl Default for ListQuery {
    fn default() -> Self {
        Self { parent: None, kind: None, virtual_only: false, under: None, with_metadata: None, limit: 100, offset: 0 }
    }
}

/// A page of entries.
#[derive(Debug, Clone, Deserialize)]
pub struct EntryPage {
    /// This page.
    pub entries: Vec<Entry>,
    /// Matches in all.
    pub total: u64,
    /// Metadata in the asked namespace, by entry id.
    #[serde(default)]
    pub metadata: BTreeMap<Uuid, BTreeMap<String, Value>>,
}

#[derive(Deserialize)]
struct Chunk {
    data_base64: String,
    size: u64,
    eof: bool,
}

impl Client {
    /// Lists entries (`query:vdfs.list_entries.v1`).
    pub fn list_entries(&self, query: &ListQuery) -> Result<EntryPage> {
        self.call("query:vdfs.list_entries.v1", query)
    }

    /// The whole file behind an indexed entry, read in ranges; refused with
    /// `resource_exhausted` when it is over `max_bytes`, before any of it
    /// is read into the extension's memory, and with `permission_denied`
    /// when the file is not inside a folder granted to the extension.
    pub fn read_file(&self, entry: Uuid, max_bytes: u64) -> Result<Vec<u8>> {
        let mut data = Vec::new();
        loop {
            let length = READ_CHUNK.min(max_bytes.saturating_sub(data.len() as u64) + 1).max(1) as u32;
            let (bytes, size, eof) = self.read_file_range(entry, data.len() as u64, length)?;
            if size > max_bytes {
                return Err(Error::new(
                    "resource_exhausted",
                    format!("the file is {size} bytes, over the {max_bytes}-byte limit"),
                ));
            }
            data.extend_from_slice(&bytes);
            if eof || bytes.is_empty() {
                return Ok(data);
            }
        }
    }

    /// Up to `length` bytes (at most 4 MiB) of an indexed entry's file from
    /// `offset`, the file's size, and whether the range reached its end.
    pub fn read_file_range(&self, entry: Uuid, offset: u64, length: u32) -> Result<(Vec<u8>, u64, bool)> {
        let chunk: Chunk = self.call(
            "query:vdfs.read_file.v1",
            &json!({ "entry_id": entry, "offset": offset, "length": length.min(READ_CHUNK as u32) }),
        )?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(chunk.data_base64)
            .map_err(|e| Error::internal(format!("host sent bad base64: {e}")))?;
        Ok((bytes, chunk.size, chunk.eof))
    }

    /// Up to `length` bytes of an indexed entry's file from `offset`, read in
    /// ranges the host allows; with the file's size, and whether the read
    /// reached its end.
    pub fn read_file_span(&self, entry: Uuid, offset: u64, length: u64) -> Result<(Vec<u8>, u64, bool)> {
        let mut buf = Vec::new();
        loop {
            let want = (length.saturating_sub(buf.len() as u64)).clamp(1, READ_CHUNK) as u32;
            let (chunk, size, eof) = self.read_file_range(entry, offset + buf.len() as u64, want)?;
            buf.extend_from_slice(&chunk);
            if eof || chunk.is_empty() || buf.len() as u64 >= length {
                buf.truncate(length as usize);
                return Ok((buf, size, eof));
            }
        }
    }

    /// The library's locations (`query:locations.list.v1`).
    pub fn locations(&self) -> Result<Vec<Location>> {
        self.call("query:locations.list.v1", &json!({}))
    }

    /// The folders a person granted this extension (`sd ext grant`): the
    /// only ones it may add as locations or read files in. Canonical paths.
    pub fn grants(&self) -> Result<Vec<String>> {
        #[derive(Deserialize)]
        struct Grant {
            path: String,
        }
        let grants: Vec<Grant> = self.call("query:grants.list.v1", &json!({}))?;
        Ok(grants.into_iter().map(|g| g.path).collect())
    }

    /// Adds a folder as a location and waits for it to be indexed. Only a
    /// folder inside one granted to the extension (see [`Client::grants`]);
    /// any other is refused with `permission_denied`.
    pub fn add_location(&self, path: &str) -> Result<Location> {
        #[derive(Deserialize)]
        struct Out {
            location: Location,
        }
        let out: Out = self.call("action:locations.add.input.v1", &json!({ "path": path, "wait": true }))?;
        Ok(out.location)
    }

    /// Rescans a location and waits for it: new and changed files only.
    pub fn rescan_location(&self, id: Uuid) -> Result<()> {
        let _: Value = self.call("action:locations.rescan.input.v1", &json!({ "id": id, "wait": true }))?;
        Ok(())
    }
}
