//! Publishers' signing keys, sealed in the vault.
//!
//! A key is a vault record of kind `signing_key` under the owner `core`,
//! which no extension id may take, so no extension can read one.

use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use ed25519_dalek::SigningKey;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::format::{Publisher, hex, unhex};
use crate::error::{ErrorCode, OpError, OpResult};
use crate::services::vault::{Kind, Secret, Vault};

/// Vault owner of signing keys (reserved: no extension id may be `core`).
const OWNER: &str = "core";

/// A signing key as anyone may see it: its name and public half.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct KeyInfo {
    /// Name given at creation.
    pub name: String,
    /// Its public key and fingerprint.
    pub publisher: Publisher,
    /// When it was made (RFC 3339).
    pub created_at: String,
}

fn info(name: &str, created_at: String, key: &SigningKey) -> KeyInfo {
    KeyInfo { name: name.to_string(), publisher: Publisher::of(&key.verifying_key()), created_at }
}

/// Makes a new key named `name`; an existing name is refused, since
/// replacing a key would orphan what it signed.
pub fn create(vault: &Vault, name: &str) -> OpResult<KeyInfo> {
    match vault.get(OWNER, name) {
        Ok(_) => {
            return Err(OpError::conflict(format!(
                "a signing key named `{name}` exists already; see `sd ext key list`, or pick another name"
            )));
        }
        Err(e) if e.code == ErrorCode::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut seed = [0u8; 32];
    OsRng.fill_bytes(&mut seed);
    let key = SigningKey::from_bytes(&seed);
    let stored = vault.store(OWNER, name, &Secret::SigningKey { seed: hex(&seed) })?;
    Ok(info(name, stored.updated_at, &key))
}

/// The secret half of key `name`.
pub fn signer(vault: &Vault, name: &str) -> OpResult<SigningKey> {
    let missing =
        || OpError::not_found(format!("no signing key named `{name}`; make one with `sd ext key new {name}`"));
    let (_, secret) = vault.get(OWNER, name).map_err(|e| if e.code == ErrorCode::NotFound { missing() } else { e })?;
    let Secret::SigningKey { seed } = secret else { return Err(missing()) };
    let bytes: [u8; 32] = unhex(&seed)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| OpError::internal(format!("the vault's signing key `{name}` is malformed")))?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// Every signing key, by name.
pub fn list(vault: &Vault) -> OpResult<Vec<KeyInfo>> {
    let mut out = Vec::new();
    for c in vault.list(Some(OWNER))?.into_iter().filter(|c| c.kind == Kind::SigningKey) {
        let key = signer(vault, &c.name)?;
        out.push(info(&c.name, c.updated_at.clone(), &key));
    }
    Ok(out)
}
