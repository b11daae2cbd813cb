//! `vdfs.list_entries`, `vdfs.entry`, `vdfs.create_entry`, `vdfs.create_entries`,
//! `vdfs.update_metadata`, `vdfs.write_sidecar`, `vdfs.read_sidecar`,
//! `vdfs.read_file`.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{OpError, OpResult};
use crate::infra::wire::{Audience, Caller, Effect, OpContext, Operation, Scope, decode_base64, text_or_base64};
use crate::register_operation;
use crate::vdfs::entry::{self, Entry, EntryDetail, KIND_VIRTUAL, ListFilter, SidecarInfo};
use crate::vdfs::{file, metadata, names, sidecar};

/// Largest page of a listing.
const MAX_LIMIT: u32 = 10_000;

fn default_limit() -> u32 {
    100
}

/// Checks a page size.
pub(crate) fn check_limit(limit: u32) -> OpResult<u32> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(OpError::invalid(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    Ok(limit)
}

/// The namespace an operation writes to: the one asked for, or the caller's
/// own; an extension may only write its own.
fn write_namespace(caller: &Caller, asked: Option<String>) -> OpResult<String> {
    let ns = asked.unwrap_or_else(|| caller.namespace().to_string());
    names::validate_namespace(&ns)?;
    if !caller.may_write_namespace(&ns) {
        return Err(OpError::denied(format!(
            "{caller} may not write namespace `{ns}`; extensions write only their own namespace"
        )));
    }
    Ok(ns)
}

/// Input of `query:vdfs.list_entries.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListEntriesInput {
    /// Only children of this entry.
    #[serde(default)]
    pub parent: Option<Uuid>,
    /// Only entries of this location.
    #[serde(default)]
    pub location: Option<Uuid>,
    /// Only entries of this kind (`file`, `dir`, `receipt`, ...).
    #[serde(default)]
    pub kind: Option<String>,
    /// Only virtual entries (created through operations).
    #[serde(default)]
    pub virtual_only: bool,
    /// Only indexed entries at or under this absolute path.
    #[serde(default)]
    pub under: Option<String>,
    /// Return each entry's metadata in this namespace too (in `metadata`).
    #[serde(default)]
    pub with_metadata: Option<String>,
    /// Page size, 1 to 10000 (default 100).
    #[serde(default = "default_limit")]
    pub limit: u32,
    /// Entries to skip.
    #[serde(default)]
    pub offset: u64,
}

/// A page of entries.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct EntryPage {
    /// Entries on this page.
    pub entries: Vec<Entry>,
    /// Entries matching the filter in all.
    pub total: u64,
    /// With `with_metadata`: each listed entry's metadata in that namespace,
    /// by entry id (entries without any are left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<Uuid, BTreeMap<String, Value>>,
}

/// Lists entries.
pub struct ListEntries;

impl Operation for ListEntries {
    const METHOD: &'static str = "query:vdfs.list_entries.v1";
    const DESCRIPTION: &'static str = "List entries, filtered by parent, location, kind";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = ListEntriesInput;
    type Output = EntryPage;

    async fn execute(ctx: OpContext, input: ListEntriesInput) -> OpResult<EntryPage> {
        let limit = check_limit(input.limit)?;
        let filter = ListFilter {
            parent: input.parent,
            location: input.location,
            kind: input.kind,
            virtual_only: input.virtual_only,
            under: input.under,
        };
        if let Some(ns) = &input.with_metadata {
            names::validate_namespace(ns)?;
        }
        let namespace = input.with_metadata;
        ctx.library()?
            .read(move |c| {
                let (entries, total) = entry::list(c, &filter, limit, input.offset)?;
                let metadata = match namespace {
                    Some(ns) => metadata::of_entries(c, entries.iter().map(|e| e.id), &ns)?,
                    None => BTreeMap::new(),
                };
                Ok(EntryPage { entries, total, metadata })
            })
            .await
    }
}
register_operation!(ListEntries);

/// Input naming one entry.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EntryRef {
    /// Entry id.
    pub id: Uuid,
}

/// Shows one entry with its metadata and sidecars.
pub struct GetEntry;

impl Operation for GetEntry {
    const METHOD: &'static str = "query:vdfs.entry.v1";
    const DESCRIPTION: &'static str = "One entry with its metadata and sidecars";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = EntryRef;
    type Output = EntryDetail;

    async fn execute(ctx: OpContext, input: EntryRef) -> OpResult<EntryDetail> {
        ctx.library()?.read(move |c| entry::detail(c, input.id)).await
    }
}
register_operation!(GetEntry);

/// Input of `action:vdfs.create_entry.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEntryInput {
    /// Display name: one path component, no `/`, no NUL, not `.` or `..`.
    pub name: String,
    /// Kind, e.g. `receipt` (default `virtual`).
    #[serde(default)]
    pub kind: Option<String>,
    /// Parent entry.
    #[serde(default)]
    pub parent: Option<Uuid>,
    /// Initial metadata, written to the caller's namespace.
    #[serde(default)]
    pub metadata: BTreeMap<String, Value>,
    /// Text sidecars by name, written to the caller's namespace and indexed
    /// for search.
    #[serde(default)]
    pub text_sidecars: BTreeMap<String, String>,
}

/// Creates one virtual entry with its metadata and text sidecars, inside
/// the caller's transaction; returns its row and id.
fn create_one(
    tx: &rusqlite::Transaction<'_>,
    library: &crate::library::Library,
    owner: &str,
    input: &CreateEntryInput,
) -> OpResult<(i64, Uuid)> {
    let kind = input.kind.as_deref().unwrap_or(KIND_VIRTUAL);
    let (row, id) = entry::create_virtual(tx, &input.name, kind, input.parent, owner)?;
    for (key, value) in &input.metadata {
        metadata::set(tx, row, owner, key, value)?;
    }
    for (name, text) in &input.text_sidecars {
        sidecar::write(tx, library.sidecars(), row, owner, name, "text/plain; charset=utf-8", text.as_bytes())?;
    }
    Ok((row, id))
}

/// Output of `action:vdfs.create_entry.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CreateEntryOutput {
    /// Id of the new entry.
    pub entry_id: Uuid,
    /// The new entry.
    pub entry: Entry,
}

/// Creates a virtual entry.
pub struct CreateEntry;

impl Operation for CreateEntry {
    const METHOD: &'static str = "action:vdfs.create_entry.input.v1";
    const DESCRIPTION: &'static str = "Create a virtual entry, with optional metadata";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Write;
    type Input = CreateEntryInput;
    type Output = CreateEntryOutput;

    async fn execute(ctx: OpContext, input: CreateEntryInput) -> OpResult<CreateEntryOutput> {
        let owner = write_namespace(&ctx.caller, None)?;
        let library = ctx.library()?.clone();
        let lib = library.clone();
        library
            .write(move |tx| {
                let (_, id) = create_one(tx, &lib, &owner, &input)?;
                Ok(CreateEntryOutput { entry_id: id, entry: entry::get(tx, id)? })
            })
            .await
    }
}
register_operation!(CreateEntry);

/// Most entries one `create_entries` call may create.
const MAX_BATCH: usize = 1000;

/// Input of `action:vdfs.create_entries.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateEntriesInput {
    /// The entries, at most 1000, each as `vdfs.create_entry` takes it.
    pub entries: Vec<CreateEntryInput>,
}

/// Output of `action:vdfs.create_entries.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct CreateEntriesOutput {
    /// Ids of the new entries, in input order.
    pub entry_ids: Vec<Uuid>,
}

/// Creates many virtual entries in one transaction: all or none.
pub struct CreateEntries;

impl Operation for CreateEntries {
    const METHOD: &'static str = "action:vdfs.create_entries.input.v1";
    const DESCRIPTION: &'static str = "Create up to 1000 virtual entries with metadata and text sidecars, atomically";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Write;
    type Input = CreateEntriesInput;
    type Output = CreateEntriesOutput;

    async fn execute(ctx: OpContext, input: CreateEntriesInput) -> OpResult<CreateEntriesOutput> {
        if input.entries.len() > MAX_BATCH {
            return Err(OpError::invalid(format!(
                "{} entries in one call; at most {MAX_BATCH}: split the batch",
                input.entries.len()
            )));
        }
        let owner = write_namespace(&ctx.caller, None)?;
        let library = ctx.library()?.clone();
        let lib = library.clone();
        library
            .write(move |tx| {
                let entry_ids = input
                    .entries
                    .iter()
                    .map(|e| create_one(tx, &lib, &owner, e).map(|(_, id)| id))
                    .collect::<OpResult<_>>()?;
                Ok(CreateEntriesOutput { entry_ids })
            })
            .await
    }
}
register_operation!(CreateEntries);

/// Input of `action:vdfs.update_metadata.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMetadataInput {
    /// Entry to change.
    pub entry_id: Uuid,
    /// Namespace to write (default: the caller's; extensions only their own).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Keys to set, with JSON values.
    #[serde(default)]
    pub set: BTreeMap<String, Value>,
    /// Keys to remove.
    #[serde(default)]
    pub remove: Vec<String>,
    /// Give the entry this kind too, in the same transaction: an indexed
    /// file may take a kind of its own such as `receipt` (or `file` back);
    /// a virtual entry only from its owner.
    #[serde(default)]
    pub kind: Option<String>,
}

/// Output of `action:vdfs.update_metadata.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct UpdateMetadataOutput {
    /// The entry.
    pub entry_id: Uuid,
    /// The namespace written.
    pub namespace: String,
    /// That namespace's metadata after the update.
    pub metadata: BTreeMap<String, Value>,
}

/// Sets and removes metadata keys in one namespace, atomically.
pub struct UpdateMetadata;

impl Operation for UpdateMetadata {
    const METHOD: &'static str = "action:vdfs.update_metadata.input.v1";
    const DESCRIPTION: &'static str = "Set and remove metadata keys of an entry in one namespace";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Destructive;
    type Input = UpdateMetadataInput;
    type Output = UpdateMetadataOutput;

    async fn execute(ctx: OpContext, input: UpdateMetadataInput) -> OpResult<UpdateMetadataOutput> {
        let ns = write_namespace(&ctx.caller, input.namespace)?;
        if input.set.is_empty() && input.remove.is_empty() && input.kind.is_none() {
            return Err(OpError::invalid("nothing to do: give keys in `set` or `remove`, or a `kind`"));
        }
        if input.set.len() + input.remove.len() > 1000 {
            return Err(OpError::invalid("at most 1000 keys per update"));
        }
        ctx.library()?
            .write(move |tx| {
                let row = entry::row_id(tx, input.entry_id)?;
                if let Some(kind) = &input.kind {
                    entry::set_kind(tx, row, kind, &ns)?;
                }
                for (key, value) in &input.set {
                    metadata::set(tx, row, &ns, key, value)?;
                }
                for key in &input.remove {
                    names::validate_key(key)?;
                    metadata::remove(tx, row, &ns, key)?;
                }
                let metadata = metadata::all(tx, row)?.remove(&ns).unwrap_or_default();
                Ok(UpdateMetadataOutput { entry_id: input.entry_id, namespace: ns, metadata })
            })
            .await
    }
}
register_operation!(UpdateMetadata);

/// Input of `action:vdfs.write_sidecar.input.v1`. Give exactly one of `text`
/// and `data_base64`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WriteSidecarInput {
    /// Entry to attach to.
    pub entry_id: Uuid,
    /// Sidecar name: one path component, no `/`, no NUL, not `.` or `..`.
    pub name: String,
    /// Namespace (default: the caller's; extensions only their own).
    #[serde(default)]
    pub namespace: Option<String>,
    /// Content as UTF-8 text (indexed for search).
    #[serde(default)]
    pub text: Option<String>,
    /// Content as base64 bytes.
    #[serde(default)]
    pub data_base64: Option<String>,
    /// MIME type (default `text/plain; charset=utf-8` for text,
    /// `application/octet-stream` for bytes). Text types are searchable.
    #[serde(default)]
    pub content_type: Option<String>,
}

/// Writes a sidecar.
pub struct WriteSidecar;

impl Operation for WriteSidecar {
    const METHOD: &'static str = "action:vdfs.write_sidecar.input.v1";
    const DESCRIPTION: &'static str = "Attach a named blob to an entry (text sidecars are searchable)";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Destructive;
    type Input = WriteSidecarInput;
    type Output = SidecarInfo;

    async fn execute(ctx: OpContext, input: WriteSidecarInput) -> OpResult<SidecarInfo> {
        let ns = write_namespace(&ctx.caller, input.namespace)?;
        names::validate_name("sidecar name", &input.name)?;
        let (data, default_type) = match (input.text, input.data_base64) {
            (Some(text), None) => (text.into_bytes(), "text/plain; charset=utf-8"),
            (None, Some(b64)) => (decode_base64("data_base64", &b64)?, "application/octet-stream"),
            _ => {
                return Err(OpError::invalid("give exactly one of `text` and `data_base64`"));
            }
        };
        let content_type = input.content_type.unwrap_or_else(|| default_type.to_string());
        let library = ctx.library()?.clone();
        let lib = library.clone();
        library
            .write(move |tx| {
                let row = entry::row_id(tx, input.entry_id)?;
                sidecar::write(tx, lib.sidecars(), row, &ns, &input.name, &content_type, &data)
            })
            .await
    }
}
register_operation!(WriteSidecar);

/// Input of `query:vdfs.read_sidecar.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadSidecarInput {
    /// Entry the sidecar is attached to.
    pub entry_id: Uuid,
    /// Sidecar name.
    pub name: String,
    /// Namespace (default: the caller's).
    #[serde(default)]
    pub namespace: Option<String>,
}

/// Output of `query:vdfs.read_sidecar.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReadSidecarOutput {
    /// Description.
    #[serde(flatten)]
    pub info: SidecarInfo,
    /// Content, when it is valid UTF-8.
    pub text: Option<String>,
    /// Content as base64, when it is not valid UTF-8.
    pub data_base64: Option<String>,
}

/// Reads a sidecar; its content is checked against its hash.
pub struct ReadSidecar;

impl Operation for ReadSidecar {
    const METHOD: &'static str = "query:vdfs.read_sidecar.v1";
    const DESCRIPTION: &'static str = "Read a sidecar (verified against its hash)";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = ReadSidecarInput;
    type Output = ReadSidecarOutput;

    async fn execute(ctx: OpContext, input: ReadSidecarInput) -> OpResult<ReadSidecarOutput> {
        let ns = input.namespace.unwrap_or_else(|| ctx.caller.namespace().to_string());
        let library = ctx.library()?.clone();
        let lib = library.clone();
        let (info, data) = library
            .read(move |c| {
                let row = entry::row_id(c, input.entry_id)?;
                sidecar::read(c, lib.sidecars(), row, &ns, &input.name)
            })
            .await?;
        let (text, data_base64) = text_or_base64(data);
        Ok(ReadSidecarOutput { info, text, data_base64 })
    }
}
register_operation!(ReadSidecar);

/// Largest range `vdfs.read_file` returns in one call.
pub const MAX_READ_BYTES: u32 = 4 * 1024 * 1024;

fn default_read_length() -> u32 {
    1024 * 1024
}

/// Input of `query:vdfs.read_file.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadFileInput {
    /// An indexed file entry.
    pub entry_id: Uuid,
    /// First byte to read.
    #[serde(default)]
    pub offset: u64,
    /// Bytes to read, 1 to 4 MiB (default 1 MiB).
    #[serde(default = "default_read_length")]
    pub length: u32,
}

/// Output of `query:vdfs.read_file.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ReadFileOutput {
    /// The bytes read, as base64.
    pub data_base64: String,
    /// Where they start.
    pub offset: u64,
    /// The file's length now.
    pub size: u64,
    /// Whether the read reached the end of the file.
    pub eof: bool,
}

/// Reads a byte range of an indexed entry's file: how callers without a file
/// system, such as extensions, read what the person indexed. An extension
/// reads only files inside the folders granted to it; nobody reads the data
/// dir.
pub struct ReadFile;

impl Operation for ReadFile {
    const METHOD: &'static str = "query:vdfs.read_file.v1";
    const DESCRIPTION: &'static str =
        "Read a byte range (at most 4 MiB) of an indexed file entry (extensions: only inside folders granted to them)";
    const SCOPE: Scope = Scope::Library;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = ReadFileInput;
    type Output = ReadFileOutput;

    async fn execute(ctx: OpContext, input: ReadFileInput) -> OpResult<ReadFileOutput> {
        if input.length == 0 || input.length > MAX_READ_BYTES {
            return Err(OpError::invalid(format!(
                "length must be between 1 and {MAX_READ_BYTES}; read larger files in ranges"
            )));
        }
        let (offset, length) = (input.offset, input.length as usize);
        let (core, caller) = (ctx.core.clone(), ctx.caller.clone());
        let (data, size) = ctx
            .library()?
            .read(move |c| {
                let scope = core.grants().scope(&caller)?;
                file::read_range(c, input.entry_id, offset, length, &scope)
            })
            .await?;
        let eof = offset + data.len() as u64 >= size;
        Ok(ReadFileOutput { data_base64: BASE64.encode(&data), offset, size, eof })
    }
}
register_operation!(ReadFile);
