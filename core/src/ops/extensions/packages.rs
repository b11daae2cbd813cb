//! Distribution: signing keys, packing, indexes, search and updates.
//! Installing a package goes through `extensions.inspect` and
//! `extensions.install`, like any other source.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{OpError, OpResult};
use crate::infra::extension::{InstallSource, Outdated};
use crate::infra::package::{Available, Indexes, KeyInfo, Publisher, keys};
use crate::infra::wire::{Audience, Effect, OpContext, Operation, Scope};
use crate::ops::core::NoInput;
use crate::ops::credentials::vault;
use crate::register_operation;

/// Input naming a signing key.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRef {
    /// Key name (lowercase letters, digits, `-`, `_`).
    pub name: String,
}

crate::operation!(
    CreateKey,
    "action:extensions.keys.create.input.v1",
    "Make an Ed25519 key to sign extension packages; its secret stays in the vault",
    Scope::Core,
    Audience::Person,
    Effect::Write,
    KeyRef => KeyInfo,
    |ctx, input| vault(&ctx, move |v| keys::create(v, &input.name)).await
);

crate::operation!(
    ListKeys,
    "query:extensions.keys.list.v1",
    "Signing keys: names and public keys, never secrets",
    Scope::Core,
    Audience::Person,
    Effect::Read,
    NoInput => Vec<KeyInfo>,
    |ctx, _input| vault(&ctx, keys::list).await
);

/// Input of `action:extensions.pack.input.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PackInput {
    /// A folder with `manifest.json`, a crate's folder (with `wasm`, its
    /// built module), or a `.wasm` file.
    pub path: String,
    /// The module file, for a crate.
    #[serde(default)]
    pub wasm: Option<String>,
    /// The signing key's name.
    pub key: String,
    /// File to write, or a folder to write `ID-VERSION.sdpkg` in (absolute).
    pub output: String,
}

/// Output of `action:extensions.pack.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct PackOutput {
    /// The package file written.
    pub output: String,
    /// Extension id.
    pub id: String,
    /// Its version.
    pub version: String,
    /// Package size in bytes.
    pub size: u64,
    /// BLAKE3 of the package file (what an index lists).
    pub blake3: String,
    /// Who signed it.
    pub publisher: Publisher,
}

/// Builds a signed package.
pub struct Pack;

impl Operation for Pack {
    const METHOD: &'static str = "action:extensions.pack.input.v1";
    const DESCRIPTION: &'static str =
        "Check an extension as install would and write it as one package signed with a vault key";
    const SCOPE: Scope = Scope::Core;
    const AUDIENCE: Audience = Audience::Person;
    const EFFECT: Effect = Effect::Write;
    type Input = PackInput;
    type Output = PackOutput;

    async fn execute(ctx: OpContext, input: PackInput) -> OpResult<PackOutput> {
        let mut output = std::path::PathBuf::from(&input.output);
        if !output.is_absolute() {
            return Err(OpError::invalid(format!("output `{}` must be an absolute path", input.output)));
        }
        // `dist/` names a folder, made if missing.
        if input.output.ends_with('/') {
            std::fs::create_dir_all(&output)
                .map_err(|e| OpError::invalid(format!("cannot make folder {}: {e}", output.display())))?;
        }
        let name = input.key.clone();
        let key = vault(&ctx, move |v| keys::signer(v, &name)).await?;
        let src = InstallSource { wasm: input.wasm, ..InstallSource::path(input.path) };
        let (manifest, package) = ctx.core.extensions().pack(&src, &key).await?;
        if output.is_dir() {
            output.push(format!("{}-{}.{}", manifest.id, manifest.version, crate::infra::package::format::EXTENSION));
        }
        let tmp = output.with_extension("sdpkg.tmp");
        std::fs::write(&tmp, &package)
            .and_then(|_| std::fs::rename(&tmp, &output))
            .map_err(|e| OpError::internal(format!("cannot write {}: {e}", output.display())))?;
        Ok(PackOutput {
            output: output.display().to_string(),
            id: manifest.id,
            version: manifest.version,
            size: package.len() as u64,
            blake3: blake3::hash(&package).to_hex().to_string(),
            publisher: Publisher::of(&key.verifying_key()),
        })
    }
}
register_operation!(Pack);

/// Input naming an index.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexRef {
    /// The index's URL (https, or http on this machine).
    pub url: String,
}

/// Output of `action:extensions.indexes.add.input.v1`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct IndexAdded {
    /// The index.
    pub url: String,
    /// How many extensions it lists.
    pub extensions: usize,
}

crate::operation!(
    AddIndex,
    "action:extensions.indexes.add.input.v1",
    "Register an extension index (a JSON file at a URL) after fetching and checking it",
    Scope::Core,
    Audience::Person,
    Effect::Write,
    IndexRef => IndexAdded,
    |ctx, input| {
        let index = Indexes::new(ctx.core.data_dir()).add(&input.url).await?;
        Ok(IndexAdded { url: input.url, extensions: index.extensions.len() })
    }
);

crate::operation!(
    RemoveIndex,
    "action:extensions.indexes.remove.input.v1",
    "Forget a registered extension index",
    Scope::Core,
    Audience::Person,
    Effect::Write,
    IndexRef => IndexRef,
    |ctx, input| {
        Indexes::new(ctx.core.data_dir()).remove(&input.url)?;
        Ok(input)
    }
);

crate::operation!(
    ListIndexes,
    "query:extensions.indexes.list.v1",
    "Registered extension indexes",
    Scope::Core,
    Audience::Person,
    Effect::Read,
    NoInput => Vec<String>,
    |ctx, _input| Indexes::new(ctx.core.data_dir()).urls()
);

/// Input of `query:extensions.search.v1`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchInput {
    /// A word to look for in ids, names and descriptions (empty: all).
    #[serde(default)]
    pub word: String,
}

crate::operation!(
    Search,
    "query:extensions.search.v1",
    "Extensions the registered indexes offer, newest version of each",
    Scope::Core,
    Audience::Person,
    Effect::Read,
    SearchInput => Vec<Available>,
    |ctx, input| Indexes::new(ctx.core.data_dir()).search(&input.word).await
);

crate::operation!(
    ListOutdated,
    "query:extensions.outdated.v1",
    "Installed extensions a registered index offers in a newer version",
    Scope::Core,
    Audience::Person,
    Effect::Read,
    NoInput => Vec<Outdated>,
    |ctx, _input| ctx.core.extensions().outdated().await
);
