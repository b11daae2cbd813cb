//! The library database: its WAL reaches the database file without any
//! connection closing.

use crate::common;

use std::time::{Duration, Instant};

use common::{call, new_library};
use sd_core::Core;
use serde_json::json;

/// Connections never checkpoint in their commits; the library's checkpoint
/// thread does. Read with `immutable=1`, SQLite ignores the WAL and sees
/// only the database file, so the entries show there only once that thread
/// has copied them, while the library (and every connection) stays open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_writes_reach_the_database_file_while_the_library_stays_open() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "wal").await;
    let libraries = call(&core, "query:libraries.list.v1", None, json!({})).await.unwrap();
    let folder = libraries.as_array().unwrap().iter().find(|l| l["id"] == lib.to_string()).unwrap()["path"]
        .as_str()
        .unwrap()
        .to_string();
    let entries: Vec<_> = (0..300).map(|i| json!({ "name": format!("note {i}") })).collect();
    call(&core, "action:vdfs.create_entries.input.v1", Some(lib), json!({ "entries": entries })).await.unwrap();

    let uri = format!("file:{folder}/library.db?immutable=1");
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_URI;
    // An immutable reader may catch the file halfway through a checkpoint
    // (SQLite then says "malformed"): that counts as not there yet.
    let in_file = || -> i64 {
        rusqlite::Connection::open_with_flags(&uri, flags)
            .and_then(|c| c.query_row("SELECT COUNT(*) FROM entries WHERE name LIKE 'note %'", [], |r| r.get(0)))
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while in_file() < 300 {
        assert!(Instant::now() < deadline, "the entries never left the WAL: {} in the file", in_file());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(core);
}
