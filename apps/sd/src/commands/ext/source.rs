//! Where an extension to install comes from: a folder with a manifest, a
//! cargo crate (built for wasm32 first), or a `.wasm` file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use sd_core::{OpError, OpResult};
use serde_json::{Value, json};

/// Where an install comes from, as the install operations take it.
pub struct Source {
    pub path: PathBuf,
    pub wasm: Option<PathBuf>,
}

impl Source {
    pub fn payload(&self) -> Value {
        json!({ "path": self.path, "wasm": self.wasm })
    }
}

fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let mut newest = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).ok()?.flatten() {
            let p = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(p);
            } else if let Ok(m) = meta.modified() {
                newest = newest.max(Some(m));
            }
        }
    }
    newest
}

/// Resolves PATH: a `.wasm` file, a folder whose `manifest.json` names its
/// module, or a cargo extension's folder, whose release module is found in
/// cargo's target folder and (re)built when missing or older than the sources.
pub fn resolve(path: &Path) -> OpResult<Source> {
    resolve_building(path, false)
}

/// [`resolve`], running cargo even when the module looks current (`sd ext
/// build`: cargo itself decides what to rebuild), after checking that the
/// wasm32 target is installed.
pub fn build(path: &Path) -> OpResult<Source> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    // Without rustup (a distribution's Rust), cargo's own error will say.
    if let Ok(out) = installed
        && out.status.success()
        && !String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown")
    {
        return Err(OpError::unavailable(
            "the wasm32-unknown-unknown target is not installed: run `rustup target add wasm32-unknown-unknown`",
        ));
    }
    let src = resolve_building(path, true)?;
    if src.wasm.is_none() {
        return Err(OpError::invalid(format!(
            "{} is not a cargo crate to build; `sd ext install` takes a folder with manifest.json and module as it is",
            src.path.display()
        )));
    }
    Ok(src)
}

fn resolve_building(path: &Path, force: bool) -> OpResult<Source> {
    let path = std::fs::canonicalize(path).map_err(|e| OpError::not_found(format!("{}: {e}", path.display())))?;
    if path.is_file() || !path.join("Cargo.toml").is_file() {
        return Ok(Source { path, wasm: None });
    }
    let manifest: Value = std::fs::read(path.join("manifest.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null);
    if manifest.get("wasm").is_some() {
        return Ok(Source { path, wasm: None });
    }
    let meta = Command::new("cargo")
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .current_dir(&path)
        .output()
        .map_err(|e| OpError::unavailable(format!("cannot run cargo to find the module of {}: {e}", path.display())))?;
    if !meta.status.success() {
        return Err(OpError::invalid(format!(
            "cargo metadata failed in {}: {}",
            path.display(),
            String::from_utf8_lossy(&meta.stderr).trim()
        )));
    }
    let meta: Value =
        serde_json::from_slice(&meta.stdout).map_err(|e| OpError::internal(format!("cargo metadata: {e}")))?;
    let manifest_path = path.join("Cargo.toml");
    let package = meta["packages"]
        .as_array()
        .and_then(|ps| {
            ps.iter().find(|p| p["manifest_path"].as_str().map(PathBuf::from).as_deref() == Some(&manifest_path))
        })
        .ok_or_else(|| OpError::invalid(format!("{} is not a cargo package", path.display())))?;
    let name = package["name"].as_str().unwrap_or_default().replace('-', "_");
    let target_dir = PathBuf::from(meta["target_directory"].as_str().unwrap_or("target"));
    let wasm = target_dir.join("wasm32-unknown-unknown/release").join(format!("{name}.wasm"));
    let built = std::fs::metadata(&wasm).and_then(|m| m.modified()).ok();
    let stale = match (
        built,
        newest_mtime(&path.join("src")),
        std::fs::metadata(path.join("manifest.json")).and_then(|m| m.modified()).ok(),
    ) {
        (None, _, _) => true,
        (Some(b), src, man) => src.is_some_and(|s| s > b) || man.is_some_and(|m| m > b),
    };
    if stale || force {
        eprintln!("building {} for wasm32-unknown-unknown (release)...", path.display());
        let status = Command::new("cargo")
            .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
            .current_dir(&path)
            .status()
            .map_err(|e| OpError::unavailable(format!("cannot run cargo: {e}")))?;
        if !status.success() {
            return Err(OpError::invalid(format!(
                "building {} failed; is the target installed (`rustup target add wasm32-unknown-unknown`)?",
                path.display()
            )));
        }
    }
    if !wasm.is_file() {
        return Err(OpError::not_found(format!("cargo did not produce {}", wasm.display())));
    }
    Ok(Source { path, wasm: Some(wasm) })
}
