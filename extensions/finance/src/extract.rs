//! From a receipt's text (and, for email, its sender, subject and date) to
//! vendor, purchase date, total and currency, each with a confidence and
//! where it came from; and whether the text is a receipt at all.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::dates::{self, Date, Order};
use crate::labels::{has_phrase, has_word, words};
use crate::locale::{self, Country};
use crate::money::{self, Money};
use crate::{totals, vendor};

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
    /// The latest the purchase can be: when the email was sent or the file
    /// last written. Later "dates" are misreadings or due dates.
    pub latest: Option<Date>,
    /// Whether the text was read by OCR, whose digits may be misread; a
    /// text file's, an email's or a PDF text layer's are as written.
    pub ocr: bool,
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
#[derive(Debug, Clone, Default, Serialize)]
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
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verdict {
    /// Whether it is.
    pub receipt: bool,
    /// What decided it.
    pub reason: String,
}

/// What a marker shared by several countries (`$`, `kr`, `¥`) is worth in
/// this document; a marker of one currency is that currency.
fn resolve_currency(m: &Money, country: Option<&(Country, String)>) -> Option<Field<String>> {
    let marker = m.marker.as_deref().unwrap_or("");
    let code = m.currency?;
    let shared = match marker {
        "$" => Some(locale::dollar(country.map(|c| c.0))),
        "kr" => Some(locale::krone(country.map(|c| c.0))),
        "¥" => Some(locale::yen(country.map(|c| c.0))),
        _ => None,
    };
    Some(match (shared, country) {
        (Some(code), Some((_, why))) => field(code.to_string(), 0.85, format!("`{marker}` in a document from {why}")),
        (Some(code), None) => field(code.to_string(), 0.75, format!("`{marker}` with no country named")),
        (None, _) => field(code.to_string(), 0.95, format!("the total's marker `{marker}`")),
    })
}

/// The currency of a document whose total has no marker: the one its
/// amounts name most, a code written on its own, or its country's.
fn document_currency(lines: &[&str], country: Option<&(Country, String)>) -> Option<Field<String>> {
    let mut counts: Vec<(String, usize, Money)> = Vec::new();
    for line in lines {
        // Prices only: a code before a whole number is as often part of an
        // item's name or model number (`SHOES KWD 805`).
        for m in money::amounts(line) {
            if m.currency.is_some() && m.has_decimals {
                let resolved = resolve_currency(&m, country).map(|f| f.value).unwrap_or_default();
                match counts.iter_mut().find(|(c, _, _)| *c == resolved) {
                    Some(e) => e.1 += 1,
                    None => counts.push((resolved, 1, m)),
                }
            }
        }
    }
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    // One amount in another currency than the country's, beside a total
    // with no marker, is more likely OCR's `$` for a `5` or `S`.
    let lone_foreign = |(code, n, _): &&(String, usize, Money)| {
        *n == 1 && counts.len() == 1 && country.is_some_and(|(c, _)| c.currency != code)
    };
    if let Some((_, _, m)) = counts.first().filter(|c| !lone_foreign(c)) {
        return resolve_currency(m, country).map(|mut f| {
            f.confidence *= 0.9;
            f.source = format!("most amounts in the document: {}", f.source);
            f
        });
    }
    // Codes without a number next to them: `Total (EUR)`, `Währung: EUR`.
    // Elsewhere, three capitals are as often part of an item's name, so
    // only the country's own code is taken there.
    for line in lines {
        let labelled = {
            let w = words(line);
            line.contains('(') || has_word(&w, CURRENCY_LABELS)
        };
        if let Some(code) = line
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter_map(money::standalone_code)
            .find(|code| labelled || country.is_some_and(|(c, _)| c.currency == *code))
        {
            return Some(field(code.to_string(), 0.7, format!("the code {code} in {line:?}")));
        }
    }
    if let Some((c, why)) = country {
        return Some(field(c.currency.to_string(), 0.6, format!("no currency marker; a document from {why}")));
    }
    // Amounts with decimal commas and no marker at all: the euro area.
    let prices: Vec<Money> = lines.iter().flat_map(|l| money::amounts(l)).filter(|m| m.has_decimals).collect();
    let decimal_commas = prices.iter().filter(|m| m.decimal_comma).count();
    if !prices.is_empty() && decimal_commas * 2 > prices.len() {
        return Some(field("EUR".to_string(), 0.35, "no currency marker; decimal commas"));
    }
    None
}

/// Words of a line that names the currency of a document's amounts.
const CURRENCY_LABELS: &[&str] = &[
    "total", "amount", "amt", "currency", "sum", "price", "waehrung", "wahrung", "betrag", "summe", "preis", "montant",
    "devise", "prix", "bedrag", "totaal", "valuta", "waluta", "kwota", "importe", "moneda", "totale",
];

/// How to read numeric dates: the country's way, else by the currency.
fn date_order(country: Option<&(Country, String)>, currency: Option<&str>) -> Order {
    if let Some((c, _)) = country {
        return c.order;
    }
    match currency {
        Some("USD") | Some("CAD") | Some("PHP") | None => Order::MonthFirst,
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
    "faellig",
    "fallig",
    "zahlbar",
    "termin",
    "vervaldatum",
    "echeance",
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
const DATE_LABELS: &[&str] = &[
    "date",
    "datum",
    "fecha",
    "data",
    "dated",
    "issued",
    "purchased",
    "ordered",
    "transaction",
    "order",
    "invoice",
    "rechnung",
    "facture",
    "factuur",
    "faktura",
    "fattura",
    "factura",
    "tarikh",
    "rechnungsdatum",
    "belegdatum",
    "factuurdatum",
    "issue",
];

/// Labels of the date an invoice was issued, which an order's date beside
/// it does not outrank.
const ISSUE_DATE_LABELS: &[&str] = &[
    "invoice date",
    "date of issue",
    "issue date",
    "rechnungsdatum",
    "belegdatum",
    "factuurdatum",
    "date de facture",
    "date de facturation",
    "data wystawienia",
    "fecha de factura",
    "data fattura",
    "tarikh invois",
];

/// The earliest purchase date believed: older "dates" are misreadings or
/// something else (a founding year, a birth date).
const EARLIEST: Date = Date { year: 1990, month: 1, day: 1 };

/// A line with the characters OCR puts for digits inside a date (`2O18`,
/// `27/O3/2018`, `l5.03.20`, `2O1B`, `1S/03/2018`) read as digits, where
/// most of the date is digits.
fn digits_fixed(line: &str) -> String {
    static DATEISH: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"\b[\dOoIl|BSZ]{1,4}[-/.][\dOoIl|BSZ]{1,2}[-/.][\dOoIl|BSZ]{2,4}\b").unwrap()
    });
    // `Datum 11,04,20`: on a line labelled as a date, commas for dots.
    static COMMAS: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"\b(\d{1,2}),(\d{1,2}),(\d{2}|\d{4})\b").unwrap()
    });
    let line = if COMMAS.is_match(line) && has_word(&words(line), DATE_LABELS) {
        COMMAS.replace_all(line, "$1.$2.$3")
    } else {
        std::borrow::Cow::Borrowed(line)
    };
    DATEISH
        .replace_all(&line, |c: &regex::Captures<'_>| {
            crate::money::misread_digits(&c[0]).unwrap_or_else(|| c[0].to_string())
        })
        .into_owned()
}

/// The dates of a line that can be the purchase: from 1990 up to `latest`
/// (the day the file was written or the email sent). A numeric date that
/// fits only read the other way round is read that way.
fn plausible_dates(line: &str, order: Order, doc: &Doc<'_>) -> Vec<Date> {
    let fits = |d: &Date| *d >= EARLIEST && doc.latest.is_none_or(|l| d.days() <= l.days() + 1);
    let line = digits_fixed(line);
    let other = match order {
        Order::DayFirst => Order::MonthFirst,
        Order::MonthFirst => Order::DayFirst,
    };
    // The other reading, only for a line with a date that does not fit.
    let mut alternatives: Option<Vec<(usize, Date)>> = None;
    dates::dates_in(&line, order, doc.email_date)
        .into_iter()
        .filter_map(|(at, d)| {
            if fits(&d) {
                return Some(d);
            }
            let read_other_way = alternatives.get_or_insert_with(|| dates::dates_in(&line, other, doc.email_date));
            read_other_way.iter().find(|(a, _)| *a == at).map(|(_, d)| *d).filter(fits)
        })
        .collect()
}

fn find_date(lines: &[&str], doc: &Doc<'_>, order: Order) -> Option<Field<String>> {
    let mut best: Option<(u8, usize, Date, String)> = None;
    for (i, line) in lines.iter().enumerate() {
        let Some(date) = plausible_dates(line, order, doc).into_iter().next() else { continue };
        let w = words(line);
        // A browser prints the page's address and the day it was printed
        // in its header or footer: that date is the printing, and the
        // address's words (`AppData`) label nothing.
        let printed = line.contains("://");
        // German names an invoice by its kind (`Handelsrechnung`,
        // `Mietrechnung Nr. 93 vom 01.10.2018`).
        let labelled = !printed && (has_word(&w, DATE_LABELS) || w.iter().any(|x| x.ends_with("rechnung")));
        let other = printed
            || has_word(&w, NOT_PURCHASE_DATE)
                && !has_phrase(&w, "order date")
                && !has_phrase(&w, "invoice date")
                && !has_phrase(&w, "date of issue");
        // Where an invoice gives its own date beside the order's, its own
        // dates the document.
        let issued = labelled && ISSUE_DATE_LABELS.iter().any(|p| has_phrase(&w, p));
        let score = match (labelled, other) {
            (true, false) if issued => 4,
            (true, false) => 3,
            (false, false) => 2,
            (true, true) => 1,
            (false, true) => 0,
        };
        if best.as_ref().is_none_or(|(s, _, _, _)| score > *s) {
            best = Some((score, i, date, line.trim().to_string()));
        }
    }
    match (best, doc.email_date) {
        (Some((score, i, date, line)), _) if score >= 2 => {
            Some(field(date.iso(), if score >= 3 { 0.9 } else { 0.8 }, format!("line {}: {line:?}", i + 1)))
        }
        (_, Some(d)) => Some(field(d.iso(), 0.7, "the email's Date header")),
        (Some((_, i, date, line)), None) => Some(field(date.iso(), 0.5, format!("line {}: {line:?}", i + 1))),
        // Only OCR misreads digits; a typed date is as written.
        (None, None) => doc.ocr.then(|| misread_date(lines, order, doc)).flatten().map(|(i, date, line)| {
            field(date.iso(), 0.4, format!("line {}: {line:?}, one digit read as OCR misreads it", i + 1))
        }),
    }
}

/// A date written in digits that holds no valid, plausible date as read,
/// but does with one digit read as its usual misreading: the last resort
/// before the file's own date, which is surely wrong for an old receipt.
fn misread_date(lines: &[&str], order: Order, doc: &Doc<'_>) -> Option<(usize, Date, String)> {
    static SHAPE: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(
            r"\b\d{1,2}[./-] ?\d{1,2}[./-] ?(?:\d{4}|\d{2})\b|\b\d{4}[./-]\d{1,2}[./-]\d{1,2}\b|\b\d{1,2}[\s/-]*\p{L}{3,9}\.?[\s/,-]*(?:\d{4}|\d{2})\b|\b\p{L}{3,9}\.?\s+\d{1,2},?\s+\d{4}\b",
        )
        .unwrap()
    });
    for (i, line) in lines.iter().enumerate() {
        let fixed = digits_fixed(line);
        for m in SHAPE.find_iter(&fixed) {
            let s = m.as_str();
            for (at, c) in s.char_indices() {
                for (_, meant) in crate::labels::DIGIT_MISREADS.iter().filter(|(read, _)| *read == c) {
                    let candidate = format!("{}{meant}{}", &s[..at], &s[at + c.len_utf8()..]);
                    if let Some(date) = plausible_dates(&candidate, order, doc).into_iter().next() {
                        return Some((i, date, line.trim().to_string()));
                    }
                }
            }
        }
    }
    None
}

/// Extracts the four fields.
pub fn extract(doc: &Doc<'_>) -> Extracted {
    let lines: Vec<&str> = doc.text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let domain = doc.from_address.rsplit_once('@').map_or("", |(_, d)| d);
    let country = locale::infer(doc.text, domain);
    // An email names its total in words; a scan or file whose labels OCR
    // lost still has its amounts.
    let joined = totals::rejoin_columns(&lines);
    let joined: Vec<&str> = joined.iter().map(String::as_str).collect();
    let total_found = totals::find(&joined, doc.ocr)
        .or_else(|| doc.from_address.is_empty().then(|| totals::largest(&joined)).flatten());
    let (total, mut currency) = match &total_found {
        Some((m, i, rank)) => {
            let conf = match rank {
                101.. => 0.95,
                100 => 0.85,
                60.. => 0.75,
                _ => 0.5,
            };
            (
                Some(field(money::cents(m.value), conf, format!("line {}: {:?}", i + 1, joined[*i]))),
                resolve_currency(m, country.as_ref()),
            )
        }
        None => (None, None),
    };
    if currency.is_none() {
        currency = document_currency(&lines, country.as_ref());
    }
    let order = dates::written_order(lines.iter().copied())
        .unwrap_or_else(|| date_order(country.as_ref(), currency.as_ref().map(|c| c.value.as_str())));
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
    "lastschrift",
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
    "resit",
    "jumlah",
    "tunai",
    "bayar",
    "efectivo",
    "contanti",
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
        "factuur",
        "faktura",
        "fattura",
        "kvitto",
        "rachunek",
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
    // A scan's labels are matched with OCR's errors forgiven (`Sumnie` for
    // `Summe`), its payment words are not: a labelled total says enough.
    let labelled_scan = doc.from_address.is_empty() && total.confidence >= 0.85;
    if payment == 0 && total.confidence < 0.9 && !labelled_scan {
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
        // Documents with no sender are read as scans are.
        let ocr = from.is_empty();
        let doc = Doc { text, from_name: name, from_address: addr, subject, email_date: None, latest: None, ocr };
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

    #[test]
    fn scanned_receipts_and_invoices_from_elsewhere() {
        // A thermal receipt as Tesseract reads it: damaged labels, a
        // rounding line, day-first dates, ringgit without a marker.
        let my = "KEDAI RUNCIT MAJU JAYA SDN BHD\n(861253-M)\nNO 12, JALAN PERMAI 3, TAMAN PERMAI\n43000 KAJANG, SELANGOR\nGST ID : 000123456789\nCashier: AMINAH\nTAX INVOICE\nDate: 05/03/2018 14:02\nMILO 1KG 1 x 15.00 15.00\nTota! Sales (Excl. GST) 15.00\nGST @6% 0.90\nTolal Incl. of GST 15.90\nRounding Adj 0.00\nCASH 20.00\nCHANGE 4.10\n";
        assert_eq!(
            read(my, "", ""),
            ("Kedai Runcit Maju Jaya Sdn Bhd".into(), "2018-03-05".into(), 15.9, "MYR".into())
        );
        let inr = "TAX INVOICE\nBrightWave Hosting Pvt. Ltd.\n4th Floor, MG Road, Bengaluru 560001\nGSTIN: 29ABCDE1234F1Z5\nBill To\nNorthwind Traders\n12 Park Street, Kolkata\nInvoice Date: 07-04-2019\nDue Date: 21-04-2019\nVPS plan 1 Rs. 1,000.00\nIGST 18% 180.00\nTotal Amount Payable Rs. 1,180.00\n";
        assert_eq!(
            read(inr, "", ""),
            ("BrightWave Hosting Pvt. Ltd.".into(), "2019-04-07".into(), 1180.0, "INR".into())
        );
        let nl = "Factuur\nKlant\nJansen Installatie B.V.\nDorpsstraat 4, 1234 AB Utrecht\nFactuurdatum 12-02-2020\nCloudServers B.V.\nKvK 12345678\nBTW NL123456789B01\nServer huur 50,00\nBTW 21% 10,50\nTotaal 60,50\n";
        assert_eq!(read(nl, "", ""), ("CloudServers B.V.".into(), "2020-02-12".into(), 60.5, "EUR".into()));
        let pl = "Faktura VAT nr 12/2021\nSprzedawca:\nSerwis Komputerowy Sp. z o.o.\nul. Długa 5, 00-001 Warszawa\nNIP 123-456-78-90\nNabywca:\nJan Kowalski\nData wystawienia: 15.06.2021\nRazem do zapłaty: 1 230,00 zł\n";
        assert_eq!(
            read(pl, "", ""),
            ("Serwis Komputerowy Sp. z o.o.".into(), "2021-06-15".into(), 1230.0, "PLN".into())
        );
    }

    #[test]
    fn a_lone_dollar_in_a_malaysian_scan_is_a_misread() {
        let t = "UNIHOME DIY CENTRE SDN BHD\nLot PT 2345, Jalan Kebun Nenas, 41100 Klang, Selangor\nDate : 2018-03-09\nPAINT BRUSH 1 5.90 5.90\nTotal\n11.55\nPaid Amount\n$0.00\n";
        assert_eq!(read(t, "", "").3, "MYR");
    }

    #[test]
    fn only_ocr_misreads_digits() {
        let latest = Some(Date { year: 2026, month: 12, day: 7 });
        let text = "Harbor Coffee\nDate: 2026-12-15\nTotal $10.00\n";
        // A text file's later date is not read as another: no date.
        let typed = Doc { text, latest, ocr: false, ..Default::default() };
        assert!(extract(&typed).date.is_none());
        // A scan's is read with one digit taken for its misreading.
        let scanned = Doc { text, latest, ocr: true, ..Default::default() };
        assert_eq!(extract(&scanned).date.map(|f| f.value).as_deref(), Some("2020-12-15"));
    }

    #[test]
    fn names_numbers_and_tags_in_a_letterhead() {
        // A name that starts with a number, a country tag before the legal
        // form, a code in an item's name, a date run into the next word.
        let t = "7 HARI MINIMART S/B (519537-X)\nLOT 28, JALAN ANGSA, 41150 KLANG, SELANGOR\nINVOICE NO : 18138/103\nDate:27/04/2018Time:10:59\nSAFETY SHOES KWD 805 1 193.00\nTotal Sales (incl GST) 193.00\nCASH 200.00\nCHANGE 7.00\n";
        assert_eq!(read(t, "", ""), ("7 Hari Minimart S/B".into(), "2018-04-27".into(), 193.0, "MYR".into()));
        let t = "HOMEFIX RETAIL (M) SDN BHD\n(CO. REG : 860671-D)\nLOT 18, JALAN KPB 6, 43300 SERI KEMBANGAN, SELANGOR\n(PUTRA NILAI BRANCH)\n-TAX INVOICE-\nPAINT BRUSH 2\" 1 X 3.30 3.30\nSub Total 3.30\nAMOUNT DUE 3.30\nPAID 10.00\nCHANGE DUE 6.70\n12-01-19 19:58\n";
        assert_eq!(read(t, "", ""), ("Homefix Retail (M) Sdn Bhd".into(), "2019-01-12".into(), 3.3, "MYR".into()));
        let t = "MEGAMART CO. (M) BHD\n(126926-H)\nCHERAS, 55100 KUALA LUMPUR\nBUAH 4.98SR\nTotal After Adj Incl GST 5.00\nCASH 10.00\nChange Amt 5.00\n04/04/2018 13:05\n";
        assert_eq!(read(t, "", ""), ("Megamart CO. (M) Bhd".into(), "2018-04-04".into(), 5.0, "MYR".into()));
        // A shop's web name over its company's: the company, `SB` (Sdn Bhd)
        // its legal form.
        let t = "KEDAIKU.COM\nKEDAIKU RETAIL SB\n(1210469-A)\nGST ID : 000706232320\nTAX INVOICE\nMINERAL WATER 1 1.20\nTOTAL 1.20\nCASH 2.00\nCHANGE 0.80\n30/01/2018 10:02\n";
        assert_eq!(read(t, "", "").0, "Kedaiku Retail SB");
        // A name over two lines: the legal form on the second, or words of
        // a trade alone on the first.
        let t = "SUNRISE BREAD\n(KL) SDN BHD (139386 X)\nLOT 3, JALAN PELABUR 23/1, 40300 SHAH ALAM\nDate : 10/07/2017\nBREAD 2 8.52\nTotal Payable: 8.52\n";
        assert_eq!(read(t, "", "").0, "Sunrise Bread (KL) Sdn Bhd");
        let t = "TAN CHAY YEE\nBOOKS & STATIONERY\n(002345678-P)\n27, JALAN BANDAR 2, 86000 KLUANG, JOHOR\nDate: 17-09-2018\nPENCIL 2B 12 0.50 6.00\nTOTAL AMOUNT 15.20\n";
        assert_eq!(read(t, "", "").0, "Tan Chay Yee Books & Stationery");
        let t = "SYARIKAT PERNIAGAAN\nHUP SENG\n(81109-A)\nNO 290, JALAN AIR PANAS, 53200 KUALA LUMPUR\nDATE: 29/12/2017\nDRILL BIT 1 22.26\nTOTAL 22.26\n";
        assert_eq!(read(t, "", "").0, "Syarikat Perniagaan Hup Seng");
        // A copy's heading names no customer.
        let t = "CUSTOMER COPY\nSRI ANGKASA TRADING SDN BHD\nNO 3 JALAN BESAR\nDATE: 09/05/2018\nITEM A 1 5.00 5.00\nTOTAL 5.00\n";
        assert_eq!(read(t, "", "").0, "Sri Angkasa Trading Sdn Bhd");
        // A station's place over its company: a town one letter from a
        // customer label (`Klang`, `klant`) opens no bill-to block.
        let t = "PETRO STATION KM 25 JLN KLANG\nMINYAK BERSATU SDN BHD (12345-X)\nPump 05 RON95\nTotal RM 40.72\nCash RM 50.00\n";
        assert_eq!(read(t, "", "").0, "Minyak Bersatu Sdn Bhd");
        let t = "CITY TOOLS & MACHINERY\nSUPPLY SDN. BHD.\nCo. No. 123456-X\nDATE: 09/05/2018\nITEM A 1 5.00 5.00\nTOTAL 5.00\n";
        assert_eq!(read(t, "", "").0, "City Tools & Machinery Supply Sdn Bhd");
        // `ab` ending a sentence in the footer is no Swedish legal form;
        // `GnbH` is OCR's `GmbH`.
        let t = "Drogerie Sonne\n27.02.2020 15:56\nSeife 1,95\nTotal 1,95\nVKST: 3322 Sonne Drogeriemarkt GnbH\nBitte geben Sie den Abschnitt bei einem Mit\narbeiter in der Filiale ab. Wir leiten ihn weiter\n";
        assert!(read(t, "", "").0.contains("Sonne"));
        // A branch in brackets that reads like an address is part of the name.
        let t = "LIM KOK WEI\nKEDAI BUKU SINAR (TAMAN UNIVERSITI) SDN BHD\n(123456-X)\nNO 3, JALAN PENDIDIKAN 1, 81300 SKUDAI\nPEN 2 1.50 3.00\nTOTAL 3.00\n";
        assert_eq!(read(t, "", "").0, "Kedai Buku Sinar (Taman Universiti) Sdn Bhd");
        // `@` for a round `O` at a word's edge; a town's name under the
        // street is the address.
        let t = "S@ YEONG TRADING\nCOMPANY REG NO. 00265912-P\nNO 1 JALAN MERANTI 3\nBANDAR PUCHONG\nDate: 16/04/2018\nCEMENT 50KG 2 19.00 38.00\nTota! Paid : 38.00\n";
        assert_eq!(read(t, "", "").0, "SO Yeong Trading");
        // A date with a digit thermal print lost strokes of.
        let t = "Backhaus Sonne\nKirchweg 3, 33098 Paderborn\nBrot 3,20\nSUMME 3,20\nDatum 98.10.16 14:16 Uhr\n";
        assert_eq!(read(t, "", "").1, "2016-10-08");
        // A zero read as a six, in a year or a day before a month's name.
        let t = "SRI PINANG BAKERY\nNo 7 Lebuh Chulia 10200 Pulau Pinang\nDate: Jan 12, 2618 3:41 PM\nTOTAL 6.20\n";
        assert_eq!(read(t, "", "").1, "2018-01-12");
        let t = "KEDAI MAKAN SELERA\nJLN MERANTI 2, 40400 SHAH ALAM\n62-JAN-2018 13:05\nTOTAL RM21.20\n";
        assert_eq!(read(t, "", "").1, "2018-01-02");
        // A German till that writes its date with commas.
        let t = "Backhaus Sonne\nKirchweg 3, 33098 Paderborn\nBrot 3,20\nSUMME 3,20\nBar 5,00\nRückgeld 1,80\nDatum 11,04,20 09:51 Uhr\n";
        assert_eq!(read(t, "", ""), ("Backhaus Sonne".into(), "2020-04-11".into(), 3.2, "EUR".into()));
    }

    #[test]
    fn sellers_named_on_their_label_line_and_legal_forms_alone() {
        let t = "Tax Invoice\nSold By: Zenith Retail Private Limited   Invoice Number # FAAB3C19\nGSTIN: 06AAECZ1234F1ZQ   Invoice Date: 14-03-2019\nBilling Address\nRahul Sharma\nWireless Mouse 1 699.00\nGrand Total ₹ 699.00\n";
        assert_eq!(read(t, "", ""), ("Zenith Retail Private Limited".into(), "2019-03-14".into(), 699.0, "INR".into()));
        let t = "Lumen Telecom   Facture\n8 rue Neuve   Date : 03/05/2018\nAbonnement   29,99 €\nTotal de la facture TTC   34,99 €\nSAS au capital de 3 000 000 € - RCS Paris 421 938 861\n";
        assert_eq!(read(t, "", ""), ("Lumen Telecom".into(), "2018-05-03".into(), 34.99, "EUR".into()));
        // A seller's label below a bill-to block ends it; one beside it
        // keeps its own column.
        let t = "Invoice\nDate: 02 March 2019\nBill To: John Smith\nFrom: Pixel Hosting LLC\nDescription Amount\nHosting 10.00\nTotal USD 10.80\nBalance Due USD 0.00\n";
        assert_eq!(read(t, "", ""), ("Pixel Hosting LLC".into(), "2019-03-02".into(), 10.8, "USD".into()));
        let t = "Invoice No. 2291   Date 12/03/2019\nBilled to:   Pay to:\nJane Roe   Cloudnine Hosting Ltd\n5 Elm Road   1 High Street\nLeeds LS1 4AP   London EC1A 1BB\nItem   Qty   Price   Total\nVPS 1 £20.00 £20.00\nVAT 20% £4.00\nTotal £24.00\n";
        assert_eq!(read(t, "", ""), ("Cloudnine Hosting Ltd".into(), "2019-03-12".into(), 24.0, "GBP".into()));
        // No letterhead and no sender: the domain its addresses name.
        let t =
            "Receipt #2291-4410\nAmount paid: $14.99\nDate paid: Jan 5, 2020\nQuestions? support@streamly.example\n";
        assert_eq!(read(t, "", ""), ("Streamly".into(), "2020-01-05".into(), 14.99, "USD".into()));
    }

    #[test]
    fn invoice_text_layers_with_columns() {
        // `pdftotext -layout` keeps the letterhead and the heading on one
        // line, the customer beside the issuer.
        let de = "Nordlicht Webhosting   RECHNUNG\nHafenweg 2, 24103 Kiel   Rechnungsnr. 2019-0042\nRechnungsdatum: 14.01.2019\nRechnung an   Beispiel AG\nMusterstr. 1   Musterstr. 9\nWebspace M 12 Monate 71,40\nGesamtbetrag 71,40 EUR\n";
        assert_eq!(read(de, "", ""), ("Nordlicht Webhosting".into(), "2019-01-14".into(), 71.4, "EUR".into()));
    }

    #[test]
    fn issuers_named_in_fields_footers_and_remittance_lines() {
        // The customer's column beside the invoice's dates; the issuer only
        // on the remittance line.
        let t = "INVOICE\nBill To   Invoice # 2019-00417\nNorthwind Traders LLC   Invoice Date 04/15/2019\n42 Harbor Blvd   Due Date 05/15/2019\nCloud Compute   $184.20\nTotal Due   $212.30\nPlease remit payment to:\nStratus Cloud Hosting, Inc.\n";
        assert_eq!(read(t, "", "").0, "Stratus Cloud Hosting, Inc.");
        // A field that names the seller, not a name of its own.
        let t = "Hotel Invoice\nInvoice No: INV/2019/0087   Date: 09/07/2019\nProperty: Lotus Comfort Inn\nGSTIN: 08AAFCL4567M1Z3\nRoom Tariff 3,000.00\nGrand Total 3,360.00\n";
        assert_eq!(read(t, "", "").0, "Lotus Comfort Inn");
        // `Aan:` opens the customer's block; the issuer is in the footer,
        // its registry numbers after its legal form; a table's heading is
        // no name.
        let t = "Factuur\nDatum: 1 oktober 2019\nAan:\nBakkerij de Molen\nDorpsstraat 4\nOmschrijving   Bedrag\nSSL-certificaat   € 29,00\nTotaal incl. btw   € 45,92\nDomeinwinkel Holland B.V. | KvK 12345678 | Btw NL123456789B01\n";
        assert_eq!(read(t, "", "").0, "Domeinwinkel Holland B.V.");
        let t = "FACTURE N° FA-2018-0412\nDate de facturation : 3 mai 2018\nDésignation   Qté   PU HT   Total HT\nNom de domaine .fr   1   7,99   7,99\nNet à payer   81,44 €\nHébergeNet SAS - 10 rue de la Paix 75002 Paris - SIRET 812 345 678 00019\n";
        assert_eq!(read(t, "", "").0, "HébergeNet SAS");
        // A brand in capitals and small letters beside the heading; the
        // table's column headings are no names.
        let t = "FACTURE   NuageFR SARL\n22 boulevard Haussmann\nDate : 12/07/2019   SIRET 834 567 123 00012\nClient\nAtelier Moreau\n5 rue Victor Hugo\nDésignation   Qté   Prix unitaire HT   Montant HT\nStockage cloud   1   9,90 €   9,90 €\nTotal TTC   16,68 €\n";
        assert_eq!(read(t, "", "").0, "NuageFR SARL");
        // The issuer named in a sentence of the footer; a column heading
        // is no name.
        let t = "Booking Invoice\nInvoice No: HB/19/000781   Guest Name: Sunita Rao\nInvoice Date: 14 Jun 2019\nDescription   Amount (INR)\nRoom charges (2 nights)   4,200.00\nTotal Amount Payable   4,284.00\n   This invoice is issued by Sea Breeze Hospitality Pvt Ltd, GSTIN 30AAKCS1234F1Z2, on behalf of the hotel.\n";
        assert_eq!(read(t, "", "").0, "Sea Breeze Hospitality Pvt Ltd");
        // The seller's label beside the buyer's; a partnership's legal form.
        let t = "FAKTURA NR 15/12/2019\nData wystawienia: 16.12.2019\nNabywca   Sprzedawca\nKancelaria Adwokacka Nowicki   ITsystem Wiśniewski i Wspólnicy Sp. k.\nul. Lipowa 12   ul. Żelazna 40\nWdrożenie   2   615,00   1 230,00\n   Do zapłaty   2 460,00 zł\n";
        assert_eq!(read(t, "", "").0, "ITsystem Wiśniewski i Wspólnicy Sp. k.");
        // An initialism is a name before its legal form.
        let t = "MR. D.I.Y. (M) SDN BHD\n(860671-D)\nLOT 1851-A, JALAN KPB 6\nHAND GLOVES 1 X 8.96 8.96\nTotal Amt Rounded 8.95\n31-01-18 16:22\n";
        assert_eq!(read(t, "", "").0, "MR. D.I.Y. (M) Sdn Bhd");
    }

    #[test]
    fn invoices_printed_by_accounting_software() {
        // Numbers between the seller's label and its name; the buyer and
        // the seller's tax representative are other parties; the totals of
        // surcharges and the net total are not the invoice's total, nor is
        // what is left after a deposit; a browser's footer dates the
        // printing.
        let t = "Handelsrechnung Nr. 8812 vom 14.02.2021\nVerkäufer:\nNummer : 70011\nGlobale Nummer: 4012345000009 (GTIN)\nNordwerk Supplies Ltd.\n12 Quay Street\nKäufer:\nNummer : 90233\nBäckerei Sommer GmbH\nSteuerbevollmächtigter des Verkäufers:\nTax Partners Berlin\nPositionssumme 410,00\nGesamtbetrag der Zuschläge 12,00\nGesamtbetrag der Abschläge -8,00\nRechnungssumme ohne USt. 414,00\nSteuerbetrag in EUR 78,66\nBruttosumme 492,66\nErhaltene Anzahlungen -100,00\nZahlbetrag 392,66\nfile:///C:/Users/Lena/AppData/Local/Temp/invoice.html 03.03.2021\n";
        assert_eq!(read(t, "", ""), ("Nordwerk Supplies Ltd.".into(), "2021-02-14".into(), 492.66, "EUR".into()));
        // The invoice's own date, not the order's above it.
        let t = "Tax Invoice\nSold By: Sunrise Gadgets Retail Private Limited,   Invoice Number # KA-1234567\nGSTIN - 29AABCS1234A1Z5   Order Date: 14-08-2019\nInvoice Date: 15-08-2019\nBilling Address   Shipping Address\nWireless Mouse   1   899.00   -100.00   799.00\nGrand Total   ₹ 799.00\n";
        assert_eq!(read(t, "", "").1, "2019-08-15");
        // A label that gives the seller's own details names it.
        let t = "Le Comptoir Bleu\nFACTURE N° 2020-118\nDate : 04/09/2020\nCoordonnées du vendeur :\nAtelier Brun\n8 rue Neuve, 69003 Lyon\nTotal TTC 240,00 €\n";
        assert_eq!(read(t, "", "").0, "Atelier Brun");
        // A DIN 5008 return-address line over the customer's address.
        let t = "Kobold Online GmbH • Am Markt 3 • 10115 Berlin\nMusterfirma Inh. Erika Muster\nFrau Erika Muster\nRechnungsdatum: 02.05.2022\nServer M 1 29,41 €\nNetto 29,41 €\nUSt. (19 %) 5,59 €\nBrutto 35,00 €\n";
        assert_eq!(read(t, "", "").0, "Kobold Online GmbH");
        // A French seller writing US dates: a payment on 11/17 says how
        // the invoice's own 11/03 reads.
        let t = "Le Petit Verger SARL - 3 rue des Lilas - 13001 Marseille - France\nInvoice FA-2019-0031\nInvoice Date 11/03/2019\nApple juice 12 x 3.10 37.20\nTotal 37.20 €\nSEPA transfer 11/17/2019 10.00 €\nResidual 27.20 €\n";
        assert_eq!(read(t, "", "").1, "2019-11-03");
    }

    #[test]
    fn chains_whose_logo_ocr_cannot_read() {
        // The logo read as noise; the branch's name above the prices, borne
        // out by its web address, and not the card terminal's provider.
        let t = "Wwatl oens olve\nFrisch Einkaufen Genuss Erleben\nKornhaus Wendt\nLindenallee 4\n33100 Paderborn\nwww. kornhaus-wendt.de\nBrot 2,49 A\nMilch 1,19 A\nSumme 3,68\nGirocard 3,68\nDatenverarbeitung durch\nPayfix Services www.payfix.de\n12.05.2020 10:14\n";
        assert_eq!(read(t, "", "").0, "Kornhaus Wendt");
        // The company named only in the footer of a long receipt.
        let items: String = (1..=45).map(|n| format!("Artikel {n} 1,{n:02} A\n")).collect();
        let t = format!(
            "Pohlweg 110\n33100 Paderborn\n{items}Summe 48,15\nBar 50,00\nRückgeld 1,85\nVielen Dank!\nNordkauf GmbH & Co. KG, Bielefeld\n19.05.2020 16:13\n"
        );
        assert_eq!(read(&t, "", "").0, "Nordkauf GmbH & Co. KG");
        // A long receipt's footer naming the till's maker is no seller.
        let t = format!(
            "JOE'S PIZZA\n7 Carmine St\n{items}Total 48.15\nThank you!\nPowered by Tillsoft, Inc.\n11/02/2025 8:42 PM\n"
        );
        assert_eq!(read(&t, "", "").0, "Joe's Pizza");
        // OCR's `@` for a round `O` in a name of capitals.
        let t = "R@SSBERG\nMein Drogeriemarkt\nSeife 1,85 B\nSumme EUR 1,85\n20.05.2020 14:47\n";
        assert_eq!(read(t, "", "").0, "Rossberg");
    }

    #[test]
    fn totals_and_payments_in_more_languages() {
        // Malay: `JUMLAH BESAR` the total, `TUNAI` the cash, `BAKI` the change.
        let t = "ALI BIN ABU ENTERPRISE\n(002512345-K)\nNO. 5, JLN PASAR, 09000 KULIM, KEDAH\nRESIT\nTARIKH : 12/12/2017\nBIL BARANG KUANTITI HARGA JUMLAH\n1 BAJA 3 15.00 45.00\n2 RACUN 1 22.00 22.00\nJUMLAH BESAR 67.00\nTUNAI 70.00\nBAKI 3.00\nTERIMA KASIH\n";
        assert_eq!(read(t, "", ""), ("Ali Bin Abu Enterprise".into(), "2017-12-12".into(), 67.0, "MYR".into()));
        // Spanish and Italian cash and change, the total's label lost.
        let t = "CAFETERIA LA PLAZA\nC/ Mayor 12, 28013 Madrid\n2 CAFE CON LECHE 3,00\n1 TOSTADA 2,50\nT~T 5,50\nEFECTIVO 10,00\nCAMBIO 4,50\n15/03/2026 09:12\n";
        assert_eq!(read(t, "", "").2, 5.5);
        let t = "BAR CENTRALE\nVia Roma 1, 00184 Roma\nCAPPUCCINO 1,50\nCORNETTO 1,20\n~~~ 2,70\nCONTANTI 5,00\nRESTO 2,30\n15/03/2026 08:02\n";
        assert_eq!(read(t, "", "").2, 2.7);
        // `Balance` below the cash tendered is the change.
        let t = "KEDAI ABC\nITEM A 10.00\nITEM B 5.00\nSUBTOTAL 15.00\nSST 6% 0.90\nTOTAL 15.90\nAmount Tendered 50.00\nBalance 34.10\n27/03/2018\n";
        assert_eq!(read(t, "", "").2, 15.9);
        // A business named with a word one letter from an address's
        // (`KANDAR`, `bandar`) or a heading's (`RETAILS`, `details`).
        let t = "RESTORAN NASI KANDAR MAJU\nNO 5, JALAN BESAR, 84000 MUAR, JOHOR\nNASI KANDAR 15.00\nTOTAL 15.00\nCASH 20.00\nCHANGE 5.00\n02-05-2018\n";
        assert_eq!(read(t, "", "").0, "Restoran Nasi Kandar Maju");
        // A trade's words alone open the name the next line ends.
        let t = "KEDAI MAKAN DAN MINUMAN\nAH SENG\nNO 5, JALAN BESAR, 84000 MUAR, JOHOR\nMEE 5.00\nTOTAL 5.00\n02-05-2018\n";
        assert_eq!(read(t, "", "").0, "Kedai Makan Dan Minuman AH Seng");
        let t = "MEGA RETAILS SDN BHD\nLOT 2, JALAN BESAR, 84000 MUAR, JOHOR\nSOAP 15.00\nTOTAL 15.00\n02-05-2018\n";
        assert_eq!(read(t, "", "").0, "Mega Retails Sdn Bhd");
    }

    #[test]
    fn letters_ocr_reads_for_digits_in_a_date() {
        let date = |line: &str| {
            let t = format!("KEDAI ABC SDN BHD\nNO 1 JALAN X, 43000 KAJANG\n{line}\nTOTAL RM 5.00\n");
            read(&t, "", "").1
        };
        assert_eq!(date("Date : 27/03/2O18"), "2018-03-27");
        assert_eq!(date("Date : 27/03/2O1B"), "2018-03-27");
        assert_eq!(date("Date : 1S/03/2018"), "2018-03-15");
        assert_eq!(date("Date : l5.03.2018"), "2018-03-15");
        // Letters that only look like a date stay letters.
        assert_eq!(digits_fixed("REF SB/BZ/SSB"), "REF SB/BZ/SSB");
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
                    latest: msg.date,
                    ocr: false,
                };
                let e = super::extract(&doc);
                let _ = super::verdict(&doc, &e);
            }
            let doc = super::Doc {
                text: &text,
                from_name: &text,
                from_address: &text,
                subject: &text,
                email_date: None,
                latest: None,
                ocr: true,
            };
            let e = super::extract(&doc);
            let _ = super::verdict(&doc, &e);
            let _ = crate::mime::split_mbox(text.as_bytes());
            let _ = crate::mime::html_to_text(text.as_bytes());
        }
    }
}
