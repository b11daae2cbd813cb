//! The dashboard's server at the HTTP level, with raw requests over TCP so
//! every header is the test's to choose: sessions from one-time tokens, the
//! Host check against DNS rebinding, the Origin check against cross-site
//! requests, no CORS, and the one endpoint into the registry.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use sd_core::Core;
use sd_core::infra::http::Limits;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{call, new_library};

struct Env {
    core: Arc<Core>,
    port: u16,
    _data: tempfile::TempDir,
}

impl Env {
    async fn new() -> Env {
        Env::with(Limits::default()).await
    }

    async fn with(limits: Limits) -> Env {
        let data = tempfile::tempdir().unwrap();
        let core = Core::open(data.path()).unwrap();
        let (dashboard, listener) = sd_core::infra::http::bind(&core, 0).await.unwrap();
        let port = dashboard.addr().port();
        tokio::spawn(sd_core::infra::http::serve_with(dashboard, listener, limits, std::future::pending()));
        Env { core, port, _data: data }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A fresh one-time link, as `sd ui` gets it.
    async fn link(&self) -> String {
        let out = call(&self.core, "action:ui.open.input.v1", None, Value::Null).await.unwrap();
        out["url"].as_str().unwrap().to_string()
    }

    /// Spends a token; returns the session cookie (`name=value`).
    async fn session(&self) -> String {
        let link = self.link().await;
        let path = link.split_once(&self.host()).unwrap().1.to_string();
        let r = self.send("GET", &path, &[("Host", &self.host())], "").await;
        assert_eq!(r.status, 303, "{}", r.text);
        let cookie = r.header("set-cookie").unwrap();
        cookie.split(';').next().unwrap().to_string()
    }

    /// Sends one request with exactly these headers (plus Content-Length and
    /// Connection: close) and reads the whole answer.
    async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()));
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw)).await.unwrap().unwrap();
        Reply::parse(&raw)
    }

    /// Opens the event stream of `library` and reads up to its first job list.
    async fn events(&self, session: &str, library: &str) -> (TcpStream, String) {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        let req = format!(
            "GET /api/events?library_id={library} HTTP/1.1\r\nHost: {}\r\nCookie: {session}\r\nAccept: text/event-stream\r\n\r\n",
            self.host()
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let mut seen = String::new();
        read_until("event: jobs", &mut s, &mut seen).await;
        (s, seen)
    }

    /// A POST to /api/call from the page: session, Host and Origin right.
    async fn api(&self, cookie: &str, body: Value) -> Reply {
        let (host, origin) = (self.host(), self.origin());
        let headers =
            [("Host", host.as_str()), ("Origin", &origin), ("Cookie", cookie), ("Content-Type", "application/json")];
        self.send("POST", "/api/call", &headers, &body.to_string()).await
    }
}

struct Reply {
    status: u16,
    head: String,
    text: String,
}

impl Reply {
    fn parse(raw: &[u8]) -> Reply {
        let raw = String::from_utf8_lossy(raw).to_string();
        let (head, text) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        Reply { status, head: head.to_ascii_lowercase(), text: text.to_string() }
    }

    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::to_string))
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_session_from_a_one_time_token_gets_in() {
    let env = Env::new().await;
    let host = env.host();
    for path in ["/", "/assets/app.js", "/api/events?library_id=00000000-0000-0000-0000-000000000000"] {
        let r = env.send("GET", path, &[("Host", &host)], "").await;
        assert_eq!(r.status, 401, "{path}: {}", r.text);
        assert!(r.text.contains("sd ui"), "{}", r.text);
    }
    let r = env.send("GET", "/", &[("Host", &host), ("Cookie", "sd_session_1=forged")], "").await;
    assert_eq!(r.status, 401);

    // A token opens a session once, with a cookie scripts cannot read and
    // other sites cannot make the browser send.
    let link = env.link().await;
    assert!(link.starts_with(&format!("http://{host}/?token=")), "{link}");
    let path = link.split_once(&host).unwrap().1.to_string();
    let r = env.send("GET", &path, &[("Host", &host)], "").await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location").as_deref(), Some("/"));
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.contains("httponly") && cookie.contains("samesite=strict"), "{cookie}");
    let again = env.send("GET", &path, &[("Host", &host)], "").await;
    assert_eq!(again.status, 401, "a token works once");
    assert!(again.text.contains("used already"), "{}", again.text);

    let session = env.session().await;
    let page = env.send("GET", "/", &[("Host", &host), ("Cookie", &session)], "").await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("<script src=\"/assets/app.js\">"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(page.header("x-content-type-options").as_deref(), Some("nosniff"));
    let script = env.send("GET", "/assets/app.js", &[("Host", &host), ("Cookie", &session)], "").await;
    assert_eq!(script.status, 200);
    assert!(script.header("content-type").unwrap().starts_with("text/javascript"));
    assert!(!script.text.contains("innerHTML"), "the page builds elements, it never parses HTML");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_hosts_and_other_origins_are_refused() {
    let env = Env::new().await;
    let session = env.session().await;
    let (host, origin) = (env.host(), env.origin());

    // DNS rebinding: a page of another site reaches 127.0.0.1 under its own name.
    let other_port = format!("127.0.0.1:{}", env.port.wrapping_add(1));
    for bad in ["evil.example", &format!("evil.example:{}", env.port), other_port.as_str(), ""] {
        let r = env.send("GET", "/", &[("Host", bad), ("Cookie", &session)], "").await;
        assert_eq!(r.status, 403, "Host {bad:?}: {}", r.text);
    }
    let ok = env.send("GET", "/", &[("Host", &format!("localhost:{}", env.port)), ("Cookie", &session)], "").await;
    assert_eq!(ok.status, 200);

    // Changes come only from the page's own origin.
    let ping = json!({ "method": "query:test.ping.v1", "payload": { "message": "hi" } }).to_string();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("Origin", "http://evil.example")], "another site"),
        (&[("Origin", "http://127.0.0.1:1")], "another port"),
        (&[], "no Origin"),
        (&[("Origin", &origin), ("Sec-Fetch-Site", "cross-site")], "a cross-site fetch"),
    ];
    for (extra, what) in cases {
        let mut headers = vec![("Host", host.as_str()), ("Cookie", &session), ("Content-Type", "application/json")];
        headers.extend_from_slice(extra);
        let r = env.send("POST", "/api/call", &headers, &ping).await;
        assert_eq!(r.status, 403, "{what}: {}", r.text);
        assert!(r.header("access-control-allow-origin").is_none());
    }
    // No CORS: a preflight gets no allowance.
    let pre = env
        .send(
            "OPTIONS",
            "/api/call",
            &[("Host", &host), ("Origin", "http://evil.example"), ("Access-Control-Request-Method", "POST")],
            "",
        )
        .await;
    assert_eq!(pre.status, 403);
    assert!(pre.header("access-control-allow-origin").is_none());

    // A form post (text/plain, which needs no preflight) is not JSON.
    let headers = [("Host", host.as_str()), ("Origin", &origin), ("Cookie", &session), ("Content-Type", "text/plain")];
    let r = env.send("POST", "/api/call", &headers, &ping).await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.json()["error"]["code"], "invalid_input");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_calls_the_registry_as_ui_and_follows_jobs() {
    let env = Env::new().await;
    let session = env.session().await;
    let lib = new_library(&env.core, "home").await;

    let r = env.api(&session, json!({ "method": "query:test.ping.v1", "payload": { "message": "hi" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json()["ok"]["caller"], "ui");
    assert!(r.header("content-type").unwrap().starts_with("application/json"));

    // Errors keep their code, with a matching status.
    let r = env.api(&session, json!({ "method": "query:nope.v1" })).await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (400, Some("invalid_input")));
    let r = env
        .api(&session, json!({ "method": "query:vdfs.entry.v1", "library_id": lib, "payload": { "id": lib } }))
        .await;
    assert_eq!((r.status, r.json()["error"]["code"].as_str()), (404, Some("not_found")));
    let r = env.api(&session, json!({ "method": "query:test.ping.v1", "extra": 1 })).await;
    assert_eq!(r.status, 400, "unknown fields are refused: {}", r.text);

    // A hostile name goes out as JSON data, never as markup.
    let hostile = "<img src=x onerror=alert(1)>.txt";
    let create =
        json!({ "method": "action:vdfs.create_entry.input.v1", "library_id": lib, "payload": { "name": hostile } });
    let r = env.api(&session, create).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let r = env
        .api(&session, json!({ "method": "query:search.v1", "library_id": lib, "payload": { "query": "img" } }))
        .await;
    assert_eq!(r.json()["ok"]["results"][0]["entry"]["name"], hostile);
    assert!(r.header("content-type").unwrap().starts_with("application/json"));

    // The event stream reports the job list, and again when it changes.
    let (mut s, mut seen) = env.events(&session, &lib.to_string()).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.to_ascii_lowercase().contains("content-type: text/event-stream"), "{seen}");
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(tree.path().join("a.txt"), "hello").unwrap();
    call(&env.core, "action:locations.add.input.v1", Some(lib), json!({ "path": tree.path() })).await.unwrap();
    read_until("index_location", &mut s, &mut seen).await;
    read_until("location.indexed", &mut s, &mut seen).await;
}

/// Reads the stream into `seen` until it holds `needle` (10 s at most).
async fn read_until(needle: &str, s: &mut TcpStream, seen: &mut String) {
    let mut buf = [0u8; 8192];
    let read = async {
        while !seen.contains(needle) {
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "stream closed before {needle}: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.unwrap_or_else(|_| panic!("no {needle} in 10 s"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_extension_can_open_a_dashboard_session() {
    let env = Env::new().await;
    let e = env
        .core
        .execute_json_operation(
            "action:ui.open.input.v1",
            None,
            Value::Null,
            sd_core::Caller::Extension("finance".into()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code, sd_core::ErrorCode::PermissionDenied, "{e}");
    // And a core without a dashboard says where one runs.
    let data = tempfile::tempdir().unwrap();
    let bare = Core::open(data.path()).unwrap();
    let e = call(&bare, "action:ui.open.input.v1", None, Value::Null).await.unwrap_err();
    assert_eq!(e.code, sd_core::ErrorCode::Unavailable);
    assert!(e.message.contains("sd ui"), "{e}");
}

/// Reads what the server sends until it closes the connection (10 s at most).
async fn read_all(s: &mut TcpStream) -> Reply {
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut raw))
        .await
        .expect("the server closed the connection within 10 s")
        .unwrap();
    Reply::parse(&raw)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_excess_connections_are_answered_and_closed() {
    let limits = Limits { connections: 8, header_read: Duration::from_secs(1), request: Duration::from_secs(1) };
    let env = Env::with(limits).await;
    let session = env.session().await;
    let lib = new_library(&env.core, "home").await;
    // Eight connections that never finish their headers fill the server...
    let mut idle = Vec::new();
    for i in 0..8 {
        let mut s = TcpStream::connect(("127.0.0.1", env.port)).await.unwrap();
        if i % 2 == 0 {
            s.write_all(b"GET / HTTP/1.1\r\nHost: 127.0.0.1").await.unwrap();
        }
        idle.push(s);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // ...so the next is told so at once, and closed.
    let mut extra = TcpStream::connect(("127.0.0.1", env.port)).await.unwrap();
    let r = read_all(&mut extra).await;
    assert_eq!(r.status, 503, "{}", r.text);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    assert_eq!(r.json()["error"]["code"], "unavailable");
    assert!(r.text.contains("8 connections"), "{}", r.text);
    // The idle ones get 408 when their headers are late, and are closed.
    let started = std::time::Instant::now();
    for s in &mut idle {
        let r = read_all(s).await;
        assert_eq!(r.status, 408, "{}", r.text);
        assert!(r.text.contains("no request headers within 1 s"), "{}", r.text);
    }
    assert!(started.elapsed() < Duration::from_secs(5), "closed after {:?}", started.elapsed());
    // With the slots free again, requests are served.
    let r = env.api(&session, json!({ "method": "query:test.ping.v1", "payload": { "message": "hi" } })).await;
    assert_eq!(r.status, 200, "{}", r.text);

    // A request whose body never arrives in full is answered 408.
    let mut s = TcpStream::connect(("127.0.0.1", env.port)).await.unwrap();
    let head = format!(
        "POST /api/call HTTP/1.1\r\nHost: {}\r\nOrigin: {}\r\nCookie: {session}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"method\"",
        env.host(),
        env.origin()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let r = read_all(&mut s).await;
    assert_eq!(r.status, 408, "{}", r.text);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("did not finish within 1 s"), "{}", r.text);

    // The event stream lasts as long as the page: past the request limit.
    let (mut s, mut seen) = env.events(&session, &lib.to_string()).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let tree = tempfile::tempdir().unwrap();
    std::fs::write(tree.path().join("a.txt"), "hello").unwrap();
    call(&env.core, "action:locations.add.input.v1", Some(lib), json!({ "path": tree.path() })).await.unwrap();
    read_until("location.indexed", &mut s, &mut seen).await;
    assert!(!seen.contains("408"), "{seen}");
}
