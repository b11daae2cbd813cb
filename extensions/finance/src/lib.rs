//! Finance: receipts from files, mailboxes and Gmail become searchable,
//! categorised expenses.
//!
//! Everything of its own (MIME, extraction, rules) runs here in the guest;
//! everything else (reading files, OCR, classification, storage, HTTP with a
//! host-held credential, events) goes through core operations.

#![deny(unsafe_code)]

pub mod category;
pub mod dates;
pub mod einvoice;
pub mod extract;
mod gmail;
mod import;
pub mod labels;
pub mod locale;
pub mod mime;
pub mod money;
mod opinion;
mod pipeline;
mod store;
pub mod totals;
pub mod vendor;

use std::collections::BTreeMap;

use spacedrive_sdk::prelude::*;

use crate::store::{Expense, Filter, NS, RECEIPT};

#[extension(id = "finance", name = "Finance", version = "0.1.0")]
struct Finance;

impl Extension for Finance {
    fn init(_ctx: &ExtensionContext) -> Result<()> {
        Ok(())
    }
}

/// Input of `query:finance.expenses.v1` and `query:finance.export.v1`.
type ExpensesInput = Filter;

/// Output of `query:finance.expenses.v1`.
#[derive(Serialize)]
struct ExpensesOutput {
    expenses: Vec<Expense>,
    /// Sum per currency.
    totals: BTreeMap<String, f64>,
    count: usize,
}

fn filtered(ctx: &OperationContext, filter: &Filter) -> Result<Vec<Expense>> {
    filter.validate()?;
    let client = library_client(ctx)?;
    Ok(store::all_expenses(&client)?.into_iter().filter(|e| filter.keeps(e)).collect())
}

fn library_client(ctx: &OperationContext) -> Result<Client> {
    match ctx.library() {
        Some(_) => Ok(ctx.client()),
        None => Err(Error::invalid("this operation needs a library: pass --library or set a default library")),
    }
}

/// Expenses, filtered, with totals per currency.
#[spacedrive_operation]
fn expenses(ctx: &OperationContext, input: ExpensesInput) -> Result<ExpensesOutput> {
    let expenses = filtered(ctx, &input)?;
    Ok(ExpensesOutput { totals: store::totals(&expenses), count: expenses.len(), expenses })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SummaryInput {
    /// One year; every year when left out.
    #[serde(default)]
    year: Option<i32>,
    /// One currency (ISO 4217); every currency when left out, with the
    /// rows in the most used one.
    #[serde(default)]
    currency: Option<String>,
}

#[derive(Serialize, Default)]
struct CurrencySummary {
    /// Month (`01`..`12`) to category to amount.
    months: BTreeMap<String, BTreeMap<String, f64>>,
    /// Category to amount over the year.
    categories: BTreeMap<String, f64>,
    total: f64,
    count: usize,
}

/// One month's spending in one category and currency: the rows of the
/// dashboard's chart.
#[derive(Serialize)]
struct MonthRow {
    /// `YYYY-MM`.
    month: String,
    category: String,
    currency: String,
    total: f64,
}

#[derive(Serialize)]
struct SummaryOutput {
    year: Option<i32>,
    /// Per currency: amounts are never added across currencies.
    currencies: BTreeMap<String, CurrencySummary>,
    /// The currency of `rows`: the one asked for, else the one with the
    /// most expenses in the period (none when there are none).
    currency: Option<String>,
    /// Every currency with expenses in the period, most used first: the
    /// choices of the dashboard's currency filter.
    currencies_used: Vec<String>,
    /// Every (month, category) in `currency` with its total, oldest month
    /// first: one currency, so a chart never adds two.
    rows: Vec<MonthRow>,
}

/// Spending per month and category, per currency, of one year or all.
#[spacedrive_operation]
fn summary(ctx: &OperationContext, input: SummaryInput) -> Result<SummaryOutput> {
    if input.year.is_some_and(|y| !(1900..=2200).contains(&y)) {
        return Err(Error::invalid("year must be between 1900 and 2200"));
    }
    let prefix = input.year.map(|y| format!("{y:04}-")).unwrap_or_default();
    let mut currencies: BTreeMap<String, CurrencySummary> = BTreeMap::new();
    let mut rows: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    let in_period: Vec<Expense> =
        store::all_expenses(&library_client(ctx)?)?.into_iter().filter(|e| e.date.starts_with(&prefix)).collect();
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    for e in &in_period {
        *used.entry(e.currency.as_str()).or_default() += 1;
    }
    let mut currencies_used: Vec<(&str, usize)> = used.into_iter().collect();
    currencies_used.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let currencies_used: Vec<String> = currencies_used.into_iter().map(|(c, _)| c.to_string()).collect();
    let asked = input.currency.as_deref().map(str::to_ascii_uppercase);
    let currency = asked.clone().or_else(|| currencies_used.first().cloned());
    for e in in_period.iter().filter(|e| asked.as_ref().is_none_or(|c| *c == e.currency)) {
        let s = currencies.entry(e.currency.clone()).or_default();
        let month = e.date.get(5..7).unwrap_or("00").to_string();
        let year_month = e.date.get(..7).unwrap_or("0000-00").to_string();
        if currency.as_ref() == Some(&e.currency) {
            *rows.entry((year_month, e.category.clone(), e.currency.clone())).or_default() += e.total;
        }
        *s.months.entry(month).or_default().entry(e.category.clone()).or_default() += e.total;
        *s.categories.entry(e.category.clone()).or_default() += e.total;
        s.total += e.total;
        s.count += 1;
    }
    for s in currencies.values_mut() {
        s.total = money::cents(s.total);
        s.categories.values_mut().for_each(|v| *v = money::cents(*v));
        s.months.values_mut().flat_map(|m| m.values_mut()).for_each(|v| *v = money::cents(*v));
    }
    let rows = rows
        .into_iter()
        .map(|((month, category, currency), total)| MonthRow { month, category, currency, total: money::cents(total) })
        .collect();
    Ok(SummaryOutput { year: input.year, currencies, currency, currencies_used, rows })
}

#[derive(Serialize)]
struct ExportOutput {
    /// RFC 4180 CSV with a header row.
    csv: String,
    count: usize,
}

fn csv_field(s: &str) -> String {
    // A leading = + - @ would run as a formula in a spreadsheet.
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// Expenses as CSV.
#[spacedrive_operation]
fn export(ctx: &OperationContext, input: ExpensesInput) -> Result<ExportOutput> {
    let expenses = filtered(ctx, &input)?;
    let mut csv = String::from("date,vendor,total,currency,category,confidence,source,entry_id\r\n");
    for e in &expenses {
        let row = [
            csv_field(&e.date),
            csv_field(&e.vendor),
            format!("{:.2}", e.total),
            csv_field(&e.currency),
            csv_field(&e.category),
            format!("{:.2}", e.confidence),
            csv_field(&e.source),
            e.entry_id.to_string(),
        ];
        csv.push_str(&row.join(","));
        csv.push_str("\r\n");
    }
    Ok(ExportOutput { csv, count: expenses.len() })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecategorizeInput {
    entry_id: Uuid,
    category: String,
}

#[derive(Serialize)]
struct RecategorizeOutput {
    entry_id: Uuid,
    vendor: String,
    category: String,
    /// Other receipts of the vendor moved too (those no person had filed).
    also_updated: usize,
}

/// Files a receipt under another category, and remembers the choice for
/// its vendor.
#[spacedrive_operation]
fn recategorize(ctx: &OperationContext, input: RecategorizeInput) -> Result<RecategorizeOutput> {
    if !category::is_category(&input.category) {
        return Err(Error::invalid(format!(
            "no category {:?}; use one of {}",
            input.category,
            category::CATEGORIES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
        )));
    }
    let client = library_client(ctx)?;
    #[derive(Deserialize)]
    struct Detail {
        kind: String,
        #[serde(default)]
        metadata: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
    }
    let detail: Detail = client.call("query:vdfs.entry.v1", &serde_json::json!({ "id": input.entry_id }))?;
    let meta = detail.metadata.get(NS).filter(|m| detail.kind == RECEIPT && m.contains_key("total"));
    let Some(meta) = meta else {
        return Err(Error::new("not_found", format!("{} is not a Finance receipt in this library", input.entry_id)));
    };
    let vendor = meta.get("vendor").and_then(|v| v.as_str()).unwrap_or_default().to_string();
    client.set_metadata(input.entry_id, &pipeline::recategorized(&input.category))?;
    let mut settings = store::load_settings(&client)?;
    let key = store::vendor_key(&vendor);
    if !key.is_empty() {
        settings.vendor_categories.insert(key.clone(), input.category.clone());
        store::save_settings(&client, &settings)?;
    }
    let mut also_updated = 0;
    for e in store::all_expenses(&client)? {
        let same_vendor = !key.is_empty() && store::vendor_key(&e.vendor) == key;
        if e.entry_id == input.entry_id || !same_vendor || e.category == input.category || e.by_person {
            continue;
        }
        let mut set = BTreeMap::new();
        set.insert("category".to_string(), serde_json::json!(input.category));
        set.insert(
            "category_source".to_string(),
            serde_json::json!(format!("a person filed {vendor} under {}", input.category)),
        );
        client.set_metadata(e.entry_id, &set)?;
        also_updated += 1;
    }
    Ok(RecategorizeOutput { entry_id: input.entry_id, vendor, category: input.category, also_updated })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigureInput {
    #[serde(default)]
    watch_locations: Option<Vec<String>>,
    #[serde(default)]
    gmail_api_base: Option<String>,
    #[serde(default)]
    second_opinion: Option<bool>,
}

/// Sets which folders are watched for new receipts, the Gmail API base, and
/// whether unsure fields get a language model's second opinion.
#[spacedrive_operation]
fn configure(ctx: &OperationContext, input: ConfigureInput) -> Result<store::Settings> {
    let client = library_client(ctx)?;
    let mut settings = store::load_settings(&client)?;
    if let Some(paths) = input.watch_locations {
        let granted = client.grants()?;
        let mut clean = Vec::new();
        for p in paths {
            if !p.starts_with('/') {
                return Err(Error::invalid(format!("watch_locations takes absolute paths, not {p:?}")));
            }
            let p = p.trim_end_matches('/').to_string();
            if !granted.iter().any(|g| p == *g || p.starts_with(&format!("{}/", g.trim_end_matches('/')))) {
                return Err(Error::new(
                    "permission_denied",
                    format!(
                        "Finance may not read {p:?}, so it cannot watch it: grant it first with `sd ext grant finance --path {p}`"
                    ),
                ));
            }
            clean.push(p);
        }
        settings.watch_locations = clean;
    }
    if let Some(on) = input.second_opinion {
        settings.second_opinion = on;
    }
    if let Some(base) = input.gmail_api_base {
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(Error::invalid("gmail_api_base must be an http(s) URL"));
        }
        settings.gmail_api_base = Some(base.trim_end_matches('/').to_string());
    }
    store::save_settings(&client, &settings)?;
    Ok(settings)
}

/// New files in watched folders are imported as they are indexed.
#[on_event]
fn on_entry(ctx: &OperationContext, event: Event) -> Result<()> {
    if event.kind() != EventKind::EntryCreated && event.kind() != EventKind::EntryModified {
        return Ok(());
    }
    let Some(id) = event.entry_id else { return Ok(()) };
    let client = ctx.client();
    let settings = store::load_settings(&client)?;
    if settings.watch_locations.is_empty() {
        return Ok(());
    }
    let entry = client.entry(id)?;
    let Some(path) = entry.path.as_deref() else { return Ok(()) };
    let watched = settings.watch_locations.iter().any(|w| path.starts_with(&format!("{w}/")));
    if !watched || entry.kind == "dir" {
        return Ok(());
    }
    match pipeline::supported(&entry.name) {
        None => Ok(()),
        Some(_) => {
            let mut warnings = Vec::new();
            let outcome = import::one_entry(&client, &settings, &entry, &mut warnings);
            for w in warnings {
                warn!("{w}");
            }
            match outcome {
                Ok(o) => info!("{path}: {o}"),
                Err(e) => warn!("{path}: {e}"),
            }
            Ok(())
        }
    }
}

pub use import::{ImportState, Stats};
