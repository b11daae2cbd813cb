//! `sd ext dev` on a cargo crate: rebuild when its sources change.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use notify::Watcher;
use sd_core::{OpError, OpResult};

/// Quiet time after the last change before a rebuild starts: an editor's
/// save (or `git checkout`) is several events.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// Watches `krate`'s sources (`src/`, `Cargo.toml`, `manifest.json` if any) and
/// rebuilds its module on every change until the future is dropped.
/// Compiler errors go to standard error as cargo prints them; the host keeps
/// the last good module, and reloads when a build writes a new one.
pub async fn rebuild_on_change(krate: PathBuf, wasm: PathBuf, id: String) -> OpResult<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
        if ev.is_ok_and(|ev| !matches!(ev.kind, notify::EventKind::Access(_))) {
            let _ = tx.send(());
        }
    })
    .map_err(|e| OpError::unavailable(format!("cannot watch {}: {e}", krate.display())))?;
    let watch = |w: &mut notify::RecommendedWatcher, path: &Path, mode| {
        w.watch(path, mode).map_err(|e| OpError::unavailable(format!("cannot watch {}: {e}", path.display())))
    };
    watch(&mut watcher, &krate.join("src"), notify::RecursiveMode::Recursive)?;
    // `manifest.json` only when the crate keeps one (the SDK's macros can
    // declare everything in the code).
    for file in ["Cargo.toml", "manifest.json"].map(|f| krate.join(f)).iter().filter(|p| p.is_file()) {
        watch(&mut watcher, file, notify::RecursiveMode::NonRecursive)?;
    }
    while rx.recv().await.is_some() {
        while let Ok(Some(())) = tokio::time::timeout(DEBOUNCE, rx.recv()).await {}
        eprintln!("{id}: sources changed; building...");
        let status = tokio::process::Command::new("cargo")
            .args(["build", "--release", "--target", "wasm32-unknown-unknown"])
            .current_dir(&krate)
            .status()
            .await
            .map_err(|e| OpError::unavailable(format!("cannot run cargo: {e}")))?;
        if !status.success() {
            eprintln!("{id}: the build failed (above); the last good version keeps running");
            continue;
        }
        // The host reloads when the module's file changes; touch it even when
        // cargo had nothing to rebuild, so a manifest edit reloads too.
        if let Err(e) =
            std::fs::File::options().append(true).open(&wasm).and_then(|f| f.set_modified(SystemTime::now()))
        {
            eprintln!("{id}: built, but could not touch {}: {e}", wasm.display());
        }
    }
    Ok(())
}
