//! `sd credentials`: file secrets for people and extensions without ever
//! putting them on the command line or showing them back.

use std::io::{IsTerminal, Read};

use clap::{Subcommand, ValueEnum};
use sd_core::{OpError, OpResult};
use serde_json::{Value, json};

use crate::ctx::Ctx;

/// The kinds `add` takes.
#[derive(Clone, Copy, ValueEnum)]
pub enum KindArg {
    /// An API key (sent as a bearer token).
    ApiKey,
    /// A username and password (HTTP basic auth).
    Password,
    /// OAuth 2 tokens, refreshed by the host when they expire.
    Oauth2,
}

#[derive(Subcommand)]
pub enum CredentialsCmd {
    /// Store a credential; the secret is read from a prompt, or from standard
    /// input when it is not a terminal (for oauth2: a JSON object with
    /// `access_token`, and optionally `refresh_token` and `client_secret`).
    Add {
        name: String,
        #[arg(long, value_enum)]
        kind: KindArg,
        /// File it under this extension (it may be installed later).
        #[arg(long = "for")]
        owner: Option<String>,
        /// The username (password credentials).
        #[arg(long)]
        username: Option<String>,
        /// The token endpoint (oauth2).
        #[arg(long)]
        token_url: Option<String>,
        /// The OAuth client id (oauth2).
        #[arg(long)]
        client_id: Option<String>,
        /// Seconds until the access token expires (oauth2).
        #[arg(long)]
        expires_in: Option<i64>,
        /// Scopes granted, comma-separated (oauth2).
        #[arg(long, value_delimiter = ',')]
        scopes: Vec<String>,
    },
    /// List credentials: owner, name, kind, expiry; never secrets.
    List,
    /// Delete a credential.
    Remove {
        name: String,
        /// The extension it is filed under (default: your own).
        #[arg(long = "for")]
        owner: Option<String>,
    },
}

/// Reads a secret: a hidden prompt on a terminal, else all of stdin.
fn read_secret(prompt: &str) -> OpResult<String> {
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).map_err(|e| OpError::invalid(format!("cannot read the secret: {e}")))?
    } else {
        let mut buf = String::new();
        std::io::stdin()
            .take(1024 * 1024)
            .read_to_string(&mut buf)
            .map_err(|e| OpError::invalid(format!("cannot read the secret from standard input: {e}")))?;
        buf
    };
    let text = text.trim_end_matches(['\n', '\r']).to_string();
    if text.is_empty() {
        return Err(OpError::invalid("the secret is empty"));
    }
    Ok(text)
}

fn required(v: Option<String>, flag: &str) -> OpResult<String> {
    v.ok_or_else(|| OpError::invalid(format!("{flag} is required for this kind")))
}

pub async fn run(ctx: &mut Ctx, cmd: CredentialsCmd) -> OpResult<()> {
    match cmd {
        CredentialsCmd::Add { name, kind, owner, username, token_url, client_id, expires_in, scopes } => {
            let secret = match kind {
                KindArg::ApiKey => json!({ "kind": "api_key", "key": read_secret("API key: ")? }),
                KindArg::Password => {
                    let username = required(username, "--username")?;
                    json!({ "kind": "password", "username": username, "password": read_secret("Password: ")? })
                }
                KindArg::Oauth2 => {
                    let tokens: Value = if std::io::stdin().is_terminal() {
                        let optional = |p: &str| read_secret(p).ok();
                        json!({
                            "access_token": read_secret("Access token: ")?,
                            "refresh_token": optional("Refresh token (Enter for none): "),
                            "client_secret": optional("Client secret (Enter for none): "),
                        })
                    } else {
                        serde_json::from_str(&read_secret("")?).map_err(|e| {
                            OpError::invalid(format!("standard input must be a JSON object with access_token: {e}"))
                        })?
                    };
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or(0);
                    json!({
                        "kind": "oauth2",
                        "access_token": tokens["access_token"],
                        "refresh_token": tokens.get("refresh_token").filter(|v| !v.is_null()),
                        "client_secret": tokens.get("client_secret").filter(|v| !v.is_null()),
                        "expires_at": expires_in.map(|s| now + s),
                        "token_url": required(token_url, "--token-url")?,
                        "client_id": required(client_id, "--client-id")?,
                        "scopes": scopes,
                    })
                }
            };
            let payload = json!({ "name": name, "secret": secret, "owner": owner });
            let v = ctx.call("action:credentials.store.input.v1", None, payload).await?;
            ctx.print(&v, |v| {
                println!(
                    "Stored credential {} for {}",
                    v["name"].as_str().unwrap_or(""),
                    v["owner"].as_str().unwrap_or("")
                )
            });
        }
        CredentialsCmd::List => {
            let v = ctx.call("query:credentials.list.v1", None, json!({})).await?;
            ctx.print(&v, |v| {
                let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
                if list.is_empty() {
                    println!("No credentials. Add one with `sd credentials add NAME --kind api-key`.");
                }
                for c in list {
                    let s = |k: &str| c[k].as_str().unwrap_or("").to_string();
                    let expiry = c["expires_at"].as_str().map(|e| format!("expires {e}")).unwrap_or_default();
                    println!("{:20} {:24} {:9} {}", s("owner"), s("name"), s("kind"), expiry);
                }
            });
        }
        CredentialsCmd::Remove { name, owner } => {
            let v =
                ctx.call("action:credentials.delete.input.v1", None, json!({ "name": name, "owner": owner })).await?;
            ctx.print(&v, |v| println!("Removed credential {} of {}", name, v["owner"].as_str().unwrap_or("")));
        }
    }
    Ok(())
}
