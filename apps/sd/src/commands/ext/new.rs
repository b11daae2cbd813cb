//! `sd ext new`: a ready extension crate, built and installed as generated.

use std::path::{Path, PathBuf};

use sd_core::{OpError, OpResult};

/// Where the checkout is when this `sd` was built from one: generated
/// crates then use its SDK and test harness by path, and start from its
/// `Cargo.lock`, so they build with the versions it was tested with.
const CHECKOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
/// The SDK release generated crates use otherwise.
const SDK_VERSION: &str = "0.1.0";

/// Writes the crate for extension `name` into `dir` (default `./name`);
/// returns the folder.
pub fn create(name: &str, dir: Option<&Path>) -> OpResult<PathBuf> {
    sd_core::infra::extension::Manifest::check_id(name)?;
    let dir = dir.map_or_else(|| PathBuf::from(name), Path::to_path_buf);
    if dir.exists() && std::fs::read_dir(&dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        return Err(OpError::conflict(format!(
            "{} already exists and is not empty; pick another `--path`",
            dir.display()
        )));
    }
    let checkout = std::fs::canonicalize(CHECKOUT).ok().filter(|c| c.join("extensions/spacedrive-sdk").is_dir());
    let dep = |krate: &str| match &checkout {
        Some(c) => format!("{{ path = {:?} }}", c.join("extensions").join(krate).display().to_string()),
        None => format!("\"{SDK_VERSION}\""),
    };
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::create_dir_all(dir.join("tests"))?;
    std::fs::create_dir_all(dir.join(".cargo"))?;
    if let Some(lock) = checkout.as_ref().map(|c| c.join("Cargo.lock")).filter(|l| l.is_file()) {
        std::fs::copy(lock, dir.join("Cargo.lock"))?;
    }
    let files = [
        ("Cargo.toml", cargo_toml(name, &dep("spacedrive-sdk"), &dep("spacedrive-test"))),
        ("tests/host.rs", host_test(name)),
        ("src/lib.rs", lib_rs(name)),
        ("README.md", readme(name)),
        (".gitignore", "/target\n".to_string()),
        (".cargo/config.toml", CARGO_CONFIG.to_string()),
    ];
    for (file, text) in files {
        std::fs::write(dir.join(file), text)?;
    }
    Ok(dir)
}

/// Build flags for the module, as the SDK's own extensions use them: every
/// host call decodes JSON in the guest, through small serde_json functions
/// that are worth inlining (docs/performance.md).
const CARGO_CONFIG: &str = r#"[target.wasm32-unknown-unknown]
rustflags = ["-C", "llvm-args=-inlinehint-threshold=1000"]
"#;

fn cargo_toml(name: &str, sdk: &str, harness: &str) -> String {
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

# `cargo test` runs tests/host.rs in a real host (the first run builds it).
[dev-dependencies]
spacedrive-test = {harness}

# A crate of its own, even inside another workspace.
[workspace]

[profile.release]
# Speed over size: the host compiles a module once and caches it.
opt-level = 3
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#
    )
}

fn lib_rs(name: &str) -> String {
    format!(
        r#"//! The `{name}` extension: an operation, a job and an event handler. The
//! code is the manifest: `#[extension]` says what it may do, and each
//! `#[spacedrive_operation]`, `#[spacedrive_job]` and `#[on_event]` adds
//! what it defines.

#![deny(unsafe_code)]

use std::collections::BTreeMap;

use spacedrive_sdk::NewEntry;
use spacedrive_sdk::prelude::*;

#[extension(
    id = "{name}",
    name = "{name}",
    version = "0.1.0",
    description = "Greets, and creates an entry from a job",
    methods = ["vdfs.create_entry", "vdfs.update_metadata"],
    libraries = ["*"],
    events = ["entry.created"],
    concurrent_jobs = 1,
    max_memory_mb = 32,
    max_cpu_ms_per_call = 2000
)]
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

fn host_test(name: &str) -> String {
    format!(
        r#"//! The extension in a real host, in process: built for wasm32, installed,
//! called, its job run to the end, its entry read back.

use serde_json::json;
use spacedrive_test::Host;

#[test]
fn hello_answers_and_greet_creates_an_entry() {{
    let host = Host::new().unwrap();
    host.install_crate(env!("CARGO_MANIFEST_DIR")).unwrap();
    let out = host.call("query:{name}.hello.v1", json!({{ "name": "Ada" }})).unwrap();
    assert_eq!(out["greeting"], "Hello, Ada!");
    let job = host.run_job("{name}", "greet", json!({{ "name": "Ada" }})).unwrap();
    assert_eq!(job["state"], "completed", "{{job}}");
    assert_eq!(host.search("greeting for ada").unwrap()["total"], 1);
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
sd ext install . --yes                             # install it, granting what #[extension] asks for
sd call query:{name}.hello.v1 '{{"name":"Ada"}}'   # call its operation
```

`sd ext run {name} greet '{{"name":"Ada"}}'` runs its job, which creates an
entry; `sd ext dev .` rebuilds and reloads it whenever a source changes.
`cargo test` runs its unit tests natively and `tests/host.rs` in a real
host in process (the first run builds the host: a few minutes). What it
may call, and the
limits it runs under, are the arguments of `#[extension]` in `src/lib.rs`.
"#
    )
}
