use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::RwLock;
use uuid::Uuid;

use super::{DB_FILE, Library};
use crate::error::{OpError, OpResult};

/// The set of libraries under `<data dir>/libraries/`.
pub struct LibraryManager {
    root: PathBuf,
    libraries: RwLock<HashMap<Uuid, Arc<Library>>>,
}

impl LibraryManager {
    /// Opens every library folder under `root`. A folder that fails to open is
    /// logged and skipped, so one damaged library does not hide the others.
    pub(crate) fn load(root: PathBuf) -> OpResult<Self> {
        std::fs::create_dir_all(&root)?;
        let mut libraries = HashMap::new();
        for dir in std::fs::read_dir(&root)? {
            let path = dir?.path();
            if !path.join(DB_FILE).is_file() {
                continue;
            }
            match Library::open(&path) {
                Ok(lib) => {
                    libraries.insert(lib.id(), Arc::new(lib));
                }
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "could not open library; skipped")
                }
            }
        }
        Ok(Self { root, libraries: RwLock::new(libraries) })
    }

    /// Creates a library named `name`.
    pub async fn create(&self, name: &str) -> OpResult<Arc<Library>> {
        let name = name.trim();
        if name.is_empty() || name.len() > 256 || name.contains('\0') {
            return Err(OpError::invalid("a library name must be 1 to 256 bytes without NUL"));
        }
        // Hold the write lock across creation so two concurrent creates of
        // the same name cannot both pass the check.
        let mut libraries = self.libraries.write().await;
        if libraries.values().any(|l| l.name() == name) {
            return Err(OpError::conflict(format!("a library named `{name}` exists already; pick another name")));
        }
        let id = Uuid::new_v4();
        let path = self.root.join(id.to_string());
        let owned = name.to_string();
        let lib = tokio::task::spawn_blocking(move || Library::create(&path, id, &owned))
            .await
            .map_err(|e| OpError::internal(format!("library creation task failed: {e}")))??;
        let lib = Arc::new(lib);
        libraries.insert(id, lib.clone());
        Ok(lib)
    }

    /// Every open library, sorted by name.
    pub async fn list(&self) -> Vec<Arc<Library>> {
        let mut libs: Vec<_> = self.libraries.read().await.values().cloned().collect();
        libs.sort_by(|a, b| a.name().cmp(b.name()).then(a.id().cmp(&b.id())));
        libs
    }

    /// The library with this id.
    pub async fn get(&self, id: Uuid) -> OpResult<Arc<Library>> {
        self.libraries.read().await.get(&id).cloned().ok_or_else(|| {
            OpError::not_found(format!("no library with id {id}; run `sd library list` to see the libraries"))
        })
    }

    /// Removes a library and deletes its folder.
    pub async fn remove(&self, id: Uuid) -> OpResult<()> {
        let lib = self.libraries.write().await.remove(&id).ok_or_else(|| {
            OpError::not_found(format!("no library with id {id}; run `sd library list` to see the libraries"))
        })?;
        let path = lib.path().to_path_buf();
        drop(lib);
        tokio::fs::remove_dir_all(&path)
            .await
            .map_err(|e| OpError::internal(format!("could not delete {}: {e}", path.display())))
    }
}
