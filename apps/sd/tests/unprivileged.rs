//! What only shows when the indexer cannot read a file. Root reads
//! everything, so when the suite runs as root (as CI does) the scan runs as
//! `nobody`, through `setpriv`.
#![allow(clippy::unwrap_used)]

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::SD;

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Runs `sd --json ARGS` on `data`, as `nobody` when we are root.
fn sd_unprivileged(sd: &Path, data: &Path, args: &[&str]) -> Value {
    let mut cmd = if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(sd);
        c
    } else {
        Command::new(sd)
    };
    let out = cmd.arg("--data-dir").arg(data).arg("--json").args(args).env("SD_LOG", "error").output().unwrap();
    assert!(
        out.status.success(),
        "sd {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn unreadable_files_and_folders_are_warnings_and_the_rest_is_indexed() {
    let work = tempfile::tempdir().unwrap();
    chmod(work.path(), 0o755);
    // The binary, the data dir and the tree where `nobody` can reach them
    // (the build folder may not be).
    let sd = work.path().join("sd");
    std::fs::copy(SD, &sd).unwrap();
    chmod(&sd, 0o755);
    let data = work.path().join("data");
    std::fs::create_dir(&data).unwrap();
    chmod(&data, 0o777);
    let tree = work.path().join("tree");
    std::fs::create_dir(&tree).unwrap();
    std::fs::write(tree.join("ok.txt"), "fine").unwrap();
    std::fs::write(tree.join("secret.txt"), "hidden").unwrap();
    chmod(&tree.join("secret.txt"), 0o000);
    std::fs::create_dir(tree.join("locked")).unwrap();
    std::fs::write(tree.join("locked/inside.txt"), "unseen").unwrap();
    chmod(&tree.join("locked"), 0o000);

    sd_unprivileged(&sd, &data, &["library", "create", "t"]);
    let out = sd_unprivileged(&sd, &data, &["location", "add", tree.to_str().unwrap()]);
    let scan = &out["scan"];
    // The file that cannot be read and the folder that cannot be listed.
    assert_eq!(scan["warning_count"], 2, "{out}");
    let warnings = scan["warnings"].to_string();
    assert!(warnings.contains("secret.txt") && warnings.contains("locked"), "the warnings name them: {out}");
    assert_eq!(scan["files_hashed"], 1, "the readable file is still indexed: {out}");

    // Readable again: what it holds is indexed. Unreadable once more: what
    // is indexed of it stays, since nothing says it is gone.
    let rescan = |sd: &Path| sd_unprivileged(sd, &data, &["location", "rescan", tree.to_str().unwrap()]);
    chmod(&tree.join("locked"), 0o755);
    let out = rescan(&sd);
    assert_eq!(out["scan"]["added"], 1, "{out}");
    chmod(&tree.join("locked"), 0o000);
    let out = rescan(&sd);
    assert_eq!(out["scan"]["deleted"], 0, "{out}");
    assert!(out["scan"]["warnings"].to_string().contains("locked"), "{out}");
    chmod(&tree.join("locked"), 0o755);
}
