//! `extensions.inspect`, `extensions.install`, `extensions.list`,
//! `extensions.info`, `extensions.load`, `extensions.unload`, `extensions.reload`,
//! `extensions.remove`; distribution (keys, packing, indexes) in `packages`.

mod packages;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::OpResult;
use crate::infra::extension::{ExtensionInfo, Inspection, InstallSource};
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope};
use crate::ops::core::NoInput;
use crate::register_operation;

/// Reads and checks an extension without installing it.
pub struct Inspect;

impl Operation for Inspect {
    const METHOD: &'static str = "query:extensions.inspect.v1";
    const DESCRIPTION: &'static str =
        "Read and check an extension without installing it; answers its manifest and consent screen";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Person;
    const EFFECT: Effect = Effect::Read;
    type Input = InstallSource;
    type Output = Inspection;

    async fn execute(ctx: OpContext, input: InstallSource) -> OpResult<Inspection> {
        ctx.core.extensions().inspect_for_consent(&input).await
    }
}
register_operation!(Inspect);

/// Input of `action:extensions.install.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallInput {
    /// Where the extension comes from.
    #[serde(flatten)]
    pub source: InstallSource,
    /// Watch the module file and hot-reload it when it changes (`sd ext dev`).
    #[serde(default)]
    pub watch: bool,
}

/// Installs (or upgrades) an extension and loads it.
pub struct Install;

impl Operation for Install {
    const METHOD: &'static str = "action:extensions.install.input.v1";
    const DESCRIPTION: &'static str = "Install or upgrade an extension and load it (runs plugin_init)";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Person;
    const EFFECT: Effect = Effect::Destructive;
    type Input = InstallInput;
    type Output = ExtensionInfo;

    async fn execute(ctx: OpContext, input: InstallInput) -> OpResult<ExtensionInfo> {
        ctx.core.extensions().install(&input.source, input.watch).await
    }
}
register_operation!(Install);

/// Lists installed extensions.
pub struct List;

impl Operation for List {
    const METHOD: &'static str = "query:extensions.list.v1";
    const DESCRIPTION: &'static str = "List installed extensions with their state and counters";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Any;
    const EFFECT: Effect = Effect::Read;
    type Input = NoInput;
    type Output = Vec<ExtensionInfo>;

    async fn execute(ctx: OpContext, _: NoInput) -> OpResult<Vec<ExtensionInfo>> {
        Ok(ctx.core.extensions().list().await)
    }
}
register_operation!(List);

/// Input naming one extension.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtensionRef {
    /// Extension id.
    pub id: String,
}

/// Operations that take an extension id and answer with its description.
macro_rules! extension_op {
    ($ty:ident, $method:literal, $desc:literal, $audience:ident, $effect:ident, $call:ident) => {
        crate::operation!($ty, $method, $desc, Scope::Core, Audience::$audience, Effect::$effect,
            ExtensionRef => ExtensionInfo, |ctx, input| {
            ctx.core.extensions().$call(&input.id).await
        });
    };
}

extension_op!(
    Info,
    "query:extensions.info.v1",
    "One extension: manifest, state, denials and other counters",
    Any,
    Read,
    info
);
extension_op!(
    Load,
    "action:extensions.load.input.v1",
    "Load an installed extension now (runs plugin_init)",
    Person,
    Write,
    load
);
extension_op!(
    Unload,
    "action:extensions.unload.input.v1",
    "Unload an extension (runs plugin_cleanup); it stays installed",
    Person,
    Write,
    unload
);
extension_op!(
    Reload,
    "action:extensions.reload.input.v1",
    "Restart an extension from its installed module; keeps the old one if that fails",
    Person,
    Write,
    reload
);

/// Output of `action:extensions.remove.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RemoveOutput {
    /// The removed extension.
    pub removed: String,
}

/// Unloads and deletes an extension.
pub struct Remove;

impl Operation for Remove {
    const METHOD: &'static str = "action:extensions.remove.input.v1";
    const DESCRIPTION: &'static str = "Unload (runs plugin_cleanup) and delete an extension";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Person;
    const EFFECT: Effect = Effect::Destructive;
    type Input = ExtensionRef;
    type Output = RemoveOutput;

    async fn execute(ctx: OpContext, input: ExtensionRef) -> OpResult<RemoveOutput> {
        ctx.core.extensions().remove(&input.id).await?;
        Ok(RemoveOutput { removed: input.id })
    }
}
register_operation!(Remove);
