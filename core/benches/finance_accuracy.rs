//! Finance on real documents: imports the receipt scans in
//! `benches/data/receipts-de` and the invoice PDFs in
//! `benches/data/invoices-de-fr` (see each README for source, licence and
//! split) and prints, per field, how many it got right, then each document
//! it got wrong.
//!
//! Then the speed of reading the scans: `query:ai.ocr.v1` on each scan
//! beside the `tesseract` command with the same settings, one at a time on
//! a fresh cache, and the import beside `tesseract` over the scans with
//! `xargs -P2`.
//!
//! Run with `cargo bench -p sd-core --bench finance_accuracy` (after
//! building the extensions: `cd extensions && cargo build --release`). It
//! measures the `test` split; `SD_BENCH_SPLIT=dev` measures the split rules
//! are developed on; `SD_BENCH_SPEED=0` leaves out the speed measurements.
//! `SD_BENCH_DATA=DIR` measures another folder of documents with a
//! `truth.tsv` of the same columns (file, split, vendor, date, total,
//! currency). `SD_BENCH_TURN=1` turns each scan by 1.5 to 4 degrees, one
//! way or the other (fixed per file), before importing it: receipts laid
//! crooked on the scanner. `SD_LOG` (as for `sd`) logs to standard error.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use base64::Engine;

use serde_json::{Value, json};

/// One receipt's right answers, from `truth.tsv`.
struct Truth {
    file: String,
    vendor: String,
    date: String,
    total: f64,
    currency: String,
}

/// The folders measured: `SD_BENCH_DATA`, else the scans and the invoices
/// in `benches/data`.
fn corpora() -> Vec<PathBuf> {
    match std::env::var_os("SD_BENCH_DATA") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => ["receipts-de", "invoices-de-fr"]
            .iter()
            .map(|d| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("benches/data").join(d))
            .collect(),
    }
}

fn corpus(dir: &Path, split: &str) -> Vec<Truth> {
    // Cargo runs a bench in its package's folder (`core/`): a relative
    // `SD_BENCH_DATA` is read from there.
    let path = dir.join("truth.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.lines()
        .skip(1)
        .map(|l| l.split('\t').collect::<Vec<_>>())
        .filter(|c| c[1] == split)
        .map(|c| Truth {
            file: c[0].into(),
            vendor: c[2].into(),
            date: c[3].into(),
            total: c[4].parse().unwrap(),
            currency: c[5].into(),
        })
        .collect()
}

/// Letters and digits, lowercased: how vendor names are compared.
fn key(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// A vendor is right when the name read holds the merchant's name (a
/// receipt prints `ALDI SÜD` or `MEDIA MARKT TV-Hifi-Elektro GmbH`), or is
/// a fair part of it.
fn vendor_right(read: &str, want: &str) -> bool {
    let (read, want) = (key(read), key(want));
    read.contains(&want) || (read.len() >= 4 && want.contains(&read))
}

/// Seconds for `tesseract` (the settings `ai.ocr` uses) over `files`, at
/// most `parallel` at a time.
fn tesseract(dir: &Path, files: &[&str], parallel: usize) -> f64 {
    let list: String = files.iter().map(|f| format!("{}\0", dir.join(f).display())).collect();
    let start = Instant::now();
    let mut child = std::process::Command::new("xargs")
        .args([
            "-0",
            "-P",
            &parallel.to_string(),
            "-I{}",
            "tesseract",
            "{}",
            "stdout",
            "-l",
            "eng",
            "--psm",
            "4",
            "tsv",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(list.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    start.elapsed().as_secs_f64()
}

fn main() {
    // `SD_LOG=sd_core::services=debug` shows how each scan was prepared and
    // read, and how long each took.
    if let Ok(filter) = tracing_subscriber::EnvFilter::try_from_env("SD_LOG") {
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    let split = std::env::var("SD_BENCH_SPLIT").unwrap_or_else(|_| "test".into());
    let speed = std::env::var("SD_BENCH_SPEED").map_or(true, |v| v != "0");
    let turn = std::env::var("SD_BENCH_TURN").is_ok_and(|v| v == "1");
    for dir in corpora() {
        measure(&dir, &split, speed, turn);
    }
}

/// Copies a scan turned by 1.5 to 4 degrees, clockwise or not as its name's
/// hash says, on a canvas grown to keep its corners, filled with the tone
/// of the scan's border; other files are copied as they are.
fn copy_turned(from: &Path, to: &Path) {
    let Ok(img) = image::open(from) else {
        std::fs::copy(from, to).unwrap();
        return;
    };
    let img = img.to_luma8();
    let name = from.file_name().unwrap().as_encoded_bytes();
    // FNV-1a: a fixed angle per file, the same on every run.
    let hash = name.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    let degrees = (1.5 + (hash % 26) as f32 / 10.0) * if hash >> 32 & 1 == 1 { 1.0 } else { -1.0 };
    let (w, h) = img.dimensions();
    let mut border: Vec<u8> = (0..w).flat_map(|x| [img.get_pixel(x, 0).0[0], img.get_pixel(x, h - 1).0[0]]).collect();
    border.extend((0..h).flat_map(|y| [img.get_pixel(0, y).0[0], img.get_pixel(w - 1, y).0[0]]));
    border.sort_unstable();
    let fill = image::Luma([border[border.len() / 2]]);
    use imageproc::geometric_transformations::{Border, Interpolation, rotate_about_center_no_crop};
    let turned =
        rotate_about_center_no_crop(&img, degrees.to_radians(), Interpolation::Bicubic, Border::Constant(fill));
    let file = std::io::BufWriter::new(std::fs::File::create(to).unwrap());
    image::codecs::jpeg::JpegEncoder::new_with_quality(file, 85).encode_image(&turned).unwrap();
}

/// Imports one folder's split, prints per-field accuracy and the misses,
/// then (for scans, with `speed`) how fast they were read.
fn measure(dir: &Path, split: &str, speed: bool, turn: bool) {
    let truth = corpus(dir, split);
    assert!(!truth.is_empty(), "no documents in split `{split}` (test or dev) of {}", dir.display());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    // The documents measured, copied (or turned) into a folder of their own
    // that the import and the speed measurements read.
    let copies = tempfile::tempdir().unwrap();
    let folder = std::fs::canonicalize(copies.path()).unwrap();
    for t in &truth {
        if turn {
            copy_turned(&dir.join(&t.file), &folder.join(&t.file));
        } else {
            std::fs::copy(dir.join(&t.file), folder.join(&t.file)).unwrap();
        }
    }
    let (expenses, seconds) = rt.block_on(async {
        let data = tempfile::tempdir().unwrap();
        let (core, lib) = common::setup(data.path()).await;
        let (took, stats) = common::import(&core, lib, &folder).await;
        eprintln!("import: {stats}");
        let out = common::call(&core, "query:finance.expenses.v1", Some(lib), json!({})).await;
        let by_file: HashMap<String, Value> = out["expenses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["source"].as_str().unwrap().rsplit('/').next().unwrap().to_string(), e.clone()))
            .collect();
        (by_file, took.as_secs_f64())
    });

    let mut right = [0usize; 4];
    let mut found = 0;
    let mut misses = Vec::new();
    for t in &truth {
        let Some(e) = expenses.get(&t.file) else {
            misses.push(format!("{}: not found", t.file));
            continue;
        };
        found += 1;
        let vendor = e["vendor"].as_str().unwrap_or("");
        let date = e["date"].as_str().unwrap_or("");
        let total = e["total"].as_f64().unwrap_or(f64::NAN);
        let currency = e["currency"].as_str().unwrap_or("");
        let checks =
            [vendor_right(vendor, &t.vendor), date == t.date, (total - t.total).abs() < 0.005, currency == t.currency];
        for (n, ok) in right.iter_mut().zip(checks) {
            *n += usize::from(ok);
        }
        if checks.contains(&false) {
            misses.push(format!(
                "{}: read {vendor:?} {date} {total:.2} {currency}; want {} {} {:.2} {}",
                t.file, t.vendor, t.date, t.total, t.currency
            ));
        }
    }
    // Speed: `ai.ocr` one scan at a time on an empty cache, beside the
    // command; then the import beside the command on both cores.
    let files: Vec<&str> = truth.iter().map(|t| t.file.as_str()).collect();
    // `tesseract` reads images only: a folder of PDFs is not timed.
    let scans = files.iter().all(|f| !f.to_lowercase().ends_with(".pdf"));
    let speed = speed && scans;
    let ocr_seconds = if !speed {
        f64::NAN
    } else {
        rt.block_on(async {
            let data = tempfile::tempdir().unwrap();
            let core = sd_core::Core::open(data.path()).unwrap();
            let start = Instant::now();
            for f in &files {
                let b64 = base64::engine::general_purpose::STANDARD.encode(std::fs::read(folder.join(f)).unwrap());
                common::call(&core, "query:ai.ocr.v1", None, json!({ "data_base64": b64 })).await;
            }
            start.elapsed().as_secs_f64()
        })
    };
    let (one_at_a_time, two_at_a_time) =
        if speed { (tesseract(&folder, &files, 1), tesseract(&folder, &files, 2)) } else { (f64::NAN, f64::NAN) };

    let n = truth.len();
    let pct = |k: usize| format!("{k}/{n} ({:.0}%)", 100.0 * k as f64 / n as f64);
    let all: usize = right.iter().sum();
    let mut name = dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    if turn {
        name.push_str(", each scan turned 1.5 to 4 degrees");
    }
    println!("\nFinance on real documents ({name}, split `{split}`, {n} documents, {seconds:.0} s)");
    println!("{:<10} {}", "found", pct(found));
    for (name, k) in ["vendor", "date", "total", "currency"].iter().zip(right) {
        println!("{name:<10} {}", pct(k));
    }
    println!("{:<10} {:.0}%", "all fields", 100.0 * all as f64 / (4 * n) as f64);
    if speed {
        println!("\nreading the {n} scans                    seconds   ratio");
        println!("{:<40} {one_at_a_time:>7.1}   1.00", "tesseract, one at a time");
        println!("{:<40} {ocr_seconds:>7.1}   {:.2}", "ai.ocr, one at a time", ocr_seconds / one_at_a_time);
        println!("{:<40} {two_at_a_time:>7.1}   1.00", "tesseract, xargs -P2");
        println!("{:<40} {seconds:>7.1}   {:.2}", "finance import (both cores)", seconds / two_at_a_time);
    }
    println!("\nwrong or missing:");
    for m in misses {
        println!("  {m}");
    }
}
