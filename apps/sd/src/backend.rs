//! Where CLI commands run: through the daemon's socket when one answers,
//! otherwise in this process. Both paths end in `execute_json_operation`.

use std::path::Path;
use std::sync::Arc;

use indicatif::{ProgressBar, ProgressStyle};
use sd_core::infra::daemon::DaemonClient;
use sd_core::infra::wire::Progress;
use sd_core::{Caller, Core, OpError, OpResult, ProgressSink, SOCKET_FILE};
use serde_json::Value;
use uuid::Uuid;

/// The way to the core.
pub enum Backend {
    /// A running daemon.
    Daemon(DaemonClient),
    /// The core opened in this process.
    Local(Arc<Core>),
}

impl Backend {
    /// Connects to the daemon for `data_dir` if one runs, else opens the core.
    pub async fn connect(data_dir: &Path) -> OpResult<Backend> {
        let socket = data_dir.join(SOCKET_FILE);
        if socket.exists() {
            match DaemonClient::connect(&socket).await {
                Ok(c) => return Ok(Backend::Daemon(c)),
                Err(e) => {
                    tracing::debug!(error = %e, "daemon socket present but not answering; running in-process")
                }
            }
        }
        Ok(Backend::Local(Core::open(data_dir)?))
    }

    /// The daemon for `data_dir`, if one answers.
    pub async fn connect_daemon(data_dir: &Path) -> Option<Backend> {
        DaemonClient::connect(&data_dir.join(SOCKET_FILE)).await.ok().map(Backend::Daemon)
    }

    /// Calls an operation, passing each progress report to `on_progress`.
    pub async fn call_with(
        &mut self,
        method: &str,
        library: Option<Uuid>,
        payload: Value,
        mut on_progress: impl FnMut(Progress),
    ) -> OpResult<Value> {
        match self {
            Backend::Daemon(client) => client.call(method, library, payload, on_progress).await,
            Backend::Local(core) => {
                let (sink, mut rx) = ProgressSink::channel();
                let core = core.clone();
                let method = method.to_string();
                let task = tokio::spawn(async move {
                    core.execute_with_progress(&method, library, payload, Caller::Cli, Some(sink)).await
                });
                while let Some(p) = rx.recv().await {
                    on_progress(p);
                }
                task.await.map_err(|e| OpError::internal(format!("operation task failed: {e}")))?
            }
        }
    }

    /// Calls an operation; `show_progress` draws a bar on a terminal.
    pub async fn call(
        &mut self,
        method: &str,
        library: Option<Uuid>,
        payload: Value,
        show_progress: bool,
    ) -> OpResult<Value> {
        let bar = show_progress.then(new_bar);
        let on_progress = |p: Progress| {
            if let Some(bar) = &bar {
                update_bar(bar, &p);
            }
        };
        let result = self.call_with(method, library, payload, on_progress).await;
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        result
    }
}

fn new_bar() -> ProgressBar {
    // Draws to stderr, and only on a terminal.
    let bar = ProgressBar::new_spinner();
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

fn update_bar(bar: &ProgressBar, p: &Progress) {
    match p.total {
        Some(total) if total > 0 => {
            if bar.length() != Some(total) {
                bar.set_style(
                    ProgressStyle::with_template("[{bar:40}] {percent:>3}% {msg} (eta {eta})")
                        .unwrap_or_else(|_| ProgressStyle::default_bar())
                        .progress_chars("=> "),
                );
                bar.set_length(total);
            }
            bar.set_position(p.done);
            bar.set_message(if p.message.is_empty() { p.phase.clone() } else { p.message.clone() });
        }
        _ => {
            bar.set_style(ProgressStyle::default_spinner());
            bar.set_message(p.message.clone());
        }
    }
}
