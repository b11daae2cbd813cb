//! `sd ext new`: a ready extension crate, built and installed as generated.

use std::path::{Path, PathBuf};

use sd_core::{OpError, OpResult};

/// Where the SDK is when this `sd` was built from a checkout: generated
/// crates then use it by path, so they build against the same sources.
const SDK_IN_CHECKOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../extensions/spacedrive-sdk");
/// The SDK release generated crates use otherwise.
const SDK_VERSION: &str = "0.1.0";

/// Checks that `name` can be an extension id and a method segment.
fn check_name(name: &str) -> OpResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(OpError::invalid(format!(
            "`{name}` cannot name an extension: use 1-64 lowercase letters, digits and `-`, starting with a letter (e.g. `my-receipts`)"
        )))
    }
}

/// Writes the crate for extension `name` into `dir` (default `./name`);
/// returns the folder.
pub fn create(name: &str, dir: Option<&Path>) -> OpResult<PathBuf> {
    check_name(name)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(OpError::conflict(format!(
            "{} already exists and is not empty; pick another `--path`",
            dir.display()
        )));
    }
    let sdk = match std::fs::canonicalize(SDK_IN_CHECKOUT) {
        Ok(path) => format!("{{ path = {:?} }}", path.display().to_string()),
        Err(_) => format!("\"{SDK_VERSION}\""),
    };
    std::fs::create_dir_all(dir.join("src"))?;
    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        ("manifest.json", manifest(name)),
        ("src/lib.rs", lib_rs(name)),
        ("README.md", readme(name)),
        (".gitignore", "/target\n".to_string()),
    ];
    for (file, text) in files {
        std::fs::write(dir.join(file), text)?;
    }
    Ok(dir)
}

fn cargo_toml(name: &str, sdk: &str) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib", "rlib"]

[dependencies]
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"
spacedrive-sdk = {sdk}

# A crate of its own, even inside another workspace.
[workspace]

[profile.release]
opt-level = "s"
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#
    )
}

fn manifest(name: &str) -> String {
    let manifest = serde_json::json!({
        "id": name,
        "name": name,
        "version": "0.1.0",
        "description": format!("{name}: greets, and creates an entry from a job"),
        "permissions": {
            "methods": ["vdfs.create_entry", "vdfs.update_metadata"],
            "libraries": ["*"],
            "rate_limits": { "requests_per_minute": 600, "concurrent_jobs": 1 },
            "max_memory_mb": 32,
            "max_cpu_ms_per_call": 2000
        },
        "operations": [{
            "method": format!("query:{name}.hello.v1"),
            "export": "op_hello",
            "description": "Greets someone by name",
            "input_schema": {
                "type": "object",
                "properties": { "name": { "type": "string" } },
                "required": ["name"]
            },
            "output_schema": {
                "type": "object",
                "properties": { "greeting": { "type": "string" } }
            }
        }],
        "jobs": [{ "name": "greet", "export": "execute_greet" }],
        "events": ["entry.created"]
    });
    serde_json::to_string_pretty(&manifest).unwrap_or_default() + "\n"
}

fn lib_rs(name: &str) -> String {
    format!(
        r#"//! The `{name}` extension: an operation, a job and an event handler.

#![deny(unsafe_code)]

use std::collections::BTreeMap;

use spacedrive_sdk::NewEntry;
use spacedrive_sdk::prelude::*;

#[extension(id = "{name}", name = "{name}", version = "0.1.0")]
struct Ext;

impl Extension for Ext {{
    fn init(_ctx: &ExtensionContext) -> Result<()> {{
        info!("{name} loaded");
        Ok(())
    }}
}}

/// The greeting for `name`; plain Rust, tested natively below.
pub fn greeting(name: &str) -> Result<String> {{
    let name = name.trim();
    if name.is_empty() {{
        return Err(Error::invalid("name must not be empty"));
    }}
    Ok(format!("Hello, {{name}}!"))
}}

#[derive(Deserialize)]
struct HelloInput {{
    name: String,
}}

#[derive(Serialize)]
struct HelloOutput {{
    greeting: String,
}}

/// `query:{name}.hello.v1`: `{{"name": "Ada"}}` in, a greeting out.
#[spacedrive_operation]
fn hello(_ctx: &OperationContext, input: HelloInput) -> Result<HelloOutput> {{
    Ok(HelloOutput {{ greeting: greeting(&input.name)? }})
}}

/// State of the `greet` job, and its input: whom to greet.
#[derive(Serialize, Deserialize)]
struct GreetState {{
    name: String,
    #[serde(default)]
    done: bool,
}}

/// Creates an entry holding the greeting, once (a resumed job that already
/// did it does nothing).
#[spacedrive_job]
fn greet(ctx: &JobContext, state: &mut GreetState) -> Result<()> {{
    if state.done {{
        return Ok(());
    }}
    ctx.check_interrupt()?;
    let mut metadata = BTreeMap::new();
    metadata.insert("greeting".to_string(), serde_json::json!(greeting(&state.name)?));
    let entry = ctx.client().create_entry(&NewEntry {{
        name: format!("Greeting for {{}}", state.name.trim()),
        kind: Some("note".into()),
        metadata,
        ..Default::default()
    }})?;
    state.done = true;
    ctx.checkpoint(state)?;
    ctx.report_progress(1.0, &format!("created entry {{}}", entry.id))?;
    Ok(())
}}

/// Marks each new entry it hears of with the time it heard.
#[on_event]
fn on_entry(ctx: &OperationContext, event: Event) -> Result<()> {{
    if event.kind() != EventKind::EntryCreated {{
        return Ok(());
    }}
    let Some(entry) = event.entry_id else {{ return Ok(()) }};
    let mut seen = BTreeMap::new();
    seen.insert("seen_seq".to_string(), serde_json::json!(event.seq));
    ctx.client().set_metadata(entry, &seen)
}}

#[cfg(test)]
mod tests {{
    use super::*;

    #[test]
    fn greets_by_name_and_refuses_a_blank_one() {{
        assert_eq!(greeting(" Ada ").unwrap(), "Hello, Ada!");
        assert!(greeting("  ").is_err());
    }}
}}
"#
    )
}

fn readme(name: &str) -> String {
    format!(
        r#"# {name}

A Spacedrive extension. From this folder:

```sh
sd ext build .                                     # build for wasm32, check it as install would
sd ext install . --yes                             # install it (granting manifest.json's permissions)
sd call query:{name}.hello.v1 '{{"name":"Ada"}}'   # call its operation
```

`sd ext run {name} greet '{{"name":"Ada"}}'` runs its job, which creates an
entry; `sd ext dev .` reinstalls it whenever it is rebuilt. `cargo test`
runs its unit tests natively. What it may call is in `manifest.json`.
"#
    )
}
