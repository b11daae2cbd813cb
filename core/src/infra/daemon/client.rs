use std::path::Path;

use futures::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::UnixStream;
use tokio_util::codec::{Framed, LengthDelimitedCodec};
use uuid::Uuid;

use super::protocol::{Request, Response, codec};
use crate::error::{OpError, OpResult};
use crate::infra::wire::Progress;

/// A connection to a running daemon.
pub struct DaemonClient {
    framed: Framed<UnixStream, LengthDelimitedCodec>,
    next_id: u64,
}

impl DaemonClient {
    /// Connects to the daemon socket at `path`.
    pub async fn connect(path: &Path) -> std::io::Result<Self> {
        let stream = UnixStream::connect(path).await?;
        Ok(Self { framed: Framed::new(stream, codec()), next_id: 1 })
    }

    /// Calls an operation, passing progress frames to `on_progress`.
    pub async fn call(
        &mut self,
        method: &str,
        library_id: Option<Uuid>,
        payload: Value,
        mut on_progress: impl FnMut(Progress),
    ) -> OpResult<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let req = Request { id: Value::from(id), method: method.to_string(), library_id, payload };
        let bytes = serde_json::to_vec(&req).map_err(|e| OpError::internal(format!("encode request: {e}")))?;
        if bytes.len() > super::MAX_FRAME_BYTES {
            return Err(OpError::exhausted(format!(
                "request is {} bytes, over the {}-byte frame limit",
                bytes.len(),
                super::MAX_FRAME_BYTES
            )));
        }
        self.framed
            .send(bytes::Bytes::from(bytes))
            .await
            .map_err(|e| OpError::unavailable(format!("daemon connection lost while sending: {e}")))?;
        loop {
            let frame = self
                .framed
                .next()
                .await
                .ok_or_else(|| OpError::unavailable("daemon closed the connection; is it still running?"))?
                .map_err(|e| OpError::unavailable(format!("daemon connection failed: {e}")))?;
            let resp: Response = serde_json::from_slice(&frame)
                .map_err(|e| OpError::internal(format!("daemon sent an unreadable frame: {e}")))?;
            if resp.id != id {
                if let Some(err) = resp.error {
                    return Err(err);
                }
                continue;
            }
            if let Some(p) = resp.progress {
                on_progress(p);
                continue;
            }
            return match (resp.ok, resp.error) {
                (_, Some(err)) => Err(err),
                (Some(v), None) => Ok(v),
                (None, None) => Ok(Value::Null),
            };
        }
    }
}
