//! `sd credentials` and `sd events` through the real binary.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Daemon, SD, sd, sd_json};

#[test]
fn credentials_are_read_from_stdin_and_never_shown_back() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let add = |args: &[&str], stdin: &str| {
        let mut child = Command::new(SD)
            .env("SD_DATA_DIR", dir)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let out = add(&["--json", "credentials", "add", "openai", "--kind", "api-key"], "sk-top-secret\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = add(
        &[
            "credentials",
            "add",
            "gmail",
            "--kind",
            "oauth2",
            "--for",
            "finance",
            "--token-url",
            "https://oauth2.example.com/token",
            "--client-id",
            "cid",
            "--expires-in",
            "3600",
        ],
        r#"{"access_token": "ya29-secret", "refresh_token": "1//refresh-secret"}"#,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = add(&["credentials", "add", "mail", "--kind", "password"], "pw");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--username"));

    let list = sd(dir, &["--json", "credentials", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{text}");
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .any(|c| c["owner"] == "finance" && c["kind"] == "oauth2" && c["expires_at"].is_string())
    );
    for secret in ["sk-top-secret", "ya29-secret", "refresh-secret"] {
        assert!(!text.contains(secret), "{secret} shown: {text}");
    }
    let human = String::from_utf8_lossy(&sd(dir, &["credentials", "list"]).stdout).to_string();
    assert!(human.contains("gmail") && !human.contains("ya29"), "{human}");
    let status = sd_json(dir, &["status"]);
    assert!(status["vault_key"].as_str().unwrap().contains("vault.key"), "{status}");
    sd_json(dir, &["credentials", "remove", "gmail", "--for", "finance"]);
    assert_eq!(sd_json(dir, &["credentials", "list"]).as_array().unwrap().len(), 1);
    // People cannot read a secret back through the generic call either.
    let out = sd(dir, &["call", "query:credentials.get.v1", r#"{"name": "openai", "owner": "user"}"#]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("for extensions only"));
}

#[test]
fn sd_events_follow_streams_changes_as_json_lines() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    let _daemon = Daemon::start(dir);
    let mut follow = Command::new(SD)
        .env("SD_DATA_DIR", dir)
        .args(["--json", "events", "--follow", "--kind", "entry."])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = follow.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                return;
            }
        }
    });
    // Give the stream a moment to start before the change.
    std::thread::sleep(Duration::from_millis(500));
    sd_json(dir, &["entry", "create", "watched note"]);
    let deadline = Instant::now() + Duration::from_secs(15);
    let event = loop {
        let line = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())).expect("an event line");
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        if v["kind"] == "entry.created" {
            break v;
        }
    };
    assert_eq!(event["detail"]["name"], "watched note");
    let _ = follow.kill();
    let _ = follow.wait();
    let past = sd(dir, &["events", "--kind", "entry.created"]);
    assert!(String::from_utf8_lossy(&past.stdout).contains("watched note"));
}
