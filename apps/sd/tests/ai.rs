//! The AI operations through the real binary: semantic search from the
//! command line, and clear errors when a part is missing.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::process::Command;

use common::{SD, sd_json};

/// A 1 × 1 white PNG.
const PNG_1X1: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAAACklEQVR4nGP4DwABAQEAsTj2FAAAAABJRU5ErkJggg==";

fn run(dir: &std::path::Path, env: &[(&str, &str)], args: &[&str]) -> (bool, String) {
    let mut cmd = Command::new(SD);
    cmd.env("SD_DATA_DIR", dir).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn missing_parts_are_named_with_their_fix() {
    let data = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let (ok, err) = run(
        data.path(),
        &[("SD_MODEL_DIR", empty.path().to_str().unwrap())],
        &["call", "query:ai.embed.v1", r#"{"texts": ["hello"]}"#],
    );
    assert!(!ok);
    assert!(err.contains("unavailable") && err.contains("bash scripts/fetch-model.sh"), "{err}");
    let payload = format!(r#"{{"data_base64": "{PNG_1X1}"}}"#);
    let (ok, err) = run(data.path(), &[("PATH", "/nonexistent")], &["call", "query:ai.ocr.v1", &payload]);
    assert!(!ok);
    assert!(err.contains("unavailable") && err.contains("apt-get install tesseract-ocr"), "{err}");
}

#[test]
fn sd_search_semantic_ranks_by_meaning() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    for name in ["taxi-to-jfk-airport.pdf", "grocery-list.txt", "tax-return-2025.pdf"] {
        sd_json(dir, &["entry", "create", name, "--kind", "doc"]);
    }
    let v = sd_json(dir, &["search", "--semantic", "cab ride for a flight"]);
    assert_eq!(v["results"][0]["entry"]["name"], "taxi-to-jfk-airport.pdf", "{v}");
    assert_eq!(v["results"][0]["reasons"][0]["source"], "semantic");
    assert_eq!(v["pending"], 0);
}
