//! Local AI: OCR (Tesseract, poppler), sentence embeddings (MiniLM on
//! candle), and text classification (local, or an OpenAI-compatible server).
//! Nothing here needs an account or the network unless `openai` is chosen.

pub mod classify;
pub mod config;
pub mod embed;
pub mod noise;
pub mod ocr;
pub mod openai;
pub mod prepare;
pub mod skew;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::error::{OpError, OpResult};

/// OCR runs at once; each Tesseract run uses a core or more.
const OCR_CONCURRENCY: usize = 2;
/// Bumped when OCR output changes shape or quality, so old cache entries are
/// not served.
const OCR_CACHE_VERSION: u32 = 6;

/// The AI services of one core.
pub struct Ai {
    data_dir: PathBuf,
    /// The shared embedding model.
    pub embedder: Arc<embed::SharedEmbedder>,
    /// The local classifier, with its cache of label vectors.
    pub classifier: classify::LocalClassifier,
    ocr_slots: Semaphore,
    /// Permits for reading ahead: one more than the OCR slots, so a reading
    /// is always waiting for the next free slot; reading ahead never queues
    /// more than that.
    ocr_ahead: Arc<Semaphore>,
    ocr_inflight: super::keyed::KeyedLocks<String>,
}

impl Ai {
    /// Services for the core whose data dir is `data_dir`.
    pub fn new(data_dir: &Path) -> Ai {
        let embedder = Arc::new(embed::SharedEmbedder::new(data_dir));
        Ai {
            data_dir: data_dir.to_path_buf(),
            classifier: classify::LocalClassifier::new(embedder.clone()),
            embedder,
            ocr_slots: Semaphore::new(OCR_CONCURRENCY),
            ocr_ahead: Arc::new(Semaphore::new(OCR_CONCURRENCY + 1)),
            ocr_inflight: Default::default(),
        }
    }

    /// The current settings (`config.json` and the environment).
    pub fn config(&self) -> OpResult<config::AiConfig> {
        config::AiConfig::load(&self.data_dir)
    }

    fn ocr_cache_path(&self, key: &str) -> PathBuf {
        self.data_dir.join("cache").join("ocr").join(format!("{key}.json"))
    }

    /// OCR of `data`, cached by content hash and languages: the same bytes
    /// twice cost one run, even when asked for at the same time.
    pub async fn ocr(&self, data: &[u8], languages: &[String]) -> OpResult<ocr::OcrOutput> {
        let hash = blake3::hash(data).to_hex();
        let langs = if languages.is_empty() { "eng".to_string() } else { languages.join("+") };
        let key = format!("v{OCR_CACHE_VERSION}-{hash}-{}", blake3::hash(langs.as_bytes()).to_hex());
        let lock = self.ocr_inflight.get(key.clone());
        let _same_input = lock.lock().await;
        let path = self.ocr_cache_path(&key);
        if let Ok(bytes) = tokio::fs::read(&path).await
            && let Ok(mut hit) = serde_json::from_slice::<ocr::OcrOutput>(&bytes)
        {
            hit.cached = true;
            return Ok(hit);
        }
        let result = {
            let _slot = self.ocr_slots.acquire().await.map_err(|_| OpError::unavailable("shutting down"))?;
            ocr::recognize(data, languages).await
        };
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                self.ocr_inflight.forget(&key);
                return Err(e);
            }
        };
        // A failed cache write costs a second run later, nothing else.
        let write = async {
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4()));
            tokio::fs::write(&tmp, serde_json::to_vec(&out).unwrap_or_default()).await?;
            tokio::fs::rename(&tmp, &path).await
        };
        if let Err(e) = write.await {
            tracing::warn!(error = %e, "could not cache an OCR result");
        }
        // Forgotten only once cached: a caller arriving now finds the file.
        self.ocr_inflight.forget(&key);
        Ok(out)
    }

    /// A permit to read one document ahead in the background, when fewer
    /// than the OCR concurrency are being read ahead; `None` otherwise, so
    /// reading ahead only ever uses idle slots and never builds a queue.
    pub fn ocr_ahead_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.ocr_ahead.clone().try_acquire_owned().ok()
    }
}
