//! The extension manifest: identity, permissions, provided operations and
//! jobs. Read from `manifest.json` or from the module's `spacedrive:manifest`
//! custom section, and validated with errors that name the field.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{OpError, OpResult};
use crate::infra::wire::{Audience, parse_method};
use crate::vdfs::names;

/// Name of the custom section a module may embed its manifest in.
pub const MANIFEST_SECTION: &str = "spacedrive:manifest";
/// Custom section in which the SDK's macros describe the module, one JSON
/// line per item: `{"extension": {...}}` (identity, permissions, events),
/// `{"operation": {"name", "export", "description", "method"?}}`,
/// `{"job": {"name", "export"}}`, `{"event_handler": "<fn>"}`.
pub const PART_SECTION: &str = "spacedrive:manifest.part";
/// Largest manifest accepted, in bytes.
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;

/// Upper bound for `max_memory_mb`.
pub const MAX_MEMORY_MB: u32 = 4096;
/// Upper bound for `max_cpu_ms_per_call`.
pub const MAX_CPU_MS: u32 = 600_000;

/// An extension's manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Unique id; also the extension's metadata namespace and the prefix of
    /// the operations it provides. Lowercase letters, digits, `-`, `_`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Version (semver recommended).
    pub version: String,
    /// One-paragraph description.
    #[serde(default)]
    pub description: String,
    /// Module file, relative to the manifest's folder. Not needed when the
    /// manifest is embedded in the module.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm: Option<String>,
    /// What the extension may do.
    pub permissions: Permissions,
    /// Operations the extension provides.
    #[serde(default)]
    pub operations: Vec<ProvidedOperation>,
    /// Jobs the extension provides.
    #[serde(default)]
    pub jobs: Vec<ProvidedJob>,
    /// Events delivered to its `on_event` export: kinds such as
    /// `entry.created`, or prefixes such as `job.`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<String>,
    /// Views the dashboard draws from its query operations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub views: Vec<super::view::View>,
}

/// The export that receives events.
pub const EVENT_EXPORT: &str = "on_event";

/// Permissions asked for in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Permissions {
    /// Method prefixes the extension may call, matched against the method
    /// name after `query:`/`action:` (so `vdfs.` allows
    /// `action:vdfs.create_entry.input.v1`).
    pub methods: Vec<String>,
    /// Libraries it may use: `"*"` for all, or library UUIDs.
    pub libraries: Vec<String>,
    /// Rate limits.
    #[serde(default)]
    pub rate_limits: RateLimits,
    /// Domains it may reach through the host's network operations.
    #[serde(default)]
    pub network_access: Vec<String>,
    /// Largest HTTP response body, in MiB (default 32).
    #[serde(default = "default_response_mb")]
    pub max_response_mb: u32,
    /// Linear memory limit in MiB (default 64).
    #[serde(default = "default_memory_mb")]
    pub max_memory_mb: u32,
    /// CPU budget of one guest call in milliseconds, not counting time spent
    /// in the host (default 5000).
    #[serde(default = "default_cpu_ms")]
    pub max_cpu_ms_per_call: u32,
}

/// Rate limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RateLimits {
    /// Host calls per minute (bursts up to this many).
    #[serde(default = "default_rpm")]
    pub requests_per_minute: u32,
    /// Jobs of this extension running at once.
    #[serde(default = "default_jobs")]
    pub concurrent_jobs: u32,
    /// HTTP requests per minute through `http.request`.
    #[serde(default = "default_http_rpm")]
    pub http_requests_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            requests_per_minute: default_rpm(),
            concurrent_jobs: default_jobs(),
            http_requests_per_minute: default_http_rpm(),
        }
    }
}

fn default_http_rpm() -> u32 {
    120
}
fn default_response_mb() -> u32 {
    32
}

fn default_memory_mb() -> u32 {
    64
}
fn default_cpu_ms() -> u32 {
    5000
}
fn default_rpm() -> u32 {
    1000
}
fn default_jobs() -> u32 {
    2
}

/// An operation the extension provides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvidedOperation {
    /// Versioned method in the extension's namespace, e.g.
    /// `query:finance.summary.v1` for extension `finance`.
    pub method: String,
    /// Exported guest function handling it.
    pub export: String,
    /// One line for `sd ops`.
    #[serde(default)]
    pub description: String,
    /// JSON Schema of the input (default: anything).
    #[serde(default = "any_schema")]
    pub input_schema: Value,
    /// JSON Schema of the output (default: anything).
    #[serde(default = "any_schema")]
    pub output_schema: Value,
}

fn any_schema() -> Value {
    Value::Bool(true)
}

/// A job the extension provides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProvidedJob {
    /// Job name, unique within the extension.
    pub name: String,
    /// Exported guest function running it.
    pub export: String,
}

fn field_err(field: &str, problem: impl std::fmt::Display) -> OpError {
    OpError::invalid(format!("manifest field `{field}` {problem}"))
}

fn is_export_name(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !s.as_bytes()[0].is_ascii_digit()
}

impl Manifest {
    /// Parses and validates manifest JSON.
    pub fn parse(bytes: &[u8]) -> OpResult<Manifest> {
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(OpError::invalid(format!("manifest is over {MAX_MANIFEST_BYTES} bytes")));
        }
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| OpError::invalid(format!("manifest: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    /// Checks an extension id (also its namespace and the first segment of
    /// its methods): what `validate` checks of `id`, for tools naming a new
    /// extension (`sd ext new`).
    pub fn check_id(id: &str) -> OpResult<()> {
        names::validate_namespace(id).map_err(|e| field_err("id", e.message))?;
        if id == "user" || id == "core" {
            return Err(field_err("id", "may not be `user` or `core`, which are reserved"));
        }
        Ok(())
    }

    /// Checks every field; errors name the field.
    pub fn validate(&self) -> OpResult<()> {
        Self::check_id(&self.id)?;
        if self.name.trim().is_empty() || self.name.len() > 128 {
            return Err(field_err("name", "must be 1-128 bytes"));
        }
        if self.version.is_empty() || self.version.len() > 64 || self.version.chars().any(char::is_whitespace) {
            return Err(field_err("version", "must be 1-64 bytes without spaces, e.g. `0.1.0`"));
        }
        if self.description.len() > 4096 {
            return Err(field_err("description", "must be at most 4096 bytes"));
        }
        if let Some(w) = &self.wasm {
            names::validate_name("module file", w).map_err(|e| field_err("wasm", e.message))?;
        }
        let p = &self.permissions;
        for (i, m) in p.methods.iter().enumerate() {
            let ok = !m.is_empty()
                && m.len() <= 128
                && m.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
            if !ok {
                return Err(field_err(
                    &format!("permissions.methods[{i}]"),
                    format!("`{m}` must be a lowercase method prefix such as `vdfs.` (without `query:`/`action:`)"),
                ));
            }
        }
        for (i, m) in p.methods.iter().enumerate() {
            let reached = super::consent::core_operations_under(m);
            if !reached.is_empty() && reached.iter().all(|e| e.audience == Audience::Person) {
                let names: Vec<&str> = reached.iter().map(|e| e.method).collect();
                return Err(field_err(
                    &format!("permissions.methods[{i}]"),
                    format!(
                        "`{m}` reaches only operations for people ({}), which no extension may call whatever its manifest says; remove it and ask the user to run them",
                        names.join(", ")
                    ),
                ));
            }
        }
        for (i, l) in p.libraries.iter().enumerate() {
            if l != "*" && l.parse::<uuid::Uuid>().is_err() {
                return Err(field_err(
                    &format!("permissions.libraries[{i}]"),
                    format!("`{l}` is neither `*` nor a UUID"),
                ));
            }
        }
        if p.rate_limits.requests_per_minute == 0 || p.rate_limits.requests_per_minute > 100_000_000 {
            return Err(field_err("permissions.rate_limits.requests_per_minute", "must be 1 to 100000000"));
        }
        if p.rate_limits.concurrent_jobs == 0 || p.rate_limits.concurrent_jobs > 64 {
            return Err(field_err("permissions.rate_limits.concurrent_jobs", "must be 1 to 64"));
        }
        for (i, entry) in p.network_access.iter().enumerate() {
            crate::services::net::check_entry(entry)
                .map_err(|why| field_err(&format!("permissions.network_access[{i}]"), why))?;
        }
        if p.max_response_mb == 0 || p.max_response_mb > 1024 {
            return Err(field_err("permissions.max_response_mb", "must be 1 to 1024"));
        }
        if p.rate_limits.http_requests_per_minute == 0 || p.rate_limits.http_requests_per_minute > 100_000 {
            return Err(field_err("permissions.rate_limits.http_requests_per_minute", "must be 1 to 100000"));
        }
        if p.max_memory_mb == 0 || p.max_memory_mb > MAX_MEMORY_MB {
            return Err(field_err("permissions.max_memory_mb", format!("must be 1 to {MAX_MEMORY_MB}")));
        }
        if p.max_cpu_ms_per_call < 10 || p.max_cpu_ms_per_call > MAX_CPU_MS {
            return Err(field_err("permissions.max_cpu_ms_per_call", format!("must be 10 to {MAX_CPU_MS}")));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, op) in self.operations.iter().enumerate() {
            let field = format!("operations[{i}].method");
            let (_, name) = parse_method(&op.method).map_err(|e| field_err(&field, e.message))?;
            if !name.starts_with(&format!("{}.", self.id)) {
                return Err(field_err(
                    &field,
                    format!("`{}` must be in the extension's namespace `{}.`", op.method, self.id),
                ));
            }
            if !seen.insert(op.method.as_str()) {
                return Err(field_err(&field, format!("`{}` is declared twice", op.method)));
            }
            if !is_export_name(&op.export) {
                return Err(field_err(&format!("operations[{i}].export"), "must be an export name like `op_summary`"));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, job) in self.jobs.iter().enumerate() {
            names::validate_kind(&job.name).map_err(|e| field_err(&format!("jobs[{i}].name"), e.message))?;
            if !seen.insert(job.name.as_str()) {
                return Err(field_err(&format!("jobs[{i}].name"), format!("`{}` is declared twice", job.name)));
            }
            if !is_export_name(&job.export) {
                return Err(field_err(&format!("jobs[{i}].export"), "must be an export name like `execute_counter`"));
            }
        }
        for (i, pattern) in self.events.iter().enumerate() {
            crate::infra::event::check_pattern(pattern).map_err(|why| field_err(&format!("events[{i}]"), why))?;
        }
        if self.views.len() > super::view::MAX_VIEWS {
            return Err(field_err("views", format!("has over {} views", super::view::MAX_VIEWS)));
        }
        let methods: Vec<&str> = self.operations.iter().map(|o| o.method.as_str()).collect();
        let mut seen = std::collections::HashSet::new();
        for (i, view) in self.views.iter().enumerate() {
            view.validate(&format!("views[{i}]"), &methods)?;
            if !seen.insert(view.id.as_str()) {
                return Err(field_err(&format!("views[{i}].id"), format!("`{}` is declared twice", view.id)));
            }
        }
        Ok(())
    }

    /// The manifest of a module: `beside` (a `manifest.json` given with
    /// it) when there is one, else the one the module carries, embedded
    /// whole (`spacedrive:manifest`) or assembled from what the SDK's macros
    /// described (`spacedrive:manifest.part`); `None` when there is none.
    /// Whichever it is must declare every operation and job the macros
    /// describe. The module's sections are read once.
    pub fn of_module(wasm: &[u8], beside: Option<Manifest>) -> OpResult<Option<Manifest>> {
        let sections = Sections::read(wasm)?;
        let embedded = match (&sections.written, &sections.parts.extension) {
            (Some(bytes), _) => Some(Manifest::parse(bytes).map_err(|e| e.context("embedded manifest"))?),
            (None, Some(head)) => Some(sections.parts.assemble(head.clone())?),
            (None, None) => None,
        };
        let Some(manifest) = beside.or(embedded) else { return Ok(None) };
        manifest.check_parts(&sections.parts)?;
        Ok(Some(manifest))
    }

    /// `wasm` carrying this manifest: unchanged when it is already the one
    /// the module carries, else with a `spacedrive:manifest` section appended
    /// (the last such section is the one read). A package signs the module,
    /// so a manifest from a `manifest.json` beside it must move inside.
    pub fn embed_in(&self, wasm: &[u8]) -> OpResult<Vec<u8>> {
        use wasm_encoder::Encode;
        let mut manifest = self.clone();
        manifest.wasm = None;
        let mut out = wasm.to_vec();
        if Manifest::of_module(wasm, None)?.as_ref() == Some(&manifest) {
            return Ok(out);
        }
        let data =
            serde_json::to_vec(&manifest).map_err(|e| OpError::internal(format!("cannot encode manifest: {e}")))?;
        out.push(wasm_encoder::SectionId::Custom as u8);
        wasm_encoder::CustomSection { name: MANIFEST_SECTION.into(), data: data.into() }.encode(&mut out);
        Ok(out)
    }

    /// Checks this manifest against what the module's macros say it
    /// defines: every operation and job function must be declared, under the
    /// export the macro generated. Modules without macro descriptions
    /// (other languages) pass.
    fn check_parts(&self, parts: &Parts) -> OpResult<()> {
        for op in &parts.operations {
            if !self.operations.iter().any(|o| o.export == op.export) {
                return Err(OpError::invalid(format!(
                    "the module's #[spacedrive_operation] `{}` (export `{}`) is not declared in the manifest: add an operation with \"export\": \"{}\", or delete manifest.json and let the code declare everything",
                    op.name, op.export, op.export
                )));
            }
        }
        for job in &parts.jobs {
            if !self.jobs.iter().any(|j| j.export == job.export) {
                return Err(OpError::invalid(format!(
                    "the module's #[spacedrive_job] `{}` (export `{}`) is not declared in the manifest: add a job with \"export\": \"{}\"",
                    job.name, job.export, job.export
                )));
            }
        }
        if let Some(handler) = &parts.event_handler
            && self.events.is_empty()
        {
            return Err(OpError::invalid(format!(
                "the module's #[on_event] `{handler}` receives nothing: the manifest subscribes to no `events`"
            )));
        }
        Ok(())
    }
}

/// The manifest sections of a module.
struct Sections {
    written: Option<Vec<u8>>,
    parts: Parts,
}

impl Sections {
    fn read(wasm: &[u8]) -> OpResult<Sections> {
        let mut written = None;
        let mut lines = Vec::new();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            let payload = payload.map_err(|e| OpError::invalid(format!("not a valid WebAssembly module: {e}")))?;
            if let wasmparser::Payload::CustomSection(reader) = payload {
                match reader.name() {
                    MANIFEST_SECTION => written = Some(reader.data().to_vec()),
                    PART_SECTION => lines.extend_from_slice(reader.data()),
                    _ => {}
                }
            }
        }
        if lines.len() > MAX_MANIFEST_BYTES {
            return Err(OpError::invalid(format!(
                "the module's {PART_SECTION} section is over {MAX_MANIFEST_BYTES} bytes"
            )));
        }
        Ok(Sections { written, parts: Parts::parse(&lines)? })
    }
}

/// One line of the part section.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
enum Part {
    Extension(serde_json::Map<String, Value>),
    Operation(PartOperation),
    Job(ProvidedJob),
    EventHandler(String),
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct PartOperation {
    name: String,
    export: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    method: Option<String>,
}

/// What the macros described.
#[derive(Default)]
struct Parts {
    extension: Option<serde_json::Map<String, Value>>,
    operations: Vec<PartOperation>,
    jobs: Vec<ProvidedJob>,
    event_handler: Option<String>,
}

impl Parts {
    fn parse(bytes: &[u8]) -> OpResult<Parts> {
        let mut parts = Parts::default();
        let bad = |e: serde_json::Error| OpError::invalid(format!("the module's {PART_SECTION} section: {e}"));
        for line in bytes.split(|&b| b == b'\n').filter(|l| !l.trim_ascii().is_empty()) {
            match serde_json::from_slice::<Part>(line).map_err(bad)? {
                Part::Extension(head) => {
                    if parts.extension.replace(head).is_some() {
                        return Err(OpError::invalid("the module declares #[extension] twice"));
                    }
                }
                Part::Operation(op) => parts.operations.push(op),
                Part::Job(job) => parts.jobs.push(job),
                Part::EventHandler(name) => parts.event_handler = Some(name),
            }
        }
        Ok(parts)
    }

    /// The manifest of a module whose code declares everything: the
    /// `#[extension]` head with the operations and jobs, validated like a
    /// written one.
    fn assemble(&self, mut head: serde_json::Map<String, Value>) -> OpResult<Manifest> {
        let id = head.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let operations: Vec<Value> = self
            .operations
            .iter()
            .map(|op| {
                let method = op.method.clone().unwrap_or_else(|| format!("query:{id}.{}.v1", op.name));
                serde_json::json!({ "method": method, "export": op.export, "description": op.description })
            })
            .collect();
        head.insert("operations".into(), operations.into());
        head.insert("jobs".into(), serde_json::to_value(&self.jobs).unwrap_or_default());
        let bytes =
            serde_json::to_vec(&head).map_err(|e| OpError::internal(format!("assembling the manifest: {e}")))?;
        Manifest::parse(&bytes).map_err(|e| e.context("the manifest the module's code declares"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "id": "finance", "name": "Finance", "version": "0.1.0",
            "permissions": { "methods": ["vdfs."], "libraries": ["*"] }
        })
    }

    fn parse(v: Value) -> OpResult<Manifest> {
        Manifest::parse(v.to_string().as_bytes())
    }

    #[test]
    fn defaults_apply() {
        let m = parse(base()).unwrap();
        assert_eq!(m.permissions.max_memory_mb, 64);
        assert_eq!(m.permissions.rate_limits.requests_per_minute, 1000);
    }

    #[test]
    fn views_declared_in_code_reach_the_assembled_manifest() {
        let head = |view_op: &str| {
            json!({"extension": {"id": "hello", "name": "Hello", "version": "0.1.0",
                "permissions": {"methods": [], "libraries": []},
                "views": [{"id": "all", "title": "All", "kind": "line_chart", "operation": view_op,
                           "rows": "rows", "x": "day", "y": "count"}]}})
        };
        let op = json!({"operation": {"name": "stats", "export": "op_stats"}});
        let lines = format!("{}\n{op}\n", head("query:hello.stats.v1"));
        let parts = Parts::parse(lines.as_bytes()).unwrap();
        let m = parts.assemble(parts.extension.clone().unwrap()).unwrap();
        assert_eq!(m.views.len(), 1);
        assert_eq!(m.views[0].kind, super::super::view::ViewKind::LineChart);
        let lines = format!("{}\n{op}\n", head("query:hello.other.v1"));
        let parts = Parts::parse(lines.as_bytes()).unwrap();
        let e = parts.assemble(parts.extension.clone().unwrap()).unwrap_err();
        assert!(e.message.contains("views[0].operation"), "{e}");
    }

    #[test]
    fn errors_name_the_field() {
        let cases: Vec<(Value, &str)> = vec![
            (json!({"permissions": {"methods": [], "libraries": [], "root": true}}), "unknown field `root`"),
            (json!({"permissions": {"methods": ["VDFS"], "libraries": []}}), "permissions.methods[0]"),
            (json!({"permissions": {"methods": [], "libraries": ["mine"]}}), "permissions.libraries[0]"),
            (json!({"permissions": {"methods": [], "libraries": [], "max_memory_mb": 0}}), "permissions.max_memory_mb"),
            (
                json!({"permissions": {"methods": [], "libraries": [], "network_access": ["http://x"]}}),
                "network_access[0]",
            ),
            (json!({"id": "Bad Id"}), "`id`"),
            (json!({"id": "user"}), "reserved"),
            (json!({"wasm": "../x.wasm"}), "`wasm`"),
            (json!({"operations": [{"method": "query:vdfs.steal.v1", "export": "x"}]}), "namespace"),
            (json!({"jobs": [{"name": "a", "export": "1bad"}]}), "jobs[0].export"),
            (
                json!({"permissions": {"methods": ["vdfs.", "libraries.remove"], "libraries": []}}),
                "permissions.methods[1]` `libraries.remove` reaches only operations for people",
            ),
            (json!({"permissions": {"methods": ["extensions.install"], "libraries": []}}), "no extension may call"),
        ];
        for (patch, expected) in cases {
            let mut v = base();
            for (k, val) in patch.as_object().unwrap() {
                v[k] = val.clone();
            }
            let err = parse(v.clone()).unwrap_err();
            assert!(err.message.contains(expected), "{v}: {err}");
        }
    }
}
