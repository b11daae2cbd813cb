//! Finance import benchmarks, printed as a table: receipts per second for
//! text emails, OCR'd images beside the `tesseract` command on the same
//! images (the peer, in the same run), and the memory of a 10,000-receipt
//! import.
//!
//! Run with `cargo bench -p sd-core --bench finance` (after building the
//! extensions: `cd extensions && cargo build --release`). `SD_BENCH_RECEIPTS`
//! sets the size of the large import (default 10000).
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../tests/common/docs.rs"]
mod docs;
#[path = "../tests/common/receipts.rs"]
mod receipts;

use std::path::Path;
use std::time::Instant;

use common::{import, setup};
use receipts::Format;

/// Peak and current resident memory of this process, in MiB.
fn memory() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
            / 1024.0
    };
    (field("VmHWM:"), field("VmRSS:"))
}

fn write(dir: &Path, n: usize, formats: &[Format], offset: usize) {
    for i in 0..n {
        let case = receipts::one(offset + i, formats[i % formats.len()]);
        let path = dir.join(format!("{:02}", i % 100)).join(&case.file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &case.bytes).unwrap();
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let large: usize = std::env::var("SD_BENCH_RECEIPTS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let mut rows: Vec<(String, String, String)> = Vec::new();

    rt.block_on(async {
        // Text emails: plain and HTML bodies.
        let data = tempfile::tempdir().unwrap();
        let (core, lib) = setup(data.path()).await;
        let warm = tempfile::tempdir().unwrap();
        write(warm.path(), 20, &[Format::EmlText], 90_000);
        import(&core, lib, warm.path()).await; // loads the module and the model
        // Three imports of 1000 different emails each; the median is the figure.
        let n = 1000;
        let mut runs = Vec::new();
        for run in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            write(dir.path(), n, &[Format::EmlText, Format::EmlHtml], run * 10_000);
            let (t, stats) = import(&core, lib, dir.path()).await;
            assert_eq!(stats["imported"], n, "{stats}");
            runs.push(n as f64 / t.as_secs_f64());
        }
        let mut sorted = runs.clone();
        sorted.sort_by(f64::total_cmp);
        let all: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
        rows.push((
            "text emails, receipts/s".into(),
            format!("{:.0}", sorted[1]),
            format!("goal >= 200; median of 3 imports of {n} emails (plain and HTML): {}", all.join(", ")),
        ));

        // OCR'd images beside the tesseract command on the same files.
        let imgs = tempfile::tempdir().unwrap();
        let m = 12;
        write(imgs.path(), m, &[Format::Png], 50_000);
        let mut files = Vec::new();
        for sub in std::fs::read_dir(imgs.path()).unwrap() {
            for f in std::fs::read_dir(sub.unwrap().path()).unwrap() {
                files.push(f.unwrap().path());
            }
        }
        let start = Instant::now();
        for f in &files {
            let out = std::process::Command::new("tesseract").arg(f).arg("stdout").output().unwrap();
            assert!(out.status.success());
        }
        let cli = start.elapsed().as_secs_f64() / m as f64;
        let (t, stats) = import(&core, lib, imgs.path()).await;
        let ours = t.as_secs_f64() / m as f64;
        rows.push((
            "OCR'd image, s/receipt".into(),
            format!("{ours:.2}"),
            format!("tesseract CLI {cli:.2} s/image; ratio {:.2} (goal <= 1.2); {stats}", ours / cli),
        ));
        drop(core);

        // A large import, for memory.
        let data = tempfile::tempdir().unwrap();
        let (core, lib) = setup(data.path()).await;
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), large, &[Format::EmlText, Format::EmlHtml, Format::Txt, Format::Html], 100_000);
        let (_, before) = memory();
        let (t, stats) = import(&core, lib, dir.path()).await;
        let (peak, after) = memory();
        rows.push((
            format!("{large}-receipt import, memory"),
            format!("{peak:.0} MiB peak"),
            format!(
                "RSS {before:.0} MiB before, {after:.0} MiB after; {:.0} receipts/s; {stats}",
                large as f64 / t.as_secs_f64()
            ),
        ));
    });

    println!("\n{:<34} {:>14}  notes", "finance benchmark", "result");
    for (name, value, notes) in rows {
        println!("{name:<34} {value:>14}  {notes}");
    }
}
