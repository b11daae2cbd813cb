//! The harness builds a crate through `spacedrive-build` (the code `sd ext
//! install` and `sd ext build` use) and runs it in a real host.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use spacedrive_test::{ErrorCode, Host};

#[test]
fn a_crate_is_built_installed_and_called() {
    let host = Host::new().unwrap();
    let krate = concat!(env!("CARGO_MANIFEST_DIR"), "/../test-extension");
    let info = host.install_crate(krate).unwrap();
    assert_eq!(info["id"], "test-extension", "{info}");
    let out = host.call("query:test-extension.hello.v1", json!({ "name": "Ada" })).unwrap();
    assert_eq!(out["greeting"], "Hello, Ada!");

    // A folder without a crate is refused, naming it.
    let empty = tempfile::tempdir().unwrap();
    let e = host.install_crate(empty.path()).unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
    assert!(e.message.contains("no Cargo.toml"), "{e}");
}
