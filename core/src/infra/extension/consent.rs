//! What a person is asked to agree to before an extension is installed: for
//! each method prefix, the operations it reaches today and which of them
//! delete or overwrite data; the libraries and network hosts asked for; and,
//! for an upgrade, what the new version asks for beyond the installed one.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::manifest::{Manifest, Permissions, ProvidedOperation};
use crate::infra::wire::{Audience, Effect, MethodKind, OperationEntry, operations, parse_method};

/// Core operations whose name (after `query:`/`action:`) starts with `prefix`.
pub fn core_operations_under(prefix: &str) -> Vec<&'static OperationEntry> {
    operations().iter().copied().filter(|e| parse_method(e.method).is_ok_and(|(_, n)| n.starts_with(prefix))).collect()
}

/// One operation a prefix reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ReachedOperation {
    /// Versioned method string.
    pub method: String,
    /// One-line description.
    pub description: String,
    /// What it does to data; `destructive` ones delete or overwrite.
    pub effect: Effect,
    /// `core`, or the id of the extension that provides it.
    pub provider: String,
}

/// One method prefix and what it reaches today.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PrefixGrant {
    /// The prefix, as written in the manifest.
    pub prefix: String,
    /// Operations the extension could call through it.
    pub reaches: Vec<ReachedOperation>,
    /// Operations under the prefix that are for people only, and so stay out
    /// of reach whatever the prefix says.
    pub people_only: Vec<String>,
}

/// A library asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LibraryGrant {
    /// `*` (every library, present and future) or a library id.
    pub id: String,
    /// The library's name, when it exists here.
    pub name: Option<String>,
}

/// What an upgrade asks for beyond the installed version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Upgrade {
    /// Version installed now.
    pub from_version: String,
    /// Method prefixes not covered by the installed grant.
    pub added_methods: Vec<String>,
    /// Libraries not covered by the installed grant.
    pub added_libraries: Vec<String>,
    /// Network hosts not covered by the installed grant.
    pub added_network: Vec<String>,
    /// Limits raised, as `name: old -> new`.
    pub raised_limits: Vec<String>,
    /// Whether any of the above is non-empty: the person must agree again.
    pub asks_for_more: bool,
}

impl Upgrade {
    /// Compares the permissions asked for with those granted.
    pub fn between(installed: &Manifest, new: &Permissions) -> Upgrade {
        let old = &installed.permissions;
        let added = |new: &[String], covered: &dyn Fn(&str) -> bool| -> Vec<String> {
            new.iter().filter(|n| !covered(n)).cloned().collect()
        };
        let mut raised = Vec::new();
        let mut limit = |name: &str, old: u32, new: u32| {
            if new > old {
                raised.push(format!("{name}: {old} -> {new}"));
            }
        };
        limit("max_memory_mb", old.max_memory_mb, new.max_memory_mb);
        limit("max_cpu_ms_per_call", old.max_cpu_ms_per_call, new.max_cpu_ms_per_call);
        limit("requests_per_minute", old.rate_limits.requests_per_minute, new.rate_limits.requests_per_minute);
        limit("concurrent_jobs", old.rate_limits.concurrent_jobs, new.rate_limits.concurrent_jobs);
        let added_methods = added(&new.methods, &|p| old.methods.iter().any(|o| p.starts_with(o.as_str())));
        let added_libraries = added(&new.libraries, &|l| old.libraries.iter().any(|o| o == "*" || o == l));
        let added_network = added(&new.network_access, &|h| old.network_access.iter().any(|o| host_covers(o, h)));
        let asks_for_more =
            !(added_methods.is_empty() && added_libraries.is_empty() && added_network.is_empty() && raised.is_empty());
        Upgrade {
            from_version: installed.version.clone(),
            added_methods,
            added_libraries,
            added_network,
            raised_limits: raised,
            asks_for_more,
        }
    }
}

/// Whether allow-list entry `granted` covers entry `asked`: the same entry,
/// or a `*.domain` pattern covering a name (or narrower pattern) under it.
fn host_covers(granted: &str, asked: &str) -> bool {
    if granted == asked {
        return true;
    }
    match granted.strip_prefix("*.") {
        Some(domain) => asked.trim_start_matches("*.").ends_with(&format!(".{domain}")),
        None => false,
    }
}

/// What an extension may do with files on disk, in the consent screen's
/// words: the folders a person granted it, and what those grants let it do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileAccess {
    /// Folders granted to it now (canonical paths); none before a person
    /// grants one with `sd ext grant`.
    pub granted: Vec<String>,
    /// Whether its methods reach operations that add or rescan locations.
    pub adds_locations: bool,
    /// Whether its methods reach operations that read the files behind
    /// entries (`vdfs.read_file`, OCR of an entry).
    pub reads_files: bool,
    /// The same in plain words, one sentence a line.
    pub summary: Vec<String>,
}

impl FileAccess {
    fn new(id: &str, granted: Vec<String>, reached: &[&str]) -> FileAccess {
        let reaches = |m: &str| reached.contains(&m);
        let adds_locations = reaches(ADD_LOCATION) || reaches(RESCAN_LOCATION);
        let reads_files = reaches(READ_FILE) || reaches(OCR);
        let mut summary = vec![match granted.is_empty() {
            true => {
                format!("Folders it can read and add: none until you grant one with `sd ext grant {id} --path DIR`.")
            }
            false => format!(
                "Folders it can read and add: {}, and everything below {}.",
                granted
                    .iter()
                    .map(|g| crate::vdfs::names::shown(std::path::Path::new(g)))
                    .collect::<Vec<_>>()
                    .join(", "),
                if granted.len() == 1 { "it" } else { "them" }
            ),
        }];
        if adds_locations {
            summary.push(
                "locations.add lets it index a folder granted to it into a library (the names, sizes and hashes of its files); never any other folder."
                    .to_string(),
            );
        }
        if reads_files {
            summary.push(
                "It reads the content of a file only when the file lies inside a folder granted to it, and never Spacedrive's data folder."
                    .to_string(),
            );
        }
        FileAccess { granted, adds_locations, reads_files, summary }
    }
}

const ADD_LOCATION: &str = "action:locations.add.input.v1";
const RESCAN_LOCATION: &str = "action:locations.rescan.input.v1";
const READ_FILE: &str = "query:vdfs.read_file.v1";
const OCR: &str = "query:ai.ocr.v1";

/// Everything the consent screen shows, for the CLI and the dashboard alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Consent {
    /// Each method prefix with what it reaches.
    pub methods: Vec<PrefixGrant>,
    /// Libraries asked for.
    pub libraries: Vec<LibraryGrant>,
    /// Network hosts asked for.
    pub network: Vec<String>,
    /// Folders on disk: what is granted, and what that lets it do.
    pub files: FileAccess,
    /// Set when a version of the extension is installed already.
    pub upgrade: Option<Upgrade>,
}

impl Consent {
    /// Builds the consent screen for `manifest`. `provided` lists the
    /// operations installed extensions provide; `library_name` names a
    /// library id; `installed` is the manifest granted before, if any;
    /// `granted` the folders granted to it now.
    pub fn new(
        manifest: &Manifest,
        installed: Option<&Manifest>,
        provided: &[(String, ProvidedOperation)],
        library_name: impl Fn(&str) -> Option<String>,
        granted: Vec<String>,
    ) -> Consent {
        let p = &manifest.permissions;
        let methods: Vec<PrefixGrant> = p
            .methods
            .iter()
            .map(|prefix| {
                let core = core_operations_under(prefix);
                let mut reaches: Vec<ReachedOperation> = core
                    .iter()
                    .filter(|e| e.audience != Audience::Person)
                    .map(|e| ReachedOperation {
                        method: e.method.to_string(),
                        description: e.description.to_string(),
                        effect: e.effect,
                        provider: "core".to_string(),
                    })
                    .collect();
                reaches.extend(
                    provided
                        .iter()
                        .filter(|(ext, op)| {
                            *ext != manifest.id && parse_method(&op.method).is_ok_and(|(_, n)| n.starts_with(prefix))
                        })
                        .map(|(ext, op)| ReachedOperation {
                            method: op.method.clone(),
                            description: op.description.clone(),
                            effect: match parse_method(&op.method) {
                                Ok((MethodKind::Query, _)) => Effect::Read,
                                _ => Effect::Write,
                            },
                            provider: ext.clone(),
                        }),
                );
                let people_only =
                    core.iter().filter(|e| e.audience == Audience::Person).map(|e| e.method.to_string()).collect();
                PrefixGrant { prefix: prefix.clone(), reaches, people_only }
            })
            .collect();
        let reached: Vec<&str> = methods.iter().flat_map(|g| g.reaches.iter().map(|r| r.method.as_str())).collect();
        let files = FileAccess::new(&manifest.id, granted, &reached);
        Consent {
            files,
            methods,
            libraries: p.libraries.iter().map(|l| LibraryGrant { id: l.clone(), name: library_name(l) }).collect(),
            network: p.network_access.clone(),
            upgrade: installed.map(|old| Upgrade::between(old, p)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest(perms: serde_json::Value) -> Manifest {
        let v = json!({ "id": "x", "name": "x", "version": "1", "permissions": perms });
        Manifest::parse(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_prefix_lists_what_it_reaches_and_marks_destructive_operations() {
        let m = manifest(json!({ "methods": ["vdfs.", "libraries."], "libraries": ["*"] }));
        let c = Consent::new(&m, None, &[], |_| None, Vec::new());
        let vdfs = &c.methods[0];
        let effect_of = |m: &str| vdfs.reaches.iter().find(|r| r.method == m).map(|r| r.effect);
        assert_eq!(effect_of("action:vdfs.create_entry.input.v1"), Some(Effect::Write));
        assert_eq!(effect_of("action:vdfs.update_metadata.input.v1"), Some(Effect::Destructive));
        assert_eq!(effect_of("query:vdfs.entry.v1"), Some(Effect::Read));
        let libs = &c.methods[1];
        assert!(libs.reaches.iter().any(|r| r.method == "query:libraries.list.v1"));
        assert!(libs.reaches.iter().all(|r| r.method != "action:libraries.remove.input.v1"));
        assert!(libs.people_only.contains(&"action:libraries.remove.input.v1".to_string()));
    }

    #[test]
    fn file_access_is_said_in_plain_words() {
        let m = manifest(json!({ "methods": ["vdfs.", "locations.add"], "libraries": ["*"] }));
        let none = Consent::new(&m, None, &[], |_| None, Vec::new()).files;
        assert!(none.adds_locations && none.reads_files);
        assert!(none.summary[0].contains("none until you grant one with `sd ext grant x --path DIR`"), "{none:?}");
        let some = Consent::new(&m, None, &[], |_| None, vec!["/home/a/Receipts".into()]).files;
        assert!(some.summary[0].contains("/home/a/Receipts, and everything below it."), "{some:?}");
        let narrow = manifest(json!({ "methods": ["search."], "libraries": ["*"] }));
        let files = Consent::new(&narrow, None, &[], |_| None, Vec::new()).files;
        assert!(!files.adds_locations && !files.reads_files && files.summary.len() == 1);
    }

    #[test]
    fn an_upgrade_names_only_what_is_new() {
        let old = manifest(json!({ "methods": ["vdfs."], "libraries": ["*"], "network_access": ["*.example.com"] }));
        let same =
            manifest(json!({ "methods": ["vdfs.entry"], "libraries": ["*"], "network_access": ["api.example.com"] }));
        assert!(!Upgrade::between(&old, &same.permissions).asks_for_more);
        let more = manifest(json!({
            "methods": ["vdfs.", "jobs."], "libraries": ["*"], "network_access": ["evil.org"], "max_memory_mb": 512
        }));
        let up = Upgrade::between(&old, &more.permissions);
        assert!(up.asks_for_more);
        assert_eq!(up.added_methods, vec!["jobs."]);
        assert_eq!(up.added_network, vec!["evil.org"]);
        assert_eq!(up.raised_limits, vec!["max_memory_mb: 64 -> 512"]);
        assert!(!host_covers("*.example.com", "example.com.evil.org"));
        assert!(!host_covers("*.example.com", "badexample.com"));
    }
}
