//! `credentials.store`, `credentials.get`, `credentials.list`,
//! `credentials.delete`, `credentials.refresh_oauth`: thin handlers over
//! [`services::vault`](crate::services::vault), scoped to the caller.
//!
//! An extension stores, reads, refreshes and deletes only its own
//! credentials. People file credentials under any owner (`owner`, the CLI's
//! `--for`), list and remove all of them, and are never shown a secret:
//! `get` is for extensions only.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Caller;
use crate::error::{OpError, OpResult};
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope};
use crate::register_operation;
use crate::services::vault::{CredentialInfo, Secret};

/// The owner a call acts on: an extension always itself; a person the
/// owner named, `user` by default.
fn owner_for(caller: &Caller, asked: Option<String>) -> OpResult<String> {
    match caller {
        Caller::Extension(me) => match asked {
            Some(other) if *other != **me => Err(OpError::denied(format!(
                "extension `{me}` may not use credentials of `{other}`: credentials of other owners are for people only"
            ))),
            _ => Ok(me.to_string()),
        },
        _ => Ok(asked.unwrap_or_else(|| "user".to_string())),
    }
}

/// Runs blocking vault work off the async threads.
pub(crate) async fn vault<T: Send + 'static>(
    ctx: &OpContext,
    f: impl FnOnce(&crate::services::vault::Vault) -> OpResult<T> + Send + 'static,
) -> OpResult<T> {
    let v = ctx.core.vault().clone();
    tokio::task::spawn_blocking(move || f(&v))
        .await
        .map_err(|e| OpError::internal(format!("vault task failed: {e}")))?
}

/// Input of `action:credentials.store.input.v1`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreInput {
    /// Name, unique per owner (lowercase letters, digits, `-`, `_`).
    pub name: String,
    /// The secret, by kind: `{"kind": "api_key", "key"}`,
    /// `{"kind": "password", "username", "password"}` or
    /// `{"kind": "oauth2", "access_token", "refresh_token", "expires_at", "token_url", "client_id", ...}`.
    pub secret: Secret,
    /// Extension to file it under (people only; extensions store their own).
    #[serde(default)]
    pub owner: Option<String>,
}

/// Stores or replaces a credential.
pub struct Store;

impl Operation for Store {
    const METHOD: &'static str = "action:credentials.store.input.v1";
    const DESCRIPTION: &'static str = "Store or replace a credential, encrypted at rest (extensions: their own)";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Destructive;
    type Input = StoreInput;
    type Output = CredentialInfo;

    async fn execute(ctx: OpContext, input: StoreInput) -> OpResult<CredentialInfo> {
        let owner = owner_for(&ctx.caller, input.owner)?;
        vault(&ctx, move |v| v.store(&owner, &input.name, &input.secret)).await
    }
}
register_operation!(Store);

/// Input naming one credential.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialRef {
    /// Its name.
    pub name: String,
    /// Its owner (people only; extensions act on their own).
    #[serde(default)]
    pub owner: Option<String>,
}

/// Output of `query:credentials.get.v1`.
#[derive(Serialize, JsonSchema)]
pub struct GetOutput {
    /// What it is.
    pub credential: CredentialInfo,
    /// The secret.
    pub secret: Secret,
    /// Whether an expired OAuth 2 token was refreshed for this call.
    pub refreshed: bool,
}

/// Opens one of the calling extension's credentials.
pub struct Get;

impl Operation for Get {
    const METHOD: &'static str = "query:credentials.get.v1";
    const DESCRIPTION: &'static str =
        "An extension's own credential with its secret, refreshing an expired OAuth 2 token first";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Extension;
    const EFFECT: Effect = Effect::Read;
    type Input = CredentialRef;
    type Output = GetOutput;

    async fn execute(ctx: OpContext, input: CredentialRef) -> OpResult<GetOutput> {
        let owner = owner_for(&ctx.caller, input.owner)?;
        let (credential, secret, refreshed) = ctx.core.vault().fresh(&owner, &input.name).await?;
        Ok(GetOutput { credential, secret, refreshed })
    }
}
register_operation!(Get);

/// Input of `query:credentials.list.v1`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListInput {
    /// Only this owner's (people; extensions see only their own).
    #[serde(default)]
    pub owner: Option<String>,
}

/// Lists credentials without their secrets.
pub struct List;

impl Operation for List {
    const METHOD: &'static str = "query:credentials.list.v1";
    const DESCRIPTION: &'static str = "Credentials: owner, name, kind and expiry, never secrets";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = ListInput;
    type Output = Vec<CredentialInfo>;

    async fn execute(ctx: OpContext, input: ListInput) -> OpResult<Vec<CredentialInfo>> {
        let owner = match &ctx.caller {
            Caller::Extension(_) => Some(owner_for(&ctx.caller, input.owner)?),
            _ => input.owner,
        };
        vault(&ctx, move |v| v.list(owner.as_deref())).await
    }
}
register_operation!(List);

/// Output of `action:credentials.delete.input.v1`.
#[derive(Serialize, Deserialize, JsonSchema)]
pub struct DeleteOutput {
    /// Owner of the deleted credential.
    pub owner: String,
    /// Its name.
    pub removed: String,
}

/// Deletes a credential.
pub struct Delete;

impl Operation for Delete {
    const METHOD: &'static str = "action:credentials.delete.input.v1";
    const DESCRIPTION: &'static str = "Delete a credential (extensions: their own)";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Destructive;
    type Input = CredentialRef;
    type Output = DeleteOutput;

    async fn execute(ctx: OpContext, input: CredentialRef) -> OpResult<DeleteOutput> {
        let owner = owner_for(&ctx.caller, input.owner)?;
        let (o, name) = (owner.clone(), input.name.clone());
        vault(&ctx, move |v| v.delete(&o, &name)).await?;
        Ok(DeleteOutput { owner, removed: input.name })
    }
}
register_operation!(Delete);

/// Refreshes an OAuth 2 credential now.
pub struct RefreshOauth;

impl Operation for RefreshOauth {
    const METHOD: &'static str = "action:credentials.refresh_oauth.input.v1";
    const DESCRIPTION: &'static str = "Refresh an OAuth 2 credential's access token now (extensions: their own)";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Write;
    type Input = CredentialRef;
    type Output = CredentialInfo;

    async fn execute(ctx: OpContext, input: CredentialRef) -> OpResult<CredentialInfo> {
        let owner = owner_for(&ctx.caller, input.owner)?;
        ctx.core.vault().refresh(&owner, &input.name).await
    }
}
register_operation!(RefreshOauth);
