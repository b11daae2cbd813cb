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

#[test]
fn sd_search_semantic_returns_nothing_below_its_floor_and_leaves_no_job_running() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    // The folder is an entry too, under a random name (`.tmpXXXXXX`).
    let temp = tempfile::tempdir().unwrap();
    let tree = temp.path();
    // More entries than a search embeds within its own time budget.
    for i in 0..600 {
        std::fs::write(tree.join(format!("log-{i}.txt")), format!("log line {i}\n")).unwrap();
    }
    std::fs::write(tree.join("coffee-receipt.txt"), "Blue Bottle Coffee\nLatte 5.50\nTotal 5.50\n").unwrap();
    sd_json(dir, &["library", "create", "main"]);
    sd_json(dir, &["location", "add", tree.to_str().unwrap()]);
    let v = sd_json(dir, &["search", "--semantic", "a cafe purchase"]);
    assert_eq!(v["pending"], 0, "the command embedded everything before ranking: {v}");
    assert_eq!(v["results"][0]["entry"]["name"], "coffee-receipt.txt", "{v}");
    for hit in v["results"].as_array().unwrap() {
        let name = hit["entry"]["name"].as_str().unwrap();
        assert!(!name.starts_with("log-"), "a log line is not a cafe purchase: {v}");
        assert!(hit["score"].as_f64().unwrap() >= v["min_score"].as_f64().unwrap());
    }
    assert_eq!(v["total"].as_u64().unwrap(), v["results"].as_array().unwrap().len() as u64);
    assert!(v["compared"].as_u64().unwrap() > 600);
    let jobs = sd_json(dir, &["job", "list"]);
    assert!(jobs.as_array().unwrap().iter().all(|j| j["state"] == "completed"), "{jobs}");

    let out = common::sd(dir, &["search", "--semantic", "holiday photos at the beach"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let v = sd_json(dir, &["search", "--semantic", "holiday photos at the beach"]);
    let floor = format!("{:.2}", v["min_score"].as_f64().unwrap());
    assert!(text.contains("Nothing close in meaning") && text.contains(&floor), "{text}");
    // A lower floor, asked for, brings the nearest misses back.
    let v = sd_json(dir, &["search", "--semantic", "holiday photos at the beach", "--min-score", "-1", "--limit", "5"]);
    assert_eq!(v["results"].as_array().unwrap().len(), 5);
    assert!(v["total"].as_u64().unwrap() > 600);
}
