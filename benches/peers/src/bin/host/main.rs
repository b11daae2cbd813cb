//! The extension host beside Extism, and durable checkpoints beside a plain
//! rusqlite loop, measured in one run and printed as tables with ratios.
//!
//! Needs the release test-extension and the Extism guest; `run.sh` builds
//! both, then this binary in release mode. Each figure is the median of
//! several timed repetitions after a warm-up.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod ours;
mod peer;

use std::time::Duration;

use sd_peers::{REPS, fmt, interleaved, peak_rss_mib};

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bench = ours::Bench::new(&rt);
    // `host profile <raw|sdk|provided|instance|cached|checkpoint>` repeats one path
    // for a profiler (`perf record -g`), printing nothing.
    if let Some(path) = std::env::args().nth(2).filter(|_| std::env::args().nth(1).as_deref() == Some("profile")) {
        for _ in 0..200 {
            match path.as_str() {
                "raw" => {
                    let _ = bench.raw_per_call(&rt, 10_000, false, 1);
                }
                "sdk" => {
                    let _ = bench.sdk_per_call(&rt, 10_000, 1);
                }
                "provided" => {
                    let _ = bench.provided_op(&rt);
                }
                "instance" => {
                    let _ = bench.loading(&rt);
                }
                "cached" => bench.cached_loads(&rt, 20),
                "checkpoint" => {
                    let _ = bench.checkpoints(&rt, 1000);
                }
                other => panic!("no path `{other}` to profile"),
            }
        }
        return;
    }
    // `host calls [paths]`: only the per-call figures at n = 1,000 (or the
    // comma-separated paths named), for quick before-and-after comparisons
    // while working on the call path. `alt` is a second test-extension build
    // (`SD_BENCH_ALT_WASM=<path>`), to compare two guest builds in one
    // process: two builds of the host differ by a few percent from code
    // layout alone.
    if std::env::args().nth(1).as_deref() == Some("calls") {
        let only = std::env::args().nth(2);
        let paths: [(&str, &dyn Fn() -> Duration); 6] = [
            ("native", &|| bench.native_per_call(&rt, 1000, 1)),
            ("raw", &|| bench.raw_per_call(&rt, 1000, false, 1)),
            ("sdk", &|| bench.sdk_per_call(&rt, 1000, 1)),
            ("alt", &|| bench.alt_per_call(&rt, 1000, 1)),
            ("provided", &|| bench.provided_op(&rt)),
            ("provided-empty", &|| bench.provided_empty_op(&rt)),
        ];
        let wanted = |name: &str| match only.as_deref() {
            Some(list) => list.split(',').any(|o| o == name),
            None => name != "alt",
        };
        let chosen: Vec<_> = paths.iter().filter(|(name, _)| wanted(name)).collect();
        assert!(
            !chosen.is_empty(),
            "no path `{}`; paths (comma-separated): native, raw, sdk, alt, provided, provided-empty",
            only.unwrap_or_default()
        );
        let mut runs: Vec<Box<dyn FnMut() -> Duration>> =
            chosen.iter().map(|(_, f)| Box::new(*f) as Box<dyn FnMut() -> Duration>).collect();
        let got = interleaved(
            REPS,
            &mut runs.iter_mut().map(|r| &mut **r as &mut dyn FnMut() -> Duration).collect::<Vec<_>>(),
        );
        for ((name, _), t) in chosen.iter().zip(got) {
            println!("{name}: {}", fmt(t));
        }
        return;
    }
    // `host checkpoints`: only the durable checkpoints beside rusqlite.
    if std::env::args().nth(1).as_deref() == Some("checkpoints") {
        let plain = peer::rusqlite_checkpoints(1000);
        let (_, ours) = bench.checkpoints(&rt, 1000);
        println!(
            "rusqlite: {}, ours: {}, ratio {:.2}",
            fmt(plain),
            fmt(ours),
            plain.as_secs_f64() / ours.as_secs_f64()
        );
        return;
    }
    let mut extism = peer::Extism::new(bench.core.clone());

    println!("## Guest -> host -> guest: query:test.ping.v1 (per call)\n");
    println!("Calls made inside one guest call, n at a time; time per call.\n");
    let sizes = [1_000u32, 10_000, 50_000];
    println!("| path | n = 1,000 | n = 10,000 | n = 50,000 | vs native (n = 1,000) |");
    println!("|---|---|---|---|---|");
    // Every path at every size, interleaved round by round; the big sizes
    // take long enough to need fewer rounds.
    // Calls into guests first, the two hosts interleaved: Extism's runs of
    // 50,000 calls below grow the process heap by hundreds of MiB, which
    // slows every allocation measured after them.
    let provided = interleaved(
        REPS,
        &mut [&mut || bench.provided_op(&rt), &mut || bench.provided_empty_op(&rt), &mut || {
            extism.per_call_total(1, 1)
        }],
    );
    let rss_before = peak_rss_mib();
    let mut table: Vec<Vec<Duration>> = vec![Vec::new(); 5];
    for &n in &sizes {
        let rounds = if n > 1_000 { 5 } else { REPS };
        let got = interleaved(
            rounds,
            &mut [
                &mut || bench.native_per_call(&rt, n.min(1000), 1),
                &mut || bench.raw_per_call(&rt, n, false, 1),
                &mut || bench.raw_per_call(&rt, n, true, 1),
                &mut || bench.sdk_per_call(&rt, n, 1),
                &mut || extism.per_call(n, 1),
            ],
        );
        for (row, t) in table.iter_mut().zip(got) {
            row.push(t);
        }
    }
    let native = table[0][0];
    let names = [
        "native `execute_json_operation`",
        "ours, raw ABI, `spacedrive_call_buf` (WAT guest)",
        "ours, raw ABI, `spacedrive_call` (answer in a `wasm_alloc` block)",
        "ours, Rust SDK (test-extension `ping_loop`)",
        "Extism 1.30.0, Rust PDK, one host function",
    ];
    for (i, (name, times)) in names.iter().zip(&table).enumerate() {
        let cells: Vec<String> = if i == 0 {
            vec![fmt(times[0]), String::new(), String::new()]
        } else {
            times.iter().map(|t| fmt(*t)).collect()
        };
        let ratio = times[0].as_secs_f64() / native.as_secs_f64();
        println!("| {name} | {} | {ratio:.2}x |", cells.join(" | "));
    }
    println!("\nPeak RSS of the process: {rss_before:.0} MiB before these runs, {:.0} MiB after.", peak_rss_mib());

    println!("\n## Host -> guest: calling an operation an extension provides\n");
    println!("| path | time per call |");
    println!("|---|---|");
    println!("| ours: `execute_json_operation` -> guest handler (one ping back) -> result | {} |", fmt(provided[0]));
    println!(
        "| ours: `execute_json_operation` -> guest handler that answers `{{}}` at once -> result | {} |",
        fmt(provided[1])
    );
    println!("| Extism: `Plugin::call` of `ping_loop` with n = 1 | {} |", fmt(provided[2]));

    println!("\n## Loading (release test-extension; Extism guest of the same size class)\n");
    println!("| step | ours | Extism 1.30.0 |");
    println!("|---|---|---|");
    let (cold, cached, fresh) = bench.loading(&rt);
    let (e_cold, e_cached, e_fresh) = extism.loading();
    println!("| cold: compile with Cranelift, instantiate, init | {} | {} |", fmt(cold), fmt(e_cold));
    println!(
        "| cached: compiled module from the on-disk cache, instantiate, init | {} | {} |",
        fmt(cached),
        fmt(e_cached)
    );
    println!("| a fresh instance of a loaded module | {} | {} |", fmt(fresh), fmt(e_fresh));
    println!(
        "\nCold over cached: ours {:.0}x, Extism {:.0}x. Module sizes: test-extension {} bytes, Extism guest {} bytes.",
        cold.as_secs_f64() / cached.as_secs_f64(),
        e_cold.as_secs_f64() / e_cached.as_secs_f64(),
        bench.sdk_wasm_len(),
        extism.wasm_len(),
    );

    println!("\n## Durable checkpoints\n");
    println!("| path | 1,000 checkpoints | per second | vs rusqlite |");
    println!("|---|---|---|---|");
    let plain = peer::rusqlite_checkpoints(1000);
    let (empty_job, ours) = bench.checkpoints(&rt, 1000);
    let rate = |d: Duration| 1000.0 / d.as_secs_f64();
    println!(
        "| plain rusqlite loop: one UPDATE per IMMEDIATE transaction, WAL, synchronous=NORMAL | {} | {:.0} | 1.00 |",
        fmt(plain),
        rate(plain)
    );
    println!(
        "| guest `job_checkpoint` (test-extension `counter`, committed before it returns) | {} | {:.0} | {:.2} |",
        fmt(ours),
        rate(ours),
        rate(ours) / rate(plain)
    );
    println!(
        "\nDispatching an empty job and following it to completion (row insert, scheduling, fresh instance, \
         guest call, final state): {}.",
        fmt(empty_job)
    );
}
