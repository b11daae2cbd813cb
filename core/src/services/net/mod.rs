//! Allow-listed HTTP for extensions, on reqwest with rustls.
//!
//! Every request is checked against the caller's allow-list (scheme, host,
//! port, no credentials in the URL); every redirect is checked the same way
//! before it is followed; and a host name whose DNS answer is a loopback or
//! private address is refused unless the name is listed exactly, so a public
//! name cannot be pointed at the user's own machine or network. Responses
//! are bounded in size and time.

mod allow;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use allow::{AllowList, check_entry, is_internal};

use crate::error::{OpError, OpResult};

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;
/// Headers a request may carry.
const MAX_HEADERS: usize = 64;
/// Headers the host sets itself.
const RESERVED_HEADERS: &[&str] = &[
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    "te",
    "upgrade",
    "proxy-authorization",
    "keep-alive",
];

/// A refusal by policy, carried through reqwest's error chain.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves names, refusing internal answers for names not listed exactly.
struct GuardedResolver {
    allow: Arc<AllowList>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow.may_resolve_privately(&host)
                && let Some(internal) = addrs.iter().find(|a| is_internal(a.ip()))
            {
                let why = format!(
                    "`{host}` resolves to {}, a loopback or private address; list `{host}` exactly in network_access to allow that",
                    internal.ip()
                );
                return Err(Box::new(Refused(why)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// An HTTP request from an extension.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, ...
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// Headers to send.
    pub headers: BTreeMap<String, String>,
    /// Body bytes.
    pub body: Option<Vec<u8>>,
    /// Deadline of the whole exchange.
    pub timeout: Duration,
    /// Largest response body accepted.
    pub max_response_bytes: usize,
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers (repeated ones joined with `, `).
    pub headers: BTreeMap<String, String>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// A client bound to one allow-list.
pub struct Client {
    allow: Arc<AllowList>,
    http: reqwest::Client,
}

/// Finds a policy refusal in an error's chain.
fn refusal(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(r) = err.downcast_ref::<Refused>() {
            return Some(r.0.clone());
        }
        cur = err.source();
    }
    None
}

impl Client {
    /// A client for `allow`.
    pub fn new(allow: AllowList) -> OpResult<Client> {
        let allow = Arc::new(allow);
        let for_redirects = allow.clone();
        let policy = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error(Refused(format!("more than {MAX_REDIRECTS} redirects")));
            }
            match for_redirects.check(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(why) => {
                    let to = attempt.url().to_string();
                    attempt.error(Refused(format!("redirect to {to} refused: {why}")))
                }
            }
        });
        let http = reqwest::Client::builder()
            .redirect(policy)
            .dns_resolver(Arc::new(GuardedResolver { allow: allow.clone() }))
            .connect_timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .map_err(|e| OpError::internal(format!("cannot build an HTTP client: {e}")))?;
        Ok(Client { allow, http })
    }

    /// Sends a request after checking it; errors name the cause.
    pub async fn send(&self, req: Request) -> OpResult<Response> {
        let url =
            reqwest::Url::parse(&req.url).map_err(|e| OpError::invalid(format!("`{}` is not a URL: {e}", req.url)))?;
        self.allow.check(&url).map_err(OpError::denied)?;
        let method = reqwest::Method::from_bytes(req.method.to_ascii_uppercase().as_bytes())
            .map_err(|_| OpError::invalid(format!("`{}` is not an HTTP method", req.method)))?;
        if req.headers.len() > MAX_HEADERS {
            return Err(OpError::invalid(format!("at most {MAX_HEADERS} headers")));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (k, v) in &req.headers {
            if RESERVED_HEADERS.contains(&k.to_ascii_lowercase().as_str()) {
                return Err(OpError::invalid(format!("header `{k}` is set by the host")));
            }
            let name = reqwest::header::HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| OpError::invalid(format!("`{k}` is not a header name")))?;
            let value = reqwest::header::HeaderValue::from_str(v)
                .map_err(|_| OpError::invalid(format!("the value of header `{k}` is not valid")))?;
            headers.insert(name, value);
        }
        let mut builder = self.http.request(method, url.clone()).headers(headers).timeout(req.timeout);
        if let Some(body) = req.body {
            builder = builder.body(body);
        }
        let deadline = req.timeout.as_millis();
        let classify = |e: reqwest::Error| -> OpError {
            if let Some(why) = refusal(&e) {
                return OpError::denied(why);
            }
            if e.is_timeout() {
                return OpError::unavailable(format!("{url} did not answer within {deadline} ms"));
            }
            OpError::unavailable(format!("request to {url} failed: {}", chain(&e)))
        };
        let mut response = builder.send().await.map_err(classify)?;
        if let Some(len) = response.content_length()
            && len > req.max_response_bytes as u64
        {
            return Err(too_large(req.max_response_bytes));
        }
        let status = response.status().as_u16();
        let mut out_headers: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in response.headers() {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            out_headers.entry(k.as_str().to_string()).and_modify(|e| *e = format!("{e}, {v}")).or_insert(v);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if body.len() + chunk.len() > req.max_response_bytes {
                return Err(too_large(req.max_response_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Response { status, headers: out_headers, body })
    }
}

fn too_large(max: usize) -> OpError {
    OpError::exhausted(format!(
        "the response is larger than {max} bytes; ask for less, or raise permissions.max_response_mb in the manifest"
    ))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(s) = cur {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.dedup();
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::dns::Resolve;

    fn list(entries: &[&str]) -> Arc<AllowList> {
        Arc::new(AllowList::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap())
    }

    #[tokio::test]
    async fn a_name_resolving_to_loopback_needs_to_be_listed_exactly() {
        let name = |n: &str| n.parse::<reqwest::dns::Name>().unwrap();
        // `localhost` answers 127.0.0.1: refused unless listed by name.
        let refused = GuardedResolver { allow: list(&["*.example.com"]) }.resolve(name("localhost")).await;
        let err = refused.err().expect("refused");
        assert!(refusal(err.as_ref()).unwrap().contains("loopback or private"), "{err}");
        let allowed = GuardedResolver { allow: list(&["localhost"]) }.resolve(name("localhost")).await;
        assert!(allowed.unwrap().all(|a| a.ip().is_loopback()));
    }
}
