//! What every request passes before a route sees it: the loopback `Host`,
//! the page's own `Origin` for anything but GET, then the session (or a
//! token opening one). Every answer carries headers that keep the page from
//! being framed, sniffed or given script from anywhere else.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Dashboard;

/// What the page may load: its own script and style, nothing inline, no
/// frames, no plugins, no other origin.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn refuse(status: StatusCode, why: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("{why}\n")).into_response()
}

/// The session cookie's name: per port, since browsers send a host's
/// cookies to all its ports and two daemons (two data dirs) may both run.
pub fn cookie_name(dashboard: &Dashboard) -> String {
    format!("sd_session_{}", dashboard.addr.port())
}

/// A cookie's value from the `Cookie` headers. Written out because the
/// format is one line of `name=value; …` and axum has no cookie jar
/// without axum-extra.
fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The `token` query parameter, if any.
fn token(req: &Request) -> Option<String> {
    let query = req.uri().query()?;
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "token").map(|(_, v)| v.into_owned())
}

/// Checks a request; see the module docs.
pub async fn guard(State(dashboard): State<Arc<Dashboard>>, req: Request, next: Next) -> Response {
    let mut response = check(&dashboard, req, next).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn check(dashboard: &Dashboard, req: Request, next: Next) -> Response {
    let port = dashboard.addr.port();
    let host = req.headers().get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
    // A page from another site that rebinds its name to 127.0.0.1 still
    // sends its own name as Host.
    if host != format!("127.0.0.1:{port}") && host != format!("localhost:{port}") {
        return refuse(StatusCode::FORBIDDEN, "wrong Host: the dashboard answers only at its loopback address");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let origin = req.headers().get(header::ORIGIN).and_then(|h| h.to_str().ok());
        let site = req.headers().get("sec-fetch-site").and_then(|h| h.to_str().ok());
        if origin != Some(&format!("http://{host}")) || site.is_some_and(|s| s != "same-origin") {
            return refuse(
                StatusCode::FORBIDDEN,
                "cross-origin request refused: changes come only from the dashboard's own page",
            );
        }
    }
    let name = cookie_name(dashboard);
    let has_session = cookie(req.headers(), &name).is_some_and(|s| dashboard.sessions.check(s));
    let token = if req.uri().path() == "/" { token(&req) } else { None };
    match (has_session, token) {
        (true, None) => next.run(req).await,
        // Spend the token, then drop it from the address bar and history.
        (_, Some(token)) => match dashboard.sessions.redeem(&token) {
            Some(session) => {
                let cookie = format!("{name}={session}; HttpOnly; SameSite=Strict; Path=/");
                let mut r = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
                match HeaderValue::from_str(&cookie) {
                    Ok(v) => {
                        r.headers_mut().insert(header::SET_COOKIE, v);
                        r
                    }
                    Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "could not set the session cookie"),
                }
            }
            None if has_session => (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response(),
            None => refuse(
                StatusCode::UNAUTHORIZED,
                "this dashboard link was used already or has expired; run `sd ui` for a new one",
            ),
        },
        (false, None) => {
            refuse(StatusCode::UNAUTHORIZED, "no session: open the dashboard with the link `sd ui` prints")
        }
    }
}
