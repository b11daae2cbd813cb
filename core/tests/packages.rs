//! Signed packages, served on loopback: installed from a file, a URL and
//! an index; refused when changed in any byte, cut short, too large,
//! redirected elsewhere, listed with a wrong hash, signed by a key other
//! than the pinned one, or older than what is installed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sd_core::infra::extension::Manifest;
use sd_core::{Core, ErrorCode};
use serde_json::{Value, json};

use crate::common::http::{Reply, serve};
use crate::common::wasm::{Parts, manifest, write_extension};
use crate::common::{assert_err, call};

const ID: &str = "pkgtest";

struct Env {
    _data: tempfile::TempDir,
    work: tempfile::TempDir,
    core: Arc<Core>,
}

impl Env {
    async fn new() -> Env {
        let data = tempfile::tempdir().unwrap();
        let core = Core::open(data.path()).unwrap();
        let env = Env { _data: data, work: tempfile::tempdir().unwrap(), core };
        for key in ["alice", "mallory"] {
            env.call("action:extensions.keys.create.input.v1", json!({ "name": key })).await.unwrap();
        }
        env
    }

    async fn call(&self, method: &str, payload: Value) -> sd_core::OpResult<Value> {
        call(&self.core, method, None, payload).await
    }

    /// A folder holding version `version` of the test extension, asking for
    /// `methods`; its `query:pkgtest.run.v1` answers through `test.ping`.
    fn source(&self, version: &str, methods: &[&str]) -> PathBuf {
        let mut m = manifest(ID, json!({ "methods": methods }));
        m["version"] = json!(version);
        write_extension(self.work.path(), &m, &Parts::forwarding("query:test.ping.v1").wasm())
    }

    /// Packs `dir` signed with `key`; returns the package's bytes.
    async fn pack(&self, dir: &Path, key: &str) -> Vec<u8> {
        let out = self.work.path().join(format!("{}.sdpkg", uuid::Uuid::new_v4()));
        let packed = self
            .call("action:extensions.pack.input.v1", json!({ "path": dir, "key": key, "output": out }))
            .await
            .unwrap();
        assert_eq!(packed["output"], out.to_str().unwrap());
        let bytes = std::fs::read(&out).unwrap();
        assert_eq!(packed["blake3"], blake3::hash(&bytes).to_hex().as_str());
        bytes
    }

    fn write(&self, bytes: &[u8]) -> PathBuf {
        let path = self.work.path().join(format!("{}.sdpkg", uuid::Uuid::new_v4()));
        std::fs::write(&path, bytes).unwrap();
        path
    }

    async fn install(&self, source: Value) -> sd_core::OpResult<Value> {
        self.call("action:extensions.install.input.v1", source).await
    }

    async fn works(&self) -> Value {
        let out = self.call("query:pkgtest.run.v1", json!({ "message": "still here" })).await.unwrap();
        assert_eq!(out["echo"], "Pong: still here", "{out}");
        out
    }

    async fn installed_version(&self) -> String {
        let info = self.call("query:extensions.info.v1", json!({ "id": ID })).await.unwrap();
        info["version"].as_str().unwrap().to_string()
    }

    async fn fingerprint(&self, key: &str) -> String {
        let keys = self.call("query:extensions.keys.list.v1", json!({})).await.unwrap();
        let k = keys.as_array().unwrap().iter().find(|k| k["name"] == key).unwrap();
        k["publisher"]["fingerprint"].as_str().unwrap().to_string()
    }
}

/// Files served by path; `/redirect` sends elsewhere.
type Files = Arc<Mutex<HashMap<String, Reply>>>;

async fn file_server() -> (String, Files) {
    let files: Files = Default::default();
    let shared = files.clone();
    let addr = serve(move |req| {
        let files = shared.lock().unwrap();
        match files.get(&req.path) {
            Some(Reply::With(s, h, b)) => Reply::With(*s, h.clone(), b.clone()),
            Some(Reply::Cut { declared, body }) => Reply::Cut { declared: *declared, body: body.clone() },
            _ => Reply::text(404, "no such file"),
        }
    })
    .await;
    (format!("http://{addr}"), files)
}

fn bytes(b: Vec<u8>) -> Reply {
    Reply::With(200, vec![], b)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_package_installs_from_a_file_and_a_url_and_a_bare_module_only_when_allowed() {
    let env = Env::new().await;
    let src = env.source("1.0.0", &["test."]);
    let pkg = env.pack(&src, "alice").await;
    let alice = env.fingerprint("alice").await;

    // The consent screen names the publisher.
    let path = env.write(&pkg);
    let seen = env.call("query:extensions.inspect.v1", json!({ "path": path })).await.unwrap();
    assert_eq!(seen["publisher"]["fingerprint"], alice.as_str(), "{seen}");
    assert_eq!(seen["origin"]["kind"], "file");
    let info = env.install(json!({ "path": path, "expect_blake3": seen["module_blake3"] })).await.unwrap();
    assert_eq!(info["publisher"]["fingerprint"], alice.as_str(), "{info}");
    env.works().await;
    env.call("action:extensions.remove.input.v1", json!({ "id": ID })).await.unwrap();

    // By URL.
    let (base, files) = file_server().await;
    files.lock().unwrap().insert("/p.sdpkg".into(), bytes(pkg.clone()));
    let url = format!("{base}/p.sdpkg");
    let seen = env.call("query:extensions.inspect.v1", json!({ "url": url })).await.unwrap();
    assert_eq!(seen["origin"], json!({ "kind": "url", "url": url }));
    assert_eq!(seen["publisher"]["fingerprint"], alice.as_str());
    // What was reviewed is what is installed: a package swapped on the
    // server in between is refused.
    let other = env.pack(&env.source("1.0.0", &["test.", "vdfs."]), "alice").await;
    files.lock().unwrap().insert("/p.sdpkg".into(), bytes(other));
    let swapped = env.install(json!({ "url": url, "expect_blake3": seen["module_blake3"] })).await;
    assert_err(swapped, ErrorCode::Conflict, "changed since it was reviewed");
    files.lock().unwrap().insert("/p.sdpkg".into(), bytes(pkg.clone()));
    env.install(json!({ "url": url, "expect_blake3": seen["module_blake3"] })).await.unwrap();
    env.works().await;
    env.call("action:extensions.remove.input.v1", json!({ "id": ID })).await.unwrap();

    // A bare module from a file or a URL is unsigned: only when allowed,
    // and then shown as such.
    // (Its manifest embedded: a URL has nothing beside it.)
    let manifest = Manifest::parse(&std::fs::read(src.join("manifest.json")).unwrap()).unwrap();
    let embedded = manifest.embed_in(&std::fs::read(src.join("module.wasm")).unwrap()).unwrap();
    let bare = env.work.path().join("bare.wasm");
    std::fs::write(&bare, &embedded).unwrap();
    files.lock().unwrap().insert("/bare.wasm".into(), bytes(embedded));
    for source in [json!({ "path": bare }), json!({ "url": format!("{base}/bare.wasm") })] {
        let refused = env.install(source.clone()).await;
        assert_err(refused, ErrorCode::PermissionDenied, "--allow-unsigned");
        let mut allowed = source.clone();
        allowed["allow_unsigned"] = json!(true);
        let seen = env.call("query:extensions.inspect.v1", allowed.clone()).await.unwrap();
        assert!(seen["publisher"].is_null(), "{seen}");
        let info = env.install(allowed).await.unwrap();
        assert!(info["publisher"].is_null(), "{info}");
        env.works().await;
        env.call("action:extensions.remove.input.v1", json!({ "id": ID })).await.unwrap();
    }
    // A folder on this machine needs no signature.
    let local = env.call("query:extensions.inspect.v1", json!({ "path": src })).await.unwrap();
    assert_eq!(local["origin"]["kind"], "local");
    env.install(json!({ "path": src })).await.unwrap();
    env.works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_changed_byte_a_cut_download_an_oversized_package_and_a_redirect_elsewhere_are_refused() {
    let env = Env::new().await;
    let pkg = env.pack(&env.source("1.0.0", &["test."]), "alice").await;
    env.install(json!({ "path": env.write(&pkg) })).await.unwrap();
    env.works().await;
    let newer = env.pack(&env.source("1.1.0", &["test."]), "alice").await;

    // A flipped bit anywhere (every byte of the head, then a spread through
    // the module and the last byte) is refused, with --allow-unsigned too.
    let mut positions: Vec<usize> = (0..400.min(newer.len())).collect();
    positions.extend((400..newer.len()).step_by(97));
    positions.push(newer.len() - 1);
    for i in positions {
        let mut bad = newer.clone();
        bad[i] ^= 1 << (i % 8);
        let path = env.write(&bad);
        let refused = env.install(json!({ "path": path, "allow_unsigned": true })).await;
        let e = refused.expect_err(&format!("byte {i} changed and installed"));
        assert!(matches!(e.code, ErrorCode::InvalidInput), "byte {i}: {e}");
    }
    // Cut short, or truncated and served whole.
    let (base, files) = file_server().await;
    files
        .lock()
        .unwrap()
        .insert("/cut.sdpkg".into(), Reply::Cut { declared: newer.len(), body: newer[..newer.len() / 2].to_vec() });
    files.lock().unwrap().insert("/short.sdpkg".into(), bytes(newer[..newer.len() - 10].to_vec()));
    let cut = env.install(json!({ "url": format!("{base}/cut.sdpkg") })).await;
    assert_err(cut, ErrorCode::Unavailable, "cannot fetch the package");
    let short = env.install(json!({ "url": format!("{base}/short.sdpkg"), "allow_unsigned": true })).await;
    assert_err(short, ErrorCode::InvalidInput, "changed after it was signed");
    // Over the size cap: refused before it is read.
    let huge = vec![0u8; sd_core::infra::extension::MAX_PACKAGE_BYTES + 1];
    files.lock().unwrap().insert("/huge.sdpkg".into(), bytes(huge));
    let too_big = env.install(json!({ "url": format!("{base}/huge.sdpkg") })).await;
    assert_err(too_big, ErrorCode::ResourceExhausted, "cap");
    // A redirect to another host (here another port) is not followed; one
    // on the same host is.
    let (elsewhere, other_files) = file_server().await;
    other_files.lock().unwrap().insert("/p.sdpkg".into(), bytes(newer.clone()));
    files.lock().unwrap().insert("/away".into(), Reply::redirect(&format!("{elsewhere}/p.sdpkg")));
    let away = env.install(json!({ "url": format!("{base}/away") })).await;
    assert_err(away, ErrorCode::PermissionDenied, "another host, port or scheme");
    // Plain http is only for this machine.
    let far = env.install(json!({ "url": "http://example.com/p.sdpkg" })).await;
    assert_err(far, ErrorCode::PermissionDenied, "plain http");
    assert_eq!(env.installed_version().await, "1.0.0");
    env.works().await;

    files.lock().unwrap().insert("/p.sdpkg".into(), bytes(newer));
    files.lock().unwrap().insert("/here".into(), Reply::redirect(&format!("{base}/p.sdpkg")));
    env.install(json!({ "url": format!("{base}/here") })).await.unwrap();
    assert_eq!(env.installed_version().await, "1.1.0");
    env.works().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_first_publisher_is_pinned_and_a_downgrade_needs_asking() {
    let env = Env::new().await;
    let (alice, mallory) = (env.fingerprint("alice").await, env.fingerprint("mallory").await);
    let v1 = env.pack(&env.source("1.0.0", &["test."]), "alice").await;
    let v2 = env.source("2.0.0", &["test."]);
    env.install(json!({ "path": env.write(&v1) })).await.unwrap();

    // Another key: refused, both fingerprints named, even if allowed
    // unsigned; an unsigned upgrade likewise.
    let forged = env.pack(&v2, "mallory").await;
    let e = assert_err(
        env.install(json!({ "path": env.write(&forged), "allow_unsigned": true })).await,
        ErrorCode::PermissionDenied,
        "pinned to publisher",
    );
    assert!(e.message.contains(&alice) && e.message.contains(&mallory), "{e}");
    let bare = env.install(json!({ "path": v2.join("module.wasm"), "allow_unsigned": true })).await;
    assert_err(bare, ErrorCode::PermissionDenied, "this one is unsigned");
    assert_eq!(env.installed_version().await, "1.0.0");
    env.works().await;

    // The same key upgrades.
    env.install(json!({ "path": env.write(&env.pack(&v2, "alice").await) })).await.unwrap();
    assert_eq!(env.installed_version().await, "2.0.0");
    // Back to 1.0.0 only when asked for.
    let down = env.install(json!({ "path": env.write(&v1) })).await;
    assert_err(down, ErrorCode::Conflict, "--allow-downgrade");
    assert_eq!(env.installed_version().await, "2.0.0");
    env.install(json!({ "path": env.write(&v1), "allow_downgrade": true })).await.unwrap();
    assert_eq!(env.installed_version().await, "1.0.0");
    // Removing it forgets the pin.
    env.call("action:extensions.remove.input.v1", json!({ "id": ID })).await.unwrap();
    let info = env.install(json!({ "path": env.write(&forged) })).await.unwrap();
    assert_eq!(info["publisher"]["fingerprint"], mallory.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_index_offers_search_install_and_updates_that_show_what_they_ask_for() {
    let env = Env::new().await;
    let (base, files) = file_server().await;
    let keys = env.call("query:extensions.keys.list.v1", json!({})).await.unwrap();
    let key_of =
        |name: &str| keys.as_array().unwrap().iter().find(|k| k["name"] == name).unwrap()["publisher"]["key"].clone();
    let mut versions = Vec::new();
    let mut publish = |version: &str, pkg: Vec<u8>, listed_hash: Option<String>| {
        let path = format!("/{ID}-{version}.sdpkg");
        let blake3 = listed_hash.unwrap_or_else(|| blake3::hash(&pkg).to_hex().to_string());
        versions.push(
            json!({ "version": version, "url": path.trim_start_matches('/'), "blake3": blake3, "size": pkg.len() }),
        );
        files.lock().unwrap().insert(path, bytes(pkg));
        let index = json!({ "format": 1, "extensions": [{ "id": ID, "name": "Package test",
            "description": "answers pings", "publisher": key_of("alice"), "versions": versions }] });
        files.lock().unwrap().insert("/index.json".into(), Reply::json(200, index));
    };
    publish("1.0.0", env.pack(&env.source("1.0.0", &["test."]), "alice").await, None);
    let index = format!("{base}/index.json");
    let added = env.call("action:extensions.indexes.add.input.v1", json!({ "url": index })).await.unwrap();
    assert_eq!(added["extensions"], 1);
    assert_eq!(env.call("query:extensions.indexes.list.v1", json!({})).await.unwrap(), json!([index]));
    let found = env.call("query:extensions.search.v1", json!({ "word": "PINGS" })).await.unwrap();
    assert_eq!(found[0]["id"], ID, "{found}");
    assert_eq!(found[0]["url"], format!("{base}/{ID}-1.0.0.sdpkg"));
    assert_eq!(env.call("query:extensions.search.v1", json!({ "word": "nothing-like-it" })).await.unwrap(), json!([]));

    env.install(json!({ "name": ID })).await.unwrap();
    env.works().await;
    assert_eq!(env.call("query:extensions.outdated.v1", json!({})).await.unwrap(), json!([]));

    // 1.1.0 asks for nothing more; 2.0.0 asks for `vdfs.` too.
    publish("1.1.0", env.pack(&env.source("1.1.0", &["test."]), "alice").await, None);
    let outdated = env.call("query:extensions.outdated.v1", json!({})).await.unwrap();
    assert_eq!(outdated[0]["available"]["version"], "1.1.0", "{outdated}");
    assert_eq!(outdated[0]["other_publisher"], false);
    let same = env.call("query:extensions.inspect.v1", json!({ "name": format!("{ID}@1.1.0") })).await.unwrap();
    assert_eq!(same["consent"]["upgrade"]["asks_for_more"], false, "{same}");
    env.install(json!({ "name": ID })).await.unwrap();
    assert_eq!(env.installed_version().await, "1.1.0");

    publish("2.0.0", env.pack(&env.source("2.0.0", &["test.", "vdfs."]), "alice").await, None);
    let more = env.call("query:extensions.inspect.v1", json!({ "name": ID })).await.unwrap();
    assert_eq!(more["manifest"]["version"], "2.0.0");
    assert_eq!(more["consent"]["upgrade"]["asks_for_more"], true, "{more}");
    assert_eq!(more["consent"]["upgrade"]["added_methods"], json!(["vdfs."]));
    assert_eq!(more["origin"]["kind"], "index");

    // A wrong hash in the index, or a package by a key the index does not
    // name, is refused.
    publish("3.0.0", env.pack(&env.source("3.0.0", &["test."]), "alice").await, Some("ab".repeat(32)));
    let wrong = env.install(json!({ "name": format!("{ID}@3.0.0") })).await;
    assert_err(wrong, ErrorCode::InvalidInput, "but the index");
    publish("3.0.1", env.pack(&env.source("3.0.1", &["test."]), "mallory").await, None);
    let forged = env.install(json!({ "name": format!("{ID}@3.0.1") })).await;
    assert_err(forged, ErrorCode::PermissionDenied, "names publisher");
    assert_eq!(env.installed_version().await, "1.1.0");
    env.works().await;
    // An unknown version or id says what there is.
    assert_err(env.install(json!({ "name": format!("{ID}@9.9.9") })).await, ErrorCode::NotFound, "3.0.1, 3.0.0, 2.0.0");
    assert_err(env.install(json!({ "name": "nothere" })).await, ErrorCode::NotFound, "no registered index");
}
