//! Extension indexes: static JSON files, served from anywhere, that list
//! extensions with their versions, package URLs, BLAKE3 hashes and
//! publisher keys (format in docs/extensions.md). The indexes a person
//! registered are kept in `<data dir>/indexes.json`.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::fetch;
use super::format::Publisher;
use crate::error::{OpError, OpResult};

/// Largest index accepted.
pub const MAX_INDEX_BYTES: usize = 4 * 1024 * 1024;
/// File of registered indexes, in the data dir.
const INDEXES_FILE: &str = "indexes.json";

/// An index file.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Index {
    /// Format version; 1.
    pub format: u32,
    /// What it lists.
    pub extensions: Vec<IndexEntry>,
}

/// One extension in an index.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexEntry {
    /// Extension id (as in its manifest).
    pub id: String,
    /// Display name.
    pub name: String,
    /// One line about it.
    #[serde(default)]
    pub description: String,
    /// Publisher's Ed25519 public key, 64 hex digits: every package must be
    /// signed with it.
    pub publisher: String,
    /// Versions offered.
    pub versions: Vec<IndexVersion>,
}

/// One version of an extension in an index.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexVersion {
    /// Version (as in its manifest).
    pub version: String,
    /// The package, absolute or relative to the index's URL.
    pub url: String,
    /// BLAKE3 of the package file, 64 hex digits.
    pub blake3: String,
    /// Size of the package file in bytes, if given.
    #[serde(default)]
    pub size: Option<u64>,
}

/// A version found in a registered index, with what installing it needs.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Available {
    /// The index that lists it.
    pub index: String,
    /// Extension id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// One line about it.
    pub description: String,
    /// Who must have signed it.
    pub publisher: Publisher,
    /// This version.
    pub version: String,
    /// Every version offered, newest first.
    pub versions: Vec<String>,
    /// The package's absolute URL.
    pub url: String,
    /// BLAKE3 of the package file.
    pub blake3: String,
    /// Size of the package file, if given.
    pub size: Option<u64>,
}

/// Orders two versions by semver; versions that are not semver compare
/// only as equal or not.
pub fn compare_versions(a: &str, b: &str) -> Option<Ordering> {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => Some(a.cmp(&b)),
        _ if a == b => Some(Ordering::Equal),
        _ => None,
    }
}

impl Index {
    /// Parses and checks an index; errors say what is wrong where.
    pub fn parse(bytes: &[u8], url: &str) -> OpResult<Index> {
        let index: Index = serde_json::from_slice(bytes)
            .map_err(|e| OpError::invalid(format!("the index at {url} is not an extension index: {e}")))?;
        if index.format != 1 {
            return Err(OpError::invalid(format!(
                "the index at {url} is format {}; this version reads format 1",
                index.format
            )));
        }
        for e in &index.extensions {
            let at = |what: String| OpError::invalid(format!("the index at {url}, extension `{}`: {what}", e.id));
            crate::infra::extension::Manifest::check_id(&e.id).map_err(|err| at(err.message))?;
            Publisher::parse(&e.publisher).map_err(|err| at(err.message))?;
            if e.versions.is_empty() {
                return Err(at("lists no version".to_string()));
            }
            for v in &e.versions {
                if v.blake3.len() != 64 || !v.blake3.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(at(format!("version {}: `blake3` must be 64 hex digits", v.version)));
                }
                join(url, &v.url).map_err(|err| at(format!("version {}: {}", v.version, err.message)))?;
            }
        }
        Ok(index)
    }
}

/// Writes `dir/index.json` listing every package (`.sdpkg`) in `dir` by
/// file name, each read as install reads it (signature, embedded manifest):
/// a publisher serves the folder as it is. Returns the file and the index.
pub fn build_in(dir: &Path) -> OpResult<(PathBuf, Index)> {
    let listing = std::fs::read_dir(dir).map_err(|e| OpError::not_found(format!("{}: {e}", dir.display())))?;
    let mut files: Vec<PathBuf> = listing
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == super::format::EXTENSION))
        .collect();
    files.sort();
    let mut extensions: Vec<IndexEntry> = Vec::new();
    for file in &files {
        let shown = file.display();
        let (bytes, manifest, publisher) = crate::infra::extension::read_package(file)?;
        let Some(publisher) = publisher else {
            return Err(OpError::invalid(format!("{shown} is a bare module, not a signed package")));
        };
        let version = IndexVersion {
            version: manifest.version.clone(),
            url: file.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string(),
            blake3: blake3::hash(&bytes).to_hex().to_string(),
            size: Some(bytes.len() as u64),
        };
        match extensions.iter_mut().find(|e| e.id == manifest.id) {
            Some(e) if e.publisher != publisher.key => {
                return Err(OpError::invalid(format!(
                    "{shown} is `{}` signed by {}, but another package of it is signed by another key; one index lists one publisher per extension",
                    manifest.id, publisher.fingerprint
                )));
            }
            Some(e) => e.versions.push(version),
            None => extensions.push(IndexEntry {
                id: manifest.id,
                name: manifest.name,
                description: manifest.description,
                publisher: publisher.key,
                versions: vec![version],
            }),
        }
    }
    if extensions.is_empty() {
        return Err(OpError::not_found(format!(
            "no package (.sdpkg) in {}; make one with `sd ext pack`",
            dir.display()
        )));
    }
    let index = Index { format: 1, extensions };
    let path = dir.join("index.json");
    let text = serde_json::to_vec_pretty(&index).map_err(|e| OpError::internal(e.to_string()))?;
    std::fs::write(&path, text).map_err(|e| OpError::internal(format!("cannot write {}: {e}", path.display())))?;
    Ok((path, index))
}

/// `url` resolved against the index's URL.
fn join(index_url: &str, url: &str) -> OpResult<String> {
    let base = url::Url::parse(index_url).map_err(|e| OpError::invalid(format!("`{index_url}`: {e}")))?;
    let joined = base.join(url).map_err(|e| OpError::invalid(format!("package URL `{url}`: {e}")))?;
    Ok(joined.to_string())
}

/// The versions of `entry`, newest first.
fn newest_first(entry: &IndexEntry) -> Vec<&IndexVersion> {
    let mut versions: Vec<&IndexVersion> = entry.versions.iter().collect();
    versions.sort_by(|a, b| compare_versions(&b.version, &a.version).unwrap_or(Ordering::Equal));
    versions
}

fn available(index_url: &str, entry: &IndexEntry, v: &IndexVersion) -> OpResult<Available> {
    Ok(Available {
        index: index_url.to_string(),
        id: entry.id.clone(),
        name: entry.name.clone(),
        description: entry.description.clone(),
        publisher: Publisher::parse(&entry.publisher)?,
        version: v.version.clone(),
        versions: newest_first(entry).iter().map(|v| v.version.clone()).collect(),
        url: join(index_url, &v.url)?,
        blake3: v.blake3.to_ascii_lowercase(),
        size: v.size,
    })
}

/// The indexes a person registered, and what they list.
pub struct Indexes {
    path: PathBuf,
}

#[derive(Default, Serialize, Deserialize)]
struct Registered {
    indexes: Vec<String>,
}

impl Indexes {
    /// The indexes registered in `data_dir`.
    pub fn new(data_dir: &Path) -> Indexes {
        Indexes { path: data_dir.join(INDEXES_FILE) }
    }

    /// Registered index URLs, in the order added.
    pub fn urls(&self) -> OpResult<Vec<String>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice::<Registered>(&bytes).map(|r| r.indexes).map_err(|e| {
                OpError::internal(format!("{} is not readable ({e}); fix or delete it", self.path.display()))
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(OpError::internal(format!("cannot read {}: {e}", self.path.display()))),
        }
    }

    fn save(&self, urls: Vec<String>) -> OpResult<()> {
        let bytes = serde_json::to_vec_pretty(&Registered { indexes: urls })
            .map_err(|e| OpError::internal(format!("cannot encode the index list: {e}")))?;
        let tmp = self.path.with_extension("json.tmp");
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &self.path))
            .map_err(|e| OpError::internal(format!("cannot write {}: {e}", self.path.display())))
    }

    /// Fetches and checks the index at `url`, then registers it.
    pub async fn add(&self, url: &str) -> OpResult<Index> {
        let index = fetch_index(url).await?;
        let mut urls = self.urls()?;
        if !urls.iter().any(|u| u == url) {
            urls.push(url.to_string());
            self.save(urls)?;
        }
        Ok(index)
    }

    /// Forgets the index at `url`.
    pub fn remove(&self, url: &str) -> OpResult<()> {
        let mut urls = self.urls()?;
        let before = urls.len();
        urls.retain(|u| u != url);
        if urls.len() == before {
            return Err(OpError::not_found(format!("no index `{url}` is registered; see `sd ext index list`")));
        }
        self.save(urls)
    }

    /// Every registered index, fetched now, in the order added. One that
    /// cannot be fetched is skipped (and logged) while another answers.
    pub async fn fetch(&self) -> OpResult<Catalog> {
        let urls = self.urls()?;
        if urls.is_empty() {
            return Err(OpError::not_found("no extension index is registered; add one with `sd ext index add URL`"));
        }
        let mut indexes = Vec::with_capacity(urls.len());
        let mut first_error = None;
        for url in urls {
            match fetch_index(&url).await {
                Ok(index) => indexes.push((url, index)),
                Err(e) => {
                    tracing::warn!(index = %url, error = %e, "extension index skipped");
                    first_error.get_or_insert(e);
                }
            }
        }
        match (indexes.is_empty(), first_error) {
            (true, Some(e)) => Err(e),
            _ => Ok(Catalog { indexes }),
        }
    }

    /// [`Catalog::search`] over the indexes fetched now.
    pub async fn search(&self, word: &str) -> OpResult<Vec<Available>> {
        self.fetch().await?.search(word)
    }

    /// [`Catalog::resolve`] over the indexes fetched now.
    pub async fn resolve(&self, id: &str, version: Option<&str>) -> OpResult<Available> {
        self.fetch().await?.resolve(id, version)
    }
}

/// The registered indexes as fetched at one moment.
pub struct Catalog {
    indexes: Vec<(String, Index)>,
}

impl Catalog {
    /// The newest version of each extension whose id, name or description
    /// holds `word` (every extension for an empty word).
    pub fn search(&self, word: &str) -> OpResult<Vec<Available>> {
        let word = word.to_lowercase();
        let mut out: Vec<Available> = Vec::new();
        for (url, index) in &self.indexes {
            for e in &index.extensions {
                let hay = format!("{} {} {}", e.id, e.name, e.description).to_lowercase();
                if !hay.contains(&word) || out.iter().any(|a| a.id == e.id) {
                    continue;
                }
                if let Some(v) = newest_first(e).first() {
                    out.push(available(url, e, v)?);
                }
            }
        }
        Ok(out)
    }

    /// Extension `id` at `version` (the newest when `None`), from the first
    /// registered index that lists it.
    pub fn resolve(&self, id: &str, version: Option<&str>) -> OpResult<Available> {
        for (url, index) in &self.indexes {
            let Some(entry) = index.extensions.iter().find(|e| e.id == id) else { continue };
            let versions = newest_first(entry);
            let chosen = match version {
                None => versions.first().copied(),
                Some(v) => versions.iter().copied().find(|x| x.version == v),
            };
            return match chosen {
                Some(v) => available(url, entry, v),
                None => Err(OpError::not_found(format!(
                    "{url} lists `{id}` at {}, not at {}",
                    versions.iter().map(|v| v.version.as_str()).collect::<Vec<_>>().join(", "),
                    version.unwrap_or("any version")
                ))),
            };
        }
        Err(OpError::not_found(format!("no registered index lists `{id}`; try `sd ext search`")))
    }
}

async fn fetch_index(url: &str) -> OpResult<Index> {
    let bytes = fetch::download(url, MAX_INDEX_BYTES, "index").await?;
    Index::parse(&bytes, url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_by_semver_and_otherwise_only_match() {
        assert_eq!(compare_versions("0.10.0", "0.9.1"), Some(Ordering::Greater));
        assert_eq!(compare_versions("1.0.0-beta", "1.0.0"), Some(Ordering::Less));
        assert_eq!(compare_versions("2024a", "2024a"), Some(Ordering::Equal));
        assert_eq!(compare_versions("2024a", "2024b"), None);
    }

    #[test]
    fn an_index_with_a_bad_hash_or_key_is_refused_whole() {
        let good = |blake3: &str, publisher: &str| {
            serde_json::json!({ "format": 1, "extensions": [{ "id": "hello", "name": "Hello", "publisher": publisher,
                "versions": [{ "version": "1.0.0", "url": "hello.sdpkg", "blake3": blake3 }] }] })
            .to_string()
        };
        let real =
            super::super::format::hex(ed25519_dalek::SigningKey::from_bytes(&[3; 32]).verifying_key().as_bytes());
        let ok = Index::parse(good(&"ab".repeat(32), &real).as_bytes(), "https://x.test/i.json").unwrap();
        let a = available("https://x.test/dir/i.json", &ok.extensions[0], &ok.extensions[0].versions[0]).unwrap();
        assert_eq!(a.url, "https://x.test/dir/hello.sdpkg");
        assert!(Index::parse(good("abc", &real).as_bytes(), "u").is_err());
        assert!(Index::parse(good(&"ab".repeat(32), "12ab").as_bytes(), "u").is_err());
    }
}
