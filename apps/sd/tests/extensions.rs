//! test-extension, built from source and installed with the real CLI, in
//! process and through the daemon.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;

use common::{Daemon, sd, sd_json};

fn test_extension_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../extensions/test-extension")
}

fn greeting_entries(dir: &std::path::Path) -> serde_json::Value {
    sd_json(dir, &["search", "--where", "test-extension.greeting=hello from wasm"])
}

#[test]
fn test_extension_installs_from_its_cargo_folder_and_works_through_the_daemon() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    let ext = test_extension_dir();
    let ext = ext.to_str().unwrap();

    // Without consent nothing is installed, and the permissions are shown.
    let out = sd(dir, &["ext", "install", ext]);
    assert!(!out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    // Each prefix lists the operations it reaches, destructive ones marked.
    assert!(shown.contains("call operations under `vdfs.`, which today reaches:"), "{shown}");
    let line = |method: &str| shown.lines().find(|l| l.contains(method)).unwrap_or_else(|| panic!("{method}: {shown}"));
    assert!(line("action:vdfs.write_sidecar.input.v1").trim_start().starts_with("! DESTRUCTIVE"), "{shown}");
    assert!(line("action:vdfs.update_metadata.input.v1").trim_start().starts_with("! DESTRUCTIVE"), "{shown}");
    assert!(line("action:vdfs.create_entry.input.v1").trim_start().starts_with("WRITE"), "{shown}");
    assert!(line("query:libraries.list.v1").trim_start().starts_with("READ"), "{shown}");
    assert!(shown.contains("use libraries: every library, present and future"), "{shown}");
    assert!(shown.contains("reach the network: no"), "{shown}");
    assert!(shown.contains("! marks operations that delete or overwrite data."), "{shown}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(sd_json(dir, &["ext", "list"]).as_array().unwrap().len(), 0);

    let info = sd_json(dir, &["ext", "install", ext, "--yes"]);
    assert_eq!(info["id"], "test-extension");
    // No daemon: nothing keeps it loaded once the command ends.
    assert_eq!(info["state"], "installed", "{info}");
    assert_eq!(sd_json(dir, &["ext", "list"])[0]["where"], "no daemon is running; it loads when used");
    // Installing the same version again asks for nothing new: no consent.
    let again = sd(dir, &["ext", "install", ext]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    // `sd ops` shows who may call each operation.
    let out = sd(dir, &["ops"]);
    let ops = String::from_utf8_lossy(&out.stdout);
    let row = ops.lines().find(|l| l.starts_with("action:libraries.remove.input.v1")).unwrap();
    assert!(row.split_whitespace().any(|w| w == "person"), "{row}");
    // Its init pinged the core and created one tagged entry, with a sidecar.
    let found = greeting_entries(dir);
    assert_eq!(found["total"], 1, "{found}");
    let entry = &found["results"][0]["entry"];
    assert_eq!(entry["owner"], "test-extension");
    assert_eq!(entry["kind"], "note");
    let detail = sd_json(dir, &["entry", "show", entry["id"].as_str().unwrap()]);
    assert_eq!(detail["metadata"]["test-extension"]["created_by"], "extension:test-extension");
    assert_eq!(detail["sidecars"][0]["name"], "note.txt");
    let hits = sd_json(dir, &["search", "webassembly extension"]);
    assert_eq!(hits["results"][0]["reasons"][0]["source"], "sidecar:test-extension/note.txt", "{hits}");

    // Its operation, from the CLI in-process.
    let hello = sd_json(dir, &["call", "query:test-extension.hello.v1", r#"{"name":"Ada"}"#]);
    assert_eq!(hello["greeting"], "Hello, Ada!");
    assert_eq!(hello["entries"], 1);
    let out = sd(dir, &["call", "query:test-extension.hello.v1", r#"{"name":" "}"#]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_input: name must not be empty"));

    // The daemon loads it at start; init is idempotent.
    let _daemon = Daemon::start(dir);
    let info = sd_json(dir, &["ext", "info", "test-extension"]);
    assert_eq!(info["state"], "loaded", "{info}");
    assert_eq!(info["where"], "by the daemon", "{info}");
    let shown = String::from_utf8_lossy(&sd(dir, &["ext", "list"]).stdout).to_string();
    assert!(shown.contains("loaded (by the daemon)"), "{shown}");
    assert!(info["stats"]["calls"].as_u64().unwrap() >= 3, "init made calls: {info}");
    assert_eq!(greeting_entries(dir)["total"], 1);
    let hello = sd_json(dir, &["call", "query:test-extension.hello.v1", r#"{"name":"Grace"}"#]);
    assert_eq!(hello["greeting"], "Hello, Grace!");
    let ops = sd_json(dir, &["ops"]);
    assert!(ops.as_array().unwrap().iter().any(|o| o["method"] == "query:test-extension.hello.v1"));

    sd_json(dir, &["ext", "remove", "test-extension"]);
    assert_eq!(sd_json(dir, &["ext", "list"]).as_array().unwrap().len(), 0);
    let out = sd(dir, &["call", "query:test-extension.hello.v1", r#"{"name":"x"}"#]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown method"));
}

#[test]
fn the_wasm_file_alone_is_enough() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    // Build (or find) the module through a first install, then copy it alone.
    sd_json(dir, &["ext", "install", test_extension_dir().to_str().unwrap(), "--yes"]);
    sd_json(dir, &["ext", "remove", "test-extension"]);
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../extensions/target/wasm32-unknown-unknown/release/test_extension.wasm");
    let alone = tempfile::tempdir().unwrap();
    let wasm = alone.path().join("renamed.wasm");
    std::fs::copy(&built, &wasm).unwrap();
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size < 512 * 1024, "release module is {size} bytes");
    let info = sd_json(dir, &["ext", "install", wasm.to_str().unwrap(), "--yes"]);
    assert_eq!(info["id"], "test-extension");
    assert_eq!(info["operations"][0]["method"], "query:test-extension.hello.v1");
    assert_eq!(greeting_entries(dir)["total"], 1);
}
