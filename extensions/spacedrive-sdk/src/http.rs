//! HTTP through the host (`action:http.request.input.v1`): only to hosts the
//! manifest lists, with stored credentials attached on the host side so a
//! secret never enters the extension's memory.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Client, Result};

/// A request.
#[derive(Debug, Clone, Serialize)]
pub struct HttpRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers to send.
    pub headers: BTreeMap<String, String>,
    /// Body as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Deadline in milliseconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// Name of one of this extension's credentials to attach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<HttpAuth>,
}

/// A credential the host attaches.
#[derive(Debug, Clone, Serialize)]
pub struct HttpAuth {
    /// The credential's name.
    pub credential: String,
}

impl HttpRequest {
    /// A `GET` of `url`.
    pub fn get(url: impl Into<String>) -> Self {
        Self {
            method: "GET".into(),
            url: url.into(),
            headers: BTreeMap::new(),
            body: None,
            timeout_ms: None,
            auth: None,
        }
    }

    /// The same request with a stored credential attached by the host.
    pub fn with_credential(mut self, name: &str) -> Self {
        self.auth = Some(HttpAuth { credential: name.to_string() });
        self
    }
}

/// A response.
#[derive(Debug, Clone, Deserialize)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body when it is text.
    #[serde(default)]
    pub body: Option<String>,
    /// Body as base64 otherwise.
    #[serde(default)]
    pub body_base64: Option<String>,
}

impl HttpResponse {
    /// The body as bytes.
    pub fn bytes(&self) -> Result<Vec<u8>> {
        crate::client::text_or_base64(self.body.as_deref(), self.body_base64.as_deref())
    }

    /// Whether the status is 2xx.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl Client {
    /// Sends a request through the host.
    pub fn http(&self, request: &HttpRequest) -> Result<HttpResponse> {
        self.call("action:http.request.input.v1", request)
    }
}
