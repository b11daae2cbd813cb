//! The business that was paid, named as it prints itself: "Trader Joe's",
//! not `no-reply@traderjoes.com`, not "TRADER JOE'S #552".

use std::sync::LazyLock;

use regex::Regex;

use crate::extract::{Doc, Field, contains_word};

/// Legal forms [`merchant`] drops from the end of a name.
const LEGAL: &[&str] = &[
    "inc",
    "inc.",
    "incorporated",
    "llc",
    "l.l.c.",
    "ltd",
    "ltd.",
    "limited",
    "gmbh",
    "ag",
    "kg",
    "ohg",
    "e.k.",
    "s.a.",
    "sa",
    "s.a.s.",
    "sas",
    "sarl",
    "s.l.",
    "sl",
    "s.p.a.",
    "spa",
    "srl",
    "s.r.l.",
    "b.v.",
    "b.v",
    "n.v",
    "s.a",
    "e.k",
    "l.l.c",
    "s.r.l",
    "s.l",
    "bv",
    "n.v.",
    "nv",
    "plc",
    "pty",
    "pty.",
    "pvt",
    "pvt.",
    "private",
    "berhad",
    "s/b",
    "sb",
    "plt",
    "co",
    "co.",
    "corp",
    "corp.",
    "corporation",
    "company",
    "ab",
    "as",
    "a/s",
    "oy",
    "aps",
    "lp",
    "llp",
    "pte",
    "pte.",
    "sdn",
    "bhd",
    "k.k.",
    "kk",
    "se",
    "d.o.o.",
    "s.r.o.",
    "gbr",
    "ug",
];

/// Display names and lines that name a role, not a merchant.
const GENERIC: &[&str] = &[
    "receipt",
    "receipts",
    "your receipt",
    "orders",
    "order",
    "no-reply",
    "noreply",
    "no reply",
    "do not reply",
    "donotreply",
    "info",
    "support",
    "billing",
    "payments",
    "payment",
    "customer service",
    "customer care",
    "team",
    "notifications",
    "notification",
    "service",
    "accounts",
    "account",
    "sales",
    "store",
    "shop",
    "hello",
    "help",
    "invoice",
    "invoices",
    "mailer",
    "auto-confirm",
    "confirmation",
    "order confirmation",
    "tax invoice",
    "sales receipt",
    "customer copy",
    "merchant copy",
    "cardholder copy",
    "thank you",
    "welcome",
    "statement",
    "bill",
    "ticket",
    "kassenbon",
    "quittung",
    "rechnung",
    "facture",
    "ticket de caisse",
    "factuur",
    "faktura",
    "faktura vat",
    "fattura",
    "cash bill",
    "cash sale",
    "official receipt",
    "simplified tax invoice",
    "recibo",
    "factura",
    "ricevuta",
    "kvitto",
    "bon",
    "beleg",
];

/// Words that end a sender's name: "Uber Receipts", "DoorDash Orders".
const SENDER_SUFFIXES: &[&str] = &[
    "receipts",
    "receipt",
    "orders",
    "order",
    "billing",
    "payments",
    "team",
    "support",
    "notifications",
    "store",
    "online",
    "shop",
    "customer service",
    "no-reply",
    "noreply",
    "via",
    "invoices",
    "invoice",
    "account",
    "accounts",
    "rechnung",
    "service",
];

static SUBJECT_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)\b(?:receipt|invoice|order|purchase|booking|reservation|payment)s?\s+(?:from|at|with)\s+(.+?)(?:\s*[-–|:(\[#]|\s+for\b|\s+on\b|$)",
        r"(?i)\byour\s+(.+?)\s+(?:receipt|invoice|order|purchase|booking|trip|ride|bill)\b",
        r"(?i)\bthank(?:s| you) for (?:shopping|dining|ordering|staying|riding|flying|choosing|visiting|your (?:order|purchase|visit)) (?:at|with|from)\s+(.+?)(?:[!.,]|$)",
        r"(?i)^\[(.+?)\]",
        r"(?i)\b(?:recibo|reçu|kassenbon|kassabon|rechnung|ricevuta|factura|facture|quittung|beleg|bon)\s+(?:de|von|van|da|du|chez|bei)\s+(.+?)(?:\s*[-–|:(\[#]|$)",
        r"(?i)\b(?:votre|ihr|uw|su|il tuo|vostro)\s+(?:reçu|recibo|kassenbon|kassabon|rechnung|ricevuta|facture|factura)\s+(.+?)(?:\s*[-–|:(\[#]|$)",
        r"(?i)^(.+?)\s*[-–|:]\s*(?:your\s+)?(?:receipt|invoice|order|purchase|booking)",
    ]
    .iter()
    .map(|p| {
        #[allow(clippy::unwrap_used)] // constant patterns, checked by the tests
        Regex::new(p).unwrap()
    })
    .collect()
});

static BODY_PATTERNS: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        r"(?i)\bthank(?:s| you) for (?:shopping|dining|ordering|staying|riding|flying|choosing|visiting|eating|your (?:order|purchase|visit|business)) (?:at|with|from)\s+(.+?)(?:[!.,]|\s+-|$)",
        r"(?i)\b(?:merchant|store|restaurant|vendor|seller|sold by|payee|retailer|händler|commerçant)\s*:\s*(.+)$",
        r"(?i)\bwelcome to\s+(.+?)(?:[!.,]|$)",
        r"(?i)\byour (?:receipt|order|purchase|invoice) (?:from|at|with)\s+(.+?)(?:[!.,]|\s+-|$)",
        r"(?i)\b(?:receipt|invoice) from\s+(.+?)(?:[!.,]|\s+-|$)",
        r"(?i)\b(?:gracias por su (?:compra|visita|pedido) en|merci (?:de votre|pour votre) (?:visite|achat|commande) (?:chez|à)|vielen dank für ihren (?:einkauf|besuch|auftrag) (?:bei|im|in der)|danke für ihren einkauf bei|bedankt voor uw (?:aankoop|bezoek|bestelling) bij|grazie per (?:il suo acquisto|la visita|il tuo ordine) (?:da|presso)|obrigado pela sua compra (?:na|no|em))\s+(.+?)(?:\s*[!.,]|\s+-|$)",
    ]
    .iter()
    .map(|p| {
        #[allow(clippy::unwrap_used)] // constant patterns, checked by the tests
        Regex::new(p).unwrap()
    })
    .collect()
});

/// `s` without `suffix` (ASCII, matched without regard to case). Slices `s`
/// itself, never a lowercased copy, whose byte offsets can differ.
fn strip_suffix_ascii_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    (s.is_char_boundary(cut) && s[cut..].eq_ignore_ascii_case(suffix)).then(|| &s[..cut])
}

/// A name as printed, without what is not part of it: store numbers,
/// branch suffixes, registration numbers, a `.com`. The legal form stays
/// (`Sinar Jaya Hardware Sdn Bhd`, `Acme Widgets, Inc.`): it is part of the
/// business's name, and OCR's misreadings of it are mended. In a person's
/// casing.
pub fn clean(raw: &str) -> String {
    // `MURN!`: OCR's `!` or `|` for an `I` in a word of capitals.
    let raw: String = raw
        .split(' ')
        .map(|w| {
            let letters: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
            if letters.len() >= 3 && letters.iter().all(|c| c.is_uppercase()) {
                w.replace(['!', '|'], "I")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    // Quotes, stars, rules and OCR's specks around a name (`‘AH HUAT`,
    // `BOOKS:`) are not part of it.
    let mut s = raw
        .trim()
        .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '(')
        .trim_end_matches(|c: char| !c.is_alphanumeric() && !")'.".contains(c))
        .trim()
        .to_string();
    // "Trader Joe's #552", "Shell Station 0423", "Store No. 12".
    static STORE_NO: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)\s*(?:#\s*\d+|\b(?:store|station|branch|filiale|no\.?|nr\.?)\s*#?\s*\d+|\s\d{3,})\s*$")
            .unwrap()
    });
    static BRANCH: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"\s+[-–|@]\s+.*$").unwrap()
    });
    // "(861253-M)", "(Co. Reg. 12345-A)": registration numbers.
    static REG_NO: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"\s*\([^()]*\d[^()]*\)").unwrap()
    });
    // OCR's readings of legal forms: `SON BHD`, `SDN BND`, `SDN 8HD`, `$/B`,
    // `GnbH`.
    static MISREAD_FORM: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)\s(?:(s[do0]n\.?\s*[b8][hn][do0]\.?)|([s$5]/[b8])|(g[mn]bh))$").unwrap()
    });
    s = REG_NO.replace_all(&s, "").to_string();
    s = BRANCH.replace(&s, "").to_string();
    loop {
        let before = s.clone();
        s = STORE_NO.replace(&s, "").trim().trim_end_matches([',', ':']).trim().to_string();
        if s == before {
            break;
        }
    }
    // "Amazon.com" is "Amazon".
    for tld in [".com", ".co.uk", ".de", ".fr", ".ca", ".com.au", ".co", ".io", ".net"] {
        if let Some(stem) = strip_suffix_ascii_ci(&s, tld)
            && stem.len() > 2
            && !s.contains(' ')
        {
            s = stem.to_string();
        }
    }
    // Mended after the casing, which has made a name of capitals `Sdn Bhd`.
    let mut s = person_case(&s);
    if let Some(c) = MISREAD_FORM.captures(&s)
        && let Some(whole) = c.get(0)
    {
        let form = if c.get(1).is_some() {
            "Sdn Bhd"
        } else if c.get(2).is_some() {
            "S/B"
        } else {
            "GmbH"
        };
        s = format!("{} {form}", &s[..whole.start()]);
    }
    s
}

/// A name without its legal form or a country tag before it (`Megamart`
/// for `Megamart Co. (M) Bhd`): what two names of one business share, for
/// remembering a person's choices and comparing a name with a domain.
pub fn merchant(name: &str) -> String {
    // Legal forms of several words.
    static LEGAL_TAIL: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)[\s,]+(?:sp\.?\s*z\s*o\.?\s*o\.?|sp\.\s*[kj]\.?|s[do0]n\.?\s*[b8][hn][do0]\.?|[s$5]/[b8]|private\s+limited|s\.?\s*de\s+r\.?\s*l\.?)$")
            .unwrap()
    });
    // "MEGAMART CO. (M) BHD": a one-letter country tag before the legal form.
    static COUNTRY_TAG: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"\s*\([A-Z]\)$").unwrap()
    });
    let mut s = name.trim().to_string();
    loop {
        let before = s.clone();
        s = LEGAL_TAIL.replace(&s, "").trim_end_matches([',', ' ']).to_string();
        s = COUNTRY_TAG.replace(&s, "").to_string();
        for form in LEGAL {
            if let Some(stem) = strip_suffix_ascii_ci(&s, form)
                && (stem.ends_with(' ') || stem.ends_with(','))
                && stem.trim_end_matches([' ', ',']).len() >= 2
            {
                s = stem.trim_end_matches([' ', ',']).to_string();
                break;
            }
        }
        if s == before {
            break;
        }
    }
    s
}

/// ALL-CAPS names as a person writes them; mixed case stays as it is.
fn person_case(s: &str) -> String {
    let letters: Vec<char> = s.chars().filter(|c| c.is_alphabetic()).collect();
    let all_caps = !letters.is_empty() && letters.iter().all(|c| c.is_uppercase());
    if !all_caps {
        return s.to_string();
    }
    s.split(' ')
        .map(|word| {
            let plain: String = word.chars().filter(|c| c.is_alphabetic()).collect();
            // Acronyms and short brands stay: IKEA, H&M, CVS, BP.
            if plain.chars().count() <= 4 && s.split(' ').count() == 1
                || plain.chars().count() <= 2
                || word.contains('&')
            {
                return word.to_string();
            }
            // First letter up, the rest down ("JOE'S" is "Joe's"); a
            // hyphen or dot starts a new part ("COCA-COLA").
            let mut out = String::new();
            let mut start = true;
            for c in word.chars() {
                if start && c.is_alphabetic() {
                    out.extend(c.to_uppercase());
                    start = false;
                } else {
                    out.extend(c.to_lowercase());
                }
                if c == '-' || c == '.' {
                    start = true;
                }
            }
            // Legal forms keep their own capitals: `GmbH`, `LLC`.
            const FORMS: &[&str] = &["GmbH", "GbR", "LLC", "LLP", "PLC", "SARL", "SAS", "SRL", "OHG"];
            FORMS.iter().find(|f| f.eq_ignore_ascii_case(&out)).map_or(out, |f| (*f).to_string())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Letters and digits only, lowercase: for comparing a name with a domain.
pub(crate) fn squash(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

fn is_generic(name: &str) -> bool {
    let lower = name.trim().to_lowercase();
    lower.is_empty() || GENERIC.contains(&lower.as_str()) || lower.contains('@') || lower.starts_with("http")
}

/// Strips role words from a sender's display name.
fn sender_name(raw: &str) -> Option<String> {
    let mut name = raw.trim().to_string();
    if let Some((before, _)) = name.split_once(" via ") {
        name = before.to_string();
    }
    while let Some(stem) = SENDER_SUFFIXES.iter().find_map(|s| {
        strip_suffix_ascii_ci(&name, s).filter(|stem| stem.ends_with(' ') || stem.ends_with('-') || stem.ends_with('|'))
    }) {
        name = stem.trim_end_matches([' ', '-', '|', ',']).to_string();
    }
    let cleaned = clean(&name);
    (!is_generic(&cleaned) && cleaned.chars().any(char::is_alphabetic)).then_some(cleaned)
}

/// The registrable name of a sender's domain: `traderjoes` for
/// `email.traderjoes.com`.
fn domain_name(domain: &str) -> Option<String> {
    let parts: Vec<&str> = domain.split('.').filter(|p| !p.is_empty()).collect();
    if parts.len() < 2 {
        return None;
    }
    let second_level = ["co", "com", "org", "net", "ac", "gov"];
    let idx = if parts.len() >= 3 && second_level.contains(&parts[parts.len() - 2]) {
        parts.len() - 3
    } else {
        parts.len() - 2
    };
    let name = parts[idx];
    let mail_hosts =
        ["gmail", "googlemail", "outlook", "hotmail", "yahoo", "icloud", "me", "mail", "gmx", "web", "proton"];
    (!mail_hosts.contains(&name) && name.len() >= 2).then(|| name.to_string())
}

/// Words that make a top line something other than the merchant's name.
const NOT_NAME_WORDS: &[&str] = &[
    "tel",
    "phone",
    "fax",
    "street",
    "avenue",
    "ave",
    "road",
    "rd",
    "blvd",
    "suite",
    "st",
    "rue",
    "calle",
    "via",
    "order",
    "receipt",
    "invoice",
    "table",
    "server",
    "cashier",
    "date",
    "time",
    "welcome",
    "thank",
    "thanks",
    "guest",
    "check",
    "reg",
    "trans",
    "page",
    "copy",
    "dear",
    "hi",
    "hello",
    "hallo",
    "bonjour",
    "hola",
    "gracias",
    "merci",
    "danke",
    "dank",
    "bedankt",
    "grazie",
    "obrigado",
    "tack",
    "view",
    "browser",
    "email",
    "unsubscribe",
    "click",
    "online",
    "your",
    "please",
    "kassenbon",
    "rechnung",
    "facture",
    "abn",
    "gst",
    "tax",
    "vat",
    "subject",
    "sent",
    "from",
    "to",
];
/// Endings of street names in the languages read.
const STREET_ENDINGS: &[&str] =
    &["str", "straße", "strasse", "weg", "platz", "gasse", "laan", "straat", "gata", "vej", "allee"];

/// Whether a line could be a merchant's name at the top of a receipt. A
/// line starting with a number is an address, unless it carries a legal
/// form (`7 HARI MINIMART S/B`), which also allows a longer name (a branch
/// in brackets).
fn header_line(line: &str, legal: bool) -> bool {
    let letters = line.chars().filter(|c| c.is_alphabetic()).count();
    let digits = line.chars().filter(char::is_ascii_digit).count();
    let lower = line.to_lowercase();
    let words: Vec<&str> =
        lower.split(|c: char| !c.is_alphanumeric() && c != '\'' && c != '&').filter(|w| !w.is_empty()).collect();
    // `No. 12, Jalan ...`, `No 7 Lebuh ...`: a house number opens an address.
    static HOUSE_NO: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)^\s*no\s?[.:]?\s?\d").unwrap()
    });
    letters >= 2
        && digits * 2 <= letters
        && !HOUSE_NO.is_match(line)
        && line.chars().count() <= if legal { 60 } else { 40 }
        && (legal || !line.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        && !is_generic(line)
        && !crate::money::amounts(line).iter().any(crate::money::is_price)
        && crate::dates::dates_in(line, crate::dates::Order::MonthFirst, None).is_empty()
        && !words.iter().any(|w| {
            // `Order online` is no name; `Hetzner Online GmbH` is one.
            NOT_NAME_WORDS.contains(w) && !(legal && *w == "online")
                || STREET_ENDINGS.iter().any(|e| w.len() > e.len() + 2 && w.ends_with(e))
        })
        && !["www.", "http", "store #", "e-mail", "@"].iter().any(|w| lower.contains(w))
}

/// Legal forms that mark a line as a business's name; Malaysia's as OCR
/// also reads them (`SON BHD`, `$/B`).
static LEGAL_FORM: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern
    Regex::new(
        r"(?i)(?:^|\s)[$5]/[b8]\b|\b(?:s[do0]n\.?\s*[b8][hn][do0]|s/b|sb|bhd|berhad|ltd|limited|g[mn]bh|mbh|b\.\s?v|bv|inc|llc|l\.l\.c|pte|pvt|plc|sarl|s\.a\.s|sas|sp\.?\s?z\s?o\.?\s?o|sp\.\s?[kj]|s\.c|s\.a|ag|e\.k|corp|corporation|oy|ab|a/s|aps|s\.r\.l|srl|s\.l|n\.v|pty)\b\.?",
    )
    .unwrap()
});

/// Where the legal form `form` of `text` ends, with the forms that follow
/// it: `Pvt. Ltd.`, `GmbH & Co. KG`.
fn legal_form_end(text: &str, form: &regex::Match<'_>) -> usize {
    static MORE: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::unwrap_used)] // constant pattern
        Regex::new(r"(?i)^[\s,&]*(?:co\.?\s*)?(?:kg|ohg|ltd|limited|bhd|berhad|inc|llc|plc|corp|corporation)\b\.?")
            .unwrap()
    });
    let mut end = form.end();
    while let Some(m) = MORE.find(&text[end..]).filter(|m| !m.is_empty()) {
        end += m.end();
    }
    end
}

/// The first legal form in `text` written with a capital: `ab`, `ag` or
/// `sa` in lower case are words of a sentence (`... in der Filiale ab.`).
fn legal_form(text: &str) -> Option<regex::Match<'_>> {
    LEGAL_FORM.find_iter(text).find(|m| m.as_str().chars().any(char::is_uppercase))
}

/// Words of a business's name: a trade, a kind of shop.
const TRADE_WORDS: &[&str] = &[
    "enterprise",
    "enterprises",
    "trading",
    "restaurant",
    "restoran",
    "cafe",
    "kedai",
    "store",
    "stores",
    "mart",
    "market",
    "markt",
    "supermarket",
    "hardware",
    "supply",
    "supplies",
    "machinery",
    "engineering",
    "bakery",
    "pharmacy",
    "apotheke",
    "station",
    "hotel",
    "shop",
    "stationery",
    "book",
    "books",
    "bookstore",
    "services",
    "service",
    "electrical",
    "industries",
    "holdings",
    "marketing",
    "motor",
    "motors",
    "kitchen",
    "food",
    "foods",
    "makan",
    "makanan",
    "minuman",
    "runcit",
    "kopi",
    "ubat",
    "farmasi",
    "klinik",
    "clinic",
    "minimart",
    "bakeries",
    "confectionery",
    "florist",
    "optical",
    "furniture",
    "electronics",
    "textile",
    "tailor",
    "laundry",
    "printing",
    "studio",
    "salon",
    "workshop",
    "tyre",
    "tyres",
];

/// Words of an address, a till or a heading: not the business's name.
const NOT_LETTERHEAD: &[&str] = &[
    "item",
    "items",
    "qty",
    "quantity",
    "description",
    "designation",
    "montant",
    "prix",
    "einzelpreis",
    "wartosc",
    "omschrijving",
    "beschreibung",
    "bezeichnung",
    "artikel",
    "nazwa",
    "aantal",
    "menge",
    "ilosc",
    "qte",
    "libelle",
    "product",
    "products",
    "lot",
    "bandar",
    "kampung",
    "jalan",
    "jln",
    "taman",
    "tmn",
    "lorong",
    "lebuh",
    "seksyen",
    "floor",
    "level",
    "tingkat",
    "blok",
    "block",
    "unit",
    "kawasan",
    "persiaran",
    "cashier",
    "kasir",
    "operator",
    "staff",
    "served",
    "counter",
    "terminal",
    "pos",
    "account",
    "number",
    "invoices",
    "bill",
    "statement",
    "summary",
    "details",
    "customer",
    "original",
    "duplicate",
    "simplified",
    "reg",
    "registration",
    "company",
    "gstin",
    "nip",
    "kvk",
    "btw",
    "siret",
    "ust",
    "mwst",
    "iban",
    "bic",
    "swift",
    "bank",
    "opening",
    "hours",
    "open",
    "offnungszeiten",
    "geoffnet",
    "eur",
    "usd",
    "gbp",
];

/// Labels after which the next lines name the customer, not the seller.
const BILL_TO: &[&str] = &[
    "bill to",
    "billed to",
    "invoice to",
    "invoiced to",
    "ship to",
    "shipped to",
    "sold to",
    "deliver to",
    "customer",
    "client",
    "buyer",
    "nabywca",
    "rechnungsempfanger",
    "rechnung an",
    "factuur aan",
    "fattura a",
    "bill-to",
    "rechnungsadresse",
    "lieferadresse",
    "kunde",
    "klant",
    "afnemer",
    "factuuradres",
    "facture a",
    "adresse de facturation",
    "adresse de livraison",
    "delivery address",
    "kaufer",
    "leistungsempfanger",
    "warenempfanger",
    "acheteur",
    "destinataire",
    "koper",
    "odbiorca",
];

/// Whether a cell holds a bill-to label: as OCR writes it where it opens
/// the cell, spelled right further in (`Details of Receiver (Billed to)`),
/// and either alone (`Bill To`) or ending a label before a colon
/// (`Customer Name: ...`). `Customer Copy` over a receipt names no
/// customer, and a word of an address one letter from a label (`Jln
/// Klang`, not `klant`) labels nothing.
fn is_bill_to(cell: &str, w: &[String]) -> bool {
    let label = cell.split_once(':').map(|(l, _)| crate::labels::words(l));
    BILL_TO.iter().any(|p| {
        crate::labels::find_phrase(w, p).is_some_and(|(at, len)| {
            let ends_cell = at + len == w.len();
            let labels = label.as_ref().is_some_and(|l| l.len() <= at + len + 2 && crate::labels::has_phrase(l, p));
            (at == 0 || w[at..at + len].join(" ") == *p) && (ends_cell || labels)
        })
    })
}

/// Words that label the customer only as a cell's first word before a
/// colon (`Aan:`, `To:`); elsewhere they are words of a sentence or a name.
const BILL_TO_SHORT: &[&str] = &["to", "aan", "an", "dla", "a", "à"];

/// Labels of a field that names the seller (`Property: Lotus Inn`): only
/// before a colon, since they are also words of names (`Hotel Sunview`).
const SELLER_FIELDS: &[&str] = &[
    "property",
    "hotel",
    "hotel name",
    "merchant",
    "merchant name",
    "company name",
    "business name",
    "store name",
    "outlet",
];

/// Words in a sentence before the name of whoever issued the document.
static ISSUED_BY: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern
    Regex::new(r"(?i)\b(?:issued|sold|operated|provided|billed|supplied|invoiced)\s+by\s+|\bausgestellt\s+von\s+|\bémise?\s+par\s+|\bwystawion[ay]\s+przez\s+").unwrap()
});

/// Labels after which the next line names the seller.
const SELLER: &[&str] = &[
    "remit payment to",
    "payable to",
    "seller",
    "pay to",
    "payee",
    "remit to",
    "sprzedawca",
    "supplier",
    "vendor",
    "verkaufer",
    "leverancier",
    "fournisseur",
    "vendeur",
    "from",
    "issued by",
    "sold by",
];

/// Words of a footer line that names whoever made the till, its software
/// or its card terminal (`Powered by Toast, Inc.`, `Ingenico Payment
/// Services GmbH`), or the seller's bank, not the seller.
const NOT_SELLER: &[&str] =
    &["powered", "software", "terminal", "payment", "payments", "processing", "processor", "sparkasse", "acquirer"];

/// Words that make the label after them someone else's: the seller's tax
/// representative (`Steuerbevollmächtigter des Verkäufers`), bank or agent.
const OF: &[&str] = &["des", "der", "of", "du", "de", "van", "del", "dello", "della"];

/// What of the seller a label before `OF` can give and still name it
/// (`Coordonnées du vendeur`, `Name of supplier`).
const SELLERS_OWN: &[&str] = &[
    "name",
    "details",
    "address",
    "nom",
    "coordonnees",
    "adresse",
    "angaben",
    "anschrift",
    "daten",
    "naam",
    "gegevens",
];

/// Whether a cell's words are a label after which the seller is named:
/// before a colon, or alone in their cell (`Seller   Buyer`); a name
/// (`Global Supplies Ltd.`) is no label.
fn is_seller_label(w: &[String], colon: bool) -> bool {
    w.len() <= 3
        && SELLER.iter().any(|p| {
            crate::labels::find_phrase(w, p).is_some_and(|(at, len)| {
                let of = at >= 1 && OF.contains(&w[at - 1].as_str());
                let own = at >= 2 && SELLERS_OWN.contains(&w[at - 2].as_str());
                (colon || len == w.len()) && (!of || own)
            })
        })
}

/// Whether a line gives only a number and what it is (`Nummer : 549910`,
/// `Globale Nummer: 4000001123452 (GTIN)`, `GLN 4333741000005`).
fn id_line(line: &str) -> bool {
    let (label, value) = match line.split_once(':') {
        Some(parts) => parts,
        // A code before the number (`GLN`, `DUNS`) is its label.
        None => line
            .split_once(' ')
            .filter(|(code, _)| (2..=5).contains(&code.len()) && code.chars().all(|c| c.is_ascii_uppercase()))
            .unwrap_or(("", line)),
    };
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let letters = value.chars().filter(|c| c.is_alphabetic()).count();
    !label.is_empty()
        && label.split_whitespace().count() <= 3
        && digits >= 4
        && letters <= 6
        && legal_form(line).is_none()
}

/// Whether a cell's words are a field label that names the seller.
fn is_seller_field(w: &[String]) -> bool {
    SELLER_FIELDS.contains(&w.join(" ").as_str())
}

/// Whether most of a line's words look like words, not OCR noise from a
/// logo or a barcode (`LoDk`, `Fad Hunde nell`, `Poi)`).
fn wordlike(line: &str) -> bool {
    // Numbers are neither words nor noise (`7 HARI MINIMART`), nor is a
    // one-letter `and` (`Wiśniewski i Wspólnicy`, `Hijos y Cía`).
    let tokens: Vec<&str> = line
        .split_whitespace()
        .filter(|t| !t.chars().all(|c| c.is_ascii_digit() || "-.,".contains(c)))
        .filter(|t| !["i", "y", "e", "u"].contains(t))
        .collect();
    let good = tokens
        .iter()
        .filter(|t| {
            let letters: Vec<char> = t.chars().filter(|c| c.is_alphabetic()).collect();
            let vowel = letters.iter().any(|c| "aeiouyäöüáéíóúàèìòù".contains(c.to_ascii_lowercase()));
            // Case that changes back and forth inside a word is noise,
            // unless it joins capitalised words (`PayPal`, not `LoDk`).
            let flips = letters.windows(2).any(|w| w[0].is_lowercase() && w[1].is_uppercase());
            let joined: String = letters.iter().collect();
            // A brand may end in capitals or start with one small letter
            // (`NuageFR`, `iCloud`, `eBay`).
            let parts = crate::labels::split_camel(&joined);
            let case_ok = !flips
                || parts.iter().enumerate().all(|(i, p)| {
                    let n = p.chars().count();
                    n >= 3 && p.chars().skip(1).all(char::is_lowercase)
                        || i + 1 == parts.len() && (2..=3).contains(&n) && p.chars().all(char::is_uppercase)
                        || i == 0 && n == 1 && p.chars().all(char::is_lowercase)
                });
            // `MURN!`: OCR's `!` or `|` for an `I` in a word of capitals.
            let caps = letters.len() >= 3 && letters.iter().all(|c| c.is_uppercase());
            let junk = t
                .chars()
                .filter(|c| !(c.is_alphanumeric() || "&'.,-/()".contains(*c) || caps && "!|".contains(*c)))
                .count();
            let acronym = (2..=4).contains(&letters.len()) && letters.iter().all(|c| c.is_uppercase());
            // A country or branch tag inside a legal name: `(M)`, `(KL)`.
            let tag = t.starts_with('(')
                && t.ends_with(')')
                && (1..=4).contains(&letters.len())
                && letters.iter().all(|c| c.is_uppercase())
                && letters.len() + 2 == t.chars().count();
            (letters.len() >= 2 && (vowel || acronym) && case_ok && junk == 0) || tag || matches!(**t, "&" | "-")
        })
        .count();
    !tokens.is_empty() && good * 10 >= tokens.len() * 7
}

/// The business's name at the head of a receipt or invoice: among the first
/// lines that can be a name, one with a legal form or a trade word, else the
/// first; skipping a bill-to block and lines that are OCR noise.
fn letterhead(lines: &[&str], text: &str) -> Option<(usize, String)> {
    let mut best: Option<(i32, usize, String)> = None;
    // A bill-to block to skip: the line it ends before, its columns (a PDF
    // line keeps its columns three spaces apart: the issuer on the left,
    // the customer on the right, or the other way round when a `Pay to:`
    // stands beside it), and the line it was found on.
    let mut skip: Option<(usize, usize, usize, usize)> = None;
    let mut seller_at = None;
    let mut first_price = None;
    // The names of the web and email domains the document prints: a line
    // above the prices whose name a domain bears out (`Marktkauf Lehr`
    // beside `www.marktkauf-lehr.de`) is the business, over OCR's reading
    // of a logo at the top.
    let domains: Vec<String> = domain_names(text, 50).map(|d| squash(&d)).collect();
    let borne_out = |name: &str| {
        let first = crate::labels::words(name).into_iter().find(|w| w.chars().count() >= 4);
        first.is_some_and(|w| domains.iter().any(|d| d.starts_with(&w)))
    };
    // Past the head, only a name with a legal form (a chain's footer names
    // its company) or one a domain bears out counts; the cap bounds the
    // work on a long document.
    for (i, &line) in lines.iter().enumerate().take(200) {
        // `R@SSMANN`, `S@ YEONG`: OCR's `@` for a round `O` in a name of
        // capitals (an address has small letters), at a word's edge too;
        // `@` between spaces (`2 @ 4.50`) stays.
        static AT_IN_CAPS: LazyLock<Regex> = LazyLock::new(|| {
            #[allow(clippy::unwrap_used)] // constant pattern
            Regex::new(r"(\p{Lu})@(\p{Lu}|\s|$)|(^|\s)@(\p{Lu})").unwrap()
        });
        let fixed;
        let line = if line.contains('@') && !line.chars().any(char::is_lowercase) {
            fixed = AT_IN_CAPS.replace_all(line, "${1}${3}O${2}${4}");
            &*fixed
        } else {
            line
        };
        // The name stands above the first price; past it, the lines are
        // items, totals and payment.
        if first_price.is_none() && crate::money::amounts(line).iter().any(crate::money::is_price) {
            first_price = Some(i);
        }
        // A seller's numbers may come between its label and its name
        // (`Verkäufer:` / `Nummer : 549910` / `Lieferant GmbH`).
        if seller_at == Some(i) && id_line(line) {
            seller_at = Some(i + 1);
            continue;
        }
        // html2text marks headings and links (`# Name`, `[Name]`, `**Name**`).
        let cells: Vec<&str> = line
            .split("   ")
            .map(|c| c.trim().trim_matches(|c: char| "#*>[]|_".contains(c) || c == ' '))
            .filter(|c| !c.is_empty())
            .collect();
        // A bill-to block is a name and an address; a date in its column
        // ends it (one beside it, `Invoice Date ...`, does not).
        let dated = |c: &&str| !crate::dates::dates_in(c, crate::dates::Order::DayFirst, None).is_empty();
        if skip.is_some_and(|(until, from, to, _)| {
            i >= until || cells.iter().enumerate().any(|(col, c)| col >= from && col < to && dated(c))
        }) {
            skip = None;
        }
        for (col, &cell) in cells.iter().enumerate() {
            // `Sold By: Acme Retail Pvt Ltd`: the seller on its label's line.
            let after_label = cell.split_once(':').filter(|(label, rest)| {
                let w = crate::labels::words(label);
                !rest.trim().is_empty() && (is_seller_label(&w, true) || is_seller_field(&w))
            });
            let cell = after_label.map_or(cell, |(_, rest)| rest.trim());
            let w = crate::labels::words(cell);
            let seller_label = is_seller_label(&w, cell.ends_with(':')) || cell.ends_with(':') && is_seller_field(&w);
            // The seller's label ends a bill-to block above it, or bounds
            // one beside it.
            if (seller_label || after_label.is_some())
                && let Some((_, from, to, found)) = &mut skip
            {
                if *found < i {
                    skip = None;
                } else if col > *from {
                    *to = (*to).min(col);
                }
            }
            if seller_label {
                seller_at = Some(i + 1);
                continue;
            }
            if is_bill_to(cell, &w)
                || cell
                    .split_once(':')
                    .is_some_and(|(label, _)| BILL_TO_SHORT.contains(&label.trim().to_lowercase().as_str()))
            {
                // A label with cells beside it (`Bill To   Invoice # 17`)
                // heads its own column, unless the name stands next to it
                // (`Rechnung an   Beispiel AG`).
                let beside = cells.get(col + 1).is_some_and(|next| cell.ends_with(':') || name_line(next));
                let to = match (beside, col + 1 < cells.len()) {
                    (true, _) => col + 2,
                    (false, true) => col + 1,
                    (false, false) => usize::MAX,
                };
                skip = Some((i + 4, col, to, i));
                continue;
            }
            if skip.is_some_and(|(_, from, to, _)| col >= from && col < to) {
                continue;
            }
            let legal = legal_form(cell).is_some();
            let seller = seller_at == Some(i) || after_label.is_some();
            // Above the first price only: a payment terminal's slip below
            // names its provider and its website.
            let borne = !domains.is_empty() && first_price.is_none() && borne_out(cell);
            // Past the head, only a name with a legal form (an invoice's
            // footer, not its bank) or one a domain bears out.
            let head = i < 10 && first_price.is_none_or(|p| i < p);
            if !head
                && !seller
                && !borne
                && (!legal || w.iter().any(|x| x.contains("bank")) || crate::labels::has_word(&w, NOT_SELLER))
            {
                continue;
            }
            let form = legal_form(cell);
            // `This invoice is issued by Sea Breeze Pvt Ltd ...`: the name
            // starts after the words that say who issued it.
            let by = form.and_then(|m| ISSUED_BY.find_iter(&cell[..m.start()]).last()).map_or(0, |b| b.end());
            let seller = seller || by > 0;
            let name = form.map_or(cell, |m| cell[by..legal_form_end(cell, &m)].trim());
            let stem = form.map_or(cell, |m| cell[by..m.start()].trim());
            // A legal form with no name before it (`(KL) SDN BHD`) ends a
            // name begun on the line above; further down (`SAS au capital
            // de ...`) it names no one.
            let form_only = form.is_some() && !has_name_word(stem);
            let name = match (form_only, i.checked_sub(1).map(|p| lines[p].trim())) {
                (false, _) => name.to_string(),
                (true, Some(above)) if head && name_line(above) => format!("{above} {name}"),
                (true, _) => continue,
            };
            // Words after a legal form (`SAS - 10 rue ... - SIRET ...`) are
            // the address or registry that follows the name.
            // A branch in brackets (`ABC (TAMAN DAYA) SDN BHD`) is part of
            // the name, however much it reads like an address.
            let name_words = if form.is_some() { crate::labels::words(&outside_brackets(&name)) } else { w.clone() };
            if !header_line(&name, legal)
                || !wordlike(if stem.is_empty() || form_only { &name } else { stem })
                || not_letterhead(&name_words)
            {
                continue;
            }
            let trade = crate::labels::has_word(&w, TRADE_WORDS);
            // A name at the head ranks by its place; one with a legal form
            // further down (an invoice's or a chain's footer) ranks above a
            // head line without one, below a head line with one.
            let place = if head { (i as i32) / 4 } else { 1 };
            let score = 5 * i32::from(seller) + 3 * i32::from(legal) + 3 * i32::from(borne) + i32::from(trade)
                - place
                - col as i32;
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, i, name));
            }
        }
    }
    let (_, i, mut name) = best?;
    // Words of a trade alone are half a name. `SYARIKAT PERNIAGAAN` over
    // `HUP SENG`: an opening the next line ends; `TAN CHAY YEE` over
    // `BOOKS & STATIONERY`: the owner's name, then the trade; `CITY TOOLS`
    // over `SUPPLY SDN BHD`: a name that ends with its legal form.
    let form = legal_form(&name).map(|m| m.start());
    let w = crate::labels::words(&name[..form.unwrap_or(name.len())]);
    let trade_only = !w.is_empty()
        && w.iter().all(|x| {
            TRADE_WORDS.contains(&x.as_str())
                || NAME_OPENERS.contains(&x.as_str())
                || ["&", "and", "dan"].contains(&x.as_str())
        });
    let opens = w.iter().any(|x| NAME_OPENERS.contains(&x.as_str()));
    let plain = |l: &str| name_line(l) && legal_form(l).is_none();
    if trade_only
        && !opens
        && let Some(above) = i.checked_sub(1).map(|p| lines[p].trim())
        && plain(above)
    {
        return Some((i - 1, format!("{above} {name}")));
    }
    if trade_only
        && form.is_none()
        && let Some(below) = lines.get(i + 1).map(|l| l.trim())
        && plain(below)
    {
        name = format!("{name} {below}");
    }
    Some((i, name))
}

/// Words that open a business's name without naming it (Malay "company",
/// "business", "centre").
const NAME_OPENERS: &[&str] = &["syarikat", "perniagaan", "pusat", "kilang", "toko", "warung", "gedung"];

/// Whether `text` holds a word of three letters or more outside brackets:
/// `(KL)` and `(M)` are tags, not names; `D.I.Y.` is a word.
fn has_name_word(text: &str) -> bool {
    let mut run = 0;
    for c in outside_brackets(text).chars() {
        match c {
            c if c.is_alphabetic() => {
                run += 1;
                if run >= 3 {
                    return true;
                }
            }
            '.' if run > 0 => {}
            _ => run = 0,
        }
    }
    false
}

/// `text` with what stands in round brackets, brackets and all, read as a
/// space: `ABC (TAMAN DAYA) SDN BHD` is `ABC   SDN BHD`.
fn outside_brackets(text: &str) -> String {
    let mut depth = 0u32;
    text.chars()
        .map(|c| {
            let inside = depth > 0 || c == '(';
            match c {
                '(' => depth += 1,
                ')' => depth = depth.saturating_sub(1),
                _ => {}
            }
            if inside || c == ')' { ' ' } else { c }
        })
        .collect()
}

/// Column headings that are also close in spelling to words of names
/// (`amount`, `mount`; `price`, `prince`): matched only as written.
const HEADINGS: &[&str] = &["amount", "price", "rate", "particulars", "charges"];

/// Whether a line's words name an address, a till or a heading (OCR's
/// look-alike letters forgiven).
fn not_letterhead(words: &[String]) -> bool {
    words
        .iter()
        .any(|x| NOT_LETTERHEAD.iter().any(|n| crate::labels::lookalike(x, n)) || HEADINGS.contains(&x.as_str()))
}

/// Whether a line next to a chosen name can be the rest of it.
fn name_line(line: &str) -> bool {
    header_line(line, false) && wordlike(line) && !not_letterhead(&crate::labels::words(line))
}

/// The words of `name` that spell the sender's domain, when only some of
/// them do: "Carrefour" of a sentence ending in it, or "Marriott" of a
/// sender called "Marriott Bonvoy" whose receipt says only "Marriott".
fn narrowed_to_domain(name: &str, domain: &str, lower_body: &str) -> Option<String> {
    let words: Vec<&str> = name.split_whitespace().collect();
    // A sentence ("Merci de votre visite chez Carrefour") is cut. A name of
    // capitalised words ("Whole Foods Market") is the name, unless the
    // receipt itself never writes it whole but does write the shorter one.
    let sentence = words.iter().any(|w| w.chars().next().is_some_and(char::is_lowercase));
    let written_whole = lower_body.contains(&name.to_lowercase());
    if words.len() < 2 {
        return None;
    }
    for len in 1..words.len() {
        for start in 0..=words.len() - len {
            let part = words[start..start + len].join(" ");
            let part = part.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’');
            if squash(part) == domain && (sentence || !written_whole && contains_word(lower_body, &part.to_lowercase()))
            {
                return Some(part.to_string());
            }
        }
    }
    None
}

/// Finds the vendor: named by the sender, the subject or the body, or the
/// top line of a receipt; a candidate that matches the sender's domain wins.
pub fn find(lines: &[&str], doc: &Doc<'_>) -> Option<Field<String>> {
    let domain = doc.from_address.rsplit_once('@').and_then(|(_, d)| domain_name(d));
    let mut candidates: Vec<(String, f32, String)> = Vec::new();
    if let Some(name) = sender_name(doc.from_name) {
        candidates.push((name, 0.8, "the sender's name".into()));
    }
    for re in SUBJECT_PATTERNS.iter() {
        if let Some(c) = re.captures(doc.subject).and_then(|c| c.get(1)) {
            let name = clean(c.as_str());
            if !is_generic(&name) && name.chars().count() <= 40 {
                candidates.push((name, 0.75, format!("the subject {:?}", doc.subject)));
            }
        }
    }
    for (i, line) in lines.iter().enumerate().take(60) {
        for re in BODY_PATTERNS.iter() {
            if let Some(c) = re.captures(line).and_then(|c| c.get(1)) {
                let name = clean(c.as_str());
                if !is_generic(&name) && name.chars().count() <= 40 && name.chars().any(char::is_alphabetic) {
                    candidates.push((name, 0.7, format!("line {}: {line:?}", i + 1)));
                }
            }
        }
    }
    if let Some((i, line)) = letterhead(lines, doc.text).as_ref().map(|(i, l)| (*i, l.as_str())) {
        // html2text writes a link or image as `[text]`.
        let name = clean(line.trim_matches(|c| c == '[' || c == ']'));
        if !is_generic(&name) {
            let conf = if doc.from_address.is_empty() { 0.75 } else { 0.55 };
            candidates.push((name, conf, format!("line {}: {line:?}", i + 1)));
        }
    }
    // A candidate that agrees with the sender's domain is surely right;
    // one that holds the domain's name among other words is cut to it.
    if let Some(d) = &domain {
        let squashed = squash(d);
        let lower_body = doc.text.to_lowercase();
        for (name, conf, _) in candidates.iter_mut() {
            if let Some(narrow) = narrowed_to_domain(name, &squashed, &lower_body) {
                *name = narrow;
            }
            let n = squash(&merchant(name));
            if n == squashed {
                *conf += 0.25;
            } else if n.len() >= 3 && (squashed.contains(&n) || n.contains(&squashed)) {
                *conf += 0.2;
            }
        }
    }
    let best = candidates
        .into_iter()
        .enumerate()
        .max_by(|(ia, a), (ib, b)| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then(ib.cmp(ia)));
    match (best, domain) {
        (Some((_, (name, conf, source))), _) => Some(Field { value: name, confidence: conf.min(0.99), source }),
        (None, Some(d)) => Some(Field { value: title(&d), confidence: 0.4, source: "the sender's domain".into() }),
        (None, None) => text_domain(doc.text).map(|d| Field {
            value: title(&d),
            confidence: 0.35,
            source: "an address or link in the text".into(),
        }),
    }
}

/// `name` with its first letter up: a domain's name as a vendor.
fn title(name: &str) -> String {
    let mut name = name.to_string();
    if let Some(first) = name.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    name
}

/// The registrable names of the domains of the first `hosts` email
/// addresses and links the text prints, in the order they stand.
fn domain_names(text: &str, hosts: usize) -> impl Iterator<Item = String> + '_ {
    crate::locale::hosts(text).take(hosts).filter_map(|h| domain_name(&h))
}

/// The name of the domain the text's email addresses and links name most
/// (`support@streamly.example`, `www.streamly.example`), for a document
/// with no sender and no name at its head.
fn text_domain(text: &str) -> Option<String> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for name in domain_names(text, 200) {
        match counts.iter_mut().find(|(n, _)| *n == name) {
            Some(e) => e.1 += 1,
            None => counts.push((name, 1)),
        }
    }
    // The first named wins a tie: a letterhead's address comes first.
    counts.into_iter().rev().max_by_key(|(_, n)| *n).map(|(name, _)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning() {
        assert_eq!(clean("TRADER JOE'S #552"), "Trader Joe's");
        assert_eq!(clean("Acme Widgets, Inc."), "Acme Widgets, Inc.");
        assert_eq!(clean("MÜLLER GMBH"), "Müller GmbH");
        assert_eq!(clean("Sonne Drogeriemarkt GnbH"), "Sonne Drogeriemarkt GmbH");
        assert_eq!(clean("IKEA"), "IKEA");
        assert_eq!(clean("Amazon.com"), "Amazon");
        assert_eq!(clean("Blue Bottle Coffee - Hayes Valley"), "Blue Bottle Coffee");
        assert_eq!(clean("‘SRI PINANG BAKERY:"), "Sri Pinang Bakery");
        assert_eq!(clean("MR. D.I.Y. (M) SDN BHD (860671-D)"), "MR. D.I.Y. (M) Sdn Bhd");
        // OCR's misreadings of a legal form are mended, not kept.
        assert_eq!(clean("BKL SAFETY SUPPLY SON BHD"), "Bkl Safety Supply Sdn Bhd");
        assert_eq!(clean("BKL SAFETY SUPPLY SDN BND"), "Bkl Safety Supply Sdn Bhd");
        assert_eq!(clean("Bkl Safety Supply Sdn 8hd"), "Bkl Safety Supply Sdn Bhd");
        assert_eq!(clean("7 HARI MINIMART $/B"), "7 Hari Minimart S/B");
        assert_eq!(clean("PERNIAGAAN CAHAYA MURN!"), "Perniagaan Cahaya Murni");
        assert_eq!(sender_name("Uber Receipts").as_deref(), Some("Uber"));
        assert_eq!(sender_name("no-reply"), None);
        // Lowercasing changes byte lengths here; nothing may slice wrongly.
        assert_eq!(clean("İSTANBUL KEBAP LTD"), "İstanbul Kebap Ltd");
        assert_eq!(merchant("İstanbul Kebap Ltd"), "İstanbul Kebap");
        assert_eq!(merchant("Megamart Co. (M) Bhd"), "Megamart");
        assert_eq!(merchant("Mynews Retail SB"), "Mynews Retail");
        assert_eq!(merchant("Bkl Safety Supply Sdn Bhd"), "Bkl Safety Supply");
        assert_eq!(merchant("Acme Widgets, Inc."), "Acme Widgets");
        assert_eq!(merchant("Serwery24 Sp. z o.o."), "Serwery24");
        // A person's choice for one name of a business holds for its others.
        assert_eq!(
            crate::store::vendor_key("Sinar Jaya Hardware Sdn Bhd"),
            crate::store::vendor_key("SINAR JAYA HARDWARE")
        );
        assert_eq!(sender_name("ẞTORE İNC Receipts").as_deref(), Some("ẞtore İnc"));
    }

    #[test]
    fn a_programme_in_the_sender_name_is_dropped_when_the_receipt_says_less() {
        let text = "MARRIOTT\nRoom 2 nights 300.00\nTotal $300.00\nThanks for staying at Marriott.";
        let doc =
            Doc { text, from_name: "Marriott Bonvoy", from_address: "no-reply@marriott.com", ..Default::default() };
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(find(&lines, &doc).map(|f| f.value).as_deref(), Some("Marriott"));
        let text = "Whole Foods Market\nMilk 3.00\nTotal $3.00";
        let doc = Doc {
            text,
            from_name: "Whole Foods Market",
            from_address: "receipts@wholefoods.com",
            ..Default::default()
        };
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(find(&lines, &doc).map(|f| f.value).as_deref(), Some("Whole Foods Market"));
    }

    #[test]
    fn from_email() {
        let doc = Doc {
            text: "Thanks for shopping with us!\nTotal $12.00",
            from_name: "Receipts",
            from_address: "no-reply@traderjoes.com",
            subject: "Your receipt from Trader Joe's",
            email_date: None,
            latest: None,
            ocr: false,
        };
        let lines: Vec<&str> = doc.text.lines().collect();
        assert_eq!(find(&lines, &doc).map(|f| f.value).as_deref(), Some("Trader Joe's"));
    }
}
