//! `sd ext key`, `pack`, `index`, `search`, `outdated`, `update`, and what
//! `sd ext install` takes: a path, a URL, or an ID from an index.

use std::path::{Path, PathBuf};

use clap::Subcommand;
use sd_core::{OpError, OpResult};
use serde_json::{Value, json};

use sd_core::infra::extension::Manifest;

use super::{show, source};
use crate::ctx::Ctx;

#[derive(Subcommand)]
pub enum KeyCmd {
    /// Make an Ed25519 signing key; the secret stays in the vault.
    New { name: String },
    /// List signing keys with their public keys.
    List,
}

#[derive(Subcommand)]
pub enum IndexCmd {
    /// Register an extension index: a JSON file at an https URL.
    Add { url: String },
    /// List registered indexes.
    List,
    /// Forget an index.
    Remove { url: String },
    /// Write DIR/index.json listing every package (`.sdpkg`) in DIR, to serve DIR as an index.
    Build { dir: PathBuf },
}

/// The install payload for TARGET: an http(s) URL, a file or folder here
/// (a crate is built first), or `ID`/`ID@VERSION` from a registered index.
pub fn install_payload(target: &str) -> OpResult<Value> {
    if target.starts_with("https://") || target.starts_with("http://") {
        return Ok(json!({ "url": target }));
    }
    let path = Path::new(target);
    if path.exists() {
        return Ok(source::resolve(path)?.payload());
    }
    let id = target.split('@').next().unwrap_or_default();
    if !target.contains('/') && Manifest::check_id(id).is_ok() {
        return Ok(json!({ "name": target }));
    }
    Err(OpError::not_found(format!(
        "{target}: no such file or folder, and not an extension ID from an index (ID or ID@VERSION; see `sd ext search`)"
    )))
}

/// Shows what `payload` would install and installs it: the consent screen
/// when it asks for anything not granted yet (then `yes` is needed), and
/// only the module that was shown.
pub async fn install_with_consent(ctx: &mut Ctx, mut payload: Value, yes: bool) -> OpResult<Value> {
    let inspection = ctx.call("query:extensions.inspect.v1", None, payload.clone()).await?;
    if !yes && show::needs_consent(&inspection) {
        if !ctx.json {
            show::print_consent(&inspection);
        }
        return Err(OpError::invalid("run again with --yes to grant these permissions and install"));
    }
    payload["expect_blake3"] = inspection["module_blake3"].clone();
    let mut info = ctx.call("action:extensions.install.input.v1", None, payload).await?;
    super::where_loaded(&mut info, &ctx.backend);
    Ok(info)
}

/// One line saying what was installed and who signed it.
pub fn print_installed(i: &Value) {
    let by = match i["publisher"]["fingerprint"].as_str() {
        Some(fp) => format!("signed by {fp}"),
        None => "unsigned".to_string(),
    };
    println!("Installed {} {} ({by})", i["id"].as_str().unwrap_or(""), i["version"].as_str().unwrap_or(""));
}

pub async fn key(ctx: &mut Ctx, cmd: KeyCmd) -> OpResult<()> {
    match cmd {
        KeyCmd::New { name } => {
            let k = ctx.call("action:extensions.keys.create.input.v1", None, json!({ "name": name })).await?;
            ctx.print(&k, |k| {
                println!("Made signing key `{name}`; its secret is sealed in the vault.");
                println!("public key   {}", k["publisher"]["key"].as_str().unwrap_or(""));
                println!("fingerprint  {}", k["publisher"]["fingerprint"].as_str().unwrap_or(""));
                println!("Sign with `sd ext pack DIR --sign {name}`.");
            });
        }
        KeyCmd::List => {
            let v = ctx.call("query:extensions.keys.list.v1", None, Value::Null).await?;
            ctx.print(&v, |v| {
                let keys = v.as_array().map(Vec::as_slice).unwrap_or_default();
                if keys.is_empty() {
                    println!("No signing keys. Make one with `sd ext key new NAME`.");
                }
                for k in keys {
                    println!(
                        "{:16} {}  {}",
                        k["name"].as_str().unwrap_or(""),
                        k["publisher"]["fingerprint"].as_str().unwrap_or(""),
                        k["publisher"]["key"].as_str().unwrap_or("")
                    );
                }
            });
        }
    }
    Ok(())
}

pub async fn pack(ctx: &mut Ctx, dir: &Path, sign: &str, output: Option<PathBuf>) -> OpResult<()> {
    let src = source::resolve(dir)?;
    let output = match output {
        // A trailing `/` says "a folder", made if missing.
        Some(o) if o.as_os_str().as_encoded_bytes().ends_with(b"/") => {
            format!("{}/", super::grants::absolute(&o)?.trim_end_matches('/'))
        }
        Some(o) => super::grants::absolute(&o)?,
        None => super::grants::absolute(Path::new("."))?,
    };
    let payload = json!({ "path": src.path, "wasm": src.wasm, "key": sign, "output": output });
    let v = ctx.call("action:extensions.pack.input.v1", None, payload).await?;
    ctx.print(&v, |v| {
        println!(
            "Packed {} {} into {} ({} bytes)",
            v["id"].as_str().unwrap_or(""),
            v["version"].as_str().unwrap_or(""),
            v["output"].as_str().unwrap_or(""),
            v["size"]
        );
        println!("signed by    {}", v["publisher"]["fingerprint"].as_str().unwrap_or(""));
        println!("blake3       {}", v["blake3"].as_str().unwrap_or(""));
    });
    Ok(())
}

pub async fn index(ctx: &mut Ctx, cmd: IndexCmd) -> OpResult<()> {
    match cmd {
        IndexCmd::Add { url } => {
            let v = ctx.call("action:extensions.indexes.add.input.v1", None, json!({ "url": url })).await?;
            ctx.print(&v, |v| println!("Added index {url}: {} extensions. Try `sd ext search`.", v["extensions"]));
        }
        IndexCmd::List => {
            let v = ctx.call("query:extensions.indexes.list.v1", None, Value::Null).await?;
            ctx.print(&v, |v| {
                let urls = v.as_array().map(Vec::as_slice).unwrap_or_default();
                if urls.is_empty() {
                    println!("No indexes. Add one with `sd ext index add URL`.");
                }
                urls.iter().for_each(|u| println!("{}", u.as_str().unwrap_or("")));
            });
        }
        IndexCmd::Remove { url } => {
            let v = ctx.call("action:extensions.indexes.remove.input.v1", None, json!({ "url": url })).await?;
            ctx.print(&v, |_| println!("Removed index {url}"));
        }
        // An author's tool over local files, so it runs here, not in the daemon.
        IndexCmd::Build { dir } => {
            let (path, index) = sd_core::infra::package::index::build_in(&dir)?;
            let v = serde_json::to_value(&index).map_err(|e| OpError::internal(e.to_string()))?;
            ctx.print(&v, |_| {
                let versions: usize = index.extensions.iter().map(|e| e.versions.len()).sum();
                println!(
                    "Wrote {}: {} extensions, {versions} packages. Serve the folder, then `sd ext index add URL/index.json`.",
                    path.display(),
                    index.extensions.len()
                );
            });
        }
    }
    Ok(())
}

pub async fn search(ctx: &mut Ctx, word: Option<String>) -> OpResult<()> {
    let v = ctx.call("query:extensions.search.v1", None, json!({ "word": word.unwrap_or_default() })).await?;
    ctx.print(&v, |v| {
        let found = v.as_array().map(Vec::as_slice).unwrap_or_default();
        if found.is_empty() {
            println!("Nothing found in the registered indexes.");
        }
        for a in found {
            println!(
                "{:20} {:10} {}  (publisher {})",
                a["id"].as_str().unwrap_or(""),
                a["version"].as_str().unwrap_or(""),
                a["description"].as_str().unwrap_or(""),
                a["publisher"]["fingerprint"].as_str().unwrap_or("")
            );
        }
    });
    Ok(())
}

async fn outdated_list(ctx: &mut Ctx) -> OpResult<Vec<Value>> {
    let v = ctx.call("query:extensions.outdated.v1", None, Value::Null).await?;
    Ok(v.as_array().cloned().unwrap_or_default())
}

fn describe(o: &Value) -> String {
    let mut line = format!(
        "{:20} {} -> {}",
        o["id"].as_str().unwrap_or(""),
        o["installed"].as_str().unwrap_or(""),
        o["available"]["version"].as_str().unwrap_or("")
    );
    if o["other_publisher"].as_bool().unwrap_or(false) {
        line.push_str(&format!(
            "  (signed by {}, not the pinned {}: it would be refused)",
            o["available"]["publisher"]["fingerprint"].as_str().unwrap_or(""),
            o["pinned"]["fingerprint"].as_str().unwrap_or("")
        ));
    }
    line
}

pub async fn outdated(ctx: &mut Ctx) -> OpResult<()> {
    let list = Value::Array(outdated_list(ctx).await?);
    ctx.print(&list, |v| {
        let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
        if list.is_empty() {
            println!("Every installed extension is up to date with the registered indexes.");
        }
        list.iter().for_each(|o| println!("{}", describe(o)));
    });
    Ok(())
}

/// Updates `id` (or every outdated extension), one at a time; one that asks
/// for more than it was granted shows its consent screen and needs `yes`.
pub async fn update(ctx: &mut Ctx, id: Option<String>, yes: bool) -> OpResult<()> {
    let mut list = outdated_list(ctx).await?;
    if let Some(id) = &id {
        list.retain(|o| o["id"] == id.as_str());
    }
    if list.is_empty() {
        let what = id.map_or("Every installed extension is".to_string(), |i| format!("{i} is"));
        ctx.print(&json!({ "updated": [], "failed": [] }), |_| {
            println!("{what} up to date with the registered indexes.")
        });
        return Ok(());
    }
    let (mut done, mut failed) = (Vec::new(), Vec::new());
    for o in list {
        let name = format!("{}@{}", o["id"].as_str().unwrap_or(""), o["available"]["version"].as_str().unwrap_or(""));
        match install_with_consent(ctx, json!({ "name": name }), yes).await {
            Ok(info) => {
                if !ctx.json {
                    print_installed(&info);
                }
                done.push(info);
            }
            Err(e) => {
                if !ctx.json {
                    eprintln!("{name}: {e}");
                }
                failed.push(json!({ "name": name, "error": e.message }));
            }
        }
    }
    if ctx.json {
        println!("{}", json!({ "updated": done, "failed": failed }));
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(OpError::invalid(format!("{} of the updates were not installed (see above)", failed.len())))
    }
}
