//! The amount paid. Every amount next to a total-like label is a candidate;
//! a receipt prints what was paid several times (the total, the card
//! payment, the gross column of the tax table, the cash given less the
//! change), so candidates of the same value vote, and arithmetic (a rounding
//! line, a tip) decides between near values.

use std::sync::LazyLock;

use regex::Regex;

use crate::labels::{has_phrase, without, words};
use crate::money::{self, Money};

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
    "total payable",
    "amount payable",
    "payable",
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
    "rechnungsbetrag",
    "bruttosumme",
    "zu zahlen",
    "zu zahlender betrag",
    "zahlungsbetrag",
    "endbetrag",
    "endsumme",
    "totale",
    "importe total",
    "total a pagar",
    "te betalen",
    "totaal",
    "do zaplaty",
    "razem",
    "att betala",
    "summa",
    "totalt",
    "i alt",
    "nett total",
    "net total",
    "total rounded",
    "rounded total",
    "net payable",
    "net amount payable",
    "zahlbetrag",
    "bruttobetrag",
    "gesamtsumme",
    "totaalbedrag",
    "wartosc brutto",
    "jumlah besar",
    "jumlah keseluruhan",
    "jumlah bayaran",
    "perlu dibayar",
    "total bayar",
    "total belanja",
];
/// Labels of a subtotal: never the amount paid, and where items end.
const SUBTOTAL_LABELS: &[&str] = &["subtotal", "zwischensumme", "sous total", "sub total"];
/// Labels of a total that may not be the last word (a tip may follow).
const TOTAL_LABELS: &[&str] = &[
    "total", "gesamt", "summe", "betrag", "totaal", "montant", "importe", "importo", "sum", "amount", "balance",
    "payment", "jumlah",
];
/// Words that make a line with "total" something else.
const NOT_TOTAL: &[&str] = &[
    "subtotal",
    "sub total",
    "zwischensumme",
    "sous total",
    "subtotale",
    "savings",
    "saved",
    "you save",
    "discount",
    "tax",
    "vat",
    "gst",
    "sst",
    "hst",
    "pst",
    "ppn",
    "cukai",
    "mwst",
    "tva",
    "iva",
    "btw",
    "moms",
    "ust",
    "excl",
    "exclusive",
    "excluding",
    "before",
    "net",
    "netto",
    "nett",
    "items",
    "item",
    "qty",
    "quantity",
    "points",
    "cash",
    "tunai",
    "efectivo",
    "contanti",
    "tendered",
    "change",
    "kembali",
    "cambio",
    "resto",
    "troco",
    "ruckgeld",
    "wechselgeld",
    "previous",
    "tip",
    "gratuity",
    "pourboire",
    "trinkgeld",
    "deposit",
    "pfand",
    "refund",
    "rounding",
    "round",
    "adj",
    "balance remaining",
    "remaining",
    "credit",
    "weight",
    "per",
    "unit",
    "fee",
    "shipping",
    "delivery",
    "saving",
    "disc",
    // Totals of one kind of line (`Gesamtbetrag der Zuschläge`, `Total
    // remises`) and net totals (`Rechnungssumme ohne USt.`, `Total HT`).
    "zuschlag",
    "abschlag",
    "surcharge",
    "allowance",
    "rabatt",
    "remise",
    "ohne",
    "hors",
    "ht",
];
/// Phrases that turn a tax or tip line back into the amount paid.
const INCLUSIVE: &[&str] = &[
    "incl",
    "including",
    "inclusive",
    "inc",
    "included",
    "inkl",
    "ttc",
    "brutto",
    "with tip",
    "after tip",
    "rounded",
    "nett total",
    "net total",
    "total net",
    "nett amount",
];
/// Lines that record a payment by card: their amount is what was paid.
const CARD_WORDS: &[&str] = &[
    "visa",
    "mastercard",
    "master",
    "maestro",
    "amex",
    "american express",
    "credit card",
    "debit card",
    "card",
    "kartenzahlung",
    "kreditkarte",
    "debitkarte",
    "bankkarte",
    "ec karte",
    "tarjeta",
    "girocard",
    "ec cash",
    "elec cash",
    "lastschrift",
    "karte",
    "contactless",
    "paid by",
    "carte bancaire",
    "cb",
    "pin",
    "debit",
];
/// Cash handed over, and change given back.
const CASH_WORDS: &[&str] = &[
    "cash", "bar", "tunai", "tendered", "gegeben", "especes", "contant", "gotowka", "efectivo", "contanti", "dinheiro",
    "kontant",
];
const CHANGE_WORDS: &[&str] = &[
    "change",
    "ruckgeld",
    "wechselgeld",
    "baki",
    "kembalian",
    "kembali",
    "rendu",
    "wisselgeld",
    "reszta",
    "cambio",
    "resto",
    "troco",
    "vuelto",
    "vaxel",
    "byttepenge",
];
/// Lines of a rounding adjustment.
const ROUNDING_WORDS: &[&str] = &["rounding", "round", "rundung", "arrondi"];

fn any_word(w: &[String], list: &[&str]) -> bool {
    list.iter().any(|p| has_phrase(w, p))
}

/// Whether a line's words record a payment: a card, cash, change or a
/// rounding.
fn is_payment(w: &[String]) -> bool {
    [CARD_WORDS, CASH_WORDS, CHANGE_WORDS, ROUNDING_WORDS].iter().any(|l| any_word(w, l))
}

/// Whether the words (a label's own words taken out) make a line something
/// other than the amount paid.
fn excluded(w: &[String]) -> bool {
    any_word(w, NOT_TOTAL)
}

/// How strongly a line labels the amount paid: 200 and down for the paid
/// labels in order, 100 for a plain total; `None` for no label.
pub fn label_rank(line: &str) -> Option<u8> {
    let w = words(line);
    if w.is_empty() {
        return None;
    }
    let inclusive = INCLUSIVE.iter().any(|p| has_phrase(&w, p));
    if any_word(&w, SUBTOTAL_LABELS) {
        return None;
    }
    for (i, label) in PAID_LABELS.iter().enumerate() {
        if has_phrase(&w, label) && (inclusive || !excluded(&without(&w, label))) {
            // Earlier in the list ranks higher.
            return Some(200 - i as u8);
        }
    }
    if let Some(label) = TOTAL_LABELS.iter().find(|l| has_phrase(&w, l))
        && (inclusive || !excluded(&without(&w, label)))
    {
        return Some(100);
    }
    None
}

fn is_tip_line(line: &str) -> bool {
    let w = words(line);
    crate::labels::has_word(&w, &["tip", "gratuity", "pourboire", "trinkgeld", "propina", "mancia", "fooi"])
        && !INCLUSIVE.iter().any(|p| has_phrase(&w, p))
}

/// The last price on a line; at its end, OCR may have read the decimal
/// comma as a space (`Total EUR 155 00`, `Rückgeld EUR -45 00`).
fn price(line: &str) -> Option<Money> {
    price_among(line, money::amounts(line))
}

/// `price` of a line whose amounts were read already.
fn price_among(line: &str, amounts: Vec<Money>) -> Option<Money> {
    static SPACED_CENTS: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?:^|\s)(-?\d{1,6}) (\d{2})\s*$").unwrap()
    });
    let found = last_price(amounts);
    if found.as_ref().is_some_and(|m| m.has_decimals) {
        return found;
    }
    let Some(c) = SPACED_CENTS.captures(line) else { return found };
    let value: f64 = format!("{}.{}", &c[1], &c[2]).parse().ok()?;
    let (currency, marker) = found.map_or((None, None), |m| (m.currency, m.marker));
    Some(Money { value, currency, marker, has_decimals: true, decimal_comma: false })
}

/// The last price among a line's amounts.
fn last_price(amounts: Vec<Money>) -> Option<Money> {
    amounts.into_iter().rfind(|m| money::is_price(m) && m.value.abs() < 10_000_000.0)
}

/// The amount a labelled line gives: on the line, or alone on the next one
/// (not a payment's: `Total EUR` whose amount OCR lost, over `Bar EUR
/// 100,00`, is no total of 100).
fn labelled_amount(lines: &[&str], i: usize) -> Option<Money> {
    price(lines[i]).or_else(|| {
        let next = lines.get(i + 1)?;
        let w = words(next);
        if label_rank(next).is_some()
            || w.iter().any(|w| w.chars().filter(|c| c.is_alphabetic()).count() > 3)
            || is_payment(&w)
        {
            return None;
        }
        let prices: Vec<Money> = money::amounts(next).into_iter().filter(money::is_price).collect();
        match prices.as_slice() {
            [one] => Some(one.clone()),
            _ => None,
        }
    })
}

/// Whether a line is a label with no amount: words a value column could
/// belong to (`ROUNDED TOTAL (RM):`, `CHANGE`).
fn bare_label(line: &str) -> bool {
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    letters >= 2 && line.chars().count() <= 40 && !money::amounts(line).iter().any(money::is_price)
}

/// Whether a line is one price and nothing else but its marker (`25.00`,
/// `RM 9.00`, `12.50 SR`).
fn bare_price(line: &str) -> bool {
    let amounts = money::amounts(line);
    amounts.len() == 1 && money::is_price(&amounts[0]) && line.chars().filter(|c| c.is_alphabetic()).count() <= 3
}

/// The lines with a column of labels and the column of values OCR read
/// after it put back together: `TOTAL:` `CASH` `CHANGE` then `9.00`
/// `10.00` `1.00` become `TOTAL: 9.00` and so on, the values' lines left
/// empty so that indices still name the same lines. Only where the two
/// runs are as long as each other (two or more lines): of unequal runs,
/// which value belongs to which label is a guess.
pub fn rejoin_columns(lines: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_string()).collect();
    let mut i = 0;
    while i < lines.len() {
        let labels = lines[i..].iter().take_while(|l| bare_label(l)).count();
        let values = lines[i + labels..].iter().take_while(|l| bare_price(l)).count();
        if labels >= 2 && values == labels {
            for k in 0..labels {
                out[i + k] = format!("{} {}", lines[i + k], lines[i + labels + k]);
                out[i + labels + k].clear();
            }
        }
        i += labels.max(1) + values;
    }
    out
}

/// One candidate for the amount paid.
#[derive(Debug, Clone)]
struct Candidate {
    money: Money,
    line: usize,
    rank: u8,
    votes: u32,
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.005
}

/// The amount paid, the line it was read from, and how strongly it was
/// labelled (over 100: a paid label; 100: a total; below: read from a
/// payment line or from cash less change).
pub fn find(lines: &[&str], ocr: bool) -> Option<(Money, usize, u8)> {
    let mut labelled: Vec<Candidate> = Vec::new();
    let mut cards: Vec<(Money, usize)> = Vec::new();
    let mut cash: Option<(Money, usize)> = None;
    let mut change: Option<f64> = None;
    let mut change_at: Option<usize> = None;
    let mut rounding: Vec<f64> = Vec::new();
    // Card lines whose amount OCR put on the next line, counted after the
    // others.
    let mut cards_next_line: Vec<(Money, usize)> = Vec::new();
    // Prices in the document, and those written with cents.
    let (mut prices, mut with_cents) = (0usize, 0usize);
    for (i, line) in lines.iter().enumerate() {
        let amounts = money::amounts(line);
        for m in amounts.iter().filter(|m| money::is_price(m)) {
            prices += 1;
            with_cents += usize::from(m.has_decimals);
        }
        let w = words(line);
        // `BALANCE` below the cash handed over is the change given back
        // (`Amount Tendered 50.00` / `Balance 34.10`), not a balance due.
        if cash.as_ref().is_some_and(|(_, at)| i <= at + 2)
            && w.iter().any(|x| x == "balance")
            && !any_word(&w, &["due", "payable", "outstanding", "owing", "to pay"])
            && let Some(m) = price_among(line, amounts.clone())
        {
            change = Some(m.value.abs());
            change_at = Some(i);
            continue;
        }
        if let Some(rank) = label_rank(line) {
            if let Some(m) = labelled_amount(lines, i).filter(|m| m.value > 0.0) {
                // `PAID 50.00` above `CHANGE 34.70` is the cash handed over.
                if cash.is_none() && w.iter().any(|x| x == "paid") {
                    cash = Some((m.clone(), i));
                }
                labelled.push(Candidate { money: m, line: i, rank, votes: 0 });
            }
            continue;
        }
        // A payment line's amount, on it or (OCR having split the columns)
        // alone on the next line.
        let (m, next_line) = match price_among(line, amounts) {
            Some(m) => (m, false),
            None => match labelled_amount(lines, i) {
                Some(m) if is_payment(&w) => (m, true),
                _ => continue,
            },
        };
        if any_word(&w, ROUNDING_WORDS) {
            rounding.push(m.value);
        } else if any_word(&w, CHANGE_WORDS) {
            change = Some(m.value.abs());
            change_at = Some(i);
        } else if any_word(&w, CASH_WORDS) {
            cash = Some((m, i));
        } else if any_word(&w, CARD_WORDS) && m.value > 0.0 {
            if next_line {
                cards_next_line.push((m, i + 1));
            } else {
                cards.push((m, i));
            }
        }
    }
    cards.extend(cards_next_line);
    // What the payment lines say was paid, and the line each was read from.
    let mut paid_at: Vec<(f64, usize)> = cards.iter().map(|(m, i)| (m.value, *i)).collect();
    if let (Some((c, i)), Some(ch)) = (&cash, change)
        && c.value > ch
    {
        paid_at.push((money::cents(c.value - ch), *i));
    }
    // What the tax table's rows add up to, gross.
    let taxed = tax_table_gross(lines);
    // A paid line that change was given from is not the total.
    if let (Some((c, at)), Some(ch)) = (&cash, change)
        && ch > 0.0
    {
        labelled.retain(|l| l.line != *at || !same(l.money.value, c.value));
    }
    // Each candidate gains a vote from every other line of the same value.
    let values: Vec<f64> = labelled.iter().map(|c| c.money.value).collect();
    for c in labelled.iter_mut() {
        let v = c.money.value;
        c.votes = values.iter().filter(|x| same(**x, v)).count() as u32 - 1
            + paid_at.iter().filter(|(x, _)| same(*x, v)).count() as u32
            + u32::from(taxed.is_some_and(|(g, _)| same(g, v)));
    }
    // A rounding line: of two totals it separates, the later one is paid.
    for r in &rounding {
        let before: Vec<f64> = labelled.iter().map(|c| c.money.value).collect();
        for c in labelled.iter_mut() {
            if before.iter().any(|b| !same(*b, c.money.value) && same(b + r, c.money.value)) {
                c.votes += 2;
            }
        }
    }
    // Where prices carry cents, a whole number by a total label is a misread
    // (`220; 00`, `€1595`) unless nothing better is there.
    let cents_written = with_cents * 10 >= prices * 7;
    let best = labelled.into_iter().max_by(|a, b| {
        let score = |c: &Candidate| {
            let misread = cents_written && !c.money.has_decimals;
            (u32::from(c.rank) + 30 * c.votes.min(3)).saturating_sub(if misread { 60 } else { 0 })
        };
        score(a).cmp(&score(b)).then(a.money.value.partial_cmp(&b.money.value).unwrap_or(std::cmp::Ordering::Equal))
    });
    // A labelled total nothing else agrees with, one digit off (as thermal
    // print is misread) from what the items add up to: `TOTAL 34.56` over
    // items of 15.00 and 19.50. Not where a printed amount (a tax, a fee)
    // makes up the difference.
    if let Some(c) = best.as_ref().filter(|c| ocr && c.votes == 0)
        && let Some(sum) = items_sum(lines)
        && misread_of(c.money.value, sum)
        && !lines.iter().flat_map(|l| money::amounts(l)).any(|m| same(sum + m.value, c.money.value))
    {
        return Some((Money { value: sum, has_decimals: true, ..c.money.clone() }, c.line, c.rank));
    }
    // A total read as a whole number that nothing agrees with, where prices
    // carry cents (`SUMME EUR 3690` for 36,20; `19,416` for 19,46), is a
    // misread: of what the tax table's rows add up to and what the payment
    // lines say (`SUMME EUR 272` over `BAR EUR 27,42`), the one its digits
    // are closest to (a digit or two apart) reads it better.
    if let Some(c) = best.as_ref().filter(|c| c.votes == 0 && with_cents >= 2 && !c.money.has_decimals)
        && let Some((v, j)) = taxed
            .into_iter()
            .chain(paid_at.iter().copied())
            // Cash with no change given back.
            .chain(cash.as_ref().filter(|_| change.is_none()).map(|(m, i)| (m.value, *i)))
            .map(|(v, j)| {
                (crate::labels::ocr_distance(&format!("{:.0}", c.money.value), &format!("{:.0}", v * 100.0)), v, j)
            })
            .filter(|(d, v, _)| *d <= 2.0 && !same(*v, c.money.value))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, v, j)| (v, j))
    {
        return Some((Money { value: v, has_decimals: true, ..c.money.clone() }, j, 90));
    }
    // A labelled total nothing else agrees with, against a payment that an
    // amount printed elsewhere bears out (`Total 165,00` misread; cash
    // 200,00 less change 45,00 is the item's 155,00): the payment.
    if let Some(c) = best.as_ref().filter(|c| c.votes == 0)
        && let Some((v, j)) = paid_at.iter().find_map(|&(v, from)| {
            let printed = lines.iter().enumerate().find(|&(j, l)| {
                j != from
                    && j != c.line
                    && Some(j) != change_at
                    && money::amounts(l).iter().any(|m| money::is_price(m) && same(m.value.abs(), v))
            });
            printed.filter(|_| !same(v, c.money.value)).map(|(j, _)| (v, j))
        })
    {
        return Some((Money { value: v, has_decimals: true, ..c.money.clone() }, j, 90));
    }
    let best = match best {
        Some(c) => (c.money, c.line, c.rank),
        None => {
            // No labelled total: what the payment lines say.
            if let (Some((c, i)), Some(ch)) = (&cash, change)
                && c.value > ch
            {
                let m = Money { value: money::cents(c.value - ch), ..c.clone() };
                (m, *i, 80)
            } else if let (Some((c, i)), None) = (&cash, change)
                && cards.is_empty()
            {
                // Paid in cash, exactly: no change given back.
                (c.clone(), *i, 70)
            } else {
                let (m, i) = cards
                    .into_iter()
                    .max_by(|a, b| a.0.value.partial_cmp(&b.0.value).unwrap_or(std::cmp::Ordering::Equal))?;
                (m, i, 60)
            }
        }
    };
    Some(with_tip(lines, best))
}

/// The gross total of a receipt's tax table, and the line it ends on: rows
/// with a rate (`B 7% 27,45 1,92 29,37`) whose last three amounts add up
/// (net and tax make gross, in either order), taken together when they
/// follow one another. A last row that is the sum of those above it is the
/// table's own total line.
fn tax_table_gross(lines: &[&str]) -> Option<(f64, usize)> {
    let mut rows: Vec<(f64, usize)> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if !line.contains('%') {
            continue;
        }
        let a: Vec<f64> = money::amounts(line).iter().filter(|m| m.has_decimals).map(|m| m.value).collect();
        if let [.., x, y, gross] = a[..]
            && x > 0.0
            && y > 0.0
            && same(money::cents(x + y), gross)
        {
            // A table is one run of rows; a later run starts afresh.
            if rows.last().is_some_and(|(_, at)| i > at + 2) {
                rows.clear();
            }
            rows.push((gross, i));
        }
    }
    let &(last, at) = rows.last()?;
    let above: f64 = rows[..rows.len() - 1].iter().map(|(g, _)| g).sum();
    if rows.len() >= 3 && same(money::cents(above), last) {
        return Some((last, at));
    }
    Some((money::cents(rows.iter().map(|(g, _)| g).sum()), at))
}

/// The sum of a receipt's items: the lines above its first total or
/// subtotal that end in a price with cents (a tax code such as `SR` may
/// follow), when there are two or more.
fn items_sum(lines: &[&str]) -> Option<f64> {
    let mut sum = 0.0;
    let mut items = 0;
    for line in lines {
        let w = words(line);
        if label_rank(line).is_some() || any_word(&w, SUBTOTAL_LABELS) {
            break;
        }
        if !crate::dates::dates_in(line, crate::dates::Order::DayFirst, None).is_empty() {
            continue;
        }
        if let Some(m) = ending_price(line) {
            sum += m.value;
            items += 1;
        }
    }
    (items >= 2).then(|| money::cents(sum))
}

/// The price with cents a line ends in: only a currency code, a marker or
/// a tax code (`SR`) may follow it.
fn ending_price(line: &str) -> Option<Money> {
    let m = price(line).filter(|m| m.has_decimals && m.value > 0.0)?;
    let tail = line.trim_end().rsplit(|c: char| c.is_ascii_digit()).next().unwrap_or("");
    (tail.trim().chars().count() <= 3).then_some(m)
}

/// Whether `read` is `meant` with one digit misread as thermal print's
/// digits are (`34.56` for `34.50`).
fn misread_of(read: f64, meant: f64) -> bool {
    let (read, meant) = (format!("{read:.2}"), format!("{meant:.2}"));
    if read.len() != meant.len() {
        return false;
    }
    let diffs: Vec<(char, char)> = read.chars().zip(meant.chars()).filter(|(a, b)| a != b).collect();
    matches!(diffs.as_slice(), [pair] if crate::labels::DIGIT_MISREADS.contains(pair))
}

/// The largest price with cents at the end of a line: the last guess for a
/// scan or file whose total label OCR lost entirely (rank 40), when it is
/// laid out as a receipt, with at least three lines ending in a price (a
/// note that mentions two amounts is not). Cash handed over is larger, but
/// a document with a cash line has its total from cash less change or cash.
pub fn largest(lines: &[&str]) -> Option<(Money, usize, u8)> {
    let priced: Vec<(Money, usize)> = lines
        .iter()
        .enumerate()
        // A date's digits (`05.03.2024`) are no price.
        .filter(|(_, l)| crate::dates::dates_in(l, crate::dates::Order::DayFirst, None).is_empty())
        .filter_map(|(i, l)| ending_price(l).map(|m| (m, i)))
        .collect();
    if priced.len() < 3 {
        return None;
    }
    priced
        .into_iter()
        .max_by(|a, b| a.0.value.partial_cmp(&b.0.value).unwrap_or(std::cmp::Ordering::Equal))
        .map(|(m, i)| (m, i, 40))
}

/// When a tip follows the total, the labelled amount that adds it.
fn with_tip(lines: &[&str], best: (Money, usize, u8)) -> (Money, usize, u8) {
    let tip: f64 =
        lines[best.1 + 1..].iter().filter(|l| is_tip_line(l)).filter_map(|l| price(l)).map(|m| m.value).sum();
    if tip > 0.0 {
        let with_tip = best.0.value + tip;
        for (i, line) in lines.iter().enumerate().skip(best.1 + 1) {
            if let (Some(rank), Some(m)) = (label_rank(line), price(line))
                && (m.value - with_tip).abs() < 0.011
            {
                let m =
                    Money { currency: m.currency.or(best.0.currency), marker: m.marker.or(best.0.marker.clone()), ..m };
                return (m, i, rank);
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    fn total(text: &str) -> Option<f64> {
        let lines: Vec<&str> = text.lines().collect();
        find(&lines, true).map(|(m, _, _)| m.value)
    }

    #[test]
    fn rounding_tendered_and_change() {
        let t = "Total Sales (Excluding GST) 15.00\nGST 6% 0.91\nTotal Sales (Inclusive of GST) 15.91\nRounding Adj -0.01\nTotal Rounded 15.90\nCash 20.00\nChange 4.10";
        assert_eq!(total(t), Some(15.9));
        let t = "TOTAL 23.55\nROUNDING 0.00\nCASH 50.00\nCHANGE 26.45";
        assert_eq!(total(t), Some(23.55));
        // A misread total is outvoted by what the other lines say.
        assert_eq!(total("TOTAL 71.16\nVISA 7.16\nSumme 7.16"), Some(7.16));
    }

    #[test]
    fn payment_lines_when_no_total_is_labelled() {
        assert_eq!(total("Emmentaler 5,18\nBulgur 1,98\nBar 10,00\nRückgeld 2,84"), Some(7.16));
        assert_eq!(total("Milch 1,19\nMastercard EUR 6,20"), Some(6.2));
        assert_eq!(total("Milch 1,19\nKartenzahlung\nEUR 17,06\nKarte 0"), Some(17.06));
        assert_eq!(total("Regal 59,96\nelec.-cash 59,96"), Some(59.96));
    }

    #[test]
    fn the_largest_price_only_where_lines_end_in_prices() {
        let largest = |t: &str| largest(&t.lines().collect::<Vec<_>>()).map(|(m, _, _)| m.value);
        assert_eq!(largest("Bolts 12,90\nGlue 10,50\n23,40 EUR\nDanke"), Some(23.4));
        assert_eq!(largest("Fees discussed: 12.00 and 15.00\nNext time"), None);
        assert_eq!(largest("Quittung 05.03.2024 10:12\nBolts 12,90; glue 10,50\n23,40 EUR"), None);
        assert_eq!(largest("A 1.00\nB 2.00 was the price we agreed on"), None);
    }

    #[test]
    fn a_payment_borne_out_beats_a_total_nothing_agrees_with() {
        let t = "FITBIT 155,00\nTotal EUR 165,00\nBar EUR 200,00\nRückgeld EUR -45,00";
        assert_eq!(total(t), Some(155.0));
        // A total with support stays, even beside an odd payment line.
        let t = "Item 12,00\nTotal 12,00\nKarte 12,00";
        assert_eq!(total(t), Some(12.0));
        let t = "Coffee 4.50\nTotal 4.50\nCash 10.00\nChange 5.50";
        assert_eq!(total(t), Some(4.5));
    }

    #[test]
    fn invoice_labels() {
        for label in [
            "Net Payable",
            "Net Amount Payable",
            "Zahlbetrag",
            "Zu zahlender Betrag",
            "Bruttobetrag",
            "Gesamtsumme",
            "Totaalbedrag",
            "Wartość brutto",
        ] {
            assert_eq!(total(&format!("Service 1 100.00\nVAT 23.45\n{label} 123.45")), Some(123.45), "{label}");
        }
    }

    #[test]
    fn a_total_one_misread_digit_from_its_items() {
        let t = "10 PALLET NAILS 1.50 15.00\n1 CEMENT 50KG 19.50 19.50\nTOTAL : 34.56\nGST (0%) : 0.00";
        assert_eq!(total(t), Some(34.5));
        let t = "O.C. WHITE 2.13 4 8.52\nWHOLEMEAL 2.78 2 5.56\nTotal Payable: 14.68";
        assert_eq!(total(t), Some(14.08));
        // A difference a printed amount explains is no misreading.
        let t = "Soup 6.00\nBread 4.02\nSubtotal 10.02\nTax 0.60\nTotal 10.62";
        assert_eq!(total(t), Some(10.62));
        // Nor one that is not a misreading OCR makes.
        assert_eq!(total("Soup 6.00\nBread 4.00\nTotal 10.20"), Some(10.2));
    }

    #[test]
    fn payment_amounts_on_the_line_below_their_labels() {
        let t = "Total\n11.55\nNett Total\n11.55\nPaid Amount\n50.00\nChange\n38.45";
        assert_eq!(total(t), Some(11.55));
    }

    #[test]
    fn a_total_read_as_a_whole_number_yields_to_the_arithmetic() {
        // The tax table's rows add up to what was paid.
        let t = "SANDWICH 1,79 B\nRIEGEL 2,97 B\nSUMME EUR 3690\nMastercard EUR\nB 7% 27,45 1,92 29,37\nC 19% 5,74 1,09 6,83";
        assert_eq!(total(t), Some(36.2));
        // A table's own total line is not added to its rows.
        assert_eq!(
            tax_table_gross(&["A 7% 0,63 9,04 9,67", "B 19% 2,21 11,63 13,84", "Summe % 2,84 20,67 23,51"])
                .map(|(g, _)| g),
            Some(23.51)
        );
        // The card payment.
        let t =
            "CHICKEN 3,99 E\nSEIFE 8,99 V\nBROT 6,48 E\nSUMME EUR 19,416\nMasterCard EUR 19,46\nA 0% 1,44 7,55 8,99";
        assert_eq!(total(t), Some(19.46));
        // A decimal comma read as a space.
        let t = "Artikel 155,00\nTotal EuR 155 00\nBar EUR 200,00\nRückgeld EUR -45 00";
        assert_eq!(total(t), Some(155.0));
        let t = "Artikel 15,50\nTotal EUR 15 50\nBar EUR 20,00\nRückgeld EUR -4,50";
        assert_eq!(total(t), Some(15.5));
        // The cash handed over, no change given.
        let t = "KIWIS 0,98 B\nRIEGEL 2,07 B\nSUMME EUR 272\nBAR EUR 27,42\nB 7% 23,45 1,64 25,09";
        assert_eq!(total(t), Some(27.42));
        // A total whose amount OCR lost is not the cash handed over below it.
        let t = "Artikel 59,99\nTotal EUR nag\nBar EUR 100,00\nRückgeld EUR -40,01";
        assert_eq!(total(t), Some(59.99));
        // A tax table that agrees confirms the total.
        assert_eq!(total("Brot 3,20\nSumme 3,20\nA 7% 2,99 0,21 3,20"), Some(3.2));
    }

    #[test]
    fn a_column_of_labels_then_a_column_of_values() {
        let t = "2 PC * 12.500 0.00 25.00\nTOTAL:\nROUNDING ADJUSTMENT\nROUNDED TOTAL (RM):\nCASH\nCHANGE\n25.00\n0.00\n25.00\n50.00\n25.00";
        let lines: Vec<&str> = t.lines().collect();
        let joined = rejoin_columns(&lines);
        assert_eq!(joined[1], "TOTAL: 25.00");
        assert_eq!(joined[4], "CASH 50.00");
        assert_eq!(joined[6], "");
        let joined: Vec<&str> = joined.iter().map(String::as_str).collect();
        assert_eq!(find(&joined, true).map(|(m, ..)| m.value), Some(25.0));
        // Runs of different lengths are left as read.
        let t = "Total\nCash\nChange\n9.00\n10.00";
        assert_eq!(rejoin_columns(&t.lines().collect::<Vec<_>>()).join("\n"), t);
    }

    #[test]
    fn a_date_in_a_sentence_about_the_amount_is_no_total() {
        let t = "Summe netto 12,61 EUR\nZu zahlender Betrag 15,01 EUR\nDer Betrag wird am 20.03.2018 abgebucht.";
        assert_eq!(total(t), Some(15.01));
    }

    #[test]
    fn paid_less_change() {
        let t = "Sub Total 15.30\nRounding 0.00\nAMOUNT DUE 15.30\nPAID 50.00\nCHANGE DUE 34.70";
        assert_eq!(total(t), Some(15.3));
        assert_eq!(total("Item 15.30\nPAID 50.00\nCHANGE 34.70"), Some(15.3));
        assert_eq!(total("Amount paid $14.99\nVisa 4242"), Some(14.99));
    }

    #[test]
    fn ocr_damaged_labels() {
        assert_eq!(total("Subtoiat 12.00\nTax 0.72\nTota! 12.72"), Some(12.72));
        assert_eq!(total("TolalAmtRounded 15.90"), Some(15.9));
        assert_eq!(total("SU MME EUR 42,40\nBar 50,00"), Some(42.4));
        assert_eq!(total("Jota] EUR 155,00\nBar EUR 200,00\nRückgeld EUR -45,00"), Some(155.0));
    }
}
