//! How close a query comes to text with no meaning to a person, so that
//! semantic search can tell a match from noise for that query.
//!
//! One fixed floor does not do it: the model puts meaningless strings
//! (temporary folder names such as `.tmpBp7ZvJ`, hashes, numbered files,
//! log lines) nearer some queries than others. Against 300 random names,
//! "quarterly tax return" never passed 0.19 while "birthday party
//! invitation" reached 0.32. So each query is compared with a fixed sample of such strings, and
//! what is not clearly closer than that sample is noise for it.
//!
//! Measured with 40 everyday queries over 360 log files of six formats in
//! folders with random names: 9 queries found some log file 0.25 close or
//! more, 3 still do with this floor. Of 36 relevant names and texts that
//! passed 0.25, 35 still pass ("eurostar booking confirmation", 0.275 close
//! to "train tickets", no longer does).

use super::embed::cosine;

/// Strings in the sample.
const SAMPLES: usize = 96;
/// Robust standard deviations (1.4826 median absolute deviations) above the
/// sample's median that still count as noise.
const SPREAD: f32 = 4.0;

/// Strings without meaning to a person, in the shapes a library holds them
/// and as the entry text writes them (separators turned into spaces):
/// temporary folders of Rust, Python and `mktemp`, hashes, UUIDs, random
/// ids, numbered files, camera names, table rows, machine logs, versions.
/// Seeded, so every process compares against the same sample.
pub fn samples() -> Vec<String> {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789_";
    const HEX: &[u8] = b"0123456789abcdef";
    let mut rng = fastrand::Rng::with_seed(0x5d_2026);
    let mut text =
        |n: usize, from: &[u8]| -> String { (0..n).map(|_| char::from(from[rng.usize(..from.len())])).collect() };
    let mut out = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        // A number of its own per string, not drawn from `rng`: the closure
        // holds it mutably.
        let a = (i * 7919 + 17) % 10_000;
        out.push(match i % 12 {
            0 => format!(" tmp{}", text(6, ALNUM)),
            1 => format!("tmp{}", text(8, LOWER)),
            2 => format!("tmp {}", text(10, ALNUM)),
            3 => text(8 + i % 9, HEX),
            4 => [8, 4, 4, 4, 12].map(|n| text(n, HEX)).join(" "),
            5 => text(5 + i % 8, ALNUM),
            6 => format!("{a} {}", ["txt", "log", "dat", "json", "bin", "pdf"][i % 6]),
            7 => format!("IMG {} jpg", 20_200_000 + a),
            8 => format!("data {} csv\n{a},{}.{},{},2026-0{}-1{}", a % 50, a % 97, a % 1000, a % 100, 1 + a % 9, a % 9),
            9 => format!(
                "ts=2026-03-0{}T10:{:02}:00Z level=info module=sync count={a} elapsed={}ms",
                1 + a % 9,
                a % 60,
                a % 700
            ),
            10 => format!(
                "{} {} {}",
                ["file", "out", "data", "part", "chunk", "node", "batch", "run"][i % 8],
                a % 100,
                ["log", "txt", "csv", "out"][i % 4]
            ),
            _ => format!("v{}.{}.{} build {a} sha {}", a % 5, a % 20, a % 9, text(7, HEX)),
        });
    }
    out
}

/// Vectors of [`samples`] under one model.
pub struct NoiseSample {
    vectors: Vec<Vec<f32>>,
}

impl NoiseSample {
    /// A sample from the model's vectors of [`samples`].
    pub fn new(vectors: Vec<Vec<f32>>) -> Self {
        Self { vectors }
    }

    /// The similarity under which `query` (a unit vector) finds only noise:
    /// the median of its similarities to the sample plus [`SPREAD`] robust
    /// deviations (negative infinity for an empty sample). Median and
    /// deviation rather than mean and variance: a query about logs or
    /// photos is close to the few log lines or camera names in the sample,
    /// and those must not lift its floor.
    pub fn floor(&self, query: &[f32]) -> f32 {
        let mut scores: Vec<f32> = self.vectors.iter().map(|v| cosine(query, v)).collect();
        let Some(middle) = median(&mut scores) else {
            return f32::NEG_INFINITY;
        };
        let mut deviations: Vec<f32> = scores.iter().map(|s| (s - middle).abs()).collect();
        let mad = median(&mut deviations).unwrap_or(0.0);
        middle + SPREAD * 1.4826 * mad
    }
}

/// The median of `values` (reordered), `None` when empty.
fn median(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f32::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) { (values[mid - 1] + values[mid]) / 2.0 } else { values[mid] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_fixed_and_of_every_shape() {
        let a = samples();
        assert_eq!(a, samples());
        assert_eq!(a.len(), SAMPLES);
        assert!(a.iter().any(|s| s.starts_with(" tmp")) && a.iter().any(|s| s.split(' ').count() == 5));
        assert!(a.iter().any(|s| s.contains("level=info")) && a.iter().any(|s| s.starts_with("IMG ")));
    }

    #[test]
    fn the_floor_is_the_median_plus_the_spread_and_an_outlier_does_not_lift_it() {
        let sample =
            NoiseSample::new(vec![vec![0.1, 0.0], vec![0.2, 0.0], vec![0.3, 0.0], vec![0.4, 0.0], vec![1.0, 0.0]]);
        // Similarities 0.1, 0.2, 0.3, 0.4 and 1.0: median 0.3, deviations
        // 0.2, 0.1, 0, 0.1, 0.7 with median 0.1.
        let floor = sample.floor(&[1.0, 0.0]);
        assert!((floor - (0.3 + SPREAD * 1.4826 * 0.1)).abs() < 1e-5, "{floor}");
        assert_eq!(NoiseSample::new(Vec::new()).floor(&[1.0]), f32::NEG_INFINITY);
    }
}
