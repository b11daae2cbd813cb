//! The Finance extension for real: its WebAssembly module reads a corpus of
//! receipts made at test time (emails, an mbox, PDFs, scans, HTML, text)
//! through core operations, and the expenses it lists are checked field by
//! field; then bad input, Gmail through a local server, and watched folders.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use sd_core::{Core, ErrorCode, OpResult};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::common::docs::{self, Print, Row};
use crate::common::http::{Reply, serve};
use crate::common::receipts::{self, Expected, squash};
use crate::common::{call, new_library};

fn finance_wasm() -> PathBuf {
    let wasm = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../extensions/target/wasm32-unknown-unknown/release/finance.wasm");
    assert!(wasm.is_file(), "build the extensions first: (cd extensions && cargo build --release)");
    wasm
}

struct Env {
    core: Arc<Core>,
    lib: Uuid,
    _data: tempfile::TempDir,
}

impl Env {
    async fn new() -> Env {
        let data = tempfile::tempdir().unwrap();
        let core = Core::open(data.path()).unwrap();
        core.extensions().start_event_delivery();
        let lib = new_library(&core, "money").await;
        Env { core, lib, _data: data }
    }

    async fn install(&self) {
        call(
            &self.core,
            "action:extensions.install.input.v1",
            None,
            json!({ "path": finance_wasm(), "allow_unsigned": true }),
        )
        .await
        .unwrap();
    }

    async fn call(&self, method: &str, payload: Value) -> OpResult<Value> {
        call(&self.core, method, Some(self.lib), payload).await
    }

    /// The person grants Finance `path` (a folder, or a file's folder).
    async fn grant(&self, path: &Path) {
        let folder = if path.is_file() { path.parent().unwrap() } else { path };
        let grant = json!({ "extension": "finance", "path": folder });
        call(&self.core, "action:grants.add.input.v1", None, grant).await.unwrap();
    }

    /// Runs `job` to completion; an import's folder is granted first.
    async fn run(&self, job: &str, input: Value) -> Value {
        if let Some(path) = input["path"].as_str() {
            self.grant(Path::new(path)).await;
        }
        let id = self.dispatch(job, input).await;
        let info = self.call("query:jobs.watch.v1", json!({ "id": id })).await.unwrap();
        assert_eq!(info["state"], "completed", "{job} did not complete: {info:#}");
        info
    }

    /// Starts `job`; returns its id.
    async fn dispatch(&self, job: &str, input: Value) -> Value {
        let payload = json!({ "extension": "finance", "job": job, "input": input });
        self.call("action:jobs.dispatch.input.v1", payload).await.unwrap()["id"].clone()
    }

    async fn expenses(&self, filter: Value) -> Vec<Value> {
        let out = self.call("query:finance.expenses.v1", filter).await.unwrap();
        out["expenses"].as_array().unwrap().clone()
    }
}

fn state(info: &Value) -> &Value {
    if info["output"].is_object() { &info["output"] } else { &info["checkpoint"] }
}

/// Per-field right answers over the corpus.
#[derive(Default)]
struct Score {
    right: BTreeMap<&'static str, usize>,
    total: usize,
    misses: Vec<String>,
}

impl Score {
    fn check(&mut self, source: &str, got: Option<&Value>, want: &Expected) {
        self.total += 1;
        let Some(got) = got else {
            self.misses.push(format!("{source}: not listed (want {want:?})"));
            return;
        };
        let fields: [(&'static str, bool, String, String); 5] = [
            (
                "vendor",
                squash(got["vendor"].as_str().unwrap_or("")) == squash(&want.vendor),
                got["vendor"].to_string(),
                want.vendor.clone(),
            ),
            ("date", got["date"] == want.date, got["date"].to_string(), want.date.clone()),
            (
                "total",
                (got["total"].as_f64().unwrap_or(-1.0) - want.total).abs() < 0.005,
                got["total"].to_string(),
                want.total.to_string(),
            ),
            ("currency", got["currency"] == want.currency, got["currency"].to_string(), want.currency.clone()),
            ("category", got["category"] == want.category, got["category"].to_string(), want.category.clone()),
        ];
        for (name, ok, g, w) in fields {
            if ok {
                *self.right.entry(name).or_default() += 1;
            } else {
                self.misses.push(format!("{source}: {name} {g}, want {w}"));
            }
        }
    }

    fn report(&self) -> f64 {
        let mut all = 0;
        for name in ["vendor", "date", "total", "currency", "category"] {
            let r = self.right.get(name).copied().unwrap_or(0);
            all += r;
            eprintln!("finance accuracy: {name:<9} {r}/{} = {:.1}%", self.total, 100.0 * r as f64 / self.total as f64);
        }
        let overall = all as f64 / (5 * self.total) as f64;
        eprintln!("finance accuracy: all fields {:.1}% over {} receipts", 100.0 * overall, self.total);
        for m in &self.misses {
            eprintln!("  miss: {m}");
        }
        overall
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_a_corpus_of_receipts_in_every_format_and_lists_them_right() {
    let env = Env::new().await;
    env.install().await;
    let dir = tempfile::tempdir().unwrap();
    let cases = receipts::corpus(128);
    receipts::write(dir.path(), &cases);
    // A file of another type is skipped and counted.
    std::fs::write(dir.path().join("notes.docx"), b"PK not a receipt").unwrap();
    let root = dir.path().canonicalize().unwrap();

    let info = env.run("import", json!({ "path": root })).await;
    let stats = &state(&info)["stats"];
    eprintln!("import: {stats}");
    assert_eq!(stats["unsupported"], 1, "{stats}");

    let listed = env.expenses(json!({})).await;
    let by_source: HashMap<String, &Value> =
        listed.iter().map(|e| (e["source"].as_str().unwrap().to_string(), e)).collect();
    let mut score = Score::default();
    let mut receipts_expected = 0;
    for case in &cases {
        let path = root.join(&case.file).display().to_string();
        for (k, want) in case.expected.iter().enumerate() {
            let source = match (case.expected.len() > 1, case.message_ids.get(k)) {
                (true, Some(id)) => format!("{path} <{id}>"),
                (false, Some(id)) => format!("{path} <{id}>"),
                _ => path.clone(),
            };
            match want {
                Some(want) => {
                    receipts_expected += 1;
                    score.check(&source, by_source.get(&source).copied(), want);
                }
                None => assert!(!by_source.contains_key(&source), "a non-receipt was listed: {source}"),
            }
        }
    }
    let overall = score.report();
    assert_eq!(listed.len(), receipts_expected, "one expense per receipt, none for anything else");
    assert!(overall >= 0.95, "field accuracy {:.1}% is under 95%", overall * 100.0);
    assert!(listed.iter().all(|e| e["entry_id"].is_string() && e["confidence"].is_number()));

    // Importing again adds nothing.
    let again = env.run("import", json!({ "path": root })).await;
    assert_eq!(state(&again)["stats"]["imported"], 0, "{again}");
    assert_eq!(env.expenses(json!({})).await.len(), listed.len());

    // Each receipt entry has kind `receipt`, its text and its analysis.
    let first = &listed[0];
    let entry = env.call("query:vdfs.entry.v1", json!({ "id": first["entry_id"] })).await.unwrap();
    assert_eq!(entry["kind"], "receipt");
    let names: Vec<&str> = entry["sidecars"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"text.txt") && names.contains(&"analysis.json"), "{names:?}");
    let analysis = env
        .call(
            "query:vdfs.read_sidecar.v1",
            json!({ "entry_id": first["entry_id"], "namespace": "finance", "name": "analysis.json" }),
        )
        .await
        .unwrap();
    let analysis: Value = serde_json::from_str(analysis["text"].as_str().unwrap()).unwrap();
    for f in ["vendor", "date", "total", "currency", "category"] {
        assert!(analysis["fields"][f]["confidence"].is_number(), "{analysis:#}");
        assert!(analysis["fields"][f]["source"].is_string(), "{analysis:#}");
    }

    // Filters.
    let travel = env.expenses(json!({ "category": "travel" })).await;
    assert!(!travel.is_empty() && travel.iter().all(|e| e["category"] == "travel"));
    let eur = env.expenses(json!({ "currency": "EUR", "from": "2026-01-01", "to": "2026-06-30" })).await;
    assert!(eur.iter().all(|e| e["currency"] == "EUR"
        && e["date"].as_str().unwrap() >= "2026-01-01"
        && e["date"].as_str().unwrap() <= "2026-06-30"));
    let bad = env.call("query:finance.expenses.v1", json!({ "from": "March" })).await.unwrap_err();
    assert_eq!(bad.code.as_str(), "invalid_input", "{bad}");

    // The metadata is searchable like any other.
    let hits = env
        .call(
            "query:search.v1",
            json!({ "where": [{ "namespace": "finance", "key": "category", "value": "travel" }], "limit": 500 }),
        )
        .await
        .unwrap();
    assert_eq!(hits["total"].as_u64().unwrap() as usize, travel.len());

    // The summary adds up to the same totals, per currency.
    let totals =
        env.call("query:finance.expenses.v1", json!({ "from": "2026-01-01", "to": "2026-12-31" })).await.unwrap();
    let summary = env.call("query:finance.summary.v1", json!({ "year": 2026 })).await.unwrap();
    for (cur, sum) in totals["totals"].as_object().unwrap() {
        let s = &summary["currencies"][cur];
        assert!((s["total"].as_f64().unwrap() - sum.as_f64().unwrap()).abs() < 0.01, "{cur}: {s} vs {sum}");
        let by_month: f64 = s["months"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|m| m.as_object().unwrap().values())
            .map(|v| v.as_f64().unwrap())
            .sum();
        assert!((by_month - sum.as_f64().unwrap()).abs() < 0.05, "{cur}: months add to {by_month}, not {sum}");
    }
    // The flat rows (the dashboard's chart) add up the same, one currency at a time.
    for (cur, sum) in totals["totals"].as_object().unwrap() {
        let one = env.call("query:finance.summary.v1", json!({ "year": 2026, "currency": cur })).await.unwrap();
        let rows = one["rows"].as_array().unwrap();
        assert!(rows.iter().all(|r| r["currency"] == *cur && r["month"].as_str().unwrap().starts_with("2026-")));
        let by_rows: f64 = rows.iter().map(|r| r["total"].as_f64().unwrap()).sum();
        assert!((by_rows - sum.as_f64().unwrap()).abs() < 0.05, "{cur}: rows add to {by_rows}, not {sum}");
    }
    // Without a currency, the rows are in the most used one only (a chart
    // never adds two), and every currency used is offered, most used first.
    let used = summary["currencies_used"].as_array().unwrap();
    assert_eq!(used.len(), totals["totals"].as_object().unwrap().len(), "{summary}");
    let count = |c: &Value| summary["currencies"][c.as_str().unwrap()]["count"].as_u64().unwrap();
    assert!(used.windows(2).all(|w| count(&w[0]) >= count(&w[1])), "{used:?}");
    assert!(used.len() > 1, "the corpus has several currencies: {used:?}");
    assert_eq!(summary["currency"], used[0]);
    assert!(summary["rows"].as_array().unwrap().iter().all(|r| r["currency"] == used[0]), "{summary}");

    // CSV export: a header and a row per expense.
    let csv = env.call("query:finance.export.v1", json!({})).await.unwrap();
    let text = csv["csv"].as_str().unwrap();
    assert!(text.starts_with("date,vendor,total,currency,category"));
    assert_eq!(text.lines().count(), listed.len() + 1);

    // A person's recategorisation sticks and is remembered for the vendor.
    let vendor = first["vendor"].as_str().unwrap().to_string();
    let target = if first["category"] == "office" { "other" } else { "office" };
    let out = env
        .call("action:finance.recategorize.input.v1", json!({ "entry_id": first["entry_id"], "category": target }))
        .await
        .unwrap();
    assert_eq!(out["category"], target);
    let same_vendor = env.expenses(json!({ "vendor": vendor })).await;
    assert!(same_vendor.iter().all(|e| e["category"] == target), "{same_vendor:#?}");
    let bad = env
        .call("action:finance.recategorize.input.v1", json!({ "entry_id": first["entry_id"], "category": "yachts" }))
        .await
        .unwrap_err();
    assert_eq!(bad.code.as_str(), "invalid_input");
}

fn encrypt_pdf(dir: &Path, plain: &[u8]) -> Vec<u8> {
    let src = dir.join("plain.pdf");
    let dst = dir.join("locked.pdf");
    std::fs::write(&src, plain).unwrap();
    let status = std::process::Command::new("qpdf")
        .args(["--encrypt", "secret", "owner", "256", "--"])
        .arg(&src)
        .arg(&dst)
        .status()
        .expect("qpdf (installed by scripts/bootstrap.sh)");
    assert!(status.success());
    std::fs::read(dst).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_becomes_warnings_and_the_rest_is_imported() {
    let env = Env::new().await;
    env.install().await;
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let good = "From: Receipts <receipts@corner-bakery.com>\r\nSubject: Your receipt from Corner Bakery\r\nDate: Tue, 3 Mar 2026 10:00:00 +0000\r\nMessage-ID: <good-1@corner-bakery.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nCorner Bakery\r\nCoffee 3.50\r\nTotal $3.50\r\n";
    std::fs::write(dir.path().join("good.eml"), good).unwrap();
    // Not an email at all.
    std::fs::write(dir.path().join("corrupt.eml"), [0u8, 159, 146, 150, 0, 1, 2, 3]).unwrap();
    // An mbox with a broken message between two good ones.
    let msg = |n: u32, body: &str| {
        format!(
            "From x Thu Jan  1 00:00:00 2026\nFrom: Orders <orders@pizzeria-roma.it>\nSubject: Ricevuta\nDate: Wed, 4 Mar 2026 20:00:00 +0100\nMessage-ID: <m{n}@pizzeria-roma.it>\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
        )
    };
    let mbox = format!(
        "{}From x Thu Jan  1 00:00:00 2026\n\u{0}\u{1}garbage with no headers\n{}",
        msg(1, "Pizzeria Roma\nMargherita 9,00\nTotale EUR 9,00"),
        msg(2, "Pizzeria Roma\nDiavola 11,00\nTotale EUR 11,00")
    );
    std::fs::write(dir.path().join("mail.mbox"), mbox).unwrap();
    // A password-protected PDF.
    let locked = encrypt_pdf(scratch.path(), &docs::pdf_with_text(&[vec!["Total $9.99".into()]]));
    std::fs::write(dir.path().join("locked.pdf"), locked).unwrap();
    // An email with a 50 MB attachment after its receipt body.
    let big = vec![b'A'; 50 * 1024 * 1024 / 3 * 4];
    let mut eml = b"From: Hotel Alpenblick <billing@alpenblick.at>\r\nSubject: Rechnung\r\nDate: Fri, 6 Mar 2026 09:00:00 +0100\r\nMessage-ID: <big-1@alpenblick.at>\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHotel Alpenblick\r\n2 Naechte 240,00\r\nGesamtbetrag EUR 240,00\r\n\r\n--XX\r\nContent-Type: application/pdf; name=\"scan.pdf\"\r\nContent-Disposition: attachment; filename=\"scan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    eml.extend(big.chunks(76).flat_map(|c| [c, b"\r\n"].concat()));
    eml.extend_from_slice(b"--XX--\r\n");
    std::fs::write(dir.path().join("huge.eml"), eml).unwrap();
    // A picture that is not a receipt.
    let picture = docs::render(
        &[Row::title("Holiday 2025"), Row::text("Beach at sunset")],
        &Print { font: "DejaVuSans.ttf", px: 40.0, width: 600, noise: 30, degrees: 0.0, seed: 3 },
    );
    std::fs::write(dir.path().join("holiday.png"), docs::png(&picture)).unwrap();

    let root = dir.path().canonicalize().unwrap();
    let info = env.run("import", json!({ "path": root })).await;
    let warnings: Vec<String> =
        info["warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap().to_string()).collect();
    eprintln!("warnings: {warnings:#?}\nstats: {}", state(&info)["stats"]);
    let warned = |needle: &str| warnings.iter().any(|w| w.contains(needle));
    assert!(warned("corrupt.eml"), "{warnings:?}");
    assert!(warned("mail.mbox") && warned("message 2"), "{warnings:?}");
    assert!(warned("locked.pdf"), "{warnings:?}");
    assert!(warned("huge.eml") || warned("big-1@alpenblick.at"), "{warnings:?}");
    assert!(warned("holiday.png"), "{warnings:?}");

    let listed = env.expenses(json!({})).await;
    let mut got: Vec<(String, f64, String)> = listed
        .iter()
        .map(|e| {
            (
                e["vendor"].as_str().unwrap().to_string(),
                e["total"].as_f64().unwrap(),
                e["currency"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
    assert_eq!(
        got,
        vec![
            ("Corner Bakery".to_string(), 3.5, "USD".to_string()),
            ("Pizzeria Roma".to_string(), 9.0, "EUR".to_string()),
            ("Pizzeria Roma".to_string(), 11.0, "EUR".to_string()),
            ("Hotel Alpenblick".to_string(), 240.0, "EUR".to_string()),
        ]
    );
}

/// A Cross Industry Invoice (as ZUGFeRD 2 and Factur-X embed it).
fn cii(seller: &str, date: &str, total: &str, currency: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100" xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100" xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
<rsm:ExchangedDocument><ram:ID>R-7</ram:ID><ram:TypeCode>380</ram:TypeCode><ram:IssueDateTime><udt:DateTimeString format="102">{date}</udt:DateTimeString></ram:IssueDateTime></rsm:ExchangedDocument>
<rsm:SupplyChainTradeTransaction>
<ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:Name>{seller}</ram:Name></ram:SellerTradeParty><ram:BuyerTradeParty><ram:Name>Kunde AG</ram:Name></ram:BuyerTradeParty></ram:ApplicableHeaderTradeAgreement>
<ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>{currency}</ram:InvoiceCurrencyCode>
<ram:SpecifiedTradeSettlementHeaderMonetarySummation><ram:GrandTotalAmount>{total}</ram:GrandTotalAmount><ram:DuePayableAmount>{total}</ram:DuePayableAmount></ram:SpecifiedTradeSettlementHeaderMonetarySummation>
</ram:ApplicableHeaderTradeSettlement></rsm:SupplyChainTradeTransaction></rsm:CrossIndustryInvoice>"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e_invoices_are_read_from_their_xml_where_the_printed_page_bears_it_out() {
    let env = Env::new().await;
    env.install().await;
    let dir = tempfile::tempdir().unwrap();
    let page = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    // A Factur-X PDF: the page names a customer first, prints no date and
    // no currency; its XML states them.
    let printed = page(&["Rechnung an: Kunde AG", "Beratung 2 h           100,00", "Gesamt                 119,00"]);
    let xml = cii("Muster Werkzeuge GmbH", "20240315", "119.00", "CHF");
    std::fs::write(
        dir.path().join("rechnung.pdf"),
        docs::pdf_with_attachment(&printed, "factur-x.xml", xml.as_bytes()),
    )
    .unwrap();
    // A PDF whose XML states another total than the page prints.
    let printed = page(&["Printed Seller Ltd", "Invoice date: 2024-05-02", "Total EUR 42.00"]);
    let xml = cii("Someone Else GmbH", "20240101", "500.00", "EUR");
    std::fs::write(
        dir.path().join("sample.pdf"),
        docs::pdf_with_attachment(&printed, "zugferd-invoice.xml", xml.as_bytes()),
    )
    .unwrap();
    // A UBL invoice as a file of its own, and XML that is no invoice.
    let ubl = r#"<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:IssueDate>2024-06-30</cbc:IssueDate><cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode><cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>Leverancier B.V.</cbc:Name></cac:PartyName></cac:Party></cac:AccountingSupplierParty><cac:LegalMonetaryTotal><cbc:TaxInclusiveAmount currencyID="EUR">121.00</cbc:TaxInclusiveAmount><cbc:PayableAmount currencyID="EUR">121.00</cbc:PayableAmount></cac:LegalMonetaryTotal></Invoice>"#;
    std::fs::write(dir.path().join("peppol.xml"), ubl).unwrap();
    // An XRechnung sent by email: the XML is the attachment, the body says
    // nothing of amounts.
    let xrechnung = cii("Stadtwerke Musterstadt GmbH", "20240704", "88.40", "EUR");
    let mut eml = "From: Stadtwerke <rechnung@stadtwerke.example>\r\nSubject: Ihre Rechnung\r\nDate: Fri, 5 Jul 2024 08:00:00 +0200\r\nMessage-ID: <xr-1@stadtwerke.example>\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nAnbei Ihre Rechnung als XRechnung.\r\n\r\n--XX\r\nContent-Type: application/xml; name=\"xrechnung.xml\"\r\nContent-Disposition: attachment; filename=\"xrechnung.xml\"\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_string();
    eml.push_str(&base64::engine::general_purpose::STANDARD.encode(xrechnung));
    eml.push_str("\r\n--XX--\r\n");
    std::fs::write(dir.path().join("xrechnung.eml"), eml).unwrap();
    std::fs::write(
        dir.path().join("feed.xml"),
        "<rss><channel><item><title>Sale: 20.00 off</title></item></channel></rss>",
    )
    .unwrap();

    let root = dir.path().canonicalize().unwrap();
    let info = env.run("import", json!({ "path": root })).await;
    let warnings = info["warnings"].to_string();
    assert!(warnings.contains("sample.pdf") && warnings.contains("500.00"), "{warnings}");
    assert_eq!(state(&info)["stats"]["not_receipts"], 1, "{}", state(&info)["stats"]);
    let mut got: Vec<(String, String, f64, String)> = env
        .expenses(json!({}))
        .await
        .iter()
        .map(|e| {
            let s = |k: &str| e[k].as_str().unwrap().to_string();
            (s("vendor"), s("date"), e["total"].as_f64().unwrap(), s("currency"))
        })
        .collect();
    got.sort_by(|a, b| a.2.partial_cmp(&b.2).unwrap());
    assert_eq!(
        got,
        vec![
            ("Printed Seller Ltd".to_string(), "2024-05-02".to_string(), 42.0, "EUR".to_string()),
            ("Stadtwerke Musterstadt GmbH".to_string(), "2024-07-04".to_string(), 88.4, "EUR".to_string()),
            ("Muster Werkzeuge GmbH".to_string(), "2024-03-15".to_string(), 119.0, "CHF".to_string()),
            ("Leverancier B.V.".to_string(), "2024-06-30".to_string(), 121.0, "EUR".to_string()),
        ]
    );
}

/// A Gmail API on 127.0.0.1: two pages of messages, raw on request.
struct FakeGmail {
    addr: String,
    raw_fetches: Arc<AtomicUsize>,
    auth: Arc<Mutex<Vec<String>>>,
}

async fn fake_gmail(messages: Vec<(String, Vec<u8>)>) -> FakeGmail {
    let raw_fetches = Arc::new(AtomicUsize::new(0));
    let auth = Arc::new(Mutex::new(Vec::new()));
    let (fetches, seen_auth) = (raw_fetches.clone(), auth.clone());
    let messages = Arc::new(messages);
    let addr = serve(move |req| {
        seen_auth.lock().unwrap().push(req.headers.get("authorization").cloned().unwrap_or_default());
        let path = req.path.clone();
        if let Some(rest) = path.strip_prefix("/gmail/v1/users/me/messages/") {
            let id = rest.split('?').next().unwrap_or("");
            assert!(path.contains("format=raw"), "{path}");
            return match messages.iter().find(|(m, _)| m == id) {
                Some((_, raw)) => {
                    fetches.fetch_add(1, Ordering::SeqCst);
                    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
                    Reply::json(200, json!({ "id": id, "raw": b64 }))
                }
                None => Reply::json(404, json!({ "error": "not found" })),
            };
        }
        assert!(path.starts_with("/gmail/v1/users/me/messages?"), "{path}");
        assert!(path.contains("q=receipt"), "{path}");
        let second = path.contains("pageToken=page2");
        let ids: Vec<Value> = messages
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i >= messages.len() / 2) == second)
            .map(|(_, (id, _))| json!({ "id": id, "threadId": id }))
            .collect();
        let mut reply = json!({ "messages": ids, "resultSizeEstimate": messages.len() });
        if !second {
            reply["nextPageToken"] = json!("page2");
        }
        Reply::json(200, reply)
    })
    .await;
    FakeGmail { addr, raw_fetches, auth }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gmail_sync_reads_pages_with_a_host_held_token_and_fetches_each_message_once() {
    let env = Env::new().await;
    let cases = receipts::corpus(6);
    let mut messages: Vec<(String, Vec<u8>)> = Vec::new();
    for (i, c) in cases.iter().filter(|c| c.file.ends_with(".eml")).take(8).enumerate() {
        messages.push((format!("18c{i:05x}"), c.bytes.clone()));
    }
    let receipts_in =
        cases.iter().filter(|c| c.file.ends_with(".eml")).take(8).filter(|c| c.expected[0].is_some()).count();
    let gmail = fake_gmail(messages.clone()).await;

    // The manifest as shipped, with the test server allowed too.
    let src = tempfile::tempdir().unwrap();
    let mut manifest: Value = serde_json::from_slice(
        &std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../extensions/finance/manifest.json")).unwrap(),
    )
    .unwrap();
    manifest["permissions"]["network_access"] = json!(["gmail.googleapis.com", gmail.addr]);
    std::fs::copy(finance_wasm(), src.path().join("finance.wasm")).unwrap();
    manifest["wasm"] = json!("finance.wasm");
    std::fs::write(src.path().join("manifest.json"), manifest.to_string()).unwrap();
    call(&env.core, "action:extensions.install.input.v1", None, json!({ "path": src.path() })).await.unwrap();

    call(
        &env.core,
        "action:credentials.store.input.v1",
        None,
        json!({ "name": "gmail", "owner": "finance", "secret": {
            "kind": "oauth2", "access_token": "ya29.test-token", "refresh_token": "1//refresh",
            "expires_at": 4_000_000_000i64, "token_url": format!("http://{}/token", gmail.addr), "client_id": "cid" } }),
    )
    .await
    .unwrap();
    env.call("action:finance.configure.input.v1", json!({ "gmail_api_base": format!("http://{}", gmail.addr) }))
        .await
        .unwrap();

    let info = env.run("gmail_sync", json!({ "credential": "gmail", "query": "receipt OR invoice" })).await;
    eprintln!("gmail: {}", state(&info)["stats"]);
    assert_eq!(gmail.raw_fetches.load(Ordering::SeqCst), messages.len());
    assert!(gmail.auth.lock().unwrap().iter().all(|a| a == "Bearer ya29.test-token"));
    let listed = env.expenses(json!({})).await;
    assert_eq!(listed.len(), receipts_in, "{listed:#?}");
    assert!(listed.iter().all(|e| e["source"].as_str().unwrap().starts_with("gmail:")));

    // A second sync lists again but fetches nothing it has seen.
    env.run("gmail_sync", json!({ "credential": "gmail", "query": "receipt OR invoice" })).await;
    assert_eq!(gmail.raw_fetches.load(Ordering::SeqCst), messages.len());
    assert_eq!(env.expenses(json!({})).await.len(), receipts_in);

    // A credential Gmail refuses fails the job with a message that says what to do.
    let out = env
        .call("action:jobs.dispatch.input.v1", json!({ "extension": "finance", "job": "gmail_sync", "input": { "credential": "nope", "query": "receipt" } }))
        .await
        .unwrap();
    let failed = env.call("query:jobs.watch.v1", json!({ "id": out["id"] })).await.unwrap();
    assert_eq!(failed["state"], "failed", "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_appearing_in_a_watched_location_are_imported_through_events() {
    let env = Env::new().await;
    env.install().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    env.call("action:locations.add.input.v1", json!({ "path": root })).await.unwrap();
    // A folder Finance may not read cannot be watched.
    let refused = env.call("action:finance.configure.input.v1", json!({ "watch_locations": [root] })).await;
    let e = refused.unwrap_err();
    assert_eq!(e.code, ErrorCode::PermissionDenied, "{e}");
    assert!(e.message.contains("sd ext grant finance --path"), "{e}");
    env.grant(&root).await;
    env.call("action:finance.configure.input.v1", json!({ "watch_locations": [root] })).await.unwrap();
    let cases = receipts::corpus(3);
    let txt = cases.iter().find(|c| c.file.ends_with(".txt") || c.file.ends_with(".eml")).unwrap();
    std::fs::write(root.join(&txt.file), &txt.bytes).unwrap();
    std::fs::write(root.join("readme.md"), "not a receipt").unwrap();
    env.call("action:locations.rescan.input.v1", json!({ "path": root })).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let listed = env.expenses(json!({})).await;
        if listed.len() == 1 {
            let want = txt.expected[0].as_ref().unwrap();
            assert_eq!(listed[0]["total"].as_f64().unwrap(), want.total);
            break;
        }
        assert!(Instant::now() < deadline, "the new receipt was never imported: {listed:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_stops_typed_when_its_folder_is_revoked_and_keeps_what_it_stored() {
    let env = Env::new().await;
    env.install().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let n = 1500;
    for i in 0..n {
        let text = format!("Corner Shop {i}\nDate: 2026-03-{:02}\nTotal: {}.50 USD\n", i % 28 + 1, i % 90 + 1);
        std::fs::write(root.join(format!("receipt-{i:04}.txt")), text).unwrap();
    }
    // Not granted: the import fails at once, naming the command that grants.
    let id = env.dispatch("import", json!({ "path": root })).await;
    let info = env.call("query:jobs.watch.v1", json!({ "id": id })).await.unwrap();
    assert_eq!((info["state"].as_str(), info["error_code"].as_str()), (Some("failed"), Some("permission_denied")));
    assert!(info["error"].as_str().unwrap().contains("sd ext grant finance --path"), "{info}");

    env.grant(&root).await;
    let id = env.dispatch("import", json!({ "path": root })).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    while env.expenses(json!({})).await.len() < 20 {
        assert!(Instant::now() < deadline, "the import never got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let revoke = json!({ "extension": "finance", "path": root });
    call(&env.core, "action:grants.revoke.input.v1", None, revoke).await.unwrap();
    let info = env.call("query:jobs.watch.v1", json!({ "id": id })).await.unwrap();
    assert_eq!(info["state"], "failed", "{info}");
    assert_eq!(info["error_code"], "permission_denied", "{info}");
    let kept = env.expenses(json!({})).await.len();
    assert!((20..n).contains(&kept), "{kept} expenses after the revoke");
    assert!(info["checkpoint"]["offset"].as_u64().unwrap() >= 20, "{info}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_language_models_second_opinion_is_kept_only_where_the_text_bears_it_out() {
    let env = Env::new().await;
    env.install().await;
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    let addr = serve(move |req| {
        counter.fetch_add(1, Ordering::SeqCst);
        assert_eq!(req.path, "/v1/chat/completions");
        // The first answer is borne out by its document; the second names
        // an amount and a merchant the document never prints.
        let answer = if req.body.contains("Bolts") {
            "{\"labels\": [{\"label\": \"vendor: Harbour Hardware\", \"score\": 1}, {\"label\": \"total: 23.40\", \"score\": 1}, {\"label\": \"date: 2024-03-05\", \"score\": 1}, {\"label\": \"currency: EUR\", \"score\": 1}]}"
        } else {
            "{\"labels\": [{\"label\": \"vendor: Nowhere Inc\", \"score\": 1}, {\"label\": \"total: 99.99\", \"score\": 1}]}"
        };
        Reply::json(200, json!({ "choices": [{ "message": { "role": "assistant", "content": answer } }] }))
    })
    .await;
    let config =
        json!({ "ai": { "openai": { "base_url": format!("http://{addr}/v1"), "model": "m", "timeout_ms": 5000 } } });
    std::fs::write(env._data.path().join("config.json"), config.to_string()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // No label says which amount was paid, and too few lines end in a
    // price to guess from the layout: extraction alone drops it.
    let receipt = "Harbour Hardware\nHafenstraße 3, 20457 Hamburg\nQuittung 05.03.2024 10:12\nBolts M6 x20 12,90; wood glue 10,50\n23,40 EUR\nVielen Dank\n";
    std::fs::write(dir.path().join("hardware.txt"), receipt).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "Garden club\nFees discussed: 12.00 and 15.00\nQuittung next time\n")
        .unwrap();
    let root = dir.path().canonicalize().unwrap();

    // Off by default: nothing is asked, nothing imported.
    env.run("import", json!({ "path": root })).await;
    assert_eq!(asked.load(Ordering::SeqCst), 0);
    assert!(env.expenses(json!({})).await.is_empty());

    env.call("action:finance.configure.input.v1", json!({ "second_opinion": true })).await.unwrap();
    env.run("import", json!({ "path": root })).await;
    assert_eq!(asked.load(Ordering::SeqCst), 2);
    let listed = env.expenses(json!({})).await;
    assert_eq!(listed.len(), 1, "only the document that bears the answer out: {listed:#?}");
    let e = &listed[0];
    assert!(e["source"].as_str().unwrap().ends_with("hardware.txt"), "{e}");
    assert_eq!(
        (e["vendor"].as_str(), e["date"].as_str(), e["total"].as_f64(), e["currency"].as_str()),
        (Some("Harbour Hardware"), Some("2024-03-05"), Some(23.4), Some("EUR"))
    );
}
