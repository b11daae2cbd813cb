//! Enforcement of a manifest's permissions on every host call, and the
//! per-extension counters `sd ext info` shows.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::manifest::Permissions;
use crate::error::{ErrorCode, OpError, OpResult};

/// What an extension may do on the network: its allow-list, its response
/// size limit, and its own request budget.
pub struct NetworkGrant {
    /// `network_access` entries, as written in the manifest.
    pub allow: Vec<String>,
    /// Largest response body, in bytes.
    pub max_response_bytes: usize,
    extension: String,
    limiter: Limiter,
    rpm: u32,
}

impl NetworkGrant {
    /// Takes one request from the budget, or says to slow down.
    pub fn check_budget(&self) -> OpResult<()> {
        self.limiter.check().map_err(|_| {
            OpError::new(
                ErrorCode::RateLimited,
                format!(
                    "extension `{}` exceeded its budget of {} HTTP requests per minute; slow down or raise permissions.rate_limits.http_requests_per_minute",
                    self.extension, self.rpm
                ),
            )
        })
    }
}

/// The rate limiters' clock: the engine's epoch ticks, read with one atomic
/// load where governor's default clock reads the CPU's time-stamp counter,
/// about 1% of a host call. Limits are per minute, so steps of one tick
/// (5 ms) lose nothing.
#[derive(Clone)]
pub struct TickClock(Arc<AtomicU64>);

impl TickClock {
    /// A clock reading `ticks`, a counter of [`super::runtime::TICK`]s.
    pub fn new(ticks: Arc<AtomicU64>) -> TickClock {
        TickClock(ticks)
    }
}

impl Clock for TickClock {
    type Instant = Nanos;

    fn now(&self) -> Nanos {
        let tick = super::runtime::TICK.as_nanos() as u64;
        Nanos::from(std::time::Duration::from_nanos(self.0.load(Ordering::Relaxed).saturating_mul(tick)))
    }
}

/// A per-minute budget of calls or requests, on the engine's ticks.
type Limiter = RateLimiter<NotKeyed, InMemoryState, TickClock, NoOpMiddleware<Nanos>>;

/// The checks one extension's calls go through.
pub struct Guard {
    extension: Arc<str>,
    /// `<extension>.`: the prefix of the operations it provides itself.
    own_prefix: String,
    methods: Vec<String>,
    all_libraries: bool,
    libraries: Vec<Uuid>,
    limiter: Limiter,
    rpm: u32,
    network: Arc<NetworkGrant>,
}

impl Guard {
    /// Builds the guard for a validated manifest; `clock` counts the
    /// engine's ticks.
    pub fn new(extension: &str, p: &Permissions, clock: TickClock) -> Guard {
        let rpm = NonZeroU32::new(p.rate_limits.requests_per_minute).unwrap_or(NonZeroU32::MIN);
        let http_rpm = NonZeroU32::new(p.rate_limits.http_requests_per_minute).unwrap_or(NonZeroU32::MIN);
        Guard {
            extension: Arc::from(extension),
            own_prefix: format!("{extension}."),
            methods: p.methods.clone(),
            all_libraries: p.libraries.iter().any(|l| l == "*"),
            libraries: p.libraries.iter().filter_map(|l| l.parse().ok()).collect(),
            limiter: RateLimiter::direct_with_clock(Quota::per_minute(rpm), clock.clone()),
            rpm: rpm.get(),
            network: Arc::new(NetworkGrant {
                allow: p.network_access.clone(),
                max_response_bytes: p.max_response_mb as usize * 1024 * 1024,
                extension: extension.to_string(),
                limiter: RateLimiter::direct_with_clock(Quota::per_minute(http_rpm), clock),
                rpm: http_rpm.get(),
            }),
        }
    }

    /// What the extension may do on the network.
    pub fn network(&self) -> Arc<NetworkGrant> {
        self.network.clone()
    }

    /// The extension these checks are for.
    pub fn extension(&self) -> &str {
        &self.extension
    }

    /// The extension's id, shared.
    pub fn id(&self) -> &Arc<str> {
        &self.extension
    }

    /// Whether the extension may use this library.
    pub fn library_allowed(&self, id: Uuid) -> bool {
        self.all_libraries || self.libraries.contains(&id)
    }

    /// Checks one call: method prefix, library ACL, rate limit.
    /// `method` has been checked by the registry (a registered method, or
    /// one `parse_method` accepted), so its name is what follows the kind.
    pub fn check(&self, method: &str, library: Option<Uuid>) -> OpResult<()> {
        let Some((_, name)) = method.split_once(':') else {
            return Err(OpError::invalid(format!("method `{method}` has no kind; run `sd ops` for the list")));
        };
        // An extension may always call the operations it provides itself.
        let own = name.starts_with(&self.own_prefix);
        if !own && !self.methods.iter().any(|prefix| name.starts_with(prefix.as_str())) {
            return Err(OpError::denied(format!(
                "extension `{}` may not call `{method}`: add a prefix of `{name}` to permissions.methods in its manifest",
                self.extension
            )));
        }
        if let Some(lib) = library
            && !self.library_allowed(lib)
        {
            return Err(OpError::denied(format!(
                "extension `{}` may not use library {lib}: add it (or \"*\") to permissions.libraries",
                self.extension
            )));
        }
        if self.limiter.check().is_err() {
            return Err(OpError::new(
                ErrorCode::RateLimited,
                format!(
                    "extension `{}` exceeded its limit of {} requests per minute; slow down or raise permissions.rate_limits.requests_per_minute",
                    self.extension, self.rpm
                ),
            ));
        }
        Ok(())
    }
}

/// Counters of one extension, kept across reloads.
#[derive(Default)]
pub struct Stats {
    /// Host calls made.
    pub calls: AtomicU64,
    /// Calls denied by method or library permissions.
    pub denied_permission: AtomicU64,
    /// Calls denied by the rate limit.
    pub denied_rate: AtomicU64,
    /// Calls refused for bad pointers, sizes or encodings.
    pub bad_requests: AtomicU64,
    /// Guest traps (CPU, memory, stack, bugs).
    pub traps: AtomicU64,
    /// Times the instance was recreated after a trap.
    pub restarts: AtomicU64,
    /// Log lines dropped over the per-call log budget.
    pub logs_dropped: AtomicU64,
    /// HTTP requests refused or cut off (host not allowed, redirect,
    /// private address, size, budget, no answer in time).
    pub network_refused: AtomicU64,
    /// Events delivered to `on_event`.
    pub events_delivered: AtomicU64,
    /// Events whose handler failed or was cut off.
    pub events_failed: AtomicU64,
    /// Events dropped before delivery because the queue overflowed.
    pub events_overflowed: AtomicU64,
    /// The most recent denial or failure.
    pub last_error: Mutex<Option<String>>,
}

/// A snapshot of [`Stats`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StatsSnapshot {
    /// Host calls made.
    pub calls: u64,
    /// Calls denied by method or library permissions.
    pub denied_permission: u64,
    /// Calls denied by the rate limit.
    pub denied_rate: u64,
    /// Calls refused for bad pointers, sizes or encodings.
    pub bad_requests: u64,
    /// Guest traps.
    pub traps: u64,
    /// Instance restarts after traps.
    pub restarts: u64,
    /// Log lines dropped.
    pub logs_dropped: u64,
    /// HTTP requests refused.
    pub network_refused: u64,
    /// Events delivered.
    pub events_delivered: u64,
    /// Events whose handler failed.
    pub events_failed: u64,
    /// Events lost to queue overflow.
    pub events_overflowed: u64,
    /// The most recent denial or failure.
    pub last_error: Option<String>,
}

impl Stats {
    /// Records the outcome of a host call.
    pub fn record<T>(&self, result: &OpResult<T>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = result {
            let counter = match e.code {
                ErrorCode::PermissionDenied => Some(&self.denied_permission),
                ErrorCode::RateLimited => Some(&self.denied_rate),
                _ => None,
            };
            if let Some(c) = counter {
                c.fetch_add(1, Ordering::Relaxed);
            }
            self.set_last_error(e.to_string());
        }
    }

    /// Remembers the latest problem.
    pub fn set_last_error(&self, e: String) {
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(e);
        }
    }

    /// Current values.
    pub fn snapshot(&self) -> StatsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            calls: get(&self.calls),
            denied_permission: get(&self.denied_permission),
            denied_rate: get(&self.denied_rate),
            bad_requests: get(&self.bad_requests),
            traps: get(&self.traps),
            restarts: get(&self.restarts),
            logs_dropped: get(&self.logs_dropped),
            network_refused: get(&self.network_refused),
            events_delivered: get(&self.events_delivered),
            events_failed: get(&self.events_failed),
            events_overflowed: get(&self.events_overflowed),
            last_error: self.last_error.lock().ok().and_then(|l| l.clone()),
        }
    }
}
