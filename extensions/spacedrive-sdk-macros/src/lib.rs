//! Attribute macros of the Spacedrive extension SDK. They generate the
//! ABI v1 exports so that extension code stays free of `unsafe` and FFI.

use proc_macro::TokenStream;
use proc_macro2::Span;
use quote::{format_ident, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, ItemStruct, Lit, MetaNameValue, Token};

fn error(span: Span, msg: impl std::fmt::Display) -> TokenStream {
    syn::Error::new(span, msg).to_compile_error().into()
}

/// Custom section the macros describe the module in, one JSON line per
/// item: the linker concatenates every static placed in it. The host builds
/// the manifest from these lines, or checks a `manifest.json` against them.
const PART_SECTION: &str = "spacedrive:manifest.part";

/// A static holding one line of [`PART_SECTION`].
fn part(json: serde_json::Value, unique: &str) -> proc_macro2::TokenStream {
    let text = format!("{json}\n");
    let bytes = text.as_bytes();
    let len = bytes.len();
    let ident = format_ident!("__SPACEDRIVE_PART_{}", unique.to_uppercase());
    quote! {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code, non_upper_case_globals)]
        #[unsafe(link_section = #PART_SECTION)]
        #[used]
        static #ident: [u8; #len] = [#(#bytes),*];
    }
}

/// The text of an item's doc comments, joined into one line.
fn doc_line(attrs: &[syn::Attribute]) -> String {
    attrs
        .iter()
        .filter(|a| a.path().is_ident("doc"))
        .filter_map(|a| match &a.meta {
            syn::Meta::NameValue(MetaNameValue { value: Expr::Lit(ExprLit { lit: Lit::Str(s), .. }), .. }) => {
                Some(s.value().trim().to_string())
            }
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" ")
        .trim()
        .to_string()
}

/// An attribute argument's value as JSON: a string, an integer, or a list
/// of strings.
fn arg_value(key: &str, value: &Expr) -> Result<serde_json::Value, String> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Ok(serde_json::Value::String(s.value())),
        Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => {
            i.base10_parse::<u64>().map(Into::into).map_err(|e| format!("`{key}`: {e}"))
        }
        Expr::Array(a) => a
            .elems
            .iter()
            .map(|e| match e {
                Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Ok(serde_json::Value::String(s.value())),
                _ => Err(format!("`{key}` must list string literals")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(serde_json::Value::Array),
        _ => Err(format!("`{key}` must be a string, a number or a list of strings")),
    }
}

/// Arguments of the attribute, by name.
fn parse_args(attr: TokenStream) -> Result<Vec<(String, serde_json::Value)>, TokenStream> {
    let args = Punctuated::<MetaNameValue, Token![,]>::parse_terminated
        .parse(attr)
        .map_err(|e| TokenStream::from(e.to_compile_error()))?;
    args.iter()
        .map(|nv| {
            let key = nv.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
            arg_value(&key, &nv.value).map(|v| (key, v)).map_err(|e| error(Span::call_site(), e))
        })
        .collect()
}

/// Marks the struct implementing `Extension` and generates the module's
/// exports. The manifest comes from the code: the attribute names the
/// extension and its permissions, and `#[spacedrive_operation]`,
/// `#[spacedrive_job]` and `#[on_event]` add what they define; the host
/// assembles them from the module's `spacedrive:manifest.part` section.
///
/// ```ignore
/// #[extension(id = "hello", name = "Hello", version = "0.1.0",
///     methods = ["vdfs."], libraries = ["*"], events = ["entry.created"],
///     concurrent_jobs = 1, max_memory_mb = 32, views = "views.json")]
/// struct Hello;
/// ```
///
/// `views` names a JSON file (relative to `Cargo.toml`) holding the array
/// of dashboard views (docs/extensions.md).
///
/// A crate may keep a hand-written `manifest.json` beside `Cargo.toml`
/// instead: then the attribute carries only `id`, `name`, `version` (and
/// `description`), which must match it, the file is embedded whole
/// (`spacedrive:manifest`), and the host checks it against the functions.
#[proc_macro_attribute]
pub fn extension(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let item = match syn::parse::<ItemStruct>(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error().into(),
    };
    const IDENTITY: [&str; 4] = ["id", "name", "version", "description"];
    const PERMISSIONS: [&str; 11] = [
        "methods",
        "libraries",
        "network_access",
        "requests_per_minute",
        "concurrent_jobs",
        "http_requests_per_minute",
        "max_memory_mb",
        "max_cpu_ms_per_call",
        "max_response_mb",
        "events",
        "views",
    ];
    let mut fields = std::collections::BTreeMap::new();
    for (key, value) in args {
        if !IDENTITY.contains(&key.as_str()) && !PERMISSIONS.contains(&key.as_str()) {
            return error(
                Span::call_site(),
                format!(
                    "unknown argument `{key}`; expected one of {}",
                    [&IDENTITY[..], &PERMISSIONS[..]].concat().join(", ")
                ),
            );
        }
        fields.insert(key, value);
    }
    for required in ["id", "name", "version"] {
        if !fields.get(required).is_some_and(|v| v.is_string()) {
            return error(Span::call_site(), format!("#[extension] needs `{required} = \"...\"`"));
        }
    }

    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let path = std::path::Path::new(&dir).join("manifest.json");
    let name = &item.ident;
    let described = match std::fs::read_to_string(&path) {
        // A hand-written manifest.json: it must agree with the attribute,
        // and holds the permissions itself.
        Ok(text) => {
            let json: serde_json::Value = match serde_json::from_str(&text) {
                Ok(j) => j,
                Err(e) => return error(Span::call_site(), format!("{} is not valid JSON: {e}", path.display())),
            };
            for (key, want) in &fields {
                if !IDENTITY.contains(&key.as_str()) {
                    return error(
                        Span::call_site(),
                        format!(
                            "`{key}` is set in #[extension] while {} exists: declare permissions in one place (delete manifest.json to declare everything in code)",
                            path.display()
                        ),
                    );
                }
                if json.get(key) != Some(want) {
                    return error(
                        Span::call_site(),
                        format!(
                            "manifest.json has {key} = {}, but #[extension] says {want}",
                            json.get(key).unwrap_or(&serde_json::Value::Null)
                        ),
                    );
                }
            }
            let bytes = text.as_bytes();
            let len = bytes.len();
            let path_str = path.display().to_string();
            quote! {
                // Rebuild when the manifest changes.
                const _: &[u8] = include_bytes!(#path_str);

                #[allow(unsafe_code)]
                #[unsafe(link_section = "spacedrive:manifest")]
                #[used]
                static __SPACEDRIVE_MANIFEST: [u8; #len] = [#(#bytes),*];
            }
        }
        // No manifest.json: the code is the manifest.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let get = |k: &str| fields.get(k).cloned();
            let mut permissions = serde_json::Map::new();
            let mut limits = serde_json::Map::new();
            for key in PERMISSIONS {
                let Some(v) = get(key) else { continue };
                match key {
                    "events" | "views" => {}
                    "requests_per_minute" | "concurrent_jobs" | "http_requests_per_minute" => {
                        limits.insert(key.to_string(), v);
                    }
                    _ => {
                        permissions.insert(key.to_string(), v);
                    }
                }
            }
            for key in ["methods", "libraries"] {
                permissions.entry(key).or_insert_with(|| serde_json::json!([]));
            }
            if !limits.is_empty() {
                permissions.insert("rate_limits".into(), limits.into());
            }
            let mut head = serde_json::json!({
                "id": get("id"), "name": get("name"), "version": get("version"),
                "permissions": permissions,
            });
            if let Some(d) = get("description") {
                head["description"] = d;
            }
            if let Some(ev) = get("events") {
                head["events"] = ev;
            }
            let mut track = quote! {};
            if let Some(file) = get("views") {
                let Some(file) = file.as_str() else {
                    return error(Span::call_site(), "`views` names a JSON file, e.g. `views = \"views.json\"`");
                };
                let views_path = std::path::Path::new(&dir).join(file);
                let text = match std::fs::read_to_string(&views_path) {
                    Ok(t) => t,
                    Err(e) => return error(Span::call_site(), format!("cannot read {}: {e}", views_path.display())),
                };
                match serde_json::from_str::<serde_json::Value>(&text) {
                    Ok(v) if v.is_array() => head["views"] = v,
                    Ok(_) => {
                        return error(
                            Span::call_site(),
                            format!("{} must hold a JSON array of views", views_path.display()),
                        );
                    }
                    Err(e) => {
                        return error(Span::call_site(), format!("{} is not valid JSON: {e}", views_path.display()));
                    }
                }
                let views_str = views_path.display().to_string();
                // Rebuild when the views change.
                track = quote! { const _: &[u8] = include_bytes!(#views_str); };
            }
            let described = part(serde_json::json!({ "extension": head }), "extension");
            quote! { #track #described }
        }
        Err(e) => return error(Span::call_site(), format!("cannot read {}: {e}", path.display())),
    };
    quote! {
        #item

        #described

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn spacedrive_abi_version() -> i32 {
            ::spacedrive_sdk::ABI_VERSION
        }

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn wasm_alloc(size: u32) -> u32 {
            ::spacedrive_sdk::__private::alloc(size)
        }

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn wasm_free(ptr: u32, size: u32) {
            ::spacedrive_sdk::__private::free(ptr, size)
        }

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn plugin_init() -> i32 {
            ::spacedrive_sdk::__private::init::<#name>()
        }

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn plugin_cleanup() -> i32 {
            ::spacedrive_sdk::__private::cleanup::<#name>()
        }
    }
    .into()
}

/// Exports `fn name(ctx: &OperationContext, input: In) -> Result<Out>` as the
/// handler `op_<name>` of the operation `query:<id>.<name>.v1` (or the
/// `method = "..."` given), described by the function's doc comment.
#[proc_macro_attribute]
pub fn spacedrive_operation(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let func = match syn::parse::<ItemFn>(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    if func.sig.inputs.len() != 2 {
        return error(func.sig.ident.span(), "an operation handler takes (ctx: &OperationContext, input: In)");
    }
    let name = &func.sig.ident;
    let export = format_ident!("op_{}", name);
    let mut op = serde_json::json!({
        "name": name.to_string(), "export": export.to_string(), "description": doc_line(&func.attrs),
    });
    for (key, value) in args {
        if key != "method" || !value.is_string() {
            return error(Span::call_site(), "#[spacedrive_operation] takes only `method = \"query:<id>.<name>.v1\"`");
        }
        op["method"] = value;
    }
    let described = part(serde_json::json!({ "operation": op }), &export.to_string());
    quote! {
        #func

        #described

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn #export(payload_ptr: u32, payload_len: u32, library_ptr: u32) -> u32 {
            ::spacedrive_sdk::__private::operation(payload_ptr, payload_len, library_ptr, #name)
        }
    }
    .into()
}

/// Exports `fn name(ctx: &JobContext, state: &mut State) -> Result<()>` as
/// the job entry point `execute_<name>` of the job `<name>` (or the
/// `name = "..."` given). The host passes the job's input,
/// or its last checkpoint when resuming; when the job is paused or cancelled
/// (`ctx.check_interrupt()?`), its state is checkpointed on the way out.
#[proc_macro_attribute]
pub fn spacedrive_job(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match parse_args(attr) {
        Ok(a) => a,
        Err(e) => return e,
    };
    let func = match syn::parse::<ItemFn>(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    if func.sig.inputs.len() != 2 {
        return error(func.sig.ident.span(), "a job takes (ctx: &JobContext, state: &mut State)");
    }
    let name = &func.sig.ident;
    let export = format_ident!("execute_{}", name);
    let mut job = serde_json::json!({ "name": name.to_string(), "export": export.to_string() });
    for (key, value) in args {
        if key != "name" || !value.is_string() {
            return error(
                Span::call_site(),
                "#[spacedrive_job] takes only `name = \"...\"` (default: the function's name)",
            );
        }
        job["name"] = value;
    }
    let described = part(serde_json::json!({ "job": job }), &export.to_string());
    quote! {
        #func

        #described

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn #export(job: u32, state_ptr: u32, state_len: u32, library_ptr: u32) -> u32 {
            ::spacedrive_sdk::__private::job(job, state_ptr, state_len, library_ptr, #name)
        }
    }
    .into()
}

/// Exports `fn name(ctx: &OperationContext, event: Event) -> Result<()>` as
/// `on_event`, which the host calls with each event `#[extension(events =
/// [...])]` subscribes to (`["entry.created", "entry."]`), one at a time, in
/// order, with the event's library bound to `ctx`.
#[proc_macro_attribute]
pub fn on_event(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return error(Span::call_site(), "#[on_event] takes no arguments");
    }
    let func = match syn::parse::<ItemFn>(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    if func.sig.inputs.len() != 2 {
        return error(func.sig.ident.span(), "an event handler takes (ctx: &OperationContext, event: Event)");
    }
    let name = &func.sig.ident;
    let described = part(serde_json::json!({ "event_handler": name.to_string() }), "on_event");
    quote! {
        #func

        #described

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn on_event(payload_ptr: u32, payload_len: u32, library_ptr: u32) -> u32 {
            ::spacedrive_sdk::__private::operation(payload_ptr, payload_len, library_ptr, #name)
        }
    }
    .into()
}
