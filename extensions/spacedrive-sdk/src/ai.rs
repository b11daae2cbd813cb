//! The host's AI operations, typed: OCR, embeddings, classification and
//! semantic search. They run on the user's machine; the extension needs the
//! `ai.` prefix (and `search.` for semantic search) in its permissions.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use crate::{Client, Result, SearchHit};

/// What to read text from.
#[derive(Debug, Clone, Copy)]
pub enum OcrSource<'a> {
    /// An indexed entry's file.
    Entry(Uuid),
    /// A sidecar of an entry (in this extension's namespace).
    Sidecar {
        /// The entry.
        entry: Uuid,
        /// The sidecar's name.
        name: &'a str,
    },
    /// The bytes of a PNG, JPEG, TIFF, WebP, BMP, GIF or PDF.
    Bytes(&'a [u8]),
}

/// Where a line is on its page, in pixels.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct BBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// One recognised line.
#[derive(Debug, Clone, Deserialize)]
pub struct OcrLine {
    /// Its words.
    pub text: String,
    /// 0 to 100.
    pub confidence: f32,
    /// Its box; absent for text from a PDF text layer.
    #[serde(default)]
    pub bbox: Option<BBox>,
    /// Page, from 1.
    pub page: u32,
}

/// Text read from a document.
#[derive(Debug, Clone, Deserialize)]
pub struct OcrResult {
    /// All text, line by line.
    pub text: String,
    /// Lines with boxes and confidence.
    pub lines: Vec<OcrLine>,
    /// Pages read.
    pub pages: u32,
    /// `tesseract`, `pdf-text-layer`, `pdf-ocr` or `pdf-text-layer+ocr`.
    pub engine: String,
    /// Whether the host answered from its cache.
    pub cached: bool,
    /// The XML file a PDF carries inside it: the machine-readable half of a
    /// ZUGFeRD or Factur-X e-invoice.
    #[serde(default)]
    pub embedded_xml: Option<String>,
}

/// Vectors for texts.
#[derive(Debug, Clone, Deserialize)]
pub struct Embeddings {
    /// One unit vector per text.
    pub vectors: Vec<Vec<f32>>,
    /// Length of each vector.
    pub dimensions: usize,
    /// Model name.
    pub model: String,
}

/// A candidate label for [`Client::classify`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Label {
    /// The label.
    pub label: String,
    /// What belongs to it, e.g. `restaurants, cafés, bars`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl Label {
    /// A label with a description.
    pub fn described(label: &str, description: &str) -> Self {
        Self { label: label.to_string(), description: Some(description.to_string()) }
    }
}

/// A label and its score.
#[derive(Debug, Clone, Deserialize)]
pub struct LabelScore {
    /// The label.
    pub label: String,
    /// 0 to 1.
    pub score: f64,
}

/// Labels ranked for a text.
#[derive(Debug, Clone, Deserialize)]
pub struct Classification {
    /// Best first.
    pub labels: Vec<LabelScore>,
    /// `local` or `openai`.
    pub provider: String,
}

impl Classification {
    /// The best label and its score.
    pub fn best(&self) -> Option<&LabelScore> {
        self.labels.first()
    }
}

/// Entries ranked by meaning.
#[derive(Debug, Clone, Deserialize)]
pub struct SemanticResults {
    /// Most similar first, each at least `min_score` similar.
    pub results: Vec<SearchHit>,
    /// Matches: entries at least `min_score` similar.
    pub total: u64,
    /// Entries compared.
    #[serde(default)]
    pub compared: u64,
    /// The floor the host applied.
    #[serde(default)]
    pub min_score: f64,
    /// The best similarity of any entry compared, match or not.
    #[serde(default)]
    pub best_score: Option<f64>,
    /// Entries not embedded yet (a host job is catching up).
    pub pending: u64,
}

impl Client {
    /// Reads text from a document (`query:ai.ocr.v1`).
    pub fn ocr(&self, source: OcrSource<'_>, languages: &[&str]) -> Result<OcrResult> {
        let payload = match source {
            OcrSource::Entry(id) => json!({ "entry_id": id, "languages": languages }),
            OcrSource::Sidecar { entry, name } => json!({ "entry_id": entry, "sidecar": name, "languages": languages }),
            OcrSource::Bytes(data) => json!({
                "data_base64": base64::engine::general_purpose::STANDARD.encode(data),
                "languages": languages,
            }),
        };
        self.call("query:ai.ocr.v1", &payload)
    }

    /// Reads an entry's file like [`ocr`](Self::ocr), and has the host start
    /// reading `next` (entries this job will ask for after it, at most 8) on
    /// idle cores, so a job that reads one document at a time still keeps
    /// every core busy.
    pub fn ocr_reading_ahead(&self, entry: Uuid, languages: &[&str], next: &[Uuid]) -> Result<OcrResult> {
        let next = &next[..next.len().min(8)];
        self.call("query:ai.ocr.v1", &json!({ "entry_id": entry, "languages": languages, "read_ahead": next }))
    }

    /// Embeds texts with the host's local model (`query:ai.embed.v1`).
    pub fn embed(&self, texts: &[&str]) -> Result<Embeddings> {
        self.call("query:ai.embed.v1", &json!({ "texts": texts }))
    }

    /// Ranks `labels` for `text` with the local provider
    /// (`query:ai.classify_text.v1`).
    pub fn classify(&self, text: &str, labels: &[Label]) -> Result<Classification> {
        self.call("query:ai.classify_text.v1", &json!({ "text": text, "labels": labels }))
    }

    /// [`classify`](Self::classify) with a hypothesis template framing each
    /// label, e.g. `an expense for {}`.
    pub fn classify_as(&self, text: &str, labels: &[Label], template: &str) -> Result<Classification> {
        self.call("query:ai.classify_text.v1", &json!({ "text": text, "labels": labels, "template": template }))
    }

    /// Asks the OpenAI-compatible server the person configured
    /// (`ai.openai` in the host's config) to answer `prompt` about `text`
    /// with free labels. Fails with `unavailable` when none is configured
    /// or it does not answer.
    pub fn ask_language_model(&self, text: &str, prompt: &str) -> Result<Classification> {
        self.call(
            "query:ai.classify_text.v1",
            &json!({ "text": text, "labels": [], "prompt": prompt, "provider": "openai" }),
        )
    }

    /// Entries of this client's library ranked by meaning
    /// (`query:search.semantic.v1`).
    /// Only entries at least 0.25 similar come back, or more where the
    /// query comes close to meaningless names; see
    /// [`semantic_search_above`](Self::semantic_search_above).
    pub fn semantic_search(&self, query: &str, limit: u32) -> Result<SemanticResults> {
        self.call("query:search.semantic.v1", &json!({ "query": query, "limit": limit }))
    }

    /// [`semantic_search`](Self::semantic_search) with another floor on
    /// similarity (cosine, -1 to 1).
    pub fn semantic_search_above(&self, query: &str, limit: u32, min_score: f64) -> Result<SemanticResults> {
        self.call("query:search.semantic.v1", &json!({ "query": query, "limit": limit, "min_score": min_score }))
    }
}
