//! SIGKILL the daemon while it indexes a large tree; on restart it resumes
//! the indexing job, and the library is whole and consistent.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::{Duration, Instant};

use common::{Daemon, make_tree, sd_json};

#[test]
fn sigkill_during_indexing_then_the_resumed_job_completes_the_library() {
    let data = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tree.path()).unwrap();
    let files = make_tree(&root, 30_000);
    let dir = data.path();

    let mut daemon = Daemon::start(dir);
    let lib = sd_json(dir, &["library", "create", "crash"])["id"].as_str().unwrap().to_string();
    let db = dir.join("libraries").join(&lib).join("library.db");

    // Start indexing through the daemon, from a separate CLI process.
    let mut add = std::process::Command::new(common::SD)
        .args(["--json", "location", "add", root.to_str().unwrap()])
        .env("SD_DATA_DIR", dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();

    // Kill it once some, but not all, files are in.
    let deadline = Instant::now() + Duration::from_secs(120);
    let count_files = || -> i64 {
        let Ok(conn) = rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY) else {
            return 0;
        };
        conn.busy_timeout(Duration::from_secs(5)).unwrap();
        conn.query_row("SELECT COUNT(*) FROM entries WHERE kind = 'file'", [], |r| r.get(0)).unwrap_or(0)
    };
    let mut at_kill;
    loop {
        at_kill = count_files();
        if at_kill > 600 {
            break;
        }
        assert!(Instant::now() < deadline, "indexing never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    daemon.kill9();
    let _ = add.wait();
    let at_kill = count_files().max(at_kill);
    assert!((at_kill as usize) < files.len(), "the scan finished before the kill ({at_kill} files); use a larger tree");

    // The database is consistent as it stands.
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
        assert_eq!(check, "ok");
        let fk: i64 = conn.query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 0);
    }

    // The restarted daemon resumes the interrupted indexing job by itself.
    let _daemon = Daemon::start(dir);
    let info = common::resumed_job_completes(dir, "index_location", Duration::from_secs(120));
    assert_eq!(info["runs"], 2, "{info}");
    let scan = &info["output"];
    assert_eq!(scan["warning_count"], 0, "{info}");
    assert_eq!(
        scan["files_hashed"].as_u64().unwrap() as usize,
        files.len() - at_kill as usize,
        "the resumed job reads only what the killed run had not committed: {info}"
    );
    let locs = sd_json(dir, &["location", "list"]);
    assert_eq!(locs[0]["scan_incomplete"], false, "{locs}");
    let again = sd_json(dir, &["location", "rescan", root.to_str().unwrap()]);
    assert_eq!(again["scan"]["files_hashed"], 0, "{again}");

    // Whole: every file present once, with the right hash; no extras.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare("SELECT rel_path, content_hash FROM entries WHERE kind = 'file'").unwrap();
    let rows: std::collections::HashMap<String, Option<String>> =
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap().map(Result::unwrap).collect();
    assert_eq!(rows.len(), files.len());
    for rel in &files {
        let expected = blake3::hash(&std::fs::read(root.join(rel)).unwrap()).to_hex().to_string();
        assert_eq!(rows[rel].as_deref(), Some(expected.as_str()), "{rel}");
    }
    let dirs: i64 = conn.query_row("SELECT COUNT(*) FROM entries WHERE kind = 'dir'", [], |r| r.get(0)).unwrap();
    assert_eq!(dirs, 1 + 16 + 16 * 16);
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    // The search index matches the entries.
    let docs: i64 = conn.query_row("SELECT COUNT(*) FROM search_docs WHERE source = 'name'", [], |r| r.get(0)).unwrap();
    let entries: i64 = conn.query_row("SELECT COUNT(*) FROM entries", [], |r| r.get(0)).unwrap();
    assert_eq!(docs, entries);
    conn.execute("INSERT INTO entry_fts(entry_fts) VALUES ('integrity-check')", []).unwrap();
}
