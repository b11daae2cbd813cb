//! The dashboard's web server: a page, one endpoint calling operations
//! (`POST /api/call`, as [`Caller::Ui`]) and one event stream
//! (`GET /api/events`). Loopback only; every request needs the session a
//! one-time token opened, the loopback `Host` (against DNS rebinding) and,
//! when it changes state, the page's own `Origin`. No CORS.

mod api;
mod assets;
mod guard;
mod server;
pub mod session;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Weak};

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;

use crate::error::{OpError, OpResult};
use crate::{Caller, Core};
pub use server::Limits;
pub use session::Sessions;

/// A bound dashboard: where it listens and who holds a session.
pub struct Dashboard {
    addr: SocketAddr,
    sessions: Sessions,
    core: Weak<Core>,
}

impl Dashboard {
    /// The address it listens on (always 127.0.0.1).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A URL that opens a session once: `http://127.0.0.1:PORT/?token=…`.
    pub fn open_url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.sessions.mint_token())
    }

    fn core(&self) -> OpResult<Arc<Core>> {
        self.core.upgrade().ok_or_else(|| OpError::unavailable("the daemon is shutting down"))
    }
}

/// Binds 127.0.0.1:`port` (0 picks a free port) and registers the
/// dashboard with `core`, so `action:ui.open.input.v1` can hand out URLs.
pub async fn bind(core: &Arc<Core>, port: u16) -> OpResult<(Arc<Dashboard>, TcpListener)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await.map_err(|e| {
        OpError::unavailable(format!(
            "cannot listen on 127.0.0.1:{port} for the dashboard ({e}); pick another with --ui-port"
        ))
    })?;
    let addr = listener.local_addr()?;
    let dashboard = Arc::new(Dashboard { addr, sessions: Sessions::default(), core: Arc::downgrade(core) });
    core.set_dashboard(dashboard.clone())?;
    Ok((dashboard, listener))
}

/// The routes, behind the guard and the request time limit.
pub fn router(dashboard: Arc<Dashboard>, limits: Limits) -> Router {
    Router::new()
        .route("/", get(assets::page))
        .route("/assets/{name}", get(assets::asset))
        .route("/api/call", post(api::call))
        .route("/api/events", get(api::events))
        .fallback(assets::not_found)
        .layer(axum::extract::DefaultBodyLimit::max(crate::infra::daemon::MAX_FRAME_BYTES))
        .layer(axum::middleware::from_fn_with_state(dashboard.clone(), guard::guard))
        .layer(axum::middleware::from_fn(move |req, next| server::request_limit(limits.request, req, next)))
        .with_state(dashboard)
}

/// Serves `listener` with the default [`Limits`] until `shutdown` resolves.
pub async fn serve(
    dashboard: Arc<Dashboard>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> OpResult<()> {
    serve_with(dashboard, listener, Limits::default(), shutdown).await
}

/// Serves `listener` within `limits` until `shutdown` resolves.
pub async fn serve_with(
    dashboard: Arc<Dashboard>,
    listener: TcpListener,
    limits: Limits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> OpResult<()> {
    tracing::info!(addr = %dashboard.addr, ?limits, "dashboard listening");
    server::serve(router(dashboard, limits), listener, limits, shutdown).await;
    Ok(())
}

/// The caller every dashboard request runs as.
const CALLER: Caller = Caller::Ui;
