//! The `import` job: index a folder (or reuse the location that covers it),
//! then read each receipt file in it, and each message of each mailbox,
//! checkpointing as it goes so a crash loses nothing and imports nothing
//! twice.

use serde::{Deserialize, Serialize};
use spacedrive_sdk::prelude::*;
use spacedrive_sdk::{Entry, ListQuery};

use crate::pipeline::{self, Outcome};
use crate::store::{self, Settings};

/// Entries listed per page.
const PAGE: u32 = 200;
/// Scans the host is asked to read ahead: enough to keep both OCR slots busy
/// while this job works on one, with one more waiting for a free slot.
const READ_AHEAD: usize = 3;
/// Bytes of a mailbox read at once; a window grows up to
/// [`pipeline::MAX_MESSAGE_BYTES`] for one large message.
const MBOX_WINDOW: u64 = 4 * 1024 * 1024;

/// What an import did.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Stats {
    /// New expenses.
    pub imported: u64,
    /// Receipts already stored (the same file or message again).
    pub duplicates: u64,
    /// Emails and documents read that are not receipts.
    pub not_receipts: u64,
    /// Files of other types, skipped.
    pub unsupported: u64,
    /// Files or messages that could not be read (each has a warning).
    pub failed: u64,
    /// Messages read from mailboxes.
    pub messages: u64,
}

impl Stats {
    /// Counts one outcome.
    pub(crate) fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Imported => self.imported += 1,
            Outcome::Duplicate => self.duplicates += 1,
            Outcome::NotReceipt(_) => self.not_receipts += 1,
        }
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outcome::Imported => write!(f, "imported"),
            Outcome::Duplicate => write!(f, "already imported"),
            Outcome::NotReceipt(why) => write!(f, "not a receipt ({why})"),
        }
    }
}

/// State of the `import` job; its input is `{"path": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportState {
    /// A folder or a file.
    pub path: String,
    /// Whether the folder has been indexed for this run.
    #[serde(default)]
    pub indexed: bool,
    /// Entries under `path` done so far, in listing order.
    #[serde(default)]
    pub offset: u64,
    /// Within the mailbox at `offset`: the byte where the next message starts.
    #[serde(default)]
    pub mbox_offset: u64,
    /// Within that mailbox: messages done.
    #[serde(default)]
    pub mbox_index: u64,
    /// Counts so far.
    #[serde(default)]
    pub stats: Stats,
}

/// Makes sure `path` is indexed: rescans the location that covers it, or
/// adds one (the folder itself, or a file's folder). A person's location
/// wider than Finance's grants cannot be rescanned by it: what is indexed
/// there already is read, and a warning says so. Adding a folder that is
/// not granted fails with the host's message naming `sd ext grant`.
fn ensure_indexed(client: &Client, path: &str, warnings: &mut Vec<String>) -> Result<()> {
    let path = path.trim_end_matches('/');
    let covering = client
        .locations()?
        .into_iter()
        .filter(|l| {
            path == l.path.trim_end_matches('/') || path.starts_with(&format!("{}/", l.path.trim_end_matches('/')))
        })
        .max_by_key(|l| l.path.len());
    match covering {
        Some(l) => match client.rescan_location(l.id) {
            Err(e) if e.is(PERMISSION_DENIED) => {
                warnings.push(format!(
                    "{path} lies in location {}, which was not rescanned ({}); files indexed there are read as they are",
                    l.path, e.message
                ));
                Ok(())
            }
            other => other,
        },
        None => {
            let folder = match pipeline::supported(path) {
                Some(_) => path.rsplit_once('/').map_or("/", |(dir, _)| if dir.is_empty() { "/" } else { dir }),
                None => path,
            };
            client.add_location(folder).map(|_| ())
        }
    }
}

/// Imports one file entry (a mailbox message by message), outside a job.
pub fn one_entry(client: &Client, settings: &Settings, entry: &Entry, warnings: &mut Vec<String>) -> Result<Outcome> {
    if pipeline::supported(&entry.name) == Some("mbox") {
        let mut state = MboxCursor::default();
        let mut stats = Stats::default();
        while !mbox_step(client, settings, entry, &mut state, &mut stats, warnings)? {}
        return Ok(if stats.imported > 0 { Outcome::Imported } else { Outcome::Duplicate });
    }
    pipeline::import_file(client, settings, entry, &[], warnings)
}

/// Where a mailbox is being read.
#[derive(Debug, Default, Clone, Copy)]
struct MboxCursor {
    offset: u64,
    index: u64,
}

/// Start of the next `From ` line at or after `from` (a message boundary).
fn next_boundary(buf: &[u8], from: usize) -> Option<usize> {
    Some(buf.get(from..)?.windows(6).position(|w| w == b"\nFrom ")? + from + 1)
}

/// Reads the messages of one window of a mailbox; returns whether the
/// mailbox is done.
fn mbox_step(
    client: &Client,
    settings: &Settings,
    entry: &Entry,
    cursor: &mut MboxCursor,
    stats: &mut Stats,
    warnings: &mut Vec<String>,
) -> Result<bool> {
    let path = entry.path.clone().unwrap_or_else(|| entry.name.clone());
    let mut window = MBOX_WINDOW;
    loop {
        let (buf, size, eof) = client.read_file_span(entry.id, cursor.offset, window)?;
        if cursor.offset >= size {
            return Ok(true);
        }
        // Messages that end inside the window (the last only at the end of
        // the file).
        let mut start = 0usize;
        let mut done_any = false;
        loop {
            let end = match next_boundary(&buf, start + 1) {
                Some(e) => e,
                None if eof => buf.len(),
                None => break,
            };
            let raw = &buf[start..end];
            cursor.index += 1;
            stats.messages += 1;
            // `split_mbox` drops the `From ` line and unquotes `>From `.
            let messages = crate::mime::split_mbox(raw);
            let one = messages.first().map(Vec::as_slice).unwrap_or(raw);
            let mut local = Vec::new();
            match pipeline::import_message(client, settings, one, &path, Some(entry.id), &mut local) {
                Ok(outcome) => stats.count(&outcome),
                Err(e) => {
                    stats.failed += 1;
                    warnings.push(format!("{path}: message {}: {}", cursor.index, e.message));
                }
            }
            warnings.extend(local.into_iter().map(|w| format!("{path}: message {}: {w}", cursor.index)));
            done_any = true;
            start = end;
            if end >= buf.len() {
                break;
            }
        }
        cursor.offset += start as u64;
        if done_any {
            return Ok(eof && start >= buf.len());
        }
        if window >= pipeline::MAX_MESSAGE_BYTES {
            // One message larger than any receipt: skip to the next one.
            warnings.push(format!(
                "{path}: message {} is over {} MB: skipped",
                cursor.index + 1,
                pipeline::MAX_MESSAGE_BYTES / 1_000_000
            ));
            cursor.index += 1;
            stats.failed += 1;
            let mut scan = cursor.offset + window;
            loop {
                let (b, size, eof) = client.read_file_span(entry.id, scan, MBOX_WINDOW)?;
                if let Some(at) = next_boundary(&b, 0) {
                    cursor.offset = scan + at as u64;
                    return Ok(false);
                }
                if eof || scan >= size {
                    cursor.offset = size;
                    return Ok(true);
                }
                scan += b.len().saturating_sub(6) as u64;
            }
        }
        window = (window * 2).min(pipeline::MAX_MESSAGE_BYTES);
    }
}

/// The host's code for a read outside the folders granted to Finance.
const PERMISSION_DENIED: &str = "permission_denied";

/// Ends the import on a refused read (a grant revoked while it ran): every
/// later read would be refused too. What it imported stays, and so does its
/// checkpoint, so once the folder is granted again it goes on from here.
fn stop_denied(ctx: &JobContext, state: &ImportState, e: Error) -> Result<()> {
    ctx.checkpoint(state)?;
    Err(e)
}

fn warn_all(ctx: &JobContext, warnings: Vec<String>) -> Result<()> {
    for w in warnings {
        ctx.add_warning(&w)?;
    }
    Ok(())
}

/// Imports receipts from a folder or a file.
#[spacedrive_job]
fn import(ctx: &JobContext, state: &mut ImportState) -> Result<()> {
    let client = ctx.client();
    if client.library().is_none() {
        return Err(Error::invalid("import needs a library: pass --library or set a default library"));
    }
    if !state.path.starts_with('/') {
        return Err(Error::invalid(format!("path must be absolute, not {:?}", state.path)));
    }
    if !state.indexed {
        ctx.report_progress(0.0, &format!("indexing {}", state.path))?;
        let mut warnings = Vec::new();
        ensure_indexed(&client, &state.path, &mut warnings)?;
        warn_all(ctx, warnings)?;
        state.indexed = true;
        ctx.checkpoint(state)?;
    }
    let settings = store::load_settings(&client)?;
    // Items are counted to the host in batches, with the checkpoints.
    let mut items = 0u64;
    loop {
        ctx.check_interrupt()?;
        let page = client.list_entries(&ListQuery {
            under: Some(state.path.trim_end_matches('/').to_string()),
            limit: PAGE,
            offset: state.offset,
            ..Default::default()
        })?;
        if page.entries.is_empty() {
            break;
        }
        for (k, entry) in page.entries.iter().enumerate() {
            ctx.check_interrupt()?;
            let path = entry.path.clone().unwrap_or_default();
            match (entry.kind.as_str(), pipeline::supported(&entry.name)) {
                ("dir" | "symlink", _) => {}
                (_, None) => state.stats.unsupported += 1,
                (_, Some("mbox")) => {
                    let mut cursor = MboxCursor { offset: state.mbox_offset, index: state.mbox_index };
                    loop {
                        ctx.check_interrupt()?;
                        let mut warnings = Vec::new();
                        let done =
                            match mbox_step(&client, &settings, entry, &mut cursor, &mut state.stats, &mut warnings) {
                                Ok(done) => done,
                                Err(e) if e.is(spacedrive_sdk::INTERRUPTED) => return Err(e),
                                Err(e) if e.is(PERMISSION_DENIED) => return stop_denied(ctx, state, e),
                                Err(e) => {
                                    warnings.push(format!("{path}: {}", e.message));
                                    state.stats.failed += 1;
                                    true
                                }
                            };
                        warn_all(ctx, warnings)?;
                        state.mbox_offset = cursor.offset;
                        state.mbox_index = cursor.index;
                        ctx.checkpoint(state)?;
                        if done {
                            break;
                        }
                    }
                    state.mbox_offset = 0;
                    state.mbox_index = 0;
                }
                (_, Some(_)) => {
                    let mut warnings = Vec::new();
                    // The next scans on the page, for the host to read
                    // while this one is.
                    let ahead: Vec<Uuid> = page.entries[k + 1..]
                        .iter()
                        .filter(|e| e.kind != "dir" && pipeline::supported(&e.name) == Some("ocr"))
                        .take(READ_AHEAD)
                        .map(|e| e.id)
                        .collect();
                    match pipeline::import_file(&client, &settings, entry, &ahead, &mut warnings) {
                        Ok(outcome) => {
                            // A file that is not a receipt is worth a word: a
                            // person put it among their receipts.
                            if let Outcome::NotReceipt(why) = &outcome {
                                warnings.push(format!("{path}: not a receipt ({why}): skipped"));
                            }
                            state.stats.count(&outcome)
                        }
                        Err(e) if e.is(PERMISSION_DENIED) => {
                            warn_all(ctx, warnings)?;
                            return stop_denied(ctx, state, e);
                        }
                        Err(e) => {
                            state.stats.failed += 1;
                            warnings.push(format!("{path}: {}", e.message));
                        }
                    }
                    warn_all(ctx, warnings)?;
                    items += 1;
                }
            }
            state.offset += 1;
            if state.offset.is_multiple_of(20) {
                ctx.checkpoint(state)?;
                ctx.increment_items(std::mem::take(&mut items))?;
                let fraction = state.offset as f32 / page.total.max(1) as f32;
                ctx.report_progress(
                    fraction,
                    &format!("{}/{} files, {} expenses", state.offset, page.total, state.stats.imported),
                )?;
            }
        }
    }
    ctx.increment_items(items)?;
    ctx.report_progress(1.0, &format!("{} expenses imported", state.stats.imported))?;
    Ok(())
}
