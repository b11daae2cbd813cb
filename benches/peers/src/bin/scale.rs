//! A library of 1,000,000 virtual entries (names, metadata, a text sidecar on
//! every tenth), built through `action:vdfs.create_entries.input.v1`, then
//! searched and listed through the registry as any client would.
//!
//! `scale [ENTRIES]` (default 1,000,000). Set `SD_SCALE_DIR` to keep the
//! library between runs: a directory that already holds one of the same size
//! is reused, so only the measurements run again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sd_core::{Caller, Core};
use sd_peers::{fmt, rss_mib};
use serde_json::{Value, json};
use tokio::runtime::Runtime;
use uuid::Uuid;

/// Words in the vocabulary; each entry's words are drawn Zipf-like from it,
/// so a few words are very common and most are rare, as in real names.
const VOCABULARY: usize = 5_000;
const CATEGORIES: [&str; 12] = [
    "groceries",
    "dining",
    "transport",
    "fuel",
    "utilities",
    "rent",
    "health",
    "travel",
    "office",
    "software",
    "clothing",
    "gifts",
];
const KINDS: [&str; 4] = ["document", "receipt", "photo", "note"];
const BATCH: usize = 1000;
/// Queries of each kind timed.
const QUERIES: usize = 300;

/// A small deterministic generator (SplitMix64): the corpus must be the same
/// on every run, and the bench needs no more than this.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// An index in `0..n`, low indexes far likelier (density ~ 1/x).
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (((n as f64 + 1.0).powf(u)) as usize).saturating_sub(1).min(n - 1)
    }
}

/// Pronounceable pseudo-words, distinct for distinct indexes.
fn word(i: usize) -> String {
    const ON: [&str; 16] = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st"];
    const NUC: [&str; 8] = ["a", "e", "i", "o", "u", "ai", "ou", "ei"];
    let mut w = String::new();
    let mut n = i;
    loop {
        w.push_str(ON[n % 16]);
        n /= 16;
        w.push_str(NUC[n % 8]);
        n /= 8;
        if n == 0 {
            break;
        }
    }
    w
}

fn exec(rt: &Runtime, core: &Arc<Core>, method: &str, lib: Option<Uuid>, payload: Value) -> Value {
    rt.block_on(core.execute_json_operation(method, lib, payload, Caller::Cli))
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

fn dir_bytes(path: &Path) -> u64 {
    let Ok(read) = std::fs::read_dir(path) else { return 0 };
    read.flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// Builds the library, or finds the one a previous run left.
fn library(rt: &Runtime, core: &Arc<Core>, dir: &Path, entries: usize) -> (Uuid, Option<f64>) {
    let marker = dir.join("scale-library");
    if let Ok(text) = std::fs::read_to_string(&marker)
        && let Some((id, n)) = text.trim().split_once(' ')
        && n.parse() == Ok(entries)
    {
        eprintln!("reusing the library of {entries} entries in {}", dir.display());
        return (id.parse().unwrap(), None);
    }
    let lib: Uuid = exec(rt, core, "action:libraries.create.input.v1", None, json!({ "name": "scale" }))["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let mut rng = Rng(42);
    let started = Instant::now();
    for batch in 0..entries.div_ceil(BATCH) {
        let items: Vec<Value> = (batch * BATCH..((batch + 1) * BATCH).min(entries))
            .map(|i| {
                let name = format!("{} {} {i}.pdf", word(rng.zipf(VOCABULARY)), word(rng.zipf(VOCABULARY)));
                let mut e = json!({
                    "name": name,
                    "kind": KINDS[rng.below(KINDS.len())],
                    "metadata": {
                        "category": CATEGORIES[rng.below(CATEGORIES.len())],
                        "vendor": word(rng.zipf(VOCABULARY)),
                        "amount": rng.below(100_000) as f64 / 100.0,
                    },
                });
                if i % 10 == 0 {
                    let text: Vec<String> = (0..30).map(|_| word(rng.zipf(VOCABULARY))).collect();
                    e["text_sidecars"] = json!({ "ocr.txt": text.join(" ") });
                }
                e
            })
            .collect();
        exec(rt, core, "action:vdfs.create_entries.input.v1", Some(lib), json!({ "entries": items }));
        if (batch + 1) % 50 == 0 {
            let done = (batch + 1) * BATCH;
            let rate = done as f64 / started.elapsed().as_secs_f64();
            eprintln!("{done} entries, {rate:.0}/s");
        }
    }
    let rate = entries as f64 / started.elapsed().as_secs_f64();
    std::fs::write(&marker, format!("{lib} {entries}")).unwrap();
    (lib, Some(rate))
}

/// p50, p99 and the largest of `times`.
fn percentiles(mut times: Vec<Duration>) -> (Duration, Duration, Duration) {
    times.sort();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    (at(0.5), at(0.99), times[times.len() - 1])
}

fn timed(rt: &Runtime, core: &Arc<Core>, lib: Uuid, method: &str, payloads: &[Value]) -> (Vec<Duration>, f64) {
    let mut times = Vec::with_capacity(payloads.len());
    let mut totals = 0u64;
    for p in payloads {
        let t = Instant::now();
        let out = exec(rt, core, method, Some(lib), p.clone());
        times.push(t.elapsed());
        totals += out["total"].as_u64().unwrap_or(0);
    }
    (times, totals as f64 / payloads.len() as f64)
}

fn main() {
    let entries: usize = std::env::args().nth(1).map_or(1_000_000, |n| n.parse().expect("ENTRIES is a number"));
    let rt = Runtime::new().unwrap();
    let (_temp, dir): (Option<tempfile::TempDir>, PathBuf) = match std::env::var_os("SD_SCALE_DIR") {
        Some(d) => {
            std::fs::create_dir_all(&d).unwrap();
            (None, PathBuf::from(d))
        }
        None => {
            let t = tempfile::tempdir().unwrap();
            let p = t.path().to_path_buf();
            (Some(t), p)
        }
    };
    let core = Core::open(&dir).unwrap();
    let (lib, insert_rate) = library(&rt, &core, &dir, entries);
    // Searches run on a library opened afresh, as after a daemon restart.
    drop(core);
    let core = Core::open(&dir).unwrap();
    let opened_rss = rss_mib("VmRSS:");

    println!("## A library of {entries} entries\n");
    if let Some(rate) = insert_rate {
        println!(
            "Built with `action:vdfs.create_entries.input.v1`, {BATCH} entries a call: {rate:.0} entries/s \
             (each with three metadata keys and its name indexed; a 30-word text sidecar on every tenth).\n"
        );
    }
    let mut rng = Rng(7);
    let one: Vec<Value> = (0..QUERIES).map(|_| json!({ "query": word(rng.below(VOCABULARY)) })).collect();
    let two: Vec<Value> = (0..QUERIES)
        .map(|_| json!({ "query": format!("{} {}", word(rng.below(VOCABULARY)), word(rng.below(VOCABULARY))) }))
        .collect();
    // Fewer of these: each reads a tenth or more of the library.
    let common: Vec<Value> = (0..QUERIES / 10).map(|_| json!({ "query": word(rng.below(20)) })).collect();
    let filtered: Vec<Value> = (0..QUERIES)
        .map(|_| {
            json!({
                "query": word(rng.below(VOCABULARY)),
                "where": [{ "namespace": "user", "key": "category", "value": CATEGORIES[rng.below(CATEGORIES.len())] }],
            })
        })
        .collect();
    let only_where: Vec<Value> = (0..QUERIES)
        .map(|_| {
            json!({
                "kind": KINDS[rng.below(KINDS.len())],
                "where": [{ "namespace": "user", "key": "vendor", "value": word(rng.zipf(VOCABULARY)) }],
            })
        })
        .collect();

    println!("### `query:search.v1` ({QUERIES} queries each, first page of 50)\n");
    println!("| query | p50 | p99 | max | mean matches |");
    println!("|---|---|---|---|---|");
    for (name, payloads) in [
        ("one word, any of the vocabulary", &one),
        ("one word among the 20 most common (30 queries)", &common),
        ("two words", &two),
        ("one word `--where user.category=…`", &filtered),
        ("no words: `--kind … --where user.vendor=…`", &only_where),
    ] {
        let (times, mean) = timed(&rt, &core, lib, "query:search.v1", payloads);
        let (p50, p99, max) = percentiles(times);
        println!("| {name} | {} | {} | {} | {mean:.0} |", fmt(p50), fmt(p99), fmt(max));
    }

    println!("\n### `query:vdfs.list_entries.v1` (pages of 100)\n");
    println!("| page | time |");
    println!("|---|---|");
    for offset in [0u64, 10_000, 500_000, entries as u64 - 100] {
        let payloads = vec![json!({ "limit": 100, "offset": offset }); 20];
        let (p50, _, _) = percentiles(timed(&rt, &core, lib, "query:vdfs.list_entries.v1", &payloads).0);
        println!("| offset {offset} | {} |", fmt(p50));
    }
    let payloads = vec![json!({ "limit": 100, "kind": "receipt", "offset": 100_000 }); 20];
    let (p50, _, _) = percentiles(timed(&rt, &core, lib, "query:vdfs.list_entries.v1", &payloads).0);
    println!("| kind `receipt`, offset 100000 | {} |", fmt(p50));

    let lib_dir = dir.join("libraries");
    println!(
        "\nOn disk: {:.0} MiB for the library folder (database, WAL, sidecars). Process memory: {:.0} MiB \
         resident after opening, {:.0} MiB after the queries, {:.0} MiB at peak (building included).",
        dir_bytes(&lib_dir) as f64 / (1024.0 * 1024.0),
        opened_rss,
        rss_mib("VmRSS:"),
        rss_mib("VmHWM:"),
    );
}
