//! The VDFS on a real SQLite library and real files: indexing, incremental
//! rescans, virtual entries, metadata namespaces, sidecars and search.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::collections::HashMap;

use common::{all_entries, call, make_tree, new_library};
use sd_core::{Caller, Core, ErrorCode};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_then_rescan_reports_exactly_what_changed() {
    let data = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tree.path()).unwrap();
    let files = make_tree(&root, 2100);
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "test").await;

    let out = call(&core, "action:locations.add.input.v1", Some(lib), json!({ "path": root })).await.unwrap();
    let dirs = 10 + 10 * 7; // d0..d9, each with e0..e6
    assert_eq!(out["scan"]["added"], files.len() + dirs, "{out}");
    assert_eq!(out["scan"]["files_hashed"], files.len());
    assert_eq!(out["scan"]["warning_count"], 0);

    let entries = all_entries(&core, lib).await;
    assert_eq!(entries.len(), files.len() + dirs + 1, "root + dirs + files");
    for rel in &files {
        let path = root.join(rel);
        let e = &entries[path.to_str().unwrap()];
        let expected = blake3::hash(&std::fs::read(&path).unwrap()).to_hex().to_string();
        assert_eq!(e["content_hash"], expected.as_str(), "{rel}");
        assert_eq!(e["size"], std::fs::metadata(&path).unwrap().len());
        assert_eq!(e["kind"], "file");
        assert_eq!(e["name"], path.file_name().unwrap().to_str().unwrap());
        let folder = &entries[path.parent().unwrap().to_str().unwrap()];
        assert_eq!(e["parent_id"], folder["id"], "{rel}");
    }

    // Search by a file name: exactly that file.
    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "f1234" })).await.unwrap();
    assert_eq!(hits["total"], 1, "{hits}");
    assert_eq!(hits["results"][0]["entry"]["name"], "f1234.txt");
    assert_eq!(hits["results"][0]["reasons"][0]["source"], "name");

    // Unchanged rescan reads nothing.
    let again = call(&core, "action:locations.rescan.input.v1", Some(lib), json!({ "path": root })).await.unwrap();
    assert_eq!(again["scan"]["files_hashed"], 0, "{again}");
    assert_eq!(again["scan"]["unchanged"], files.len() + dirs);

    // Modify 3, delete 4, add 5, move 2 (one across folders, one renamed).
    let before = all_entries(&core, lib).await;
    for i in [1usize, 2, 3] {
        std::fs::write(root.join(&files[i]), format!("changed content {i}")).unwrap();
    }
    for i in [10usize, 11, 12, 13] {
        std::fs::remove_file(root.join(&files[i])).unwrap();
    }
    std::fs::create_dir_all(root.join("new")).unwrap();
    for i in 0..5 {
        std::fs::write(root.join(format!("new/n{i}.txt")), format!("brand new {i}")).unwrap();
    }
    let moved_from = [root.join(&files[20]), root.join(&files[21])];
    let moved_to = [root.join("new/moved-here.txt"), root.join(&files[21]).with_file_name("renamed.txt")];
    for (from, to) in moved_from.iter().zip(&moved_to) {
        std::fs::rename(from, to).unwrap();
    }

    let r = call(&core, "action:locations.rescan.input.v1", Some(lib), json!({ "path": root })).await.unwrap();
    let s = &r["scan"];
    assert_eq!(s["modified"], 3, "{r}");
    assert_eq!(s["deleted"], 4, "{r}");
    assert_eq!(s["added"], 5 + 1, "5 files and the folder `new`: {r}");
    assert_eq!(s["moved"], 2, "{r}");
    assert_eq!(s["files_hashed"], 3 + 5 + 2, "only changed and new files are read: {r}");

    let after = all_entries(&core, lib).await;
    for i in [1usize, 2, 3] {
        let p = root.join(&files[i]);
        let key = p.to_str().unwrap();
        assert_eq!(after[key]["id"], before[key]["id"], "modified file keeps its id");
        assert_eq!(
            after[key]["content_hash"],
            blake3::hash(format!("changed content {i}").as_bytes()).to_hex().as_str()
        );
    }
    for i in [10usize, 11, 12, 13] {
        assert!(!after.contains_key(root.join(&files[i]).to_str().unwrap()));
    }
    for (from, to) in moved_from.iter().zip(&moved_to) {
        let old = &before[from.to_str().unwrap()];
        let new = &after[to.to_str().unwrap()];
        assert_eq!(old["id"], new["id"], "a moved file keeps its entry");
        assert!(!after.contains_key(from.to_str().unwrap()));
    }
    assert_eq!(after[root.join("new/moved-here.txt").to_str().unwrap()]["name"], "moved-here.txt");
    assert_eq!(after.len(), before.len() - 4 + 6);

    // Sidecars on an indexed file go, blobs and all, when the file does: a
    // large one kept as a file, a small one kept in the database.
    let victim = root.join(&files[30]);
    let vid = after[victim.to_str().unwrap()]["id"].clone();
    use base64::Engine;
    let big = base64::engine::general_purpose::STANDARD.encode(vec![7u8; 100_000]);
    let sc = call(
        &core,
        "action:vdfs.write_sidecar.input.v1",
        Some(lib),
        json!({ "entry_id": vid, "name": "thumb.bin", "data_base64": big }),
    )
    .await
    .unwrap();
    let small = call(
        &core,
        "action:vdfs.write_sidecar.input.v1",
        Some(lib),
        json!({ "entry_id": vid, "name": "tiny.bin", "data_base64": "c2lkZWNhcg==" }),
    )
    .await
    .unwrap();
    let lib_dir = data.path().join("libraries").join(lib.to_string());
    let blob = lib_dir.join("sidecars/blobs");
    let blob = blob.join(&sc["hash"].as_str().unwrap()[..2]).join(sc["hash"].as_str().unwrap());
    assert!(blob.is_file());
    let inline_rows = |hash: &str| -> i64 {
        let conn = rusqlite::Connection::open(lib_dir.join("library.db")).unwrap();
        conn.query_row("SELECT COUNT(*) FROM sidecar_blobs WHERE hash = ?1", [hash], |r| r.get(0)).unwrap()
    };
    assert_eq!(inline_rows(small["hash"].as_str().unwrap()), 1);
    std::fs::remove_file(&victim).unwrap();
    call(&core, "action:locations.rescan.input.v1", Some(lib), json!({ "path": root })).await.unwrap();
    assert!(!blob.exists(), "the orphaned sidecar blob was collected");
    assert_eq!(inline_rows(small["hash"].as_str().unwrap()), 0, "the orphaned inline blob was collected");
    let after = all_entries(&core, lib).await;

    // Removing a whole folder removes its subtree.
    std::fs::remove_dir_all(root.join("d9")).unwrap();
    let r = call(&core, "action:locations.rescan.input.v1", Some(lib), json!({ "path": root })).await.unwrap();
    let gone = before.keys().filter(|k| k.starts_with(root.join("d9").to_str().unwrap())).count();
    assert_eq!(r["scan"]["deleted"], gone, "{r}");
    let final_entries = all_entries(&core, lib).await;
    assert!(final_entries.keys().all(|k| !k.starts_with(root.join("d9/").to_str().unwrap())));
    assert_eq!(final_entries.len(), after.len() - gone);

    // A folder moved into a new one: its files keep their entries (found
    // by content once the walk is done), its folders are new.
    std::fs::create_dir(root.join("renamed")).unwrap();
    std::fs::rename(root.join("d8"), root.join("renamed/d8")).unwrap();
    let r = call(&core, "action:locations.rescan.input.v1", Some(lib), json!({ "path": root })).await.unwrap();
    let old_prefix = format!("{}/", root.join("d8").display());
    let under_d8: Vec<&String> = final_entries.keys().filter(|k| k.starts_with(&old_prefix)).collect();
    let files_under: Vec<&&String> = under_d8.iter().filter(|k| final_entries[k.as_str()]["kind"] == "file").collect();
    let folders_under = under_d8.len() - files_under.len();
    assert_eq!(r["scan"]["moved"], files_under.len(), "{r}");
    assert_eq!(r["scan"]["deleted"], 1 + folders_under, "d8 and the folders below it: {r}");
    assert_eq!(r["scan"]["added"], 2 + folders_under, "`renamed`, `renamed/d8` and the folders below: {r}");
    let moved = all_entries(&core, lib).await;
    for old in files_under {
        let new = root.join("renamed").join(old.strip_prefix(&format!("{}/", root.display())).unwrap());
        assert_eq!(moved[new.to_str().unwrap()]["id"], final_entries[old.as_str()]["id"], "{old}");
        assert_eq!(moved[new.to_str().unwrap()]["parent_id"], moved[new.parent().unwrap().to_str().unwrap()]["id"]);
    }
    assert_eq!(moved.len(), final_entries.len() + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symlink_loops_and_unreadable_files_are_warnings() {
    let data = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tree.path()).unwrap();
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/b/ok.txt"), "fine").unwrap();
    std::os::unix::fs::symlink(root.join("a"), root.join("a/b/loop")).unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "links").await;

    let out = call(&core, "action:locations.add.input.v1", Some(lib), json!({ "path": root, "follow_links": true }))
        .await
        .unwrap();
    let warnings = out["scan"]["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("loop")), "{out}");
    let entries = all_entries(&core, lib).await;
    assert!(entries.contains_key(root.join("a/b/ok.txt").to_str().unwrap()));

    // Without following, the link is an entry of its own and nothing loops.
    let lib2 = new_library(&core, "nolinks").await;
    let out = call(&core, "action:locations.add.input.v1", Some(lib2), json!({ "path": root })).await.unwrap();
    assert_eq!(out["scan"]["warning_count"], 0, "{out}");
    let entries = all_entries(&core, lib2).await;
    assert_eq!(entries[root.join("a/b/loop").to_str().unwrap()]["kind"], "symlink");

    // A dangling link, followed, is a warning too.
    std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling")).unwrap();
    let lib3 = new_library(&core, "dangling").await;
    let out = call(&core, "action:locations.add.input.v1", Some(lib3), json!({ "path": root, "follow_links": true }))
        .await
        .unwrap();
    let warnings = out["scan"]["warnings"].as_array().unwrap();
    assert!(warnings.iter().any(|w| w.as_str().unwrap().contains("dangling")), "{out}");

    // An unreadable file (when not root, who reads everything) is a warning.
    // As root, the CLI test `unprivileged` checks it with the scan run as
    // `nobody`.
    if is_root() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(root.join("secret.txt"), "x").unwrap();
    std::fs::set_permissions(root.join("secret.txt"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = call(&core, "action:locations.rescan.input.v1", Some(lib2), json!({ "path": root })).await.unwrap();
    assert_eq!(out["scan"]["warning_count"], 1, "{out}");
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| s.lines().any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}

#[tokio::test]
async fn virtual_entries_metadata_sidecars_and_search() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "virt").await;

    let created = call(
        &core,
        "action:vdfs.create_entry.input.v1",
        Some(lib),
        json!({ "name": "Blue Bottle", "kind": "receipt", "metadata": { "category": "food", "amount": 4.5 } }),
    )
    .await
    .unwrap();
    let id = created["entry_id"].as_str().unwrap().to_string();
    assert_eq!(created["entry"]["kind"], "receipt");
    assert_eq!(created["entry"]["owner"], "user");

    call(
        &core,
        "action:vdfs.write_sidecar.input.v1",
        Some(lib),
        json!({ "entry_id": id, "name": "ocr.txt", "text": "Espresso 3.00 Croissant 1.50 Total coffee" }),
    )
    .await
    .unwrap();
    let other =
        call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "Hardware store" })).await.unwrap();
    let other_id = other["entry_id"].as_str().unwrap().to_string();
    call(
        &core,
        "action:vdfs.update_metadata.input.v1",
        Some(lib),
        json!({ "entry_id": other_id, "set": { "category": "tools" } }),
    )
    .await
    .unwrap();

    // Terms matched across fields: name ("blue"), sidecar ("croissant").
    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "blue croissant" })).await.unwrap();
    assert_eq!(hits["total"], 1, "{hits}");
    let sources: Vec<_> =
        hits["results"][0]["reasons"].as_array().unwrap().iter().map(|r| r["source"].as_str().unwrap()).collect();
    assert!(sources.contains(&"name") && sources.contains(&"sidecar:user/ocr.txt"), "{hits}");

    // Metadata values are searchable, and filterable.
    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "food" })).await.unwrap();
    assert_eq!(hits["results"][0]["reasons"][0]["source"], "metadata:user.category");
    let filtered = call(
        &core,
        "query:search.v1",
        Some(lib),
        json!({ "where": [{ "namespace": "user", "key": "category", "value": "tools" }] }),
    )
    .await
    .unwrap();
    assert_eq!(filtered["total"], 1);
    assert_eq!(filtered["results"][0]["entry"]["name"], "Hardware store");
    let by_kind = call(&core, "query:search.v1", Some(lib), json!({ "kind": "receipt" })).await.unwrap();
    assert_eq!(by_kind["total"], 1);

    // Updating metadata re-indexes; removing drops it from search.
    call(
        &core,
        "action:vdfs.update_metadata.input.v1",
        Some(lib),
        json!({ "entry_id": id, "set": { "category": "drinks" } }),
    )
    .await
    .unwrap();
    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "food" })).await.unwrap();
    assert_eq!(hits["total"], 0, "{hits}");
    call(&core, "action:vdfs.update_metadata.input.v1", Some(lib), json!({ "entry_id": id, "remove": ["category"] }))
        .await
        .unwrap();
    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "drinks" })).await.unwrap();
    assert_eq!(hits["total"], 0, "{hits}");

    // Sidecar reads return what was written, verified.
    let sc = call(&core, "query:vdfs.read_sidecar.v1", Some(lib), json!({ "entry_id": id, "name": "ocr.txt" }))
        .await
        .unwrap();
    assert_eq!(sc["text"], "Espresso 3.00 Croissant 1.50 Total coffee");
    let bin = call(
        &core,
        "action:vdfs.write_sidecar.input.v1",
        Some(lib),
        json!({ "entry_id": id, "name": "raw.bin", "data_base64": "AAEC/w==" }),
    )
    .await
    .unwrap();
    assert_eq!(bin["size"], 4);
    let sc = call(&core, "query:vdfs.read_sidecar.v1", Some(lib), json!({ "entry_id": id, "name": "raw.bin" }))
        .await
        .unwrap();
    assert_eq!(sc["data_base64"], "AAEC/w==");

    // A corrupted blob is detected, not returned: a small one in the
    // database, and a large one in its file.
    let lib_dir = data.path().join("libraries").join(lib.to_string());
    let hash = sc["hash"].as_str().unwrap();
    rusqlite::Connection::open(lib_dir.join("library.db"))
        .unwrap()
        .execute("UPDATE sidecar_blobs SET data = x'00' WHERE hash = ?1", [hash])
        .unwrap();
    let err = call(&core, "query:vdfs.read_sidecar.v1", Some(lib), json!({ "entry_id": id, "name": "raw.bin" }))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::Internal);
    assert!(err.message.contains("corrupt"), "{err}");
    use base64::Engine;
    let big = base64::engine::general_purpose::STANDARD.encode(vec![9u8; 70_000]);
    let large = call(
        &core,
        "action:vdfs.write_sidecar.input.v1",
        Some(lib),
        json!({ "entry_id": id, "name": "large.bin", "data_base64": big }),
    )
    .await
    .unwrap();
    let hash = large["hash"].as_str().unwrap();
    std::fs::write(lib_dir.join("sidecars/blobs").join(&hash[..2]).join(hash), b"tampered").unwrap();
    let err = call(&core, "query:vdfs.read_sidecar.v1", Some(lib), json!({ "entry_id": id, "name": "large.bin" }))
        .await
        .unwrap_err();
    assert!(err.message.contains("corrupt"), "{err}");

    let detail = call(&core, "query:vdfs.entry.v1", Some(lib), json!({ "id": id })).await.unwrap();
    assert_eq!(detail["metadata"]["user"]["amount"], 4.5);
    assert_eq!(detail["sidecars"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn hostile_names_and_payloads_get_typed_errors() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "bad").await;
    let e = call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "ok" })).await.unwrap();
    let id = e["entry_id"].clone();

    for name in ["..", "../../etc/passwd", "/etc/passwd", "a\u{0}b", "", "a/b"] {
        let err =
            call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": name })).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "entry name {name:?}");
        let err = call(
            &core,
            "action:vdfs.write_sidecar.input.v1",
            Some(lib),
            json!({ "entry_id": id, "name": name, "text": "x" }),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidInput, "sidecar name {name:?}");
    }
    // Nothing escaped the sidecar store.
    assert!(!data.path().join("etc").exists());

    let err = call(&core, "query:nope.v1", None, json!({})).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("unknown method"), "{err}");
    let err = call(&core, "query:test.ping.v1", None, json!({ "message": 5 })).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("query:test.ping.v1"), "{err}");
    let err = call(&core, "query:vdfs.list_entries.v1", None, json!({})).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("needs a library"), "{err}");
    let err = call(&core, "query:vdfs.list_entries.v1", Some(uuid::Uuid::new_v4()), json!({})).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = call(&core, "query:vdfs.entry.v1", Some(lib), json!({ "id": uuid::Uuid::new_v4() })).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NotFound);
    let big =
        sd_core::infra::wire::parse_payload(&vec![b' '; sd_core::infra::wire::MAX_PAYLOAD_BYTES + 1]).unwrap_err();
    assert_eq!(big.code, ErrorCode::ResourceExhausted);
    let err = sd_core::infra::wire::parse_payload(b"\xff\xfe").unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);

    // An extension writes only its own namespace: a module whose operation
    // forwards its payload to update_metadata.
    let method = "action:vdfs.update_metadata.input.v1";
    let parts = common::wasm::Parts::forwarding(method);
    let src = tempfile::tempdir().unwrap();
    let dir = common::wasm::write_extension(src.path(), &common::wasm::manifest("finance", json!({})), &parts.wasm());
    call(&core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
    let as_finance = |payload| core.execute_json_operation("query:finance.run.v1", Some(lib), payload, Caller::Cli);
    let err = as_finance(json!({ "entry_id": id, "namespace": "user", "set": { "k": 1 } })).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::PermissionDenied);
    let ok = as_finance(json!({ "entry_id": id, "set": { "category": "food" } })).await.unwrap();
    assert_eq!(ok["namespace"], "finance");
    let hits = call(
        &core,
        "query:search.v1",
        Some(lib),
        json!({ "where": [{ "namespace": "finance", "key": "category", "value": "food" }] }),
    )
    .await
    .unwrap();
    assert_eq!(hits["total"], 1);
}

#[tokio::test]
async fn every_operation_schema_matches_its_handler() {
    let data = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    make_tree(tree.path(), 20);
    let core = Core::open(data.path()).unwrap();
    let ops = call(&core, "query:core.operations.v1", None, json!({})).await.unwrap();
    let ops: HashMap<String, serde_json::Value> =
        ops.as_array().unwrap().iter().map(|o| (o["method"].as_str().unwrap().to_string(), o.clone())).collect();
    let required = [
        "query:test.ping.v1",
        "query:core.status.v1",
        "query:core.operations.v1",
        "action:libraries.create.input.v1",
        "query:libraries.list.v1",
        "action:locations.add.input.v1",
        "action:locations.rescan.input.v1",
        "query:locations.list.v1",
        "query:vdfs.list_entries.v1",
        "query:vdfs.entry.v1",
        "action:vdfs.create_entry.input.v1",
        "action:vdfs.update_metadata.input.v1",
        "action:vdfs.write_sidecar.input.v1",
        "query:vdfs.read_sidecar.v1",
        "query:search.v1",
    ];
    for m in required {
        assert!(ops.contains_key(m), "{m} is not registered");
    }

    // Call every operation with a real payload; the payload must satisfy the
    // listed input schema and the result the listed output schema.
    let lib_out = call(&core, "action:libraries.create.input.v1", None, json!({ "name": "s" })).await.unwrap();
    let lib: uuid::Uuid = lib_out["id"].as_str().unwrap().parse().unwrap();
    let entry = call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "e" })).await.unwrap();
    let eid = entry["entry_id"].clone();
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("r.txt"), "Total 1.00").unwrap();
    call(&core, "action:locations.add.input.v1", Some(lib), json!({ "path": files.path() })).await.unwrap();
    let listed = call(&core, "query:vdfs.list_entries.v1", Some(lib), json!({ "kind": "file", "under": files.path() }))
        .await
        .unwrap();
    let file_id = listed["entries"][0]["id"].clone();
    let ext_src = tempfile::tempdir().unwrap();
    let ext_dir = common::wasm::write_extension(
        ext_src.path(),
        &common::wasm::manifest("schema", json!({})),
        &common::wasm::Parts::default().wasm(),
    );
    let ocr_png = {
        use base64::Engine;
        let img = common::docs::render(
            &[common::docs::Row::text("Total 12.50")],
            &common::docs::Print { font: "DejaVuSans.ttf", px: 32.0, width: 500, noise: 0, degrees: 0.0, seed: 0 },
        );
        base64::engine::general_purpose::STANDARD.encode(common::docs::png(&img))
    };
    let token_url = format!(
        "http://{}/token",
        common::http::serve(|_| common::http::Reply::json(
            200,
            json!({ "access_token": "a2", "token_type": "bearer", "expires_in": 60 })
        ))
        .await
    );
    let oauth = json!({ "kind": "oauth2", "access_token": "a1", "refresh_token": "r1", "token_url": token_url, "client_id": "c" });
    let index_url = format!(
        "http://{}/index.json",
        common::http::serve(|_| common::http::Reply::json(200, json!({ "format": 1, "extensions": [] }))).await
    );
    let packages = tempfile::tempdir().unwrap();
    let cases: Vec<(&str, Option<uuid::Uuid>, serde_json::Value)> = vec![
        ("query:test.ping.v1", None, json!({ "message": "hi", "count": 3 })),
        ("query:core.status.v1", None, json!({})),
        ("query:core.operations.v1", None, json!({})),
        ("query:libraries.list.v1", None, json!({})),
        ("action:locations.add.input.v1", Some(lib), json!({ "path": tree.path() })),
        ("action:locations.rescan.input.v1", Some(lib), json!({ "path": tree.path() })),
        ("query:locations.list.v1", Some(lib), json!({})),
        ("query:vdfs.list_entries.v1", Some(lib), json!({ "limit": 5, "with_metadata": "user" })),
        ("query:vdfs.read_file.v1", Some(lib), json!({ "entry_id": file_id, "length": 5 })),
        ("query:vdfs.entry.v1", Some(lib), json!({ "id": eid })),
        ("action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "x", "metadata": { "a": 1 } })),
        (
            "action:vdfs.create_entries.input.v1",
            Some(lib),
            json!({ "entries": [{ "name": "y", "metadata": { "a": 1 }, "text_sidecars": { "t.txt": "hi" } }] }),
        ),
        ("action:vdfs.update_metadata.input.v1", Some(lib), json!({ "entry_id": eid, "set": { "k": "v" } })),
        ("action:vdfs.write_sidecar.input.v1", Some(lib), json!({ "entry_id": eid, "name": "n.txt", "text": "t" })),
        ("query:vdfs.read_sidecar.v1", Some(lib), json!({ "entry_id": eid, "name": "n.txt" })),
        ("query:search.v1", Some(lib), json!({ "query": "f1" })),
        ("query:test.sleep.v1", None, json!({ "ms": 1 })),
        ("query:jobs.list.v1", Some(lib), json!({})),
        ("query:extensions.inspect.v1", None, json!({ "path": ext_dir })),
        ("action:extensions.install.input.v1", None, json!({ "path": ext_dir })),
        ("action:extensions.keys.create.input.v1", None, json!({ "name": "schema-key" })),
        ("query:extensions.keys.list.v1", None, json!({})),
        (
            "action:extensions.pack.input.v1",
            None,
            json!({ "path": ext_dir, "key": "schema-key", "output": packages.path() }),
        ),
        ("action:extensions.indexes.add.input.v1", None, json!({ "url": index_url })),
        ("query:extensions.indexes.list.v1", None, json!({})),
        ("query:extensions.search.v1", None, json!({ "word": "x" })),
        ("query:extensions.outdated.v1", None, json!({})),
        ("action:extensions.indexes.remove.input.v1", None, json!({ "url": index_url })),
        ("query:extensions.list.v1", None, json!({})),
        ("query:extensions.info.v1", None, json!({ "id": "schema" })),
        ("action:grants.add.input.v1", None, json!({ "extension": "schema", "path": tree.path() })),
        ("query:grants.list.v1", None, json!({})),
        ("action:grants.revoke.input.v1", None, json!({ "extension": "schema", "path": tree.path() })),
        ("action:extensions.load.input.v1", None, json!({ "id": "schema" })),
        ("action:extensions.reload.input.v1", None, json!({ "id": "schema" })),
        ("action:extensions.unload.input.v1", None, json!({ "id": "schema" })),
        ("action:extensions.remove.input.v1", None, json!({ "id": "schema" })),
        ("query:ai.embed.v1", None, json!({ "texts": ["a receipt"] })),
        ("query:ai.classify_text.v1", None, json!({ "text": "a latte", "labels": ["dining", { "label": "travel" }] })),
        ("query:ai.ocr.v1", None, json!({ "data_base64": ocr_png })),
        ("query:search.semantic.v1", Some(lib), json!({ "query": "a file", "limit": 3 })),
        ("action:credentials.store.input.v1", None, json!({ "name": "c", "owner": "schema", "secret": oauth })),
        ("query:credentials.list.v1", None, json!({})),
        ("action:credentials.refresh_oauth.input.v1", None, json!({ "name": "c", "owner": "schema" })),
        ("query:events.list.v1", Some(lib), json!({ "kinds": ["entry."], "limit": 5 })),
        ("action:ui.open.input.v1", None, json!({})),
    ];
    // ui.open hands out links to a dashboard this core serves.
    let _dashboard = sd_core::infra::http::bind(&core, 0).await.unwrap();
    let mut covered = std::collections::HashSet::new();
    covered.insert("action:libraries.create.input.v1".to_string());
    let check = |schema: &serde_json::Value, value: &serde_json::Value, what: &str| {
        let validator = jsonschema::validator_for(schema).unwrap_or_else(|e| panic!("{what}: invalid schema: {e}"));
        let errors: Vec<String> = validator.iter_errors(value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{what}: {value} does not match its schema: {errors:?}");
    };
    check(&ops["action:libraries.create.input.v1"]["output_schema"], &lib_out, "libraries.create output");
    for (method, l, payload) in cases {
        let op = &ops[method];
        check(&op["input_schema"], &payload, &format!("{method} input"));
        let out = call(&core, method, l, payload).await.unwrap_or_else(|e| panic!("{method}: {e}"));
        check(&op["output_schema"], &out, &format!("{method} output"));
        covered.insert(method.to_string());
    }
    // Jobs: ids are only known once dispatched.
    let locs = call(&core, "query:locations.list.v1", Some(lib), json!({})).await.unwrap();
    let dispatch = json!({ "job": "index_location", "input": { "location": locs[0]["id"] } });
    check(&ops["action:jobs.dispatch.input.v1"]["input_schema"], &dispatch, "jobs.dispatch input");
    let job = call(&core, "action:jobs.dispatch.input.v1", Some(lib), dispatch.clone()).await.unwrap();
    check(&ops["action:jobs.dispatch.input.v1"]["output_schema"], &job, "jobs.dispatch output");
    covered.insert("action:jobs.dispatch.input.v1".to_string());
    let job_ref = json!({ "id": job["id"] });
    // Steering calls may find the job already ended: then a typed conflict.
    for method in ["action:jobs.pause.input.v1", "action:jobs.resume.input.v1", "action:jobs.cancel.input.v1"] {
        check(&ops[method]["input_schema"], &job_ref, &format!("{method} input"));
        match call(&core, method, Some(lib), job_ref.clone()).await {
            Ok(out) => check(&ops[method]["output_schema"], &out, &format!("{method} output")),
            Err(e) => assert_eq!(e.code, ErrorCode::Conflict, "{method}: {e}"),
        }
        covered.insert(method.to_string());
    }
    // `jobs.watch` follows the first job to its end (a cancel only asks), so
    // the second scan of the location does not find it still running.
    for method in ["query:jobs.watch.v1", "query:jobs.info.v1"] {
        check(&ops[method]["input_schema"], &job_ref, &format!("{method} input"));
        let out = call(&core, method, Some(lib), job_ref.clone()).await.unwrap();
        check(&ops[method]["output_schema"], &out, &format!("{method} output"));
        covered.insert(method.to_string());
    }
    // `jobs.run` follows a job this process runs to its end.
    let again = call(&core, "action:jobs.dispatch.input.v1", Some(lib), dispatch).await.unwrap();
    let run_ref = json!({ "id": again["id"] });
    check(&ops["action:jobs.run.input.v1"]["input_schema"], &run_ref, "jobs.run input");
    let ran = call(&core, "action:jobs.run.input.v1", Some(lib), run_ref).await.unwrap();
    assert_eq!(ran["state"], "completed", "{ran}");
    check(&ops["action:jobs.run.input.v1"]["output_schema"], &ran, "jobs.run output");
    covered.insert("action:jobs.run.input.v1".to_string());
    // A stream: it ends when its listener goes away.
    let (sink, rx) = sd_core::ProgressSink::channel();
    let follow = {
        let core = core.clone();
        tokio::spawn(async move {
            core.execute_with_progress("query:events.follow.v1", Some(lib), json!({}), sd_core::Caller::Cli, Some(sink))
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    drop(rx);
    let out = follow.await.unwrap().unwrap();
    check(&ops["query:events.follow.v1"]["output_schema"], &out, "events.follow output");
    covered.insert("query:events.follow.v1".to_string());

    // Extension-only operations, through a module that forwards its payload.
    let http_addr = common::http::serve(|_| common::http::Reply::text(200, "pong")).await;
    for (method, perms, payload) in [
        ("query:credentials.get.v1", json!({ "methods": ["credentials."] }), json!({ "name": "c" })),
        (
            "action:http.request.input.v1",
            json!({ "methods": ["http."], "network_access": [http_addr] }),
            json!({ "method": "GET", "url": format!("http://{http_addr}/") }),
        ),
        ("action:credentials.delete.input.v1", json!({ "methods": ["credentials."] }), json!({ "name": "c" })),
    ] {
        let parts = common::wasm::Parts::forwarding(method);
        // The credential was filed for `schema`, so the forwarder is `schema`.
        let dir =
            common::wasm::write_extension(ext_src.path(), &common::wasm::manifest("schema", perms), &parts.wasm());
        call(&core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
        check(&ops[method]["input_schema"], &payload, &format!("{method} input"));
        let out = call(&core, "query:schema.run.v1", None, payload).await.unwrap_or_else(|e| panic!("{method}: {e}"));
        check(&ops[method]["output_schema"], &out, &format!("{method} output"));
        covered.insert(method.to_string());
    }
    let out = call(&core, "action:locations.remove.input.v1", Some(lib), json!({ "path": tree.path() })).await.unwrap();
    check(&ops["action:locations.remove.input.v1"]["output_schema"], &out, "locations.remove output");
    covered.insert("action:locations.remove.input.v1".to_string());
    let out = call(&core, "action:libraries.remove.input.v1", None, json!({ "id": lib })).await.unwrap();
    check(&ops["action:libraries.remove.input.v1"]["output_schema"], &out, "libraries.remove output");
    covered.insert("action:libraries.remove.input.v1".to_string());

    let uncovered: Vec<_> = ops.keys().filter(|m| !covered.contains(*m)).collect();
    assert!(uncovered.is_empty(), "operations without a schema check: {uncovered:?}");

    // And the input schema rejects what the handler rejects.
    let ping_schema = &ops["query:test.ping.v1"]["input_schema"];
    assert!(!jsonschema::is_valid(ping_schema, &json!({ "message": 1 })));
    assert!(call(&core, "query:test.ping.v1", None, json!({ "message": 1 })).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_file_ranges_under_filters_and_file_kinds_that_rescans_keep() {
    let data = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tree.path()).unwrap();
    std::fs::create_dir_all(root.join("Receipts/2026")).unwrap();
    std::fs::create_dir_all(root.join("receipts_other")).unwrap();
    let body: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(root.join("Receipts/2026/big.bin"), &body).unwrap();
    std::fs::write(root.join("Receipts/a.txt"), "Total 1.00").unwrap();
    std::fs::write(root.join("receipts_other/b.txt"), "other").unwrap();
    std::os::unix::fs::symlink("/etc/hostname", root.join("Receipts/link")).unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "files").await;
    call(&core, "action:locations.add.input.v1", Some(lib), json!({ "path": root })).await.unwrap();
    let entries = all_entries(&core, lib).await;
    let id_of = |rel: &str| entries[&root.join(rel).display().to_string()]["id"].clone();

    // `under` is an exact path prefix: not `receipts_other`, not case-folded.
    let under =
        call(&core, "query:vdfs.list_entries.v1", Some(lib), json!({ "under": root.join("Receipts"), "kind": "file" }))
            .await
            .unwrap();
    let mut names: Vec<&str> =
        under["entries"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["a.txt", "big.bin"]);
    let none = call(&core, "query:vdfs.list_entries.v1", Some(lib), json!({ "under": "/nowhere" })).await.unwrap();
    assert_eq!(none["total"], 0);
    let e =
        call(&core, "query:vdfs.list_entries.v1", Some(lib), json!({ "under": "relative/path" })).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidInput);

    // Ranges of at most 4 MiB, the whole file in order, EOF reported.
    let big = id_of("Receipts/2026/big.bin");
    let mut got = Vec::new();
    loop {
        let r = call(
            &core,
            "query:vdfs.read_file.v1",
            Some(lib),
            json!({ "entry_id": big, "offset": got.len(), "length": 4 * 1024 * 1024 }),
        )
        .await
        .unwrap();
        use base64::Engine;
        got.extend(base64::engine::general_purpose::STANDARD.decode(r["data_base64"].as_str().unwrap()).unwrap());
        assert_eq!(r["size"], body.len());
        if r["eof"] == true {
            break;
        }
    }
    assert_eq!(got, body);
    let past = call(&core, "query:vdfs.read_file.v1", Some(lib), json!({ "entry_id": big, "offset": 10_000_000u64 }))
        .await
        .unwrap();
    assert_eq!((past["data_base64"].as_str(), past["eof"].as_bool()), (Some(""), Some(true)));
    for bad in [json!({ "entry_id": big, "length": 0 }), json!({ "entry_id": big, "length": 4 * 1024 * 1024 + 1 })] {
        let e = call(&core, "query:vdfs.read_file.v1", Some(lib), bad).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput);
    }
    // Links, folders and virtual entries have no file to hand out.
    let virt = call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "v" })).await.unwrap();
    for id in [id_of("Receipts/link"), id_of("Receipts/2026"), virt["entry_id"].clone()] {
        let e = call(&core, "query:vdfs.read_file.v1", Some(lib), json!({ "entry_id": id })).await.unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
    }

    // A file given a kind of its own keeps it, and its id, across rescans.
    let a = id_of("Receipts/a.txt");
    call(
        &core,
        "action:vdfs.update_metadata.input.v1",
        Some(lib),
        json!({ "entry_id": a, "kind": "receipt", "set": { "total": 1 } }),
    )
    .await
    .unwrap();
    std::fs::write(root.join("Receipts/a.txt"), "Total 2.00").unwrap();
    call(&core, "action:locations.rescan.input.v1", Some(lib), json!({ "path": root })).await.unwrap();
    let after = call(&core, "query:vdfs.entry.v1", Some(lib), json!({ "id": a })).await.unwrap();
    assert_eq!(after["kind"], "receipt");
    assert_eq!(after["metadata"]["user"]["total"], 1);
    // Folders keep theirs, and `dir` is the indexer's to give.
    for (id, kind) in [(id_of("Receipts/2026"), "receipt"), (a.clone(), "dir"), (virt["entry_id"].clone(), "file")] {
        let e = call(&core, "action:vdfs.update_metadata.input.v1", Some(lib), json!({ "entry_id": id, "kind": kind }))
            .await
            .unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidInput, "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_entries_writes_a_batch_atomically_with_metadata_and_searchable_sidecars() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "batch").await;
    let entries: Vec<_> = (0..300)
        .map(|i| {
            json!({
                "name": format!("invoice {i}"), "kind": "receipt",
                "metadata": { "vendor": format!("vendor{}", i % 7), "n": i },
                "text_sidecars": { "ocr.txt": format!("total due {i} quokka{}", i % 3) },
            })
        })
        .collect();
    let out =
        call(&core, "action:vdfs.create_entries.input.v1", Some(lib), json!({ "entries": entries })).await.unwrap();
    let ids = out["entry_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 300);
    let first = call(&core, "query:vdfs.entry.v1", Some(lib), json!({ "id": ids[5] })).await.unwrap();
    assert_eq!(first["name"], "invoice 5", "{first}");
    assert_eq!(first["metadata"]["user"]["vendor"], "vendor5", "{first}");

    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "quokka1", "limit": 1000 })).await.unwrap();
    assert_eq!(hits["total"], 100, "{hits}");
    let hits = call(
        &core,
        "query:search.v1",
        Some(lib),
        json!({ "query": "invoice", "where": [{ "namespace": "user", "key": "vendor", "value": "vendor3" }] }),
    )
    .await
    .unwrap();
    assert_eq!(hits["total"], 43, "{hits}");

    // One bad entry (a name with a slash) fails the whole batch: nothing is added.
    let bad = json!({ "entries": [{ "name": "fine" }, { "name": "a/b" }] });
    let err = call(&core, "action:vdfs.create_entries.input.v1", Some(lib), bad).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput, "{err}");
    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "fine" })).await.unwrap();
    assert_eq!(hits["total"], 0, "{hits}");

    // Past the batch limit: a clear error, nothing written.
    let many: Vec<_> = (0..1001).map(|i| json!({ "name": format!("x{i}") })).collect();
    let err =
        call(&core, "action:vdfs.create_entries.input.v1", Some(lib), json!({ "entries": many })).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidInput);
    assert!(err.message.contains("at most 1000"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_documents_changed_or_removed_before_their_transaction_commits_index_correctly() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "pending").await;
    let library = core.libraries().get(lib).await.unwrap();
    let kept = call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "walrus kept" })).await;
    let kept = kept.unwrap()["entry_id"].as_str().unwrap().to_string();
    library
        .write(move |tx| {
            // Inserted, renamed and removed before the commit: only the
            // final state may be searchable.
            tx.execute(
                "INSERT INTO entries(uuid, name, kind, indexed_ns, owner) VALUES ('00000000-0000-7000-8000-00000000000a', 'narwhal first', 'virtual', 0, 'user')",
                [],
            )?;
            tx.execute("UPDATE entries SET name = 'narwhal renamed' WHERE uuid = '00000000-0000-7000-8000-00000000000a'", [])?;
            tx.execute(
                "INSERT INTO entries(uuid, name, kind, indexed_ns, owner) VALUES ('00000000-0000-7000-8000-00000000000b', 'narwhal gone', 'virtual', 0, 'user')",
                [],
            )?;
            tx.execute("DELETE FROM entries WHERE uuid = '00000000-0000-7000-8000-00000000000b'", [])?;
            // An entry indexed in an earlier transaction, renamed in this one.
            tx.execute("UPDATE entries SET name = 'walrus renamed' WHERE uuid = ?1", [&kept])?;
            Ok(())
        })
        .await
        .unwrap();
    let names = |hits: serde_json::Value| -> Vec<String> {
        hits["results"].as_array().unwrap().iter().map(|h| h["entry"]["name"].as_str().unwrap().to_string()).collect()
    };
    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "narwhal" })).await.unwrap();
    assert_eq!(names(hits), ["narwhal renamed"]);
    for gone in ["first", "gone", "kept"] {
        let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": gone })).await.unwrap();
        assert_eq!(hits["total"], 0, "{gone}: {hits}");
    }
    let hits = call(&core, "query:search.v1", Some(lib), json!({ "query": "walrus renamed" })).await.unwrap();
    assert_eq!(names(hits), ["walrus renamed"]);
    let check =
        library.write(|tx| Ok(tx.execute("INSERT INTO entry_fts(entry_fts) VALUES ('integrity-check')", [])?)).await;
    assert!(check.is_ok(), "full-text index out of step with its documents: {check:?}");

    // Words from different fields of one entry match together, and a field
    // that changes or goes takes its words with it.
    let total = |q: &'static str| {
        let core = core.clone();
        async move { call(&core, "query:search.v1", Some(lib), json!({ "query": q })).await.unwrap()["total"].clone() }
    };
    let otter = call(
        &core,
        "action:vdfs.create_entry.input.v1",
        Some(lib),
        json!({ "name": "otter", "metadata": { "colour": "umber" } }),
    )
    .await
    .unwrap()["entry_id"]
        .clone();
    assert_eq!(total("otter umber").await, 1);
    call(&core, "action:vdfs.update_metadata.input.v1", Some(lib), json!({ "entry_id": otter, "remove": ["colour"] }))
        .await
        .unwrap();
    assert_eq!(total("otter umber").await, 0);
    assert_eq!(total("otter").await, 1);
    call(
        &core,
        "action:vdfs.write_sidecar.input.v1",
        Some(lib),
        json!({ "entry_id": otter, "name": "notes.txt", "text": "kelp forest" }),
    )
    .await
    .unwrap();
    assert_eq!(total("otter kelp").await, 1);
    assert_eq!(total("kelp umber").await, 0);
    let counts: (i64, i64) = library
        .read(|c| {
            Ok(c.query_row(
                "SELECT (SELECT COUNT(*) FROM entry_fts), (SELECT COUNT(DISTINCT entry_id) FROM search_docs)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(counts.0, counts.1, "one per-entry document for each entry with documents");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sidecar_blob_written_by_a_transaction_that_rolls_back_is_removed_at_once() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "rollback").await;
    let library = core.libraries().get(lib).await.unwrap();
    let e = call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "holder" })).await.unwrap();
    let uuid = e["entry_id"].as_str().unwrap().to_string();
    // Over the inline limit, so the blob is a file of its own.
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let hash = blake3::hash(&big).to_hex().to_string();
    let blob = library.sidecars().root().join("blobs").join(&hash[..2]).join(&hash);

    let (lib2, bytes) = (library.clone(), big.clone());
    let err = library
        .write(move |tx| {
            let row: i64 = tx.query_row("SELECT id FROM entries WHERE uuid = ?1", [&uuid], |r| r.get(0))?;
            sd_core::vdfs::sidecar::write(
                tx,
                lib2.sidecars(),
                row,
                "user",
                "big.bin",
                "application/octet-stream",
                &bytes,
            )?;
            assert!(lib2.sidecars().root().join("blobs").join(&hash[..2]).join(&hash).is_file());
            Err::<(), _>(sd_core::OpError::invalid("changed my mind"))
        })
        .await
        .unwrap_err();
    assert_eq!(err.message, "changed my mind");
    assert!(!blob.exists(), "the rolled-back blob stayed on disk");

    // Written again and committed, it stays.
    let id = e["entry_id"].as_str().unwrap();
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &big);
    let payload = json!({ "entry_id": id, "name": "big.bin", "data_base64": b64 });
    call(&core, "action:vdfs.write_sidecar.input.v1", Some(lib), payload).await.unwrap();
    assert!(blob.is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_rank_limit_the_newest_matches_come_first() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "many").await;
    let n = sd_core::vdfs::search::RANK_LIMIT as usize + 1;
    for chunk in 0..n.div_ceil(1000) {
        let entries: Vec<serde_json::Value> = (chunk * 1000..((chunk + 1) * 1000).min(n))
            .map(|i| json!({ "name": format!("heron {i}"), "metadata": { "tier": (i % 3).to_string() } }))
            .collect();
        call(&core, "action:vdfs.create_entries.input.v1", Some(lib), json!({ "entries": entries })).await.unwrap();
    }
    call(&core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "heron heron egret" })).await.unwrap();
    let broad = call(&core, "query:search.v1", Some(lib), json!({ "query": "heron", "limit": 3 })).await.unwrap();
    assert_eq!(broad["total"], n + 1);
    assert_eq!(broad["ranking"], "newest");
    assert_eq!(broad["results"][0]["entry"]["name"], "heron heron egret");
    assert_eq!(broad["results"][1]["entry"]["name"], format!("heron {}", n - 1));
    assert!(broad["results"][0]["reasons"][0]["snippet"].as_str().unwrap().contains("[heron]"), "{broad}");
    // A page further on continues in the same order.
    let next =
        call(&core, "query:search.v1", Some(lib), json!({ "query": "heron", "limit": 2, "offset": 2 })).await.unwrap();
    assert_eq!(next["results"][0]["entry"]["name"], format!("heron {}", n - 2));
    // Metadata filters on so many matches: sorted id lists merged, newest first.
    let tier = |t: &str, kind: Option<&str>, offset: u64| {
        let mut payload = json!({ "query": "heron", "limit": 2, "offset": offset,
            "where": [{ "namespace": "user", "key": "tier", "value": t }] });
        if let Some(k) = kind {
            payload["kind"] = json!(k);
        }
        let core = core.clone();
        async move { call(&core, "query:search.v1", Some(lib), payload).await.unwrap() }
    };
    let zero = tier("0", None, 0).await;
    assert_eq!(zero["total"], n.div_ceil(3), "{zero}");
    assert_eq!(zero["ranking"], "newest");
    let newest_zero = (0..n).rev().find(|i| i % 3 == 0).unwrap();
    assert_eq!(zero["results"][0]["entry"]["name"], format!("heron {newest_zero}"));
    assert_eq!(tier("0", None, 1).await["results"][0]["entry"]["name"], format!("heron {}", newest_zero - 3));
    assert_eq!(tier("0", Some("virtual"), 0).await["total"], n.div_ceil(3));
    assert_eq!(tier("0", Some("file"), 0).await["total"], 0);
    assert_eq!(tier("7", None, 0).await["total"], 0);
    // No words: the filter's entries, oldest first, paged.
    let where_one = json!([{ "namespace": "user", "key": "tier", "value": "1" }]);
    let listed = call(&core, "query:search.v1", Some(lib), json!({ "where": where_one, "limit": 2, "offset": 1 }))
        .await
        .unwrap();
    assert_eq!(listed["total"], (n - 1).div_ceil(3), "{listed}");
    assert_eq!(listed["results"][0]["entry"]["name"], "heron 4");
    let none = call(&core, "query:search.v1", Some(lib), json!({ "where": where_one, "kind": "file" })).await.unwrap();
    assert_eq!(none["total"], 0);
    // Narrower queries rank by relevance.
    let narrow = call(&core, "query:search.v1", Some(lib), json!({ "query": "heron egret" })).await.unwrap();
    assert_eq!((narrow["total"].as_u64(), narrow["ranking"].as_str()), (Some(1), Some("relevance")));
    let few = call(&core, "query:search.v1", Some(lib), json!({ "query": "heron 1234" })).await.unwrap();
    assert_eq!(few["ranking"], "relevance");
    assert_eq!(few["results"][0]["entry"]["name"], "heron 1234", "{few}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kind_and_metadata_filters_narrow_searches_with_and_without_words() {
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let lib = new_library(&core, "kinds").await;
    let kinds = ["receipt", "note", "photo"];
    let entries: Vec<_> = (0..600)
        .map(|i| {
            json!({ "name": format!("item {i} {}", if i % 2 == 0 { "even" } else { "odd" }), "kind": kinds[i % 3],
                    "metadata": { "vendor": format!("v{}", i % 4) } })
        })
        .collect();
    call(&core, "action:vdfs.create_entries.input.v1", Some(lib), json!({ "entries": entries })).await.unwrap();
    let search = |payload: serde_json::Value| {
        let core = core.clone();
        async move { call(&core, "query:search.v1", Some(lib), payload).await.unwrap() }
    };
    let vendor = |v: &str| json!([{ "namespace": "user", "key": "vendor", "value": v }]);
    // i % 3 == 0 and i % 4 == 1: i ≡ 9 (mod 12), 50 of them.
    let hits = search(json!({ "kind": "receipt", "where": vendor("v1"), "limit": 100 })).await;
    assert_eq!(hits["total"], 50, "{hits}");
    assert_eq!(hits["ranking"], "filtered");
    for h in hits["results"].as_array().unwrap() {
        let n: usize = h["entry"]["name"].as_str().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        assert_eq!(n % 12, 9, "{h}");
        assert_eq!(h["entry"]["kind"], "receipt");
    }
    // With a word as well: i ≡ 9 (mod 12) is odd, so "even" leaves none and "odd" all 50.
    assert_eq!(search(json!({ "query": "even", "kind": "receipt", "where": vendor("v1") })).await["total"], 0);
    assert_eq!(search(json!({ "query": "odd", "kind": "receipt", "where": vendor("v1") })).await["total"], 50);
    // Paged, ranked by relevance: the pages hold the 50 once between them.
    let mut seen = std::collections::HashSet::new();
    for offset in [0, 20, 40] {
        let page =
            search(json!({ "query": "odd", "kind": "receipt", "where": vendor("v1"), "limit": 20, "offset": offset }))
                .await;
        assert_eq!((page["total"].as_u64(), page["ranking"].as_str()), (Some(50), Some("relevance")), "{page}");
        for h in page["results"].as_array().unwrap() {
            assert!(seen.insert(h["entry"]["id"].as_str().unwrap().to_string()), "{h} on two pages");
        }
    }
    assert_eq!(seen.len(), 50);
    // Kind and word only: a third of the 300 odd items.
    assert_eq!(search(json!({ "query": "odd", "kind": "note" })).await["total"], 100);
    assert_eq!(search(json!({ "kind": "photo", "where": vendor("v9") })).await["total"], 0);

    // A rare value among many entries of one kind, and the same value on
    // entries of other kinds.
    let mut more = vec![json!({ "name": "rare one", "kind": "note", "metadata": { "vendor": "rare" } })];
    more.extend(
        (0..400).map(|i| json!({ "name": format!("bulk {i}"), "kind": "note", "metadata": { "vendor": "bulk" } })),
    );
    more.push(json!({ "name": "rare two", "kind": "receipt", "metadata": { "vendor": "rare" } }));
    more.push(json!({ "name": "rare three", "kind": "note", "metadata": { "vendor": "rare" } }));
    call(&core, "action:vdfs.create_entries.input.v1", Some(lib), json!({ "entries": more })).await.unwrap();
    let names = |hits: serde_json::Value| -> Vec<String> {
        hits["results"].as_array().unwrap().iter().map(|h| h["entry"]["name"].as_str().unwrap().to_string()).collect()
    };
    assert_eq!(names(search(json!({ "kind": "note", "where": vendor("rare") })).await), ["rare one", "rare three"]);
    assert_eq!(names(search(json!({ "kind": "receipt", "where": vendor("rare") })).await), ["rare two"]);
    assert_eq!(search(json!({ "kind": "note", "where": vendor("bulk") })).await["total"], 400);
    assert_eq!(search(json!({ "where": vendor("rare") })).await["total"], 3);

    // A new kind moves the entry between kinds in filtered searches, words or not.
    let one = search(json!({ "query": "rare one" })).await["results"][0]["entry"]["id"].clone();
    call(&core, "action:vdfs.update_metadata.input.v1", Some(lib), json!({ "entry_id": one, "kind": "receipt" }))
        .await
        .unwrap();
    assert_eq!(names(search(json!({ "kind": "note", "where": vendor("rare") })).await), ["rare three"]);
    assert_eq!(names(search(json!({ "kind": "receipt", "where": vendor("rare") })).await), ["rare one", "rare two"]);
    let worded = search(json!({ "query": "rare", "kind": "receipt", "where": vendor("rare") })).await;
    assert_eq!(worded["total"], 2, "{worded}");
    // Metadata set after the change carries the new kind too.
    call(
        &core,
        "action:vdfs.update_metadata.input.v1",
        Some(lib),
        json!({ "entry_id": one, "set": { "tier": "gold" } }),
    )
    .await
    .unwrap();
    let gold = json!([{ "namespace": "user", "key": "tier", "value": "gold" }]);
    assert_eq!(names(search(json!({ "kind": "receipt", "where": gold })).await), ["rare one"]);
    assert_eq!(search(json!({ "kind": "note", "where": gold })).await["total"], 0);
}
