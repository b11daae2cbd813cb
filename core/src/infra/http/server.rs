//! The dashboard's accept loop, with the limits `axum::serve` lacks: a cap
//! on open connections, a time limit on reading a request's headers, and
//! one on each request (reading its body and answering it; the event
//! stream, which lasts as long as the page, is exempt). Each refusal gets a
//! status a client understands: 503 with `Retry-After` when the server is
//! full, 408 when headers or a request take too long.
//!
//! Hand-written over hyper because axum exposes none of these knobs; hyper
//! does the HTTP, this file only counts connections and answers refusals.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::error::OpError;

/// The server's limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections open at once; more are answered 503 and closed.
    pub connections: usize,
    /// Time a client has to send a request's headers, on a new connection
    /// or an idle kept-alive one; then 408 and the connection is closed.
    pub header_read: Duration,
    /// Time to read a request's body and answer it (the event stream
    /// excepted); then 408.
    pub request: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { connections: 256, header_read: Duration::from_secs(10), request: Duration::from_secs(60) }
    }
}

/// How long a refusal may take to write before the connection is dropped.
const REFUSAL_WRITE: Duration = Duration::from_secs(2);
/// How long open connections get to finish when the server stops.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// The path of the event stream, exempt from the request time limit.
const EVENT_STREAM: &str = "/api/events";

/// A complete response written straight to a socket hyper does not own (or
/// no longer does): `status` and a JSON error, then the connection closes.
fn raw_refusal(status: StatusCode, error: &OpError, retry_after: Option<u64>) -> Vec<u8> {
    let body = json!({ "error": error }).to_string();
    let retry = retry_after.map(|s| format!("Retry-After: {s}\r\n")).unwrap_or_default();
    format!(
        "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{retry}Connection: close\r\n\r\n{body}",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        body.len()
    )
    .into_bytes()
}

async fn refuse(mut stream: TcpStream, response: Vec<u8>) {
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        stream.write_all(&response).await?;
        stream.shutdown().await
    })
    .await;
}

/// The socket and a second handle on it, to answer 408 after hyper gives up
/// on the headers (hyper closes such a connection silently).
fn with_spare(stream: TcpStream) -> std::io::Result<(TcpStream, TcpStream)> {
    let stream = stream.into_std()?;
    let spare = stream.try_clone()?;
    Ok((TcpStream::from_std(stream)?, TcpStream::from_std(spare)?))
}

/// Middleware: the request time limit.
pub(super) async fn request_limit(limit: Duration, req: Request, next: Next) -> Response {
    if req.uri().path() == EVENT_STREAM {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            let e = OpError::unavailable(format!(
                "the request did not finish within {} s (sending its body and answering it); long work belongs in a job",
                limit.as_secs()
            ));
            (StatusCode::REQUEST_TIMEOUT, [(header::CONNECTION, "close")], axum::Json(json!({ "error": e })))
                .into_response()
        }
    }
}

/// Serves `app` on `listener` within `limits` until `shutdown` resolves.
pub(super) async fn serve(app: Router, listener: TcpListener, limits: Limits, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(limits.connections));
    let graceful = GracefulShutdown::new();
    let full = raw_refusal(
        StatusCode::SERVICE_UNAVAILABLE,
        &OpError::unavailable(format!(
            "the dashboard has {} connections open, its most; try again in a moment",
            limits.connections
        )),
        Some(1),
    );
    let slow = raw_refusal(
        StatusCode::REQUEST_TIMEOUT,
        &OpError::unavailable(format!(
            "no request headers within {} s; connection closed",
            limits.header_read.as_secs()
        )),
        None,
    );
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, most likely: let some close.
                    tracing::warn!(error = %e, "dashboard accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(stream, full.clone()));
            continue;
        };
        let (stream, spare) = match with_spare(stream) {
            Ok(pair) => pair,
            Err(e) => {
                tracing::warn!(error = %e, "dashboard connection setup failed");
                continue;
            }
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new()).header_read_timeout(limits.header_read).keep_alive(true);
        let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        let slow = slow.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match conn.await {
                Err(e) if e.is_timeout() => refuse(spare, slow).await,
                Err(e) => tracing::debug!(error = %e, "dashboard connection ended"),
                Ok(()) => {}
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::debug!("dashboard connections still open at shutdown");
    }
}
