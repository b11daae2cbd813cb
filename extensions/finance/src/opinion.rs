//! A second opinion from a language model, for the fields extraction is
//! unsure of, when the person has configured an OpenAI-compatible server
//! (a local Ollama or llama.cpp) and turned `second_opinion` on. An answer
//! is kept only when the document's own text bears it out: the amount is
//! printed in it, the date is written in it and is no later than the
//! document, the merchant's name appears in it, the currency is named in it
//! or is its country's. Off by default; nothing else depends on it.

use spacedrive_sdk::{Client, Result};

use crate::dates::{self, Date, Order};
use crate::extract::{Extracted, Field};
use crate::{locale, money, vendor};

/// Fields under this confidence are asked about.
const UNSURE: f32 = 0.7;
/// Most of the text sent: the head and foot of a receipt carry the fields.
const MAX_TEXT: usize = 8 * 1024;

const PROMPT: &str = "The text is a receipt or an invoice, possibly read by OCR with errors. Give the merchant (the business that was paid, as printed), the purchase or invoice date as YYYY-MM-DD, the total amount paid as a plain number, and its ISO 4217 currency code. Write each as a label `field: value`, e.g. {\"labels\": [{\"label\": \"vendor: Acme Hardware\", \"score\": 1}, {\"label\": \"date: 2024-01-31\", \"score\": 1}, {\"label\": \"total: 12.50\", \"score\": 1}, {\"label\": \"currency: EUR\", \"score\": 1}]}. Leave out a field the text does not show.";

/// Whether any field is missing or unsure.
pub fn wanted(e: &Extracted) -> bool {
    let unsure = |c: Option<f32>| c.is_none_or(|c| c < UNSURE);
    unsure(e.vendor.as_ref().map(|f| f.confidence))
        || unsure(e.date.as_ref().map(|f| f.confidence))
        || unsure(e.total.as_ref().map(|f| f.confidence))
        || unsure(e.currency.as_ref().map(|f| f.confidence))
}

fn checked<T>(value: T, what: &str) -> Field<T> {
    Field { value, confidence: 0.75, source: format!("a language model, checked: {what}") }
}

/// Asks, and replaces each unsure field whose answer the text bears out.
/// Returns the names of the fields replaced.
pub fn apply(client: &Client, text: &str, latest: Option<Date>, e: &mut Extracted) -> Result<Vec<&'static str>> {
    let mut cut = text.len().min(MAX_TEXT);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let answer = client.ask_language_model(&text[..cut], PROMPT)?;
    let mut replaced = Vec::new();
    let unsure = |f: Option<f32>| f.is_none_or(|c| c < UNSURE);
    let lines: Vec<&str> = text.lines().collect();
    for label in &answer.labels {
        let Some((name, value)) = label.label.split_once(':') else { continue };
        let value = value.trim();
        match name.trim().to_lowercase().as_str() {
            "vendor" if unsure(e.vendor.as_ref().map(|f| f.confidence)) => {
                let key = vendor::squash(value);
                if key.chars().count() >= 2 && vendor::squash(text).contains(&key) {
                    e.vendor = Some(checked(vendor::clean(value), "the name is printed in the text"));
                    replaced.push("vendor");
                }
            }
            "date" if unsure(e.date.as_ref().map(|f| f.confidence)) => {
                let Some(d) = Date::parse_iso(value) else { continue };
                let written = lines.iter().any(|l| {
                    [Order::DayFirst, Order::MonthFirst]
                        .iter()
                        .any(|o| dates::dates_in(l, *o, None).iter().any(|(_, x)| *x == d))
                });
                let in_time = d.year >= 1990 && latest.is_none_or(|l| d.days() <= l.days() + 1);
                if written && in_time {
                    e.date = Some(checked(d.iso(), "the date is written in the text"));
                    replaced.push("date");
                }
            }
            "total" if unsure(e.total.as_ref().map(|f| f.confidence)) => {
                let digits: String = value.chars().filter(|c| c.is_ascii_digit() || *c == '.').collect();
                let Ok(v) = digits.parse::<f64>() else { continue };
                let printed = lines.iter().any(|l| money::amounts(l).iter().any(|m| (m.value - v).abs() < 0.005));
                if v > 0.0 && printed {
                    e.total = Some(checked(money::cents(v), "the amount is printed in the text"));
                    replaced.push("total");
                }
            }
            "currency" if unsure(e.currency.as_ref().map(|f| f.confidence)) => {
                let code = value.to_uppercase();
                let named = text.contains(&code)
                    || lines.iter().any(|l| money::amounts(l).iter().any(|m| m.currency == Some(code.as_str())));
                let country = locale::infer(text, "").is_some_and(|(c, _)| c.currency == code);
                if money::standalone_code(&code).is_some() && (named || country) {
                    e.currency = Some(checked(code, "the currency is named in the text or is its country's"));
                    replaced.push("currency");
                }
            }
            _ => {}
        }
    }
    Ok(replaced)
}
