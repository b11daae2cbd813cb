use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_util::codec::Framed;

use super::protocol::{MAX_FRAME_BYTES, Request, Response, codec};
use crate::error::OpError;
use crate::infra::wire::{Caller, ProgressSink};
use crate::{Core, OpResult};

/// Connections served at once; more wait in the kernel's backlog.
const MAX_CONNECTIONS: usize = 1024;
/// Pending connections the kernel queues before accepting.
const LISTEN_BACKLOG: u32 = 4096;
/// Requests in flight per connection; a client that pipelines more waits.
const MAX_IN_FLIGHT: usize = 64;
/// A connection that sends no complete frame for this long is closed.
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

/// A bound daemon socket, ready to serve.
pub struct Server {
    listener: UnixListener,
    path: PathBuf,
}

impl Server {
    /// Binds `path` with mode 0600. Refuses if a live daemon answers there;
    /// removes a stale socket file left by a crashed one.
    pub async fn bind(path: &Path) -> OpResult<Server> {
        if path.exists() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(OpError::conflict(format!(
                    "a daemon is already listening on {}; stop it first",
                    path.display()
                )));
            }
            std::fs::remove_file(path)?;
        }
        // Bind under a temporary name and chmod before renaming into place, so
        // the socket is never reachable with looser permissions.
        let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
        let _ = std::fs::remove_file(&tmp);
        let listener =
            // A deep backlog, so bursts of clients wait instead of being refused.
            tokio::net::UnixSocket::new_stream()
                .and_then(|s| {
                    s.bind(&tmp)?;
                    s.listen(LISTEN_BACKLOG)
                })
                .map_err(|e| OpError::internal(format!("cannot bind {}: {e}", tmp.display())))?;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
        std::fs::rename(&tmp, path)?;
        Ok(Server { listener, path: path.to_path_buf() })
    }

    /// Serves until `shutdown` resolves, then removes the socket file.
    pub async fn run(self, core: Arc<Core>, shutdown: impl std::future::Future<Output = ()>) {
        let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
        tokio::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                a = self.listener.accept() => a,
            };
            match accepted {
                Ok((stream, _)) => {
                    let Ok(permit) = permits.clone().acquire_owned().await else {
                        break;
                    };
                    let core = core.clone();
                    tokio::spawn(async move {
                        serve_connection(core, stream).await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds `path` and serves `core` until `shutdown` resolves.
pub async fn serve(core: Arc<Core>, path: &Path, shutdown: impl std::future::Future<Output = ()>) -> OpResult<()> {
    let server = Server::bind(path).await?;
    tracing::info!(socket = %path.display(), "daemon listening");
    server.run(core, shutdown).await;
    Ok(())
}

fn encode(resp: &Response) -> Bytes {
    // Serialising our own types cannot fail (no non-string map keys); fall
    // back to a fixed error frame if it ever does.
    serde_json::to_vec(resp).map(Bytes::from).unwrap_or_else(|e| {
        Bytes::from(format!(r#"{{"id":null,"error":{{"code":"internal","message":"encode failed: {e}"}}}}"#))
    })
}

async fn serve_connection(core: Arc<Core>, stream: UnixStream) {
    let (mut sink, mut frames) = Framed::new(stream, codec()).split();
    let (tx, mut rx) = mpsc::channel::<Bytes>(256);
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    let in_flight = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    loop {
        let next = match tokio::time::timeout(IDLE_TIMEOUT, frames.next()).await {
            Ok(Some(n)) => n,
            Ok(None) | Err(_) => break,
        };
        let frame = match next {
            Ok(f) => f,
            Err(e) => {
                // Oversized or broken length prefix: the stream cannot be
                // resynchronised, so answer once and hang up.
                let err = OpError::exhausted(format!(
                    "unreadable frame ({e}); frames are a 4-byte big-endian length then JSON, at most {MAX_FRAME_BYTES} bytes"
                ));
                let _ = tx.send(encode(&Response::result(serde_json::Value::Null, Err(err)))).await;
                break;
            }
        };
        let request: Request = match std::str::from_utf8(&frame)
            .map_err(|e| OpError::invalid(format!("frame is not UTF-8: {e}")))
            .and_then(|s| {
                serde_json::from_str(s).map_err(|e| {
                    OpError::invalid(format!(
                        "frame is not a request ({e}); send {{\"id\", \"method\", \"library_id\", \"payload\"}}"
                    ))
                })
            }) {
            Ok(r) => r,
            Err(err) => {
                if tx.send(encode(&Response::result(serde_json::Value::Null, Err(err)))).await.is_err() {
                    break;
                }
                continue;
            }
        };
        let Ok(permit) = in_flight.clone().acquire_owned().await else {
            break;
        };
        let core = core.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let id = request.id.clone();
            let (sink, mut progress) = ProgressSink::channel();
            let forward_tx = tx.clone();
            let forward_id = id.clone();
            let forward = tokio::spawn(async move {
                while let Some(p) = progress.recv().await {
                    if forward_tx.send(encode(&Response::progress(forward_id.clone(), p))).await.is_err() {
                        break;
                    }
                }
            });
            let result = core
                .execute_with_progress(&request.method, request.library_id, request.payload, Caller::Socket, Some(sink))
                .await;
            // All progress is sent before the final frame.
            let _ = forward.await;
            let _ = tx.send(encode(&Response::result(id, result))).await;
            drop(permit);
        });
    }
    drop(tx);
    let _ = writer.await;
}
