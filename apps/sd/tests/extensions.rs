//! test-extension, built from source and installed with the real CLI, in
//! process and through the daemon.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::path::PathBuf;

use common::{Daemon, sd, sd_json};

fn test_extension_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../extensions/test-extension")
}

fn greeting_entries(dir: &std::path::Path) -> serde_json::Value {
    sd_json(dir, &["search", "--where", "test-extension.greeting=hello from wasm"])
}

#[test]
fn test_extension_installs_from_its_cargo_folder_and_works_through_the_daemon() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    let ext = test_extension_dir();
    let ext = ext.to_str().unwrap();

    // Without consent nothing is installed, and the permissions are shown.
    let out = sd(dir, &["ext", "install", ext]);
    assert!(!out.status.success());
    let shown = String::from_utf8_lossy(&out.stdout);
    // Each prefix lists the operations it reaches, destructive ones marked.
    assert!(shown.contains("call operations under `vdfs.`, which today reaches:"), "{shown}");
    let line = |method: &str| shown.lines().find(|l| l.contains(method)).unwrap_or_else(|| panic!("{method}: {shown}"));
    assert!(line("action:vdfs.write_sidecar.input.v1").trim_start().starts_with("! DESTRUCTIVE"), "{shown}");
    assert!(line("action:vdfs.update_metadata.input.v1").trim_start().starts_with("! DESTRUCTIVE"), "{shown}");
    assert!(line("action:vdfs.create_entry.input.v1").trim_start().starts_with("WRITE"), "{shown}");
    assert!(line("query:libraries.list.v1").trim_start().starts_with("READ"), "{shown}");
    assert!(shown.contains("use libraries: every library, present and future"), "{shown}");
    assert!(shown.contains("reach the network: no"), "{shown}");
    assert!(shown.contains("! marks operations that delete or overwrite data."), "{shown}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--yes"));
    assert_eq!(sd_json(dir, &["ext", "list"]).as_array().unwrap().len(), 0);

    let info = sd_json(dir, &["ext", "install", ext, "--yes"]);
    assert_eq!(info["id"], "test-extension");
    // No daemon: nothing keeps it loaded once the command ends.
    assert_eq!(info["state"], "installed", "{info}");
    assert_eq!(sd_json(dir, &["ext", "list"])[0]["where"], "no daemon is running; it loads when used");
    // Installing the same version again asks for nothing new: no consent.
    let again = sd(dir, &["ext", "install", ext]);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    // `sd ops` shows who may call each operation.
    let out = sd(dir, &["ops"]);
    let ops = String::from_utf8_lossy(&out.stdout);
    let row = ops.lines().find(|l| l.starts_with("action:libraries.remove.input.v1")).unwrap();
    assert!(row.split_whitespace().any(|w| w == "person"), "{row}");
    // Its init pinged the core and created one tagged entry, with a sidecar.
    let found = greeting_entries(dir);
    assert_eq!(found["total"], 1, "{found}");
    let entry = &found["results"][0]["entry"];
    assert_eq!(entry["owner"], "test-extension");
    assert_eq!(entry["kind"], "note");
    let detail = sd_json(dir, &["entry", "show", entry["id"].as_str().unwrap()]);
    assert_eq!(detail["metadata"]["test-extension"]["created_by"], "extension:test-extension");
    assert_eq!(detail["sidecars"][0]["name"], "note.txt");
    let hits = sd_json(dir, &["search", "webassembly extension"]);
    assert_eq!(hits["results"][0]["reasons"][0]["source"], "sidecar:test-extension/note.txt", "{hits}");

    // Its operation, from the CLI in-process.
    let hello = sd_json(dir, &["call", "query:test-extension.hello.v1", r#"{"name":"Ada"}"#]);
    assert_eq!(hello["greeting"], "Hello, Ada!");
    assert_eq!(hello["entries"], 1);
    let out = sd(dir, &["call", "query:test-extension.hello.v1", r#"{"name":" "}"#]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid_input: name must not be empty"));

    // The daemon loads it at start; init is idempotent.
    let _daemon = Daemon::start(dir);
    let info = sd_json(dir, &["ext", "info", "test-extension"]);
    assert_eq!(info["state"], "loaded", "{info}");
    assert_eq!(info["where"], "by the daemon", "{info}");
    let shown = String::from_utf8_lossy(&sd(dir, &["ext", "list"]).stdout).to_string();
    assert!(shown.contains("loaded (by the daemon)"), "{shown}");
    assert!(info["stats"]["calls"].as_u64().unwrap() >= 3, "init made calls: {info}");
    assert_eq!(greeting_entries(dir)["total"], 1);
    let hello = sd_json(dir, &["call", "query:test-extension.hello.v1", r#"{"name":"Grace"}"#]);
    assert_eq!(hello["greeting"], "Hello, Grace!");
    let ops = sd_json(dir, &["ops"]);
    assert!(ops.as_array().unwrap().iter().any(|o| o["method"] == "query:test-extension.hello.v1"));

    sd_json(dir, &["ext", "remove", "test-extension"]);
    assert_eq!(sd_json(dir, &["ext", "list"]).as_array().unwrap().len(), 0);
    let out = sd(dir, &["call", "query:test-extension.hello.v1", r#"{"name":"x"}"#]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown method"));
}

#[test]
fn the_wasm_file_alone_is_enough() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    sd_json(dir, &["library", "create", "main"]);
    // Build (or find) the module through a first install, then copy it alone.
    sd_json(dir, &["ext", "install", test_extension_dir().to_str().unwrap(), "--yes"]);
    sd_json(dir, &["ext", "remove", "test-extension"]);
    let built = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../extensions/target/wasm32-unknown-unknown/release/test_extension.wasm");
    let alone = tempfile::tempdir().unwrap();
    let wasm = alone.path().join("renamed.wasm");
    std::fs::copy(&built, &wasm).unwrap();
    let size = std::fs::metadata(&wasm).unwrap().len();
    assert!(size < 512 * 1024, "release module is {size} bytes");
    // Nothing says who made a bare module: it needs --allow-unsigned.
    let out = sd(dir, &["ext", "install", wasm.to_str().unwrap(), "--yes"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-unsigned"), "{out:?}");
    let info = sd_json(dir, &["ext", "install", wasm.to_str().unwrap(), "--yes", "--allow-unsigned"]);
    assert_eq!(info["id"], "test-extension");
    assert_eq!(info["operations"][0]["method"], "query:test-extension.hello.v1");
    assert_eq!(greeting_entries(dir)["total"], 1);
    // The module's hash is taken once, at install, and stored beside it.
    let hash = blake3::hash(&std::fs::read(&wasm).unwrap()).to_hex().to_string();
    assert_eq!(info["module_hash"], hash.as_str());
    let stored = std::fs::read_to_string(dir.join("extensions/test-extension/module.blake3")).unwrap();
    assert_eq!(stored, hash);
    assert_eq!(sd_json(dir, &["ext", "info", "test-extension"])["module_hash"], hash.as_str());
}

/// `sd ext new` writes a crate that builds, installs, answers and runs its
/// job as generated; a manifest that disagrees with the module is refused
/// with both sides named.
#[test]
fn a_new_extension_builds_installs_and_runs_as_generated() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let krate = dir.join("demo");
    let krate_s = krate.to_str().unwrap();
    // Dependencies compiled once, in the workspace's target folder, reused
    // by later runs.
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/ext-new");
    let sd_in = |args: &[&str]| {
        std::process::Command::new(common::SD)
            .args(args)
            .env("SD_DATA_DIR", dir)
            .env("SD_LOG", "error")
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap()
    };
    let ok = |out: std::process::Output| -> serde_json::Value {
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The last JSON value printed (`ext run` prints progress lines first).
        serde_json::Deserializer::from_slice(&out.stdout).into_iter::<serde_json::Value>().last().unwrap().unwrap()
    };
    sd_json(dir, &["library", "create", "main"]);

    let made = ok(sd_in(&["--json", "ext", "new", "demo", "--path", krate_s]));
    assert_eq!(made["id"], "demo");
    // No manifest.json: the code declares everything.
    assert!(!krate.join("manifest.json").exists());
    for file in ["Cargo.toml", ".cargo/config.toml", "src/lib.rs", "README.md", "tests/host.rs", "Cargo.lock"] {
        assert!(krate.join(file).is_file(), "{file} missing");
    }
    let readme = std::fs::read_to_string(krate.join("README.md")).unwrap();
    assert!(readme.contains("sd call query:demo.hello.v1"), "{readme}");
    // A second `new` into the same folder is refused, and a bad name too.
    assert!(!sd_in(&["ext", "new", "demo", "--path", krate_s]).status.success());
    let bad = sd_in(&["ext", "new", "Bad Name"]);
    assert!(String::from_utf8_lossy(&bad.stderr).contains("lowercase letters"), "{bad:?}");

    let built = ok(sd_in(&["--json", "ext", "build", krate_s]));
    assert_eq!(built["manifest"]["id"], "demo", "{built}");
    assert!(built["module_size"].as_u64().unwrap() > 1000, "{built}");
    ok(sd_in(&["--json", "ext", "install", krate_s, "--yes"]));
    let hello = ok(sd_in(&["--json", "call", "query:demo.hello.v1", r#"{"name":"Ada"}"#]));
    assert_eq!(hello["greeting"], "Hello, Ada!");
    let job = ok(sd_in(&["--json", "ext", "run", "demo", "greet", r#"{"name":"Ada"}"#]));
    assert_eq!(job["state"], "completed", "{job}");
    let found = sd_json(dir, &["search", "greeting for ada"]);
    assert_eq!(found["total"], 1, "{found}");
    assert_eq!(found["results"][0]["entry"]["owner"], "demo");

    // `sd ext dev` rebuilds on a source change and the host reloads; a
    // change that does not compile leaves the last good version running.
    let mut dev = std::process::Command::new(common::SD)
        .args(["ext", "dev", krate_s])
        .env("SD_DATA_DIR", dir)
        .env("SD_LOG", "error")
        .env("CARGO_TARGET_DIR", &target)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let lib_rs = krate.join("src/lib.rs");
    let greet = |want: &str| {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
        loop {
            let got = ok(sd_in(&["--json", "call", "query:demo.hello.v1", r#"{"name":"Ada"}"#]));
            if got["greeting"] == want {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "never greeted `{want}`: {got}");
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
    };
    std::thread::sleep(std::time::Duration::from_secs(1));
    let source = std::fs::read_to_string(&lib_rs).unwrap();
    std::fs::write(&lib_rs, source.replace("Hello, {name}!", "Hi there, {name}!")).unwrap();
    greet("Hi there, Ada!");
    std::fs::write(&lib_rs, source.replace("Hello, {name}!\"))", "Hi there, {name}!\")) oops")).unwrap();
    let mut stderr = std::io::BufReader::new(dev.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("the last good version keeps running") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "dev ended: {seen}");
        seen.push_str(&line);
    }
    assert!(seen.contains("oops"), "the compiler's error is shown: {seen}");
    greet("Hi there, Ada!");
    let _ = dev.kill();
    let _ = dev.wait();
    std::fs::write(&lib_rs, source).unwrap();

    // A hand-written manifest.json (as other languages use) that declares
    // the operation under another export: refused, naming both.
    let source = std::fs::read_to_string(&lib_rs).unwrap();
    let (start, end) = (source.find("#[extension(").unwrap(), source.find(")]\nstruct Ext;").unwrap() + 2);
    let short = r#"#[extension(id = "demo", name = "demo", version = "0.1.0")]"#;
    std::fs::write(&lib_rs, format!("{}{short}{}", &source[..start], &source[end..])).unwrap();
    let manifest = serde_json::json!({
        "id": "demo", "name": "demo", "version": "0.1.0",
        "permissions": { "methods": ["vdfs."], "libraries": ["*"] },
        "operations": [{ "method": "query:demo.hello.v1", "export": "op_helo" }],
        "jobs": [{ "name": "greet", "export": "execute_greet" }],
        "events": ["entry.created"],
    });
    std::fs::write(krate.join("manifest.json"), manifest.to_string()).unwrap();
    let out = sd_in(&["ext", "build", krate_s]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("#[spacedrive_operation] `hello`") && err.contains("`op_hello`"), "{err}");
    // Declared under the right export, the same crate builds.
    let fixed = manifest.to_string().replace("op_helo", "op_hello");
    std::fs::write(krate.join("manifest.json"), fixed).unwrap();
    ok(sd_in(&["--json", "ext", "build", krate_s]));
}
