//! Amounts and currencies as receipts write them: `$1,234.56`, `1.234,56 €`,
//! `EUR 12,50`, `£9.99`, `1 234,00 kr`, `CA$ 20.00`.

use std::sync::LazyLock;

use regex::Regex;

/// One amount found in a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Money {
    /// The value, in major units.
    pub value: f64,
    /// The currency its own marker names (ISO 4217), when it has one.
    pub currency: Option<&'static str>,
    /// The marker as written (`$`, `€`, `EUR`, ...), when there is one.
    pub marker: Option<String>,
    /// Whether the number had decimals (a bare `12` with no marker is more
    /// likely a quantity than a price).
    pub has_decimals: bool,
    /// Whether the decimals follow a comma (`12,50`).
    pub decimal_comma: bool,
}

/// Currency markers, longest first so `CA$` wins over `$`. A marker that
/// several countries share (`$`, `kr`, `¥`, `Rs`) maps to its best-known
/// currency here; the document's country decides in `extract`.
const MARKERS: &[(&str, &str)] = &[
    ("US$", "USD"),
    ("CA$", "CAD"),
    ("C$", "CAD"),
    ("AU$", "AUD"),
    ("A$", "AUD"),
    ("NZ$", "NZD"),
    ("HK$", "HKD"),
    ("S$", "SGD"),
    ("R$", "BRL"),
    ("MX$", "MXN"),
    ("RM", "MYR"),
    // OCR's reading of `RM` on thermal print.
    ("RN", "MYR"),
    ("Rs.", "INR"),
    ("Rs", "INR"),
    ("Rp.", "IDR"),
    ("Rp", "IDR"),
    ("£", "GBP"),
    ("€", "EUR"),
    ("¥", "JPY"),
    ("₹", "INR"),
    ("₩", "KRW"),
    ("₱", "PHP"),
    ("฿", "THB"),
    ("₫", "VND"),
    ("₺", "TRY"),
    ("₪", "ILS"),
    ("₴", "UAH"),
    ("₦", "NGN"),
    ("₽", "RUB"),
    ("zł", "PLN"),
    ("Kč", "CZK"),
    ("Ft", "HUF"),
    ("lei", "RON"),
    ("Fr.", "CHF"),
    ("kr", "SEK"),
    ("$", "USD"),
];

/// Active ISO 4217 codes.
const CODES: &[&str] = &[
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BHD", "BIF",
    "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC",
    "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
    "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD",
    "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD",
    "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD", "UYU", "UZS", "VES",
    "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG",
];

/// Codes that are also words or names receipts print in capitals (`ALL`,
/// `TOP`, `CUP`, `PEN`, `AMD`): a currency only after the number.
const WORDLIKE_CODES: &[&str] = &[
    "ALL", "AMD", "BAM", "BOB", "CUP", "GEL", "MAD", "MOP", "NAD", "PEN", "SOS", "TOP", "TRY", "BTN", "SAR", "PAB",
    "RON", "DOP", "BHD",
];

static MONEY: LazyLock<Regex> = LazyLock::new(|| {
    // A marker before or after a number; the number has thousands
    // separators (`,` `.` `'` space) and up to two decimals after `.` or `,`.
    #[allow(clippy::unwrap_used)] // a constant pattern, checked by the tests
    Regex::new(
        r"(?x)
        (?P<pre>US\$|CA\$|C\$|AU\$|A\$|NZ\$|HK\$|S\$|R\$|MX\$|\bRM|\bRN|\bRs\.?|\bRp\.?|[$£€¥₹₩₱฿₫₺₪₴₦₽]|\b[A-Z]{3}\b)?
        \s?
        (?P<neg>-)?
        (?P<num>\d{1,2}(?:,\d{2})+,\d{3}(?:\.\d{2}\b)?|\d{1,3}(?:[,.'\x{a0}\x{202f}\ ]\d{3})+(?:\ ?[.,]\ ?\d{2}\b|[.,]\d)?|\d+(?:\ ?[.,]\ ?\d{2}\b|[.,]\d)?)
        (?P<post>\s?(?:[$£€¥₹₩₱฿₫₺₪₴₦₽]|zł|Kč|kr\b|Ft\b|lei\b|Fr\.|\bRM\b|\b[A-Z]{3}\b))?
        ",
    )
    .unwrap()
});

/// The ISO code a marker names, before any country hint.
pub fn currency_of_marker(marker: &str) -> Option<&'static str> {
    let m = marker.trim();
    if let Some(code) = CODES.iter().find(|c| c.eq_ignore_ascii_case(m)) {
        return Some(code);
    }
    MARKERS.iter().find(|(k, _)| *k == m).map(|(_, v)| *v)
}

/// The currency a word standing on its own names: an ISO code in capitals
/// (`EUR` in `Total (EUR)`) or `RM`; not a code that is also a word or name.
pub fn standalone_code(word: &str) -> Option<&'static str> {
    if word == "RM" {
        return Some("MYR");
    }
    (word.len() == 3 && word.bytes().all(|b| b.is_ascii_uppercase()) && !WORDLIKE_CODES.contains(&word))
        .then(|| CODES.iter().find(|c| **c == word).copied())
        .flatten()
}

/// Reads a number written with thousands separators and a decimal point or
/// comma.
fn parse_number(raw: &str) -> Option<(f64, bool)> {
    let clean: String = raw.chars().filter(|c| !matches!(c, '\'' | ' ' | '\u{a0}' | '\u{202f}')).collect();
    let last_sep = clean.rfind(['.', ',']);
    let (int_part, dec_part) = match last_sep {
        Some(i) if clean.len() - i - 1 <= 2 => (&clean[..i], Some(&clean[i + 1..])),
        _ => (clean.as_str(), None),
    };
    let digits: String = int_part.chars().filter(char::is_ascii_digit).collect();
    let value = match dec_part {
        Some(d) => format!("{digits}.{d}").parse().ok()?,
        None => digits.parse::<f64>().ok()?,
    };
    Some((value, dec_part.is_some()))
}

/// Every amount in `line`, left to right.
pub fn amounts(line: &str) -> Vec<Money> {
    // A till's tax code glued to a price (`4.98SR`, `12,99A`): one capital
    // or `SR`/`ZR`, then the word ends. A unit stays glued (`2.50KG`), so
    // the weight is no amount.
    static TAX_CODE: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(\d[.,]\d{2})(SR|ZR|[A-Z])\b").unwrap()
    });
    let line = &*TAX_CODE.replace_all(line, "$1 $2");
    // OCR's letters for digits in a price (`15.9O`, `1S.90`).
    static PRICE_LIKE: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(^|[^\w]|RM|RN)([\dOoIlSB]{1,6}[.,][\dOoIlSB]{2})\b").unwrap()
    });
    let line = &*PRICE_LIKE.replace_all(line, |c: &regex::Captures<'_>| {
        format!("{}{}", &c[1], misread_digits(&c[2]).unwrap_or_else(|| c[2].to_string()))
    });
    let mut out = Vec::new();
    for caps in MONEY.captures_iter(line) {
        let Some(num) = caps.name("num") else { continue };
        // A number glued to letters or to a `/` or `:` is a code, date or time.
        let before = line[..num.start()].chars().next_back();
        let after = line[num.end()..].chars().next();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '/' || c == ':' || c == '#') && caps.name("pre").is_none()
        {
            continue;
        }
        // A match the digits run on past (`2.50KG` read as `2.5`) is no number.
        if after.is_some_and(|c| c == '/' || c == ':' || c == '%' || c.is_ascii_digit())
            || after.is_some_and(|c| c.is_alphabetic() && caps.name("post").is_none())
        {
            continue;
        }
        // A number that goes on past a dot (`20.03.2018`, `1.2.3`) is a date
        // or a version. A comma may part two amounts in an export.
        let digit_at = |s: Option<char>| s.is_some_and(|c| c.is_ascii_digit());
        let mut rest = line[num.end()..].chars();
        let mut ahead = line[..num.start()].chars().rev();
        if rest.next() == Some('.') && digit_at(rest.next()) || ahead.next() == Some('.') && digit_at(ahead.next()) {
            continue;
        }
        let is_code = |m: &str| m.len() == 3 && m.bytes().all(|b| b.is_ascii_uppercase());
        let code_ok = |m: &str| !is_code(m) || CODES.contains(&m);
        let pre = caps
            .name("pre")
            .map(|m| m.as_str().to_string())
            .filter(|m| code_ok(m) && !WORDLIKE_CODES.contains(&m.as_str()));
        let post = caps.name("post").map(|m| m.as_str().trim().to_string()).filter(|m| code_ok(m));
        let marker = pre.or(post);
        // `1 100.00` with no marker: a quantity and a price. Spaces group
        // thousands where the decimal mark is a comma (`1 230,00 zł`).
        let raw = num.as_str();
        let spaced = raw.contains([' ', '\u{a0}', '\u{202f}']);
        let decimal_point = raw.rfind([',', '.']).is_some_and(|i| raw[i..].starts_with('.') && raw.len() - i <= 3);
        // A space OCR put before the decimals (`15 .90`) parts nothing.
        let tail = raw.rsplit([' ', '\u{a0}', '\u{202f}']).next().unwrap_or(raw);
        let raw = if spaced
            && decimal_point
            && caps.name("pre").is_none()
            && tail.starts_with(|c: char| c.is_ascii_digit())
        {
            tail
        } else {
            raw
        };
        let Some((value, has_decimals)) = parse_number(raw) else { continue };
        let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        let decimal_comma = has_decimals && digits.rfind([',', '.']).is_some_and(|i| digits[i..].starts_with(','));
        let value = if caps.name("neg").is_some() { -value } else { value };
        let currency = marker.as_deref().and_then(currency_of_marker);
        out.push(Money { value, currency, marker, has_decimals, decimal_comma });
    }
    out
}

/// `token` with the letters OCR reads for digits (`O` `o` for 0, `I` `l`
/// `|` for 1, `S` for 5, `B` for 8, `Z` for 2) read as digits, when at
/// least two in three of its letters and digits are digits already: `2O1B`
/// and `15.9O` are numbers, `SB` and `BOS` words.
pub(crate) fn misread_digits(token: &str) -> Option<String> {
    let digits = token.chars().filter(char::is_ascii_digit).count();
    let alnum = token.chars().filter(|c| c.is_alphanumeric() || *c == '|').count();
    (digits * 3 >= alnum * 2).then(|| {
        token
            .chars()
            .map(|c| match c {
                'O' | 'o' => '0',
                'I' | 'l' | '|' => '1',
                'S' => '5',
                'B' => '8',
                'Z' => '2',
                c => c,
            })
            .collect()
    })
}

/// Whether this amount looks like a price: it has a currency marker or two
/// decimals.
pub fn is_price(m: &Money) -> bool {
    m.marker.is_some() || m.has_decimals
}

/// Rounds to cents.
pub fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> (f64, Option<&'static str>) {
        let a = amounts(s);
        let m = a.last().unwrap_or_else(|| panic!("no amount in {s}"));
        (m.value, m.currency)
    }

    #[test]
    fn formats() {
        assert_eq!(one("Total $1,234.56"), (1234.56, Some("USD")));
        assert_eq!(one("Gesamt 1.234,56 €"), (1234.56, Some("EUR")));
        assert_eq!(one("TOTAL EUR 12,50"), (12.5, Some("EUR")));
        assert_eq!(one("Total: £9.99"), (9.99, Some("GBP")));
        assert_eq!(one("Summa 1 234,00 kr"), (1234.0, Some("SEK")));
        // As OCR reads thermal print: letters for digits, a space before the
        // decimals.
        assert_eq!(one("TOTAL RM 15.9O"), (15.9, Some("MYR")));
        assert_eq!(one("TOTAL 1S.90"), (15.9, None));
        assert_eq!(one("TOTAL RM1S.90"), (15.9, Some("MYR")));
        assert_eq!(one("TOTAL 15 .90"), (15.9, None));
        assert_eq!(one("1 100.00"), (100.0, None));
        assert!(amounts("SB.OS").is_empty());
        assert_eq!(one("Total CA$ 20.00"), (20.0, Some("CAD")));
        assert_eq!(one("Total 45.10"), (45.1, None));
        assert_eq!(one("Total 12.50 USD"), (12.5, Some("USD")));
        assert_eq!(one("CHF 1'234.50"), (1234.5, Some("CHF")));
        // OCR puts spaces around separators.
        assert_eq!(one("SUMME €42 ,40"), (42.4, Some("EUR")));
        // A quantity before a price is not a thousands group, unless the
        // decimal mark is a comma or a marker comes first.
        assert_eq!(one("Service 1 100.00"), (100.0, None));
        assert_eq!(one("Razem 1 230,00 zł"), (1230.0, Some("PLN")));
        assert_eq!(one("Total € 1 230.00"), (1230.0, Some("EUR")));
        assert_eq!(one("TOTAL RN21.20"), (21.2, Some("MYR")));
        // A tax code glued to a price; a unit glued to a weight is no price.
        assert_eq!(one("BUAH 4.98SR"), (4.98, None));
        assert_eq!(one("Brot 12,99A"), (12.99, None));
        assert!(amounts("PISANG 2.50KG").is_empty());
        // Lakhs and crores, as India groups them.
        assert_eq!(one("Grand Total ₹ 1,25,000.00"), (125000.0, Some("INR")));
        assert_eq!(one("Total 12,34,567.50"), (1234567.5, None));
    }

    #[test]
    fn not_amounts() {
        assert!(amounts("12:30").iter().all(|m| !is_price(m)));
        assert!(amounts("03/14/2026").iter().all(|m| !is_price(m)));
        assert!(amounts("Order #12345").is_empty());
        // A date with dots is no price, in a sentence or on its own.
        assert!(amounts("Der Betrag wird am 20.03.2018 abgebucht.").iter().all(|m| !is_price(m)));
        assert!(amounts("Version 1.20.3").iter().all(|m| !is_price(m)));
    }
}
