//! What every command works with: the backend (daemon or in-process core),
//! the chosen library, output mode, and argument parsing shared by commands.

use std::path::PathBuf;

use sd_core::{OpError, OpResult};
use serde_json::Value;
use uuid::Uuid;

use crate::backend::Backend;
use crate::output;

pub fn parse_json_arg(text: &str) -> OpResult<Value> {
    if text == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        return sd_core::infra::wire::parse_payload(&buf);
    }
    sd_core::infra::wire::parse_payload(text.as_bytes())
}

pub fn parse_pairs(pairs: &[String]) -> OpResult<serde_json::Map<String, Value>> {
    let mut map = serde_json::Map::new();
    for pair in pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| OpError::invalid(format!("`{pair}` is not key=value")))?;
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        map.insert(k.to_string(), value);
    }
    Ok(map)
}

pub struct Ctx {
    pub backend: Backend,
    pub data_dir: PathBuf,
    pub json: bool,
    pub library: Option<String>,
}

impl Ctx {
    pub async fn call(&mut self, method: &str, library: Option<Uuid>, payload: Value) -> OpResult<Value> {
        self.backend.call(method, library, payload, false).await
    }

    pub async fn call_with_progress(&mut self, method: &str, library: Option<Uuid>, payload: Value) -> OpResult<Value> {
        let show = !self.json;
        self.backend.call(method, library, payload, show).await
    }

    pub async fn libraries(&mut self) -> OpResult<Vec<Value>> {
        match self.call("query:libraries.list.v1", None, Value::Null).await? {
            Value::Array(v) => Ok(v),
            _ => Err(OpError::internal("libraries.list returned no list")),
        }
    }

    /// Resolves a library by id or name.
    pub async fn find_library(&mut self, wanted: &str) -> OpResult<Uuid> {
        let libs = self.libraries().await?;
        let hit = libs.iter().find(|l| l["id"].as_str() == Some(wanted) || l["name"].as_str() == Some(wanted));
        hit.and_then(|l| l["id"].as_str()?.parse().ok()).ok_or_else(|| {
            OpError::not_found(format!("no library `{wanted}`; run `sd library list` to see the libraries"))
        })
    }

    /// The library for commands that need one: `--library`, else the only
    /// one, else the one chosen with `sd library use`.
    pub async fn library(&mut self) -> OpResult<Uuid> {
        if let Some(wanted) = self.library.clone() {
            return self.find_library(&wanted).await;
        }
        let libs = self.libraries().await?;
        match libs.len() {
            0 => Err(OpError::not_found("there is no library yet; create one with `sd library create NAME`")),
            1 => libs[0]["id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| OpError::internal("bad library id")),
            _ => {
                let current = output::read_current_library(&self.data_dir);
                match current {
                    Some(id) if libs.iter().any(|l| l["id"].as_str() == Some(&id.to_string())) => Ok(id),
                    _ => Err(OpError::invalid(
                        "there are several libraries: pass `--library ID` or choose one with `sd library use ID`",
                    )),
                }
            }
        }
    }

    pub fn print(&self, value: &Value, human: impl FnOnce(&Value)) {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
        } else {
            human(value);
        }
    }
}
