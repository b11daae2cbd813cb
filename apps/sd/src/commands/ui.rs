//! `sd ui`: a link to the web dashboard, starting the daemon if none runs.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Args;
use sd_core::infra::daemon::DaemonClient;
use sd_core::{OpError, OpResult, SOCKET_FILE};
use serde_json::{Value, json};

use crate::backend::Backend;

/// How long a freshly started daemon may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// Log of a daemon `sd ui` started, in the data dir.
const LOG_FILE: &str = "daemon.log";

/// Options of `sd ui`.
#[derive(Args)]
pub struct UiArgs {
    /// Print the link only; never open a browser.
    #[arg(long)]
    pub no_open: bool,
}

/// Starts `sd daemon` in the background, detached from this terminal, and
/// waits until it answers.
async fn start_daemon(data_dir: &Path) -> OpResult<()> {
    std::fs::create_dir_all(data_dir)?;
    let log_path = data_dir.join(LOG_FILE);
    let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path)?;
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg("daemon")
        .env(sd_core::DATA_DIR_ENV, data_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        // Its own process group: Ctrl-C in this terminal does not stop it.
        .process_group(0)
        .spawn()?;
    let socket = data_dir.join(SOCKET_FILE);
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        if DaemonClient::connect(&socket).await.is_ok() {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let lines: Vec<&str> = log.lines().collect();
            return Err(OpError::unavailable(format!(
                "the daemon exited ({status}) before listening; its log ({}) ends with:\n{}",
                log_path.display(),
                lines[lines.len().saturating_sub(5)..].join("\n")
            )));
        }
        if Instant::now() > deadline {
            return Err(OpError::unavailable(format!(
                "the daemon did not listen within {}s; see {}",
                START_TIMEOUT.as_secs(),
                log_path.display()
            )));
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Opens `url` in the desktop's browser, if there is a desktop.
fn open_browser(url: &str) -> bool {
    let desktop = ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|v| std::env::var_os(v).is_some_and(|v| !v.is_empty()));
    desktop
        && Command::new("xdg-open")
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .is_ok()
}

/// Runs `sd ui`.
pub async fn run(data_dir: &Path, json_out: bool, args: UiArgs) -> OpResult<()> {
    let mut backend = Backend::connect_daemon(data_dir).await;
    let started = backend.is_none();
    if started {
        start_daemon(data_dir).await?;
        backend = Backend::connect_daemon(data_dir).await;
    }
    let Some(mut backend) = backend else {
        return Err(OpError::unavailable("the daemon started but does not answer on its socket"));
    };
    let out = backend.call("action:ui.open.input.v1", None, Value::Null, false).await?;
    let url = out["url"].as_str().ok_or_else(|| OpError::internal("ui.open returned no url"))?.to_string();
    let opened = !args.no_open && open_browser(&url);
    if json_out {
        println!("{}", json!({ "url": url }));
    } else {
        if started {
            eprintln!("started the daemon (log: {})", data_dir.join(LOG_FILE).display());
        }
        println!("{url}");
        let note = if opened { "opened in your browser; " } else { "" };
        eprintln!("{note}the link works once, for two minutes; the page then keeps a session");
    }
    let _ = std::io::stdout().flush();
    Ok(())
}
