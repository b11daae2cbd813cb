//! From a receipt's text (and, for email, its sender, subject and date) to
//! vendor, purchase date, total and currency, each with a confidence and
//! where it came from; and whether the text is a receipt at all.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::dates::{self, Date, Order};
use crate::money::{self, Money};
use crate::vendor;

/// What a document offers.
#[derive(Debug, Clone, Default)]
pub struct Doc<'a> {
    /// The text (email body, OCR output, text layer).
    pub text: &'a str,
    /// The sender's display name, for email.
    pub from_name: &'a str,
    /// The sender's address, for email.
    pub from_address: &'a str,
    /// The subject, for email.
    pub subject: &'a str,
    /// The email's `Date:` header.
    pub email_date: Option<Date>,
}

/// One extracted field.
#[derive(Debug, Clone, Serialize)]
pub struct Field<T> {
    /// The value.
    pub value: T,
    /// 0 to 1.
    pub confidence: f32,
    /// Where it came from, e.g. `line 3: "TOTAL 12.50"`.
    pub source: String,
}

fn field<T>(value: T, confidence: f32, source: impl Into<String>) -> Field<T> {
    Field { value, confidence, source: source.into() }
}

/// What extraction found.
#[derive(Debug, Clone, Serialize)]
pub struct Extracted {
    /// The merchant, as a person writes it.
    pub vendor: Option<Field<String>>,
    /// Purchase date, `YYYY-MM-DD`.
    pub date: Option<Field<String>>,
    /// Amount paid.
    pub total: Option<Field<f64>>,
    /// ISO 4217.
    pub currency: Option<Field<String>>,
}

/// Why a text is, or is not, a receipt.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Whether it is.
    pub receipt: bool,
    /// What decided it.
    pub reason: String,
}

static WORD: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern
    Regex::new(r"[\p{L}\p{N}&'’]+").unwrap()
});

/// Lowercase words of a line with accents dropped (OCR often loses them),
/// for label matching.
fn words(line: &str) -> Vec<String> {
    WORD.find_iter(line).map(|m| fold(&m.as_str().to_lowercase().replace('’', "'"))).collect()
}

/// Drops the accents of Latin letters.
fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            c => c,
        })
        .collect()
}

fn has_phrase(words: &[String], phrase: &str) -> bool {
    let p: Vec<&str> = phrase.split(' ').collect();
    words.windows(p.len()).any(|w| w.iter().zip(&p).all(|(a, b)| a == b))
}

/// Labels of the amount paid, strongest first.
const PAID_LABELS: &[&str] = &[
    "amount paid",
    "total paid",
    "paid",
    "amount charged",
    "total charged",
    "charged",
    "payment total",
    "grand total",
    "order total",
    "total due",
    "amount due",
    "balance due",
    "total amount",
    "invoice total",
    "total to pay",
    "amount to pay",
    "to pay",
    "total ttc",
    "montant total",
    "montant ttc",
    "net a payer",
    "a payer",
    "gesamtbetrag",
    "zu zahlen",
    "endbetrag",
    "totale",
    "importe total",
    "total a pagar",
    "te betalen",
    "totaal",
    "att betala",
    "summa",
    "totalt",
    "i alt",
];
/// Labels of a total that may not be the last word (a tip may follow).
const TOTAL_LABELS: &[&str] =
    &["total", "gesamt", "summe", "betrag", "totaal", "montant", "importe", "sum", "amount", "balance", "payment"];
/// Words that make a line with "total" something else.
const NOT_TOTAL: &[&str] = &[
    "subtotal",
    "sub total",
    "sub-total",
    "zwischensumme",
    "sous-total",
    "sous total",
    "subtotale",
    "savings",
    "saved",
    "you save",
    "discount",
    "tax",
    "vat",
    "gst",
    "hst",
    "pst",
    "mwst",
    "tva",
    "iva",
    "btw",
    "moms",
    "ust",
    "excl",
    "excluding",
    "before",
    "net",
    "netto",
    "items",
    "item",
    "qty",
    "quantity",
    "points",
    "cash",
    "tendered",
    "change",
    "ruckgeld",
    "previous",
    "tip",
    "gratuity",
    "pourboire",
    "trinkgeld",
    "deposit",
    "pfand",
    "refund",
    "rounding",
    "balance remaining",
    "remaining",
    "credit",
    "weight",
    "per",
    "unit",
    "fee",
    "shipping",
    "delivery",
];
/// Phrases that turn a tax or tip line back into the amount paid.
const INCLUSIVE: &[&str] =
    &["incl", "including", "inc", "included", "inkl", "ttc", "with tip", "incl tip", "including tip", "after tip"];

/// Whether the words (a label's own words taken out) make a line something
/// other than the amount paid.
fn excluded(w: &[String]) -> bool {
    NOT_TOTAL.iter().any(|p| {
        let p_words: Vec<String> = p.split([' ', '-']).map(str::to_string).collect();
        has_phrase(w, &p_words.join(" ")) || w.iter().any(|x| x == p)
    })
}

/// The words of `w` without the first occurrence of `phrase`.
fn without(w: &[String], phrase: &str) -> Vec<String> {
    let p: Vec<&str> = phrase.split(' ').collect();
    match w.windows(p.len()).position(|win| win.iter().zip(&p).all(|(a, b)| a == b)) {
        Some(i) => w[..i].iter().chain(&w[i + p.len()..]).cloned().collect(),
        None => w.to_vec(),
    }
}

fn label_rank(line: &str) -> Option<u8> {
    let w = words(line);
    if w.is_empty() {
        return None;
    }
    let inclusive = INCLUSIVE.iter().any(|p| has_phrase(&w, p));
    let joined = w.join(" ");
    if joined.contains("subtotal") || joined.contains("zwischensumme") || joined.contains("sous total") {
        return None;
    }
    for (i, label) in PAID_LABELS.iter().enumerate() {
        if has_phrase(&w, label) && (inclusive || !excluded(&without(&w, label))) {
            // Earlier in the list ranks higher.
            return Some(200 - i as u8);
        }
    }
    if let Some(label) = TOTAL_LABELS.iter().find(|l| w.iter().any(|x| x == *l))
        && (inclusive || !excluded(&without(&w, label)))
    {
        return Some(100);
    }
    None
}

fn is_tip_line(line: &str) -> bool {
    let w = words(line);
    ["tip", "gratuity", "pourboire", "trinkgeld", "propina", "mancia", "fooi"].iter().any(|t| w.iter().any(|x| x == t))
        && !INCLUSIVE.iter().any(|p| has_phrase(&w, p))
}

/// The amount paid: the strongest labelled amount, the largest among equals;
/// then, when a tip follows it, the labelled amount that adds the tip.
fn find_total(lines: &[&str]) -> Option<(Money, usize, u8)> {
    let best = labelled_total(lines)?;
    let tip: f64 = lines[best.1 + 1..]
        .iter()
        .filter(|l| is_tip_line(l))
        .filter_map(|l| money::amounts(l).into_iter().rfind(money::is_price))
        .map(|m| m.value)
        .sum();
    if tip > 0.0 {
        let with_tip = best.0.value + tip;
        for (i, line) in lines.iter().enumerate().skip(best.1 + 1) {
            if let (Some(rank), Some(m)) = (label_rank(line), money::amounts(line).into_iter().rfind(money::is_price))
                && (m.value - with_tip).abs() < 0.011
            {
                let m =
                    Money { currency: m.currency.or(best.0.currency), marker: m.marker.or(best.0.marker.clone()), ..m };
                return Some((m, i, rank));
            }
        }
    }
    Some(best)
}

fn labelled_total(lines: &[&str]) -> Option<(Money, usize, u8)> {
    let mut best: Option<(Money, usize, u8)> = None;
    for (i, line) in lines.iter().enumerate() {
        let Some(rank) = label_rank(line) else { continue };
        // The amount is on the label's line, or alone on the next one.
        let mut found = money::amounts(line).into_iter().rfind(money::is_price);
        if found.is_none()
            && let Some(next) = lines.get(i + 1)
            && label_rank(next).is_none()
        {
            found = money::amounts(next).into_iter().rfind(money::is_price);
        }
        let Some(m) = found else { continue };
        if m.value <= 0.0 {
            continue;
        }
        let better = match &best {
            None => true,
            Some((b, _, r)) => rank > *r || (rank == *r && m.value > b.value),
        };
        if better {
            best = Some((m, i, rank));
        }
    }
    best
}

/// A bare `$` (or `kr`, `¥`) in a document from this country.
fn dollar_country(text: &str, domain: &str) -> Option<(&'static str, &'static str)> {
    static CANADA: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(
            r"(?i)\bcanada\b|\b(?:ON|BC|QC|AB|MB|NS|NB|SK|PE|NL)\s+[A-Z]\d[A-Z]\s?\d[A-Z]\d\b|\bGST/HST\b|\bHST\b",
        )
        .unwrap()
    });
    static AUSTRALIA: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)\baustralia\b|\bABN\b|\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+\d{4}\b").unwrap()
    });
    static NEW_ZEALAND: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)\bnew zealand\b|\bGST No\b|\bIRD\b").unwrap()
    });
    static SINGAPORE: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)\bsingapore\b").unwrap()
    });
    static MEXICO: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)\bm[eé]xico\b|\bRFC\b").unwrap()
    });
    let tld = |t: &str| domain.ends_with(t);
    if NEW_ZEALAND.is_match(text) || tld(".nz") {
        return Some(("NZD", "New Zealand address or domain"));
    }
    if AUSTRALIA.is_match(text) || tld(".au") {
        return Some(("AUD", "Australian address, ABN or domain"));
    }
    if CANADA.is_match(text) || tld(".ca") {
        return Some(("CAD", "Canadian address, HST or domain"));
    }
    if SINGAPORE.is_match(text) || tld(".sg") {
        return Some(("SGD", "Singapore address or domain"));
    }
    if MEXICO.is_match(text) || tld(".mx") {
        return Some(("MXN", "Mexican address or domain"));
    }
    None
}

fn resolve_currency(m: &Money, text: &str, domain: &str) -> Option<Field<String>> {
    let marker = m.marker.as_deref().unwrap_or("");
    match (m.currency, marker) {
        (Some("USD"), "$") => Some(match dollar_country(text, domain) {
            Some((code, why)) => field(code.to_string(), 0.85, format!("bare $ with a {why}")),
            None => field("USD".to_string(), 0.8, "bare $ with no other country named"),
        }),
        (Some("SEK"), "kr") => {
            let lower = text.to_lowercase();
            let code = if lower.contains("norge") || lower.contains("norway") || domain.ends_with(".no") {
                "NOK"
            } else if lower.contains("danmark") || lower.contains("denmark") || domain.ends_with(".dk") {
                "DKK"
            } else {
                "SEK"
            };
            Some(field(code.to_string(), 0.7, "kr with the country named"))
        }
        (Some(code), _) => Some(field(code.to_string(), 0.95, format!("the total's marker `{marker}`"))),
        (None, _) => None,
    }
}

/// The currency the document names most, when the total has no marker.
fn document_currency(lines: &[&str], text: &str, domain: &str) -> Option<Field<String>> {
    let mut counts: Vec<(String, usize, Money)> = Vec::new();
    for line in lines {
        for m in money::amounts(line) {
            if m.currency.is_some() {
                let resolved = resolve_currency(&m, text, domain).map(|f| f.value).unwrap_or_default();
                match counts.iter_mut().find(|(c, _, _)| *c == resolved) {
                    Some(e) => e.1 += 1,
                    None => counts.push((resolved, 1, m)),
                }
            }
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    if let Some((_, _, m)) = counts.first() {
        return resolve_currency(m, text, domain).map(|mut f| {
            f.confidence *= 0.9;
            f.source = format!("most amounts in the document: {}", f.source);
            f
        });
    }
    // Codes and words without a number next to them.
    let upper = text.to_uppercase();
    for (word, code) in [("EUR", "EUR"), ("GBP", "GBP"), ("USD", "USD"), ("CAD", "CAD"), ("AUD", "AUD"), ("CHF", "CHF")]
    {
        if upper.split(|c: char| !c.is_ascii_alphabetic()).any(|w| w == word) {
            return Some(field(code.to_string(), 0.6, format!("the code {word} in the text")));
        }
    }
    if let Some((code, why)) = dollar_country(text, domain) {
        return Some(field(code.to_string(), 0.4, format!("no currency marker; {why}")));
    }
    static UK_POSTCODE: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b").unwrap()
    });
    if UK_POSTCODE.is_match(text) || domain.ends_with(".uk") {
        return Some(field("GBP".to_string(), 0.4, "no currency marker; a UK postcode or domain"));
    }
    // Amounts with decimal commas and no marker at all: the euro area.
    let prices: Vec<Money> = lines.iter().flat_map(|l| money::amounts(l)).filter(|m| m.has_decimals).collect();
    let decimal_commas = prices.iter().filter(|m| m.decimal_comma).count();
    if !prices.is_empty() && decimal_commas * 2 > prices.len() {
        return Some(field("EUR".to_string(), 0.35, "no currency marker; decimal commas"));
    }
    None
}

/// How to read numeric dates in a document in this currency.
fn date_order(currency: Option<&str>) -> Order {
    match currency {
        Some("USD") | Some("CAD") | None => Order::MonthFirst,
        _ => Order::DayFirst,
    }
}

/// Words on a line that make its date something other than the purchase.
const NOT_PURCHASE_DATE: &[&str] = &[
    "return",
    "returns",
    "valid",
    "expires",
    "expiry",
    "exp",
    "until",
    "next",
    "renews",
    "renewal",
    "due",
    "birth",
    "since",
    "member",
    "check",
    "arrival",
    "departure",
    "delivery",
    "deliver",
    "ship",
    "ships",
    "shipped",
    "estimated",
    "best",
    "warranty",
    "period",
    "from",
    "to",
    "through",
    "thru",
    "billing",
];
/// Words that label the purchase date.
const DATE_LABELS: &[&str] =
    &["date", "datum", "fecha", "data", "dated", "issued", "purchased", "ordered", "transaction", "order", "invoice"];

fn find_date(lines: &[&str], doc: &Doc<'_>, order: Order) -> Option<Field<String>> {
    let mut best: Option<(u8, usize, Date, String)> = None;
    for (i, line) in lines.iter().enumerate() {
        let found = dates::dates_in(line, order, doc.email_date);
        let Some((_, date)) = found.first() else { continue };
        let w = words(line);
        let labelled = DATE_LABELS.iter().any(|l| w.iter().any(|x| x == l));
        let other = NOT_PURCHASE_DATE.iter().any(|l| w.iter().any(|x| x == l))
            && !has_phrase(&w, "order date")
            && !has_phrase(&w, "invoice date");
        let score = match (labelled, other) {
            (true, false) => 3,
            (false, false) => 2,
            (true, true) => 1,
            (false, true) => 0,
        };
        if best.as_ref().is_none_or(|(s, _, _, _)| score > *s) {
            best = Some((score, i, *date, line.trim().to_string()));
        }
    }
    match (best, doc.email_date) {
        (Some((score, i, date, line)), _) if score >= 2 => {
            Some(field(date.iso(), if score == 3 { 0.9 } else { 0.8 }, format!("line {}: {line:?}", i + 1)))
        }
        (_, Some(d)) => Some(field(d.iso(), 0.7, "the email's Date header")),
        (Some((_, i, date, line)), None) => Some(field(date.iso(), 0.5, format!("line {}: {line:?}", i + 1))),
        (None, None) => None,
    }
}

/// Extracts the four fields.
pub fn extract(doc: &Doc<'_>) -> Extracted {
    let lines: Vec<&str> = doc.text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let domain = doc.from_address.rsplit_once('@').map_or("", |(_, d)| d);
    let total_found = find_total(&lines);
    let (total, mut currency) = match &total_found {
        Some((m, i, rank)) => {
            let conf = if *rank > 100 { 0.95 } else { 0.85 };
            (
                Some(field(money::cents(m.value), conf, format!("line {}: {:?}", i + 1, lines[*i]))),
                resolve_currency(m, doc.text, domain),
            )
        }
        None => (None, None),
    };
    if currency.is_none() {
        currency = document_currency(&lines, doc.text, domain);
    }
    let order = date_order(currency.as_ref().map(|c| c.value.as_str()));
    let date = find_date(&lines, doc, order);
    let vendor = vendor::find(&lines, doc);
    Extracted { vendor, date, total, currency }
}

/// Words that say a message or document records a payment.
const PAYMENT_WORDS: &[&str] = &[
    "receipt",
    "invoice",
    "paid",
    "payment",
    "charged",
    "purchase",
    "order confirmation",
    "order confirmed",
    "thank you for your order",
    "thanks for your order",
    "thank you for your purchase",
    "thank you for shopping",
    "thanks for shopping",
    "booking confirmation",
    "booking confirmed",
    "reservation confirmed",
    "visa",
    "mastercard",
    "amex",
    "card ending",
    "subtotal",
    "total",
    "quittung",
    "rechnung",
    "beleg",
    "reçu",
    "facture",
    "ticket de caisse",
    "recibo",
    "factura",
    "ricevuta",
    "kvitto",
    "bon",
    "summe",
    "gesamt",
    "mwst",
    "ust",
    "tva",
    "iva",
    "btw",
    "vat",
    "gst",
    "tax",
    "ttc",
    "cash",
    "change",
    "tendered",
    "contactless",
    "bar",
    "rückgeld",
    "kartenzahlung",
    "girocard",
    "carte",
    "espèces",
    "efectivo",
    "tarjeta",
    "totale",
    "totaal",
];
/// Marks of mail that is not a receipt, by what it mostly is.
const NOT_RECEIPT: &[(&str, &[&str])] = &[
    (
        "a shipping notice",
        &[
            "has shipped",
            "have shipped",
            "was shipped",
            "is on its way",
            "on the way",
            "out for delivery",
            "tracking number",
            "track your package",
            "track your order",
            "track package",
            "has been delivered",
            "was delivered",
            "shipment",
            "in transit",
        ],
    ),
    (
        "a check-in or travel reminder",
        &[
            "check in now",
            "check-in is open",
            "check in for your flight",
            "online check-in",
            "boarding pass",
            "time to check in",
            "check-in now open",
        ],
    ),
    (
        "a newsletter or promotion",
        &[
            "unsubscribe",
            "% off",
            "shop now",
            "limited time",
            "sale ends",
            "newsletter",
            "view in browser",
            "deals",
            "promo code",
            "don't miss",
            "new arrivals",
            "offer ends",
        ],
    ),
];

/// Whether a text (with its email headers) is a receipt.
pub fn verdict(doc: &Doc<'_>, extracted: &Extracted) -> Verdict {
    let hay = format!("{}\n{}", doc.subject, doc.text).to_lowercase();
    let subject = doc.subject.to_lowercase();
    let payment = PAYMENT_WORDS.iter().filter(|w| contains_word(&hay, w)).count();
    let strong_payment = [
        "receipt",
        "invoice",
        "amount paid",
        "total paid",
        "payment received",
        "you paid",
        "charged",
        "rechnung",
        "quittung",
        "facture",
        "reçu",
        "recibo",
        "factura",
    ]
    .iter()
    .any(|w| contains_word(&hay, w));
    let Some(total) = &extracted.total else {
        return Verdict { receipt: false, reason: "no amount paid found".into() };
    };
    for (what, marks) in NOT_RECEIPT {
        let hits = marks.iter().filter(|m| hay.contains(*m)).count();
        let in_subject = marks.iter().any(|m| subject.contains(m));
        // A receipt may carry an unsubscribe link or a tracking line; it is
        // a notice when those marks lead and nothing says money was paid.
        if (in_subject && !subject.contains("receipt")) || (hits >= 2 && !strong_payment) {
            return Verdict { receipt: false, reason: format!("looks like {what}") };
        }
    }
    if payment == 0 && total.confidence < 0.9 {
        return Verdict { receipt: false, reason: "an amount, but nothing says it was paid".into() };
    }
    Verdict { receipt: true, reason: format!("amount paid {:.2} with {payment} payment words", total.value) }
}

/// Whether `phrase` stands in `hay` as whole words.
pub(crate) fn contains_word(hay: &str, phrase: &str) -> bool {
    let mut start = 0;
    while let Some(i) = hay[start..].find(phrase) {
        let at = start + i;
        let before = hay[..at].chars().next_back();
        let after = hay[at + phrase.len()..].chars().next();
        if !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric) {
            return true;
        }
        start = at + phrase.len();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Extracted {
        extract(&Doc { text, ..Default::default() })
    }

    #[test]
    fn totals() {
        let t = "Subtotal 40.00\nTax 3.20\nTotal 43.20\nTip 8.00\nTotal 51.20\nVisa 51.20";
        assert_eq!(doc(t).total.map(|f| f.value), Some(51.2));
        let t = "SUBTOTAL $50.00\nYou saved $5.00\nTOTAL $45.00\nCASH $50.00\nCHANGE $5.00";
        assert_eq!(doc(t).total.map(|f| f.value), Some(45.0));
        let t = "Summe EUR 23,40\nMwSt 19% 3,74\nGegeben 50,00";
        let e = doc(t);
        assert_eq!(e.total.map(|f| f.value), Some(23.4));
        assert_eq!(e.currency.map(|f| f.value).as_deref(), Some("EUR"));
        let t = "Total (incl. VAT) £12.00\nVAT 2.00";
        assert_eq!(doc(t).total.map(|f| f.value), Some(12.0));
    }

    #[test]
    fn currencies() {
        let t = "Tim Hortons\n123 King St W, Toronto ON M5H 1A1\nTotal $5.40";
        assert_eq!(doc(t).currency.map(|f| f.value).as_deref(), Some("CAD"));
        let t = "Woolworths\nABN 88 000 014 675\nTOTAL $20.00";
        assert_eq!(doc(t).currency.map(|f| f.value).as_deref(), Some("AUD"));
    }
}

#[cfg(test)]
mod styles {
    //! Receipts in styles the corpus generator does not write.
    use super::*;

    fn read(text: &str, from: &str, subject: &str) -> (String, String, f64, String) {
        let (name, addr) =
            from.split_once('<').map_or(("", from), |(n, a)| (n.trim().trim_matches('"'), a.trim_end_matches('>')));
        let doc = Doc { text, from_name: name, from_address: addr, subject, email_date: None };
        let e = extract(&doc);
        assert!(verdict(&doc, &e).receipt, "{text}");
        (
            e.vendor.map(|f| f.value).unwrap_or_default(),
            e.date.map(|f| f.value).unwrap_or_default(),
            e.total.map(|f| f.value).unwrap_or_default(),
            e.currency.map(|f| f.value).unwrap_or_default(),
        )
    }

    #[test]
    fn paper_and_email_styles() {
        let pizza = "JOE'S PIZZA\n7 Carmine St\nNew York, NY 10014\n(212) 366-1182\nServer: Maria    Table 12\nCheck #4521\n11/02/2025 8:42 PM\n2 Cheese Slice   7.00\n1 Coke   2.75\nSubtotal   9.75\nTax   0.87\nTotal   10.62\nTip   2.00\nTOTAL   $12.62\n";
        assert_eq!(read(pizza, "", ""), ("Joe's Pizza".into(), "2025-11-02".into(), 12.62, "USD".into()));
        let uk = "Sainsbury's\nHolborn Circus\nVAT No. 660 4548 36\nBANANAS LOOSE   £0.68\nSEMI SKIMMED MILK   £1.45\nBALANCE DUE   £2.13\nCONTACTLESS   £2.13\nNectar points earned 2\n14/03/2026 17:05\n";
        assert_eq!(read(uk, "", ""), ("Sainsbury's".into(), "2026-03-14".into(), 2.13, "GBP".into()));
        let fuel = "ARAL Tankstelle\nHauptstr. 12\n80331 München\nSuper E10 45,23 l 81,37\nSumme EUR 81,37\nBar 100,00\nRückgeld 18,63\nDatum 02.01.2026 07:14\n";
        assert_eq!(read(fuel, "", ""), ("ARAL Tankstelle".into(), "2026-01-02".into(), 81.37, "EUR".into()));
        let amazon = "Order Confirmation\nHello Sam,\nThank you for shopping with us. Your order will be sent soon.\nOrder #112-3456789-1234567\nPlaced on Tuesday, March 3, 2026\nItem Subtotal: $33.98\nShipping & Handling: $0.00\nEstimated tax: $2.99\nOrder Total: $36.97\n";
        assert_eq!(
            read(amazon, "\"Amazon.com\" <auto-confirm@amazon.com>", "Your Amazon.com order #112-3456789-1234567"),
            ("Amazon".into(), "2026-03-03".into(), 36.97, "USD".into())
        );
        let invoice = "Invoice\nInvoice number ABCD-0012\nDate of issue March 1, 2026\nDate due March 15, 2026\nLinear\n548 Market St\nSan Francisco, CA 94104\nDescription Qty Unit price Amount\nStandard plan 8 $12.00 $96.00\nSubtotal $96.00\nTotal $96.00\nAmount due $96.00 USD\n";
        assert_eq!(read(invoice, "", ""), ("Linear".into(), "2026-03-01".into(), 96.0, "USD".into()));
        let fr = "BOULANGERIE DUPONT\n3 place du Marché\n69002 Lyon\nle 05/02/2026 à 08:12\n2 Croissants 2,40\n1 Baguette tradition 1,30\nTOTAL TTC 3,70 EUR\ndont TVA 5,5% 0,19\nCB SANS CONTACT 3,70\n";
        assert_eq!(read(fr, "", ""), ("Boulangerie Dupont".into(), "2026-02-05".into(), 3.7, "EUR".into()));
    }

    fn is_receipt(text: &str, subject: &str) -> bool {
        let doc = Doc { text, subject, from_address: "news@shop.example", ..Default::default() };
        verdict(&doc, &extract(&doc)).receipt
    }

    #[test]
    fn not_receipts() {
        assert!(!is_receipt(
            "Your order has shipped!\nTracking number: 9400 1000\nOrder total: $45.00\nTrack your package",
            "Shipped: your order"
        ));
        assert!(!is_receipt(
            "Weekend sale! Jeans now $29.99 (was $59.99)\nShop now\nUnsubscribe",
            "48 hours only: 50% off"
        ));
        assert!(!is_receipt("Your membership renews on April 1 for $9.99.\nNo action is needed.", "Renewal reminder"));
        assert!(!is_receipt("Hi! Lunch was $12 each, can you send me yours?", "lunch"));
        assert!(is_receipt(
            "Thanks for your order!\nTotal charged: $18.20\nWe'll email you when it ships.",
            "Order confirmation"
        ));
    }
}

#[cfg(test)]
mod garbage {
    /// Whatever bytes arrive, reading them as an email and extracting from
    /// them returns; a panic would trap the guest and fail a whole import.
    #[test]
    fn arbitrary_input_never_panics() {
        let pieces: &[&str] = &[
            "Total",
            " ",
            "$",
            "€",
            "1,234.56",
            "12,5",
            "\n",
            "Date:",
            "03/04/2026",
            "İ",
            "ẞ",
            "<div>",
            "</td>",
            "From: ",
            "Subject: ",
            "=?UTF-8?B?",
            "--b\r\n",
            "Content-Type: multipart/mixed; boundary=b\r\n",
            "\r\n\r\n",
            "Inc.",
            "Receipts",
            "#12",
            "March",
            "31.02.2026",
            "tip",
            "0",
            "\u{0}",
            "ÿ",
            "Net à payer",
            "-",
            "kr",
            "CA$",
        ];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..3000 {
            let mut text = String::new();
            for _ in 0..(state % 40) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            if let Ok(msg) = crate::mime::parse(text.as_bytes()) {
                let doc = super::Doc {
                    text: &msg.text,
                    from_name: &msg.from_name,
                    from_address: &msg.from_address,
                    subject: &msg.subject,
                    email_date: msg.date,
                };
                let e = super::extract(&doc);
                let _ = super::verdict(&doc, &e);
            }
            let doc =
                super::Doc { text: &text, from_name: &text, from_address: &text, subject: &text, email_date: None };
            let e = super::extract(&doc);
            let _ = super::verdict(&doc, &e);
            let _ = crate::mime::split_mbox(text.as_bytes());
            let _ = crate::mime::html_to_text(text.as_bytes());
        }
    }
}
