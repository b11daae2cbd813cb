//! The credentials vault and allow-listed HTTP, with real HTTP servers on
//! 127.0.0.1 and WAT extensions calling through the host.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::call;
use common::http::{Reply, serve};
use common::wasm::{Parts, manifest, write_extension};
use sd_core::{Caller, Core, ErrorCode, OpError};
use serde_json::{Value, json};

struct Env {
    core: Arc<Core>,
    data: tempfile::TempDir,
    src: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        // SAFETY of the test: the whole binary uses the key file, never a keyring.
        let data = tempfile::tempdir().unwrap();
        Env { core: Core::open(data.path()).unwrap(), data, src: tempfile::tempdir().unwrap() }
    }

    async fn install(&self, id: &str, method: &str, perms: Value) {
        let dir = write_extension(self.src.path(), &manifest(id, perms), &Parts::forwarding(method).wasm());
        call(&self.core, "action:extensions.install.input.v1", None, json!({ "path": dir })).await.unwrap();
    }

    async fn run(&self, id: &str, payload: Value) -> Result<Value, OpError> {
        self.core.execute_json_operation(&format!("query:{id}.run.v1"), None, payload, Caller::Cli).await
    }

    async fn stats(&self, id: &str) -> Value {
        call(&self.core, "query:extensions.info.v1", None, json!({ "id": id })).await.unwrap()["stats"].clone()
    }
}

fn assert_err(r: Result<Value, OpError>, code: ErrorCode, needle: &str) -> OpError {
    let e = r.expect_err("expected an error");
    assert_eq!(e.code, code, "{e}");
    assert!(e.message.contains(needle), "`{needle}` not in: {e}");
    e
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A token endpoint: refresh token `rt-good` gets a new access token
/// (counted); anything else is `invalid_grant`.
async fn token_server(count: Arc<AtomicUsize>) -> String {
    let addr = serve(move |req| {
        if req.path != "/token" || !req.body.contains("grant_type=refresh_token") {
            return Reply::text(404, "no");
        }
        if !req.body.contains("refresh_token=rt-good") {
            return Reply::json(400, json!({ "error": "invalid_grant", "error_description": "expired" }));
        }
        let n = count.fetch_add(1, Ordering::SeqCst) + 1;
        Reply::json(200, json!({ "access_token": format!("at-fresh-{n}"), "token_type": "bearer", "expires_in": 3600 }))
    })
    .await;
    format!("http://{addr}/token")
}

fn oauth(token_url: &str, refresh: &str, expires_at: i64) -> Value {
    json!({ "kind": "oauth2", "access_token": "at-old", "refresh_token": refresh, "expires_at": expires_at,
            "token_url": token_url, "client_id": "sd-test", "client_secret": "cs-secret" })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_tokens_refresh_exactly_once_and_stay_sealed() {
    let env = Env::new();
    let count = Arc::new(AtomicUsize::new(0));
    let token_url = token_server(count.clone()).await;
    let store = |owner: &str, name: &str, secret: Value| {
        call(
            &env.core,
            "action:credentials.store.input.v1",
            None,
            json!({ "name": name, "owner": owner, "secret": secret }),
        )
    };
    // Filed for an extension before it is installed.
    store("mailer", "gmail", oauth(&token_url, "rt-good", now() - 10)).await.unwrap();
    store("mailer", "stale", oauth(&token_url, "rt-revoked", now() - 10)).await.unwrap();
    store("user", "api", json!({ "kind": "api_key", "key": "k-very-secret" })).await.unwrap();

    // Ten concurrent gets of an expired token: one refresh.
    let vault = env.core.vault().clone();
    let gets = (0..10).map(|_| {
        let v = vault.clone();
        tokio::spawn(async move { v.fresh("mailer", "gmail").await.unwrap() })
    });
    let results = futures::future::join_all(gets).await;
    assert_eq!(count.load(Ordering::SeqCst), 1, "refreshed exactly once");
    assert_eq!(results.iter().filter(|r| r.as_ref().unwrap().2).count(), 1, "one caller did it");
    for r in results {
        match r.unwrap().1 {
            sd_core::services::vault::Secret::Oauth2(o) => assert_eq!(o.access_token, "at-fresh-1"),
            other => panic!("{other:?}"),
        }
    }

    // Through the operation, from the extension that owns it.
    env.install("mailer", "query:credentials.get.v1", json!({ "methods": ["credentials."] })).await;
    let got = env.run("mailer", json!({ "name": "gmail" })).await.unwrap();
    assert_eq!(got["secret"]["access_token"], "at-fresh-1");
    assert_eq!(got["refreshed"], false);
    let e =
        assert_err(env.run("mailer", json!({ "name": "stale" })).await, ErrorCode::PermissionDenied, "invalid_grant");
    assert!(e.message.contains("sign in again"), "{e}");
    // People never get secrets back; listings hold none.
    assert_err(
        call(&env.core, "query:credentials.get.v1", None, json!({ "name": "gmail", "owner": "mailer" })).await,
        ErrorCode::PermissionDenied,
        "for extensions only",
    );
    let list = call(&env.core, "query:credentials.list.v1", None, json!({})).await.unwrap();
    assert_eq!(list.as_array().unwrap().len(), 3);
    let text = list.to_string();
    for secret in ["at-fresh", "rt-good", "cs-secret", "k-very-secret"] {
        assert!(!text.contains(secret), "{secret} leaked into {text}");
    }
    let status = call(&env.core, "query:core.status.v1", None, json!({})).await.unwrap();
    assert!(status["vault_key"].as_str().unwrap().contains("vault.key"), "{status}");

    // A flipped byte is detected.
    let db = rusqlite::Connection::open(env.data.path().join("vault.db")).unwrap();
    let sealed: Vec<u8> = db.query_row("SELECT sealed FROM credentials WHERE name = 'api'", [], |r| r.get(0)).unwrap();
    let mut flipped = sealed.clone();
    flipped[5] ^= 0x01;
    db.execute("UPDATE credentials SET sealed = ?1 WHERE name = 'api'", [&flipped]).unwrap();
    let e = env.core.vault().get("user", "api").unwrap_err();
    assert!(e.message.contains("integrity check"), "{e}");
    // A record moved to another owner does not open either.
    db.execute("UPDATE credentials SET sealed = ?1, owner = 'mailer', name = 'moved' WHERE name = 'api'", [&sealed])
        .unwrap();
    assert!(env.core.vault().get("mailer", "moved").unwrap_err().message.contains("integrity check"));
    drop(db);

    // A wrong key file, then none.
    let key = env.data.path().join("vault.key");
    let fresh = Core::open(env.data.path()).unwrap();
    std::fs::write(&key, "00".repeat(32)).unwrap();
    let e = fresh.vault().get("mailer", "gmail").unwrap_err();
    assert!(e.message.contains("does not open this vault"), "{e}");
    std::fs::remove_file(&key).unwrap();
    let fresh = Core::open(env.data.path()).unwrap();
    let e = fresh.vault().get("mailer", "gmail").unwrap_err();
    assert_eq!(e.code, ErrorCode::Unavailable);
    assert!(e.message.contains("restore it"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extensions_touch_only_their_own_credentials() {
    let env = Env::new();
    call(
        &env.core,
        "action:credentials.store.input.v1",
        None,
        json!({ "name": "key", "owner": "bob", "secret": { "kind": "api_key", "key": "bob-secret" } }),
    )
    .await
    .unwrap();
    let perms = json!({ "methods": ["credentials."] });
    env.install("alice-get", "query:credentials.get.v1", perms.clone()).await;
    env.install("alice-store", "action:credentials.store.input.v1", perms.clone()).await;
    env.install("alice-delete", "action:credentials.delete.input.v1", perms.clone()).await;
    for (id, payload) in [
        ("alice-get", json!({ "name": "key", "owner": "bob" })),
        ("alice-store", json!({ "name": "key", "owner": "bob", "secret": { "kind": "api_key", "key": "mine" } })),
        ("alice-delete", json!({ "name": "key", "owner": "bob" })),
    ] {
        assert_err(env.run(id, payload).await, ErrorCode::PermissionDenied, "credentials of other owners");
    }
    // Without an owner an extension acts on its own: bob's is not there.
    assert_err(env.run("alice-get", json!({ "name": "key" })).await, ErrorCode::NotFound, "no credential `key`");
    // Its own works.
    env.run("alice-store", json!({ "name": "key", "secret": { "kind": "api_key", "key": "alice-secret" } }))
        .await
        .unwrap();
    let (_, secret) = env.core.vault().get("bob", "key").unwrap();
    assert!(format!("{}", serde_json::to_value(&secret).unwrap()).contains("bob-secret"), "bob's is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_goes_only_where_the_manifest_allows_with_credentials_attached_by_the_host() {
    let env = Env::new();
    let seen_auth = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = seen_auth.clone();
    let addr = serve(move |req| {
        seen.lock().unwrap().push(req.headers.get("authorization").cloned().unwrap_or_default());
        match req.path.as_str() {
            "/ok" => match req.headers.get("authorization").map(String::as_str) {
                Some("Bearer at-secret") => Reply::json(200, json!({ "hello": "world" })),
                _ => Reply::text(401, "who are you"),
            },
            "/binary" => Reply::With(200, vec![], vec![0, 159, 146, 150]),
            "/hop" => Reply::redirect("/ok"),
            "/out" => Reply::redirect("http://169.254.169.254/latest/meta-data"),
            "/big" => Reply::With(200, vec![], vec![b'x'; 3 * 1024 * 1024]),
            "/silent" => Reply::Silence,
            _ => Reply::text(404, "no"),
        }
    })
    .await;
    let perms = json!({
        "methods": ["http."], "network_access": [addr.clone()], "max_response_mb": 2,
        "rate_limits": { "requests_per_minute": 1000, "http_requests_per_minute": 1000 },
    });
    env.install("fetcher", "action:http.request.input.v1", perms).await;
    call(
        &env.core,
        "action:credentials.store.input.v1",
        None,
        json!({ "name": "svc", "owner": "fetcher", "secret": { "kind": "api_key", "key": "at-secret" } }),
    )
    .await
    .unwrap();
    let get = |path: &str, extra: Value| {
        let mut p = json!({ "method": "GET", "url": format!("http://{addr}{path}"), "timeout_ms": 1500 });
        for (k, v) in extra.as_object().unwrap() {
            p[k] = v.clone();
        }
        env.run("fetcher", p)
    };
    let ok = get("/ok", json!({ "auth": { "credential": "svc" } })).await.unwrap();
    assert_eq!(ok["status"], 200);
    assert_eq!(serde_json::from_str::<Value>(ok["body"].as_str().unwrap()).unwrap()["hello"], "world");
    assert!(!ok.to_string().contains("at-secret"), "the token never reaches the guest");
    assert_eq!(get("/ok", json!({})).await.unwrap()["status"], 401, "no credential, no token");
    assert_eq!(get("/binary", json!({})).await.unwrap()["body_base64"], "AJ+Slg==");
    // A redirect to the same host is followed (with the credential); one
    // elsewhere is refused.
    assert_eq!(get("/hop", json!({ "auth": { "credential": "svc" } })).await.unwrap()["status"], 200);
    assert_err(get("/out", json!({})).await, ErrorCode::PermissionDenied, "redirect to http://169.254.169.254");
    assert_err(get("/big", json!({})).await, ErrorCode::ResourceExhausted, "larger than 2097152 bytes");
    let started = std::time::Instant::now();
    assert_err(get("/silent", json!({})).await, ErrorCode::Unavailable, "did not answer within 1500 ms");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Hosts, schemes and URLs outside the list.
    for (url, needle) in [
        ("https://example.com/", "not in the extension's network_access"),
        ("http://127.0.0.1:1/", "not in the extension's network_access"),
        ("file:///etc/passwd", "scheme"),
        (&format!("http://user:pw@{addr}/ok"), "password"),
    ] {
        assert_err(
            env.run("fetcher", json!({ "method": "GET", "url": url })).await,
            ErrorCode::PermissionDenied,
            needle,
        );
    }
    // Someone else's credential cannot be attached.
    assert_err(get("/ok", json!({ "auth": { "credential": "nope" } })).await, ErrorCode::NotFound, "no credential");
    let stats = env.stats("fetcher").await;
    assert_eq!(stats["network_refused"], 7, "{stats}");
    assert!(seen_auth.lock().unwrap().iter().filter(|a| a.contains("at-secret")).count() >= 2);
    // People cannot use it.
    assert_err(
        call(
            &env.core,
            "action:http.request.input.v1",
            None,
            json!({ "method": "GET", "url": format!("http://{addr}/ok") }),
        )
        .await,
        ErrorCode::PermissionDenied,
        "for extensions only",
    );
    // An extension without network_access reaches nothing.
    env.install("offline", "action:http.request.input.v1", json!({ "methods": ["http."] })).await;
    assert_err(
        env.run("offline", json!({ "method": "GET", "url": format!("http://{addr}/ok") })).await,
        ErrorCode::PermissionDenied,
        "no network_access",
    );
}
