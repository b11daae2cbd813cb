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

/// Marks the struct implementing `Extension` and generates the module's
/// exports. Reads `manifest.json` beside `Cargo.toml`, checks that its `id`,
/// `name` and `version` match the attribute, and embeds it in the module's
/// `spacedrive:manifest` custom section.
///
/// ```ignore
/// #[extension(id = "hello", name = "Hello", version = "0.1.0")]
/// struct Hello;
/// ```
#[proc_macro_attribute]
pub fn extension(attr: TokenStream, item: TokenStream) -> TokenStream {
    let args = match Punctuated::<MetaNameValue, Token![,]>::parse_terminated.parse(attr) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error().into(),
    };
    let item = match syn::parse::<ItemStruct>(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error().into(),
    };
    let mut fields = std::collections::BTreeMap::new();
    for nv in &args {
        let key = nv.path.get_ident().map(|i| i.to_string()).unwrap_or_default();
        if !["id", "name", "version"].contains(&key.as_str()) {
            return error(Span::call_site(), format!("unknown argument `{key}`; expected id, name, version"));
        }
        match &nv.value {
            Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => {
                fields.insert(key, s.value());
            }
            _ => return error(Span::call_site(), format!("`{key}` must be a string literal")),
        }
    }
    for required in ["id", "name", "version"] {
        if !fields.contains_key(required) {
            return error(Span::call_site(), format!("#[extension] needs `{required} = \"...\"`"));
        }
    }

    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default();
    let path = std::path::Path::new(&dir).join("manifest.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => return error(Span::call_site(), format!("cannot read {}: {e}", path.display())),
    };
    let json: serde_json::Value = match serde_json::from_str(&text) {
        Ok(j) => j,
        Err(e) => return error(Span::call_site(), format!("{} is not valid JSON: {e}", path.display())),
    };
    for (key, want) in &fields {
        if json.get(key).and_then(|v| v.as_str()) != Some(want.as_str()) {
            return error(
                Span::call_site(),
                format!(
                    "manifest.json has {key} = {}, but #[extension] says {want:?}",
                    json.get(key).unwrap_or(&serde_json::Value::Null)
                ),
            );
        }
    }
    let bytes = text.as_bytes();
    let len = bytes.len();
    let path_str = path.display().to_string();
    let name = &item.ident;
    quote! {
        #item

        // Rebuild when the manifest changes.
        const _: &[u8] = include_bytes!(#path_str);

        #[allow(unsafe_code)]
        #[unsafe(link_section = "spacedrive:manifest")]
        #[used]
        static __SPACEDRIVE_MANIFEST: [u8; #len] = [#(#bytes),*];

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
/// handler `op_<name>` of an operation the extension provides (declare it in
/// `manifest.json` under `operations` with `"export": "op_<name>"`).
#[proc_macro_attribute]
pub fn spacedrive_operation(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return error(Span::call_site(), "#[spacedrive_operation] takes no arguments");
    }
    let func = match syn::parse::<ItemFn>(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    if func.sig.inputs.len() != 2 {
        return error(func.sig.ident.span(), "an operation handler takes (ctx: &OperationContext, input: In)");
    }
    let name = &func.sig.ident;
    let export = format_ident!("op_{}", name);
    quote! {
        #func

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn #export(payload_ptr: u32, payload_len: u32, library_ptr: u32) -> u32 {
            ::spacedrive_sdk::__private::operation(payload_ptr, payload_len, library_ptr, #name)
        }
    }
    .into()
}

/// Exports `fn name(ctx: &JobContext, state: &mut State) -> Result<()>` as
/// the job entry point `execute_<name>` (declare it in `manifest.json` under
/// `jobs` with `"export": "execute_<name>"`). The host passes the job's input,
/// or its last checkpoint when resuming; when the job is paused or cancelled
/// (`ctx.check_interrupt()?`), its state is checkpointed on the way out.
#[proc_macro_attribute]
pub fn spacedrive_job(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        return error(Span::call_site(), "#[spacedrive_job] takes no arguments");
    }
    let func = match syn::parse::<ItemFn>(item) {
        Ok(f) => f,
        Err(e) => return e.to_compile_error().into(),
    };
    if func.sig.inputs.len() != 2 {
        return error(func.sig.ident.span(), "a job takes (ctx: &JobContext, state: &mut State)");
    }
    let name = &func.sig.ident;
    let export = format_ident!("execute_{}", name);
    quote! {
        #func

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn #export(job: u32, state_ptr: u32, state_len: u32, library_ptr: u32) -> u32 {
            ::spacedrive_sdk::__private::job(job, state_ptr, state_len, library_ptr, #name)
        }
    }
    .into()
}

/// Exports `fn name(ctx: &OperationContext, event: Event) -> Result<()>` as
/// `on_event`, which the host calls with each event the manifest's `events`
/// subscribes to (`"events": ["entry.created", "job."]`), one at a time, in
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
    quote! {
        #func

        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn on_event(payload_ptr: u32, payload_len: u32, library_ptr: u32) -> u32 {
            ::spacedrive_sdk::__private::operation(payload_ptr, payload_len, library_ptr, #name)
        }
    }
    .into()
}
