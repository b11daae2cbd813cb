//! `grants.list`, `grants.add`, `grants.revoke`: the folders a person gave
//! each extension. Only people grant and revoke; an extension may list its
//! own grants (to say what it needs before it fails), and nothing more.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Deserialize;

use crate::error::{OpError, OpResult};
use crate::infra::grants::Grant;
use crate::infra::wire::{Audience, Caller, Effect, Scope};

/// Input of `query:grants.list.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListGrantsInput {
    /// Only this extension's grants (default: every extension's; an
    /// extension always gets only its own).
    #[serde(default)]
    pub extension: Option<String>,
}

crate::operation!(
    ListGrants,
    "query:grants.list.v1",
    "The folders granted to extensions (an extension sees only its own)",
    Scope::Core,
    Audience::Any,
    Effect::Read,
    ListGrantsInput => Vec<Grant>,
    |ctx, input| {
        let extension = match (&ctx.caller, input.extension) {
            (Caller::Extension(me), Some(other)) if **me != *other => {
                return Err(OpError::denied(format!("extension `{me}` may list only its own grants, not `{other}`'s")));
            }
            (Caller::Extension(me), _) => Some(me.to_string()),
            (_, wanted) => wanted,
        };
        let core = ctx.core.clone();
        tokio::task::spawn_blocking(move || core.grants().list(extension.as_deref()))
            .await
            .map_err(|e| OpError::internal(format!("grants task failed: {e}")))?
    }
);

/// Input of `action:grants.add.input.v1` and `action:grants.revoke.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    /// The extension.
    pub extension: String,
    /// An absolute folder; links and `..` in it are resolved before it is
    /// stored.
    pub path: String,
}

impl GrantInput {
    fn path(&self) -> OpResult<PathBuf> {
        if self.path.contains('\0') {
            return Err(OpError::invalid("path contains a NUL byte"));
        }
        Ok(PathBuf::from(&self.path))
    }
}

crate::operation!(
    AddGrant,
    "action:grants.add.input.v1",
    "Let an extension read files in a folder and below it, and add them as a location",
    Scope::Core,
    Audience::Person,
    Effect::Write,
    GrantInput => Grant,
    |ctx, input| ctx.core.extensions().grant(&input.extension, &input.path()?).await
);

crate::operation!(
    RevokeGrant,
    "action:grants.revoke.input.v1",
    "Take a folder back from an extension: its next read there is refused; what it stored stays",
    Scope::Core,
    Audience::Person,
    Effect::Write,
    GrantInput => Grant,
    |ctx, input| ctx.core.extensions().revoke(&input.extension, &input.path()?).await
);
