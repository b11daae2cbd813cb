//! One async lock per key, so work on the same thing (the same document to
//! OCR, the same token to refresh) happens once while different things run
//! side by side.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

/// A map of async locks, made on first use.
pub struct KeyedLocks<K> {
    locks: Mutex<HashMap<K, Arc<tokio::sync::Mutex<()>>>>,
}

impl<K> Default for KeyedLocks<K> {
    fn default() -> Self {
        Self { locks: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash> KeyedLocks<K> {
    /// The lock of `key`.
    pub fn get(&self, key: K) -> Arc<tokio::sync::Mutex<()>> {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_default().clone()
    }

    /// Forgets the lock of `key` (holders keep theirs), so the map does not
    /// grow with every key ever used.
    pub fn forget(&self, key: &K) {
        self.locks.lock().unwrap_or_else(|p| p.into_inner()).remove(key);
    }
}
