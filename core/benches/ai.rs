//! AI benchmarks: OCR of a rendered receipt beside the `tesseract` command
//! on the same image (the peer, in the same run), embeddings per second at
//! batch 1 and 32, classification latency, and semantic search latency over
//! 10,000 and 100,000 stored vectors.
//!
//! Run with `cargo bench -p sd-core --bench ai` (after `bash scripts/bootstrap.sh`).
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/docs.rs"]
mod docs;
#[path = "../tests/common/finance.rs"]
mod finance;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use docs::{Print, Row, png, render};
use sd_core::{Caller, Core};
use serde_json::{Value, json};

fn receipt_png() -> Vec<u8> {
    let mut rows = vec![Row::title("BLUE BOTTLE COFFEE"), Row::text("Date: 2026-04-12"), Row::text("")];
    for (i, item) in ["Latte", "Croissant", "Cold brew", "Scone", "Water"].iter().enumerate() {
        rows.push(Row::amount(item, &format!("{}.{:02}", 3 + i, 25 * i)));
    }
    rows.push(Row::amount("TOTAL", "$23.50"));
    png(&render(&rows, &Print { font: "DejaVuSans.ttf", px: 32.0, width: 820, noise: 20, degrees: 0.8, seed: 1 }))
}

async fn call(core: &Arc<Core>, method: &str, lib: Option<uuid::Uuid>, payload: Value) -> Value {
    core.execute_json_operation(method, lib, payload, Caller::Cli).await.unwrap()
}

fn ocr(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let image = receipt_png();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("receipt.png");
    std::fs::write(&file, &image).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(&image);
    let mut group = c.benchmark_group("ocr_page");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    group.bench_function("tesseract_cli_same_settings", |b| {
        b.iter(|| {
            let out = std::process::Command::new("tesseract")
                .args([file.to_str().unwrap(), "stdout", "--psm", "4", "tsv"])
                .output()
                .unwrap();
            assert!(out.status.success());
        })
    });
    group.bench_function("tesseract_cli_defaults", |b| {
        b.iter(|| {
            let out =
                std::process::Command::new("tesseract").args([file.to_str().unwrap(), "stdout"]).output().unwrap();
            assert!(out.status.success());
        })
    });
    // Uncached: a fresh data dir per iteration would measure Core::open, so
    // the cache file is removed instead.
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let cache = data.path().join("cache").join("ocr");
    group.bench_function("ai_ocr_uncached", |b| {
        b.to_async(&rt).iter(|| {
            let _ = std::fs::remove_dir_all(&cache);
            call(&core, "query:ai.ocr.v1", None, json!({ "data_base64": b64 }))
        })
    });
    group.bench_function("ai_ocr_cached", |b| {
        b.to_async(&rt).iter(|| call(&core, "query:ai.ocr.v1", None, json!({ "data_base64": b64 })))
    });
    group.finish();
}

fn embeddings(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let texts: Vec<String> =
        (0..32).map(|i| format!("Receipt {i}: two flat whites and a banana bread at a café downtown")).collect();
    rt.block_on(call(&core, "query:ai.embed.v1", None, json!({ "texts": ["warm up"] })));
    let mut group = c.benchmark_group("embed");
    for batch in [1usize, 32] {
        group.throughput(Throughput::Elements(batch as u64));
        let payload = json!({ "texts": texts[..batch] });
        group.bench_function(format!("batch_{batch}"), |b| {
            b.to_async(&rt).iter(|| call(&core, "query:ai.embed.v1", None, payload.clone()))
        });
    }
    group.finish();

    let labels = finance::categories();
    let payload = json!({ "text": "Uber trip to the airport", "labels": labels, "template": "an expense for {}" });
    rt.block_on(call(&core, "query:ai.classify_text.v1", None, payload.clone()));
    c.bench_function("classify_nine_labels", |b| {
        b.to_async(&rt).iter(|| call(&core, "query:ai.classify_text.v1", None, payload.clone()))
    });
}

/// A library with `n` virtual entries whose vectors are stored directly
/// (random unit vectors), so the bench measures ranking, not embedding.
fn library_with_vectors(rt: &tokio::runtime::Runtime, core: &Arc<Core>, n: usize) -> uuid::Uuid {
    let lib = rt.block_on(call(core, "action:libraries.create.input.v1", None, json!({ "name": format!("v{n}") })));
    let id: uuid::Uuid = lib["id"].as_str().unwrap().parse().unwrap();
    let library = rt.block_on(core.libraries().get(id)).unwrap();
    rt.block_on(library.write(move |tx| {
        let mut state = 0x9E3779B97F4A7C15u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        };
        let mut entry = tx.prepare(
            "INSERT INTO entries(uuid, name, kind, indexed_ns, owner) VALUES (?1, ?2, 'virtual', 0, 'bench')",
        )?;
        let mut vec = tx.prepare(
            "INSERT INTO entry_embeddings(entry_id, model, digest, vector, seq) VALUES (?1, 'all-MiniLM-L6-v2', '', ?2, ?1)",
        )?;
        for i in 0..n {
            entry.execute((uuid::Uuid::new_v4().to_string(), format!("entry {i}")))?;
            let row = tx.last_insert_rowid();
            let mut v: Vec<f32> = (0..384).map(|_| next()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter_mut().for_each(|x| *x /= norm);
            let blob: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            vec.execute((row, blob))?;
        }
        tx.execute("DELETE FROM embedding_queue", [])?;
        Ok(())
    }))
    .unwrap();
    id
}

fn semantic(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let mut group = c.benchmark_group("semantic_search");
    group.sample_size(20);
    for n in [10_000usize, 100_000] {
        let lib = library_with_vectors(&rt, &core, n);
        let payload = json!({ "query": "ride to the airport", "limit": 20 });
        // The first search loads the vectors into memory.
        rt.block_on(call(&core, "query:search.semantic.v1", Some(lib), payload.clone()));
        group.bench_function(format!("{n}_entries"), |b| {
            b.to_async(&rt).iter(|| call(&core, "query:search.semantic.v1", Some(lib), payload.clone()))
        });
    }
    group.finish();
}

criterion_group!(benches, ocr, embeddings, semantic);
criterion_main!(benches);
