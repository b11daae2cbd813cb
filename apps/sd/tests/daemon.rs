//! The real `sd daemon` process, driven through the CLI binary and through
//! raw socket clients, including hostile ones.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use common::{Daemon, make_tree, read_frame, request, sd, sd_json, write_frame};
use serde_json::json;

#[test]
fn cli_gives_the_same_results_through_the_daemon_and_in_process() {
    let data = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    make_tree(tree.path(), 300);
    let dir = data.path();

    let mut daemon = Daemon::start(dir);
    let meta = std::fs::metadata(daemon.socket()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600, "socket must be private");

    let status = sd_json(dir, &["status"]);
    assert_eq!(status["pid"], daemon.child.id(), "CLI must go through the daemon when it runs");
    sd_json(dir, &["library", "create", "main"]);
    let added = sd_json(dir, &["location", "add", tree.path().to_str().unwrap()]);
    assert_eq!(added["scan"]["files_hashed"], 300);
    let via_daemon = sd_json(dir, &["search", "f17"]);
    let entries_daemon = sd_json(dir, &["entry", "list", "--limit", "1000"]);
    let ping = sd_json(dir, &["call", "query:test.ping.v1", r#"{"message":"hi","count":2}"#]);
    assert_eq!(ping, json!({ "echo": "Pong: hi", "count": 2, "caller": "socket" }));

    daemon.kill9();
    let status = sd_json(dir, &["status"]);
    assert_ne!(status["pid"], daemon.child.id());
    let in_process = sd_json(dir, &["search", "f17"]);
    let entries_local = sd_json(dir, &["entry", "list", "--limit", "1000"]);
    assert_eq!(via_daemon, in_process);
    assert_eq!(entries_daemon, entries_local);
    assert_eq!(via_daemon["total"], 11, "f17 and f170..f179: {via_daemon}");
    let ping = sd_json(dir, &["call", "query:test.ping.v1", r#"{"message":"hi","count":2}"#]);
    assert_eq!(ping["caller"], "cli");

    // Human output and typed errors on the command line.
    let out = sd(dir, &["search", "f17"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("matched name: [f17].txt"), "{text}");
    let out = sd(dir, &["call", "query:nope.v1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_input: unknown method"));
    let out = sd(dir, &["library", "remove", "main"]);
    assert!(!out.status.success(), "remove needs --yes");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
}

#[test]
fn library_selection_rules() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let out = sd(dir, &["entry", "list"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("sd library create"));
    sd_json(dir, &["library", "create", "one"]);
    sd_json(dir, &["entry", "create", "only-lib-default"]);
    let two = sd_json(dir, &["library", "create", "two"]);
    let out = sd(dir, &["entry", "list"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("sd library use"));
    sd_json(dir, &["library", "use", "two"]);
    sd_json(dir, &["entry", "create", "in-two"]);
    let listed = sd_json(dir, &["entry", "list"]);
    assert_eq!(listed["total"], 1);
    assert_eq!(listed["entries"][0]["name"], "in-two");
    let listed = sd_json(dir, &["--library", "one", "entry", "list"]);
    assert_eq!(listed["entries"][0]["name"], "only-lib-default");
    sd_json(dir, &["library", "remove", two["id"].as_str().unwrap(), "--yes"]);
    assert!(!dir.join("libraries").join(two["id"].as_str().unwrap()).exists());
    let listed = sd_json(dir, &["entry", "list"]);
    assert_eq!(listed["entries"][0]["name"], "only-lib-default");
}

#[test]
fn fifty_concurrent_socket_clients() {
    let data = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(data.path());
    let lib = sd_json(data.path(), &["library", "create", "c"])["id"].as_str().unwrap().to_string();
    let socket = daemon.socket();
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let socket = socket.clone();
            let lib = lib.clone();
            std::thread::spawn(move || {
                let mut s = UnixStream::connect(&socket).unwrap();
                s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                for j in 0..10 {
                    let r = request(&mut s, &json!({ "id": j, "method": "query:test.ping.v1", "payload": { "message": format!("{i}-{j}") } }));
                    assert_eq!(r["id"], j);
                    assert_eq!(r["ok"]["echo"], format!("Pong: {i}-{j}"));
                }
                let r = request(
                    &mut s,
                    &json!({ "id": "create", "method": "action:vdfs.create_entry.input.v1", "library_id": lib,
                             "payload": { "name": format!("client-{i}"), "metadata": { "client": i } } }),
                );
                assert!(r["ok"]["entry_id"].is_string(), "{r}");
                // Pipelined requests on one connection all come back.
                for j in 0..5 {
                    write_frame(&mut s, json!({ "id": 100 + j, "method": "query:test.ping.v1", "payload": { "message": "p" } }).to_string().as_bytes());
                }
                let mut ids: Vec<u64> = (0..5).map(|_| read_frame(&mut s).unwrap()["id"].as_u64().unwrap()).collect();
                ids.sort();
                assert_eq!(ids, vec![100, 101, 102, 103, 104]);
            })
        })
        .collect();
    for h in handles {
        h.join().expect("client thread");
    }
    let listed = sd_json(data.path(), &["entry", "list", "--limit", "1000"]);
    assert_eq!(listed["total"], 50);
}

#[test]
fn malformed_frames_do_not_hurt_the_daemon() {
    let data = tempfile::tempdir().unwrap();
    let mut daemon = Daemon::start(data.path());
    let socket = daemon.socket();
    let connect = || {
        let s = UnixStream::connect(&socket).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s
    };
    // A well-behaved client stays connected throughout.
    let mut good = connect();

    // Garbage: the first four bytes read as a huge length; answered, then closed.
    let mut s = connect();
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let f = read_frame(&mut s).unwrap();
    assert_eq!(f["error"]["code"], "resource_exhausted", "{f}");
    let mut rest = Vec::new();
    assert_eq!(s.read_to_end(&mut rest).unwrap_or(0), 0, "connection closed");

    // A frame declared as 4 GiB.
    let mut s = connect();
    s.write_all(&u32::MAX.to_be_bytes()).unwrap();
    let f = read_frame(&mut s).unwrap();
    assert_eq!(f["error"]["code"], "resource_exhausted");
    assert!(f["error"]["message"].as_str().unwrap().contains("frame"), "{f}");

    // A well-sized frame that is not JSON, then one that is JSON but not a
    // request, then invalid UTF-8: each answered; the connection stays usable.
    let mut s = connect();
    write_frame(&mut s, b"this is not json");
    assert_eq!(read_frame(&mut s).unwrap()["error"]["code"], "invalid_input");
    write_frame(&mut s, br#"{"hello": "world"}"#);
    assert_eq!(read_frame(&mut s).unwrap()["error"]["code"], "invalid_input");
    write_frame(&mut s, b"\xff\xfe\xfd");
    assert_eq!(read_frame(&mut s).unwrap()["error"]["code"], "invalid_input");
    let r =
        request(&mut s, &json!({ "id": 1, "method": "query:test.ping.v1", "payload": { "message": "still here" } }));
    assert_eq!(r["ok"]["echo"], "Pong: still here");
    // Unknown method, wrong payload type, missing library, oversized payload.
    let r = request(&mut s, &json!({ "id": 2, "method": "query:does.not.exist.v1" }));
    assert_eq!(r["error"]["code"], "invalid_input");
    let r = request(&mut s, &json!({ "id": 3, "method": "query:test.ping.v1", "payload": { "message": [1] } }));
    assert_eq!(r["error"]["code"], "invalid_input");
    let r = request(&mut s, &json!({ "id": 4, "method": "query:vdfs.list_entries.v1", "library_id": uuid_like() }));
    assert_eq!(r["error"]["code"], "not_found");
    // Oversized: the daemon answers and hangs up, possibly before the client
    // has finished writing.
    let big = "x".repeat(sd_core::infra::daemon::MAX_FRAME_BYTES + 10);
    let body = json!({ "id": 5, "method": "query:test.ping.v1", "payload": { "message": big } }).to_string();
    let _ = s.write_all(&(body.len() as u32).to_be_bytes()).and_then(|()| s.write_all(body.as_bytes()));
    let f = read_frame(&mut s).unwrap();
    assert_eq!(f["error"]["code"], "resource_exhausted");

    // Truncated frame, then hang up.
    let mut s = connect();
    s.write_all(&100u32.to_be_bytes()).unwrap();
    s.write_all(b"{\"id\":1,").unwrap();
    drop(s);

    // Disconnect mid-request (a slow operation still running).
    let tree = tempfile::tempdir().unwrap();
    make_tree(tree.path(), 2000);
    let lib = sd_json(data.path(), &["library", "create", "m"])["id"].as_str().unwrap().to_string();
    let mut s = connect();
    write_frame(
        &mut s,
        json!({ "id": 1, "method": "action:locations.add.input.v1", "library_id": lib, "payload": { "path": tree.path() } })
            .to_string()
            .as_bytes(),
    );
    drop(s);

    // Many connections opened and dropped at once.
    for _ in 0..200 {
        drop(connect());
    }

    assert!(daemon.alive(), "daemon died");
    let r = request(&mut good, &json!({ "id": 9, "method": "query:test.ping.v1", "payload": { "message": "ok" } }));
    assert_eq!(r["ok"]["echo"], "Pong: ok");
    // The abandoned indexing finished anyway, and consistently.
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let locs = sd_json(data.path(), &["--library", &lib, "location", "list"]);
        if locs[0]["scan_incomplete"] == false && locs[0]["last_scan_completed_at"].is_string() {
            assert_eq!(locs[0]["entries"], 2000 + 16 + 16 * 16 + 1);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "abandoned scan never finished: {locs}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_string()
}
