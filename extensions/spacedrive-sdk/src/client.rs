//! A typed client for the core's operations, and `call` for any other.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Error, Result};

/// Calls operations, in one library or none.
#[derive(Debug, Clone, Copy)]
pub struct Client {
    library: Option<Uuid>,
}

/// Reply of `query:test.ping.v1`.
#[derive(Debug, Clone, Deserialize)]
pub struct Pong {
    /// `Pong: <message>`.
    pub echo: String,
    /// How the host saw the caller, e.g. `extension:test-extension`.
    pub caller: String,
}

/// A library the extension may use.
#[derive(Debug, Clone, Deserialize)]
pub struct LibraryInfo {
    /// Id.
    pub id: Uuid,
    /// Name.
    pub name: String,
}

/// A VDFS entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Entry {
    /// Stable id.
    pub id: Uuid,
    /// Name.
    pub name: String,
    /// Kind: `file`, `dir`, or the kind a virtual entry was created with.
    pub kind: String,
    /// Absolute path, for indexed entries.
    #[serde(default)]
    pub path: Option<String>,
    /// The location it was indexed from.
    #[serde(default)]
    pub location_id: Option<Uuid>,
    /// Parent entry.
    #[serde(default)]
    pub parent_id: Option<Uuid>,
    /// Size in bytes.
    #[serde(default)]
    pub size: u64,
    /// The file's modification time (RFC 3339), for indexed files.
    #[serde(default)]
    pub modified_at: Option<String>,
    /// BLAKE3 of the content, for indexed files.
    #[serde(default)]
    pub content_hash: Option<String>,
    /// Creator: `core`, `user` or an extension id.
    pub owner: String,
}

/// Input of [`Client::create_entry`].
#[derive(Debug, Clone, Default, Serialize)]
pub struct NewEntry {
    /// Name: one path component.
    pub name: String,
    /// Kind, e.g. `receipt` (default `virtual`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Parent entry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<Uuid>,
    /// Initial metadata, in the extension's namespace.
    pub metadata: BTreeMap<String, Value>,
}

/// A sidecar as read back.
#[derive(Debug, Clone, Deserialize)]
pub struct Sidecar {
    /// Name.
    pub name: String,
    /// BLAKE3 of the content.
    pub hash: String,
    /// Content when it is UTF-8.
    #[serde(default)]
    pub text: Option<String>,
    /// Content as base64 otherwise.
    #[serde(default)]
    pub data_base64: Option<String>,
}

impl Sidecar {
    /// The content as bytes.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        text_or_base64(self.text.as_deref(), self.data_base64.as_deref())
    }
}

/// One search hit.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchHit {
    /// The entry.
    pub entry: Entry,
    /// Relevance; higher is better.
    pub score: f64,
}

/// Search results.
#[derive(Debug, Clone, Deserialize)]
pub struct SearchResults {
    /// Hits, best first.
    pub results: Vec<SearchHit>,
    /// Matches in all.
    pub total: u64,
}

/// A metadata filter for [`Client::search`]: `namespace.key = value`.
#[derive(Debug, Clone, Serialize)]
pub struct Where {
    /// Namespace.
    pub namespace: String,
    /// Key.
    pub key: String,
    /// Value as text.
    pub value: String,
}

/// Content the host sends as text when it is UTF-8, else as base64.
pub(crate) fn text_or_base64(text: Option<&str>, b64: Option<&str>) -> Result<Vec<u8>> {
    match (text, b64) {
        (Some(t), _) => Ok(t.as_bytes().to_vec()),
        (None, Some(b)) => base64::engine::general_purpose::STANDARD
            .decode(b)
            .map_err(|e| Error::internal(format!("host sent bad base64: {e}"))),
        (None, None) => Ok(Vec::new()),
    }
}

fn decode<O: DeserializeOwned>(answer: crate::ffi::Answer<'_>) -> Result<O> {
    match answer {
        crate::ffi::Answer::Ok(json) => serde_json::from_str(json).map_err(|e| {
            if e.is_data() {
                Error::internal(format!("unexpected result shape from the host: {e}"))
            } else {
                Error::internal(format!("host sent bad JSON: {e}"))
            }
        }),
        crate::ffi::Answer::Error(json) => {
            Err(serde_json::from_str(json)
                .unwrap_or_else(|e| Error::internal(format!("host sent a malformed error: {e}"))))
        }
    }
}

impl Client {
    /// A client for `library` (or none).
    pub fn new(library: Option<Uuid>) -> Self {
        Self { library }
    }

    /// The same client bound to `library`.
    pub fn in_library(&self, library: Uuid) -> Self {
        Self { library: Some(library) }
    }

    /// The library calls go to.
    pub fn library(&self) -> Option<Uuid> {
        self.library
    }

    /// Calls any operation by method string.
    pub fn call<I: Serialize + ?Sized, O: DeserializeOwned>(&self, method: &str, input: &I) -> Result<O> {
        let lib = self.library.map(|l| *l.as_bytes());
        crate::ffi::with_payload(input, |payload| crate::ffi::call(method, lib.as_ref(), payload, decode))?
    }

    fn library_or_err(&self) -> Result<Uuid> {
        self.library.ok_or_else(|| Error::invalid("this call needs a library: use client.in_library(id)"))
    }

    /// `query:test.ping.v1`.
    pub fn ping(&self, message: &str) -> Result<Pong> {
        #[derive(Serialize)]
        struct Ping<'a> {
            message: &'a str,
        }
        self.call("query:test.ping.v1", &Ping { message })
    }

    /// The libraries this extension may use.
    pub fn libraries(&self) -> Result<Vec<LibraryInfo>> {
        Client::new(None).call("query:libraries.list.v1", &json!({}))
    }

    /// Creates a virtual entry owned by this extension.
    pub fn create_entry(&self, entry: &NewEntry) -> Result<Entry> {
        self.library_or_err()?;
        #[derive(Deserialize)]
        struct Out {
            entry: Entry,
        }
        let out: Out = self.call("action:vdfs.create_entry.input.v1", entry)?;
        Ok(out.entry)
    }

    /// One entry.
    pub fn entry(&self, id: Uuid) -> Result<Entry> {
        self.library_or_err()?;
        self.call("query:vdfs.entry.v1", &json!({ "id": id }))
    }

    /// Sets metadata keys in this extension's namespace.
    pub fn set_metadata(&self, entry: Uuid, set: &BTreeMap<String, Value>) -> Result<()> {
        self.update_entry(entry, set, &[], None)
    }

    /// Sets and removes metadata keys in this extension's namespace, and
    /// optionally gives the entry a kind (e.g. `receipt`), in one
    /// transaction.
    pub fn update_entry(
        &self,
        entry: Uuid,
        set: &BTreeMap<String, Value>,
        remove: &[&str],
        kind: Option<&str>,
    ) -> Result<()> {
        self.library_or_err()?;
        let _: Value = self.call(
            "action:vdfs.update_metadata.input.v1",
            &json!({ "entry_id": entry, "set": set, "remove": remove, "kind": kind }),
        )?;
        Ok(())
    }

    /// Writes a text sidecar (searchable).
    pub fn write_sidecar_text(&self, entry: Uuid, name: &str, text: &str) -> Result<()> {
        self.library_or_err()?;
        let _: Value =
            self.call("action:vdfs.write_sidecar.input.v1", &json!({ "entry_id": entry, "name": name, "text": text }))?;
        Ok(())
    }

    /// Writes a binary sidecar.
    pub fn write_sidecar_bytes(&self, entry: Uuid, name: &str, content_type: &str, data: &[u8]) -> Result<()> {
        self.library_or_err()?;
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        let _: Value = self.call(
            "action:vdfs.write_sidecar.input.v1",
            &json!({ "entry_id": entry, "name": name, "data_base64": b64, "content_type": content_type }),
        )?;
        Ok(())
    }

    /// Reads one of this extension's sidecars.
    pub fn read_sidecar(&self, entry: Uuid, name: &str) -> Result<Sidecar> {
        self.library_or_err()?;
        self.call("query:vdfs.read_sidecar.v1", &json!({ "entry_id": entry, "name": name }))
    }

    /// Full-text search with optional metadata filters.
    pub fn search(&self, query: &str, filters: &[Where], limit: u32) -> Result<SearchResults> {
        self.library_or_err()?;
        self.call("query:search.v1", &json!({ "query": query, "where": filters, "limit": limit }))
    }
}
