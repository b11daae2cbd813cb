//! Where Finance keeps things in the library: receipts as entries of kind
//! `receipt` with metadata in the `finance` namespace and two sidecars, and
//! its settings as metadata of one virtual entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use spacedrive_sdk::{Client, Entry, ListQuery, NewEntry, Result, Uuid, Where};

use crate::dates::Date;

/// The namespace everything is written to (the extension's id).
pub const NS: &str = "finance";
/// Kind of a receipt entry.
pub const RECEIPT: &str = "receipt";
/// Kind of the settings entry.
const SETTINGS_KIND: &str = "finance.settings";
/// Name of the extracted-text sidecar.
pub const TEXT_SIDECAR: &str = "text.txt";
/// Name of the analysis sidecar.
pub const ANALYSIS_SIDECAR: &str = "analysis.json";
/// Page size for listings.
const PAGE: u32 = 1000;

/// Finance's settings in one library.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Settings {
    /// Folders whose new receipt files are imported as they appear.
    #[serde(default)]
    pub watch_locations: Vec<String>,
    /// The Gmail API's base URL (a setting so tests can use a local server).
    #[serde(default)]
    pub gmail_api_base: Option<String>,
    /// A person's category per vendor (by squashed vendor name).
    #[serde(default)]
    pub vendor_categories: BTreeMap<String, String>,
    /// Whether fields extraction is unsure of are put to the person's
    /// OpenAI-compatible server (checked against the text). Off by default.
    #[serde(default)]
    pub second_opinion: bool,
}

impl Settings {
    /// The category a person chose for this vendor.
    pub fn remembered(&self, vendor: &str) -> Option<&str> {
        self.vendor_categories.get(&vendor_key(vendor)).map(String::as_str)
    }
}

/// A vendor name without its legal form, reduced to letters and digits, for
/// remembering choices: `Sinar Jaya Hardware` and `SINAR JAYA HARDWARE SDN
/// BHD` are one business.
pub fn vendor_key(vendor: &str) -> String {
    crate::vendor::squash(&crate::vendor::merchant(vendor))
}

fn settings_entry(client: &Client) -> Result<Option<(Uuid, BTreeMap<String, Value>)>> {
    let page = client.list_entries(&ListQuery {
        kind: Some(SETTINGS_KIND.into()),
        virtual_only: true,
        with_metadata: Some(NS.into()),
        limit: 10,
        ..Default::default()
    })?;
    Ok(page
        .entries
        .iter()
        .find(|e| e.owner == NS)
        .map(|e| (e.id, page.metadata.get(&e.id).cloned().unwrap_or_default())))
}

/// Reads the settings (defaults when none were saved).
pub fn load_settings(client: &Client) -> Result<Settings> {
    let Some((_, meta)) = settings_entry(client)? else { return Ok(Settings::default()) };
    Ok(meta.get("settings").and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default())
}

/// The settings entry's id, creating the entry when there is none.
pub fn settings_id(client: &Client) -> Result<Uuid> {
    if let Some((id, _)) = settings_entry(client)? {
        return Ok(id);
    }
    save_settings(client, &Settings::default())?;
    settings_entry(client)?
        .map(|(id, _)| id)
        .ok_or_else(|| spacedrive_sdk::Error::internal("the settings entry vanished"))
}

/// Saves the settings.
pub fn save_settings(client: &Client, settings: &Settings) -> Result<()> {
    let mut set = BTreeMap::new();
    set.insert("settings".to_string(), serde_json::to_value(settings)?);
    match settings_entry(client)? {
        Some((id, _)) => client.set_metadata(id, &set),
        None => client
            .create_entry(&NewEntry {
                name: "Finance settings".into(),
                kind: Some(SETTINGS_KIND.into()),
                parent: None,
                metadata: set,
            })
            .map(|_| ()),
    }
}

/// The receipt already stored under this key, if any.
pub fn find_by_key(client: &Client, key: &str) -> Result<Option<Entry>> {
    let hits = client.search("", &[Where { namespace: NS.into(), key: "key".into(), value: key.into() }], 1)?;
    Ok(hits.results.into_iter().next().map(|h| h.entry))
}

/// One stored expense.
#[derive(Debug, Clone, Serialize)]
pub struct Expense {
    /// The receipt entry.
    pub entry_id: Uuid,
    /// The file path, and for a message its Message-ID.
    pub source: String,
    /// Merchant.
    pub vendor: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    /// Amount paid.
    pub total: f64,
    /// ISO 4217.
    pub currency: String,
    /// Category.
    pub category: String,
    /// Lowest confidence of the five fields.
    pub confidence: f64,
    /// Whether a person chose the category.
    #[serde(skip)]
    pub by_person: bool,
}

impl Expense {
    fn from_metadata(id: Uuid, m: &BTreeMap<String, Value>) -> Option<Self> {
        let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        Some(Self {
            entry_id: id,
            source: text("source"),
            vendor: text("vendor"),
            date: text("date"),
            total: m.get("total").and_then(Value::as_f64)?,
            currency: text("currency"),
            category: text("category"),
            confidence: m.get("confidence").and_then(Value::as_f64).unwrap_or(0.0),
            by_person: m.get("category_source").and_then(Value::as_str) == Some("person"),
        })
    }
}

/// Every stored expense, in date order.
pub fn all_expenses(client: &Client) -> Result<Vec<Expense>> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = client.list_entries(&ListQuery {
            kind: Some(RECEIPT.into()),
            with_metadata: Some(NS.into()),
            limit: PAGE,
            offset,
            ..Default::default()
        })?;
        let n = page.entries.len() as u64;
        for e in &page.entries {
            if let Some(x) = page.metadata.get(&e.id).and_then(|m| Expense::from_metadata(e.id, m)) {
                out.push(x);
            }
        }
        offset += n;
        if n == 0 || offset >= page.total {
            break;
        }
    }
    out.sort_by(|a, b| a.date.cmp(&b.date).then(a.vendor.cmp(&b.vendor)));
    Ok(out)
}

/// Filters of the expense queries.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    /// First date, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    /// Last date, `YYYY-MM-DD`.
    #[serde(default)]
    pub to: Option<String>,
    /// One category.
    #[serde(default)]
    pub category: Option<String>,
    /// Vendor, matched without regard to case, spaces or punctuation.
    #[serde(default)]
    pub vendor: Option<String>,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: Option<String>,
}

impl Filter {
    /// Checks the filter's values.
    pub fn validate(&self) -> Result<()> {
        for (name, d) in [("from", &self.from), ("to", &self.to)] {
            if let Some(d) = d
                && Date::parse_iso(d).is_none_or(|p| p.iso() != *d)
            {
                return Err(spacedrive_sdk::Error::invalid(format!(
                    "`{name}` must be a date as YYYY-MM-DD, not {d:?}"
                )));
            }
        }
        if let Some(c) = &self.category
            && !crate::category::is_category(c)
        {
            return Err(spacedrive_sdk::Error::invalid(format!(
                "no category {c:?}; use one of {}",
                crate::category::CATEGORIES.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
            )));
        }
        Ok(())
    }

    /// Whether an expense passes.
    pub fn keeps(&self, e: &Expense) -> bool {
        self.from.as_ref().is_none_or(|f| e.date.as_str() >= f.as_str())
            && self.to.as_ref().is_none_or(|t| e.date.as_str() <= t.as_str())
            && self.category.as_ref().is_none_or(|c| e.category == *c)
            && self.currency.as_ref().is_none_or(|c| e.currency.eq_ignore_ascii_case(c))
            && self.vendor.as_ref().is_none_or(|v| vendor_key(&e.vendor).contains(&vendor_key(v)))
    }
}

/// Sums by currency, rounded to cents.
pub fn totals(expenses: &[Expense]) -> BTreeMap<String, f64> {
    let mut t: BTreeMap<String, f64> = BTreeMap::new();
    for e in expenses {
        *t.entry(e.currency.clone()).or_default() += e.total;
    }
    t.values_mut().for_each(|v| *v = crate::money::cents(*v));
    t
}

/// An expense as a metadata map, for writing.
pub fn metadata_of(fields: &crate::pipeline::Fields) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert("vendor".into(), json!(fields.vendor));
    m.insert("date".into(), json!(fields.date));
    m.insert("month".into(), json!(fields.date.get(..7).unwrap_or_default()));
    m.insert("total".into(), json!(fields.total));
    m.insert("currency".into(), json!(fields.currency));
    m.insert("category".into(), json!(fields.category));
    m.insert("category_source".into(), json!(fields.category_source));
    m.insert("source".into(), json!(fields.source));
    m.insert("key".into(), json!(fields.key));
    m.insert("confidence".into(), json!(fields.confidence));
    m
}
