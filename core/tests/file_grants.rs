//! Folder grants against a hostile extension: one that may add locations
//! and read files (what Finance asks for) tries to reach the data dir, the
//! vault key, other folders, and files behind links swapped in after
//! indexing. Only what a person granted may be read; nobody reads the data
//! dir.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use common::wasm::{Parts, router_manifest, write_extension};
use common::{all_entries, assert_err, call, new_library};
use sd_core::{Caller, Core, ErrorCode, OpError};
use serde_json::{Value, json};
use uuid::Uuid;

/// What the snooping extension can call, as `query:snoop.<name>.v1`.
const ROUTES: &[(&str, &str)] = &[
    ("add", "action:locations.add.input.v1"),
    ("rescan", "action:locations.rescan.input.v1"),
    ("read", "query:vdfs.read_file.v1"),
    ("ocr", "query:ai.ocr.v1"),
    ("list", "query:vdfs.list_entries.v1"),
    ("search", "query:search.v1"),
    ("grants", "query:grants.list.v1"),
    ("grant", "action:grants.add.input.v1"),
];
/// The bytes of the vault key planted in the data dir: no answer may hold them.
const VAULT_SECRET: &str = "VAULT-KEY-9f8e7d6c5b4a";

struct Env {
    core: Arc<Core>,
    lib: Uuid,
    /// Everything: the data dir and the folders below live here.
    top: PathBuf,
    data: PathBuf,
    src: tempfile::TempDir,
    /// Every answer the extension got, for the check that no secret leaked.
    answers: std::sync::Mutex<Vec<String>>,
    _dir: tempfile::TempDir,
}

impl Env {
    async fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let top = std::fs::canonicalize(dir.path()).unwrap();
        let data = top.join("sd-data");
        let core = Core::open(&data).unwrap();
        std::fs::write(data.join("vault.key"), VAULT_SECRET).unwrap();
        let lib = new_library(&core, "home").await;
        let env =
            Env { core, lib, top, data, src: tempfile::tempdir().unwrap(), answers: Default::default(), _dir: dir };
        env.install().await;
        env
    }

    async fn install(&self) {
        let perms = json!({
            "methods": ["locations.add", "locations.rescan", "vdfs.", "search.", "ai.ocr", "grants."],
        });
        let dir =
            write_extension(self.src.path(), &router_manifest("snoop", perms, ROUTES), &Parts::router(ROUTES).wasm());
        call(&self.core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
    }

    /// The extension calls `name` with `payload` in the library.
    async fn snoop(&self, name: &str, payload: Value) -> Result<Value, OpError> {
        let out = call(&self.core, &format!("query:snoop.{name}.v1"), Some(self.lib), payload).await;
        let text = match &out {
            Ok(v) => v.to_string(),
            Err(e) => e.message.clone(),
        };
        self.answers.lock().unwrap().push(text);
        out
    }

    async fn person(&self, method: &str, payload: Value) -> Result<Value, OpError> {
        call(&self.core, method, Some(self.lib), payload).await
    }

    async fn grant(&self, path: &Path) -> Result<Value, OpError> {
        call(&self.core, "action:grants.add.input.v1", None, json!({ "extension": "snoop", "path": path })).await
    }

    /// A folder below `top` holding `files` (relative path, content).
    fn folder(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.top.join(name);
        for (rel, text) in files {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    async fn entry_id(&self, path: &Path) -> String {
        let all = all_entries(&self.core, self.lib).await;
        let e = all.get(path.to_str().unwrap()).unwrap_or_else(|| panic!("{} is not indexed", path.display()));
        e["id"].as_str().unwrap().to_string()
    }

    /// Reads a whole file as the extension, decoded.
    async fn snoop_read(&self, id: &str) -> Result<String, OpError> {
        let out = self.snoop("read", json!({ "entry_id": id })).await?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(out["data_base64"].as_str().unwrap()).unwrap();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        self.answers.lock().unwrap().push(text.clone());
        Ok(text)
    }

    /// No answer the extension got holds a byte of the vault key or of a
    /// library database.
    fn nothing_leaked(&self) {
        let db = std::fs::read(self.data.join("libraries").join(self.lib.to_string()).join("library.db")).unwrap();
        let header = &db[..16];
        for answer in self.answers.lock().unwrap().iter() {
            assert!(!answer.contains(VAULT_SECRET), "the vault key leaked: {answer}");
            assert!(!answer.as_bytes().windows(16).any(|w| w == header), "a library database leaked");
            assert!(!answer.contains("U1FMaXRlIGZvcm1hdCAz"), "a library database leaked (base64)");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_extension_adds_and_reads_only_the_folders_a_person_granted() {
    let env = Env::new().await;
    let g = env.folder("G", &[("receipt.txt", "Blue Bottle Coffee\nTotal 5.50\n")]);
    let other = env.folder("other", &[("notes.txt", "not for extensions")]);
    std::os::unix::fs::symlink(&env.data, g.join("escape")).unwrap();
    // Hard links into the data dir, which no path check can see.
    std::fs::hard_link(env.data.join("vault.key"), g.join("key-copy")).unwrap();
    let db = env.data.join("libraries").join(env.lib.to_string()).join("library.db");
    std::fs::hard_link(&db, g.join("db-copy")).unwrap();
    let info = call(&env.core, "query:extensions.info.v1", None, json!({ "id": "snoop" })).await.unwrap();
    let summary = info["consent"]["files"]["summary"].to_string();
    assert!(summary.contains("none until you grant one with `sd ext grant snoop --path DIR`"), "{summary}");
    assert!(summary.contains("locations.add lets it index a folder granted to it"), "{summary}");

    // Nothing granted yet: no folder at all.
    for path in [env.data.clone(), env.data.join("libraries")] {
        assert_err(env.snoop("add", json!({ "path": path })).await, ErrorCode::InvalidInput, "data folder");
    }
    assert_err(env.snoop("add", json!({ "path": "/etc" })).await, ErrorCode::PermissionDenied, "no folder granted");
    assert_err(env.snoop("add", json!({ "path": g })).await, ErrorCode::PermissionDenied, "sd ext grant snoop --path");

    env.grant(&g).await.unwrap();
    // `..`, relative paths and links are resolved before the check.
    let escapes = [
        format!("{}/../..", g.display()),
        format!("{}/..", g.display()),
        format!("{}/../other", g.display()),
        ".".to_string(),
        "../..".to_string(),
        "/etc".to_string(),
        other.display().to_string(),
    ];
    for path in &escapes {
        assert_err(env.snoop("add", json!({ "path": path })).await, ErrorCode::PermissionDenied, "may not index");
    }
    assert_err(env.snoop("add", json!({ "path": g.join("escape") })).await, ErrorCode::InvalidInput, "data folder");
    assert_err(
        env.snoop("add", json!({ "path": g, "follow_links": true })).await,
        ErrorCode::PermissionDenied,
        "follows symbolic links",
    );
    // The granted folder, with a trailing slash: accepted, and its file read.
    let added = env.snoop("add", json!({ "path": format!("{}/", g.display()) })).await.unwrap();
    assert_eq!(added["location"]["path"], g.to_str().unwrap());
    let receipt = env.entry_id(&g.join("receipt.txt")).await;
    assert!(env.snoop_read(&receipt).await.unwrap().contains("Blue Bottle"));
    for copy in ["key-copy", "db-copy"] {
        let id = env.entry_id(&g.join(copy)).await;
        assert_err(env.snoop("read", json!({ "entry_id": id })).await, ErrorCode::PermissionDenied, "hard link");
        let person = env.person("query:vdfs.read_file.v1", json!({ "entry_id": id })).await;
        assert_err(person, ErrorCode::PermissionDenied, "hard link");
    }
    // The link to the data dir is indexed as a link, never read through.
    let link = env.entry_id(&g.join("escape")).await;
    assert_err(env.snoop("read", json!({ "entry_id": link })).await, ErrorCode::InvalidInput, "symlink");

    // A person indexes the folder holding everything, the data dir too: it
    // is skipped, and the extension reads nothing outside its grant.
    assert_err(
        env.person("action:locations.add.input.v1", json!({ "path": env.data })).await,
        ErrorCode::InvalidInput,
        "never be a location",
    );
    let scan = env.person("action:locations.add.input.v1", json!({ "path": env.top })).await.unwrap();
    let warnings = scan["scan"]["warnings"].to_string();
    assert!(warnings.contains("never indexed"), "{warnings}");
    let all = all_entries(&env.core, env.lib).await;
    assert!(all.keys().all(|p| !Path::new(p).starts_with(&env.data)), "the data dir was indexed");
    let notes = env.entry_id(&other.join("notes.txt")).await;
    assert_err(env.snoop("read", json!({ "entry_id": notes })).await, ErrorCode::PermissionDenied, "may not read");
    assert_err(env.snoop("ocr", json!({ "entry_id": notes })).await, ErrorCode::PermissionDenied, "may not read");
    assert!(env.person("query:vdfs.read_file.v1", json!({ "entry_id": notes })).await.is_ok(), "people read it");
    let top_location = scan["location"]["id"].clone();
    assert_err(env.snoop("rescan", json!({ "id": top_location })).await, ErrorCode::PermissionDenied, "may not index");
    let found = env.snoop("search", json!({ "query": "vault" })).await.unwrap();
    assert_eq!(found["total"], 0, "{found}");
    env.nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_swapped_for_a_link_after_indexing_is_never_followed() {
    let env = Env::new().await;
    let files = env.folder("files", &[("sub/vault.key", "DECOY"), ("sub/ok.txt", "fine")]);
    let location = env.person("action:locations.add.input.v1", json!({ "path": files })).await.unwrap();
    env.grant(&files).await.unwrap();
    let decoy = env.entry_id(&files.join("sub/vault.key")).await;
    assert_eq!(env.snoop_read(&decoy).await.unwrap(), "DECOY");

    // `sub` becomes a link to the data dir, where the real key is.
    std::fs::rename(files.join("sub"), env.top.join("sub-moved")).unwrap();
    std::os::unix::fs::symlink(&env.data, files.join("sub")).unwrap();
    assert_err(env.snoop("read", json!({ "entry_id": decoy })).await, ErrorCode::PermissionDenied, "symbolic link");
    assert_err(env.snoop("ocr", json!({ "entry_id": decoy })).await, ErrorCode::PermissionDenied, "symbolic link");
    // People are refused the same way.
    assert_err(
        env.person("query:vdfs.read_file.v1", json!({ "entry_id": decoy })).await,
        ErrorCode::PermissionDenied,
        "symbolic link",
    );

    // The location's folder itself swapped for a link.
    std::fs::remove_file(files.join("sub")).unwrap();
    std::fs::rename(env.top.join("sub-moved"), files.join("sub")).unwrap();
    let ok = env.entry_id(&files.join("sub/ok.txt")).await;
    assert_eq!(env.snoop_read(&ok).await.unwrap(), "fine");
    std::fs::rename(&files, env.top.join("files-moved")).unwrap();
    std::os::unix::fs::symlink(&env.data, &files).unwrap();
    std::fs::write(env.data.join("ok.txt"), VAULT_SECRET).unwrap();
    assert_err(
        env.person("action:locations.rescan.input.v1", json!({ "id": location["location"]["id"] })).await,
        ErrorCode::Unavailable,
        "symbolic link",
    );
    for id in [&decoy, &ok] {
        let r = env.snoop("read", json!({ "entry_id": id })).await;
        assert_eq!(r.unwrap_err().code, ErrorCode::PermissionDenied);
        let r = env.person("query:vdfs.read_file.v1", json!({ "entry_id": id })).await;
        assert_eq!(r.unwrap_err().code, ErrorCode::PermissionDenied);
    }
    env.nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_resolve_links_and_names_before_they_are_checked() {
    let env = Env::new().await;
    let g = env.folder("G", &[("a.txt", "granted")]);
    let secret = env.folder("secret", &[("s.txt", "outside the grant")]);
    std::os::unix::fs::symlink(&g, env.top.join("alias")).unwrap();
    std::os::unix::fs::symlink(&secret, g.join("out")).unwrap();
    std::os::unix::fs::symlink(secret.join("s.txt"), g.join("file-link")).unwrap();

    // Granted through a link: the real folder is stored, and adding the
    // link's path reaches it.
    let granted = env.grant(&env.top.join("alias")).await.unwrap();
    assert_eq!(granted["path"], g.to_str().unwrap());
    let added = env.snoop("add", json!({ "path": env.top.join("alias") })).await.unwrap();
    assert_eq!(added["location"]["path"], g.to_str().unwrap());
    // A link inside the grant that points out of it.
    assert_err(env.snoop("add", json!({ "path": g.join("out") })).await, ErrorCode::PermissionDenied, "may not index");
    let file_link = env.entry_id(&g.join("file-link")).await;
    assert_err(env.snoop("read", json!({ "entry_id": file_link })).await, ErrorCode::InvalidInput, "symlink");

    // Names that look like the granted one are other folders, and errors
    // show them so that a person can tell.
    let zero_width = env.folder("G\u{200b}", &[("x.txt", "lookalike")]);
    let newline = env.folder("G\nx", &[("x.txt", "newline")]);
    let e = assert_err(env.snoop("add", json!({ "path": zero_width })).await, ErrorCode::PermissionDenied, "\\u{200b}");
    assert!(e.message.contains(&format!("\"{}/G\\u{{200b}}\"", env.top.display())), "{e}");
    assert_err(env.snoop("add", json!({ "path": newline })).await, ErrorCode::PermissionDenied, "G\\u{a}x");
    env.grant(&newline).await.unwrap();
    env.snoop("add", json!({ "path": newline })).await.unwrap();
    let info = call(&env.core, "query:extensions.info.v1", None, json!({ "id": "snoop" })).await.unwrap();
    let summary = info["consent"]["files"]["summary"][0].as_str().unwrap().to_string();
    assert!(summary.contains("G\\u{a}x\""), "{summary}");
    assert_eq!(info["consent"]["files"]["granted"].as_array().unwrap().len(), 2);

    // What is never granted.
    let file = g.join("a.txt");
    assert_err(env.grant(&file).await, ErrorCode::InvalidInput, "not a folder");
    assert_err(env.grant(&env.top.join("missing")).await, ErrorCode::NotFound, "cannot grant");
    assert_err(env.grant(&env.data).await, ErrorCode::InvalidInput, "data folder");
    assert_err(env.grant(&env.data.join("libraries")).await, ErrorCode::InvalidInput, "data folder");
    assert_err(env.grant(Path::new("relative/dir")).await, ErrorCode::InvalidInput, "relative path");
    let other = call(&env.core, "action:grants.add.input.v1", None, json!({ "extension": "nobody", "path": g })).await;
    assert_err(other, ErrorCode::NotFound, "no extension `nobody`");

    // An extension cannot grant itself, and sees only its own grants.
    assert_err(
        env.snoop("grant", json!({ "extension": "snoop", "path": secret })).await,
        ErrorCode::PermissionDenied,
        "",
    );
    let mine = env.snoop("grants", json!({})).await.unwrap();
    assert_eq!(mine.as_array().unwrap().len(), 2);
    assert_err(env.snoop("grants", json!({ "extension": "finance" })).await, ErrorCode::PermissionDenied, "its own");
    env.nothing_leaked();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_takes_effect_at_once_and_removing_the_extension_takes_its_grants() {
    let env = Env::new().await;
    let g = env.folder("G", &[("a.txt", "granted")]);
    env.grant(&g).await.unwrap();
    let added = env.snoop("add", json!({ "path": g })).await.unwrap();
    let a = env.entry_id(&g.join("a.txt")).await;
    assert_eq!(env.snoop_read(&a).await.unwrap(), "granted");

    let revoked =
        call(&env.core, "action:grants.revoke.input.v1", None, json!({ "extension": "snoop", "path": g })).await;
    assert_eq!(revoked.unwrap()["path"], g.to_str().unwrap());
    assert_err(env.snoop("read", json!({ "entry_id": a })).await, ErrorCode::PermissionDenied, "no folder granted");
    assert_err(env.snoop("rescan", json!({ "id": added["location"]["id"] })).await, ErrorCode::PermissionDenied, "");
    // What it indexed stays in the library.
    assert!(all_entries(&env.core, env.lib).await.contains_key(g.join("a.txt").to_str().unwrap()));
    let again =
        call(&env.core, "action:grants.revoke.input.v1", None, json!({ "extension": "snoop", "path": g })).await;
    assert_err(again, ErrorCode::NotFound, "holds no grant");

    // Granted, then the extension removed: its grants go with it, and a
    // new install of the same id starts with none.
    env.grant(&g).await.unwrap();
    call(&env.core, "action:extensions.remove.input.v1", None, json!({ "id": "snoop" })).await.unwrap();
    let left = call(&env.core, "query:grants.list.v1", None, json!({ "extension": "snoop" })).await.unwrap();
    assert_eq!(left, json!([]));
    env.install().await;
    assert_err(env.snoop("read", json!({ "entry_id": a })).await, ErrorCode::PermissionDenied, "no folder granted");
    // Grants are the person's: the same calls from a person's socket work.
    let listed = env.core.execute_json_operation("query:grants.list.v1", None, json!({}), Caller::Socket).await;
    assert_eq!(listed.unwrap(), json!([]));
    env.nothing_leaked();
}
