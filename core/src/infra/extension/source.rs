//! Where an installation comes from, and reading it: a folder or a crate's
//! build on this machine, a package or module file, a URL, or an extension
//! named in a registered index. Packages are verified here; whether an
//! unsigned module may be installed is decided by the manager.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::manifest::{MAX_MANIFEST_BYTES, Manifest};
use crate::error::{OpError, OpResult};
use crate::infra::package::{self, Publisher};

/// Largest module accepted, in bytes.
pub const MAX_MODULE_BYTES: usize = 64 * 1024 * 1024;
/// Largest package accepted: a module and a small header.
pub const MAX_PACKAGE_BYTES: usize = MAX_MODULE_BYTES + 4096;
pub(super) const MANIFEST_FILE: &str = "manifest.json";

/// Where an installation comes from: exactly one of `path`, `url` or `name`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InstallSource {
    /// A package (`.sdpkg`); a `.wasm` file with an embedded manifest or a
    /// `manifest.json` beside it; or a folder with `manifest.json` (whose
    /// `wasm` names the module).
    #[serde(default)]
    pub path: Option<String>,
    /// The module file, overriding the manifest's `wasm` (used for cargo
    /// extensions, whose module lies in cargo's target folder).
    #[serde(default)]
    pub wasm: Option<String>,
    /// An https URL of a package (plain http only from this machine).
    #[serde(default)]
    pub url: Option<String>,
    /// An extension from a registered index: `ID` (its newest version) or
    /// `ID@VERSION`.
    #[serde(default)]
    pub name: Option<String>,
    /// Install a module nobody signed (a `.wasm` file or URL). Folders and
    /// crates built on this machine need no signature.
    #[serde(default)]
    pub allow_unsigned: bool,
    /// Install a version older than the one installed.
    #[serde(default)]
    pub allow_downgrade: bool,
    /// BLAKE3 of the module the person reviewed (`module_blake3` from
    /// `extensions.inspect`): anything else is refused, so what a URL serves
    /// cannot change between the consent screen and the install.
    #[serde(default)]
    pub expect_blake3: Option<String>,
}

/// How an installation arrived, as the consent screen names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Origin {
    /// A folder or crate on this machine, built or placed here by the person.
    Local {
        /// The folder or file.
        path: String,
    },
    /// A package or module file.
    File {
        /// The file.
        path: String,
    },
    /// Downloaded.
    Url {
        /// Where from.
        url: String,
    },
    /// From a registered index.
    Index {
        /// The index.
        index: String,
        /// The package's URL.
        url: String,
    },
}

impl Origin {
    /// Whether the person made or placed it here themselves, so that no
    /// signature is asked of it.
    pub fn is_local(&self) -> bool {
        matches!(self, Origin::Local { .. })
    }
}

/// An installation read and, if a package, verified.
pub(super) struct Fetched {
    pub manifest: Manifest,
    pub wasm: Vec<u8>,
    /// The module file, for sources on disk (what `sd ext dev` watches).
    pub wasm_path: Option<PathBuf>,
    /// Who signed it, if anyone.
    pub publisher: Option<Publisher>,
    pub origin: Origin,
}

/// Reads at most `max` bytes of `path`, refusing a larger file.
pub(super) fn read_bounded(path: &Path, max: usize, what: &str) -> OpResult<Vec<u8>> {
    let meta = std::fs::metadata(path)
        .map_err(|e| OpError::not_found(format!("cannot read {what} {}: {e}", path.display())))?;
    if meta.len() > max as u64 {
        return Err(OpError::exhausted(format!(
            "{what} {} is {} bytes, over the {max}-byte limit",
            path.display(),
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| OpError::not_found(format!("cannot read {what} {}: {e}", path.display())))
}

impl InstallSource {
    /// A source on disk (a folder, a module or a package).
    pub fn path(path: impl Into<String>) -> InstallSource {
        InstallSource { path: Some(path.into()), ..Default::default() }
    }

    /// Reads the manifest and module this source names, downloading and
    /// verifying packages.
    /// `data_dir` holds the registered indexes.
    pub(super) async fn fetch(&self, data_dir: &Path) -> OpResult<Fetched> {
        match (&self.path, &self.url, &self.name) {
            (Some(p), None, None) => self.read_path(Path::new(p)),
            (None, Some(url), None) => {
                let bytes = package::fetch::download(url, MAX_PACKAGE_BYTES, "package").await?;
                unpack(&bytes, Origin::Url { url: url.clone() }, url, None)
            }
            (None, None, Some(name)) => {
                let (id, version) = match name.split_once('@') {
                    Some((id, v)) => (id, Some(v)),
                    None => (name.as_str(), None),
                };
                let found = package::Indexes::new(data_dir).resolve(id, version).await?;
                let max = found.size.map_or(MAX_PACKAGE_BYTES, |s| (s as usize).min(MAX_PACKAGE_BYTES));
                let bytes = package::fetch::download(&found.url, max, "package").await?;
                let hash = blake3::hash(&bytes).to_hex().to_string();
                if hash != found.blake3 {
                    return Err(OpError::invalid(format!(
                        "the package at {} has BLAKE3 {hash}, but the index {} says {}; it was not installed",
                        found.url, found.index, found.blake3
                    )));
                }
                let fetched = unpack(
                    &bytes,
                    Origin::Index { index: found.index.clone(), url: found.url.clone() },
                    &found.url,
                    None,
                )?;
                match &fetched.publisher {
                    Some(p) if p.key == found.publisher.key => {}
                    Some(p) => {
                        return Err(OpError::denied(format!(
                            "the package at {} is signed by {}, but the index {} names publisher {}; it was not installed",
                            found.url, p.fingerprint, found.index, found.publisher.fingerprint
                        )));
                    }
                    None => {
                        return Err(OpError::denied(format!(
                            "the package at {} is not signed, though the index {} names publisher {}",
                            found.url, found.index, found.publisher.fingerprint
                        )));
                    }
                }
                if fetched.manifest.id != found.id || fetched.manifest.version != found.version {
                    return Err(OpError::invalid(format!(
                        "the index lists {}@{} at {}, but the package there is {}@{}",
                        found.id, found.version, found.url, fetched.manifest.id, fetched.manifest.version
                    )));
                }
                Ok(fetched)
            }
            _ => Err(OpError::invalid("name exactly one of `path`, `url` or `name` (an index's ID or ID@VERSION)")),
        }
    }

    fn read_path(&self, path: &Path) -> OpResult<Fetched> {
        if path.is_file() && self.wasm.is_none() {
            let bytes = read_bounded(path, MAX_PACKAGE_BYTES, "extension file")?;
            let shown = path.display().to_string();
            let beside = path.with_file_name(MANIFEST_FILE);
            let beside = if beside.is_file() { Some(read_manifest(&beside)?) } else { None };
            let mut fetched = unpack(&bytes, Origin::File { path: shown.clone() }, &shown, beside)?;
            fetched.wasm_path = Some(path.to_path_buf());
            return Ok(fetched);
        }
        if !path.is_dir() {
            return Err(OpError::not_found(format!("{} is neither a folder nor a file", path.display())));
        }
        let folder_manifest = match path.join(MANIFEST_FILE).is_file() {
            true => Some(read_manifest(&path.join(MANIFEST_FILE))?),
            false => None,
        };
        let wasm_path = match (&self.wasm, &folder_manifest) {
            (Some(w), _) => PathBuf::from(w),
            (None, Some(m)) => match &m.wasm {
                Some(w) => path.join(w),
                None => {
                    return Err(OpError::invalid(format!(
                        "{} names no module: set its `wasm` field, or install the .wasm file",
                        path.join(MANIFEST_FILE).display()
                    )));
                }
            },
            (None, None) => {
                return Err(OpError::invalid(format!(
                    "nothing to install at {}: give a package or .wasm file, or a folder whose manifest.json names its module",
                    path.display()
                )));
            }
        };
        let wasm = read_bounded(&wasm_path, MAX_MODULE_BYTES, "module")?;
        let manifest = of_module(&wasm, folder_manifest, &wasm_path.display().to_string())?;
        let origin = Origin::Local { path: path.display().to_string() };
        Ok(Fetched { manifest, wasm, wasm_path: Some(wasm_path), publisher: None, origin })
    }
}

/// Reads a package file as install reads one (size bounded, signature
/// verified, manifest embedded): its bytes, its manifest and its publisher.
pub(crate) fn read_package(path: &Path) -> OpResult<(Vec<u8>, Manifest, Option<Publisher>)> {
    let bytes = read_bounded(path, MAX_PACKAGE_BYTES, "extension file")?;
    let shown = path.display().to_string();
    let Fetched { manifest, publisher, .. } = unpack(&bytes, Origin::File { path: shown.clone() }, &shown, None)?;
    Ok((bytes, manifest, publisher))
}

fn read_manifest(path: &Path) -> OpResult<Manifest> {
    Manifest::parse(&read_bounded(path, MAX_MANIFEST_BYTES, "manifest")?).map_err(|e| e.context(path.display()))
}

fn of_module(wasm: &[u8], beside: Option<Manifest>, shown: &str) -> OpResult<Manifest> {
    Manifest::of_module(wasm, beside)?.ok_or_else(|| {
        OpError::invalid(format!(
            "{shown} has no manifest: none embedded (the SDK's #[extension] embeds one) and no manifest.json beside it"
        ))
    })
}

/// Opens a package or module file's bytes. A bare module may have its
/// manifest `beside` it; a package's is the one it signs.
fn unpack(bytes: &[u8], origin: Origin, shown: &str, beside: Option<Manifest>) -> OpResult<Fetched> {
    let contents = package::format::open(bytes).map_err(|e| e.context(shown))?;
    if contents.module().len() > MAX_MODULE_BYTES {
        return Err(OpError::exhausted(format!("the module in {shown} is over the {MAX_MODULE_BYTES}-byte limit")));
    }
    let publisher = contents.publisher().cloned();
    let wasm = contents.module().to_vec();
    let beside = if publisher.is_none() { beside } else { None };
    let manifest = of_module(&wasm, beside, shown)?;
    Ok(Fetched { manifest, wasm, wasm_path: None, publisher, origin })
}
