//! Which country a document comes from, told by what it prints: tax ids,
//! legal forms, phone prefixes, postcodes, place names, and the sender's
//! domain. The country decides what a bare `$`, `kr`, `¥` or an amount with
//! no marker at all is worth, and whether `05/03/2018` is the 5th of March.

use std::sync::LazyLock;

use regex::Regex;

use crate::dates::Order;

/// A country as far as receipts care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// ISO 3166 alpha-2.
    pub code: &'static str,
    /// Its currency, ISO 4217.
    pub currency: &'static str,
    /// How it writes numeric dates.
    pub order: Order,
}

/// One way a document shows where it is from.
struct Signal {
    country: &'static str,
    /// Case-insensitive unless the pattern says `(?-i)`.
    pattern: &'static str,
    weight: u32,
    /// Shown in a field's source.
    what: &'static str,
}

const fn sig(country: &'static str, weight: u32, what: &'static str, pattern: &'static str) -> Signal {
    Signal { country, pattern, weight, what }
}

/// Countries, their currency and date order.
const COUNTRIES: &[(&str, &str, Order)] = &[
    ("MY", "MYR", Order::DayFirst),
    ("SG", "SGD", Order::DayFirst),
    ("IN", "INR", Order::DayFirst),
    ("ID", "IDR", Order::DayFirst),
    ("PH", "PHP", Order::MonthFirst),
    ("TH", "THB", Order::DayFirst),
    ("HK", "HKD", Order::DayFirst),
    ("JP", "JPY", Order::DayFirst),
    ("CN", "CNY", Order::DayFirst),
    ("AE", "AED", Order::DayFirst),
    ("ZA", "ZAR", Order::DayFirst),
    ("US", "USD", Order::MonthFirst),
    ("CA", "CAD", Order::MonthFirst),
    ("MX", "MXN", Order::DayFirst),
    ("BR", "BRL", Order::DayFirst),
    ("GB", "GBP", Order::DayFirst),
    ("IE", "EUR", Order::DayFirst),
    ("DE", "EUR", Order::DayFirst),
    ("AT", "EUR", Order::DayFirst),
    ("CH", "CHF", Order::DayFirst),
    ("NL", "EUR", Order::DayFirst),
    ("BE", "EUR", Order::DayFirst),
    ("FR", "EUR", Order::DayFirst),
    ("ES", "EUR", Order::DayFirst),
    ("IT", "EUR", Order::DayFirst),
    ("PT", "EUR", Order::DayFirst),
    ("PL", "PLN", Order::DayFirst),
    ("CZ", "CZK", Order::DayFirst),
    ("SE", "SEK", Order::DayFirst),
    ("NO", "NOK", Order::DayFirst),
    ("DK", "DKK", Order::DayFirst),
    ("AU", "AUD", Order::DayFirst),
    ("NZ", "NZD", Order::DayFirst),
];

/// What a document may show. Weights: 3 names the country or a national
/// tax id outright, 2 is a strong local habit, 1 a hint others share.
const SIGNALS: &[Signal] = &[
    sig("MY", 3, "Malaysia named", r"\bmalaysia\b"),
    sig("MY", 3, "a Malaysian legal form", r"\bs[do0]n\.?\s*[b8][hn][do0]\b|\(?\bs/b\b\)?|\bberhad\b"),
    sig("MY", 1, "a Malaysian legal form", r"\bbhd\b|\benterprise\b|\bplt\b"),
    sig(
        "MY",
        2,
        "a Malaysian state or city",
        r"\b(?:selangor|kuala lumpur|johor|pulau pinang|penang|perak|kedah|melaka|negeri sembilan|pahang|terengganu|kelantan|sabah|sarawak|putrajaya|petaling jaya|shah alam|klang|puchong|cheras|subang jaya|ipoh|seremban|kajang|kota kinabalu|kuching|johor bahru|seri kembangan|bangi|rawang|semenyih|ampang|kepong|setapak|gombak|kelana jaya|damansara|cyberjaya|nilai|skudai|pasir gudang|kulai|kluang|muar|batu pahat|butterworth|alor setar|sungai petani|taiping|kuantan|kota bharu|sandakan|tawau|bintulu|wilayah persekutuan|n\.?\s?sembilan|port dickson|labuan|perlis|kangar|langkawi|kuala terengganu|segamat|mersing|kota tinggi|bentong|temerloh|teluk intan|sitiawan|miri|sibu|sepang|banting|port klang)\b",
    ),
    sig("MY", 1, "a Malaysian address word", r"\b(?:bandar|seksyen|kawasan perindustrian|jalan\s+\w+\s+\d+/\d+)\b"),
    sig("MY", 1, "a Malaysian street word", r"\b(?:jalan|jln|taman|tmn|lorong|persiaran|kampung)\b"),
    sig("MY", 2, "a Malaysian tax id", r"\bgst\s*(?:id|reg)|\bsst\s*(?:id|reg|no)"),
    // Malaysia's GST numbers had twelve digits (`GST No: 000123456789`);
    // Singapore's mix letters in.
    sig("MY", 2, "a Malaysian tax id", r"\bgst\b[^0-9\n]{0,12}\b\d{12}\b"),
    // `Co. No. 123456-A`, `Company Reg. No: 1234567-X`, `ROC 12345-T`.
    sig(
        "MY",
        2,
        "a Malaysian registration number",
        r"\b(?:co\.?|company|roc|reg\.?)\s*(?:reg(?:istration)?\.?\s*)?(?:no\.?|number)?\s*:?\s*\d{4,12}\s?-\s?[a-z]\b",
    ),
    sig("MY", 1, "a Malay word", r"\b(?:kedai|syarikat|perniagaan|baki|sila|cukai)\b"),
    sig("MY", 3, "a Malaysian phone number", r"\+60[\s-]?\d"),
    // A company's or business's registration number, a check letter after
    // a dash, in brackets: `(861253-M)`, `(JM0123456-X)`, `(002345678-P)`.
    sig("MY", 2, "a Malaysian registration number", r"\(\s*(?:[A-Z]{2}\s?)?\d{4,12}\s?-\s?[A-Z]\s*\)"),
    // `03-7956 1234`, `06-6471234`, `012-345 6789`: an area or mobile code
    // of two or three digits, a dash, seven or eight digits.
    sig("MY", 1, "a Malaysian phone number", r"\b0\d{1,2}-\s?\d{3,4}\s?\d{4}\b"),
    sig("MY", 3, "ringgit", r"(?-i)\bRM\s?\d|\bMYR\b"),
    sig("SG", 3, "Singapore named", r"\bsingapore\b"),
    sig("SG", 2, "a Singapore legal form", r"\bpte\.?\s*ltd\b"),
    sig("SG", 3, "a Singapore phone number or id", r"\+65[\s-]?\d|\bUEN\b"),
    sig("SG", 3, "a Singapore GST number", r"(?-i)\b[MD][2-9]-\d{7}-\d\b"),
    sig("IN", 3, "India named", r"\bindia\b"),
    sig("IN", 3, "an Indian tax id", r"\bgstin\b|\bcgst\b|\bsgst\b|\bigst\b"),
    sig("IN", 2, "an Indian legal form", r"\bpvt\.?\s*ltd\b|\bprivate limited\b"),
    sig(
        "IN",
        2,
        "an Indian state or city",
        r"\b(?:bengaluru|bangalore|mumbai|new delhi|delhi|chennai|hyderabad|kolkata|pune|gurgaon|gurugram|noida|karnataka|maharashtra|tamil nadu|telangana|haryana|uttar pradesh|gujarat|kerala)\b",
    ),
    sig("IN", 3, "an Indian phone number", r"\+91[\s-]?\d"),
    sig("IN", 3, "rupees", r"₹|(?-i)\bRs\.?\s?\d|\bINR\b"),
    sig("ID", 3, "Indonesia named", r"\bindonesia\b|\bnpwp\b|\+62[\s-]?\d"),
    sig("ID", 2, "rupiah", r"(?-i)\bRp\.?\s?\d"),
    sig("PH", 3, "the Philippines named", r"\bphilippines\b|₱|\+63[\s-]?\d"),
    sig("TH", 3, "Thailand named", r"\bthailand\b|฿|\+66[\s-]?\d"),
    sig("HK", 3, "Hong Kong named", r"\bhong kong\b|\+852[\s-]?\d|HK\$"),
    sig("JP", 3, "Japan named", r"\bjapan\b|日本|円|\+81[\s-]?\d"),
    sig("CN", 3, "China named", r"\bchina\b|中国|人民币|\+86[\s-]?\d"),
    sig("AE", 3, "the Emirates named", r"\bunited arab emirates\b|\bdubai\b|\babu dhabi\b|\+971[\s-]?\d"),
    sig("ZA", 3, "South Africa named", r"\bsouth africa\b|\+27[\s-]?\d"),
    sig("US", 3, "the United States named", r"\bunited states\b|\bU\.?S\.?A\.?\b"),
    sig(
        "US",
        2,
        "a US state and ZIP code",
        r"(?-i)\b(?:AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC)\s+\d{5}(?:-\d{4})?\b",
    ),
    sig("US", 1, "a US legal form or tax", r"\binc\.?(?:\s|$)|\bllc\b|\bsales tax\b"),
    sig("US", 2, "a North American phone number", r"\+1[\s-]?\(?\d{3}\)?[\s-]?\d{3}[\s-]\d{4}"),
    sig("CA", 3, "Canada named", r"\bcanada\b"),
    sig("CA", 3, "a Canadian tax", r"\bgst/hst\b|\bhst\b|\bqst\b"),
    sig("CA", 2, "a Canadian postcode", r"(?-i)\b(?:ON|BC|QC|AB|MB|NS|NB|SK|PE|NL)\s+[A-Z]\d[A-Z]\s?\d[A-Z]\d\b"),
    sig("MX", 3, "Mexico named", r"\bm[eé]xico\b|(?-i)\bRFC\b"),
    sig("BR", 3, "Brazil named", r"\bbrasil\b|\bbrazil\b|\bcnpj\b|R\$"),
    sig("GB", 3, "the United Kingdom named", r"\bunited kingdom\b|\bengland\b|\bscotland\b|\bwales\b|\+44[\s-]?\d"),
    sig("GB", 2, "a UK postcode", r"(?-i)\b[A-Z]{1,2}\d[A-Z\d]? \d[A-Z]{2}\b"),
    sig("GB", 1, "a UK place or tax", r"\blondon\b|\bvat reg|\bltd\b"),
    sig("IE", 3, "Ireland named", r"\bireland\b|\+353[\s-]?\d"),
    sig("DE", 3, "Germany named", r"\bdeutschland\b|\bgermany\b|\+49[\s-]?\d"),
    sig("DE", 3, "a German tax id", r"\bust[-.\s]?id|\bsteuer-?nr|\bmwst\b|\bhrb\s?\d|(?-i)\bDE\s?\d{9}\b"),
    sig("DE", 2, "a German legal form or street", r"\bgmbh\b|stra(?:ß|ss)e\b|str\.\s?\d"),
    sig("AT", 3, "Austria named", r"\b[öo]sterreich\b|\baustria\b|\+43[\s-]?\d|(?-i)\bATU\d{8}\b"),
    sig("CH", 3, "Switzerland named", r"\bschweiz\b|\bsuisse\b|\bswitzerland\b|\+41[\s-]?\d|(?-i)\bCHE-\d{3}"),
    sig("NL", 3, "the Netherlands named", r"\bnederland\b|\bnetherlands\b|\+31[\s-]?\d|(?-i)\bNL\d{9}B\d{2}\b"),
    sig("NL", 2, "a Dutch legal form or id", r"\bb\.v\.|\bbv\b|\bkvk\b|\bbtw\b"),
    sig("BE", 3, "Belgium named", r"\bbelgique\b|\bbelgi[eë]\b|\bbelgium\b|\+32[\s-]?\d|(?-i)\bBE\s?0\d{9}\b"),
    sig("FR", 3, "France named", r"\bfrance\b|\bsiret\b|\bsiren\b|\+33[\s-]?\d|(?-i)\bFR\s?\d{2}\s?\d{9}\b"),
    sig("FR", 2, "a French legal form or tax", r"\bsarl\b|\bs\.a\.s\.?|\btva\b|\bttc\b"),
    sig("ES", 3, "Spain named", r"\bespa[ñn]a\b|\bspain\b|\+34[\s-]?\d|\bnif\b"),
    sig("IT", 3, "Italy named", r"\bitalia\b|\bitaly\b|\+39[\s-]?\d|\bp\.\s?iva\b|\bpartita iva\b"),
    sig("PT", 3, "Portugal named", r"\bportugal\b|\+351[\s-]?\d"),
    sig("PL", 3, "Poland named", r"\bpolska\b|\bpoland\b|\+48[\s-]?\d|zł|(?-i)\bPLN\b"),
    sig("PL", 3, "a Polish legal form or tax id", r"\bsp\.?\s?z\s?o\.?\s?o\b|\bnip\b|\bregon\b"),
    sig("PL", 1, "a Polish document word", r"\bfaktura\b|\bsprzedawca\b|\bnabywca\b"),
    sig("CZ", 3, "Czechia named", r"\b[čc]esk[áa] republika\b|\bczech\b|\+420[\s-]?\d|Kč"),
    sig("SE", 3, "Sweden named", r"\bsverige\b|\bsweden\b|\+46[\s-]?\d"),
    sig("NO", 3, "Norway named", r"\bnorge\b|\bnorway\b|\+47[\s-]?\d|\bmva\b"),
    sig("DK", 3, "Denmark named", r"\bdanmark\b|\bdenmark\b|\+45[\s-]?\d"),
    sig("AU", 3, "Australia named", r"\baustralia\b|(?-i)\bABN\b|\+61[\s-]?\d"),
    sig("AU", 2, "an Australian state and postcode", r"(?-i)\b(?:NSW|VIC|QLD|WA|SA|TAS|ACT|NT)\s+\d{4}\b"),
    sig("NZ", 3, "New Zealand named", r"\bnew zealand\b|(?-i)\bIRD\b|\+64[\s-]?\d"),
];

/// Country-code top-level domains, as a sender's domain ends.
const TLDS: &[(&str, &str)] = &[
    (".my", "MY"),
    (".sg", "SG"),
    (".in", "IN"),
    (".id", "ID"),
    (".ph", "PH"),
    (".th", "TH"),
    (".hk", "HK"),
    (".jp", "JP"),
    (".cn", "CN"),
    (".ae", "AE"),
    (".za", "ZA"),
    (".ca", "CA"),
    (".mx", "MX"),
    (".br", "BR"),
    (".uk", "GB"),
    (".ie", "IE"),
    (".de", "DE"),
    (".at", "AT"),
    (".ch", "CH"),
    (".nl", "NL"),
    (".be", "BE"),
    (".fr", "FR"),
    (".es", "ES"),
    (".it", "IT"),
    (".pt", "PT"),
    (".pl", "PL"),
    (".cz", "CZ"),
    (".se", "SE"),
    (".no", "NO"),
    (".dk", "DK"),
    (".au", "AU"),
    (".nz", "NZ"),
];

static COMPILED: LazyLock<Vec<(usize, Regex)>> = LazyLock::new(|| {
    SIGNALS
        .iter()
        .enumerate()
        .filter_map(|(i, s)| Regex::new(&format!("(?i){}", s.pattern)).ok().map(|re| (i, re)))
        .collect()
});

/// The country a document most likely comes from, and why; `None` when
/// nothing in it says.
pub fn infer(text: &str, domain: &str) -> Option<(Country, String)> {
    let mut scores: Vec<(&'static str, u32, Vec<&'static str>)> = Vec::new();
    let mut add = |country: &'static str, weight: u32, what: &'static str| match scores
        .iter_mut()
        .find(|(c, _, _)| *c == country)
    {
        Some(e) => {
            e.1 += weight;
            if !e.2.contains(&what) {
                e.2.push(what);
            }
        }
        None => scores.push((country, weight, vec![what])),
    };
    for (i, re) in COMPILED.iter() {
        if re.is_match(text) {
            let s = &SIGNALS[*i];
            add(s.country, s.weight, s.what);
        }
    }
    let domain = domain.to_ascii_lowercase();
    if let Some((_, c)) = TLDS.iter().find(|(t, _)| domain.ends_with(t)) {
        add(c, 3, "the sender's domain");
    }
    // Web and email addresses printed on the document (`www.shop.com.my`).
    for host in hosts(text).take(50) {
        if let Some((_, c)) = TLDS.iter().find(|(t, _)| host.ends_with(t)) {
            add(c, 2, "a web or email address");
        }
    }
    // Highest score; among equals, the one listed first.
    let rank = |c: &str| COUNTRIES.iter().position(|(k, _, _)| *k == c).unwrap_or(usize::MAX);
    let (code, score, why) = scores.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(rank(b.0).cmp(&rank(a.0))))?;
    if score < 2 {
        return None;
    }
    let (code, currency, order) = COUNTRIES.iter().find(|(k, _, _)| *k == code).copied()?;
    Some((Country { code, currency, order }, why.join(", ")))
}

/// The host names of the email addresses and links a text prints
/// (`support@shop.com.my`, `www.shop.de`, `https://shop.nl/`), lowercased,
/// in the order they stand. OCR often spaces the dot after `www`.
pub(crate) fn hosts(text: &str) -> impl Iterator<Item = String> + '_ {
    static HOST: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)(?:@|\bwww\. ?|https?://)((?:[a-z0-9-]+\.)+[a-z]{2,})\b").unwrap()
    });
    HOST.captures_iter(text).filter_map(|c| c.get(1)).map(|h| h.as_str().to_ascii_lowercase())
}

/// What a bare `$` is in this country.
pub fn dollar(country: Option<Country>) -> &'static str {
    match country.map(|c| c.code) {
        Some(c @ ("CA" | "AU" | "NZ" | "SG" | "HK" | "MX")) => match c {
            "CA" => "CAD",
            "AU" => "AUD",
            "NZ" => "NZD",
            "SG" => "SGD",
            "HK" => "HKD",
            _ => "MXN",
        },
        _ => "USD",
    }
}

/// What a bare `kr` is in this country.
pub fn krone(country: Option<Country>) -> &'static str {
    match country.map(|c| c.code) {
        Some("NO") => "NOK",
        Some("DK") => "DKK",
        _ => "SEK",
    }
}

/// What a bare `¥` is in this country.
pub fn yen(country: Option<Country>) -> &'static str {
    match country.map(|c| c.code) {
        Some("CN") => "CNY",
        _ => "JPY",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str, domain: &str) -> &'static str {
        infer(text, domain).map_or("", |(c, _)| c.code)
    }

    #[test]
    fn countries_from_what_documents_print() {
        assert_eq!(code("KEDAI ABC SDN BHD (12345-X)\nNO 3, JALAN MERU, 41050 KLANG, SELANGOR", ""), "MY");
        assert_eq!(code("KEDAI ABC\n12, Jalan SS 2/24, 47300 Kelana Jaya", ""), "MY");
        assert_eq!(code("Corner Cafe\nwww.cornercafe.com.my\nTotal 12.00", ""), "MY");
        assert_eq!(code("Acme Web Services Pvt. Ltd.\nGSTIN 29ABCDE1234F1Z5\nBengaluru", ""), "IN");
        assert_eq!(code("Hosting GmbH\nUSt-IdNr. DE123456789", ""), "DE");
        assert_eq!(code("Shop B.V.\nKvK 12345678\nBTW NL123456789B01", ""), "NL");
        assert_eq!(code("Firma Sp. z o.o.\nNIP 123-456-78-90", ""), "PL");
        assert_eq!(code("SARL Dupont\nSIRET 123 456 789 00012\nTVA FR12 345678901", ""), "FR");
        assert_eq!(code("548 Market St\nSan Francisco, CA 94104", ""), "US");
        assert_eq!(code("Milk 3.00\nTotal 3.00", ""), "");
        assert_eq!(code("Total 3.00", "shop.co.uk"), "GB");
        // A phone's country code follows its `+` directly; OCR's `+` before
        // a tax id (`GST 1D. + 8608...`) names no country.
        assert_eq!(code("Plaza Alam Sentral\n40000 Shah Alam\nGST 1D. + 860890123456", ""), "MY");
        // A registration number, a landline, a town, with no state named.
        assert_eq!(code("Tan Seng Hardware\n(JM0123456-X)", ""), "MY");
        assert_eq!(code("TAN SENG HARDWARE\nLot 5, 71000 Port Dickson", ""), "MY");
        assert_eq!(code("TAN SENG HARDWARE\nKampung Baru\nTel: 06-6471234", ""), "MY");
        assert!(infer("Tan Seng Hardware\nArt. 0123456-X", "").is_none());
        // A GST number of twelve digits, a company number, a Malay word and
        // a landline.
        assert_eq!(code("ABC TRADING\nGST No: 000123456789", ""), "MY");
        assert_eq!(code("ABC TRADING SDN BND", ""), "MY");
        assert_eq!(code("ABC TRADING\nCo. No. 123456-A", ""), "MY");
        assert_eq!(code("ABC TRADING\nCompany Reg. No: 1234567-X", ""), "MY");
        assert_eq!(code("KEDAI ABC\nTEL: 03-12345678", ""), "MY");
        assert_eq!(code("ABC PTE LTD\nGST Reg No: M2-1234567-8", ""), "SG");
        assert!(infer("ABC TRADING\nTEL: 03-12345678", "").is_none());
        assert!(infer("Invoice No. 12345-A", "").is_none());
        assert_eq!(code("Tel +86 10 6552 1234", ""), "CN");
    }
}
