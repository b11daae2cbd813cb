//! A client for OpenAI-compatible chat completion endpoints, bounded in time
//! and size, whose errors name the server and what it did wrong. The key is
//! sent as a bearer token and never logged.

use std::time::Duration;

use serde_json::{Value, json};

use super::config::OpenAiConfig;
use crate::error::{OpError, OpResult};

/// Largest answer read, in bytes.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

fn shorten(s: &str) -> String {
    let s: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if s.chars().count() > 200 { format!("{}…", s.chars().take(200).collect::<String>()) } else { s }
}

/// Sends one chat completion and returns the first choice's text.
pub async fn chat(config: &OpenAiConfig, system: &str, user: &str) -> OpResult<String> {
    let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
    let timeout = Duration::from_millis(config.timeout_ms.clamp(100, 600_000));
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(10)))
        .build()
        .map_err(|e| OpError::internal(format!("cannot build an HTTP client: {e}")))?;
    let body = json!({
        "model": config.model,
        "temperature": 0,
        "messages": [{ "role": "system", "content": system }, { "role": "user", "content": user }],
    });
    let mut request = client.post(&url).json(&body);
    if let Some(key) = &config.api_key {
        request = request.bearer_auth(key.expose());
    }
    let server = format!("the OpenAI-compatible server at {}", config.base_url);
    let mut response = request.send().await.map_err(|e| {
        if e.is_timeout() {
            OpError::unavailable(format!("{server} did not answer within {} ms; is it running?", timeout.as_millis()))
        } else {
            OpError::unavailable(format!("cannot reach {server}: {}; is it running?", e.without_url()))
        }
    })?;
    let status = response.status();
    let mut bytes = Vec::new();
    loop {
        let chunk = response.chunk().await.map_err(|e| {
            if e.is_timeout() {
                OpError::unavailable(format!(
                    "{server} stopped answering mid-response (deadline {} ms)",
                    timeout.as_millis()
                ))
            } else {
                OpError::unavailable(format!("reading the answer of {server} failed: {}", e.without_url()))
            }
        })?;
        let Some(chunk) = chunk else { break };
        if bytes.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(OpError::exhausted(format!("{server} answered more than {MAX_RESPONSE_BYTES} bytes")));
        }
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&bytes);
    if !status.is_success() {
        return Err(OpError::unavailable(format!("{server} answered {status}: {}", shorten(&text))));
    }
    let v: Value = serde_json::from_slice(&bytes).map_err(|e| {
        OpError::unavailable(format!("{server} answered something that is not JSON ({e}): {}", shorten(&text)))
    })?;
    v["choices"][0]["message"]["content"].as_str().map(str::to_string).ok_or_else(|| {
        OpError::unavailable(format!(
            "{server} answered JSON without choices[0].message.content; is base_url the API root (e.g. …/v1)? Got: {}",
            shorten(&text)
        ))
    })
}
