//! One-time tokens and the sessions they open. `sd ui` asks the daemon for
//! a URL carrying a token; the first request with it gets a session cookie
//! and the token is spent. Only BLAKE3 hashes of tokens and session ids are
//! kept, so a lookup's timing says nothing about a stored secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an unspent token stays valid.
pub const TOKEN_TTL: Duration = Duration::from_secs(120);
/// How long a session lasts without a request.
pub const SESSION_IDLE: Duration = Duration::from_secs(12 * 3600);
/// Most tokens waiting to be spent, and most open sessions; the oldest
/// make room.
const MAX_ENTRIES: usize = 64;

/// 256 random bits as hex, from the OS's generator (through UUID v4, whose
/// 122 random bits come from `getrandom`; three of them give 366).
fn secret() -> String {
    let mut s = String::with_capacity(96);
    for _ in 0..3 {
        s.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    s
}

fn digest(secret: &str) -> [u8; 32] {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

/// A map from secret digests to their deadlines (tokens) or last use (sessions).
#[derive(Default)]
struct Table(HashMap<[u8; 32], Instant>);

impl Table {
    fn insert(&mut self, key: [u8; 32], at: Instant, ttl: Duration) {
        let now = Instant::now();
        self.0.retain(|_, t| now.duration_since(*t) < ttl);
        while self.0.len() >= MAX_ENTRIES {
            // Bounded above; evicting the oldest keeps the newest working.
            let Some(oldest) = self.0.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) else { break };
            self.0.remove(&oldest);
        }
        self.0.insert(key, at);
    }
}

/// Tokens and sessions of one dashboard.
#[derive(Default)]
pub struct Sessions {
    tokens: Mutex<Table>,
    sessions: Mutex<Table>,
}

impl Sessions {
    /// A new one-time token.
    pub fn mint_token(&self) -> String {
        let token = secret();
        self.tokens.lock().unwrap_or_else(|p| p.into_inner()).insert(digest(&token), Instant::now(), TOKEN_TTL);
        token
    }

    /// Spends `token`; on success, a new session id.
    pub fn redeem(&self, token: &str) -> Option<String> {
        let issued = self.tokens.lock().unwrap_or_else(|p| p.into_inner()).0.remove(&digest(token))?;
        if issued.elapsed() >= TOKEN_TTL {
            return None;
        }
        let session = secret();
        self.sessions.lock().unwrap_or_else(|p| p.into_inner()).insert(digest(&session), Instant::now(), SESSION_IDLE);
        Some(session)
    }

    /// Whether `session` is open; a request keeps it open.
    pub fn check(&self, session: &str) -> bool {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        match sessions.0.get_mut(&digest(session)) {
            Some(last) if last.elapsed() < SESSION_IDLE => {
                *last = Instant::now();
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_opens_one_session_once() {
        let s = Sessions::default();
        let token = s.mint_token();
        assert_eq!(token.len(), 96);
        assert!(s.redeem("not a token").is_none());
        let session = s.redeem(&token).unwrap();
        assert!(s.redeem(&token).is_none(), "a token is spent on first use");
        assert!(s.check(&session));
        assert!(!s.check(&token));
        assert!(!s.check(""));
    }

    #[test]
    fn tables_stay_bounded() {
        let s = Sessions::default();
        let tokens: Vec<String> = (0..MAX_ENTRIES + 10).map(|_| s.mint_token()).collect();
        assert!(s.tokens.lock().unwrap().0.len() <= MAX_ENTRIES);
        assert!(s.redeem(tokens.last().unwrap()).is_some(), "the newest token still works");
    }
}
