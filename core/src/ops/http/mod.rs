//! `http.request`: HTTP for extensions, only to the hosts their manifest
//! lists, with stored credentials attached on the host side so a secret
//! never enters guest memory. People are refused: it exists for extensions.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use base64::Engine;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Caller;
use crate::error::{ErrorCode, OpError, OpResult};
use crate::infra::extension::NetworkGrant;
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope, decode_base64, text_or_base64};
use crate::register_operation;
use crate::services::net::{self, AllowList};
use crate::services::vault::Secret;

/// Default deadline of a request.
const DEFAULT_TIMEOUT_MS: u64 = 30_000;
/// Longest deadline an extension may ask for.
const MAX_TIMEOUT_MS: u64 = 120_000;
/// Largest request body, in bytes.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A stored credential to attach.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Auth {
    /// Name of one of the caller's own credentials.
    pub credential: String,
    /// Header to put the key or token in, as is (default: `Authorization`
    /// with `Bearer` for keys and tokens, `Basic` for passwords).
    #[serde(default)]
    pub header: Option<String>,
}

/// Input of `action:http.request.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestInput {
    /// `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, ...
    pub method: String,
    /// Absolute `https` URL (or `http` to a host listed exactly).
    pub url: String,
    /// Headers to send.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body as text.
    #[serde(default)]
    pub body: Option<String>,
    /// Body as base64 bytes.
    #[serde(default)]
    pub body_base64: Option<String>,
    /// Deadline in milliseconds (default 30000, at most 120000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// A stored credential to attach on the host side.
    #[serde(default)]
    pub auth: Option<Auth>,
}

/// Output of `action:http.request.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ResponseOutput {
    /// Status code.
    pub status: u16,
    /// Response headers.
    pub headers: BTreeMap<String, String>,
    /// The body, when it is UTF-8 text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body as base64, when it is not text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body_base64: Option<String>,
}

/// Clients by extension, with the allow-list each was built for.
type ClientCache = Mutex<HashMap<String, (Vec<String>, Arc<net::Client>)>>;

/// One client per extension and allow-list, reused across calls.
fn client_for(extension: &str, grant: &NetworkGrant) -> OpResult<Arc<net::Client>> {
    static CLIENTS: OnceLock<ClientCache> = OnceLock::new();
    let mut clients = CLIENTS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    if let Some((entries, client)) = clients.get(extension)
        && *entries == grant.allow
    {
        return Ok(client.clone());
    }
    let client = Arc::new(net::Client::new(AllowList::parse(&grant.allow)?)?);
    clients.insert(extension.to_string(), (grant.allow.clone(), client.clone()));
    Ok(client)
}

/// The header carrying a stored credential.
fn auth_header(secret: &Secret, header: Option<&str>) -> OpResult<(String, String)> {
    let token = match secret {
        Secret::ApiKey { key } => key.clone(),
        Secret::Oauth2(o) => o.access_token.clone(),
        Secret::Password { username, password } => {
            if header.is_some() {
                return Err(OpError::invalid("a password credential is sent as HTTP basic auth; omit `header`"));
            }
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
            return Ok(("Authorization".to_string(), format!("Basic {basic}")));
        }
        Secret::SigningKey { .. } => {
            return Err(OpError::invalid("a signing key signs packages and is never sent over HTTP"));
        }
    };
    Ok(match header {
        Some(h) => (h.to_string(), token),
        None => ("Authorization".to_string(), format!("Bearer {token}")),
    })
}

/// Sends an HTTP request for an extension.
pub struct Request;

impl Operation for Request {
    const METHOD: &'static str = "action:http.request.input.v1";
    const DESCRIPTION: &'static str =
        "HTTP for extensions, only to hosts in their network_access, with stored credentials attached by the host";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Extension;
    const EFFECT: Effect = Effect::Write;
    type Input = RequestInput;
    type Output = ResponseOutput;

    async fn execute(ctx: OpContext, input: RequestInput) -> OpResult<ResponseOutput> {
        let Caller::Extension(me) = &ctx.caller else {
            return Err(OpError::denied("http.request is for extensions"));
        };
        let result = send(&ctx, me, input).await;
        if let Err(e) = &result
            && matches!(
                e.code,
                ErrorCode::PermissionDenied
                    | ErrorCode::RateLimited
                    | ErrorCode::ResourceExhausted
                    | ErrorCode::Unavailable
            )
        {
            ctx.core.extensions().note_network_refusal(me, e);
        }
        result
    }
}
register_operation!(Request);

async fn send(ctx: &OpContext, me: &str, input: RequestInput) -> OpResult<ResponseOutput> {
    let grant = crate::infra::extension::current_network_grant()
        .ok_or_else(|| OpError::denied("http.request must come from an extension's own module"))?;
    if grant.allow.is_empty() {
        return Err(OpError::denied(format!(
            "extension `{me}` has no network_access in its manifest, so it may reach no host"
        )));
    }
    grant.check_budget()?;
    let body = match (input.body, input.body_base64) {
        (Some(_), Some(_)) => return Err(OpError::invalid("give `body` or `body_base64`, not both")),
        (Some(text), None) => Some(text.into_bytes()),
        (None, Some(b64)) => Some(decode_base64("body_base64", b64.trim())?),
        (None, None) => None,
    };
    if body.as_ref().is_some_and(|b| b.len() > MAX_BODY_BYTES) {
        return Err(OpError::exhausted(format!("the request body is over {MAX_BODY_BYTES} bytes")));
    }
    let mut headers = input.headers;
    if let Some(auth) = &input.auth {
        if headers.keys().any(|k| k.eq_ignore_ascii_case(auth.header.as_deref().unwrap_or("authorization"))) {
            return Err(OpError::invalid("do not set the auth header yourself when `auth` attaches a credential"));
        }
        let (_, secret, _) = ctx.core.vault().fresh(me, &auth.credential).await?;
        let (name, value) = auth_header(&secret, auth.header.as_deref())?;
        headers.insert(name, value);
    }
    let timeout = Duration::from_millis(input.timeout_ms.unwrap_or(DEFAULT_TIMEOUT_MS).clamp(1, MAX_TIMEOUT_MS));
    let client = client_for(me, &grant)?;
    let response = client
        .send(net::Request {
            method: input.method,
            url: input.url,
            headers,
            body,
            timeout,
            max_response_bytes: grant.max_response_bytes,
        })
        .await?;
    let (body, body_base64) = text_or_base64(response.body);
    Ok(ResponseOutput { status: response.status, headers: response.headers, body, body_base64 })
}
