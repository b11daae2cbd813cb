//! The test extension: on load it pings the core and, in every library it
//! may use, creates one virtual entry tagged with metadata and a searchable
//! sidecar (once: it searches first). It provides
//! `query:test-extension.hello.v1`, and marks every new entry it is told
//! about through `entry.created` events.

#![deny(unsafe_code)]

use std::collections::BTreeMap;

use spacedrive_sdk::prelude::*;
use spacedrive_sdk::{Label, NewEntry, OcrSource, Uuid, Where};

#[extension(id = "test-extension", name = "Test Extension", version = "0.1.0")]
struct TestExtension;

const GREETING_KEY: &str = "greeting";
const GREETING: &str = "hello from wasm";

fn mine() -> Vec<Where> {
    vec![Where { namespace: "test-extension".into(), key: GREETING_KEY.into(), value: GREETING.into() }]
}

impl Extension for TestExtension {
    fn init(ctx: &ExtensionContext) -> Result<()> {
        let client = ctx.client();
        let pong = client.ping("test-extension init")?;
        info!("core answered `{}` to {}", pong.echo, pong.caller);
        for library in client.libraries()? {
            let lib = client.in_library(library.id);
            if lib.search("", &mine(), 1)?.total > 0 {
                continue;
            }
            let mut metadata = BTreeMap::new();
            metadata.insert(GREETING_KEY.to_string(), serde_json::json!(GREETING));
            metadata.insert("created_by".to_string(), serde_json::json!(pong.caller));
            let entry = lib.create_entry(&NewEntry {
                name: "Hello from test-extension".into(),
                kind: Some("note".into()),
                metadata,
                ..Default::default()
            })?;
            lib.write_sidecar_text(entry.id, "note.txt", "Written by a WebAssembly extension through the SDK.")?;
            info!("created entry {} in library {}", entry.id, library.name);
        }
        Ok(())
    }

    fn cleanup(_ctx: &ExtensionContext) -> Result<()> {
        info!("test-extension unloading");
        Ok(())
    }
}

#[derive(Deserialize)]
struct HelloInput {
    name: String,
}

#[derive(Serialize)]
struct HelloOutput {
    greeting: String,
    entries: u64,
}

#[spacedrive_operation]
fn hello(ctx: &OperationContext, input: HelloInput) -> Result<HelloOutput> {
    if input.name.trim().is_empty() {
        return Err(Error::invalid("name must not be empty"));
    }
    let entries = match ctx.library() {
        Some(_) => ctx.client().search("", &mine(), 1)?.total,
        None => 0,
    };
    Ok(HelloOutput { greeting: format!("Hello, {}!", input.name), entries })
}

#[derive(Deserialize)]
struct LoopInput {
    n: u32,
}

#[derive(Serialize)]
struct LoopOutput {
    calls: u32,
}

/// Round trips guest -> host -> guest through the SDK, for benchmarks.
#[spacedrive_operation]
fn ping_loop(ctx: &OperationContext, input: LoopInput) -> Result<LoopOutput> {
    if input.n > 1_000_000 {
        return Err(Error::invalid("n must be at most 1000000"));
    }
    let client = ctx.client();
    for _ in 0..input.n {
        client.ping("bench")?;
    }
    Ok(LoopOutput { calls: input.n })
}

#[derive(Deserialize)]
struct AiCheckInput {
    entry_id: Uuid,
    text: String,
    labels: Vec<Label>,
    query: String,
}

#[derive(Serialize)]
struct AiCheckOutput {
    ocr_text: String,
    ocr_engine: String,
    dimensions: usize,
    best_label: String,
    provider: String,
    top_hit: Option<String>,
}

/// Calls each AI operation through the SDK, from WebAssembly.
#[spacedrive_operation]
fn ai_check(ctx: &OperationContext, input: AiCheckInput) -> Result<AiCheckOutput> {
    let client = ctx.client();
    let ocr = client.ocr(OcrSource::Entry(input.entry_id), &[])?;
    let embedded = client.embed(&[input.text.as_str()])?;
    let classified = client.classify(&input.text, &input.labels)?;
    let hits = client.semantic_search(&input.query, 3)?;
    Ok(AiCheckOutput {
        ocr_text: ocr.text,
        ocr_engine: ocr.engine,
        dimensions: embedded.vectors.first().map_or(0, Vec::len),
        best_label: classified.best().map(|b| b.label.clone()).unwrap_or_default(),
        provider: classified.provider,
        top_hit: hits.results.first().map(|h| h.entry.name.clone()),
    })
}

/// Marks each new entry as seen: proves events reach WebAssembly in order,
/// with the library bound.
#[on_event]
fn handle_event(ctx: &OperationContext, event: Event) -> Result<()> {
    if event.kind() != EventKind::EntryCreated {
        return Ok(());
    }
    let Some(entry) = event.entry_id else { return Ok(()) };
    let mut seen = BTreeMap::new();
    seen.insert("seen_seq".to_string(), serde_json::json!(event.seq));
    ctx.client().set_metadata(entry, &seen)
}

/// State of the counter job; also its input.
#[derive(Serialize, Deserialize)]
struct CounterState {
    current: u64,
    target: u64,
    /// Checkpoint (and report progress) every this many steps.
    #[serde(default = "default_every")]
    checkpoint_every: u64,
    /// Wait this long in the host after each checkpoint (for tests that
    /// need a job to take a while; waiting costs no CPU budget).
    #[serde(default)]
    sleep_ms: u64,
}

fn default_every() -> u64 {
    100
}

/// Counts to `target`, checkpointing as it goes; resumes from the last
/// checkpoint after a pause or a crash.
#[spacedrive_job]
fn test_counter(ctx: &JobContext, state: &mut CounterState) -> Result<()> {
    let every = state.checkpoint_every.max(1);
    while state.current < state.target {
        ctx.check_interrupt()?;
        state.current += 1;
        ctx.increment_items(1)?;
        if state.current.is_multiple_of(every) || state.current == state.target {
            ctx.checkpoint(state)?;
            let fraction = state.current as f32 / state.target as f32;
            ctx.report_progress(fraction, &format!("counted {}/{}", state.current, state.target))?;
            if state.sleep_ms > 0 {
                let _: serde_json::Value =
                    ctx.client().call("query:test.sleep.v1", &serde_json::json!({ "ms": state.sleep_ms }))?;
            }
        }
    }
    Ok(())
}
