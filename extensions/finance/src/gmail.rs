//! The `gmail_sync` job: reads Gmail through its REST API
//! (`users.messages.list` with paging, `users.messages.get?format=raw`) with
//! an OAuth credential the host attaches, and imports each message not seen
//! before.

use std::collections::BTreeSet;

use base64::Engine as _;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use spacedrive_sdk::prelude::*;
use spacedrive_sdk::{HttpRequest, HttpResponse};

use crate::import::Stats;
use crate::pipeline;
use crate::store;

/// Gmail's API, unless the settings name another base.
const DEFAULT_BASE: &str = "https://gmail.googleapis.com";
/// Messages listed per page.
const PAGE_SIZE: u32 = 100;
/// Name of the sidecar (on the settings entry) that lists message ids
/// already read, so a sync fetches only new ones.
const SEEN_SIDECAR: &str = "gmail_seen.json";

/// State of the `gmail_sync` job; its input is `{"credential": "gmail",
/// "query": "…"}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GmailState {
    /// Name of the extension's OAuth credential.
    pub credential: String,
    /// A Gmail search, e.g. `receipt OR invoice newer_than:1y`.
    #[serde(default)]
    pub query: String,
    /// Stop after this many new messages (default: no limit).
    #[serde(default)]
    pub max_messages: Option<u64>,
    /// The page being read.
    #[serde(default)]
    pub page_token: Option<String>,
    /// Whether the last page was read.
    #[serde(default)]
    pub done: bool,
    /// Counts so far.
    #[serde(default)]
    pub stats: Stats,
    /// New messages fetched so far.
    #[serde(default)]
    pub fetched: u64,
}

#[derive(Deserialize)]
struct ListReply {
    #[serde(default)]
    messages: Vec<MessageRef>,
    #[serde(default, rename = "nextPageToken")]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct MessageRef {
    id: String,
}

#[derive(Deserialize)]
struct RawReply {
    raw: String,
}

fn get(client: &Client, url: String, credential: &str) -> Result<HttpResponse> {
    let reply = client.http(&HttpRequest::get(url.clone()).with_credential(credential))?;
    match reply.status {
        200..=299 => Ok(reply),
        401 | 403 => Err(Error::new(
            "permission_denied",
            format!(
                "Gmail refused the credential `{credential}` ({}): add it again with `sd credentials add`",
                reply.status
            ),
        )),
        429 => Err(Error::new("rate_limited", "Gmail asked to slow down (429): run the sync again later")),
        404 => Err(Error::new("not_found", format!("Gmail has no such resource: {url}"))),
        s => Err(Error::new("unavailable", format!("Gmail answered {s} for {url}"))),
    }
}

fn json_of<T: serde::de::DeserializeOwned>(reply: &HttpResponse) -> Result<T> {
    serde_json::from_slice(&reply.bytes()?)
        .map_err(|e| Error::new("unavailable", format!("Gmail sent unexpected JSON: {e}")))
}

/// A message id as Gmail writes them (hex); anything else is refused before
/// it reaches a URL.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn load_seen(client: &Client, settings_id: Uuid) -> Result<BTreeSet<String>> {
    match client.read_sidecar(settings_id, SEEN_SIDECAR) {
        Ok(s) => Ok(serde_json::from_slice(&s.bytes()?).unwrap_or_default()),
        Err(e) if e.is("not_found") => Ok(BTreeSet::new()),
        Err(e) => Err(e),
    }
}

fn save_seen(client: &Client, settings_id: Uuid, seen: &BTreeSet<String>) -> Result<()> {
    client.write_sidecar_bytes(settings_id, SEEN_SIDECAR, "application/json", &serde_json::to_vec(seen)?)
}

/// Imports receipts from Gmail, incrementally.
#[spacedrive_job]
fn gmail_sync(ctx: &JobContext, state: &mut GmailState) -> Result<()> {
    let client = ctx.client();
    if client.library().is_none() {
        return Err(Error::invalid("gmail_sync needs a library: pass --library or set a default library"));
    }
    if state.credential.trim().is_empty() {
        return Err(Error::invalid("credential must name one of the extension's credentials, e.g. \"gmail\""));
    }
    let settings = store::load_settings(&client)?;
    let settings_id = store::settings_id(&client)?;
    let base = settings.gmail_api_base.clone().unwrap_or_else(|| DEFAULT_BASE.to_string());
    let mut seen = load_seen(&client, settings_id)?;
    while !state.done {
        ctx.check_interrupt()?;
        let mut url = format!("{base}/gmail/v1/users/me/messages?maxResults={PAGE_SIZE}");
        if !state.query.is_empty() {
            url.push_str(&format!("&q={}", utf8_percent_encode(&state.query, NON_ALPHANUMERIC)));
        }
        if let Some(token) = &state.page_token {
            url.push_str(&format!("&pageToken={}", utf8_percent_encode(token, NON_ALPHANUMERIC)));
        }
        let list: ListReply = json_of(&get(&client, url, &state.credential)?)?;
        for m in &list.messages {
            ctx.check_interrupt()?;
            if seen.contains(&m.id) {
                continue;
            }
            if state.max_messages.is_some_and(|max| state.fetched >= max) {
                state.done = true;
                break;
            }
            if !valid_id(&m.id) {
                ctx.add_warning(&format!("Gmail listed a malformed message id {:?}: skipped", m.id))?;
                continue;
            }
            let url = format!("{base}/gmail/v1/users/me/messages/{}?format=raw", m.id);
            let reply = get(&client, url, &state.credential)?;
            state.fetched += 1;
            state.stats.messages += 1;
            let mut warnings = Vec::new();
            let raw = json_of::<RawReply>(&reply).and_then(|r| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(r.raw.trim_end_matches('=').as_bytes())
                    .map_err(|e| Error::invalid(format!("raw is not base64url: {e}")))
            });
            let outcome = raw.and_then(|raw| {
                pipeline::import_message(&client, &settings, &raw, &format!("gmail:{}", m.id), None, &mut warnings)
            });
            match outcome {
                Ok(o) => state.stats.count(&o),
                Err(e) => {
                    state.stats.failed += 1;
                    warnings.push(e.message);
                }
            }
            for w in warnings {
                ctx.add_warning(&format!("gmail message {}: {w}", m.id))?;
            }
            seen.insert(m.id.clone());
            ctx.increment_items(1)?;
        }
        save_seen(&client, settings_id, &seen)?;
        match list.next_page_token {
            Some(t) if !state.done => state.page_token = Some(t),
            _ => state.done = true,
        }
        ctx.checkpoint(state)?;
        ctx.report_progress(
            if state.done { 1.0 } else { 0.5 },
            &format!("{} new messages, {} expenses", state.fetched, state.stats.imported),
        )?;
    }
    Ok(())
}
