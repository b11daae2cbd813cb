//! ABI v1 between the host and a guest module (see `docs/extension-abi.md`):
//! the imports the host offers, the exports it requires, and checks of a
//! module against both before it is instantiated.

use wasmtime::{ExternType, Module, ValType};

use crate::error::{OpError, OpResult};

/// The ABI version this host speaks; guests export
/// `spacedrive_abi_version() -> i32` returning it.
pub const ABI_VERSION: i32 = 1;
/// Import module name.
pub const IMPORT_MODULE: &str = "spacedrive";

/// Job host functions return this when the call was accepted.
pub const JOB_OK: i32 = 0;
/// No job with this handle runs in this instance.
pub const JOB_NO_SUCH_JOB: i32 = -1;
/// A pointer or length was out of bounds, or text was not UTF-8.
pub const JOB_BAD_ARGUMENT: i32 = -2;
/// The data was over its size limit.
pub const JOB_TOO_LARGE: i32 = -3;
/// The host could not store the data (e.g. the database failed).
pub const JOB_FAILED: i32 = -4;

/// In a negative answer of `spacedrive_invoke`: the block holds an error
/// (`{code, message}`), not the result.
pub const INVOKE_ERROR_BIT: i64 = 1 << 32;

use ValType::{F32, I32, I64};

/// Every function the host offers: name, parameters, results.
pub const IMPORTS: &[(&str, &[ValType], &[ValType])] = &[
    ("spacedrive_call", &[I32, I32, I32, I32, I32], &[I32]),
    ("spacedrive_call_buf", &[I32, I32, I32, I32, I32, I32, I32], &[I64]),
    ("spacedrive_invoke", &[I32, I32, I32, I32, I32, I32, I32], &[I64]),
    ("spacedrive_log", &[I32, I32, I32], &[]),
    ("job_report_progress", &[I32, F32, I32, I32], &[I32]),
    ("job_checkpoint", &[I32, I32, I32], &[I32]),
    ("job_check_interrupt", &[I32], &[I32]),
    ("job_add_warning", &[I32, I32, I32], &[I32]),
    ("job_increment_bytes", &[I32, I64], &[I32]),
    ("job_increment_items", &[I32, I64], &[I32]),
];

/// Functions every guest must export: name, parameters, results.
pub const REQUIRED_EXPORTS: &[(&str, &[ValType], &[ValType])] = &[
    ("spacedrive_abi_version", &[], &[I32]),
    ("wasm_alloc", &[I32], &[I32]),
    ("wasm_free", &[I32, I32], &[]),
    ("plugin_init", &[], &[I32]),
    ("plugin_cleanup", &[], &[I32]),
];

/// Signature of an operation handler export:
/// `(payload_ptr, payload_len, library_id_ptr) -> result_ptr`.
pub const OPERATION_EXPORT: (&[ValType], &[ValType]) = (&[I32, I32, I32], &[I32]);

/// Signature of a job export:
/// `(job_handle, state_ptr, state_len, library_id_ptr) -> result_ptr`.
pub const JOB_EXPORT: (&[ValType], &[ValType]) = (&[I32, I32, I32, I32], &[I32]);

/// The handle a job export receives; the only one valid in its instance.
pub const JOB_HANDLE: u32 = 1;

fn sig(params: &[ValType], results: &[ValType]) -> String {
    let list = |v: &[ValType]| v.iter().map(|t| t.to_string()).collect::<Vec<_>>().join(", ");
    format!("({}) -> ({})", list(params), list(results))
}

fn matches(ty: &wasmtime::FuncType, params: &[ValType], results: &[ValType]) -> bool {
    let eq = |a: ValType, b: &ValType| ValType::eq(&a, b);
    ty.params().len() == params.len()
        && ty.results().len() == results.len()
        && ty.params().zip(params).all(|(a, b)| eq(a, b))
        && ty.results().zip(results).all(|(a, b)| eq(a, b))
}

/// Checks that `module` imports only what the host offers (with matching
/// types), exports memory and the required functions, and that each export
/// in `handlers` has the operation-handler signature and each in `jobs` the
/// job signature. Handlers and jobs come as (export, what declares it in the
/// manifest), so a mismatch names both sides.
pub fn check_module(module: &Module, handlers: &[(&str, String)], jobs: &[(&str, String)]) -> OpResult<()> {
    for import in module.imports() {
        let offered = IMPORTS.iter().find(|(n, _, _)| import.module() == IMPORT_MODULE && *n == import.name());
        match (offered, import.ty()) {
            (Some((name, params, results)), ExternType::Func(ty)) => {
                if !matches(&ty, params, results) {
                    return Err(OpError::invalid(format!(
                        "module imports `{IMPORT_MODULE}.{name}` with type {ty}, but ABI v1 defines it as {}",
                        sig(params, results)
                    )));
                }
            }
            _ => {
                let offered: Vec<_> = IMPORTS.iter().map(|(n, _, _)| format!("{IMPORT_MODULE}.{n}")).collect();
                return Err(OpError::invalid(format!(
                    "module imports `{}.{}`, which the host does not provide; the host provides {}",
                    import.module(),
                    import.name(),
                    offered.join(", ")
                )));
            }
        }
    }
    match module.get_export("memory") {
        Some(ExternType::Memory(m)) if !m.is_64() && !m.is_shared() => {}
        _ => return Err(OpError::invalid("module must export a 32-bit, unshared linear memory named `memory`")),
    }
    let mut missing = Vec::new();
    let check_fn =
        |name: &str, why: &str, params: &[ValType], results: &[ValType], missing: &mut Vec<String>| match module
            .get_export(name)
        {
            Some(ExternType::Func(ty)) if matches(&ty, params, results) => Ok(()),
            Some(ExternType::Func(ty)) => Err(OpError::invalid(format!(
                "export `{name}` ({why}) has type {ty}, but ABI v1 requires {}",
                sig(params, results)
            ))),
            _ => {
                missing.push(format!("`{name}` {} ({why})", sig(params, results)));
                Ok(())
            }
        };
    for (name, params, results) in REQUIRED_EXPORTS {
        check_fn(name, "required of every module", params, results, &mut missing)?;
    }
    for (name, why) in handlers {
        check_fn(name, why, OPERATION_EXPORT.0, OPERATION_EXPORT.1, &mut missing)?;
    }
    for (name, why) in jobs {
        check_fn(name, why, JOB_EXPORT.0, JOB_EXPORT.1, &mut missing)?;
    }
    if !missing.is_empty() {
        // What the module does export, so a misspelt name is easy to see.
        let declared: Vec<&str> = handlers.iter().chain(jobs).map(|(n, _)| *n).collect();
        let undeclared: Vec<String> = module
            .exports()
            .filter(|e| matches!(e.ty(), ExternType::Func(_)))
            .map(|e| e.name())
            .filter(|n| (n.starts_with("op_") || n.starts_with("execute_")) && !declared.contains(n))
            .map(|n| format!("`{n}`"))
            .collect();
        let exports = if undeclared.is_empty() {
            String::new()
        } else {
            format!("; it exports {}, which manifest.json does not declare", undeclared.join(", "))
        };
        return Err(OpError::invalid(format!(
            "module does not export {}{exports}; make manifest.json and the module agree (the SDK's macros generate the exports; see docs/extension-abi.md)",
            missing.join(", ")
        )));
    }
    Ok(())
}
