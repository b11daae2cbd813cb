//! Builds a Spacedrive extension crate for `wasm32-unknown-unknown` in
//! release and returns the module cargo reports it built. One piece of code
//! for everything that turns a crate into a module: `sd ext install` and
//! `sd ext build` on a crate folder, and the `spacedrive-test` harness.
//!
//! Cargo decides what to rebuild; the module's path comes from cargo's own
//! report (`--message-format=json`), never from guessing the target folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sd_core::{OpError, OpResult};
use serde_json::Value;

/// The target every extension module is built for.
pub const TARGET: &str = "wasm32-unknown-unknown";

/// How to build.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Cargo's target folder; cargo's own choice when `None`.
    pub target_dir: Option<PathBuf>,
    /// Keep the compiler's messages for the error instead of letting cargo
    /// print them (a test harness, where stderr is the test's).
    pub capture: bool,
}

/// Whether `dir` holds a cargo crate to build into a module: a `Cargo.toml`,
/// and no `manifest.json` that names a ready module under `wasm`.
pub fn is_crate(dir: &Path) -> bool {
    if !dir.join("Cargo.toml").is_file() {
        return false;
    }
    let manifest: Option<Value> =
        std::fs::read(dir.join("manifest.json")).ok().and_then(|b| serde_json::from_slice(&b).ok());
    manifest.is_none_or(|m| m.get("wasm").is_none())
}

/// Fails with the command that fixes it when rustup says the wasm32 target
/// is not installed. Without rustup (a distribution's Rust) it passes, and
/// cargo's own error will say.
pub fn check_target() -> OpResult<()> {
    let Ok(out) = Command::new("rustup").args(["target", "list", "--installed"]).output() else { return Ok(()) };
    if out.status.success() && !String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET) {
        return Err(OpError::unavailable(format!(
            "the {TARGET} target is not installed: run `rustup target add {TARGET}`"
        )));
    }
    Ok(())
}

/// Builds the crate at `dir` and returns the path of its module.
pub fn build(dir: &Path, options: &Options) -> OpResult<PathBuf> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return Err(OpError::invalid(format!("{} has no Cargo.toml: not a crate to build", dir.display())));
    }
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo.args(["build", "--release", "--quiet", "--target", TARGET]);
    cargo.arg(if options.capture { "--message-format=json" } else { "--message-format=json-render-diagnostics" });
    // From the crate's folder, so its `.cargo/config.toml` applies as when
    // a person runs cargo there.
    cargo.arg("--manifest-path").arg(&manifest).current_dir(dir).stdout(Stdio::piped());
    cargo.stderr(if options.capture { Stdio::piped() } else { Stdio::inherit() });
    if let Some(target) = &options.target_dir {
        cargo.env("CARGO_TARGET_DIR", target);
    }
    let out = cargo.output().map_err(|e| OpError::unavailable(format!("cannot run cargo: {e}")))?;
    let messages: Vec<Value> =
        String::from_utf8_lossy(&out.stdout).lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    if !out.status.success() {
        // The compiler's messages, as cargo would have printed them.
        let rendered: String = messages.iter().filter_map(|m| m["message"]["rendered"].as_str()).collect();
        return Err(OpError::invalid(format!(
            "building {} for {TARGET} failed (is the target installed? `rustup target add {TARGET}`){}{}{}",
            dir.display(),
            if options.capture { ":\n" } else { "; cargo's messages are above" },
            rendered,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    module_of(&messages, &manifest).ok_or_else(|| {
        OpError::not_found(format!(
            "cargo built no .wasm for {}; is it a `cdylib` (`[lib] crate-type = [\"cdylib\"]`)?",
            dir.display()
        ))
    })
}

/// The `.wasm` artifact of the package whose manifest is `manifest`, from
/// cargo's JSON messages (dependencies are artifacts too, but no `.wasm`).
fn module_of(messages: &[Value], manifest: &Path) -> Option<PathBuf> {
    let manifest = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    let wasm_of = |m: &Value| -> Option<PathBuf> {
        m["filenames"]
            .as_array()?
            .iter()
            .filter_map(Value::as_str)
            .map(PathBuf::from)
            .find(|f| f.extension().is_some_and(|e| e == "wasm"))
    };
    let artifacts: Vec<&Value> = messages.iter().filter(|m| m["reason"] == "compiler-artifact").collect();
    let own = artifacts.iter().filter(|m| {
        m["manifest_path"].as_str().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.into()))
            == Some(manifest.clone())
    });
    own.filter_map(|m| wasm_of(m)).next_back().or_else(|| artifacts.iter().filter_map(|m| wasm_of(m)).next_back())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_module_is_the_crates_own_wasm_artifact() {
        let dir = tempfile::tempdir().expect("temp dir");
        let manifest = dir.path().join("Cargo.toml");
        std::fs::write(&manifest, "[package]").expect("write");
        let m = manifest.to_str().expect("utf-8 path");
        let messages = vec![
            json!({"reason": "compiler-artifact", "manifest_path": "/elsewhere/Cargo.toml", "filenames": ["/t/libdep.rlib"]}),
            json!({"reason": "compiler-artifact", "manifest_path": m, "filenames": ["/t/ext.wasm", "/t/libext.rlib"]}),
            json!({"reason": "build-finished", "success": true}),
        ];
        assert_eq!(module_of(&messages, &manifest), Some(PathBuf::from("/t/ext.wasm")));
        assert_eq!(module_of(&messages[..1], &manifest), None);
    }

    #[test]
    fn a_folder_is_a_crate_unless_its_manifest_names_a_ready_module() {
        let dir = tempfile::tempdir().expect("temp dir");
        assert!(!is_crate(dir.path()));
        std::fs::write(dir.path().join("Cargo.toml"), "[package]").expect("write");
        assert!(is_crate(dir.path()));
        std::fs::write(dir.path().join("manifest.json"), r#"{"wasm": "ext.wasm"}"#).expect("write");
        assert!(!is_crate(dir.path()));
        let e = build(&dir.path().join("nope"), &Options::default()).unwrap_err();
        assert_eq!(e.code, sd_core::ErrorCode::InvalidInput);
    }
}
