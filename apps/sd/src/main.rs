//! `sd`: the Spacedrive command line. Every command is an operation call,
//! made through the daemon when one runs and in-process otherwise.

mod backend;
mod commands;
mod ctx;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sd_core::{OpError, OpResult};
use serde_json::{Value, json};
use uuid::Uuid;

use backend::Backend;
use commands::{credentials, daemon, entry, events, ext, job, library, location, search, ui};
use ctx::{Ctx, parse_json_arg};

#[derive(Parser)]
#[command(name = "sd", version, about = "Spacedrive: a local-first data core with sandboxed extensions")]
struct Cli {
    /// Data directory (default: $SD_DATA_DIR, else ~/.local/share/spacedrive).
    #[arg(long, global = true, env = "SD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    /// Library by id or name (default: the only one, else the one chosen with `sd library use`).
    #[arg(long, short = 'l', global = true, env = "SD_LIBRARY")]
    library: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon in the foreground, serving the socket in the data dir
    /// and the web dashboard on 127.0.0.1.
    Daemon(daemon::DaemonArgs),
    /// Print (and on a desktop open) a one-time link to the web dashboard,
    /// starting the daemon if none runs.
    Ui(ui::UiArgs),
    /// Show version, data directory and counts.
    Status,
    /// List operations, or show one's schemas.
    Ops {
        /// Print this method's input and output JSON Schemas.
        #[arg(long)]
        schema: Option<String>,
    },
    /// Call any operation: `sd call query:test.ping.v1 '{"message":"hi"}'`.
    Call {
        /// Versioned method string.
        method: String,
        /// JSON payload (default `{}`); `-` reads it from standard input.
        payload: Option<String>,
    },
    /// Manage libraries.
    #[command(subcommand)]
    Library(library::LibraryCmd),
    /// Manage indexed locations.
    #[command(subcommand)]
    Location(location::LocationCmd),
    /// Inspect and create entries.
    #[command(subcommand)]
    Entry(entry::EntryCmd),
    /// Full-text search over names, metadata and text sidecars.
    Search(search::SearchArgs),
    /// Manage WebAssembly extensions.
    #[command(subcommand)]
    Ext(ext::ExtCmd),
    /// Follow and steer jobs.
    #[command(subcommand)]
    Job(job::JobCmd),
    /// Store, list and remove credentials (secrets are never shown back).
    #[command(subcommand)]
    Credentials(credentials::CredentialsCmd),
    /// Show the library's events; `--follow` streams new ones until Ctrl-C.
    Events {
        /// Keep streaming new events.
        #[arg(long)]
        follow: bool,
        /// Only these kinds, or prefixes such as `entry.` (repeatable).
        #[arg(long = "kind")]
        kinds: Vec<String>,
        /// Most past events to show.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Die quietly on a closed pipe (`sd ... | head`), like other Unix tools.
    // Not the daemon: it writes to sockets whose clients may hang up, which
    // must be an error on that connection, not the end of the process.
    if !matches!(cli.command, Command::Daemon(_)) {
        sigpipe::reset();
    }
    let default_level = if matches!(cli.command, Command::Daemon(_)) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a daemon started by `sd ui` logs to a file.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let json_out = cli.json;
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json_out {
                println!("{}", json!({ "error": e }));
            } else {
                eprintln!("error: {}: {}", e.code.as_str(), e.message);
            }
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> OpResult<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(sd_core::default_data_dir);
    match cli.command {
        Command::Daemon(args) => return daemon::run(&data_dir, args).await,
        Command::Ui(args) => return ui::run(&data_dir, cli.json, args).await,
        _ => {}
    }
    let backend = Backend::connect(&data_dir).await?;
    let mut ctx = Ctx { backend, data_dir, json: cli.json, library: cli.library };
    let result = command(&mut ctx, cli.command).await;
    // Without a daemon, jobs this command started and did not wait for stop
    // with it: they are recorded as queued (not left `running`) and say so.
    if let Backend::Local(core) = &ctx.backend {
        let left = core.jobs().release_all(RELEASE_GRACE).await;
        if !left.is_empty() && !ctx.json {
            let ids: Vec<String> = left.iter().map(Uuid::to_string).collect();
            eprintln!(
                "note: {} job(s) left queued: they run when `sd daemon` starts, or with `sd job run ID` ({})",
                left.len(),
                ids.join(", ")
            );
        }
    }
    result
}

/// How long jobs left running get to reach a checkpoint when a command
/// without a daemon exits.
const RELEASE_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

async fn command(ctx: &mut Ctx, command: Command) -> OpResult<()> {
    match command {
        Command::Daemon(_) | Command::Ui(_) => unreachable!("handled above"),
        Command::Status => {
            let v = ctx.call("query:core.status.v1", None, Value::Null).await?;
            let via = match ctx.backend {
                Backend::Daemon(_) => "daemon",
                Backend::Local(_) => "in-process",
            };
            ctx.print(&v, |v| output::status(v, via));
        }
        Command::Ops { schema } => {
            let v = ctx.call("query:core.operations.v1", None, Value::Null).await?;
            match schema {
                Some(method) => {
                    let op = v
                        .as_array()
                        .and_then(|ops| ops.iter().find(|o| o["method"] == method.as_str()))
                        .cloned()
                        .ok_or_else(|| OpError::not_found(format!("no operation `{method}`; run `sd ops`")))?;
                    println!("{}", serde_json::to_string_pretty(&op).unwrap_or_default());
                }
                None => ctx.print(&v, output::operations),
            }
        }
        Command::Call { method, payload } => {
            let payload = match payload {
                Some(p) => parse_json_arg(&p)?,
                None => Value::Null,
            };
            let library = match sd_core::infra::wire::find(&method).map(|e| e.scope) {
                Some(sd_core::Scope::Library) => Some(ctx.library().await?),
                Some(sd_core::Scope::Core) => None,
                // An extension's operation: pass the library when one is known.
                Some(sd_core::Scope::OptionalLibrary) | None => ctx.library().await.ok(),
            };
            let v = ctx.call_with_progress(&method, library, payload).await?;
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        }
        Command::Library(cmd) => library::run(ctx, cmd).await?,
        Command::Location(cmd) => location::run(ctx, cmd).await?,
        Command::Entry(cmd) => entry::run(ctx, cmd).await?,
        Command::Ext(cmd) => ext::run(ctx, cmd).await?,
        Command::Job(cmd) => job::run(ctx, cmd).await?,
        Command::Credentials(cmd) => credentials::run(ctx, cmd).await?,
        Command::Events { follow, kinds, limit } => events::run(ctx, follow, kinds, limit).await?,
        Command::Search(args) => search::run(ctx, args).await?,
    }
    Ok(())
}
