//! The vault key: from the OS keyring when one is reachable, else from a
//! key file with mode 0600. The vault records which, and a sealed check
//! value that tells a wrong key from a damaged record.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::{Connection, OptionalExtension};

use crate::error::{OpError, OpResult};

/// File of the key in the data dir, when no keyring holds it.
pub const KEY_FILE: &str = "vault.key";
/// Environment variable choosing the key source: `file` never asks the
/// keyring (headless machines, tests).
pub const KEY_SOURCE_ENV: &str = "SD_VAULT_KEY_SOURCE";
const KEYRING_SERVICE: &str = "spacedrive-vault";
const CHECK_PLAINTEXT: &[u8] = b"spacedrive vault key check v1";

/// Where the vault key lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The OS keyring, under this account name.
    Keyring(String),
    /// A key file.
    File(PathBuf),
}

impl KeySource {
    /// How `sd status` shows it.
    pub fn describe(&self) -> String {
        match self {
            KeySource::Keyring(_) => "OS keyring".to_string(),
            KeySource::File(p) => format!("key file {}", p.display()),
        }
    }
}

fn meta(conn: &Connection, key: &str) -> OpResult<Option<Vec<u8>>> {
    Ok(conn.query_row("SELECT value FROM vault_meta WHERE key = ?1", [key], |r| r.get(0)).optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &[u8]) -> OpResult<()> {
    conn.execute("INSERT OR REPLACE INTO vault_meta(key, value) VALUES (?1, ?2)", rusqlite::params![key, value])?;
    Ok(())
}

/// The source this vault recorded, if it has a key yet.
pub fn recorded_source(conn: &Connection, data_dir: &Path) -> OpResult<Option<KeySource>> {
    Ok(match meta(conn, "key_source")?.as_deref() {
        Some(b"file") => Some(KeySource::File(data_dir.join(KEY_FILE))),
        Some(account) if account.starts_with(b"keyring:") => {
            Some(KeySource::Keyring(String::from_utf8_lossy(&account[8..]).into_owned()))
        }
        Some(_) => return Err(OpError::internal("the vault records an unknown key source")),
        None => None,
    })
}

/// Whether a Secret Service may answer: only on a session bus, and not
/// when `SD_VAULT_KEY_SOURCE=file`.
fn keyring_reachable() -> bool {
    std::env::var(KEY_SOURCE_ENV).map_or(true, |v| v != "file")
        && std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty())
}

fn keyring_entry(account: &str) -> OpResult<keyring::Entry> {
    keyring::Entry::new(KEYRING_SERVICE, account)
        .map_err(|e| OpError::unavailable(format!("the OS keyring cannot be used: {e}")))
}

fn decode_key(bytes: &[u8], from: &str) -> OpResult<[u8; 32]> {
    let text = std::str::from_utf8(bytes).map_err(|_| OpError::internal(format!("{from} is not a vault key")))?;
    let raw = (0..text.trim().len())
        .step_by(2)
        .map(|i| text.trim().get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect::<Option<Vec<u8>>>();
    raw.and_then(|r| <[u8; 32]>::try_from(r).ok())
        .ok_or_else(|| OpError::internal(format!("{from} is not a vault key (64 hex digits expected)")))
}

fn encode_key(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn read_key_file(path: &Path) -> OpResult<[u8; 32]> {
    let meta = std::fs::metadata(path).map_err(|e| {
        OpError::unavailable(format!(
            "the vault key file {} cannot be read ({e}); restore it from your backup: without it the stored credentials cannot be opened",
            path.display()
        ))
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(OpError::denied(format!(
            "the vault key file {} is readable by other users; run `chmod 600 {}`",
            path.display(),
            path.display()
        )));
    }
    decode_key(&std::fs::read(path)?, &path.display().to_string())
}

/// Loads the key; with `create`, makes one for a vault that has none.
pub fn load(conn: &Connection, data_dir: &Path, create: bool) -> OpResult<([u8; 32], KeySource)> {
    match recorded_source(conn, data_dir)? {
        Some(KeySource::File(path)) => Ok((read_key_file(&path)?, KeySource::File(path))),
        Some(KeySource::Keyring(account)) => {
            let secret = keyring_entry(&account)?.get_password().map_err(|e| {
                OpError::unavailable(format!(
                    "the vault key is in the OS keyring, which cannot be reached now ({e}); unlock your keyring and retry"
                ))
            })?;
            Ok((decode_key(secret.as_bytes(), "the keyring's vault key")?, KeySource::Keyring(account)))
        }
        None if !create => Err(OpError::not_found("the vault is empty; store a credential first")),
        None => {
            let key: [u8; 32] = XChaCha20Poly1305::generate_key(&mut OsRng).into();
            let source = make_key(data_dir, &key)?;
            let recorded = match &source {
                KeySource::File(_) => b"file".to_vec(),
                KeySource::Keyring(account) => format!("keyring:{account}").into_bytes(),
            };
            let cipher = XChaCha20Poly1305::new((&key).into());
            let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
            let check = cipher
                .encrypt(&nonce, Payload { msg: CHECK_PLAINTEXT, aad: b"check" })
                .map_err(|_| OpError::internal("encryption failed"))?;
            set_meta(conn, "check", &[nonce.as_slice(), &check].concat())?;
            set_meta(conn, "key_source", &recorded)?;
            Ok((key, source))
        }
    }
}

fn make_key(data_dir: &Path, key: &[u8; 32]) -> OpResult<KeySource> {
    if keyring_reachable() {
        let account = uuid::Uuid::new_v4().to_string();
        match keyring_entry(&account)
            .and_then(|e| e.set_password(&encode_key(key)).map_err(|e| OpError::unavailable(e.to_string())))
        {
            Ok(()) => return Ok(KeySource::Keyring(account)),
            Err(e) => tracing::warn!(error = %e, "the OS keyring refused the vault key; using a key file"),
        }
    }
    let path = data_dir.join(KEY_FILE);
    if path.exists() {
        // A key file without a vault that records it: keep it, it may be
        // the only copy of a key something else needs.
        return Err(OpError::conflict(format!(
            "{} exists but the vault does not record it; move it away or restore the vault database",
            path.display()
        )));
    }
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| OpError::internal(format!("cannot create {}: {e}", path.display())))?;
    f.write_all(encode_key(key).as_bytes())?;
    f.sync_all()?;
    Ok(KeySource::File(path))
}

/// Checks that the key opens this vault's check value.
pub fn verify(conn: &Connection, cipher: &XChaCha20Poly1305) -> OpResult<()> {
    let Some(check) = meta(conn, "check")? else { return Ok(()) };
    if check.len() < 24 {
        return Err(OpError::internal("the vault's key check is damaged"));
    }
    let (nonce, sealed) = check.split_at(24);
    match cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: sealed, aad: b"check" }) {
        Ok(plain) if plain == CHECK_PLAINTEXT => Ok(()),
        _ => Err(OpError::denied(
            "the vault key does not open this vault (a wrong or replaced key file?); restore the right key",
        )),
    }
}
