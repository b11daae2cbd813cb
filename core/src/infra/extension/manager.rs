//! Installing, loading, reloading and calling extensions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock, Weak};
use std::time::SystemTime;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{Mutex, RwLock};
use uuid::Uuid;
use wasmtime::{InstancePre, Module};

use super::abi;
use super::host::{self, HostState};
use super::instance::Instance;
use super::manifest::{Manifest, Permissions, ProvidedJob, ProvidedOperation};
use super::permissions::{Guard, Stats, StatsSnapshot, TickClock};
use super::runtime::Runtime;
use super::source::{Fetched, InstallSource, MANIFEST_FILE, MAX_MODULE_BYTES, Origin, read_bounded};
use crate::Core;
use crate::error::{OpError, OpResult};
use crate::infra::package::{Publisher, compare_versions};
use crate::infra::wire::{Answer, Form, Payload};
use crate::vdfs::format_ns;

/// The module's BLAKE3 hash, written at install.
const HASH_FILE: &str = "module.blake3";
const MODULE_FILE: &str = "module.wasm";
/// The publisher an installation is pinned to, written at its first signed
/// install (see `vet`).
const PUBLISHER_FILE: &str = "publisher.json";

/// Load state of an installed extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum ExtensionState {
    /// Instantiated and initialised.
    Loaded,
    /// Installed; loaded on first use.
    Installed,
    /// Loading failed; the detail says why.
    Failed(String),
}

/// What `extensions.list` and `extensions.info` show.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct ExtensionInfo {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Description.
    pub description: String,
    /// Load state.
    #[serde(flatten)]
    pub state: ExtensionState,
    /// Permissions granted at installation.
    pub permissions: Permissions,
    /// What those permissions reach today, in the consent screen's words.
    pub consent: super::consent::Consent,
    /// Operations it provides.
    pub operations: Vec<ProvidedOperation>,
    /// Jobs it provides.
    pub jobs: Vec<ProvidedJob>,
    /// Views it declares for the dashboard.
    pub views: Vec<super::view::View>,
    /// BLAKE3 of the module.
    pub module_hash: String,
    /// Module size in bytes.
    pub module_size: u64,
    /// When it was (re)loaded, if loaded.
    pub loaded_at: Option<String>,
    /// Source file watched for changes (`sd ext dev`), if any.
    pub watching: Option<String>,
    /// Outcome of the last hot reload, if any.
    pub last_reload: Option<String>,
    /// Counters since the host started.
    pub stats: StatsSnapshot,
    /// The publisher it is pinned to (from its first signed install); `None`
    /// if it was installed unsigned.
    pub publisher: Option<Publisher>,
}

/// An extension read from an install source, with its consent screen.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Inspection {
    /// The manifest, validated.
    pub manifest: Manifest,
    /// What installing it would grant.
    pub consent: super::consent::Consent,
    /// Who signed it; `None` for an unsigned module or a local build.
    pub publisher: Option<Publisher>,
    /// Where it comes from.
    pub origin: Origin,
    /// BLAKE3 of the module; give it to the install as `expect_blake3`.
    pub module_blake3: String,
}

/// An installed extension with a newer version in a registered index.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct Outdated {
    /// Extension id.
    pub id: String,
    /// Version installed.
    pub installed: String,
    /// The newest version offered.
    pub available: crate::infra::package::Available,
    /// The publisher the installation is pinned to, if any.
    pub pinned: Option<Publisher>,
    /// Whether the index names another publisher than the pinned one: the
    /// update would be refused.
    pub other_publisher: bool,
}

/// A loaded extension.
struct Loaded {
    manifest: Manifest,
    guard: Arc<Guard>,
    /// The compiled module with its imports resolved: each fresh instance
    /// skips the linker's lookups.
    pre: InstancePre<HostState>,
    instance: Mutex<Option<Instance>>,
    loaded_at: SystemTime,
    /// Its event delivery loop, stopped when it is unloaded.
    delivery: Option<tokio::task::AbortHandle>,
}

impl Drop for Loaded {
    fn drop(&mut self) {
        if let Some(d) = &self.delivery {
            d.abort();
        }
    }
}

/// Installed extensions and the live instances of those in use.
pub struct ExtensionManager {
    dir: PathBuf,
    pub(super) core: Weak<Core>,
    runtime: OnceLock<(Arc<Runtime>, wasmtime::Linker<HostState>)>,
    loaded: RwLock<HashMap<String, Arc<Loaded>>>,
    failed: std::sync::Mutex<HashMap<String, String>>,
    stats: std::sync::Mutex<HashMap<String, Arc<Stats>>>,
    /// One lock per extension id, serialising its install, load and removal.
    /// Per id, not global: an extension's `plugin_init` may call operations
    /// of another extension, which then loads under its own lock.
    id_locks: std::sync::Mutex<HashMap<String, Arc<Mutex<()>>>>,
    watchers: std::sync::Mutex<HashMap<String, (PathBuf, notify::RecommendedWatcher)>>,
    reloads: std::sync::Mutex<HashMap<String, String>>,
    /// Whether loaded extensions get their events (see `events.rs`).
    pub(super) delivering: std::sync::atomic::AtomicBool,
}

impl ExtensionManager {
    /// A manager for extensions installed under `dir`.
    pub fn new(dir: PathBuf, core: Weak<Core>) -> Self {
        Self {
            dir,
            core,
            runtime: OnceLock::new(),
            loaded: Default::default(),
            failed: Default::default(),
            stats: Default::default(),
            id_locks: Default::default(),
            watchers: Default::default(),
            reloads: Default::default(),
            delivering: Default::default(),
        }
    }

    fn runtime(&self) -> OpResult<&(Arc<Runtime>, wasmtime::Linker<HostState>)> {
        if let Some(r) = self.runtime.get() {
            return Ok(r);
        }
        let runtime = Arc::new(Runtime::new(&self.dir.join(".cache"))?);
        let linker = host::linker(runtime.engine())?;
        Ok(self.runtime.get_or_init(|| (runtime, linker)))
    }

    /// Counts an HTTP request refused for extension `id`.
    pub fn note_network_refusal(&self, id: &str, error: &OpError) {
        let stats = self.stats_for(id);
        stats.network_refused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        stats.set_last_error(error.to_string());
    }

    /// Modules loaded from the compiled-module cache, and compiled, so far.
    pub fn cache_stats(&self) -> (usize, usize) {
        self.runtime.get().map(|(r, _)| r.cache_stats()).unwrap_or((0, 0))
    }

    fn id_lock(&self, id: &str) -> Arc<Mutex<()>> {
        let mut locks = self.id_locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(id.to_string()).or_default().clone()
    }

    /// The counters of extension `id`, kept across reloads.
    pub(super) fn stats_for(&self, id: &str) -> Arc<Stats> {
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        stats.entry(id.to_string()).or_default().clone()
    }

    /// Reads, verifies and checks an install source without installing it,
    /// refusing what `install` would refuse.
    async fn inspect(&self, src: &InstallSource) -> OpResult<Fetched> {
        let fetched = src.fetch(&self.data_dir()).await?;
        self.vet(&fetched, src)?;
        self.compile(&fetched.manifest, &fetched.wasm)?;
        Ok(fetched)
    }

    /// Packs the extension `src` names (a folder, crate build or module on
    /// this machine), checked as install would, signed with `key`.
    pub async fn pack(&self, src: &InstallSource, key: &ed25519_dalek::SigningKey) -> OpResult<(Manifest, Vec<u8>)> {
        if src.path.is_none() {
            return Err(OpError::invalid("pack takes a folder, crate or module on this machine (`path`)"));
        }
        let fetched = src.fetch(&self.data_dir()).await?;
        let wasm = fetched.manifest.embed_in(&fetched.wasm)?;
        let manifest = Manifest::of_module(&wasm, None)?
            .ok_or_else(|| OpError::internal("the module lost its manifest while being packed"))?;
        self.compile(&manifest, &wasm)?;
        Ok((manifest, crate::infra::package::format::pack(&wasm, key)))
    }

    /// Installed extensions that a registered index offers in a newer
    /// version.
    pub async fn outdated(&self) -> OpResult<Vec<Outdated>> {
        let catalog = crate::infra::package::Indexes::new(&self.data_dir()).fetch().await?;
        let mut out = Vec::new();
        for id in self.installed_ids() {
            let Ok(installed) = self.installed_manifest(&id) else { continue };
            let available = match catalog.resolve(&id, None) {
                Ok(a) => a,
                Err(e) if e.code == crate::error::ErrorCode::NotFound => continue,
                Err(e) => return Err(e),
            };
            if compare_versions(&available.version, &installed.version) != Some(std::cmp::Ordering::Greater) {
                continue;
            }
            let pinned = self.pinned(&id)?;
            let other_publisher = pinned.as_ref().is_some_and(|p| p.key != available.publisher.key);
            out.push(Outdated { id, installed: installed.version, available, pinned, other_publisher });
        }
        Ok(out)
    }

    fn data_dir(&self) -> PathBuf {
        match self.core.upgrade() {
            Some(core) => core.data_dir().to_path_buf(),
            None => self.dir.parent().map(Path::to_path_buf).unwrap_or_else(|| self.dir.clone()),
        }
    }

    /// The publisher installed extension `id` is pinned to. A pin that
    /// cannot be read is an error, never "no pin".
    fn pinned(&self, id: &str) -> OpResult<Option<Publisher>> {
        let path = self.installed_dir(id)?.join(PUBLISHER_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let unreadable = |why: String| {
            OpError::internal(format!(
                "the publisher pin of `{id}` ({}) is unreadable ({why}); remove and reinstall `{id}`",
                path.display()
            ))
        };
        let bytes = read_bounded(&path, 4096, "publisher pin").map_err(|e| unreadable(e.message))?;
        serde_json::from_slice(&bytes).map(Some).map_err(|e| unreadable(e.to_string()))
    }

    /// What no installation may do, whatever the person agrees to: an
    /// unsigned module from elsewhere (unless allowed), a publisher other
    /// than the one pinned, a downgrade (unless allowed).
    fn vet(&self, fetched: &Fetched, src: &InstallSource) -> OpResult<()> {
        let id = &fetched.manifest.id;
        if fetched.publisher.is_none() && !fetched.origin.is_local() && !src.allow_unsigned {
            return Err(OpError::denied(format!(
                "`{id}` is unsigned: nothing says who made it or that it arrived unchanged. \
                 Install it only if you trust where it came from, with --allow-unsigned (`allow_unsigned`)"
            )));
        }
        if !self.is_installed(id) {
            return Ok(());
        }
        if let Some(pin) = self.pinned(id)? {
            let now = match &fetched.publisher {
                Some(p) if p.key == pin.key => None,
                Some(p) => Some(format!("signed by publisher {}", p.fingerprint)),
                None => Some("unsigned".to_string()),
            };
            if let Some(now) = now {
                return Err(OpError::denied(format!(
                    "`{id}` is pinned to publisher {}, who signed the installed version; this one is {now}. \
                     It was not installed. If you trust the new publisher, remove `{id}` first (`sd ext remove {id}`)",
                    pin.fingerprint
                )));
            }
        }
        if let Ok(installed) = self.installed_manifest(id)
            && compare_versions(&fetched.manifest.version, &installed.version) == Some(std::cmp::Ordering::Less)
            && !src.allow_downgrade
        {
            return Err(OpError::conflict(format!(
                "`{id}` {} is installed and {} is older; run again with --allow-downgrade (`allow_downgrade`) to install it",
                installed.version, fetched.manifest.version
            )));
        }
        Ok(())
    }

    fn compile(&self, manifest: &Manifest, wasm: &[u8]) -> OpResult<Module> {
        let (runtime, _) = self.runtime()?;
        let module = Module::new(runtime.engine(), wasm)
            // One line: the parser's message spreads byte arrays over many.
            .map_err(|e| {
                let msg = format!("{e:#}").split_whitespace().collect::<Vec<_>>().join(" ");
                OpError::invalid(format!("not a valid WebAssembly module: {msg}"))
            })?;
        let mut handlers: Vec<(&str, String)> = manifest
            .operations
            .iter()
            .map(|o| (o.export.as_str(), format!("declared by operation `{}` in manifest.json", o.method)))
            .collect();
        if !manifest.events.is_empty() {
            handlers.push((super::manifest::EVENT_EXPORT, "declared by `events` in manifest.json".to_string()));
        }
        let jobs: Vec<(&str, String)> = manifest
            .jobs
            .iter()
            .map(|j| (j.export.as_str(), format!("declared by job `{}` in manifest.json", j.name)))
            .collect();
        abi::check_module(&module, &handlers, &jobs)?;
        Ok(module)
    }

    /// Compiles, instantiates and initialises an extension; nothing is
    /// registered yet.
    async fn start(&self, manifest: Manifest, wasm: &[u8]) -> OpResult<Arc<Loaded>> {
        let module = self.compile(&manifest, wasm)?;
        let (runtime, linker) = self.runtime()?;
        let pre = linker
            .instantiate_pre(&module)
            .map_err(|e| OpError::invalid(format!("the module's imports cannot be linked: {e}")))?;
        let guard = Arc::new(Guard::new(&manifest.id, &manifest.permissions, TickClock::new(runtime.clock())));
        let stats = self.stats_for(&manifest.id);
        let mut instance =
            Instance::new(runtime, &pre, &manifest, self.core.clone(), guard.clone(), stats, true).await?;
        instance.init().await.map_err(|e| e.context(format!("extension `{}` was not loaded", manifest.id)))?;
        let delivery = self.spawn_delivery(&manifest, &guard);
        self.publish_lifecycle("extension.loaded", &manifest.id, &manifest.version).await;
        Ok(Arc::new(Loaded {
            manifest,
            guard,
            pre,
            instance: Mutex::new(Some(instance)),
            loaded_at: SystemTime::now(),
            delivery,
        }))
    }

    /// A fresh instance of an installed extension, in its own store, sharing
    /// nothing with the others (what each job runs in). `plugin_init` is not
    /// called.
    pub async fn instantiate(&self, id: &str) -> OpResult<Instance> {
        let loaded = self.get(id).await?;
        self.fresh_instance(id, &loaded).await
    }

    async fn fresh_instance(&self, id: &str, loaded: &Loaded) -> OpResult<Instance> {
        let (runtime, _) = self.runtime()?;
        let (core, guard, stats) = (self.core.clone(), loaded.guard.clone(), self.stats_for(id));
        Instance::new(runtime, &loaded.pre, &loaded.manifest, core, guard, stats, false).await
    }

    async fn stop(&self, loaded: Arc<Loaded>) {
        if let Some(d) = &loaded.delivery {
            d.abort();
        }
        self.publish_lifecycle("extension.unloaded", &loaded.manifest.id, &loaded.manifest.version).await;
        let mut slot = loaded.instance.lock().await;
        if let Some(mut inst) = slot.take()
            && let Err(e) = inst.cleanup().await
        {
            tracing::warn!(extension = %loaded.manifest.id, error = %e, "plugin_cleanup failed");
        }
    }

    fn installed_dir(&self, id: &str) -> OpResult<PathBuf> {
        crate::vdfs::names::validate_namespace(id)?;
        Ok(self.dir.join(id))
    }

    /// Installs (or upgrades) an extension and loads it. An extension whose
    /// `plugin_init` fails is not installed.
    pub async fn install(&self, src: &InstallSource, watch: bool) -> OpResult<ExtensionInfo> {
        let fetched = src.fetch(&self.data_dir()).await?;
        let Fetched { manifest, wasm, wasm_path, publisher, .. } = &fetched;
        let id = manifest.id.clone();
        // Hashed once: checked against the review, then stored.
        let module_hash = blake3::hash(wasm).to_hex();
        if let Some(expected) = &src.expect_blake3
            && module_hash.as_str() != expected.to_ascii_lowercase()
        {
            return Err(OpError::conflict(format!(
                "`{id}` changed since it was reviewed (its module's BLAKE3 is not {expected}); nothing was installed. Review it again"
            )));
        }
        let watched = match (watch, wasm_path) {
            (false, _) => None,
            (true, Some(p)) => Some(p.clone()),
            (true, None) => return Err(OpError::invalid("only a module or folder on disk can be watched")),
        };
        {
            let lock = self.id_lock(&id);
            let _life = lock.lock().await;
            // Under the lock: two installs of one id are vetted in turn.
            self.vet(&fetched, src)?;
            // The pin of a first signed install; an upgrade keeps the one
            // `vet` compared it with.
            let pin = self.pinned(&id)?.or_else(|| publisher.clone());
            // A first install holds no grant, whatever an earlier
            // installation of the same id held (its removal may have been
            // cut short): a person grants folders to what they installed.
            if !self.is_installed(&id)
                && let Some(core) = self.core.upgrade()
            {
                core.grants().remove_all(&id)?;
            }
            // Before it loads: its delivery loop starts from here, not from
            // the start of history.
            self.start_cursors(&id).await;
            let loaded = self.start(manifest.clone(), wasm).await?;
            let dest = self.installed_dir(&id)?;
            let tmp = self.dir.join(format!(".install-{id}-{}", Uuid::new_v4()));
            let write = || -> std::io::Result<()> {
                std::fs::create_dir_all(&tmp)?;
                let mut stored = manifest.clone();
                stored.wasm = Some(MODULE_FILE.to_string());
                std::fs::write(tmp.join(MODULE_FILE), wasm)?;
                // Hashed once here, not on every `info`.
                std::fs::write(tmp.join(HASH_FILE), module_hash.as_bytes())?;
                if let Some(pin) = &pin {
                    std::fs::write(tmp.join(PUBLISHER_FILE), serde_json::to_vec_pretty(pin).unwrap_or_default())?;
                }
                std::fs::write(tmp.join(MANIFEST_FILE), serde_json::to_vec_pretty(&stored).unwrap_or_default())?;
                if !dest.exists() {
                    return std::fs::rename(&tmp, &dest);
                }
                // An upgrade swaps the folders in one step, so another
                // process reading the installation (a CLI call while
                // `sd ext dev` reloads) never finds it missing; the old
                // version, now at `tmp`, is deleted after. Where the file
                // system cannot swap, it is replaced in two steps.
                let flags = rustix::fs::RenameFlags::EXCHANGE;
                match rustix::fs::renameat_with(rustix::fs::CWD, &tmp, rustix::fs::CWD, &dest, flags) {
                    Ok(()) => {
                        // The upgrade is in place; an old copy left behind
                        // is hidden (a dot folder) and never loaded.
                        if let Err(e) = std::fs::remove_dir_all(&tmp) {
                            tracing::warn!(extension = %id, error = %e, "could not delete the replaced version");
                        }
                        Ok(())
                    }
                    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                        std::fs::remove_dir_all(&dest)?;
                        std::fs::rename(&tmp, &dest)
                    }
                    Err(e) => Err(e.into()),
                }
            };
            if let Err(e) = write() {
                let _ = std::fs::remove_dir_all(&tmp);
                self.stop(loaded).await;
                return Err(OpError::internal(format!("cannot store extension `{id}`: {e}")));
            }
            let old = self.loaded.write().await.insert(id.clone(), loaded);
            if let Some(old) = old {
                self.stop(old).await;
            }
            self.failed.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            // An upgrade's `concurrent_jobs` applies to queued jobs at once.
            if let Some(core) = self.core.upgrade() {
                core.jobs().set_owner_limit(&id, manifest.permissions.rate_limits.concurrent_jobs as usize);
            }
        }
        if let Some(path) = watched {
            self.watch(&id, src.clone(), path)?;
        }
        self.info(&id).await
    }

    /// Whether an extension `id` is installed (its manifest is in place).
    fn is_installed(&self, id: &str) -> bool {
        self.installed_dir(id).is_ok_and(|d| d.join(MANIFEST_FILE).is_file())
    }

    /// The installed manifest of `id`.
    fn installed_manifest(&self, id: &str) -> OpResult<Manifest> {
        let path = self.installed_dir(id)?.join(MANIFEST_FILE);
        if !path.is_file() {
            return Err(OpError::not_found(format!("no extension `{id}` is installed; run `sd ext list`")));
        }
        Manifest::parse(&read_bounded(&path, super::manifest::MAX_MANIFEST_BYTES, "manifest")?)
    }

    /// The installed manifest of extension `id`.
    pub fn manifest(&self, id: &str) -> OpResult<Manifest> {
        self.installed_manifest(id)
    }

    /// Whether installing `manifest` would grant more than the installed
    /// version of the same extension holds.
    fn asks_for_more(&self, manifest: &Manifest) -> bool {
        self.installed_manifest(&manifest.id)
            .is_ok_and(|old| super::consent::Upgrade::between(&old, &manifest.permissions).asks_for_more)
    }

    /// What `sd ext install` shows before asking for consent: the manifest
    /// read from `src` (checked as install would), and what it asks for.
    pub async fn inspect_for_consent(&self, src: &InstallSource) -> OpResult<Inspection> {
        let Fetched { manifest, publisher, origin, wasm, .. } = self.inspect(src).await?;
        let installed = self.installed_manifest(&manifest.id).ok();
        let consent = self.consent(&manifest, installed.as_ref()).await;
        let module_blake3 = blake3::hash(&wasm).to_hex().to_string();
        Ok(Inspection { manifest, consent, publisher, origin, module_blake3 })
    }

    /// The consent screen for `manifest`, as an upgrade of `installed`.
    /// Only an installed extension holds grants; a module being inspected
    /// for a first install holds none.
    async fn consent(&self, manifest: &Manifest, installed: Option<&Manifest>) -> super::consent::Consent {
        let mut names = HashMap::new();
        let mut granted = Vec::new();
        if let Some(core) = self.core.upgrade() {
            for lib in core.libraries().list().await {
                names.insert(lib.id().to_string(), lib.name().to_string());
            }
            if self.is_installed(&manifest.id) {
                match core.grants().list(Some(&manifest.id)) {
                    Ok(grants) => granted = grants.into_iter().map(|g| g.path).collect(),
                    Err(e) => tracing::warn!(extension = %manifest.id, error = %e, "could not read its grants"),
                }
            }
        }
        let provided = self.provided_operations();
        super::consent::Consent::new(manifest, installed, &provided, |id| names.get(id).cloned(), granted)
    }

    /// Runs job `name` of extension `id` in a fresh instance of its own, from
    /// `state` (the job's input, or its last checkpoint).
    pub async fn run_job(
        &self,
        id: &str,
        name: &str,
        handle: Arc<crate::infra::job::JobHandle>,
        state: Value,
    ) -> OpResult<crate::infra::job::Outcome> {
        let manifest = self.installed_manifest(id).map_err(|e| {
            e.context(format!("extension `{id}` is not installed (was it removed while the job was queued?)"))
        })?;
        let job = manifest.jobs.iter().find(|j| j.name == name).ok_or_else(|| {
            OpError::not_found(format!("extension `{id}` has no job `{name}` (any more); see `sd ext info {id}`"))
        })?;
        let mut instance = self.instantiate(id).await?;
        let library = handle.library().id();
        instance.bind_job(handle);
        instance.call_job(&job.export, &state, Some(library)).await
    }

    /// Ids of installed extensions, sorted.
    pub fn installed_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join(MANIFEST_FILE).is_file())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .filter(|n| !n.starts_with('.'))
            .collect();
        ids.sort();
        ids
    }

    /// The loaded extension `id`, loading it from its installation if needed.
    async fn get(&self, id: &str) -> OpResult<Arc<Loaded>> {
        if let Some(l) = self.loaded.read().await.get(id) {
            return Ok(l.clone());
        }
        let lock = self.id_lock(id);
        let _life = lock.lock().await;
        if let Some(l) = self.loaded.read().await.get(id) {
            return Ok(l.clone());
        }
        let manifest = self.installed_manifest(id)?;
        let wasm = read_bounded(&self.installed_dir(id)?.join(MODULE_FILE), MAX_MODULE_BYTES, "module")?;
        match self.start(manifest, &wasm).await {
            Ok(loaded) => {
                self.loaded.write().await.insert(id.to_string(), loaded.clone());
                self.failed.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
                Ok(loaded)
            }
            Err(e) => {
                tracing::error!(extension = id, error = %e, "extension failed to load");
                self.failed.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), e.message.clone());
                Err(e)
            }
        }
    }

    /// Loads every installed extension (at daemon start). Failures are
    /// logged and shown by `sd ext list`; the others load regardless.
    pub async fn load_all(&self) {
        for id in self.installed_ids() {
            let _ = self.get(&id).await;
        }
    }

    /// Loads `id` if needed.
    pub async fn load(&self, id: &str) -> OpResult<ExtensionInfo> {
        self.get(id).await?;
        self.info(id).await
    }

    /// Unloads an extension (calling `plugin_cleanup`) without deleting it;
    /// it loads again on next use.
    pub async fn unload(&self, id: &str) -> OpResult<ExtensionInfo> {
        self.installed_manifest(id)?;
        let lock = self.id_lock(id);
        let _life = lock.lock().await;
        if let Some(old) = self.loaded.write().await.remove(id) {
            self.stop(old).await;
        }
        drop(_life);
        self.info(id).await
    }

    /// Replaces the running instance with a fresh one from the installed
    /// module; if the new one fails to start, the running one stays.
    pub async fn reload(&self, id: &str) -> OpResult<ExtensionInfo> {
        let manifest = self.installed_manifest(id)?;
        let wasm = read_bounded(&self.installed_dir(id)?.join(MODULE_FILE), MAX_MODULE_BYTES, "module")?;
        let lock = self.id_lock(id);
        let _life = lock.lock().await;
        let loaded = self.start(manifest, &wasm).await?;
        if let Some(old) = self.loaded.write().await.insert(id.to_string(), loaded) {
            self.stop(old).await;
        }
        drop(_life);
        self.info(id).await
    }

    /// Unloads (calling `plugin_cleanup`) and deletes an extension.
    pub async fn remove(&self, id: &str) -> OpResult<()> {
        let dir = self.installed_dir(id)?;
        if !dir.join(MANIFEST_FILE).is_file() {
            return Err(OpError::not_found(format!("no extension `{id}` is installed; run `sd ext list`")));
        }
        self.unwatch(id);
        let lock = self.id_lock(id);
        let _life = lock.lock().await;
        if let Some(old) = self.loaded.write().await.remove(id) {
            self.stop(old).await;
        }
        self.failed.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
        std::fs::remove_dir_all(&dir)
            .map_err(|e| OpError::internal(format!("cannot delete {}: {e}", dir.display())))?;
        // Its folder grants go with it.
        if let Some(core) = self.core.upgrade() {
            core.grants().remove_all(id)?;
        }
        // Its running jobs stop at their next check; queued ones fail when
        // their turn comes, as the extension is gone.
        if let Some(core) = self.core.upgrade() {
            core.jobs().cancel_running_of(id).await?;
        }
        Ok(())
    }

    /// Grants installed extension `id` the folder `path`, under the same
    /// lock as its installation and removal, so a grant never outlives it.
    pub async fn grant(&self, id: &str, path: &Path) -> OpResult<crate::infra::grants::Grant> {
        self.change_grants(id, path, true).await
    }

    /// Takes the grant of `path` back from extension `id`; its next read
    /// outside its other grants is refused.
    pub async fn revoke(&self, id: &str, path: &Path) -> OpResult<crate::infra::grants::Grant> {
        self.change_grants(id, path, false).await
    }

    /// Adds (`add`) or revokes the grant of `path` to `id` under its lock,
    /// off the async threads (the grants are a SQLite database).
    async fn change_grants(&self, id: &str, path: &Path, add: bool) -> OpResult<crate::infra::grants::Grant> {
        let lock = self.id_lock(id);
        let _life = lock.lock().await;
        if add {
            self.installed_manifest(id)?;
        }
        let core = self.core.upgrade().ok_or_else(|| OpError::unavailable("the core is shutting down"))?;
        let (id, path) = (id.to_string(), path.to_path_buf());
        tokio::task::spawn_blocking(move || match add {
            true => core.grants().add(&id, &path),
            false => core.grants().revoke(&id, &path),
        })
        .await
        .map_err(|e| OpError::internal(format!("grants task failed: {e}")))?
    }

    /// Unloads every extension, calling `plugin_cleanup` (at shutdown).
    pub async fn unload_all(&self) {
        let all: Vec<_> = self.loaded.write().await.drain().map(|(_, l)| l).collect();
        for l in all {
            self.stop(l).await;
        }
    }

    /// Operations provided by installed extensions, with their extension.
    pub fn provided_operations(&self) -> Vec<(String, ProvidedOperation)> {
        self.installed_ids()
            .into_iter()
            .filter_map(|id| self.installed_manifest(&id).ok())
            .flat_map(|m| m.operations.into_iter().map(move |op| (m.id.clone(), op)))
            .collect()
    }

    /// Runs an operation an extension provides, if one provides `method`.
    pub async fn call_operation(
        &self,
        method: &str,
        library: Option<Uuid>,
        payload: Payload<'_>,
        form: Form,
    ) -> Option<OpResult<Answer>> {
        let (_, name) = crate::infra::wire::parse_method(method).ok()?;
        let id = name.split('.').next()?;
        // A loaded extension's manifest is in memory; only the first call of
        // an extension not loaded yet reads its installation.
        let loaded = self.loaded.read().await.get(id).cloned();
        let installed;
        let operations = match &loaded {
            Some(l) => &l.manifest.operations,
            None => {
                installed = self.installed_manifest(id).ok()?;
                &installed.operations
            }
        };
        let export = &operations.iter().find(|o| o.method == method)?.export;
        let text = match payload.to_text() {
            Ok(t) => t,
            Err(e) => return Some(Err(e)),
        };
        Some(self.run_operation(id, method, export, library, &text, form).await)
    }

    /// Calls `export` of extension `id` for `method`, on its live instance.
    pub(super) async fn run_operation(
        &self,
        id: &str,
        method: &str,
        export: &str,
        library: Option<Uuid>,
        payload: &[u8],
        form: Form,
    ) -> OpResult<Answer> {
        if host::in_call_chain(id) {
            return Err(OpError::conflict(format!(
                "`{method}` would re-enter extension `{id}`, which is already handling this call; call it from elsewhere"
            )));
        }
        let loaded = self.get(id).await?;
        let mut slot = loaded.instance.lock().await;
        if slot.is_none() {
            // The last call trapped: start a fresh instance.
            self.stats_for(id).restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut inst = self.fresh_instance(id, &loaded).await?;
            inst.init().await?;
            *slot = Some(inst);
        }
        let inst = slot.as_mut().ok_or_else(|| OpError::internal("instance vanished"))?;
        let result = host::CallChain::current()
            .enter(loaded.guard.id())
            .scope(inst.call_operation(export, library, payload, form))
            .await;
        if inst.trapped() {
            // The next call gets a fresh instance.
            *slot = None;
        }
        result
    }

    /// Description of one installed extension.
    pub async fn info(&self, id: &str) -> OpResult<ExtensionInfo> {
        let manifest = self.installed_manifest(id)?;
        let dir = self.installed_dir(id)?;
        let module_size = std::fs::metadata(dir.join(MODULE_FILE))
            .map_err(|e| OpError::internal(format!("extension `{id}` has no readable module: {e}")))?
            .len();
        let module_hash = match std::fs::read_to_string(dir.join(HASH_FILE)) {
            Ok(h) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => h,
            // Installed before hashes were stored.
            _ => blake3::hash(&read_bounded(&dir.join(MODULE_FILE), MAX_MODULE_BYTES, "module")?).to_hex().to_string(),
        };
        let loaded = self.loaded.read().await.get(id).cloned();
        let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned();
        let state = match (&loaded, failed) {
            (Some(_), _) => ExtensionState::Loaded,
            (None, Some(f)) => ExtensionState::Failed(f),
            (None, None) => ExtensionState::Installed,
        };
        let watching =
            self.watchers.lock().unwrap_or_else(|p| p.into_inner()).get(id).map(|(p, _)| p.display().to_string());
        let consent = self.consent(&manifest, None).await;
        Ok(ExtensionInfo {
            id: manifest.id.clone(),
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            description: manifest.description.clone(),
            state,
            permissions: manifest.permissions.clone(),
            consent,
            operations: manifest.operations.clone(),
            jobs: manifest.jobs.clone(),
            views: manifest.views.clone(),
            module_hash,
            module_size,
            loaded_at: loaded.map(|l| format_ns(crate::vdfs::to_ns(l.loaded_at))),
            watching,
            last_reload: self.reloads.lock().unwrap_or_else(|p| p.into_inner()).get(id).cloned(),
            stats: self.stats_for(id).snapshot(),
            publisher: self.pinned(id)?,
        })
    }

    /// Every installed extension.
    pub async fn list(&self) -> Vec<ExtensionInfo> {
        let mut out = Vec::new();
        for id in self.installed_ids() {
            if let Ok(info) = self.info(&id).await {
                out.push(info);
            }
        }
        out
    }

    /// Reinstalls from `src` if it still loads; keeps the running version and
    /// records why otherwise.
    async fn hot_reload(&self, id: &str, src: &InstallSource) {
        let outcome = match src.fetch(&self.data_dir()).await {
            Ok(Fetched { manifest, .. }) if manifest.id != id => {
                Err(OpError::invalid(format!("the rebuilt module is extension `{}`, not `{id}`", manifest.id)))
            }
            Ok(Fetched { manifest, .. }) if self.asks_for_more(&manifest) => Err(OpError::denied(format!(
                "the rebuilt `{id}` asks for permissions the installed one was not granted; run `sd ext install` to review and agree to them"
            ))),
            Ok(_) => self.install(src, false).await.map(|_| ()),
            Err(e) => Err(e),
        };
        let note = match outcome {
            Ok(()) => {
                tracing::info!(extension = id, "reloaded");
                format!("reloaded at {}", format_ns(crate::vdfs::now_ns()))
            }
            Err(e) => {
                tracing::warn!(extension = id, error = %e, "reload failed; the previous version keeps running");
                format!("reload failed at {}, previous version kept: {e}", format_ns(crate::vdfs::now_ns()))
            }
        };
        self.reloads.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), note);
    }

    fn unwatch(&self, id: &str) {
        self.watchers.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Watches the module file of a dev install and hot-reloads on change.
    fn watch(&self, id: &str, src: InstallSource, wasm_path: PathBuf) -> OpResult<()> {
        use notify::Watcher;
        let core = self.core.clone();
        let handle = tokio::runtime::Handle::current();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
        let file = std::fs::canonicalize(&wasm_path).unwrap_or(wasm_path.clone());
        let file_name = file.file_name().map(|n| n.to_os_string());
        let mut watcher = notify::recommended_watcher(move |ev: notify::Result<notify::Event>| {
            if let Ok(ev) = ev
                && ev.paths.iter().any(|p| p.file_name().map(|n| n.to_os_string()) == file_name)
                && !matches!(ev.kind, notify::EventKind::Access(_))
            {
                let _ = tx.send(());
            }
        })
        .map_err(|e| OpError::internal(format!("cannot watch {}: {e}", file.display())))?;
        // Watch the folder: build tools replace the file rather than write it.
        let folder = file.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."));
        watcher
            .watch(&folder, notify::RecursiveMode::NonRecursive)
            .map_err(|e| OpError::internal(format!("cannot watch {}: {e}", folder.display())))?;
        let id_owned = id.to_string();
        handle.spawn(async move {
            while rx.recv().await.is_some() {
                // Let the writer finish, and fold a burst of events into one.
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                while rx.try_recv().is_ok() {}
                let Some(core) = core.upgrade() else { break };
                core.extensions().hot_reload(&id_owned, &src).await;
            }
        });
        self.watchers.lock().unwrap_or_else(|p| p.into_inner()).insert(id.to_string(), (file, watcher));
        Ok(())
    }
}
