//! The Finance extension as a person uses it, through the real `sd` binary
//! and daemon: install, import (SIGKILLed midway, resumed on restart with
//! nothing lost and nothing twice), query, summarise, search, recategorise.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{self, Daemon, sd, sd_json};

fn finance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../extensions/finance")
}

/// Vendors with what they sell and their category.
const SHOPS: &[(&str, &str, &str, &str)] = &[
    ("Harbor Coffee Roasters", "harborcoffee.com", "Cappuccino", "dining"),
    ("Fresh Fields Market", "freshfields.com", "Organic milk", "groceries"),
    ("Skyline Airways", "skylineair.com", "Flight SFO-SEA", "travel"),
    ("Metro Parking", "metroparking.com", "Parking 2 hours", "transport"),
    ("Quick Pharmacy", "quickpharmacy.com", "Prescription copay", "health"),
];

/// `n` receipts as text files and emails, each with a distinct total in
/// cents: `10.00 + i/100`.
fn write_receipts(dir: &Path, n: usize) -> Vec<(String, f64, &'static str)> {
    let mut out = Vec::new();
    for i in 0..n {
        let (shop, domain, item, category) = SHOPS[i % SHOPS.len()];
        let total = 10.0 + i as f64 / 100.0;
        let day = 1 + i % 28;
        let month = 1 + (i / 28) % 12;
        let body = format!(
            "{shop}\n100 Harbor Way, Springfield\nDate: 2026-{month:02}-{day:02}\n\n{item}    {total:.2}\nSubtotal    {total:.2}\nTotal    ${total:.2}\nVISA **** 4242    {total:.2}\n\nThank you for shopping at {shop}!\n"
        );
        let sub = format!("{:02}", i % 50);
        std::fs::create_dir_all(dir.join(&sub)).unwrap();
        if i % 2 == 0 {
            std::fs::write(dir.join(&sub).join(format!("r{i:05}.txt")), body).unwrap();
        } else {
            let eml = format!(
                "From: {shop} <receipts@{domain}>\r\nSubject: Your receipt from {shop}\r\nDate: Mon, {day} Mar 2026 10:00:00 +0000\r\nMessage-ID: <r{i}@{domain}>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{}",
                body.replace('\n', "\r\n")
            );
            std::fs::write(dir.join(&sub).join(format!("r{i:05}.eml")), eml).unwrap();
        }
        out.push((shop.to_string(), (total * 100.0).round() / 100.0, category));
    }
    out
}

fn expenses(dir: &Path, filter: &str) -> Vec<serde_json::Value> {
    let out = sd_json(dir, &["call", "query:finance.expenses.v1", filter]);
    out["expenses"].as_array().unwrap().clone()
}

#[test]
fn import_survives_sigkill_then_queries_summaries_search_and_recategorisation_work() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let tree = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tree.path()).unwrap();
    let receipts = write_receipts(&root, 1200);

    let mut daemon = Daemon::start(dir);
    let lib = sd_json(dir, &["library", "create", "money"])["id"].as_str().unwrap().to_string();
    let installed = sd_json(dir, &["ext", "install", finance_dir().to_str().unwrap(), "--yes"]);
    assert_eq!(installed["id"], "finance", "{installed}");

    // Import from a separate CLI process, and SIGKILL the daemon midway.
    sd_json(dir, &["ext", "grant", "finance", "--path", root.to_str().unwrap()]);
    let input = serde_json::json!({ "path": root }).to_string();
    let mut run = std::process::Command::new(common::SD)
        .args(["ext", "run", "finance", "import", &input])
        .env("SD_DATA_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let db = dir.join("libraries").join(&lib).join("library.db");
    let imported = || -> i64 {
        let Ok(conn) = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
            return 0;
        };
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.query_row("SELECT COUNT(*) FROM metadata WHERE namespace = 'finance' AND key = 'key'", [], |r| r.get(0))
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    while imported() < 60 {
        assert!(Instant::now() < deadline, "the import never got going");
        std::thread::sleep(Duration::from_millis(10));
    }
    daemon.kill9();
    let _ = run.wait();
    let at_kill = imported();
    assert!((at_kill as usize) < receipts.len(), "the import finished before the kill; use more receipts");

    // The restarted daemon resumes the job from its checkpoint.
    let _daemon = Daemon::start(dir);
    let info = common::resumed_job_completes(dir, "import", Duration::from_secs(300));
    assert_eq!(info["runs"], 2, "{info}");

    // Nothing lost, nothing twice.
    let listed = expenses(dir, "{}");
    assert_eq!(listed.len(), receipts.len());
    let totals: BTreeSet<i64> = listed.iter().map(|e| (e["total"].as_f64().unwrap() * 100.0).round() as i64).collect();
    let want: BTreeSet<i64> = receipts.iter().map(|(_, t, _)| (t * 100.0).round() as i64).collect();
    assert_eq!(totals, want);
    for e in &listed {
        let (shop, _, category) =
            receipts.iter().find(|(_, t, _)| (t - e["total"].as_f64().unwrap()).abs() < 0.005).unwrap();
        assert_eq!(e["vendor"], *shop, "{e}");
        assert_eq!(e["category"], *category, "{e}");
        assert_eq!(e["currency"], "USD", "{e}");
    }

    // Queries a person runs.
    let dining = expenses(dir, r#"{"from": "2026-01-01", "category": "dining"}"#);
    assert_eq!(dining.len(), receipts.iter().filter(|r| r.2 == "dining").count());
    let summary = sd_json(dir, &["call", "query:finance.summary.v1", r#"{"year": 2026}"#]);
    let sum: f64 = receipts.iter().map(|r| r.1).sum();
    assert!((summary["currencies"]["USD"]["total"].as_f64().unwrap() - sum).abs() < 0.05, "{summary}");
    let travel = sd_json(dir, &["search", "--where", "finance.category=travel", "--limit", "1000"]);
    assert_eq!(travel["total"].as_u64().unwrap() as usize, receipts.iter().filter(|r| r.2 == "travel").count());
    let csv = sd_json(dir, &["call", "query:finance.export.v1", r#"{"category": "health"}"#]);
    assert_eq!(csv["csv"].as_str().unwrap().lines().count(), 1 + receipts.iter().filter(|r| r.2 == "health").count());

    // Recategorising one receipt files its vendor's other receipts too.
    let entry = dining[0]["entry_id"].as_str().unwrap();
    let payload = format!(r#"{{"entry_id": "{entry}", "category": "entertainment"}}"#);
    let out = sd(dir, &["call", "action:finance.recategorize.input.v1", &payload]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(expenses(dir, r#"{"category": "dining"}"#).is_empty());
}

#[test]
fn a_receipt_dropped_into_a_watched_folder_is_imported_without_a_rescan() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let tree = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tree.path()).unwrap();
    let _daemon = Daemon::start(dir);
    sd_json(dir, &["library", "create", "money"]);
    sd_json(dir, &["ext", "install", finance_dir().to_str().unwrap(), "--yes"]);
    sd_json(dir, &["location", "add", root.to_str().unwrap()]);
    let granted = sd_json(dir, &["ext", "grant", "finance", "--path", root.to_str().unwrap()]);
    assert_eq!(granted["path"], root.to_str().unwrap(), "{granted}");
    let config = serde_json::json!({ "watch_locations": [root] }).to_string();
    sd_json(dir, &["call", "action:finance.configure.input.v1", &config]);

    // The daemon notices the new file, rescans, and the event imports it.
    write_receipts(&root, 3);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listed = expenses(dir, "{}");
        if listed.len() == 3 {
            break;
        }
        assert!(Instant::now() < deadline, "the new receipts were never imported: {listed:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}
