//! WAT modules for extension tests: a well-behaved guest, and a template
//! whose pieces tests replace with hostile code.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

/// Imports and data every template module starts with. Data layout:
/// 16: "query:test.ping.v1" (18 bytes); 64: `{"message":"wat"}` (17 bytes);
/// 128: "action:vdfs.create_entry.input.v1" (33 bytes);
/// 192: "query:libraries.list.v1" (23 bytes); 256: `{}` (2 bytes).
pub const PRELUDE: &str = r#"
  (import "spacedrive" "spacedrive_call" (func $call (param i32 i32 i32 i32 i32) (result i32)))
  (import "spacedrive" "spacedrive_log" (func $log (param i32 i32 i32)))
  (import "spacedrive" "spacedrive_call_buf" (func $call_buf (param i32 i32 i32 i32 i32 i32 i32) (result i64)))
  (import "spacedrive" "spacedrive_invoke" (func $invoke (param i32 i32 i32 i32 i32 i32 i32) (result i64)))
  (data (i32.const 16) "query:test.ping.v1")
  (data (i32.const 64) "{\"message\":\"wat\"}")
  (data (i32.const 128) "action:vdfs.create_entry.input.v1")
  (data (i32.const 192) "query:libraries.list.v1")
  (data (i32.const 256) "{}")
"#;

/// A bump allocator that grows memory as needed; frees nothing.
pub const BUMP_ALLOC: &str = r#"
  (global $heap (mut i32) (i32.const 65536))
  (func $alloc (export "wasm_alloc") (param $size i32) (result i32)
    (local $p i32) (local $end i32)
    global.get $heap
    local.set $p
    local.get $p local.get $size i32.add i32.const 7 i32.add i32.const -8 i32.and
    local.set $end
    (block $ok
      (loop $grow
        local.get $end memory.size i32.const 65536 i32.mul i32.le_u
        br_if $ok
        i32.const 1 memory.grow
        i32.const -1 i32.eq
        if (return (i32.const 0)) end
        br $grow))
    local.get $end global.set $heap
    local.get $p)
  (func (export "wasm_free") (param i32 i32))
"#;

/// Parts of a template module; each is WAT text.
pub struct Parts {
    pub memory: &'static str,
    pub alloc: String,
    pub abi: &'static str,
    pub init: String,
    pub cleanup: &'static str,
    /// Body of `op_run (param $p i32) (param $len i32) (param $lib i32) (result i32)`.
    pub op: String,
    pub extra: String,
}

impl Default for Parts {
    fn default() -> Self {
        Parts {
            memory: r#"(memory (export "memory") 2)"#,
            alloc: BUMP_ALLOC.to_string(),
            abi: r#"(func (export "spacedrive_abi_version") (result i32) i32.const 1)"#,
            init: "i32.const 0".to_string(),
            cleanup: r#"(func (export "plugin_cleanup") (result i32) i32.const 0)"#,
            // By default: forward the payload to ping and return the host's
            // result block, which is already `[len][envelope]`.
            op: "(call $call (i32.const 16) (i32.const 18) (i32.const 0) (local.get $p) (local.get $len))".to_string(),
            extra: String::new(),
        }
    }
}

impl Parts {
    pub fn wat(&self) -> String {
        format!(
            "(module {PRELUDE} {} {} {} (func (export \"plugin_init\") (result i32) {}) {} \
             (func (export \"op_run\") (param $p i32) (param $len i32) (param $lib i32) (result i32) {}) {})",
            self.memory, self.alloc, self.abi, self.init, self.cleanup, self.op, self.extra
        )
    }

    /// A module whose `op_run` forwards its payload (and library) to
    /// `method` and returns the host's answer.
    pub fn forwarding(method: &str) -> Parts {
        Parts {
            op: format!(
                "(call $call (i32.const 1024) (i32.const {}) (local.get $lib) (local.get $p) (local.get $len))",
                method.len()
            ),
            extra: format!("(data (i32.const 1024) \"{method}\")"),
            ..Default::default()
        }
    }

    /// A module exporting one operation per `(name, method)`: `op_<name>`
    /// forwards its payload (and library) to `method` and returns the host's
    /// answer. Pair it with [`router_manifest`].
    pub fn router(routes: &[(&str, &str)]) -> Parts {
        let mut extra = String::new();
        for (i, (name, method)) in routes.iter().enumerate() {
            let at = 1024 + i * 128;
            extra.push_str(&format!(
                "(data (i32.const {at}) \"{method}\") \
                 (func (export \"op_{name}\") (param $p i32) (param $len i32) (param $lib i32) (result i32) \
                 (call $call (i32.const {at}) (i32.const {}) (local.get $lib) (local.get $p) (local.get $len)))",
                method.len()
            ));
        }
        Parts { extra, ..Parts::default() }
    }

    pub fn wasm(&self) -> Vec<u8> {
        wat::parse_str(self.wat()).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{}", self.wat()))
    }
}

/// A manifest for extension `id` that provides `query:<id>.run.v1` (export
/// `op_run`); `perms` is merged into the default permissions.
pub fn manifest(id: &str, perms: Value) -> Value {
    let mut p = json!({
        "methods": ["test.", "vdfs.", "libraries.list", "search."],
        "libraries": ["*"],
        "max_memory_mb": 16,
        "max_cpu_ms_per_call": 300,
    });
    for (k, v) in perms.as_object().into_iter().flatten() {
        p[k] = v.clone();
    }
    json!({
        "id": id, "name": id, "version": "0.1.0", "wasm": "module.wasm",
        "permissions": p,
        "operations": [{ "method": format!("query:{id}.run.v1"), "export": "op_run" }],
    })
}

/// Writes `manifest.json` and `module.wasm` into a fresh folder under `root`.
pub fn write_extension(root: &Path, manifest: &Value, wasm: &[u8]) -> PathBuf {
    let dir = root.join(format!("{}-{}", manifest["id"].as_str().unwrap(), uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec_pretty(manifest).unwrap()).unwrap();
    std::fs::write(dir.join("module.wasm"), wasm).unwrap();
    dir
}

/// The manifest of a [`Parts::router`] module: `query:<id>.<name>.v1` for
/// each route (and `query:<id>.run.v1`, the template's own operation).
pub fn router_manifest(id: &str, perms: Value, routes: &[(&str, &str)]) -> Value {
    let mut m = manifest(id, perms);
    let ops = m["operations"].as_array_mut().unwrap();
    for (name, _) in routes {
        ops.push(json!({ "method": format!("query:{id}.{name}.v1"), "export": format!("op_{name}") }));
    }
    m
}
