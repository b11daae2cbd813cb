//! `sd daemon`: the core in the foreground, serving its socket.

use sd_core::{Core, OpResult};

/// Runs the daemon until SIGTERM or Ctrl-C.
pub async fn run(data_dir: &std::path::Path) -> OpResult<()> {
    let core = Core::open(data_dir)?;
    core.extensions().start_event_delivery();
    core.extensions().load_all().await;
    sd_core::ops::locations::watch::start(&core);
    match core.jobs().resume_interrupted().await {
        Ok(0) => {}
        Ok(n) => tracing::info!("resuming {n} interrupted job(s) from their checkpoints"),
        Err(e) => tracing::error!(error = %e, "could not resume interrupted jobs"),
    }
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
    core.extensions().unload_all().await;
    served
}
