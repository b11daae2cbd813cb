//! The harness on test-extension's release module (built by the test
//! command): its operation, its counter job to the end, and the entry its
//! init created, read back.
#![allow(clippy::unwrap_used)]

use serde_json::json;
use spacedrive_test::Host;

#[test]
fn test_extension_answers_runs_its_job_and_writes_entries() {
    let wasm = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/wasm32-unknown-unknown/release/test_extension.wasm");
    assert!(wasm.is_file(), "build the extensions first: (cd extensions && cargo build --release)");
    let host = Host::new().unwrap();
    let info = host.install(&wasm).unwrap();
    assert_eq!(info["id"], "test-extension");

    let hello = host.call("query:test-extension.hello.v1", json!({ "name": "Ada" })).unwrap();
    assert_eq!(hello["greeting"], "Hello, Ada!");
    let err = host.call("query:test-extension.hello.v1", json!({ "name": " " })).unwrap_err();
    assert_eq!(err.code, spacedrive_test::ErrorCode::InvalidInput);

    let job = host.run_job("test-extension", "counter", json!({ "current": 0, "target": 250 })).unwrap();
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["output"]["current"], 250);
    assert_eq!(job["checkpoints"], 3);

    // Its init created one tagged entry in the library, with a sidecar.
    let entries = host.entries("test-extension").unwrap();
    let tagged: Vec<_> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| entries["metadata"][e["id"].as_str().unwrap()]["greeting"] == "hello from wasm")
        .collect();
    assert_eq!(tagged.len(), 1, "{entries}");
    let hits = host.search("webassembly extension").unwrap();
    assert_eq!(hits["results"][0]["reasons"][0]["source"], "sidecar:test-extension/note.txt", "{hits}");
}
