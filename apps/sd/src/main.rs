//! `sd`: the Spacedrive command line. Every command is an operation call,
//! made through the daemon when one runs and in-process otherwise.

mod backend;
mod credentials;
mod ext;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use sd_core::{Core, OpError, OpResult};
use serde_json::{Value, json};
use uuid::Uuid;

use backend::Backend;

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
    /// Run the daemon in the foreground, serving the socket in the data dir.
    Daemon,
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
    Library(LibraryCmd),
    /// Manage indexed locations.
    #[command(subcommand)]
    Location(LocationCmd),
    /// Inspect and create entries.
    #[command(subcommand)]
    Entry(EntryCmd),
    /// Full-text search over names, metadata and text sidecars.
    Search(SearchArgs),
    /// Manage WebAssembly extensions.
    #[command(subcommand)]
    Ext(ExtCmd),
    /// Follow and steer jobs.
    #[command(subcommand)]
    Job(JobCmd),
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

#[derive(Subcommand)]
enum JobCmd {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state (queued, running, paused, completed, failed, cancelled).
        #[arg(long)]
        state: Option<String>,
    },
    /// Show a job with its input and last checkpoint.
    Info { id: Uuid },
    /// Follow a job until it stops: a progress bar on a terminal, JSON lines with --json.
    Watch { id: Uuid },
    /// Ask a job to pause at its next check.
    Pause { id: Uuid },
    /// Continue a paused job from its last checkpoint.
    Resume { id: Uuid },
    /// Cancel a job.
    Cancel { id: Uuid },
}

#[derive(Subcommand)]
enum ExtCmd {
    /// Install (or upgrade) an extension: its folder, a cargo extension's folder, or a `.wasm`.
    Install {
        path: PathBuf,
        /// Grant the permissions it asks for.
        #[arg(long)]
        yes: bool,
    },
    /// List installed extensions.
    List,
    /// Show an extension: permissions, state, denials and other counters.
    Info { id: String },
    /// Unload and delete an extension.
    Remove { id: String },
    /// Restart an extension from its installed module (keeps the old one if that fails).
    Reload { id: String },
    /// Unload an extension, keeping it installed; it loads again on next use.
    Unload { id: String },
    /// Develop an extension: install it and hot-reload its module whenever it is rebuilt.
    Dev { path: PathBuf },
    /// Run one of an extension's jobs: `sd ext run test-extension counter '{"target":100}'`.
    Run {
        extension: String,
        job: String,
        /// The job's input as JSON (default `{}`).
        input: Option<String>,
        /// Return at once with the job id instead of following it.
        #[arg(long)]
        detach: bool,
    },
}

#[derive(Subcommand)]
enum LibraryCmd {
    /// Create a library.
    Create { name: String },
    /// List libraries.
    List,
    /// Delete a library with its database and sidecars.
    Remove {
        /// Library id or name.
        library: String,
        /// Confirm the deletion.
        #[arg(long)]
        yes: bool,
    },
    /// Make a library the default for later commands.
    Use {
        /// Library id or name.
        library: String,
    },
}

#[derive(Subcommand)]
enum LocationCmd {
    /// Add a folder and index it.
    Add {
        path: PathBuf,
        /// Follow symbolic links (loops are reported as warnings).
        #[arg(long)]
        follow_links: bool,
    },
    /// Rescan a location (by id or path); only new and changed files are read.
    Rescan { location: String },
    /// List locations.
    List,
    /// Forget a location and its entries; files on disk are untouched.
    Remove { location: String },
}

#[derive(Subcommand)]
enum EntryCmd {
    /// List entries.
    List {
        /// Only children of this entry.
        #[arg(long)]
        parent: Option<Uuid>,
        /// Only this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only virtual entries.
        #[arg(long = "virtual")]
        virtual_only: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Show an entry with its metadata and sidecars.
    Show { id: Uuid },
    /// Create a virtual entry.
    Create {
        name: String,
        #[arg(long)]
        kind: Option<String>,
        #[arg(long)]
        parent: Option<Uuid>,
        /// Metadata `key=value` in your namespace (value parsed as JSON when it is JSON).
        #[arg(long = "meta")]
        meta: Vec<String>,
    },
    /// Set metadata `key=value` (JSON when it parses as JSON, else text).
    Meta {
        id: Uuid,
        #[arg(required = true)]
        pairs: Vec<String>,
        #[arg(long)]
        namespace: Option<String>,
    },
}

#[derive(Args)]
struct SearchArgs {
    /// Words to find; all must match (with --semantic: what to look for).
    #[arg(default_value = "")]
    query: String,
    /// Only this kind.
    #[arg(long)]
    kind: Option<String>,
    /// Metadata filter `namespace.key=value`; repeatable.
    #[arg(long = "where")]
    filters: Vec<String>,
    #[arg(long, default_value_t = 20)]
    limit: u32,
    /// Rank by meaning (local embeddings) instead of matching words.
    #[arg(long)]
    semantic: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Die quietly on a closed pipe (`sd ... | head`), like other Unix tools.
    // Not the daemon: it writes to sockets whose clients may hang up, which
    // must be an error on that connection, not the end of the process.
    if !matches!(cli.command, Command::Daemon) {
        sigpipe::reset();
    }
    let default_level = if matches!(cli.command, Command::Daemon) { "info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
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

fn parse_json_arg(text: &str) -> OpResult<Value> {
    if text == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        return sd_core::infra::wire::parse_payload(&buf);
    }
    sd_core::infra::wire::parse_payload(text.as_bytes())
}

fn parse_pairs(pairs: &[String]) -> OpResult<serde_json::Map<String, Value>> {
    let mut map = serde_json::Map::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| OpError::invalid(format!("`{pair}` is not key=value")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        map.insert(k.to_string(), value);
    }
    Ok(map)
}

struct Ctx {
    backend: Backend,
    data_dir: PathBuf,
    json: bool,
    library: Option<String>,
}

impl Ctx {
    async fn call(&mut self, method: &str, library: Option<Uuid>, payload: Value) -> OpResult<Value> {
        self.backend.call(method, library, payload, false).await
    }

    async fn call_with_progress(&mut self, method: &str, library: Option<Uuid>, payload: Value) -> OpResult<Value> {
        let show = !self.json;
        self.backend.call(method, library, payload, show).await
    }

    async fn libraries(&mut self) -> OpResult<Vec<Value>> {
        match self.call("query:libraries.list.v1", None, Value::Null).await? {
            Value::Array(v) => Ok(v),
            _ => Err(OpError::internal("libraries.list returned no list")),
        }
    }

    /// Resolves a library by id or name.
    async fn find_library(&mut self, wanted: &str) -> OpResult<Uuid> {
        let libs = self.libraries().await?;
        let hit = libs.iter().find(|l| l["id"].as_str() == Some(wanted) || l["name"].as_str() == Some(wanted));
        hit.and_then(|l| l["id"].as_str()?.parse().ok()).ok_or_else(|| {
            OpError::not_found(format!("no library `{wanted}`; run `sd library list` to see the libraries"))
        })
    }

    /// The library for commands that need one: `--library`, else the only
    /// one, else the one chosen with `sd library use`.
    async fn library(&mut self) -> OpResult<Uuid> {
        if let Some(wanted) = self.library.clone() {
            return self.find_library(&wanted).await;
        }
        let libs = self.libraries().await?;
        match libs.len() {
            0 => Err(OpError::not_found("there is no library yet; create one with `sd library create NAME`")),
            1 => libs[0]["id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| OpError::internal("bad library id")),
            _ => {
                let current = output::read_current_library(&self.data_dir);
                match current {
                    Some(id) if libs.iter().any(|l| l["id"].as_str() == Some(&id.to_string())) => Ok(id),
                    _ => Err(OpError::invalid(
                        "there are several libraries: pass `--library ID` or choose one with `sd library use ID`",
                    )),
                }
            }
        }
    }

    fn print(&self, value: &Value, human: impl FnOnce(&Value)) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
        } else {
            human(value);
        }
    }
}

async fn run(cli: Cli) -> OpResult<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(sd_core::default_data_dir);
    if let Command::Daemon = cli.command {
        return run_daemon(&data_dir).await;
    }
    let backend = Backend::connect(&data_dir).await?;
    let mut ctx = Ctx { backend, data_dir, json: cli.json, library: cli.library };
    match cli.command {
        Command::Daemon => unreachable!("handled above"),
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
        Command::Library(cmd) => library_cmd(&mut ctx, cmd).await?,
        Command::Location(cmd) => location_cmd(&mut ctx, cmd).await?,
        Command::Entry(cmd) => entry_cmd(&mut ctx, cmd).await?,
        Command::Ext(cmd) => ext_cmd(&mut ctx, cmd).await?,
        Command::Job(cmd) => job_cmd(&mut ctx, cmd).await?,
        Command::Credentials(cmd) => credentials::run(&mut ctx, cmd).await?,
        Command::Events { follow, kinds, limit } => events_cmd(&mut ctx, follow, kinds, limit).await?,
        Command::Search(args) => {
            let lib = ctx.library().await?;
            let filters = args
                .filters
                .iter()
                .map(|f| f.parse::<sd_core::vdfs::search::MetadataFilter>())
                .collect::<OpResult<Vec<_>>>()?;
            let payload = json!({ "query": args.query, "kind": args.kind, "where": filters, "limit": args.limit });
            let method = if args.semantic { "query:search.semantic.v1" } else { "query:search.v1" };
            let v = ctx.call(method, Some(lib), payload).await?;
            ctx.print(&v, output::search);
        }
    }
    Ok(())
}

async fn library_cmd(ctx: &mut Ctx, cmd: LibraryCmd) -> OpResult<()> {
    match cmd {
        LibraryCmd::Create { name } => {
            let v = ctx.call("action:libraries.create.input.v1", None, json!({ "name": name })).await?;
            ctx.print(&v, |v| {
                println!("Created library {} ({})", v["name"].as_str().unwrap_or(""), v["id"].as_str().unwrap_or(""))
            });
        }
        LibraryCmd::List => {
            let v = Value::Array(ctx.libraries().await?);
            let current = output::read_current_library(&ctx.data_dir);
            ctx.print(&v, |v| output::libraries(v, current));
        }
        LibraryCmd::Remove { library, yes } => {
            let id = ctx.find_library(&library).await?;
            if !yes {
                return Err(OpError::invalid(format!(
                    "removing library {id} deletes its database and sidecars; run again with --yes to confirm"
                )));
            }
            let v = ctx.call("action:libraries.remove.input.v1", None, json!({ "id": id })).await?;
            ctx.print(&v, |_| println!("Removed library {id}"));
        }
        LibraryCmd::Use { library } => {
            let id = ctx.find_library(&library).await?;
            output::write_current_library(&ctx.data_dir, id)?;
            ctx.print(&json!({ "current_library": id }), |_| println!("Using library {id}"));
        }
    }
    Ok(())
}

fn location_ref(s: &str) -> Value {
    match s.parse::<Uuid>() {
        Ok(id) => json!({ "id": id }),
        Err(_) => {
            let abs = std::fs::canonicalize(s).map(|p| p.display().to_string()).unwrap_or_else(|_| s.to_string());
            json!({ "path": abs })
        }
    }
}

async fn location_cmd(ctx: &mut Ctx, cmd: LocationCmd) -> OpResult<()> {
    let lib = ctx.library().await?;
    match cmd {
        LocationCmd::Add { path, follow_links } => {
            // The daemon may run in another directory: send an absolute path.
            let abs = std::fs::canonicalize(&path)
                .map_err(|e| OpError::not_found(format!("cannot open {}: {e}", path.display())))?;
            let payload = json!({ "path": abs.display().to_string(), "follow_links": follow_links });
            let v = ctx.call_with_progress("action:locations.add.input.v1", Some(lib), payload).await?;
            ctx.print(&v, output::scan);
        }
        LocationCmd::Rescan { location } => {
            let v =
                ctx.call_with_progress("action:locations.rescan.input.v1", Some(lib), location_ref(&location)).await?;
            ctx.print(&v, output::scan);
        }
        LocationCmd::List => {
            let v = ctx.call("query:locations.list.v1", Some(lib), Value::Null).await?;
            ctx.print(&v, output::locations);
        }
        LocationCmd::Remove { location } => {
            let v = ctx.call("action:locations.remove.input.v1", Some(lib), location_ref(&location)).await?;
            ctx.print(&v, |v| {
                println!("Removed location {} ({} entries)", v["removed"].as_str().unwrap_or(""), v["entries"])
            });
        }
    }
    Ok(())
}

async fn entry_cmd(ctx: &mut Ctx, cmd: EntryCmd) -> OpResult<()> {
    let lib = ctx.library().await?;
    match cmd {
        EntryCmd::List { parent, kind, virtual_only, limit, offset } => {
            let payload = json!({ "parent": parent, "kind": kind, "virtual_only": virtual_only, "limit": limit, "offset": offset });
            let v = ctx.call("query:vdfs.list_entries.v1", Some(lib), payload).await?;
            ctx.print(&v, output::entries);
        }
        EntryCmd::Show { id } => {
            let v = ctx.call("query:vdfs.entry.v1", Some(lib), json!({ "id": id })).await?;
            ctx.print(&v, output::entry_detail);
        }
        EntryCmd::Create { name, kind, parent, meta } => {
            let payload = json!({ "name": name, "kind": kind, "parent": parent, "metadata": parse_pairs(&meta)? });
            let v = ctx.call("action:vdfs.create_entry.input.v1", Some(lib), payload).await?;
            ctx.print(&v, |v| println!("Created entry {}", v["entry_id"].as_str().unwrap_or("")));
        }
        EntryCmd::Meta { id, pairs, namespace } => {
            let payload = json!({ "entry_id": id, "namespace": namespace, "set": parse_pairs(&pairs)? });
            let v = ctx.call("action:vdfs.update_metadata.input.v1", Some(lib), payload).await?;
            ctx.print(&v, |v| println!("{}", serde_json::to_string_pretty(&v["metadata"]).unwrap_or_default()));
        }
    }
    Ok(())
}

/// Follows a job to its end; JSON lines with --json, a bar otherwise.
async fn watch_job(ctx: &mut Ctx, lib: Uuid, id: Uuid) -> OpResult<Value> {
    let json_out = ctx.json;
    let payload = json!({ "id": id });
    let info = if json_out {
        ctx.backend
            .call_with("query:jobs.watch.v1", Some(lib), payload, |p| {
                let line = json!({
                    "id": id, "state": p.phase, "progress": p.done as f64 / 10_000.0,
                    "message": p.message, "detail": p.detail,
                });
                println!("{line}");
            })
            .await?
    } else {
        ctx.backend.call("query:jobs.watch.v1", Some(lib), payload, true).await?
    };
    Ok(info)
}

async fn job_cmd(ctx: &mut Ctx, cmd: JobCmd) -> OpResult<()> {
    let lib = ctx.library().await?;
    match cmd {
        JobCmd::List { state } => {
            let v = ctx.call("query:jobs.list.v1", Some(lib), json!({ "state": state })).await?;
            ctx.print(&v, output::jobs);
        }
        JobCmd::Info { id } => {
            let v = ctx.call("query:jobs.info.v1", Some(lib), json!({ "id": id })).await?;
            ctx.print(&v, output::job);
        }
        JobCmd::Watch { id } => {
            let v = watch_job(ctx, lib, id).await?;
            if ctx.json {
                println!("{v}");
            } else {
                output::job(&v);
            }
        }
        JobCmd::Pause { id } | JobCmd::Resume { id } | JobCmd::Cancel { id } => {
            let method = match cmd {
                JobCmd::Pause { .. } => "action:jobs.pause.input.v1",
                JobCmd::Resume { .. } => "action:jobs.resume.input.v1",
                _ => "action:jobs.cancel.input.v1",
            };
            let v = ctx.call(method, Some(lib), json!({ "id": id })).await?;
            ctx.print(&v, output::job);
        }
    }
    Ok(())
}

/// `sd events`: past events, then with `--follow` new ones as they happen.
async fn events_cmd(ctx: &mut Ctx, follow: bool, kinds: Vec<String>, limit: u32) -> OpResult<()> {
    let lib = ctx.library().await?;
    let json_out = ctx.json;
    let print = |ev: &Value| {
        if json_out {
            println!("{ev}");
        } else {
            output::event(ev);
        }
    };
    if !follow {
        let v = ctx.call("query:events.list.v1", Some(lib), json!({ "kinds": kinds, "limit": limit })).await?;
        v["events"].as_array().into_iter().flatten().for_each(print);
        return Ok(());
    }
    let payload = json!({ "kinds": kinds });
    let follow = ctx.backend.call_with("query:events.follow.v1", Some(lib), payload, |p| {
        if let Some(ev) = &p.detail {
            print(ev);
        }
    });
    tokio::select! {
        r = follow => r.map(|_| ()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

async fn ext_cmd(ctx: &mut Ctx, cmd: ExtCmd) -> OpResult<()> {
    match cmd {
        ExtCmd::Run { extension, job, input, detach } => {
            let lib = ctx.library().await?;
            let input = match input {
                Some(i) => parse_json_arg(&i)?,
                None => json!({}),
            };
            if detach && matches!(ctx.backend, Backend::Local(_)) {
                return Err(OpError::unavailable(
                    "--detach needs a running daemon (`sd daemon`): without one the job would stop when this command exits",
                ));
            }
            let payload = json!({ "extension": extension, "job": job, "input": input });
            let info = ctx.call("action:jobs.dispatch.input.v1", Some(lib), payload).await?;
            let id: Uuid =
                info["id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| OpError::internal("no job id"))?;
            if detach {
                ctx.print(&info, |_| println!("Started job {id}; follow it with `sd job watch {id}`"));
                return Ok(());
            }
            let v = watch_job(ctx, lib, id).await?;
            if ctx.json {
                println!("{v}");
            } else {
                output::job(&v);
            }
            if v["state"] != "completed" {
                return Err(OpError::new(
                    sd_core::ErrorCode::Internal,
                    format!("job {id} ended {}", v["state"].as_str().unwrap_or("?")),
                ));
            }
        }
        ExtCmd::Install { path, yes } => {
            let src = ext::resolve(&path)?;
            let inspection = ctx.call("query:extensions.inspect.v1", None, src.payload()).await?;
            if !yes && ext::needs_consent(&inspection) {
                if !ctx.json {
                    ext::print_consent(&inspection);
                }
                return Err(OpError::invalid("run again with --yes to grant these permissions and install"));
            }
            let info = ctx.call("action:extensions.install.input.v1", None, src.payload()).await?;
            ctx.print(&info, |i| {
                println!("Installed {} {}", i["id"].as_str().unwrap_or(""), i["version"].as_str().unwrap_or(""))
            });
        }
        ExtCmd::List => {
            let v = ctx.call("query:extensions.list.v1", None, Value::Null).await?;
            ctx.print(&v, ext::print_list);
        }
        ExtCmd::Info { id } => {
            let v = ctx.call("query:extensions.info.v1", None, json!({ "id": id })).await?;
            ctx.print(&v, ext::print_info);
        }
        ExtCmd::Reload { id } => {
            let v = ctx.call("action:extensions.reload.input.v1", None, json!({ "id": id })).await?;
            ctx.print(&v, |v| println!("{id}: {}", v["state"].as_str().unwrap_or("")));
        }
        ExtCmd::Unload { id } => {
            let v = ctx.call("action:extensions.unload.input.v1", None, json!({ "id": id })).await?;
            ctx.print(&v, |v| println!("{id}: {}", v["state"].as_str().unwrap_or("")));
        }
        ExtCmd::Remove { id } => {
            let v = ctx.call("action:extensions.remove.input.v1", None, json!({ "id": id })).await?;
            ctx.print(&v, |_| println!("Removed {id}"));
        }
        ExtCmd::Dev { path } => {
            let src = ext::resolve(&path)?;
            let mut payload = src.payload();
            payload["watch"] = json!(true);
            let info = ctx.call("action:extensions.install.input.v1", None, payload).await?;
            let id = info["id"].as_str().unwrap_or_default().to_string();
            let watched = info["watching"].as_str().unwrap_or_default().to_string();
            if let Backend::Daemon(_) = ctx.backend {
                ctx.print(&info, |_| println!("The daemon loaded {id} and reloads it when {watched} changes."));
                return Ok(());
            }
            eprintln!("Loaded {id}; watching {watched}. Rebuild to reload; Ctrl-C to stop.");
            let mut last = info["last_reload"].clone();
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    _ = tokio::time::sleep(std::time::Duration::from_millis(250)) => {}
                }
                let now = ctx.call("query:extensions.info.v1", None, json!({ "id": id })).await?;
                if now["last_reload"] != last {
                    last = now["last_reload"].clone();
                    if ctx.json {
                        println!("{}", json!({ "id": id, "last_reload": last }));
                    } else {
                        println!("{id}: {}", last.as_str().unwrap_or(""));
                    }
                }
            }
        }
    }
    Ok(())
}

async fn run_daemon(data_dir: &std::path::Path) -> OpResult<()> {
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
