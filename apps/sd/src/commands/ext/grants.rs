//! Folder grants on the command line: `sd ext grant`, `sd ext revoke`, and
//! the check `sd ext run` makes on a job's `path` before it starts.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use sd_core::{OpError, OpResult};
use serde_json::{Value, json};

use crate::ctx::Ctx;

/// `path` made absolute against this command's folder: the daemon has a
/// folder of its own, so a relative path must not reach it.
pub fn absolute(path: &Path) -> OpResult<String> {
    let abs =
        std::path::absolute(path).map_err(|e| OpError::invalid(format!("cannot resolve {}: {e}", path.display())))?;
    abs.to_str()
        .map(str::to_string)
        .ok_or_else(|| OpError::invalid(format!("{} is not valid UTF-8; rename it", abs.display())))
}

/// The folder a job's `path` needs granted: the path itself, or a file's
/// folder (a grant is always a folder).
fn folder_of(path: &Path) -> PathBuf {
    match path.is_file() {
        true => path.parent().map(Path::to_path_buf).unwrap_or_else(|| path.to_path_buf()),
        false => path.to_path_buf(),
    }
}

/// When a job's input names a `path` on this machine that no grant of
/// `extension` covers: grants its folder with `--grant`, offers to on a
/// terminal, and otherwise stops with the command that grants it, instead
/// of starting a job bound to fail. The input's `path` is made absolute.
pub async fn cover_input_path(ctx: &mut Ctx, extension: &str, input: &mut Value, grant: bool) -> OpResult<()> {
    let Some(asked) = input.get("path").and_then(Value::as_str) else { return Ok(()) };
    if Path::new(asked).is_relative() {
        input["path"] = json!(absolute(Path::new(asked))?);
    }
    let Some(asked) = input["path"].as_str() else { return Ok(()) };
    let Ok(canon) = std::fs::canonicalize(asked) else { return Ok(()) };
    let grants = ctx.call("query:grants.list.v1", None, json!({ "extension": extension })).await?;
    let covered =
        grants.as_array().into_iter().flatten().filter_map(|g| g["path"].as_str()).any(|g| canon.starts_with(g));
    if covered {
        return Ok(());
    }
    let folder = folder_of(&canon);
    let shown = sd_core::vdfs::names::shown(&folder);
    let ask = !grant && !ctx.json && std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if ask {
        eprint!(
            "{extension} has no grant covering {shown}. Let it read and add {shown} and everything below it? [y/N] "
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(OpError::denied(format!("not granted; {extension} may not read {shown}")));
        }
    } else if !grant {
        return Err(OpError::denied(format!(
            "extension `{extension}` has no grant covering {shown}: run `sd ext grant {extension} --path {shown}` first, or pass --grant"
        )));
    }
    let path = absolute(&folder)?;
    ctx.call("action:grants.add.input.v1", None, json!({ "extension": extension, "path": path })).await?;
    if !ctx.json {
        eprintln!("Granted {extension} {shown}; take it back with `sd ext revoke {extension} --path {shown}`.");
    }
    Ok(())
}
