//! The shipped binary's build settings. Line tables of every crate once made
//! `target/release/sd` 270 MB; `scripts/demo.sh`, which builds it, also
//! refuses a binary over 64 MiB.

use toml::{Table, Value};

fn workspace_manifest() -> Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.toml");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    text.parse().unwrap_or_else(|e| panic!("parse {path}: {e}"))
}

fn no_debug(v: Option<&Value>) -> bool {
    matches!(v, Some(Value::Boolean(false)) | Some(Value::Integer(0)))
        || v.and_then(Value::as_str).is_some_and(|s| s == "none")
}

#[test]
fn the_release_profile_ships_no_debug_sections_and_benches_keep_line_tables() {
    let manifest = workspace_manifest();
    let profiles = manifest["profile"].as_table().expect("[profile] tables");
    let release = profiles["release"].as_table().expect("[profile.release]");
    assert!(no_debug(release.get("debug")), "[profile.release] must set debug = false: {release:?}");
    let strip = release.get("strip");
    assert!(
        strip.and_then(Value::as_str).is_some_and(|s| s == "debuginfo" || s == "symbols")
            || strip.and_then(Value::as_bool) == Some(true),
        "[profile.release] must strip the standard library's debug info too: {release:?}"
    );
    for (name, over) in release.get("package").and_then(Value::as_table).into_iter().flatten() {
        assert!(over.get("debug").is_none_or(|d| no_debug(Some(d))), "{name} turns debug info back on");
    }
    for profile in ["profiling", "bench"] {
        let p = profiles[profile].as_table().unwrap_or_else(|| panic!("[profile.{profile}]"));
        assert_eq!(p.get("debug").and_then(Value::as_str), Some("line-tables-only"), "{profile}: {p:?}");
    }
}
