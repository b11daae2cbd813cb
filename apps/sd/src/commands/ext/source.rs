//! Where an extension to install comes from: a folder with a manifest, a
//! cargo crate (built for wasm32 first), or a `.wasm` file.

use std::path::{Path, PathBuf};

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

/// Resolves PATH: a `.wasm` file, a folder whose `manifest.json` names its
/// module, or a cargo extension's folder, which is built (cargo rebuilds
/// only what changed) and whose module cargo reports.
pub fn resolve(path: &Path) -> OpResult<Source> {
    let path = std::fs::canonicalize(path).map_err(|e| OpError::not_found(format!("{}: {e}", path.display())))?;
    if path.is_file() || !spacedrive_build::is_crate(&path) {
        return Ok(Source { path, wasm: None });
    }
    eprintln!("building {} for {} (release)...", path.display(), spacedrive_build::TARGET);
    let wasm = spacedrive_build::build(&path, &spacedrive_build::Options::default())?;
    Ok(Source { path, wasm: Some(wasm) })
}

/// [`resolve`] for a crate only (`sd ext build`), after checking that the
/// wasm32 target is installed.
pub fn build(path: &Path) -> OpResult<Source> {
    spacedrive_build::check_target()?;
    let src = resolve(path)?;
    if src.wasm.is_none() {
        return Err(OpError::invalid(format!(
            "{} is not a cargo crate to build; `sd ext install` takes a folder with manifest.json and module as it is",
            src.path.display()
        )));
    }
    Ok(src)
}
