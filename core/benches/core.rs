//! Core benchmarks: the operation registry in-process and over the daemon
//! socket, and indexing throughput (cold and incremental).
//!
//! Run with `cargo bench -p sd-core --bench core`.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use sd_core::infra::daemon::{DaemonClient, Server};
use sd_core::{Caller, Core};
use serde_json::json;
use uuid::Uuid;

const FILES: usize = 2000;

fn make_tree(root: &std::path::Path) {
    for i in 0..FILES {
        let p = root.join(format!("d{}/e{}/f{i}.txt", i % 10, (i / 10) % 10));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("bench file {i} {}", "y".repeat(i % 4096))).unwrap();
    }
}

fn ping(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let core = Core::open(data.path()).unwrap();
    let payload = json!({ "message": "bench", "count": 1 });

    let mut group = c.benchmark_group("ping");
    group.throughput(Throughput::Elements(1));
    group.bench_function("in_process", |b| {
        b.to_async(&rt).iter(|| {
            let core = core.clone();
            let payload = payload.clone();
            async move { core.execute_json_operation("query:test.ping.v1", None, payload, Caller::Cli).await.unwrap() }
        })
    });

    let socket = data.path().join("bench.sock");
    let server = rt.block_on(Server::bind(&socket)).unwrap();
    let server_core = core.clone();
    rt.spawn(async move { server.run(server_core, std::future::pending()).await });
    let client = Arc::new(tokio::sync::Mutex::new(rt.block_on(DaemonClient::connect(&socket)).unwrap()));
    group.bench_function("socket", |b| {
        b.to_async(&rt).iter(|| {
            let client = client.clone();
            let payload = payload.clone();
            async move { client.lock().await.call("query:test.ping.v1", None, payload, |_| {}).await.unwrap() }
        })
    });
    group.finish();
}

fn indexing(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    make_tree(tree.path());
    let core = Core::open(data.path()).unwrap();
    let new_library = |core: &Arc<Core>| -> Uuid {
        let v = rt
            .block_on(core.execute_json_operation(
                "action:libraries.create.input.v1",
                None,
                json!({ "name": Uuid::new_v4().to_string() }),
                Caller::Cli,
            ))
            .unwrap();
        v["id"].as_str().unwrap().parse().unwrap()
    };

    let mut group = c.benchmark_group("indexing");
    group.sample_size(10).measurement_time(Duration::from_secs(20)).throughput(Throughput::Elements(FILES as u64));
    group.bench_function("cold_2000_files", |b| {
        b.iter_batched(
            || new_library(&core),
            |lib| {
                rt.block_on(core.execute_json_operation(
                    "action:locations.add.input.v1",
                    Some(lib),
                    json!({ "path": tree.path() }),
                    Caller::Cli,
                ))
                .unwrap()
            },
            BatchSize::PerIteration,
        )
    });
    let lib = new_library(&core);
    rt.block_on(core.execute_json_operation(
        "action:locations.add.input.v1",
        Some(lib),
        json!({ "path": tree.path() }),
        Caller::Cli,
    ))
    .unwrap();
    group.bench_function("incremental_2000_files_unchanged", |b| {
        b.iter(|| {
            rt.block_on(core.execute_json_operation(
                "action:locations.rescan.input.v1",
                Some(lib),
                json!({ "path": tree.path() }),
                Caller::Cli,
            ))
            .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, ping, indexing);
criterion_main!(benches);
