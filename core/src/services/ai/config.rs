//! Settings of the AI services: `<data dir>/config.json`, key `ai`, with
//! environment variables over it. Read at each call, so an edit applies
//! without a restart.
//!
//! ```json
//! { "ai": { "openai": { "base_url": "http://127.0.0.1:11434/v1", "model": "llama3.2",
//!                       "api_key": "…", "timeout_ms": 30000 } } }
//! ```

use std::path::Path;

use serde::Deserialize;

use crate::error::{OpError, OpResult};

/// Name of the configuration file in the data dir.
pub const CONFIG_FILE: &str = "config.json";

/// A secret string: never printed, never serialised.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// An OpenAI-compatible chat endpoint (OpenAI, a local Ollama or llama.cpp
/// server, ...).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenAiConfig {
    /// Base URL up to the API version, e.g. `http://127.0.0.1:11434/v1`;
    /// `/chat/completions` is appended.
    pub base_url: String,
    /// Model name.
    pub model: String,
    /// Bearer key, if the server wants one.
    #[serde(default)]
    pub api_key: Option<Secret>,
    /// Deadline of one request, in milliseconds (default 30000).
    #[serde(default = "default_timeout")]
    pub timeout_ms: u64,
}

fn default_timeout() -> u64 {
    30_000
}

/// The `ai` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AiConfig {
    /// The `openai` provider, when configured.
    #[serde(default)]
    pub openai: Option<OpenAiConfig>,
}

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    ai: AiConfig,
}

impl AiConfig {
    /// Reads the settings: the file, then `SD_OPENAI_BASE_URL`,
    /// `SD_OPENAI_MODEL` and `SD_OPENAI_API_KEY` over it.
    pub fn load(data_dir: &Path) -> OpResult<AiConfig> {
        let path = data_dir.join(CONFIG_FILE);
        let mut config = match std::fs::read(&path) {
            Ok(bytes) if bytes.len() > 1024 * 1024 => {
                return Err(OpError::invalid(format!("{} is over 1 MiB", path.display())));
            }
            Ok(bytes) => {
                serde_json::from_slice::<File>(&bytes)
                    .map_err(|e| OpError::invalid(format!("{} is not valid: {e}", path.display())))?
                    .ai
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => AiConfig::default(),
            Err(e) => return Err(OpError::internal(format!("cannot read {}: {e}", path.display()))),
        };
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        if let Some(base_url) = env("SD_OPENAI_BASE_URL") {
            let model = env("SD_OPENAI_MODEL")
                .or_else(|| config.openai.as_ref().map(|o| o.model.clone()))
                .unwrap_or_else(|| "gpt-4o-mini".to_string());
            let old = config.openai.take();
            config.openai = Some(OpenAiConfig {
                base_url,
                model,
                api_key: old.as_ref().and_then(|o| o.api_key.clone()),
                timeout_ms: old.map_or_else(default_timeout, |o| o.timeout_ms),
            });
        }
        if let (Some(key), Some(o)) = (env("SD_OPENAI_API_KEY"), config.openai.as_mut()) {
            o.api_key = Some(Secret(key));
        }
        Ok(config)
    }

    /// The `openai` provider, or an error saying how to configure one.
    pub fn openai(&self) -> OpResult<&OpenAiConfig> {
        self.openai.as_ref().ok_or_else(|| {
            OpError::unavailable(format!(
                "no OpenAI-compatible server is configured: add {{\"ai\": {{\"openai\": {{\"base_url\": \"http://127.0.0.1:11434/v1\", \"model\": \"…\"}}}}}} to {CONFIG_FILE} in the data dir, or set SD_OPENAI_BASE_URL and SD_OPENAI_MODEL"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_do_not_print() {
        let c: OpenAiConfig =
            serde_json::from_str(r#"{"base_url": "http://x/v1", "model": "m", "api_key": "sk-very-secret"}"#).unwrap();
        assert!(!format!("{c:?}").contains("very-secret"));
        assert_eq!(c.api_key.unwrap().expose(), "sk-very-secret");
    }
}
