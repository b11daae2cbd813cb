//! `libraries.create`, `libraries.list`, `libraries.remove`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::OpResult;
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope};
use crate::library::LibraryInfo;
use crate::ops::core::NoInput;
use crate::register_operation;

/// Input of `action:libraries.create.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLibraryInput {
    /// Display name, unique among libraries.
    pub name: String,
}

/// Creates a library.
pub struct CreateLibrary;

impl Operation for CreateLibrary {
    const METHOD: &'static str = "action:libraries.create.input.v1";
    const DESCRIPTION: &'static str = "Create a library";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Person;
    const EFFECT: Effect = Effect::Write;
    type Input = CreateLibraryInput;
    type Output = LibraryInfo;

    async fn execute(ctx: OpContext, input: CreateLibraryInput) -> OpResult<LibraryInfo> {
        ctx.core.libraries().create(&input.name).await?.info().await
    }
}
register_operation!(CreateLibrary);

/// Lists libraries.
pub struct ListLibraries;

impl Operation for ListLibraries {
    const METHOD: &'static str = "query:libraries.list.v1";
    const DESCRIPTION: &'static str = "List libraries";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = NoInput;
    type Output = Vec<LibraryInfo>;

    async fn execute(ctx: OpContext, _: NoInput) -> OpResult<Vec<LibraryInfo>> {
        let mut out = Vec::new();
        for lib in ctx.core.libraries().list().await {
            // An extension sees only the libraries its manifest grants.
            if let crate::Caller::Extension(_) = &ctx.caller
                && !crate::infra::extension::current_call_may_use(lib.id())
            {
                continue;
            }
            out.push(lib.info().await?);
        }
        Ok(out)
    }
}
register_operation!(ListLibraries);

/// Input of `action:libraries.remove.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoveLibraryInput {
    /// Library to delete, with its database and sidecars.
    pub id: Uuid,
}

/// Output of `action:libraries.remove.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RemoveLibraryOutput {
    /// The removed library.
    pub removed: Uuid,
}

/// Deletes a library.
pub struct RemoveLibrary;

impl Operation for RemoveLibrary {
    const METHOD: &'static str = "action:libraries.remove.input.v1";
    const DESCRIPTION: &'static str = "Delete a library with its database and sidecars";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Person;
    const EFFECT: Effect = Effect::Destructive;
    type Input = RemoveLibraryInput;
    type Output = RemoveLibraryOutput;

    async fn execute(ctx: OpContext, input: RemoveLibraryInput) -> OpResult<RemoveLibraryOutput> {
        ctx.core.libraries().remove(input.id).await?;
        Ok(RemoveLibraryOutput { removed: input.id })
    }
}
register_operation!(RemoveLibrary);
