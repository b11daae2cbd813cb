//! Extension jobs through the real daemon: SIGKILL in the middle of a job,
//! and steering a job from other clients.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::{Daemon, sd, sd_json};
use serde_json::Value;

fn install_test_extension(dir: &std::path::Path) {
    let ext = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../extensions/test-extension");
    sd_json(dir, &["ext", "install", ext.to_str().unwrap(), "--yes"]);
}

fn wait_until(dir: &std::path::Path, id: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let info = sd_json(dir, &["job", "info", id]);
        if done(&info) {
            return info;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {info}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_killed_daemon_resumes_the_counter_from_its_last_checkpoint() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    install_test_extension(dir);
    let mut daemon = Daemon::start(dir);
    let input = r#"{"current":0,"target":10000,"checkpoint_every":100,"sleep_ms":30}"#;
    let started = sd_json(dir, &["ext", "run", "test-extension", "counter", input, "--detach"]);
    let id = started["id"].as_str().unwrap().to_string();
    let before = wait_until(dir, &id, "a few checkpoints", |i| i["checkpoints"].as_u64().unwrap_or(0) >= 5);
    assert_eq!(before["state"], "running");
    daemon.kill9();

    let db = dir.join("libraries").join(before["library_id"].as_str().unwrap()).join("library.db");
    let (state, checkpoint): (String, String) = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("SELECT state, checkpoint FROM jobs WHERE id = ?1", [&id], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap();
    assert_eq!(state, "running", "the record still says running after the kill");
    let at_kill: Value = serde_json::from_str(&checkpoint).unwrap();
    let at_kill = at_kill["current"].as_u64().unwrap();
    assert!((500..10_000).contains(&at_kill), "checkpoint at {at_kill}");
    // Clients are not told it runs: nothing does until a daemon starts.
    let shown = sd_json(dir, &["job", "info", &id]);
    assert_eq!(shown["state"], "queued", "{shown}");

    let _daemon = Daemon::start(dir);
    let done = wait_until(dir, &id, "completion", |i| i["state"] == "completed");
    assert_eq!(done["output"]["current"], 10_000, "{done}");
    assert_eq!(done["runs"], 2);
    assert_eq!(
        done["resumed_from"]["current"], at_kill,
        "the job resumed from the last checkpoint before the kill, not from zero"
    );
    assert_eq!(done["progress"], 1.0);
}

#[test]
fn jobs_are_paused_resumed_and_cancelled_from_other_clients() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    install_test_extension(dir);
    let _daemon = Daemon::start(dir);
    let input = r#"{"current":0,"target":3000,"checkpoint_every":100,"sleep_ms":30}"#;
    let id = sd_json(dir, &["ext", "run", "test-extension", "counter", input, "--detach"])["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Another client follows it with `sd job watch --json` (JSON lines).
    let watcher = std::process::Command::new(common::SD)
        .args(["--json", "job", "watch", &id])
        .env("SD_DATA_DIR", dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();

    wait_until(dir, &id, "progress", |i| i["checkpoints"].as_u64().unwrap_or(0) >= 2);
    let paused = sd_json(dir, &["job", "pause", &id]);
    assert!(["running", "paused"].contains(&paused["state"].as_str().unwrap()));
    let paused = wait_until(dir, &id, "the pause", |i| i["state"] == "paused");
    let out = watcher.wait_with_output().unwrap();
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(lines.len() >= 2, "{lines:?}");
    assert!(lines.iter().any(|l| l["state"] == "running"));
    assert_eq!(lines.last().unwrap()["state"], "paused", "watch ends when the job pauses");

    let text = String::from_utf8(sd(dir, &["job", "list"]).stdout).unwrap();
    assert!(text.contains("paused") && text.contains("test-extension/counter"), "{text}");
    sd_json(dir, &["job", "resume", &id]);
    // With --json, watch prints progress as JSON lines, then the final record.
    let out = sd(dir, &["--json", "job", "watch", &id]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let done: Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["output"]["current"], 3000);
    assert_eq!(done["resumed_from"], paused["checkpoint"]);

    let id = sd_json(dir, &["ext", "run", "test-extension", "counter", input, "--detach"])["id"]
        .as_str()
        .unwrap()
        .to_string();
    wait_until(dir, &id, "start", |i| i["state"] == "running");
    sd_json(dir, &["job", "cancel", &id]);
    let cancelled = wait_until(dir, &id, "the cancel", |i| i["state"] == "cancelled");
    assert!(cancelled["output"].is_null());
    let out = sd(dir, &["job", "resume", &id]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("conflict"));

    // `sd ext run` without --detach follows the job to the end.
    let out = sd(dir, &["ext", "run", "test-extension", "counter", r#"{"current":0,"target":50}"#]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("completed") && text.contains("50 items"), "{text}");
}

#[test]
fn a_job_whose_command_exits_is_queued_not_running_and_sd_job_run_finishes_it() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    install_test_extension(dir);
    // No daemon: the job starts in the process of `sd call`, which exits.
    let input = r#"{"current":0,"target":1500,"checkpoint_every":50,"sleep_ms":4}"#;
    let payload = format!(r#"{{"extension":"test-extension","job":"counter","input":{input}}}"#);
    let out = sd(dir, &["call", "action:jobs.dispatch.input.v1", &payload]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let note = String::from_utf8_lossy(&out.stderr);
    assert!(note.contains("left queued") && note.contains("sd job run"), "{note}");
    let id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["id"].as_str().unwrap().to_string();

    let info = sd_json(dir, &["job", "info", &id]);
    assert_eq!(info["state"], "queued", "{info}");
    assert!(info["message"].as_str().unwrap().contains(&format!("sd job run {id}")), "{info}");
    assert_eq!(sd_json(dir, &["job", "list", "--state", "running"]), serde_json::json!([]));
    let text = String::from_utf8(sd(dir, &["job", "list"]).stdout).unwrap();
    assert!(!text.contains("running") && text.contains("queued"), "{text}");
    // Following it without a daemon says what to do instead of waiting forever.
    let out = sd(dir, &["job", "watch", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sd job run"), "{}", String::from_utf8_lossy(&out.stderr));

    // `sd job run` takes it on here; SIGKILL that process mid-way.
    let mut runner = std::process::Command::new(common::SD)
        .args(["job", "run", &id])
        .env("SD_DATA_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let seen = wait_until(dir, &id, "the run to checkpoint", |i| {
        i["state"] == "running" && i["checkpoints"].as_u64().unwrap_or(0) >= 3
    });
    runner.kill().unwrap();
    runner.wait().unwrap();
    let info = sd_json(dir, &["job", "info", &id]);
    assert_eq!(info["state"], "queued", "a killed runner's job is not shown running: {info}");
    assert!(info["message"].as_str().unwrap().contains("sd daemon"), "{info}");
    assert_eq!(sd_json(dir, &["job", "list", "--state", "queued"])[0]["id"], id.as_str());

    // A job nothing runs pauses as it is; resumed without a daemon, the
    // command follows it to the end.
    assert_eq!(sd_json(dir, &["job", "pause", &id])["state"], "paused");
    let out = sd(dir, &["job", "run", &id]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("sd job resume"), "{out:?}");
    let done = sd_json(dir, &["job", "resume", &id]);
    assert_eq!(done["state"], "completed", "{done}");
    assert_eq!(done["output"]["current"], 1500);
    let resumed = done["resumed_from"]["current"].as_u64().unwrap();
    assert!(resumed >= seen["checkpoint"]["current"].as_u64().unwrap_or(0).max(50), "{done}");
    let out = sd(dir, &["job", "run", &id]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("already ended"));
}
