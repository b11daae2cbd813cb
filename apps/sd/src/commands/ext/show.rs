//! The consent screen and the listings of `sd ext`.

use serde_json::Value;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

/// The permissions an installed extension holds (`sd ext info`).
fn print_grants(m: &Value) {
    let p = &m["permissions"];
    println!("{} {} ({})", s(&m["name"]), s(&m["version"]), s(&m["id"]));
    if !s(&m["description"]).is_empty() {
        println!("  {}", s(&m["description"]));
    }
    println!("Granted:");
    println!("  call operations under: {}", list(&p["methods"]));
    println!("  use libraries: {}", list(&p["libraries"]));
    let net = list(&p["network_access"]);
    println!("  reach the network: {}", if net.is_empty() { "no".to_string() } else { net });
    print_files(&m["consent"]);
    print_limits_and_provides(m);
}

/// What the extension may do with folders on disk, in the consent's words.
fn print_files(consent: &Value) {
    for line in consent["files"]["summary"].as_array().into_iter().flatten() {
        println!("  {}", s(line));
    }
}

fn list(v: &Value) -> String {
    v.as_array().map(|a| a.iter().map(|x| s(x).to_string()).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

fn print_limits_and_provides(m: &Value) {
    let p = &m["permissions"];
    println!(
        "  use up to {} MiB of memory and {} ms of CPU per call, {} requests per minute, {} jobs at once",
        p["max_memory_mb"],
        p["max_cpu_ms_per_call"],
        p["rate_limits"]["requests_per_minute"],
        p["rate_limits"]["concurrent_jobs"]
    );
    for op in m["operations"].as_array().into_iter().flatten() {
        println!("  provide operation {}", s(&op["method"]));
    }
    for job in m["jobs"].as_array().into_iter().flatten() {
        println!("  provide job {}", s(&job["name"]));
    }
    let events = list(&m["events"]);
    if !events.is_empty() {
        println!("  receive events: {events} (names, paths and metadata of entries in the libraries above)");
    }
}

/// The consent screen (`sd ext install` without `--yes`): per method prefix
/// the operations it reaches today, destructive ones marked; the libraries
/// and hosts asked for; and for an upgrade, what is new.
pub fn print_consent(inspection: &Value) {
    let m = &inspection["manifest"];
    let c = &inspection["consent"];
    println!("{} {} ({})", s(&m["name"]), s(&m["version"]), s(&m["id"]));
    if !s(&m["description"]).is_empty() {
        println!("  {}", s(&m["description"]));
    }
    print_publisher(inspection);
    if let Some(up) = c["upgrade"].as_object() {
        if up.get("asks_for_more").and_then(Value::as_bool).unwrap_or(true) {
            println!("Upgrade from {}: beyond what was granted before, it now asks to:", s(&up["from_version"]));
            for (key, what) in [
                ("added_methods", "call operations under"),
                ("added_libraries", "use libraries"),
                ("added_network", "reach hosts"),
                ("raised_limits", "raise limits"),
            ] {
                let items = list(&up[key]);
                if !items.is_empty() {
                    println!("  + {what}: {items}");
                }
            }
        } else {
            println!("Upgrade from {}: it asks for nothing beyond what was granted before.", s(&up["from_version"]));
        }
    }
    println!("It asks to:");
    let mut destructive = false;
    for grant in c["methods"].as_array().into_iter().flatten() {
        let reaches = grant["reaches"].as_array().map(Vec::as_slice).unwrap_or_default();
        if reaches.is_empty() {
            println!("  call operations under `{}`, which reaches none today", s(&grant["prefix"]));
        } else {
            println!("  call operations under `{}`, which today reaches:", s(&grant["prefix"]));
        }
        for op in reaches {
            let effect = s(&op["effect"]);
            let mark = if effect == "destructive" { "!" } else { " " };
            destructive |= effect == "destructive";
            let provider = match s(&op["provider"]) {
                "core" => String::new(),
                ext => format!(" (from extension {ext})"),
            };
            println!(
                "    {mark} {:11} {:40} {}{provider}",
                effect.to_uppercase(),
                s(&op["method"]),
                s(&op["description"])
            );
        }
        let people = list(&grant["people_only"]);
        if !people.is_empty() {
            println!("      not: {people} (for people only, refused to every extension)");
        }
    }
    let libraries: Vec<String> = c["libraries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| match (s(&l["id"]), l["name"].as_str()) {
            ("*", _) => "every library, present and future".to_string(),
            (id, Some(name)) => format!("{name} ({id})"),
            (id, None) => format!("{id} (not in this data dir)"),
        })
        .collect();
    println!("  use libraries: {}", if libraries.is_empty() { "none".to_string() } else { libraries.join(", ") });
    let net = list(&c["network"]);
    println!("  reach the network: {}", if net.is_empty() { "no".to_string() } else { format!("only {net}") });
    print_files(c);
    print_limits_and_provides(m);
    if destructive {
        println!("! marks operations that delete or overwrite data.");
    }
}

/// Who signed what is being installed, and where it comes from.
fn print_publisher(inspection: &Value) {
    let origin = &inspection["origin"];
    let from = match s(&origin["kind"]) {
        "url" => format!("downloaded from {}", s(&origin["url"])),
        "index" => format!("from index {} ({})", s(&origin["index"]), s(&origin["url"])),
        _ => s(&origin["path"]).to_string(),
    };
    match (inspection["publisher"]["fingerprint"].as_str(), s(&origin["kind"])) {
        (Some(fp), _) => println!("Publisher: key {fp} (signature verified); {from}"),
        (None, "local") => println!("Publisher: unsigned, built or placed on this machine ({from})"),
        (None, _) => println!("Publisher: unsigned: nothing says who made it or that it is unchanged ({from})"),
    }
}

/// Whether installing needs the person's consent: a first install, or an
/// upgrade asking for more than was granted.
pub fn needs_consent(inspection: &Value) -> bool {
    let up = &inspection["consent"]["upgrade"];
    up.is_null() || up["asks_for_more"].as_bool().unwrap_or(true)
}

pub fn print_list(v: &Value) {
    let list = v.as_array().map(Vec::as_slice).unwrap_or_default();
    if list.is_empty() {
        println!("No extensions. Install one with `sd ext install PATH|URL|ID`.");
        return;
    }
    for e in list {
        let state = match (s(&e["state"]), e["detail"].as_str(), e["where"].as_str()) {
            ("failed", Some(d), _) => format!("failed: {d}"),
            (st, _, Some(w)) => format!("{st} ({w})"),
            (st, _, None) => st.to_string(),
        };
        println!("{:24} {:10} {}", s(&e["id"]), s(&e["version"]), state);
    }
}

pub fn print_info(e: &Value) {
    print_grants(e);
    let state = match (e["detail"].as_str(), e["where"].as_str()) {
        (Some(d), _) => format!("{}: {d}", s(&e["state"])),
        (None, Some(w)) => format!("{} ({w})", s(&e["state"])),
        (None, None) => s(&e["state"]).to_string(),
    };
    println!("state      {state}");
    match e["publisher"]["fingerprint"].as_str() {
        Some(fp) => println!("publisher  {fp} (pinned: upgrades must be signed by this key)"),
        None => println!("publisher  none (installed unsigned)"),
    }
    println!("module     {} bytes, blake3 {}", e["module_size"], s(&e["module_hash"]));
    if let Some(w) = e["watching"].as_str() {
        println!("watching   {w}");
    }
    if let Some(r) = e["last_reload"].as_str() {
        println!("reload     {r}");
    }
    let st = &e["stats"];
    println!(
        "calls      {} (denied: {} by permission, {} by rate limit; {} bad requests; {} traps; {} restarts)",
        st["calls"], st["denied_permission"], st["denied_rate"], st["bad_requests"], st["traps"], st["restarts"]
    );
    println!("network    {} requests refused or cut off", st["network_refused"]);
    println!(
        "events     {} delivered, {} failed in the handler, {} lost to overflow",
        st["events_delivered"], st["events_failed"], st["events_overflowed"]
    );
    if let Some(err) = st["last_error"].as_str() {
        println!("last error {err}");
    }
}
