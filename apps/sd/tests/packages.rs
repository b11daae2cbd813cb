//! test-extension as its publisher and its users handle it: signed with
//! `sd ext pack`, served on loopback, installed by URL and from an index,
//! refused when tampered with or signed by someone else, updated with
//! consent when it asks for more, and downgraded only when asked.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};

use common::{pack_test_extension_as, sd, sd_json, serve_dir};
use serde_json::{Value, json};

fn test_extension_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../extensions/test-extension")
}

fn refused(dir: &Path, args: &[&str]) -> String {
    let out = sd(dir, args);
    assert!(!out.status.success(), "sd {args:?} succeeded: {}", String::from_utf8_lossy(&out.stdout));
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn hello(dir: &Path) {
    let out = sd_json(dir, &["call", "query:test-extension.hello.v1", r#"{"name":"Ada"}"#]);
    assert!(out.to_string().contains("Ada"), "{out}");
}

/// Packs `src` signed with `key` into `out`; returns what `pack` said.
fn pack(dir: &Path, src: &Path, key: &str, out: &Path) -> Value {
    sd_json(dir, &["ext", "pack", src.to_str().unwrap(), "--sign", key, "-o", out.to_str().unwrap()])
}

#[test]
fn a_package_is_packed_served_installed_by_url_and_refused_when_changed_or_signed_by_another_key() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let site = tempfile::tempdir().unwrap();
    let base = serve_dir(site.path());
    sd_json(dir, &["library", "create", "main"]);
    let alice = sd_json(dir, &["ext", "key", "new", "alice"]);
    let mallory = sd_json(dir, &["ext", "key", "new", "mallory"]);
    let fp = |k: &Value| k["publisher"]["fingerprint"].as_str().unwrap().to_string();
    let keys = sd_json(dir, &["ext", "key", "list"]);
    assert_eq!(keys.as_array().unwrap().len(), 2, "{keys}");
    assert!(!keys.to_string().contains("seed"), "a secret was shown: {keys}");

    // Pack the crate (it is built first) and serve it.
    let packed = pack(dir, &test_extension_dir(), "alice", site.path());
    let file = PathBuf::from(packed["output"].as_str().unwrap());
    assert_eq!(file.parent().unwrap(), site.path());
    let name = file.file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with("test-extension-") && name.ends_with(".sdpkg"), "{name}");
    let url = format!("{base}/{name}");

    // The consent screen names the publisher; --yes installs.
    let shown = refused(dir, &["ext", "install", &url]);
    assert!(shown.contains(&format!("Publisher: key {} (signature verified)", fp(&alice))), "{shown}");
    assert!(shown.contains("--yes"), "{shown}");
    let info = sd_json(dir, &["ext", "install", &url, "--yes"]);
    assert_eq!(info["publisher"]["fingerprint"], fp(&alice).as_str(), "{info}");
    hello(dir);

    // A tampered copy: refused, even with --allow-unsigned.
    let mut bytes = std::fs::read(&file).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(site.path().join("tampered.sdpkg"), &bytes).unwrap();
    let tampered = format!("{base}/tampered.sdpkg");
    let why = refused(dir, &["ext", "install", &tampered, "--yes", "--allow-unsigned"]);
    assert!(why.contains("changed after it was signed"), "{why}");
    // A copy signed by another key: refused, both keys named.
    let other = site.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let forged = pack(dir, &test_extension_dir(), "mallory", &other);
    let forged_url = format!(
        "{base}/other/{}",
        Path::new(forged["output"].as_str().unwrap()).file_name().unwrap().to_str().unwrap()
    );
    let why = refused(dir, &["ext", "install", &forged_url, "--yes", "--allow-unsigned"]);
    assert!(why.contains(&fp(&alice)) && why.contains(&fp(&mallory)), "{why}");
    // A bare module needs --allow-unsigned, and the pin refuses it anyway.
    let bare = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../extensions/target/wasm32-unknown-unknown/release/test_extension.wasm");
    let why = refused(dir, &["ext", "install", bare.to_str().unwrap(), "--yes", "--allow-unsigned"]);
    assert!(why.contains("this one is unsigned"), "{why}");
    // The installed one still answers, signed by the first key.
    hello(dir);
    let info = sd_json(dir, &["ext", "info", "test-extension"]);
    assert_eq!(info["publisher"]["fingerprint"], fp(&alice).as_str());
    assert_eq!(info["module_hash"], packed_module_hash(dir, &file));
}

/// The module hash `extensions.inspect` reports for a package file.
fn packed_module_hash(dir: &Path, file: &Path) -> String {
    let payload = json!({ "path": file }).to_string();
    let seen = sd_json(dir, &["call", "query:extensions.inspect.v1", &payload]);
    seen["module_blake3"].as_str().unwrap().to_string()
}

#[test]
fn an_index_lists_updates_and_an_update_asking_for_more_needs_yes() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let site = tempfile::tempdir().unwrap();
    let base = serve_dir(site.path());
    sd_json(dir, &["library", "create", "main"]);
    let key = sd_json(dir, &["ext", "key", "new", "publisher"]);

    // Version 1 as built; 9.0.0 the same module asking for `http.` too.
    let v1 = pack(dir, &test_extension_dir(), "publisher", site.path());
    let later = tempfile::tempdir().unwrap();
    let v2 = pack_test_extension_as(dir, "publisher", later.path(), "9.0.0", &["http."]);
    // The publisher writes the index from the packages in the folder.
    let built = sd_json(dir, &["ext", "index", "build", site.path().to_str().unwrap()]);
    assert_eq!(built["extensions"][0]["publisher"], key["publisher"]["key"], "{built}");
    assert_eq!(built["extensions"][0]["versions"][0]["blake3"], v1["blake3"], "{built}");
    let index_url = format!("{base}/index.json");
    sd_json(dir, &["ext", "index", "add", &index_url]);
    let found = sd_json(dir, &["ext", "search", "host"]);
    assert_eq!(found[0]["id"], "test-extension", "{found}");
    let out = sd(dir, &["ext", "search", "host"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("test-extension"));

    let installed = sd_json(dir, &["ext", "install", "test-extension", "--yes"]);
    assert_eq!(installed["version"], v1["version"]);
    hello(dir);
    assert_eq!(sd_json(dir, &["ext", "outdated"]), json!([]));

    // 9.0.0 asks for more: listed, and updated only with --yes.
    let v2_file = Path::new(v2["output"].as_str().unwrap());
    std::fs::copy(v2_file, site.path().join(v2_file.file_name().unwrap())).unwrap();
    let built = sd_json(dir, &["ext", "index", "build", site.path().to_str().unwrap()]);
    assert_eq!(built["extensions"][0]["versions"].as_array().unwrap().len(), 2, "{built}");
    let outdated = sd(dir, &["ext", "outdated"]);
    let listed = String::from_utf8_lossy(&outdated.stdout).to_string();
    assert!(listed.contains("test-extension") && listed.contains("-> 9.0.0"), "{listed}");
    let shown = refused(dir, &["ext", "update"]);
    assert!(shown.contains("+ call operations under: http."), "{shown}");
    assert!(shown.contains("--yes"), "{shown}");
    assert_eq!(sd_json(dir, &["ext", "info", "test-extension"])["version"], v1["version"]);
    let updated = sd_json(dir, &["ext", "update", "test-extension", "--yes"]);
    assert_eq!(updated["updated"][0]["version"], "9.0.0", "{updated}");
    hello(dir);
    assert_eq!(sd_json(dir, &["ext", "outdated"]), json!([]));

    // Back to version 1: only with --allow-downgrade.
    let old = format!("test-extension@{}", v1["version"].as_str().unwrap());
    let why = refused(dir, &["ext", "install", &old, "--yes"]);
    assert!(why.contains("--allow-downgrade"), "{why}");
    let back = sd_json(dir, &["ext", "install", &old, "--yes", "--allow-downgrade"]);
    assert_eq!(back["version"], v1["version"]);
    hello(dir);
}
