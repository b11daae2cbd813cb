//! Helpers for tests that run the real `sd` binary.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const SD: &str = env!("CARGO_BIN_EXE_sd");

/// A `sd daemon` process on its own data dir, killed on drop.
pub struct Daemon {
    pub child: Child,
    pub data_dir: PathBuf,
}

impl Daemon {
    pub fn start(data_dir: &Path) -> Daemon {
        let child = Command::new(SD)
            .arg("daemon")
            .env("SD_DATA_DIR", data_dir)
            .env("SD_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sd daemon");
        let socket = data_dir.join("daemon.sock");
        let deadline = Instant::now() + Duration::from_secs(30);
        while UnixStream::connect(&socket).is_err() {
            assert!(Instant::now() < deadline, "daemon did not start listening");
            std::thread::sleep(Duration::from_millis(20));
        }
        Daemon { child, data_dir: data_dir.to_path_buf() }
    }

    pub fn socket(&self) -> PathBuf {
        self.data_dir.join("daemon.sock")
    }

    pub fn kill9(&mut self) {
        // std's Child::kill sends SIGKILL on Unix.
        self.child.kill().expect("kill daemon");
        self.child.wait().expect("reap daemon");
    }

    pub fn alive(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `sd` with `args` on `data_dir`.
pub fn sd(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(SD).args(args).env("SD_DATA_DIR", data_dir).env("SD_LOG", "error").output().expect("run sd")
}

/// Runs `sd --json ...`, asserts success and parses stdout.
pub fn sd_json(data_dir: &Path, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = sd(data_dir, &all);
    assert!(
        out.status.success(),
        "sd {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("sd {args:?}: bad JSON ({e})"))
}

/// Writes one raw frame: 4-byte big-endian length, then the bytes.
pub fn write_frame(s: &mut UnixStream, body: &[u8]) {
    s.write_all(&(body.len() as u32).to_be_bytes()).unwrap();
    s.write_all(body).unwrap();
}

/// Reads one raw frame and parses it as JSON.
pub fn read_frame(s: &mut UnixStream) -> std::io::Result<Value> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len)?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body)?;
    Ok(serde_json::from_slice(&body).expect("daemon frame is JSON"))
}

/// Sends a request and returns the final (non-progress) frame.
pub fn request(s: &mut UnixStream, req: &Value) -> Value {
    write_frame(s, req.to_string().as_bytes());
    loop {
        let f = read_frame(s).expect("response frame");
        if f.get("progress").is_none() {
            return f;
        }
    }
}

/// Writes `files` small files in nested folders; returns their relative paths.
pub fn make_tree(root: &Path, files: usize) -> Vec<String> {
    let mut out = Vec::with_capacity(files);
    for i in 0..files {
        let rel = format!("d{}/e{}/f{i}.txt", i % 16, (i / 16) % 16);
        let path = root.join(&rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, format!("content of file {i}")).unwrap();
        out.push(rel);
    }
    out
}

/// After a restart of the daemon: the one job named `name`, followed until
/// it completes (it may only be queued or running meanwhile).
pub fn resumed_job_completes(data_dir: &Path, name: &str, within: Duration) -> Value {
    let jobs = sd_json(data_dir, &["job", "list"]);
    let job = jobs.as_array().unwrap().iter().find(|j| j["name"] == name).unwrap_or_else(|| panic!("no {name} job"));
    let id = job["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + within;
    loop {
        let info = sd_json(data_dir, &["job", "info", &id]);
        if info["state"] == "completed" {
            return info;
        }
        assert!(["queued", "running"].contains(&info["state"].as_str().unwrap()), "{info}");
        assert!(Instant::now() < deadline, "the resumed {name} job never finished: {info}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Serves the files of `root` over HTTP on 127.0.0.1 from a thread, as a
/// static host of packages and indexes would; returns `http://127.0.0.1:PORT`.
/// Files are read at each request, so a test may change them in between.
pub fn serve_dir(root: &Path) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let root = root.to_path_buf();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split(' ').nth(1).unwrap_or("/").trim_start_matches('/').to_string();
            let (status, body) = match std::fs::read(root.join(&path)) {
                Ok(b) if !path.contains("..") => ("200 OK", b),
                _ => ("404 Not Found", b"no such file".to_vec()),
            };
            let _ = write!(stream, "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(&body);
        }
    });
    base
}

/// Packs, signed with `key` into folder `out`, test-extension's built module
/// as version `version` asking also for the methods under `also` (a
/// `manifest.json` beside it, which packing embeds). Returns what `sd ext
/// pack` said.
pub fn pack_test_extension_as(data_dir: &Path, key: &str, out: &Path, version: &str, also: &[&str]) -> Value {
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../extensions/target/wasm32-unknown-unknown/release/test_extension.wasm");
    let inspect = serde_json::json!({ "path": built, "allow_unsigned": true }).to_string();
    // Read in a data dir of its own: where test-extension is installed
    // (pinned to a publisher), inspecting a bare module of it is refused.
    let scratch = tempfile::tempdir().unwrap();
    let mut manifest = sd_json(scratch.path(), &["call", "query:extensions.inspect.v1", &inspect])["manifest"].clone();
    let src = out.join(format!("test-extension-{version}-src"));
    std::fs::create_dir_all(&src).unwrap();
    std::fs::copy(&built, src.join("module.wasm")).unwrap();
    manifest["version"] = serde_json::json!(version);
    manifest["wasm"] = serde_json::json!("module.wasm");
    manifest["permissions"]["methods"].as_array_mut().unwrap().extend(also.iter().map(|m| serde_json::json!(m)));
    std::fs::write(src.join("manifest.json"), manifest.to_string()).unwrap();
    sd_json(data_dir, &["ext", "pack", src.to_str().unwrap(), "--sign", key, "-o", out.to_str().unwrap()])
}
