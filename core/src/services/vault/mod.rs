//! The credentials vault: secrets of people and extensions, encrypted at
//! rest, scoped to their owner, with OAuth 2 tokens refreshed when expired.
//!
//! Records live in `<data dir>/vault.db`. Each secret is sealed with
//! XChaCha20-Poly1305 under the vault key, with a fresh random nonce, and
//! with the record's owner, name and kind bound as associated data, so a
//! record moved to another owner or name, or altered in any byte, fails to
//! open. The key comes from the OS keyring when one is reachable (a
//! Secret Service on the session bus), otherwise from `vault.key` (mode 0600)
//! in the data dir; the vault remembers which, and never silently makes a
//! new key for a vault that already has one.

mod key;
mod oauth;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rusqlite::{Connection, OptionalExtension, params};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{OpError, OpResult};
use crate::vdfs::names;
pub use key::KeySource;

/// File of the vault database in the data dir.
pub const VAULT_FILE: &str = "vault.db";
/// Largest sealed secret, in bytes.
const MAX_SECRET_BYTES: usize = 64 * 1024;
/// An access token this close to expiry counts as expired.
const EXPIRY_SKEW_SECS: i64 = 60;

/// The kinds of credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// An API key, sent as a bearer token.
    ApiKey,
    /// A username and password, sent as HTTP basic auth.
    Password,
    /// OAuth 2 tokens, refreshed with the refresh-token grant.
    Oauth2,
    /// An Ed25519 key that signs extension packages.
    SigningKey,
}

impl Kind {
    /// `api_key`, `password` or `oauth2`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ApiKey => "api_key",
            Kind::Password => "password",
            Kind::Oauth2 => "oauth2",
            Kind::SigningKey => "signing_key",
        }
    }

    fn parse(s: &str) -> OpResult<Kind> {
        match s {
            "api_key" => Ok(Kind::ApiKey),
            "password" => Ok(Kind::Password),
            "oauth2" => Ok(Kind::Oauth2),
            "signing_key" => Ok(Kind::SigningKey),
            other => Err(OpError::internal(format!("vault record of unknown kind `{other}`"))),
        }
    }
}

/// OAuth 2 tokens and what refreshing them needs.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    /// The current access token.
    pub access_token: String,
    /// The refresh token, if the provider gave one.
    #[serde(default)]
    pub refresh_token: Option<String>,
    /// When the access token expires, in seconds since the Unix epoch.
    #[serde(default)]
    pub expires_at: Option<i64>,
    /// The provider's token endpoint.
    pub token_url: String,
    /// The OAuth client id.
    pub client_id: String,
    /// The OAuth client secret, for confidential clients.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Scopes granted.
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// A secret, by kind.
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Secret {
    /// An API key.
    ApiKey {
        /// The key.
        key: String,
    },
    /// A username and password.
    Password {
        /// The username.
        username: String,
        /// The password.
        password: String,
    },
    /// OAuth 2 tokens.
    Oauth2(OAuth2),
    /// An Ed25519 signing key (`sd ext key new`).
    SigningKey {
        /// The 32-byte secret seed, in hex.
        seed: String,
    },
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({}, ***)", self.kind().as_str())
    }
}

impl Secret {
    /// Its kind.
    pub fn kind(&self) -> Kind {
        match self {
            Secret::ApiKey { .. } => Kind::ApiKey,
            Secret::Password { .. } => Kind::Password,
            Secret::Oauth2(_) => Kind::Oauth2,
            Secret::SigningKey { .. } => Kind::SigningKey,
        }
    }

    fn expires_at(&self) -> Option<i64> {
        match self {
            Secret::Oauth2(o) => o.expires_at,
            _ => None,
        }
    }

    /// Checks the fields a secret of its kind needs.
    pub fn validate(&self) -> OpResult<()> {
        let nonempty = |what: &str, v: &str| {
            if v.is_empty() || v.len() > 16 * 1024 {
                Err(OpError::invalid(format!("{what} must be 1 to 16384 bytes")))
            } else {
                Ok(())
            }
        };
        match self {
            Secret::ApiKey { key } => nonempty("key", key),
            Secret::Password { username, password } => {
                nonempty("username", username)?;
                nonempty("password", password)
            }
            Secret::Oauth2(o) => {
                nonempty("access_token", &o.access_token)?;
                nonempty("client_id", &o.client_id)?;
                let url = reqwest::Url::parse(&o.token_url)
                    .map_err(|e| OpError::invalid(format!("token_url is not a URL: {e}")))?;
                if !matches!(url.scheme(), "https" | "http") {
                    return Err(OpError::invalid("token_url must be an https (or http) URL"));
                }
                Ok(())
            }
            Secret::SigningKey { seed } => {
                if seed.len() != 64 || !seed.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(OpError::invalid("seed must be 64 hex digits (32 bytes)"));
                }
                Ok(())
            }
        }
    }
}

/// A credential as anyone may see it: never its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CredentialInfo {
    /// `user`, or the extension it is filed under.
    pub owner: String,
    /// Its name, unique per owner.
    pub name: String,
    /// Its kind.
    pub kind: Kind,
    /// When its access token expires (OAuth 2), RFC 3339.
    pub expires_at: Option<String>,
    /// When it was last stored.
    pub updated_at: String,
}

fn now_secs() -> i64 {
    crate::vdfs::now_ns() / 1_000_000_000
}

fn rfc3339(secs: i64) -> String {
    crate::vdfs::format_ns(secs.saturating_mul(1_000_000_000))
}

/// A stored record, still sealed.
struct Sealed {
    kind: String,
    nonce: Vec<u8>,
    sealed: Vec<u8>,
    expires: Option<i64>,
    updated: i64,
}

/// The vault of one data dir.
pub struct Vault {
    data_dir: PathBuf,
    key: Mutex<Option<(XChaCha20Poly1305, KeySource)>>,
    refreshing: super::keyed::KeyedLocks<(String, String)>,
}

fn aad(owner: &str, name: &str, kind: Kind) -> Vec<u8> {
    format!("spacedrive-vault-v1\0{owner}\0{name}\0{}", kind.as_str()).into_bytes()
}

fn check_name(name: &str) -> OpResult<()> {
    names::validate_namespace(name).map_err(|_| {
        OpError::invalid(format!("credential name `{name}` must be lowercase letters, digits, `-` or `_`"))
    })
}

impl Vault {
    /// The vault of `data_dir`; nothing is read until it is used.
    pub fn new(data_dir: &Path) -> Vault {
        Vault { data_dir: data_dir.to_path_buf(), key: Mutex::new(None), refreshing: Default::default() }
    }

    fn open_db(&self) -> OpResult<Connection> {
        let conn = Connection::open(self.data_dir.join(VAULT_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS vault_meta (key TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS credentials (
                 owner TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
                 nonce BLOB NOT NULL, sealed BLOB NOT NULL, expires_at INTEGER, updated_at INTEGER NOT NULL,
                 PRIMARY KEY (owner, name)) WITHOUT ROWID;",
        )?;
        Ok(conn)
    }

    /// Where the key comes from: `keyring`, `file <path>`, or `none` before
    /// the first credential is stored.
    pub fn key_source(&self) -> String {
        if let Some((_, source)) = self.key.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            return source.describe();
        }
        match self.open_db().and_then(|c| key::recorded_source(&c, &self.data_dir)) {
            Ok(Some(source)) => source.describe(),
            Ok(None) => "none (no credential stored yet)".to_string(),
            Err(e) => format!("unreadable: {}", e.message),
        }
    }

    fn cipher(&self, conn: &Connection, create: bool) -> OpResult<XChaCha20Poly1305> {
        let mut slot = self.key.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((cipher, _)) = slot.as_ref() {
            return Ok(cipher.clone());
        }
        let (bytes, source) = key::load(conn, &self.data_dir, create)?;
        let cipher = XChaCha20Poly1305::new((&bytes).into());
        key::verify(conn, &cipher)?;
        *slot = Some((cipher.clone(), source));
        Ok(cipher)
    }

    /// Stores (or replaces) a credential.
    pub fn store(&self, owner: &str, name: &str, secret: &Secret) -> OpResult<CredentialInfo> {
        names::validate_namespace(owner)?;
        check_name(name)?;
        secret.validate()?;
        let conn = self.open_db()?;
        let cipher = self.cipher(&conn, true)?;
        let plain = serde_json::to_vec(secret).map_err(|e| OpError::internal(format!("cannot encode secret: {e}")))?;
        if plain.len() > MAX_SECRET_BYTES {
            return Err(OpError::invalid(format!("the secret is over {MAX_SECRET_BYTES} bytes")));
        }
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let kind = secret.kind();
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: &plain, aad: &aad(owner, name, kind) })
            .map_err(|_| OpError::internal("encryption failed"))?;
        let now = now_secs();
        conn.execute(
            "INSERT INTO credentials(owner, name, kind, nonce, sealed, expires_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT(owner, name) DO UPDATE SET kind = excluded.kind, nonce = excluded.nonce, sealed = excluded.sealed,
             expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            params![owner, name, kind.as_str(), nonce.as_slice(), sealed, secret.expires_at(), now],
        )?;
        Ok(CredentialInfo {
            owner: owner.to_string(),
            name: name.to_string(),
            kind,
            expires_at: secret.expires_at().map(rfc3339),
            updated_at: rfc3339(now),
        })
    }

    fn info_of(
        owner: String,
        name: String,
        kind: &str,
        expires: Option<i64>,
        updated: i64,
    ) -> OpResult<CredentialInfo> {
        Ok(CredentialInfo {
            owner,
            name,
            kind: Kind::parse(kind)?,
            expires_at: expires.map(rfc3339),
            updated_at: rfc3339(updated),
        })
    }

    /// Opens a credential of `owner`.
    pub fn get(&self, owner: &str, name: &str) -> OpResult<(CredentialInfo, Secret)> {
        check_name(name)?;
        let conn = self.open_db()?;
        let row = conn
            .query_row(
                "SELECT kind, nonce, sealed, expires_at, updated_at FROM credentials WHERE owner = ?1 AND name = ?2",
                params![owner, name],
                |r| {
                    Ok(Sealed {
                        kind: r.get(0)?,
                        nonce: r.get(1)?,
                        sealed: r.get(2)?,
                        expires: r.get(3)?,
                        updated: r.get(4)?,
                    })
                },
            )
            .optional()?;
        let Sealed { kind, nonce, sealed, expires, updated } = row.ok_or_else(|| {
            OpError::not_found(format!(
                "no credential `{name}` for `{owner}`; store it with `sd credentials add {name} --for {owner}`"
            ))
        })?;
        let info = Self::info_of(owner.to_string(), name.to_string(), &kind, expires, updated)?;
        let cipher = self.cipher(&conn, false)?;
        if nonce.len() != 24 {
            return Err(damaged(name, owner));
        }
        let plain = cipher
            .decrypt(XNonce::from_slice(&nonce), Payload { msg: &sealed, aad: &aad(owner, name, info.kind) })
            .map_err(|_| damaged(name, owner))?;
        let secret: Secret = serde_json::from_slice(&plain).map_err(|_| damaged(name, owner))?;
        if secret.kind() != info.kind {
            return Err(damaged(name, owner));
        }
        Ok((info, secret))
    }

    /// Credentials, of one owner or of all; never their secrets.
    pub fn list(&self, owner: Option<&str>) -> OpResult<Vec<CredentialInfo>> {
        let conn = self.open_db()?;
        let mut stmt = conn.prepare(
            "SELECT owner, name, kind, expires_at, updated_at FROM credentials WHERE ?1 IS NULL OR owner = ?1 ORDER BY owner, name",
        )?;
        let rows = stmt.query_map([owner], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get(3)?, r.get(4)?))
        })?;
        rows.map(|r| {
            let (o, n, k, e, u) = r?;
            Self::info_of(o, n, &k, e, u)
        })
        .collect()
    }

    /// Deletes a credential of `owner`.
    pub fn delete(&self, owner: &str, name: &str) -> OpResult<()> {
        check_name(name)?;
        let conn = self.open_db()?;
        let n = conn.execute("DELETE FROM credentials WHERE owner = ?1 AND name = ?2", params![owner, name])?;
        if n == 0 {
            return Err(OpError::not_found(format!("no credential `{name}` for `{owner}`; see `sd credentials list`")));
        }
        Ok(())
    }

    fn refresh_lock(&self, owner: &str, name: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.refreshing.get((owner.to_string(), name.to_string()))
    }

    /// A credential ready to use: an expired OAuth 2 access token is
    /// refreshed first (once, however many callers ask at the same time).
    /// The flag says whether this call refreshed it.
    pub async fn fresh(self: &Arc<Self>, owner: &str, name: &str) -> OpResult<(CredentialInfo, Secret, bool)> {
        let (info, secret) = self.get_blocking(owner, name).await?;
        if !needs_refresh(&secret) {
            return Ok((info, secret, false));
        }
        let lock = self.refresh_lock(owner, name);
        let _one_at_a_time = lock.lock().await;
        // Another caller may have refreshed it while this one waited.
        let (info, secret) = self.get_blocking(owner, name).await?;
        if !needs_refresh(&secret) {
            return Ok((info, secret, false));
        }
        let (info, secret) = self.refresh_locked(owner, name, secret).await?;
        Ok((info, secret, true))
    }

    /// Refreshes an OAuth 2 credential now, whatever its expiry.
    pub async fn refresh(self: &Arc<Self>, owner: &str, name: &str) -> OpResult<CredentialInfo> {
        let lock = self.refresh_lock(owner, name);
        let _one_at_a_time = lock.lock().await;
        let (_, secret) = self.get_blocking(owner, name).await?;
        Ok(self.refresh_locked(owner, name, secret).await?.0)
    }

    async fn refresh_locked(
        self: &Arc<Self>,
        owner: &str,
        name: &str,
        secret: Secret,
    ) -> OpResult<(CredentialInfo, Secret)> {
        let Secret::Oauth2(mut tokens) = secret else {
            return Err(OpError::invalid(format!(
                "credential `{name}` is not an OAuth 2 credential; only those refresh"
            )));
        };
        let fresh = oauth::refresh(&tokens, now_secs()).await.map_err(|e| e.context(format!("refreshing `{name}`")))?;
        tokens.access_token = fresh.access_token;
        tokens.expires_at = fresh.expires_at;
        if let Some(rt) = fresh.refresh_token {
            tokens.refresh_token = Some(rt);
        }
        if !fresh.scopes.is_empty() {
            tokens.scopes = fresh.scopes;
        }
        let secret = Secret::Oauth2(tokens);
        let me = self.clone();
        let (o, n, s) = (owner.to_string(), name.to_string(), secret.clone());
        let info = tokio::task::spawn_blocking(move || me.store(&o, &n, &s))
            .await
            .map_err(|e| OpError::internal(format!("vault task failed: {e}")))??;
        tracing::info!(owner, credential = name, "refreshed an OAuth 2 access token");
        Ok((info, secret))
    }

    async fn get_blocking(self: &Arc<Self>, owner: &str, name: &str) -> OpResult<(CredentialInfo, Secret)> {
        let me = self.clone();
        let (o, n) = (owner.to_string(), name.to_string());
        tokio::task::spawn_blocking(move || me.get(&o, &n))
            .await
            .map_err(|e| OpError::internal(format!("vault task failed: {e}")))?
    }
}

fn needs_refresh(secret: &Secret) -> bool {
    matches!(secret, Secret::Oauth2(o) if o.expires_at.is_some_and(|e| e - EXPIRY_SKEW_SECS <= now_secs()))
}

fn damaged(name: &str, owner: &str) -> OpError {
    OpError::internal(format!(
        "credential `{name}` of `{owner}` failed its integrity check: the vault was altered or damaged; remove it and store it again"
    ))
}
