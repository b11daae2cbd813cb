//! The dashboard in a real browser: headless Chromium from Debian, driven
//! through chromedriver, against a real `sd daemon`. A person opens the link
//! `sd ui` prints, searches, watches a job's bar, pauses and resumes it,
//! reads an extension's permissions, looks at the Finance chart and
//! recategorises an expense. Screenshots of every page are saved under
//! `target/tmp/dashboard-screenshots/` for people to look at.

#![allow(clippy::unwrap_used)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::common::{Daemon, pack_test_extension_as, sd, sd_json, serve_dir};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver on a free port, in a process group of its own that is
/// killed on drop, browsers included: a test that panics before closing its
/// session would leave Chromium running otherwise. Chromium keeps its
/// profile under the driver's own temp folder, removed after it.
struct Driver {
    child: Child,
    port: u16,
    _tmp: tempfile::TempDir,
}

impl Driver {
    fn start() -> Driver {
        for tool in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: `bash scripts/test.sh` installs the Debian packages chromium and chromium-driver"
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let tmp = tempfile::tempdir().unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .env("TMPDIR", tmp.path())
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver { child, port, _tmp: tmp }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The group's id is the driver's pid (`process_group(0)`).
        if let Some(group) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,1000", "--no-first-run", "--disable-extensions"]
        }),
    );
    // Plain HTTP to chromedriver on loopback: no TLS connector needed.
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{}", driver.port))
        .await
        .expect("a chromium session")
}

/// Polls `script` (a JS expression) until it is truthy; returns its value.
async fn until(client: &Client, what: &str, script: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let v = client.execute(&format!("return ({script});"), vec![]).await.unwrap();
        if !(v.is_null() || v == json!(false) || v == json!(0) || v == json!("")) {
            return v;
        }
        if Instant::now() > deadline {
            let body = client.execute("return document.body.innerText", vec![]).await.unwrap();
            panic!("timed out waiting for {what}; the page shows:\n{}", body.as_str().unwrap_or_default());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn shots_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn screenshot(client: &Client, name: &str) {
    let png = client.screenshot().await.unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
    std::fs::write(shots_dir().join(format!("{name}.png")), png).unwrap();
}

/// Six receipts in dollars, two a month from January to March 2026, and two
/// train tickets in pounds (January and February).
fn write_receipts(dir: &Path) {
    for (month, total) in [(1, 12.4), (2, 18.6)] {
        let body = format!(
            "Northern Rail\nLeeds Station, Leeds LS1 4DY\nDate: 2026-{month:02}-20\n\nOff-peak return Leeds to York    £{total:.2}\nTotal    £{total:.2}\nPaid by card\n"
        );
        std::fs::write(dir.join(format!("train-{month}.txt")), body).unwrap();
    }
    let shops = [("Harbor Coffee Roasters", "Cappuccino"), ("Fresh Fields Market", "Organic milk")];
    for month in 1..=3 {
        for (i, (shop, item)) in shops.iter().enumerate() {
            let total = 10.0 * month as f64 + i as f64 + 0.25;
            let body = format!(
                "{shop}\n100 Harbor Way, Springfield\nDate: 2026-{month:02}-1{i}\n\n{item}    {total:.2}\nSubtotal    {total:.2}\nTotal    ${total:.2}\nVISA **** 4242    {total:.2}\n\nThank you for shopping at {shop}!\n"
            );
            std::fs::write(dir.join(format!("receipt-{month}-{i}.txt")), body).unwrap();
        }
    }
}

/// Searches for `words` on the search page; the first hit's name.
async fn first_hit(client: &Client, words: &str) -> Value {
    let q = client.wait().for_element(Locator::Css("#search-query")).await.unwrap();
    q.clear().await.unwrap();
    q.send_keys(words).await.unwrap();
    client.find(Locator::Css("#search-form button")).await.unwrap().click().await.unwrap();
    until(client, "a hit", "document.querySelector('#search-results .hit .name')?.textContent").await
}

fn number(text: &str) -> f64 {
    text.chars().filter(|c| c.is_ascii_digit() || *c == '.').collect::<String>().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_uses_the_dashboard_in_a_real_browser() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let files = tempfile::tempdir().unwrap();
    let hostile = "<img src=x onerror=\"document.title='pwned'\">.txt";
    std::fs::write(files.path().join("coffee notes.txt"), "beans from the harbor").unwrap();
    std::fs::write(files.path().join(hostile), "not markup").unwrap();
    let receipts = tempfile::tempdir().unwrap();
    write_receipts(receipts.path());

    let _daemon = Daemon::start(dir);
    sd_json(dir, &["library", "create", "home"]);
    sd_json(dir, &["location", "add", files.path().to_str().unwrap()]);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../extensions");
    sd_json(dir, &["ext", "install", root.join("finance").to_str().unwrap(), "--yes"]);
    let input = json!({ "path": receipts.path() }).to_string();
    // Without a grant the CLI stops before starting the job, naming the
    // command; `--grant` grants the folder and goes on.
    let refused = sd(dir, &["ext", "run", "finance", "import", &input]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("sd ext grant finance --path"), "{said}");
    let import = sd(dir, &["ext", "run", "finance", "import", &input, "--grant"]);
    assert!(import.status.success(), "{}", String::from_utf8_lossy(&import.stderr));
    let imported = sd_json(dir, &["call", "query:finance.expenses.v1", "{}"]);
    assert_eq!(imported["count"], 8, "{imported}");

    let url = sd_json(dir, &["ui", "--no-open"])["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.contains("/?token="), "{url}");
    let origin = url.split("/?").next().unwrap().to_string();

    let driver = Driver::start();
    let client = browser(&driver).await;

    // The link opens a session and leaves the token out of the address bar.
    client.goto(&url).await.unwrap();
    until(&client, "the overview", "document.querySelector('[data-stat=entries] b')").await;
    assert_eq!(client.current_url().await.unwrap().as_str(), format!("{origin}/"));
    let lib = until(&client, "the library picker", "document.querySelector('#library option')?.textContent").await;
    assert_eq!(lib, "home");
    until(&client, "the location", &format!("document.body.innerText.includes({:?})", files.path().to_str().unwrap()))
        .await;
    screenshot(&client, "1-overview").await;

    // Search, and a hostile name shown as text.
    client.goto(&format!("{origin}/#/search")).await.unwrap();
    assert_eq!(first_hit(&client, "notes").await, "coffee notes.txt");
    client.find(Locator::Css("#search-results .hit")).await.unwrap().click().await.unwrap();
    until(
        &client,
        "the entry's detail",
        "document.querySelector('#entry-card h3')?.textContent === 'coffee notes.txt'",
    )
    .await;
    screenshot(&client, "2-search").await;
    assert_eq!(first_hit(&client, "img").await, hostile, "the name is shown as it is");
    let images = client.find_all(Locator::Css("#search-results img")).await.unwrap();
    assert!(images.is_empty(), "the name became an element");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let title = client.execute("return document.title", vec![]).await.unwrap();
    assert_eq!(title, "Spacedrive", "a handler in an entry name ran");
    screenshot(&client, "2-search-hostile-name").await;
    // By meaning: the receipt is found; for an unrelated query the page
    // says nothing is close, with how near the nearest came.
    client.find(Locator::Css("#search-semantic")).await.unwrap().click().await.unwrap();
    let hit = first_hit(&client, "a cafe purchase").await;
    assert!(hit.as_str().unwrap().starts_with("receipt-") || hit == "coffee notes.txt", "{hit}");
    let total = client.find(Locator::Css("#search-total")).await.unwrap().text().await.unwrap();
    // The floor shown is 0.25 or the query's own noise level, if higher.
    let floor: f64 = total
        .split("similarity ")
        .nth(1)
        .and_then(|rest| rest.strip_suffix(" or more)"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no floor in {total:?}"));
    assert!((0.25..0.5).contains(&floor), "{total}");
    let q = client.find(Locator::Css("#search-query")).await.unwrap();
    q.clear().await.unwrap();
    q.send_keys("wedding speech draft").await.unwrap();
    client.find(Locator::Css("#search-form button")).await.unwrap().click().await.unwrap();
    let said = until(
        &client,
        "nothing close",
        "document.querySelector('#search-total')?.textContent.includes('nothing close in meaning') && document.querySelector('#search-total').textContent",
    )
    .await;
    assert!(said.as_str().unwrap().starts_with("0 matches"), "{said}");
    assert!(client.find_all(Locator::Css("#search-results .hit")).await.unwrap().is_empty());

    // Extensions: what they may do, in words; installing one from a path
    // through the same consent screen as the CLI.
    client.goto(&format!("{origin}/#/extensions")).await.unwrap();
    let card = until(&client, "Finance's card", "document.querySelector('[data-extension=finance]')?.innerText").await;
    let card = card.as_str().unwrap();
    assert!(card.contains("May call vdfs.*") && card.contains("gmail.googleapis.com"), "{card}");
    assert!(card.contains("every library") && card.contains("deletes or overwrites data"), "{card}");
    // Its folders: the one granted on the command line, revoked and granted
    // again from the page.
    let granted = std::fs::canonicalize(receipts.path()).unwrap().display().to_string();
    assert!(card.contains("Folders it can read and add:") && card.contains(&granted), "{card}");
    client.find(Locator::Css("[data-grants=finance] button[data-action=revoke]")).await.unwrap().click().await.unwrap();
    until(
        &client,
        "the revoked grant",
        "document.querySelector('[data-grants=finance]')?.innerText.includes('reads no file until you grant')",
    )
    .await;
    let none = sd_json(dir, &["call", "query:grants.list.v1", r#"{"extension": "finance"}"#]);
    assert_eq!(none, json!([]), "{none}");
    let field = client.find(Locator::Css("form[data-grant-form=finance] input")).await.unwrap();
    field.send_keys(&granted).await.unwrap();
    client.find(Locator::Css("form[data-grant-form=finance] button")).await.unwrap().click().await.unwrap();
    until(
        &client,
        "the granted folder",
        "document.querySelector('[data-grants=finance] li[data-grant]')?.dataset.grant",
    )
    .await;
    let again = sd_json(dir, &["call", "query:grants.list.v1", r#"{"extension": "finance"}"#]);
    assert_eq!(again[0]["path"], granted.as_str(), "{again}");
    client.execute("document.querySelector('[data-grants=finance]').scrollIntoView()", vec![]).await.unwrap();
    screenshot(&client, "3-extension-grants").await;
    // A signed package of test-extension, installed from the page; the
    // consent names its publisher.
    let site = tempfile::tempdir().unwrap();
    let key = sd_json(dir, &["ext", "key", "new", "publisher"]);
    let v1 = pack_test_extension_as(dir, "publisher", site.path(), "1.0.0", &[]);
    let path = client.find(Locator::Css("#install-path")).await.unwrap();
    path.send_keys(v1["output"].as_str().unwrap()).await.unwrap();
    client.find(Locator::Css("#install-path ~ button")).await.unwrap().click().await.unwrap();
    let review =
        until(&client, "the consent screen", "document.querySelector('#install-review h3')?.textContent").await;
    assert!(review.as_str().unwrap().contains("test-extension"), "{review}");
    let asks = client.find(Locator::Css("#install-review")).await.unwrap().text().await.unwrap();
    assert!(asks.contains("May call test.*"), "{asks}");
    let fingerprint = key["publisher"]["fingerprint"].as_str().unwrap();
    assert!(asks.contains(&format!("Publisher: key {fingerprint} (signature verified)")), "{asks}");
    client.execute("document.querySelector('#install-review').scrollIntoView()", vec![]).await.unwrap();
    screenshot(&client, "3-extension-consent").await;
    client.find(Locator::Css("#install-confirm")).await.unwrap().click().await.unwrap();
    until(
        &client,
        "the installed extension",
        "document.querySelector('[data-extension=test-extension] .pill')?.textContent === 'loaded'",
    )
    .await;
    screenshot(&client, "4-extensions").await;

    // An index offers 2.0.0, which asks for `http.` too: listed under
    // Updates, reviewed with the same consent, then installed.
    let v2 = pack_test_extension_as(dir, "publisher", site.path(), "2.0.0", &["http."]);
    assert_eq!(v2["version"], "2.0.0");
    sd_json(dir, &["ext", "index", "build", site.path().to_str().unwrap()]);
    let base = serve_dir(site.path());
    sd_json(dir, &["ext", "index", "add", &format!("{base}/index.json")]);
    client.refresh().await.unwrap();
    let offered =
        until(&client, "the update", "document.querySelector('#updates [data-update=test-extension]')?.textContent")
            .await;
    assert!(offered.as_str().unwrap().contains("1.0.0 → 2.0.0"), "{offered}");
    client.find(Locator::Css("#updates [data-update=test-extension] button")).await.unwrap().click().await.unwrap();
    let asks =
        until(&client, "the update's consent", "document.querySelector('#update-review .card')?.innerText").await;
    let asks = asks.as_str().unwrap();
    assert!(asks.contains("Upgrade from 1.0.0: asks for more (http.)"), "{asks}");
    assert!(asks.contains(fingerprint), "{asks}");
    client.execute("document.querySelector('#update-review').scrollIntoView()", vec![]).await.unwrap();
    screenshot(&client, "4-extension-update").await;
    client.find(Locator::Css("#update-review #install-confirm")).await.unwrap().click().await.unwrap();
    until(
        &client,
        "the updated extension",
        "document.querySelector('[data-extension=test-extension] h3')?.textContent.includes('2.0.0')",
    )
    .await;
    assert_eq!(sd_json(dir, &["ext", "info", "test-extension"])["version"], "2.0.0");

    // A job's bar, live; paused and resumed from the page.
    let job = sd_json(
        dir,
        &[
            "ext",
            "run",
            "test-extension",
            "counter",
            r#"{"current":0,"target":150,"checkpoint_every":1,"sleep_ms":60}"#,
            "--detach",
        ],
    );
    let id = job["id"].as_str().unwrap().to_string();
    client.goto(&format!("{origin}/#/jobs")).await.unwrap();
    let row = format!("tr[data-job='{id}']");
    until(&client, "the job running", &format!("document.querySelector(\"{row}\")?.dataset.state === 'running'")).await;
    // The button a person aims at stays the same element while progress
    // redraws its row: found before the bar moves, it is still there to press.
    let pause = client.find(Locator::Css(&format!("{row} button[data-action=pause]"))).await.unwrap();
    let seen = until(&client, "the bar", &format!("document.querySelector(\"{row}\").dataset.progress")).await;
    let moved = format!("document.querySelector(\"{row}\").dataset.progress !== {seen}");
    until(&client, "the bar moving", &moved).await;
    pause.click().await.unwrap();
    until(&client, "the job paused", &format!("document.querySelector(\"{row}\")?.dataset.state === 'paused'")).await;
    assert_eq!(sd_json(dir, &["job", "info", &id])["state"], "paused");
    let paused_at: u32 = until(&client, "the bar", &format!("document.querySelector(\"{row}\").dataset.progress"))
        .await
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(paused_at < 100, "paused at {paused_at}%");
    screenshot(&client, "5-jobs-paused").await;
    client.find(Locator::Css(&format!("{row} button[data-action=resume]"))).await.unwrap().click().await.unwrap();
    until(&client, "the job completed", &format!("document.querySelector(\"{row}\")?.dataset.state === 'completed'"))
        .await;
    let bar =
        until(&client, "a full bar", &format!("document.querySelector(\"{row} .progress > span\").style.width")).await;
    assert_eq!(bar, "100%");
    assert_eq!(client.find(Locator::Css(&format!("{row} .pct"))).await.unwrap().text().await.unwrap(), "100%");
    let info = sd_json(dir, &["job", "info", &id]);
    assert_eq!((info["state"].as_str(), info["runs"].as_u64()), (Some("completed"), Some(2)), "{info}");
    screenshot(&client, "6-jobs-done").await;

    // Finance's chart: one bar per month, in the most used currency only,
    // named on the axis; the others are offered in the currency filter.
    client.goto(&format!("{origin}/#/view/finance/monthly")).await.unwrap();
    until(&client, "the chart", "document.querySelectorAll('svg.chart g.bar').length === 3").await;
    let months = client
        .execute("return [...document.querySelectorAll('svg.chart g.bar')].map(g => g.dataset.x)", vec![])
        .await
        .unwrap();
    assert_eq!(months, json!(["2026-01", "2026-02", "2026-03"]));
    let unit = "return document.querySelector('svg.chart text.unit')?.textContent";
    assert_eq!(client.execute(unit, vec![]).await.unwrap(), "USD");
    let choices = "return [...document.querySelectorAll('form[data-filters=monthly] select[name=currency] option')].map(o => o.value)";
    assert_eq!(client.execute(choices, vec![]).await.unwrap(), json!(["USD", "GBP"]));
    let january = "return [...document.querySelectorAll('svg.chart g.bar[data-x=\"2026-01\"] rect')].reduce((a, r) => a + Number(r.dataset.value), 0)";
    let usd = client.execute(january, vec![]).await.unwrap().as_f64().unwrap();
    assert!((usd - (10.25 + 11.25)).abs() < 0.001, "January in dollars alone: {usd}");
    screenshot(&client, "7-finance-chart").await;
    let currency = client.find(Locator::Css("form[data-filters=monthly] select[name=currency]")).await.unwrap();
    currency.select_by_value("GBP").await.unwrap();
    until(&client, "the pounds", "document.querySelector('svg.chart text.unit')?.textContent === 'GBP'").await;
    until(&client, "two months of pounds", "document.querySelectorAll('svg.chart g.bar').length === 2").await;
    let gbp = client.execute(january, vec![]).await.unwrap().as_f64().unwrap();
    assert!((gbp - 12.4).abs() < 0.001, "January in pounds alone: {gbp}");

    // The line chart: a point per month, in the same currency rules.
    client.goto(&format!("{origin}/#/view/finance/trend")).await.unwrap();
    until(&client, "the line", "document.querySelectorAll('svg.chart polyline.line').length === 1").await;
    let points = "(() => { const p = [...document.querySelectorAll('svg.chart circle.point')]\
                  .map(c => [c.dataset.x, Number(c.dataset.value)]); return p.length === 3 ? p : null })()";
    let got = until(&client, "three points", points).await;
    assert_eq!(got, json!([["2026-01", 21.5], ["2026-02", 41.5], ["2026-03", 61.5]]));
    assert_eq!(client.execute(unit, vec![]).await.unwrap(), "USD");
    screenshot(&client, "7b-finance-trend").await;

    // The expenses table: filter, recategorise, and the total moves.
    client.goto(&format!("{origin}/#/view/finance/expenses")).await.unwrap();
    let select =
        client.wait().for_element(Locator::Css("form[data-filters=expenses] select[name=category]")).await.unwrap();
    select.select_by_value("dining").await.unwrap();
    client.find(Locator::Css("form[data-filters=expenses] button")).await.unwrap().click().await.unwrap();
    let sum = "document.querySelector('table.view-table tfoot td[data-sum=total]')?.textContent";
    until(
        &client,
        "three dining rows",
        "document.querySelectorAll('table.view-table tbody select[data-edit]').length === 3",
    )
    .await;
    let before = number(until(&client, "the total", sum).await.as_str().unwrap());
    assert!((before - (10.25 + 20.25 + 30.25)).abs() < 0.001, "dining total {before}");
    screenshot(&client, "8-finance-expenses").await;
    let first = client.find(Locator::Css("table.view-table tbody tr select[data-edit=category]")).await.unwrap();
    first.select_by_value("entertainment").await.unwrap();
    // Recategorising files the vendor's other receipts too: dining empties.
    until(
        &client,
        "the rows to move",
        "document.querySelectorAll('table.view-table tbody select[data-edit]').length === 0",
    )
    .await;
    let after = client.execute(&format!("return {sum} || '0'"), vec![]).await.unwrap();
    assert!(number(after.as_str().unwrap()) < before, "the total did not move: {after}");
    let dining = sd_json(dir, &["call", "query:finance.expenses.v1", r#"{"category": "dining"}"#]);
    assert_eq!(dining["count"], 0, "{dining}");
    screenshot(&client, "9-finance-recategorised").await;

    // The CSV download has the rows the filters select: all eight now.
    let select = client.find(Locator::Css("form[data-filters=expenses] select[name=category]")).await.unwrap();
    select.select_by_value("").await.unwrap();
    client.find(Locator::Css("form[data-filters=expenses] button")).await.unwrap().click().await.unwrap();
    until(&client, "all rows", "document.querySelectorAll('table.view-table tbody select[data-edit]').length === 8")
        .await;
    let export = client.find(Locator::Css("#export-expenses")).await.unwrap();
    assert!(export.text().await.unwrap().contains("expenses.csv"));
    let capture = "window.csv = null; const make = URL.createObjectURL; \
                   URL.createObjectURL = (blob) => { blob.text().then((t) => { window.csv = t; }); return make.call(URL, blob); };";
    client.execute(capture, vec![]).await.unwrap();
    export.click().await.unwrap();
    let csv = until(&client, "the CSV", "window.csv").await;
    let csv = csv.as_str().unwrap();
    assert!(csv.starts_with("date,vendor,total,currency,category"), "{csv}");
    assert_eq!(csv.lines().count(), 9, "{csv}");
    assert_eq!(csv.matches(",entertainment,").count(), 3, "{csv}");

    client.close().await.unwrap();
}

#[test]
fn sd_ui_starts_a_daemon_when_none_runs_and_prints_a_working_link() {
    use std::io::{Read, Write};
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let out = sd_json(dir, &["ui", "--no-open"]);
    let url = out["url"].as_str().unwrap();
    assert_eq!(out.as_object().unwrap().len(), 1, "{out}");
    // The daemon it started answers on the socket, and outlives `sd ui`.
    let status = sd_json(dir, &["status"]);
    let pid = status["pid"].as_u64().unwrap();
    struct Stop(u64);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = Command::new("kill").arg(self.0.to_string()).status();
        }
    }
    let _stop = Stop(pid);
    assert_ne!(pid, u64::from(std::process::id()));
    assert!(dir.join("daemon.log").exists());

    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 303"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("set-cookie: sd_session_"), "{answer}");

    // A second call reuses the daemon and mints a new link.
    let again = sd_json(dir, &["ui", "--no-open"]);
    assert_ne!(again["url"], out["url"]);
    assert_eq!(sd_json(dir, &["status"])["pid"].as_u64(), Some(pid));
    // People-readable output: the link on stdout.
    let plain = sd(dir, &["ui", "--no-open"]);
    let text = String::from_utf8(plain.stdout).unwrap();
    assert!(text.trim().starts_with("http://127.0.0.1:") && text.contains("?token="), "{text}");
}
