//! Human-readable output, and the CLI's one piece of state: the library
//! chosen with `sd library use`.

use std::path::Path;

use sd_core::OpResult;
use serde_json::{Value, json};
use uuid::Uuid;

const CLI_STATE: &str = "cli.json";

/// The library chosen with `sd library use`, if any.
pub fn read_current_library(data_dir: &Path) -> Option<Uuid> {
    let text = std::fs::read_to_string(data_dir.join(CLI_STATE)).ok()?;
    let v: Value = serde_json::from_str(&text).ok()?;
    v["current_library"].as_str()?.parse().ok()
}

/// Records the library chosen with `sd library use`.
pub fn write_current_library(data_dir: &Path, id: Uuid) -> OpResult<()> {
    std::fs::create_dir_all(data_dir)?;
    let tmp = data_dir.join(format!("{CLI_STATE}.tmp"));
    std::fs::write(&tmp, json!({ "current_library": id }).to_string())?;
    std::fs::rename(tmp, data_dir.join(CLI_STATE))?;
    Ok(())
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut x = n as f64;
    let mut i = 0;
    while x >= 1024.0 && i < UNITS.len() - 1 {
        x /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{n} B") } else { format!("{x:.1} {}", UNITS[i]) }
}

pub fn status(v: &Value, via: &str) {
    println!("sd-core {} ({via}, pid {})", s(&v["version"]), v["pid"]);
    println!("data dir    {}", s(&v["data_dir"]));
    println!("libraries   {}", v["libraries"]);
    println!("operations  {}", v["operations"]);
    println!("uptime      {}s", v["uptime_secs"]);
    println!("vault key   {}", s(&v["vault_key"]));
}

pub fn operations(v: &Value) {
    for op in v.as_array().into_iter().flatten() {
        println!(
            "{:45} {:8} {:9} {:11} {}",
            s(&op["method"]),
            s(&op["scope"]),
            s(&op["audience"]),
            s(&op["effect"]),
            s(&op["description"])
        );
    }
}

pub fn libraries(v: &Value, current: Option<Uuid>) {
    let libs = v.as_array().map(Vec::as_slice).unwrap_or_default();
    if libs.is_empty() {
        println!("No libraries. Create one with `sd library create NAME`.");
        return;
    }
    println!("  {:36}  {:20} {:>9} {:>9}", "ID", "NAME", "ENTRIES", "LOCATIONS");
    for l in libs {
        let mark = if current.map(|c| c.to_string()).as_deref() == l["id"].as_str() { "*" } else { " " };
        println!("{mark} {:36}  {:20} {:>9} {:>9}", s(&l["id"]), s(&l["name"]), l["entries"], l["locations"]);
    }
}

pub fn scan(v: &Value) {
    let loc = &v["location"];
    let r = &v["scan"];
    println!(
        "Indexed {} ({}): {} added, {} modified, {} moved, {} deleted, {} unchanged; hashed {} files ({}) in {:.2}s",
        s(&loc["path"]),
        s(&loc["id"]),
        r["added"],
        r["modified"],
        r["moved"],
        r["deleted"],
        r["unchanged"],
        r["files_hashed"],
        human_bytes(r["bytes_hashed"].as_u64().unwrap_or(0)),
        r["duration_ms"].as_u64().unwrap_or(0) as f64 / 1000.0
    );
    let count = r["warning_count"].as_u64().unwrap_or(0);
    if count > 0 {
        eprintln!("{count} warning(s):");
        for w in r["warnings"].as_array().into_iter().flatten() {
            eprintln!("  {}", s(w));
        }
    }
}

pub fn locations(v: &Value) {
    let locs = v.as_array().map(Vec::as_slice).unwrap_or_default();
    if locs.is_empty() {
        println!("No locations. Add one with `sd location add PATH`.");
        return;
    }
    for l in locs {
        let state = if l["scan_incomplete"].as_bool() == Some(true) { "  (last scan interrupted: rescan)" } else { "" };
        println!("{}  {}  {} entries{state}", s(&l["id"]), s(&l["path"]), l["entries"]);
    }
}

fn entry_line(e: &Value) -> String {
    let place = e["path"].as_str().unwrap_or_else(|| s(&e["name"]));
    format!("{}  {:8} {:>10}  {place}", s(&e["id"]), s(&e["kind"]), human_bytes(e["size"].as_u64().unwrap_or(0)))
}

pub fn entries(v: &Value) {
    let list = v["entries"].as_array().map(Vec::as_slice).unwrap_or_default();
    for e in list {
        println!("{}", entry_line(e));
    }
    println!("({} of {} entries)", list.len(), v["total"]);
}

pub fn entry_detail(v: &Value) {
    println!("{}", entry_line(v));
    for (key, label) in
        [("content_hash", "hash"), ("modified_at", "modified"), ("indexed_at", "indexed"), ("owner", "owner")]
    {
        if let Some(x) = v[key].as_str() {
            println!("  {label:9} {x}");
        }
    }
    if let Some(meta) = v["metadata"].as_object() {
        for (ns, keys) in meta {
            for (k, val) in keys.as_object().into_iter().flatten() {
                println!("  meta      {ns}.{k} = {val}");
            }
        }
    }
    for sc in v["sidecars"].as_array().into_iter().flatten() {
        println!(
            "  sidecar   {}/{} ({}, {})",
            s(&sc["namespace"]),
            s(&sc["name"]),
            s(&sc["content_type"]),
            human_bytes(sc["size"].as_u64().unwrap_or(0))
        );
    }
}

pub fn search(v: &Value) {
    let results = v["results"].as_array().map(Vec::as_slice).unwrap_or_default();
    let floor = v["min_score"].as_f64();
    if results.is_empty() {
        match (floor, v["best_score"].as_f64()) {
            (Some(floor), Some(best)) => println!(
                "Nothing close in meaning: the nearest of {} entries is {best:.2} similar, under the floor of {floor:.2} \
                 (--min-score lowers it).",
                v["compared"]
            ),
            _ => println!("No matches."),
        }
    } else {
        for hit in results {
            println!("{}", entry_line(&hit["entry"]));
            for r in hit["reasons"].as_array().into_iter().flatten() {
                println!("    matched {}: {}", s(&r["source"]), s(&r["snippet"]));
            }
        }
        match floor {
            Some(floor) => println!("({} of {} matches, similarity {floor:.2} or more)", results.len(), v["total"]),
            None => println!("({} of {} matches)", results.len(), v["total"]),
        }
        if v["ranking"] == "newest" {
            println!("(too many matches to rank by relevance: newest first; add words to narrow them)");
        }
    }
    if let Some(pending) = v["pending"].as_u64().filter(|p| *p > 0) {
        match v["job_id"].as_str() {
            Some(job) => println!("({pending} entries are still being embedded by job {job}; search again soon)"),
            None => println!("({pending} entries are not embedded yet)"),
        }
    }
}

pub fn jobs(v: &Value) {
    let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        println!("No jobs.");
        return;
    }
    for j in list {
        println!(
            "{}  {:10} {:>5.1}%  {}/{}  {}",
            s(&j["id"]),
            s(&j["state"]),
            j["progress"].as_f64().unwrap_or(0.0) * 100.0,
            s(&j["owner"]),
            s(&j["name"]),
            s(&j["message"])
        );
    }
}

pub fn job(j: &Value) {
    println!("job       {}  {}/{}", s(&j["id"]), s(&j["owner"]), s(&j["name"]));
    println!(
        "state     {} ({:.1}%) {}",
        s(&j["state"]),
        j["progress"].as_f64().unwrap_or(0.0) * 100.0,
        s(&j["message"])
    );
    println!(
        "metrics   {} items, {} bytes, {} checkpoints, {} runs",
        j["items"], j["bytes"], j["checkpoints"], j["runs"]
    );
    if let Some(e) = j["error"].as_str() {
        println!("error     {e}");
    }
    for w in j["warnings"].as_array().into_iter().flatten() {
        println!("warning   {}", s(w));
    }
    if !j["output"].is_null() {
        println!("output    {}", j["output"]);
    }
}

/// One event on one line: sequence, time, kind, entry, details.
pub fn event(ev: &Value) {
    let detail = ev["detail"]
        .as_object()
        .map(|d| d.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    println!("{:>8}  {}  {:18} {} {detail}", ev["seq"], s(&ev["at"]), s(&ev["kind"]), s(&ev["entry_id"]));
}
