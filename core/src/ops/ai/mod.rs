//! `ai.ocr`, `ai.embed`, `ai.classify_text`: thin handlers over
//! [`services::ai`](crate::services::ai).

use rusqlite::OptionalExtension;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{OpError, OpResult};
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope};
use crate::register_operation;
use crate::services::ai::classify::{self, Label, Scored};
use crate::services::ai::embed::{DIMENSIONS, MODEL_NAME};
use crate::services::ai::ocr::{MAX_INPUT_BYTES, OcrOutput};

/// Most texts in one `ai.embed` call.
pub const MAX_TEXTS: usize = 256;
/// Longest text accepted by `ai.embed` and `ai.classify_text`, in bytes.
pub const MAX_TEXT_BYTES: usize = 1024 * 1024;
/// Namespace of the sidecars the host writes itself.
const HOST_NAMESPACE: &str = "core";
/// The sidecar holding an entry's OCR text, which makes it searchable.
const OCR_SIDECAR: &str = "ocr.txt";

/// Input of `query:ai.ocr.v1`: an entry's file, one of its sidecars, or bytes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OcrInput {
    /// An entry whose file (or, with `sidecar`, whose sidecar) to read.
    #[serde(default)]
    pub entry_id: Option<Uuid>,
    /// Name of a sidecar of `entry_id` to read instead of its file.
    #[serde(default)]
    pub sidecar: Option<String>,
    /// Namespace of that sidecar (default: the caller's own).
    #[serde(default)]
    pub namespace: Option<String>,
    /// The document itself, base64: PNG, JPEG, TIFF, WebP, BMP, GIF or PDF.
    #[serde(default)]
    pub data_base64: Option<String>,
    /// Tesseract languages, e.g. `["eng", "deu"]` (default `eng`).
    #[serde(default)]
    pub languages: Vec<String>,
    /// Entries (of the same library) the caller will ask to read next: the
    /// host starts reading them on idle cores, so a caller that works one
    /// document at a time still keeps every core busy. At most 8; those
    /// the caller may not read, or that cannot be read, are skipped here and
    /// reported when asked for.
    #[serde(default)]
    pub read_ahead: Vec<Uuid>,
}

/// Most entries named in one `read_ahead`.
pub const MAX_READ_AHEAD: usize = 8;

/// Reads text from an image or PDF.
pub struct Ocr;

impl Operation for Ocr {
    const METHOD: &'static str = "query:ai.ocr.v1";
    const DESCRIPTION: &'static str = "Text, lines with boxes and confidence from an image or PDF (Tesseract, local)";
    const SCOPE: Scope = Scope::OptionalLibrary;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = OcrInput;
    type Output = OcrOutput;

    async fn execute(ctx: OpContext, input: OcrInput) -> OpResult<OcrOutput> {
        let languages = input.languages.clone();
        if input.read_ahead.len() > MAX_READ_AHEAD {
            return Err(OpError::invalid(format!(
                "`read_ahead` names {} entries; name at most {MAX_READ_AHEAD}",
                input.read_ahead.len()
            )));
        }
        if !input.read_ahead.is_empty() {
            let library = ctx.library.clone().ok_or_else(|| OpError::invalid("`read_ahead` needs a library"))?;
            read_ahead(&ctx, library, &input.read_ahead, &languages);
        }
        let (data, entry) = match (input.entry_id, input.data_base64) {
            (Some(_), Some(_)) => return Err(OpError::invalid("give `entry_id` or `data_base64`, not both")),
            (None, None) => {
                return Err(OpError::invalid("give `entry_id` (with an optional `sidecar`) or `data_base64`"));
            }
            (None, Some(b64)) => {
                if input.sidecar.is_some() {
                    return Err(OpError::invalid("`sidecar` needs `entry_id`"));
                }
                (decode(&b64)?, None)
            }
            (Some(id), None) => {
                let library = ctx.library.clone().ok_or_else(|| {
                    OpError::invalid("`entry_id` needs a library: pass its id (`--library` on the CLI)")
                })?;
                let namespace = input.namespace.unwrap_or_else(|| ctx.caller.namespace().to_string());
                let sidecar = input.sidecar;
                let (core, caller) = (ctx.core.clone(), ctx.caller.clone());
                let lib = library.clone();
                let data = library
                    .read(move |c| {
                        let row = crate::vdfs::entry::row_id(c, id)?;
                        match sidecar {
                            Some(name) => crate::vdfs::sidecar::read(c, lib.sidecars(), row, &namespace, &name)
                                .map(|(_, d)| (d, false)),
                            None => read_entry_file(c, id, &core.grants().scope(&caller)?).map(|d| (d, true)),
                        }
                    })
                    .await;
                let (data, is_file) = data?;
                (data, is_file.then_some((library, id)))
            }
        };
        let out = ctx.core.ai().ocr(&data, &languages).await?;
        // The text of an entry's file becomes searchable.
        if let Some((library, id)) = entry
            && !out.text.trim().is_empty()
        {
            let text = out.text.clone();
            let lib = library.clone();
            let stored = library
                .write(move |tx| {
                    let row = crate::vdfs::entry::row_id(tx, id)?;
                    // Asking again must not rewrite (and re-announce) the same text.
                    let stored: Option<String> = tx
                        .query_row(
                            "SELECT hash FROM sidecars WHERE entry_id = ?1 AND namespace = ?2 AND name = ?3",
                            rusqlite::params![row, HOST_NAMESPACE, OCR_SIDECAR],
                            |r| r.get(0),
                        )
                        .optional()?;
                    if stored.as_deref() == Some(blake3::hash(text.as_bytes()).to_hex().as_str()) {
                        return Ok(());
                    }
                    let store = lib.sidecars();
                    crate::vdfs::sidecar::write(
                        tx,
                        store,
                        row,
                        HOST_NAMESPACE,
                        OCR_SIDECAR,
                        "text/plain",
                        text.as_bytes(),
                    )
                    .map(|_| ())
                })
                .await;
            if let Err(e) = stored {
                tracing::warn!(entry = %id, error = %e, "could not store OCR text as a sidecar");
            }
        }
        Ok(out)
    }
}
register_operation!(Ocr);

/// Starts reading `ids` in the background while OCR slots are idle; each
/// result lands in the OCR cache, where the caller's own request finds it
/// (or waits for it, if still running).
fn read_ahead(ctx: &OpContext, library: std::sync::Arc<crate::library::Library>, ids: &[Uuid], languages: &[String]) {
    for &id in ids {
        let Some(permit) = ctx.core.ai().ocr_ahead_permit() else { return };
        let (core, caller, library, languages) =
            (ctx.core.clone(), ctx.caller.clone(), library.clone(), languages.to_vec());
        tokio::spawn(async move {
            let _permit = permit;
            // The caller's scope is read on the library's blocking pool, as
            // the caller's own request reads it.
            let grants = core.clone();
            let data = library.read(move |c| read_entry_file(c, id, &grants.grants().scope(&caller)?)).await;
            let outcome = match data {
                Ok(data) => core.ai().ocr(&data, &languages).await.map(|_| ()),
                Err(e) => Err(e),
            };
            if let Err(e) = outcome {
                tracing::debug!(entry = %id, error = %e, "reading ahead: skipped");
            }
        });
    }
}

fn decode(b64: &str) -> OpResult<Vec<u8>> {
    if b64.len() > MAX_INPUT_BYTES / 3 * 4 + 4 {
        return Err(OpError::exhausted(format!("data_base64 decodes to more than {MAX_INPUT_BYTES} bytes")));
    }
    crate::infra::wire::decode_base64("data_base64", b64.trim())
}

/// The bytes of an indexed entry's file, bounded, when `scope` may read it.
fn read_entry_file(
    conn: &rusqlite::Connection,
    id: Uuid,
    scope: &crate::infra::grants::FileScope,
) -> OpResult<Vec<u8>> {
    crate::vdfs::file::read_all(conn, id, MAX_INPUT_BYTES as u64, "OCR", scope)
}

/// Input of `query:ai.embed.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EmbedInput {
    /// Texts to embed (1 to 256, each non-empty; only the first 256 tokens
    /// of a text count).
    pub texts: Vec<String>,
}

/// Output of `query:ai.embed.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct EmbedOutput {
    /// One unit vector per text, in order.
    pub vectors: Vec<Vec<f32>>,
    /// Length of each vector (384).
    pub dimensions: usize,
    /// The model that made them.
    pub model: String,
}

/// Checks one text for embedding or classification.
fn check_text(what: &str, text: &str) -> OpResult<()> {
    if text.trim().is_empty() {
        return Err(OpError::invalid(format!("{what} is empty; give some text")));
    }
    if text.len() > MAX_TEXT_BYTES {
        return Err(OpError::exhausted(format!(
            "{what} is {} bytes, over the {MAX_TEXT_BYTES}-byte limit; only its start matters, so send the first few kilobytes",
            text.len()
        )));
    }
    Ok(())
}

/// Turns texts into vectors with the local model.
pub struct Embed;

impl Operation for Embed {
    const METHOD: &'static str = "query:ai.embed.v1";
    const DESCRIPTION: &'static str = "Sentence embeddings of texts (all-MiniLM-L6-v2, local)";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = EmbedInput;
    type Output = EmbedOutput;

    async fn execute(ctx: OpContext, input: EmbedInput) -> OpResult<EmbedOutput> {
        if input.texts.is_empty() || input.texts.len() > MAX_TEXTS {
            return Err(OpError::invalid(format!("give 1 to {MAX_TEXTS} texts; {} given", input.texts.len())));
        }
        for (i, t) in input.texts.iter().enumerate() {
            check_text(&format!("texts[{i}]"), t)?;
        }
        let vectors = ctx.core.ai().embedder.embed(input.texts).await?;
        Ok(EmbedOutput { vectors, dimensions: DIMENSIONS, model: MODEL_NAME.to_string() })
    }
}
register_operation!(Embed);

/// A label given as a bare name or with a description.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum LabelInput {
    /// Just the label.
    Name(String),
    /// The label and what belongs to it.
    Described(Label),
}

/// Who answers a classification.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    /// The local embedding model (default; no network).
    #[default]
    Local,
    /// The OpenAI-compatible server in the config.
    Openai,
}

/// Input of `query:ai.classify_text.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassifyInput {
    /// The text to classify.
    pub text: String,
    /// Candidate labels, as names or `{"label", "description"}` objects.
    #[serde(default)]
    pub labels: Vec<LabelInput>,
    /// `local` (default) or `openai`.
    #[serde(default)]
    pub provider: Provider,
    /// Instructions for the model; without labels it names its own (openai only).
    #[serde(default)]
    pub prompt: Option<String>,
    /// How each label reads as a phrase, with `{}` for the label (local
    /// only; default `{}`), e.g. `an expense for {}` when classifying
    /// receipts.
    #[serde(default)]
    pub template: Option<String>,
}

/// Output of `query:ai.classify_text.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ClassifyOutput {
    /// Labels with scores, best first.
    pub labels: Vec<Scored>,
    /// Who answered.
    pub provider: Provider,
}

/// Ranks labels for a text.
pub struct ClassifyText;

impl Operation for ClassifyText {
    const METHOD: &'static str = "query:ai.classify_text.v1";
    const DESCRIPTION: &'static str =
        "Rank candidate labels for a text (local embeddings, or an OpenAI-compatible server)";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = ClassifyInput;
    type Output = ClassifyOutput;

    async fn execute(ctx: OpContext, input: ClassifyInput) -> OpResult<ClassifyOutput> {
        check_text("text", &input.text)?;
        let labels: Vec<Label> = input
            .labels
            .into_iter()
            .map(|l| match l {
                LabelInput::Name(label) => Label { label, description: None },
                LabelInput::Described(l) => l,
            })
            .collect();
        if let Some(p) = &input.prompt
            && p.len() > 16 * 1024
        {
            return Err(OpError::invalid("prompt is over 16 KiB"));
        }
        let scored = match input.provider {
            Provider::Local => {
                if labels.is_empty() && input.prompt.is_some() {
                    return Err(OpError::invalid(
                        "a prompt without labels needs a language model: set \"provider\": \"openai\" and configure ai.openai (base_url, model) in config.json in the data dir, or give labels",
                    ));
                }
                let template = input.template.as_deref().unwrap_or("{}");
                ctx.core.ai().classifier.classify(&input.text, &labels, template).await?
            }
            Provider::Openai => {
                if !labels.is_empty() {
                    classify::check_labels(&labels)?;
                } else if input.prompt.is_none() {
                    return Err(OpError::invalid("give labels, a prompt, or both"));
                }
                let config = ctx.core.ai().config()?;
                classify::classify_openai(config.openai()?, &input.text, &labels, input.prompt.as_deref()).await?
            }
        };
        Ok(ClassifyOutput { labels: scored, provider: input.provider })
    }
}
register_operation!(ClassifyText);
