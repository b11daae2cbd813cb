//! `sd daemon`: the core in the foreground, serving its socket and the
//! web dashboard.

use clap::Args;
use sd_core::{Core, OpResult};

/// Options of `sd daemon`.
#[derive(Args, Default)]
pub struct DaemonArgs {
    /// Port of the web dashboard on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "SD_UI_PORT", default_value_t = 0)]
    pub ui_port: u16,
    /// Serve no web dashboard.
    #[arg(long)]
    pub no_ui: bool,
}

/// Runs the daemon until SIGTERM or Ctrl-C.
pub async fn run(data_dir: &std::path::Path, args: DaemonArgs) -> OpResult<()> {
    let core = Core::open(data_dir)?;
    core.extensions().start_event_delivery();
    core.extensions().load_all().await;
    sd_core::ops::locations::watch::start(&core);
    match core.jobs().resume_interrupted().await {
        Ok(0) => {}
        Ok(n) => tracing::info!("resuming {n} interrupted job(s) from their checkpoints"),
        Err(e) => tracing::error!(error = %e, "could not resume interrupted jobs"),
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let dashboard = if args.no_ui {
        None
    } else {
        let (dashboard, listener) = sd_core::infra::http::bind(&core, args.ui_port).await?;
        let mut stop = stop_rx.clone();
        let shutdown = async move {
            let _ = stop.wait_for(|s| *s).await;
        };
        eprintln!("sd daemon: dashboard on http://{} (run `sd ui` for a link that opens it)", dashboard.addr());
        Some(tokio::spawn(sd_core::infra::http::serve(dashboard, listener, shutdown)))
    };
    let socket = core.socket_path();
    let shutdown = async {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; stop the daemon with Ctrl-C");
                let _ = tokio::signal::ctrl_c().await;
                return;
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
    };
    eprintln!("sd daemon serving {} on {}", data_dir.display(), socket.display());
    let served = sd_core::infra::daemon::serve(core.clone(), &socket, shutdown).await;
    let _ = stop_tx.send(true);
    if let Some(task) = dashboard {
        // Open event streams end with the server; do not wait on them long.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), task).await;
    }
    core.extensions().unload_all().await;
    served
}
