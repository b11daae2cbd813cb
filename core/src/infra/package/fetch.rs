//! Downloads of packages and indexes, through the core's allow-listed HTTP
//! client with an allow-list of exactly the URL's host and port: so a
//! redirect to any other host (or port, or scheme) is refused, as is a
//! public name that resolves to this machine.

use std::time::Duration;

use crate::error::{ErrorCode, OpError, OpResult};
use crate::services::net::{AllowList, Client, Request};

/// Deadline of one download, connection included.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Whether `url` names this machine (plain http is allowed only there, for
/// tests and local indexes).
fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// Checks that `url` may be fetched: https, or http to this machine.
pub fn check_url(url: &str) -> OpResult<url::Url> {
    let parsed = url::Url::parse(url).map_err(|e| OpError::invalid(format!("`{url}` is not a URL: {e}")))?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => {
            return Err(OpError::denied(format!(
                "`{url}` is plain http; packages and indexes are fetched over https (http only from this machine)"
            )));
        }
        other => {
            return Err(OpError::invalid(format!("`{url}`: the `{other}` scheme is not fetched; give an https URL")));
        }
    }
    if parsed.host().is_none() {
        return Err(OpError::invalid(format!("`{url}` has no host")));
    }
    Ok(parsed)
}

/// Fetches `url` whole, refusing a body over `max` bytes; `what` names it
/// in errors ("package", "index").
pub async fn download(url: &str, max: usize, what: &str) -> OpResult<Vec<u8>> {
    let parsed = check_url(url)?;
    let host = match parsed.host() {
        Some(url::Host::Ipv6(ip)) => format!("[{ip}]"),
        Some(h) => h.to_string(),
        None => return Err(OpError::invalid(format!("`{url}` has no host"))),
    };
    let port = parsed.port_or_known_default().unwrap_or(443);
    let client = Client::new(AllowList::parse(&[format!("{host}:{port}")])?)?;
    let request = Request {
        method: "GET".into(),
        url: url.to_string(),
        headers: Default::default(),
        body: None,
        timeout: TIMEOUT,
        max_response_bytes: max,
    };
    let response = client.send(request).await.map_err(|e| match e.code {
        // The client says "redirect to <url> refused: <why>".
        ErrorCode::PermissionDenied if e.message.starts_with("redirect to ") => {
            let to = e.message["redirect to ".len()..].split(" refused:").next().unwrap_or_default();
            OpError::denied(format!(
                "the {what} at {url} redirects to {to}, another host, port or scheme, which is refused; \
                 ask its publisher for the final URL"
            ))
        }
        ErrorCode::ResourceExhausted => {
            OpError::exhausted(format!("the {what} at {url} is larger than the {max}-byte cap; it was not fetched"))
        }
        _ => e.context(format!("cannot fetch the {what} at {url}")),
    })?;
    match response.status {
        200 => Ok(response.body),
        404 | 410 => Err(OpError::not_found(format!("{url} answered {}: no {what} there", response.status))),
        s => Err(OpError::unavailable(format!("{url} answered {s}, not the {what}; try again later"))),
    }
}
