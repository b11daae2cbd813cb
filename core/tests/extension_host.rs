//! The extension host against well-behaved and hostile guests (WAT). Each
//! hostile module must get a clear typed error while the host, and a
//! well-behaved extension loaded beside it, keep working.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;

use common::wasm::{BUMP_ALLOC, Parts, manifest, write_extension};
use common::{assert_err, call, new_library};
use sd_core::{Caller, Core, ErrorCode, OpError};
use serde_json::{Value, json};

struct Host {
    core: Arc<Core>,
    _data: tempfile::TempDir,
    src: tempfile::TempDir,
}

impl Host {
    async fn new() -> Host {
        let data = tempfile::tempdir().unwrap();
        let src = tempfile::tempdir().unwrap();
        let core = Core::open(data.path()).unwrap();
        let host = Host { core, _data: data, src };
        host.install_parts("good", json!({}), &Parts::default()).await.expect("good extension installs");
        host
    }

    async fn install(&self, manifest: &Value, wasm: &[u8]) -> Result<Value, OpError> {
        let dir = write_extension(self.src.path(), manifest, wasm);
        call(&self.core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await
    }

    async fn install_parts(&self, id: &str, perms: Value, parts: &Parts) -> Result<Value, OpError> {
        self.install(&manifest(id, perms), &parts.wasm()).await
    }

    /// Installs a module that must install.
    async fn install_ok(&self, id: &str, parts: Parts) {
        self.install_parts(id, json!({}), &parts).await.unwrap_or_else(|e| panic!("{id}: {e}"));
    }

    async fn run(&self, id: &str, payload: Value) -> Result<Value, OpError> {
        call(&self.core, &format!("query:{id}.run.v1"), None, payload).await
    }

    async fn info(&self, id: &str) -> Value {
        call(&self.core, "query:extensions.info.v1", None, json!({ "id": id })).await.unwrap()
    }

    /// The well-behaved extension still answers.
    async fn good_still_works(&self) {
        let out = self.run("good", json!({ "message": "alive" })).await.expect("good extension answers");
        assert_eq!(out["echo"], "Pong: alive");
        assert_eq!(out["caller"], "extension:good");
        let ping = call(&self.core, "query:test.ping.v1", None, json!({ "message": "host" })).await.unwrap();
        assert_eq!(ping["echo"], "Pong: host");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_well_behaved_guest_round_trips_and_is_listed() {
    let h = Host::new().await;
    let info = h.info("good").await;
    assert_eq!(info["state"], "loaded");
    let ops = call(&h.core, "query:core.operations.v1", None, json!({})).await.unwrap();
    assert!(
        ops.as_array().unwrap().iter().any(|o| o["method"] == "query:good.run.v1" && o["scope"] == "extension:good")
    );
    h.good_still_works().await;
    // Wrong payload for ping: the error travels back through the guest.
    let e = assert_err(h.run("good", json!({ "nope": 1 })).await, ErrorCode::InvalidInput, "query:test.ping.v1");
    assert!(e.message.contains("message"), "{e}");
    // Re-entering the same extension is refused instead of deadlocking.
    let method = "query:loopback.run.v1";
    let parts = Parts {
        op: format!(
            "(call $call (i32.const 1024) (i32.const {}) (i32.const 0) (i32.const 256) (i32.const 2))",
            method.len()
        ),
        extra: format!("(data (i32.const 1024) \"{method}\")"),
        ..Default::default()
    };
    h.install_parts("loopback", json!({ "methods": [] }), &parts).await.unwrap();
    assert_err(h.run("loopback", json!({})).await, ErrorCode::Conflict, "re-enter extension `loopback`");

    // One extension calls another's operation, with permission.
    let method = "query:good.run.v1";
    let caller_parts = |m: &str| Parts {
        op: format!(
            "(call $call (i32.const 1024) (i32.const {}) (i32.const 0) (local.get $p) (local.get $len))",
            m.len()
        ),
        extra: format!("(data (i32.const 1024) \"{m}\")"),
        ..Default::default()
    };
    h.install_parts("friend", json!({ "methods": ["good."] }), &caller_parts(method)).await.unwrap();
    let out = h.run("friend", json!({ "message": "via friend" })).await.unwrap();
    assert_eq!(out["echo"], "Pong: via friend");
    assert_eq!(out["caller"], "extension:good", "the inner ping is made by `good`");
    h.install_parts("stranger", json!({ "methods": ["test."] }), &caller_parts(method)).await.unwrap();
    assert_err(h.run("stranger", json!({ "message": "x" })).await, ErrorCode::PermissionDenied, "permissions.methods");
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loops_are_stopped_within_budget() {
    let h = Host::new().await;
    let looping = Parts { init: "(loop $l (br $l)) i32.const 0".into(), ..Default::default() };
    let e =
        assert_err(h.install_parts("spin-init", json!({}), &looping).await, ErrorCode::ResourceExhausted, "CPU budget");
    assert!(e.message.contains("plugin_init"), "{e}");
    assert!(!h.info_exists("spin-init").await, "a module whose init fails is not installed");

    let parts = Parts { op: "(loop $l (br $l)) i32.const 0".into(), ..Default::default() };
    h.install_parts("spin-call", json!({}), &parts).await.unwrap();
    let started = std::time::Instant::now();
    assert_err(h.run("spin-call", json!({})).await, ErrorCode::ResourceExhausted, "CPU budget of 300 ms");
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
    // The next call gets a fresh instance (and loops again).
    assert_err(h.run("spin-call", json!({})).await, ErrorCode::ResourceExhausted, "CPU budget");
    let info = h.info("spin-call").await;
    assert_eq!(info["stats"]["traps"], 2);
    assert_eq!(info["stats"]["restarts"], 1);
    h.good_still_works().await;
}

impl Host {
    async fn info_exists(&self, id: &str) -> bool {
        call(&self.core, "query:extensions.info.v1", None, json!({ "id": id })).await.is_ok()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_growth_past_the_limit_is_stopped() {
    let h = Host::new().await;
    // 16 MiB limit = 256 pages; ask for 300 more.
    let parts = Parts { op: "i32.const 300 memory.grow drop i32.const 0".into(), ..Default::default() };
    h.install_parts("greedy", json!({}), &parts).await.unwrap();
    assert_err(h.run("greedy", json!({})).await, ErrorCode::ResourceExhausted, "memory limit of 16 MiB");
    // Declaring a memory larger than the limit fails at instantiation.
    let big = Parts { memory: r#"(memory (export "memory") 1000)"#, ..Default::default() };
    assert_err(h.install_parts("big-memory", json!({}), &big).await, ErrorCode::ResourceExhausted, "memory limit");
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_pointers_lengths_and_encodings_get_error_envelopes() {
    let h = Host::new().await;
    let cases: [(&str, &str, ErrorCode, &str); 6] = [
        (
            "oob-method",
            "(call $call (i32.const 200000) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 17))",
            ErrorCode::InvalidInput,
            "outside guest memory",
        ),
        (
            "oob-payload",
            "(call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 131000) (i32.const 2000))",
            ErrorCode::InvalidInput,
            "outside guest memory",
        ),
        (
            "huge-len",
            "(call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const -1))",
            ErrorCode::ResourceExhausted,
            "over the limit",
        ),
        (
            "oob-library",
            "(call $call (i32.const 16) (i32.const 18) (i32.const 131070) (i32.const 64) (i32.const 17))",
            ErrorCode::InvalidInput,
            "library id",
        ),
        (
            "bad-utf8",
            "(i32.store (i32.const 512) (i32.const 0xfffefdfc)) (call $call (i32.const 512) (i32.const 4) (i32.const 0) (i32.const 64) (i32.const 17))",
            ErrorCode::InvalidInput,
            "UTF-8",
        ),
        (
            "bad-json",
            "(call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 16) (i32.const 18))",
            ErrorCode::InvalidInput,
            "not valid JSON",
        ),
    ];
    for (id, body, code, needle) in cases {
        let parts = Parts { op: body.to_string(), ..Default::default() };
        h.install_parts(id, json!({}), &parts).await.unwrap_or_else(|e| panic!("{id}: {e}"));
        assert_err(h.run(id, json!({})).await, code, needle);
        assert_eq!(h.info(id).await["stats"]["bad_requests"], 1, "{id}");
    }
    // Logging with a bad pointer is dropped and counted, not fatal.
    let parts = Parts {
        op: "(call $log (i32.const 2) (i32.const -16) (i32.const 64)) (call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 17))".into(),
        ..Default::default()
    };
    h.install_parts("bad-log", json!({}), &parts).await.unwrap();
    assert_eq!(h.run("bad-log", json!({})).await.unwrap()["echo"], "Pong: wat");
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_are_enforced_and_counted() {
    let h = Host::new().await;
    let lib = new_library(&h.core, "l").await;
    let other = new_library(&h.core, "other").await;

    // Method outside the prefixes: only `test.` allowed, create_entry denied.
    let create = r#"(call $call (i32.const 128) (i32.const 33) (local.get $lib) (local.get $p) (local.get $len))"#;
    let parts = Parts { op: create.into(), ..Default::default() };
    h.install_parts("narrow", json!({ "methods": ["test."] }), &parts).await.unwrap();
    let run_in = |id: &'static str, lib| {
        let core = h.core.clone();
        async move {
            core.execute_json_operation(&format!("query:{id}.run.v1"), Some(lib), json!({ "name": "x" }), Caller::Cli)
                .await
        }
    };
    assert_err(run_in("narrow", lib).await, ErrorCode::PermissionDenied, "permissions.methods");
    assert_eq!(h.info("narrow").await["stats"]["denied_permission"], 1);

    // Library outside the ACL.
    h.install_parts("one-lib", json!({ "libraries": [lib.to_string()] }), &parts).await.unwrap();
    let ok = run_in("one-lib", lib).await.unwrap();
    assert_eq!(ok["entry"]["owner"], "one-lib", "entries created by an extension are owned by it");
    assert_err(run_in("one-lib", other).await, ErrorCode::PermissionDenied, "permissions.libraries");
    let info = h.info("one-lib").await;
    assert_eq!(info["stats"]["denied_permission"], 1);
    assert!(info["stats"]["last_error"].as_str().unwrap().contains("may not use library"));

    // Listing libraries shows only the granted ones.
    let list = "(call $call (i32.const 192) (i32.const 23) (i32.const 0) (i32.const 256) (i32.const 2))";
    let parts = Parts { op: list.into(), ..Default::default() };
    h.install_parts("lister", json!({ "libraries": [other.to_string()] }), &parts).await.unwrap();
    let libs = h.run("lister", json!({})).await.unwrap();
    assert_eq!(libs.as_array().unwrap().len(), 1);
    assert_eq!(libs[0]["id"], other.to_string());

    // A flood past the rate limit: 5 per minute, then rate_limited.
    h.install_parts("flood", json!({ "rate_limits": { "requests_per_minute": 5 } }), &Parts::default()).await.unwrap();
    for i in 0..5 {
        h.run("flood", json!({ "message": i.to_string() })).await.unwrap();
    }
    assert_err(h.run("flood", json!({ "message": "x" })).await, ErrorCode::RateLimited, "5 requests per minute");
    assert_eq!(h.info("flood").await["stats"]["denied_rate"], 1);
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_modules_are_refused_with_reasons() {
    let h = Host::new().await;
    let trap = Parts { init: "unreachable".into(), ..Default::default() };
    assert_err(h.install_parts("trap-init", json!({}), &trap).await, ErrorCode::Internal, "plugin_init");
    let failing = Parts { init: "i32.const 7".into(), ..Default::default() };
    assert_err(h.install_parts("fail-init", json!({}), &failing).await, ErrorCode::Internal, "returned 7");

    let no_abi = Parts { abi: "", ..Default::default() };
    assert_err(h.install_parts("no-abi", json!({}), &no_abi).await, ErrorCode::InvalidInput, "spacedrive_abi_version");
    let abi2 =
        Parts { abi: r#"(func (export "spacedrive_abi_version") (result i32) i32.const 2)"#, ..Default::default() };
    assert_err(h.install_parts("abi2", json!({}), &abi2).await, ErrorCode::InvalidInput, "ABI version 2");
    let no_cleanup = Parts { cleanup: "", ..Default::default() };
    assert_err(h.install_parts("no-cleanup", json!({}), &no_cleanup).await, ErrorCode::InvalidInput, "plugin_cleanup");
    let wrong_type = Parts { cleanup: r#"(func (export "plugin_cleanup"))"#, ..Default::default() };
    assert_err(h.install_parts("wrong-type", json!({}), &wrong_type).await, ErrorCode::InvalidInput, "requires");

    let foreign = Parts { extra: r#"(import "env" "system" (func (param i32)))"#.into(), ..Default::default() };
    // Imports must precede other fields: build the module by hand.
    let wat = foreign
        .wat()
        .replacen("(module", r#"(module (import "env" "system" (func (param i32)))"#, 1)
        .replace(r#"(import "env" "system" (func (param i32))))"#, ")");
    let wasm = wat::parse_str(&wat).unwrap();
    assert_err(
        h.install(&manifest("foreign", json!({})), &wasm).await,
        ErrorCode::InvalidInput,
        "`env.system`, which the host does not provide",
    );

    let bad_sig = Parts::default().wat().replace(
        r#"(import "spacedrive" "spacedrive_log" (func $log (param i32 i32 i32)))"#,
        r#"(import "spacedrive" "spacedrive_log" (func $log (param i64)))"#,
    );
    let bad_sig = bad_sig.replace("(call $log (i32.const 2) (i32.const 16) (i32.const 18))", "");
    let wasm = wat::parse_str(&bad_sig).unwrap();
    assert_err(
        h.install(&manifest("bad-sig", json!({})), &wasm).await,
        ErrorCode::InvalidInput,
        "spacedrive.spacedrive_log",
    );

    let good_wasm = Parts::default().wasm();
    assert_err(
        h.install(&manifest("truncated", json!({})), &good_wasm[..good_wasm.len() / 2]).await,
        ErrorCode::InvalidInput,
        "not a valid WebAssembly module",
    );
    assert_err(
        h.install(&manifest("text", json!({})), b"#!/bin/sh\nrm -rf /\n").await,
        ErrorCode::InvalidInput,
        "not a valid WebAssembly module",
    );
    assert_err(
        h.install(&manifest("empty", json!({})), b"").await,
        ErrorCode::InvalidInput,
        "not a valid WebAssembly module",
    );

    let mut m = manifest("unknown-perm", json!({}));
    m["permissions"]["filesystem"] = json!("/");
    assert_err(h.install(&m, &good_wasm).await, ErrorCode::InvalidInput, "unknown field `filesystem`");

    let list = call(&h.core, "query:extensions.list.v1", None, json!({})).await.unwrap();
    let ids: Vec<_> = list.as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, vec!["good"], "only the good extension is installed");
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_allocators_and_deep_recursion_trap_cleanly() {
    let h = Host::new().await;
    let allocs = [
        ("alloc-zero", "i32.const 0", "returned 0"),
        ("alloc-oob", "i32.const 0x7ffffff0", "outside guest memory"),
        // Returns the payload's own address: overlaps a live argument.
        ("alloc-overlap", "i32.const 64", "overlapping a live argument"),
    ];
    for (id, body, needle) in allocs {
        let parts = Parts {
            alloc: format!(
                r#"(func (export "wasm_alloc") (param i32) (result i32) {body}) (func (export "wasm_free") (param i32 i32))"#
            ),
            // The host's payload for op_run goes through wasm_alloc too, so
            // run the ping from init where the payload is static.
            init: "(call $call (i32.const 16) (i32.const 18) (i32.const 0) (i32.const 64) (i32.const 17)) drop i32.const 0".into(),
            ..Default::default()
        };
        let e = assert_err(h.install_parts(id, json!({}), &parts).await, ErrorCode::Internal, needle);
        assert!(e.message.contains("wasm_alloc"), "{e}");
    }

    let recursion = Parts {
        extra: "(func $deep (param i32) (result i32) local.get 0 i32.const 1 i32.add call $deep)".into(),
        op: "i32.const 0 call $deep".into(),
        ..Default::default()
    };
    h.install_parts("deep", json!({}), &recursion).await.unwrap();
    assert_err(h.run("deep", json!({})).await, ErrorCode::ResourceExhausted, "stack");
    // A bad result pointer from an operation handler.
    let bad_result = Parts { op: "i32.const -4".into(), ..Default::default() };
    h.install_parts("bad-result", json!({}), &bad_result).await.unwrap();
    assert_err(h.run("bad-result", json!({})).await, ErrorCode::InvalidInput, "outside guest memory");
    let garbage = Parts {
        op:
            "(i32.store (i32.const 600) (i32.const 3)) (i32.store (i32.const 604) (i32.const 0x00616161)) i32.const 600"
                .into(),
        ..Default::default()
    };
    h.install_parts("garbage-result", json!({}), &garbage).await.unwrap();
    assert_err(h.run("garbage-result", json!({})).await, ErrorCode::Internal, "invalid JSON");
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_calls_of_two_extensions_run_concurrently() {
    let h = Host::new().await;
    let lib = new_library(&h.core, "slow").await;
    let tree = tempfile::tempdir().unwrap();
    common::make_tree(tree.path(), 3000);
    // Each extension indexes a location (a slow operation) from its handler.
    let method = "action:locations.add.input.v1";
    for id in ["slow-a", "slow-b"] {
        let wat = Parts {
            op: format!(
                "(call $call (i32.const 1024) (i32.const {}) (local.get $lib) (local.get $p) (local.get $len))",
                method.len()
            ),
            extra: format!("(data (i32.const 1024) \"{method}\")"),
            ..Default::default()
        };
        h.install_parts(id, json!({ "methods": ["locations."], "max_cpu_ms_per_call": 100 }), &wat).await.unwrap();
    }
    let sub = |name: &str| {
        let p = tree.path().join(name);
        std::fs::create_dir_all(&p).unwrap();
        for i in 0..3000 {
            std::fs::write(p.join(format!("{i}.txt")), format!("{name} {i}")).unwrap();
        }
        p
    };
    let (a, b) = (sub("a"), sub("b"));
    for (id, path) in [("slow-a", &a), ("slow-b", &b)] {
        call(&h.core, "action:grants.add.input.v1", None, json!({ "extension": id, "path": path })).await.unwrap();
    }
    let run = |id: &'static str, path: std::path::PathBuf| {
        let core = h.core.clone();
        async move {
            let t = std::time::Instant::now();
            let r = core
                .execute_json_operation(&format!("query:{id}.run.v1"), Some(lib), json!({ "path": path }), Caller::Cli)
                .await
                .unwrap();
            (t, std::time::Instant::now(), r)
        }
    };
    let ((sa, ea, ra), (sb, eb, rb)) =
        tokio::join!(tokio::spawn(run("slow-a", a)), tokio::spawn(run("slow-b", b))).map_pair(|r| r.unwrap());
    assert_eq!(ra["scan"]["files_hashed"], 3000);
    assert_eq!(rb["scan"]["files_hashed"], 3000);
    // The calls overlapped in time, and neither was charged CPU for the time
    // the host spent indexing (a 100 ms budget would not cover it).
    assert!(sa < eb && sb < ea, "calls did not overlap");
}

trait MapPair<T> {
    fn map_pair<U>(self, f: impl Fn(T) -> U) -> (U, U);
}
impl<T> MapPair<T> for (T, T) {
    fn map_pair<U>(self, f: impl Fn(T) -> U) -> (U, U) {
        (f(self.0), f(self.1))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_cannot_reach_operations_for_people_nor_foreign_jobs() {
    let h = Host::new().await;
    let lib = new_library(&h.core, "precious").await;
    let entry =
        call(&h.core, "action:vdfs.create_entry.input.v1", Some(lib), json!({ "name": "keep me" })).await.unwrap();
    let run_in = |id: &str, lib, payload: Value| {
        let (core, method) = (h.core.clone(), format!("query:{id}.run.v1"));
        async move { core.execute_json_operation(&method, lib, payload, Caller::Cli).await }
    };
    let people_only = "for people only (audience: person)";

    // install-another: granted `extensions.`, it installs a module that
    // asks for `libraries.` and would delete the library from its init.
    let wrecker = Parts {
        init: format!(
            "(drop (call $call (i32.const 1024) (i32.const 33) (i32.const 0) (i32.const 1100) (i32.const {})))
             i32.const 0",
            format!(r#"{{"id":"{lib}"}}"#).len()
        ),
        extra: format!(
            r#"(data (i32.const 1024) "action:libraries.remove.input.v1") (data (i32.const 1100) "{{\"id\":\"{lib}\"}}")"#
        ),
        ..Default::default()
    };
    let wrecker_dir =
        write_extension(h.src.path(), &manifest("wrecker", json!({ "methods": ["libraries."] })), &wrecker.wasm());
    h.install_parts(
        "installer",
        json!({ "methods": ["extensions."] }),
        &Parts::forwarding("action:extensions.install.input.v1"),
    )
    .await
    .unwrap();
    assert_err(
        run_in("installer", None, json!({ "path": wrecker_dir })).await,
        ErrorCode::PermissionDenied,
        people_only,
    );
    assert!(!h.info_exists("wrecker").await, "nothing was installed");

    // remove-another, and the other lifecycle operations under `extensions.`.
    for (id, method) in [
        ("remover", "action:extensions.remove.input.v1"),
        ("unloader", "action:extensions.unload.input.v1"),
        ("reloader", "action:extensions.reload.input.v1"),
    ] {
        h.install_parts(id, json!({ "methods": ["extensions."] }), &Parts::forwarding(method)).await.unwrap();
        let e = assert_err(run_in(id, None, json!({ "id": "good" })).await, ErrorCode::PermissionDenied, people_only);
        assert!(e.message.contains(method), "{e}");
        assert_eq!(h.info(id).await["stats"]["denied_permission"], 1, "{id}");
    }
    assert_eq!(h.info("good").await["state"], "loaded");
    // Read-only listings stay open under the same prefix.
    h.install_parts("lister", json!({ "methods": ["extensions."] }), &Parts::forwarding("query:extensions.list.v1"))
        .await
        .unwrap();
    assert!(run_in("lister", None, json!({})).await.unwrap().as_array().unwrap().iter().any(|e| e["id"] == "good"));

    // delete-library, and creating one.
    h.install_parts(
        "deleter",
        json!({ "methods": ["libraries."] }),
        &Parts::forwarding("action:libraries.remove.input.v1"),
    )
    .await
    .unwrap();
    assert_err(run_in("deleter", None, json!({ "id": lib })).await, ErrorCode::PermissionDenied, people_only);
    h.install_parts(
        "creator",
        json!({ "methods": ["libraries."] }),
        &Parts::forwarding("action:libraries.create.input.v1"),
    )
    .await
    .unwrap();
    assert_err(run_in("creator", None, json!({ "name": "mine" })).await, ErrorCode::PermissionDenied, people_only);
    // Forgetting a location (and its entries) is for people too.
    let tree = tempfile::tempdir().unwrap();
    common::make_tree(tree.path(), 50);
    let added =
        call(&h.core, "action:locations.add.input.v1", Some(lib), json!({ "path": tree.path() })).await.unwrap();
    let library_now = || {
        let core = h.core.clone();
        async move {
            let libs = call(&core, "query:libraries.list.v1", None, json!({})).await.unwrap();
            libs.as_array().unwrap().iter().find(|l| l["id"] == lib.to_string()).cloned().expect("library kept")
        }
    };
    let before = library_now().await;
    h.install_parts(
        "forgetter",
        json!({ "methods": ["locations."] }),
        &Parts::forwarding("action:locations.remove.input.v1"),
    )
    .await
    .unwrap();
    let loc = json!({ "id": added["location"]["id"] });
    assert_err(run_in("forgetter", Some(lib), loc).await, ErrorCode::PermissionDenied, people_only);

    // cancel-a-foreign-job: a person's indexing job is not the extension's.
    let job = added["job_id"].as_str().unwrap().to_string();
    let rescan = call(
        &h.core,
        "action:locations.rescan.input.v1",
        Some(lib),
        json!({ "id": added["location"]["id"], "wait": false }),
    )
    .await
    .unwrap();
    let running = rescan["job_id"].as_str().unwrap().to_string();
    for (id, method) in [
        ("canceller", "action:jobs.cancel.input.v1"),
        ("pauser", "action:jobs.pause.input.v1"),
        ("peeker", "query:jobs.info.v1"),
    ] {
        h.install_parts(id, json!({ "methods": ["jobs."] }), &Parts::forwarding(method)).await.unwrap();
        for target in [&job, &running] {
            let e = assert_err(
                run_in(id, Some(lib), json!({ "id": target })).await,
                ErrorCode::PermissionDenied,
                "may not touch job",
            );
            assert!(e.message.contains("of `core`"), "{e}");
        }
        assert_eq!(h.info(id).await["stats"]["denied_permission"], 2, "{id}");
    }
    h.install_parts("job-lister", json!({ "methods": ["jobs."] }), &Parts::forwarding("query:jobs.list.v1"))
        .await
        .unwrap();
    assert_eq!(run_in("job-lister", Some(lib), json!({})).await.unwrap(), json!([]), "foreign jobs are not listed");
    let watched = call(&h.core, "query:jobs.watch.v1", Some(lib), json!({ "id": running })).await.unwrap();
    assert_eq!(watched["state"], "completed", "the foreign job ran to its end");

    // Indexing an extension starts is its own: it may read and steer it.
    h.install_parts(
        "indexer",
        json!({ "methods": ["jobs.", "locations."] }),
        &Parts::forwarding("action:jobs.dispatch.input.v1"),
    )
    .await
    .unwrap();
    let own = run_in(
        "indexer",
        Some(lib),
        json!({ "job": "index_location", "input": { "location": added["location"]["id"] } }),
    )
    .await
    .unwrap();
    assert_eq!(own["owner"], "indexer");
    let e = assert_err(
        run_in("indexer", Some(lib), json!({ "extension": "good", "job": "x" })).await,
        ErrorCode::PermissionDenied,
        "may not start jobs of `good`",
    );
    assert!(e.message.contains("indexer"), "{e}");
    let own_id = own["id"].as_str().unwrap();
    let seen = run_in("peeker", Some(lib), json!({ "id": own_id })).await;
    assert_err(seen, ErrorCode::PermissionDenied, "of `indexer`");

    // Data and extensions intact.
    let after = library_now().await;
    assert_eq!(after, before);
    assert!(after["entries"].as_u64().unwrap() > 50, "{after}");
    assert_eq!(after["locations"], 1);
    let kept = call(&h.core, "query:vdfs.entry.v1", Some(lib), json!({ "id": entry["entry_id"] })).await.unwrap();
    assert_eq!(kept["name"], "keep me");
    for id in ["deleter", "creator", "forgetter", "installer"] {
        let info = h.info(id).await;
        assert_eq!(info["stats"]["denied_permission"], 1, "{id}: {info}");
        assert!(info["stats"]["last_error"].as_str().unwrap().contains(people_only), "{id}: {info}");
    }
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manifests_asking_only_for_people_operations_are_refused() {
    let h = Host::new().await;
    for prefix in ["libraries.remove", "extensions.install", "locations.remove"] {
        let e = assert_err(
            h.install_parts("greedy", json!({ "methods": ["test.", prefix] }), &Parts::default()).await,
            ErrorCode::InvalidInput,
            "reaches only operations for people",
        );
        assert!(e.message.contains("permissions.methods[1]"), "{e}");
    }
    // A call claiming to be an extension from outside its module is refused.
    let forged = h
        .core
        .execute_json_operation("query:test.ping.v1", None, json!({ "message": "x" }), Caller::Extension("good".into()))
        .await;
    assert_err(forged, ErrorCode::PermissionDenied, "through the extension host");
    // The consent screen of a `vdfs.` grant names each operation and marks
    // the destructive ones; person-only operations are listed as out of reach.
    let dir = write_extension(
        h.src.path(),
        &manifest("asker", json!({ "methods": ["vdfs.", "libraries."] })),
        &Parts::default().wasm(),
    );
    let seen = call(&h.core, "query:extensions.inspect.v1", None, json!({ "path": dir })).await.unwrap();
    let grants = seen["consent"]["methods"].as_array().unwrap();
    let vdfs = grants.iter().find(|g| g["prefix"] == "vdfs.").unwrap();
    let effect =
        |m: &str| vdfs["reaches"].as_array().unwrap().iter().find(|r| r["method"] == m).unwrap()["effect"].clone();
    assert_eq!(effect("action:vdfs.write_sidecar.input.v1"), "destructive");
    assert_eq!(effect("action:vdfs.create_entry.input.v1"), "write");
    assert_eq!(effect("query:vdfs.list_entries.v1"), "read");
    let libs = grants.iter().find(|g| g["prefix"] == "libraries.").unwrap();
    assert!(libs["people_only"].as_array().unwrap().contains(&json!("action:libraries.remove.input.v1")));
    assert!(seen["consent"]["upgrade"].is_null());
    // Operations list their audience.
    let ops = call(&h.core, "query:core.operations.v1", None, json!({})).await.unwrap();
    let audience = |m: &str| ops.as_array().unwrap().iter().find(|o| o["method"] == m).unwrap()["audience"].clone();
    assert_eq!(audience("action:libraries.remove.input.v1"), "person");
    assert_eq!(audience("query:vdfs.entry.v1"), "any");
    assert_eq!(audience("query:good.run.v1"), "any");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upgrade_shows_what_it_adds_and_a_hot_reload_cannot_escalate() {
    let h = Host::new().await;
    let m = manifest("grower", json!({ "methods": ["test."] }));
    let dir = write_extension(h.src.path(), &m, &Parts::default().wasm());
    call(&h.core, "action:extensions.install.input.v1", None, json!({ "path": dir, "watch": true })).await.unwrap();
    let inspect = |dir: std::path::PathBuf| {
        let core = h.core.clone();
        async move { call(&core, "query:extensions.inspect.v1", None, json!({ "path": dir })).await.unwrap() }
    };
    let same = inspect(dir.clone()).await;
    assert_eq!(same["consent"]["upgrade"]["asks_for_more"], false);
    let mut more = m.clone();
    more["version"] = json!("0.2.0");
    more["permissions"]["methods"] = json!(["test.", "vdfs."]);
    more["permissions"]["network_access"] = json!(["api.example.com"]);
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&more).unwrap()).unwrap();
    let up = inspect(dir.clone()).await["consent"]["upgrade"].clone();
    assert_eq!(up["from_version"], "0.1.0");
    assert_eq!(up["added_methods"], json!(["vdfs."]));
    assert_eq!(up["added_network"], json!(["api.example.com"]));
    assert_eq!(up["asks_for_more"], true);
    // The watched module is rebuilt with the larger manifest: not reloaded.
    std::fs::write(dir.join("module.wasm"), Parts::default().wasm()).unwrap();
    // The watcher's debounce and the compile take longer on a loaded
    // machine: a deadline, as the suite's other waits have.
    let mut note = Value::Null;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while note.is_null() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        note = h.info("grower").await["last_reload"].clone();
    }
    assert!(note.as_str().unwrap().contains("asks for permissions the installed one was not granted"), "{note}");
    let info = h.info("grower").await;
    assert_eq!(info["version"], "0.1.0");
    assert_eq!(info["permissions"]["methods"], json!(["test."]));
}

/// An allocator that serves one block (the payload the host passes in) and
/// then fails: an answer that needed `wasm_alloc` would trap.
const ALLOC_ONCE: &str = r#"
  (global $served (mut i32) (i32.const 0))
  (func $alloc (export "wasm_alloc") (param $size i32) (result i32)
    (if (global.get $served) (then (return (i32.const 0))))
    (global.set $served (i32.const 1))
    (i32.const 65536))
  (func (export "wasm_free") (param i32 i32))"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_land_in_the_guests_buffer_when_they_fit_and_in_wasm_alloc_blocks_otherwise() {
    let h = Host::new().await;
    // `op_run` pings through `spacedrive_call_buf` with an answer buffer at
    // `out` of `cap` bytes, and returns the answer framed, wherever it landed.
    let module = |out: u32, cap: u32, alloc: &str| Parts {
        op: format!("(call $buffered (local.get $p) (local.get $len) (i32.const {out}) (i32.const {cap}))"),
        alloc: alloc.to_string(),
        extra: r#"
          (func $buffered (param $p i32) (param $len i32) (param $out i32) (param $cap i32) (result i32)
            (local $r i64)
            (local.set $r (call $call_buf (i32.const 16) (i32.const 18) (i32.const 0) (local.get $p) (local.get $len)
              (i32.add (local.get $out) (i32.const 4)) (local.get $cap)))
            (if (result i32) (i64.ge_s (local.get $r) (i64.const 0))
              (then (i32.store (local.get $out) (i32.wrap_i64 (local.get $r))) (local.get $out))
              (else (i32.wrap_i64 (i64.sub (i64.const 0) (local.get $r))))))"#
            .to_string(),
        ..Default::default()
    };

    // Fits: no allocation at all, the answer is in the buffer.
    h.install_ok("fits", module(4096, 4096, ALLOC_ONCE)).await;
    assert_eq!(h.run("fits", json!({ "message": "buffered" })).await.unwrap()["echo"], "Pong: buffered");
    // Too small, or outside memory: delivered in a `wasm_alloc` block.
    h.install_ok("small", module(4096, 8, BUMP_ALLOC)).await;
    assert_eq!(h.run("small", json!({ "message": "fallback" })).await.unwrap()["echo"], "Pong: fallback");
    h.install_ok("outside", module(4096, u32::MAX - 8192, BUMP_ALLOC)).await;
    assert_eq!(h.run("outside", json!({ "message": "far" })).await.unwrap()["echo"], "Pong: far");
    // The fallback really allocates: with the one-block allocator it traps.
    h.install_ok("small-broken", module(4096, 8, ALLOC_ONCE)).await;
    assert_err(h.run("small-broken", json!({ "message": "x" })).await, ErrorCode::Internal, "wasm_alloc");
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_answers_with_the_bare_result_in_the_buffer_and_errors_in_blocks() {
    let h = Host::new().await;
    // `op_run` pings through `spacedrive_invoke` with a buffer of `cap`
    // bytes at `out + 16`, and wraps what it got back into the envelope its
    // own caller expects: `{"ok":` + result + `}`, or `{"error":` + error +
    // `}` when the answer's error bit is set. The frame starts at `out`.
    let module = |out: u32, cap: u32, alloc: &str| Parts {
        op: format!("(call $invoked (local.get $p) (local.get $len) (i32.const {out}) (i32.const {cap}))"),
        alloc: alloc.to_string(),
        extra: r#"
          (data (i32.const 512) "{\"ok\":")
          (data (i32.const 528) "{\"error\":")
          (func $invoked (param $p i32) (param $len i32) (param $out i32) (param $cap i32) (result i32)
            (local $r i64) (local $v i64) (local $n i32) (local $block i32) (local $start i32)
            (local.set $r (call $invoke (i32.const 16) (i32.const 18) (i32.const 0) (local.get $p) (local.get $len)
              (i32.add (local.get $out) (i32.const 16)) (local.get $cap)))
            (local.set $start (i32.add (local.get $out) (i32.const 6)))
            (if (i64.ge_s (local.get $r) (i64.const 0))
              (then (local.set $n (i32.wrap_i64 (local.get $r))))
              (else
                (local.set $v (i64.sub (i64.const 0) (local.get $r)))
                (local.set $block (i32.wrap_i64 (local.get $v)))
                (local.set $n (i32.load (local.get $block)))
                (memory.copy (i32.add (local.get $out) (i32.const 16)) (i32.add (local.get $block) (i32.const 4))
                  (local.get $n))
                (if (i64.ne (i64.and (local.get $v) (i64.const 0x100000000)) (i64.const 0))
                  (then (local.set $start (i32.add (local.get $out) (i32.const 3)))))))
            (if (i32.eq (local.get $start) (i32.add (local.get $out) (i32.const 6)))
              (then (memory.copy (i32.add (local.get $start) (i32.const 4)) (i32.const 512) (i32.const 6)))
              (else (memory.copy (i32.add (local.get $start) (i32.const 4)) (i32.const 528) (i32.const 9))))
            (i32.store8 (i32.add (i32.add (local.get $out) (i32.const 16)) (local.get $n)) (i32.const 125))
            (i32.store (local.get $start)
              (i32.sub (i32.add (i32.add (local.get $out) (i32.const 17)) (local.get $n))
                (i32.add (local.get $start) (i32.const 4))))
            (local.get $start))"#
            .to_string(),
        ..Default::default()
    };

    // Fits: the result alone lands in the buffer, with no allocation.
    h.install_ok("fits", module(4096, 4096, ALLOC_ONCE)).await;
    let out = h.run("fits", json!({ "message": "bare" })).await.unwrap();
    assert_eq!((out["echo"].as_str(), out["caller"].as_str()), (Some("Pong: bare"), Some("extension:fits")));
    // Too small, or outside memory: a `wasm_alloc` block, error bit clear.
    h.install_ok("small", module(4096, 8, BUMP_ALLOC)).await;
    assert_eq!(h.run("small", json!({ "message": "block" })).await.unwrap()["echo"], "Pong: block");
    h.install_ok("outside", module(4096, u32::MAX - 8192, BUMP_ALLOC)).await;
    assert_eq!(h.run("outside", json!({ "message": "far" })).await.unwrap()["echo"], "Pong: far");
    // An error comes in a block with the error bit set, as `{code, message}`.
    assert_err(h.run("small", json!({ "message": 5 })).await, ErrorCode::InvalidInput, "input schema");
    // Errors always come in a block, even when the buffer has room.
    h.install_ok("fits-broken", module(4096, 4096, ALLOC_ONCE)).await;
    assert_err(h.run("fits-broken", json!({ "message": 5 })).await, ErrorCode::Internal, "wasm_alloc");
    h.good_still_works().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_past_the_pool_fail_with_resource_exhausted_and_come_back() {
    let h = Host::new().await;
    let mut alive = Vec::new();
    let err = loop {
        match h.core.extensions().instantiate("good").await {
            Ok(inst) => alive.push(inst),
            Err(e) => break e,
        }
        assert!(alive.len() <= 256, "the pool never ran out");
    };
    assert_eq!(err.code, ErrorCode::ResourceExhausted, "{err}");
    assert!(err.message.contains("too many extension instances"), "{err}");
    assert!(alive.len() >= 200, "only {} instances before the limit", alive.len());
    drop(alive);
    h.core.extensions().instantiate("good").await.expect("slots come back");
    h.good_still_works().await;
}
