//! `sd ext`: install, inspect, develop and run extensions.

mod dev;
mod grants;
mod new;
mod packages;
mod show;
mod source;

use std::path::PathBuf;

use clap::Subcommand;
use sd_core::{OpError, OpResult};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::backend::Backend;
use crate::commands::job;
use crate::ctx::Ctx;
use crate::ctx::parse_json_arg;
use crate::output;

#[derive(Subcommand)]
pub enum ExtCmd {
    /// Install (or upgrade) an extension: a package (`.sdpkg`) or its https URL, an ID or
    /// ID@VERSION from a registered index, a folder or cargo crate, or a `.wasm`.
    Install {
        target: String,
        /// Grant the permissions it asks for.
        #[arg(long)]
        yes: bool,
        /// Install a module nobody signed (a `.wasm` file or URL).
        #[arg(long)]
        allow_unsigned: bool,
        /// Install a version older than the one installed.
        #[arg(long)]
        allow_downgrade: bool,
    },
    /// Signing keys for packages: `new NAME`, `list`.
    Key {
        #[command(subcommand)]
        cmd: packages::KeyCmd,
    },
    /// Build (a crate) or take (a folder or `.wasm`), check as install would, and write one signed package.
    Pack {
        dir: PathBuf,
        /// The signing key's name (`sd ext key new NAME`).
        #[arg(long)]
        sign: String,
        /// The package file, or a folder for ID-VERSION.sdpkg (default: the current folder).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Extension indexes: `add URL`, `list`, `remove URL`, and `build DIR` for publishers.
    Index {
        #[command(subcommand)]
        cmd: packages::IndexCmd,
    },
    /// Search the registered indexes.
    Search { word: Option<String> },
    /// List installed extensions a registered index has a newer version of.
    Outdated,
    /// Update one extension, or all, from the registered indexes.
    Update {
        id: Option<String>,
        /// Grant what a new version asks for beyond the installed one.
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
    /// Create a ready extension crate: an operation, a job, an event handler, a test.
    New {
        /// Extension id: lowercase letters, digits and `-`.
        name: String,
        /// Folder to create (default: ./NAME).
        #[arg(long)]
        path: Option<PathBuf>,
    },
    /// Build a cargo extension for wasm32 and check it exactly as install would.
    Build {
        /// The crate's folder (default: the current one).
        dir: Option<PathBuf>,
    },
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
        /// Grant the extension the input's `path` (a folder, or a file's
        /// folder) first, if no grant covers it.
        #[arg(long)]
        grant: bool,
    },
    /// Let an extension read the files in a folder and below it, and add them as a location.
    Grant {
        id: String,
        /// The folder (links and `..` are resolved first; never the data dir).
        #[arg(long)]
        path: PathBuf,
    },
    /// Take a folder back from an extension: its next read there is refused.
    Revoke {
        id: String,
        /// The folder, as granted.
        #[arg(long)]
        path: PathBuf,
    },
}

pub async fn run(ctx: &mut Ctx, cmd: ExtCmd) -> OpResult<()> {
    match cmd {
        ExtCmd::Run { extension, job, input, detach, grant } => {
            let lib = ctx.library().await?;
            let mut input = match input {
                Some(i) => parse_json_arg(&i)?,
                None => json!({}),
            };
            grants::cover_input_path(ctx, &extension, &mut input, grant).await?;
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
            let v = job::watch(ctx, lib, id).await?;
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
        ExtCmd::Grant { id, path } => {
            let path = grants::absolute(&path)?;
            let g = ctx.call("action:grants.add.input.v1", None, json!({ "extension": id, "path": path })).await?;
            ctx.print(&g, |g| {
                let shown = sd_core::vdfs::names::shown(std::path::Path::new(g["path"].as_str().unwrap_or("")));
                println!("{id} may now read and add {shown}, and everything below it.");
                println!("Take it back with `sd ext revoke {id} --path {shown}`.");
            });
        }
        ExtCmd::Revoke { id, path } => {
            let path = grants::absolute(&path)?;
            let g = ctx.call("action:grants.revoke.input.v1", None, json!({ "extension": id, "path": path })).await?;
            ctx.print(&g, |g| {
                let shown = sd_core::vdfs::names::shown(std::path::Path::new(g["path"].as_str().unwrap_or("")));
                println!("{id} may no longer read {shown}; what it stored stays.");
            });
        }
        ExtCmd::New { name, path } => {
            let dir = new::create(&name, path.as_deref())?;
            let shown = dir.display().to_string();
            ctx.print(&json!({ "id": name, "path": shown }), |_| {
                println!("Created extension `{name}` in {shown}. Then:");
                println!("  sd ext build {shown}");
                println!("  sd ext install {shown} --yes");
                println!("  sd call query:{name}.hello.v1 '{{\"name\":\"Ada\"}}'");
            });
        }
        ExtCmd::Build { dir } => {
            let src = source::build(dir.as_deref().unwrap_or(std::path::Path::new(".")))?;
            let inspection = ctx.call("query:extensions.inspect.v1", None, src.payload()).await?;
            let wasm = src.wasm.unwrap_or_default();
            let size = std::fs::metadata(&wasm).map(|m| m.len()).unwrap_or(0);
            let mut out = inspection.clone();
            out["module"] = json!(wasm);
            out["module_size"] = json!(size);
            ctx.print(&out, |i| {
                let m = &i["manifest"];
                println!(
                    "Built {} {}: {} ({size} bytes), checked as install would.",
                    m["id"].as_str().unwrap_or(""),
                    m["version"].as_str().unwrap_or(""),
                    wasm.display()
                );
                show::print_consent(i);
            });
        }
        ExtCmd::Install { target, yes, allow_unsigned, allow_downgrade } => {
            let mut payload = packages::install_payload(&target)?;
            payload["allow_unsigned"] = json!(allow_unsigned);
            payload["allow_downgrade"] = json!(allow_downgrade);
            let info = packages::install_with_consent(ctx, payload, yes).await?;
            ctx.print(&info, packages::print_installed);
        }
        ExtCmd::Key { cmd } => packages::key(ctx, cmd).await?,
        ExtCmd::Pack { dir, sign, output } => packages::pack(ctx, &dir, &sign, output).await?,
        ExtCmd::Index { cmd } => packages::index(ctx, cmd).await?,
        ExtCmd::Search { word } => packages::search(ctx, word).await?,
        ExtCmd::Outdated => packages::outdated(ctx).await?,
        ExtCmd::Update { id, yes } => packages::update(ctx, id, yes).await?,
        ExtCmd::List => {
            let mut v = ctx.call("query:extensions.list.v1", None, Value::Null).await?;
            v.as_array_mut().into_iter().flatten().for_each(|e| where_loaded(e, &ctx.backend));
            ctx.print(&v, show::print_list);
        }
        ExtCmd::Info { id } => {
            let mut v = ctx.call("query:extensions.info.v1", None, json!({ "id": id })).await?;
            where_loaded(&mut v, &ctx.backend);
            ctx.print(&v, show::print_info);
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
            let src = source::resolve(&path)?;
            let mut payload = src.payload();
            payload["watch"] = json!(true);
            let info = ctx.call("action:extensions.install.input.v1", None, payload).await?;
            let id = info["id"].as_str().unwrap_or_default().to_string();
            let watched = info["watching"].as_str().unwrap_or_default().to_string();
            // A cargo crate: rebuild it here whenever its sources change; the
            // host (daemon or this process) reloads the module it writes.
            let rebuild = src.wasm.clone().map(|wasm| dev::rebuild_on_change(src.path.clone(), wasm, id.clone()));
            let daemon = matches!(ctx.backend, Backend::Daemon(_));
            if daemon && rebuild.is_none() {
                ctx.print(&info, |_| println!("The daemon loaded {id} and reloads it when {watched} changes."));
                return Ok(());
            }
            let host = if daemon { "The daemon loaded" } else { "Loaded" };
            match rebuild {
                Some(_) => eprintln!("{host} {id}; rebuilding it when {} changes. Ctrl-C to stop.", src.path.display()),
                None => eprintln!("{host} {id}; watching {watched}. Rebuild to reload; Ctrl-C to stop."),
            }
            let mut rebuild = std::pin::pin!(async move {
                match rebuild {
                    Some(r) => r.await,
                    None => std::future::pending().await,
                }
            });
            let mut last = info["last_reload"].clone();
            loop {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => break,
                    r = &mut rebuild => return r,
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

/// Says where an extension runs. A state comes from the process that
/// answered: the daemon's is lasting, but without a daemon this command's
/// own core answered, and whatever it loaded ends with the command. So
/// without a daemon, `loaded` reads `installed`, and `where` says which.
fn where_loaded(info: &mut Value, backend: &Backend) {
    let daemon = matches!(backend, Backend::Daemon(_));
    let (state, note) = match (info["state"].as_str(), daemon) {
        (Some("loaded"), true) => ("loaded", "by the daemon"),
        (Some("loaded" | "installed"), false) => ("installed", "no daemon is running; it loads when used"),
        (Some("installed"), true) => ("installed", "not loaded yet; the daemon loads it when first used"),
        _ => return,
    };
    info["state"] = json!(state);
    info["where"] = json!(note);
}
