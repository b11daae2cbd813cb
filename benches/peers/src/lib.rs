//! Helpers shared by the benchmark binaries: medians of repeated runs and
//! table formatting.

use std::time::{Duration, Instant};

/// Repetitions per figure (the median is reported).
pub const REPS: usize = 51;

/// Median wall time of `reps` runs of `f`, after one warm-up run.
pub fn median(reps: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Median of `reps` runs of `setup` then `f`, timing only `f`.
pub fn median_with<S>(reps: usize, mut setup: impl FnMut() -> S, mut f: impl FnMut(S)) -> Duration {
    let mut times: Vec<Duration> = (0..=reps)
        .map(|_| {
            let s = setup();
            let t = Instant::now();
            f(s);
            t.elapsed()
        })
        .skip(1)
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// A duration for a table cell.
pub fn fmt(d: Duration) -> String {
    let ns = d.as_nanos() as f64;
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// The peak resident set of this process so far, in MiB.
pub fn peak_rss_mib() -> f64 {
    rss_mib("VmHWM:")
}

/// A memory figure of this process from `/proc/self/status` (`VmRSS:` now,
/// `VmHWM:` at peak), in MiB.
pub fn rss_mib(field: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Runs each measurement in turn, `rounds` times over, and returns each one's
/// median: on a machine whose speed drifts (shared, virtualised), the paths
/// compared then see the same conditions.
pub fn interleaved(rounds: usize, paths: &mut [&mut dyn FnMut() -> Duration]) -> Vec<Duration> {
    let mut times = vec![Vec::with_capacity(rounds); paths.len()];
    for _ in 0..rounds {
        for (path, t) in paths.iter_mut().zip(&mut times) {
            t.push(path());
        }
    }
    times
        .into_iter()
        .map(|mut t| {
            t.sort();
            t[t.len() / 2]
        })
        .collect()
}
