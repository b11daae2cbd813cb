//! A receipt corpus made at test time, for the Finance extension: emails
//! (plain, HTML-only, quoted-printable, base64, ISO-8859-1, receipts only in
//! attachments), an mbox, PDFs with and without a text layer, scanned
//! images (PNG, JPEG, TIFF, WebP) with noise and rotation, HTML and text
//! files; vendors from eight countries, many date styles, currencies and
//! total labels; and emails that are not receipts.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;

use base64::Engine;
use image::GrayImage;

use super::docs::{self, Print, Row};

/// What a receipt must be read as.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub vendor: String,
    pub date: String,
    pub total: f64,
    pub currency: String,
    pub category: String,
}

/// One generated document: where it goes, and what it holds (`None`: not a
/// receipt, must not be listed).
pub struct Case {
    pub file: String,
    pub bytes: Vec<u8>,
    /// For an mbox, one per message, in order; else one.
    pub expected: Vec<Option<Expected>>,
    /// The Message-IDs of the messages, when they are emails.
    pub message_ids: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Country {
    Us,
    Uk,
    De,
    Fr,
    Es,
    Nl,
    Ca,
    Au,
}

struct Vendor {
    name: &'static str,
    /// How the sender signs its mail: a display name, or "" for a bare address.
    sender: &'static str,
    domain: &'static str,
    country: Country,
    category: &'static str,
    items: &'static [&'static str],
    address: &'static str,
}

const fn v(
    name: &'static str,
    sender: &'static str,
    domain: &'static str,
    country: Country,
    category: &'static str,
    items: &'static [&'static str],
    address: &'static str,
) -> Vendor {
    Vendor { name, sender, domain, country, category, items, address }
}

use Country::*;

const VENDORS: &[Vendor] = &[
    v(
        "Trader Joe's",
        "Trader Joe's",
        "traderjoes.com",
        Us,
        "groceries",
        &["Bananas", "Greek Yogurt", "Sourdough Bread", "Frozen Mandarin Chicken"],
        "142 Main St, Brooklyn NY 11201",
    ),
    v(
        "Whole Foods Market",
        "Whole Foods Market",
        "wholefoods.com",
        Us,
        "groceries",
        &["Organic Milk", "Avocados 4ct", "Salmon Fillet"],
        "1020 Pine St, Seattle WA 98101",
    ),
    v(
        "Blue Bottle Coffee",
        "Blue Bottle Coffee",
        "bluebottlecoffee.com",
        Us,
        "dining",
        &["Latte", "Croissant", "Cold Brew"],
        "66 Mint St, San Francisco CA 94103",
    ),
    v(
        "Chipotle",
        "Chipotle",
        "chipotle.com",
        Us,
        "dining",
        &["Burrito Bowl", "Chips & Guacamole", "Lemonade"],
        "455 Market St, San Francisco CA 94105",
    ),
    v(
        "Lyft",
        "Lyft Receipts",
        "lyft.com",
        Us,
        "transport",
        &["Ride fare", "Service fee"],
        "185 Berry St, San Francisco CA 94107",
    ),
    v("Shell", "", "shell.com", Us, "transport", &["Unleaded 12.4 gal", "Car wash"], "900 Route 9, Albany NY 12205"),
    v(
        "Delta Air Lines",
        "Delta Air Lines",
        "delta.com",
        Us,
        "travel",
        &["Airfare ATL-BOS", "Taxes and carrier fees"],
        "1030 Delta Blvd, Atlanta GA 30354",
    ),
    v(
        "Marriott",
        "Marriott Bonvoy",
        "marriott.com",
        Us,
        "travel",
        &["Room 2 nights", "Occupancy tax"],
        "10400 Fernwood Rd, Bethesda MD 20817",
    ),
    v(
        "GitHub",
        "GitHub",
        "github.com",
        Us,
        "software",
        &["GitHub Team, 5 seats", "Actions minutes"],
        "88 Colin P Kelly Jr St, San Francisco CA 94107",
    ),
    v(
        "DigitalOcean",
        "DigitalOcean Billing",
        "digitalocean.com",
        Us,
        "software",
        &["Droplets", "Spaces storage", "Backups"],
        "101 Ave of the Americas, New York NY 10013",
    ),
    v(
        "Xfinity",
        "Xfinity",
        "xfinity.com",
        Us,
        "utilities",
        &["Internet 300 Mbps", "Modem rental"],
        "1701 JFK Blvd, Philadelphia PA 19103",
    ),
    v(
        "Staples",
        "Staples",
        "staples.com",
        Us,
        "office",
        &["Printer paper 10 ream", "Ballpoint pens", "Desk organizer"],
        "500 Staples Dr, Framingham MA 01702",
    ),
    v(
        "CVS Pharmacy",
        "CVS Pharmacy",
        "cvs.com",
        Us,
        "health",
        &["Prescription copay", "Vitamin D", "Bandages"],
        "1 CVS Dr, Woonsocket RI 02895",
    ),
    v(
        "AMC Theatres",
        "AMC Theatres",
        "amctheatres.com",
        Us,
        "entertainment",
        &["Adult ticket x2", "Popcorn large"],
        "11500 Ash St, Leawood KS 66211",
    ),
    v(
        "Spotify",
        "Spotify",
        "spotify.com",
        Us,
        "entertainment",
        &["Premium Family, 1 month"],
        "4 World Trade Center, New York NY 10007",
    ),
    v(
        "Tesco",
        "Tesco",
        "tesco.com",
        Uk,
        "groceries",
        &["Semi Skimmed Milk 2L", "Free Range Eggs", "Cheddar 400g", "Apples"],
        "Tesco House, Welwyn Garden City AL7 1GA",
    ),
    v(
        "Pret A Manger",
        "Pret A Manger",
        "pret.co.uk",
        Uk,
        "dining",
        &["Flat White", "Chicken Caesar Baguette"],
        "75 Verde, 10 Bressenden Pl, London SW1E 5DH",
    ),
    v(
        "TfL",
        "TfL",
        "tfl.gov.uk",
        Uk,
        "transport",
        &["Contactless journeys", "Daily cap"],
        "5 Endeavour Square, London E20 1JN",
    ),
    v(
        "Trainline",
        "Trainline",
        "thetrainline.com",
        Uk,
        "travel",
        &["London Kings Cross to Edinburgh", "Booking fee"],
        "120 Holborn, London EC1N 2TD",
    ),
    v(
        "Boots",
        "Boots",
        "boots.com",
        Uk,
        "health",
        &["Paracetamol 16 tablets", "Sun cream SPF50"],
        "1 Thane Rd, Nottingham NG90 1BS",
    ),
    v(
        "Octopus Energy",
        "Octopus Energy",
        "octopus.energy",
        Uk,
        "utilities",
        &["Electricity 312 kWh", "Standing charge"],
        "UK House, 164-182 Oxford St, London W1D 1NN",
    ),
    v(
        "The Crown",
        "",
        "thecrownpub.co.uk",
        Uk,
        "dining",
        &["2 x Pale Ale", "Fish & Chips", "Sticky Toffee Pudding"],
        "12 High St, Oxford OX1 4AB",
    ),
    v(
        "REWE",
        "REWE",
        "rewe.de",
        De,
        "groceries",
        &["Vollmilch 1L", "Roggenbrot", "Bananen", "Butter"],
        "Domstr. 20, 50668 Köln",
    ),
    v(
        "Deutsche Bahn",
        "Deutsche Bahn",
        "bahn.de",
        De,
        "travel",
        &["ICE Berlin - München", "Sitzplatzreservierung"],
        "Potsdamer Platz 2, 10785 Berlin",
    ),
    v(
        "MediaMarkt",
        "MediaMarkt",
        "mediamarkt.de",
        De,
        "office",
        &["Monitor 27 Zoll", "USB-C Kabel"],
        "Wankelstr. 5, 85046 Ingolstadt",
    ),
    v(
        "Café Einstein",
        "",
        "cafeeinstein.de",
        De,
        "dining",
        &["Cappuccino", "Apfelstrudel", "Wiener Melange"],
        "Kurfürstenstr. 58, 10785 Berlin",
    ),
    v(
        "Carrefour",
        "Carrefour",
        "carrefour.fr",
        Fr,
        "groceries",
        &["Baguette", "Camembert", "Pommes 1kg", "Eau minérale"],
        "93 Av. de Paris, 91300 Massy",
    ),
    v(
        "SNCF",
        "SNCF",
        "sncf-connect.com",
        Fr,
        "travel",
        &["TGV Paris - Lyon", "Frais de service"],
        "9 Rue Jean-Philippe Rameau, 93200 Saint-Denis",
    ),
    v(
        "Pharmacie Centrale",
        "",
        "pharmaciecentrale.fr",
        Fr,
        "health",
        &["Doliprane 1000mg", "Sérum physiologique"],
        "12 Rue de Rivoli, 75004 Paris",
    ),
    v(
        "Le Petit Bistro",
        "",
        "lepetitbistro.fr",
        Fr,
        "dining",
        &["Menu du jour", "Verre de vin", "Café"],
        "8 Rue Cler, 75007 Paris",
    ),
    v(
        "Mercadona",
        "Mercadona",
        "mercadona.es",
        Es,
        "groceries",
        &["Aceite de oliva", "Pan", "Tomates"],
        "C. Valencia 5, 46016 Tavernes Blanques",
    ),
    v(
        "Renfe",
        "Renfe",
        "renfe.com",
        Es,
        "travel",
        &["AVE Madrid - Barcelona", "Tarifa Básico"],
        "Av. Pío XII 110, 28036 Madrid",
    ),
    v(
        "Albert Heijn",
        "Albert Heijn",
        "ah.nl",
        Nl,
        "groceries",
        &["Halfvolle melk", "Kaas jong belegen", "Appels"],
        "Provincialeweg 11, 1506 MA Zaandam",
    ),
    v(
        "Tim Hortons",
        "Tim Hortons",
        "timhortons.ca",
        Ca,
        "dining",
        &["Double Double", "Timbits 10pc", "Bagel"],
        "130 King St W, Toronto ON M5X 1E1",
    ),
    v(
        "Air Canada",
        "Air Canada",
        "aircanada.com",
        Ca,
        "travel",
        &["Airfare YYZ-YVR", "Airport improvement fee"],
        "7373 Cote-Vertu Blvd W, Saint-Laurent QC H4S 1Z3",
    ),
    v(
        "Woolworths",
        "Woolworths",
        "woolworths.com.au",
        Au,
        "groceries",
        &["Full Cream Milk 2L", "Vegemite 220g", "Tim Tams"],
        "1 Woolworths Way, Bella Vista NSW 2153",
    ),
    v(
        "Telstra",
        "Telstra",
        "telstra.com.au",
        Au,
        "utilities",
        &["Mobile plan 40GB", "Data add-on"],
        "242 Exhibition St, Melbourne VIC 3000",
    ),
    v(
        "Officeworks",
        "Officeworks",
        "officeworks.com.au",
        Au,
        "office",
        &["Office Chair Mesh", "A4 Copy Paper 5 ream"],
        "236-262 East Boundary Rd, Bentleigh East VIC 3165",
    ),
    // Made-up businesses no brand list knows: their category has to come
    // from what they sell.
    v(
        "Golden Lotus Kitchen",
        "Golden Lotus Kitchen",
        "goldenlotuskitchen.com",
        Us,
        "dining",
        &["Pad Thai", "Spring Rolls", "Thai Iced Tea"],
        "88 Grant Ave, San Francisco CA 94108",
    ),
    v(
        "Northwind Grocers",
        "Northwind Grocers",
        "northwindgrocers.com",
        Us,
        "groceries",
        &["Whole Milk 1 gal", "Free Range Eggs 12ct", "Sliced Bread", "Bananas 2 lb"],
        "400 Lake St, Minneapolis MN 55408",
    ),
    v(
        "Bluebird Cabs",
        "Bluebird Cabs",
        "bluebirdcabs.co.uk",
        Uk,
        "transport",
        &["Taxi fare 4.2 miles", "Waiting time"],
        "3 Station Rd, Leeds LS1 4DY",
    ),
    v(
        "Pinecrest Lodge",
        "Pinecrest Lodge",
        "pinecrestlodge.com",
        Ca,
        "travel",
        &["Room, 2 nights", "Resort fee"],
        "12 Lakeshore Dr, Banff AB T1L 1A1",
    ),
    v(
        "Cloudlayer",
        "Cloudlayer Billing",
        "cloudlayer.io",
        Us,
        "software",
        &["Pro plan, 3 seats", "Extra storage 100 GB"],
        "500 Howard St, San Francisco CA 94105",
    ),
    v(
        "Brightline Power",
        "Brightline Power",
        "brightlinepower.com",
        Us,
        "utilities",
        &["Electricity 540 kWh", "Delivery charge"],
        "1 Energy Plaza, Houston TX 77002",
    ),
    v(
        "Paper Trail Supplies",
        "Paper Trail Supplies",
        "papertrailsupplies.com",
        Us,
        "office",
        &["Copy paper 5 ream", "Gel pens 12 pack", "Desk lamp"],
        "75 Commerce St, Austin TX 78701",
    ),
    v(
        "Oakwood Dental",
        "Oakwood Dental",
        "oakwooddental.co.uk",
        Uk,
        "health",
        &["Check-up and clean", "X-ray"],
        "14 Oak Rd, Bristol BS6 5AB",
    ),
    v(
        "Starlight Cinema",
        "Starlight Cinema",
        "starlightcinema.de",
        De,
        "entertainment",
        &["Kinokarte Erwachsene x2", "Popcorn gross"],
        "Kinostr. 4, 10117 Berlin",
    ),
];

/// A small deterministic generator (PCG-like), so the corpus is the same on
/// every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407))
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const MONTHS_DE: [&str; 12] = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
];
const MONTHS_FR: [&str; 12] = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
];
const WEEKDAYS: [&str; 7] = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"];

#[derive(Clone, Copy)]
struct Day {
    y: i32,
    m: u32,
    d: u32,
}

impl Day {
    /// A day of 2025 or of 2026 up to November: before the files are
    /// written, as a real receipt's date always is.
    fn random(rng: &mut Rng) -> Day {
        let y = 2025 + rng.below(2) as i32;
        let m = 1 + rng.below(if y == 2026 { 11 } else { 12 }) as u32;
        let d = 1 + rng.below(28) as u32;
        Day { y, m, d }
    }
    fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.y, self.m, self.d)
    }
    fn days(&self) -> i64 {
        let y = i64::from(self.y) - i64::from(self.m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (i64::from(self.m) + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.d) - 1;
        era * 146_097 + yoe * 365 + yoe / 4 - yoe / 100 + doy - 719_468
    }
    fn weekday(&self) -> &'static str {
        WEEKDAYS[self.days().rem_euclid(7) as usize]
    }
    /// RFC 2822, for a `Date:` header.
    fn rfc2822(&self, hour: u32) -> String {
        format!(
            "{}, {} {} {} {hour:02}:14:09 +0000",
            &self.weekday()[..3],
            self.d,
            &MONTHS[self.m as usize - 1][..3],
            self.y
        )
    }
    fn plus(&self, days: u32) -> Day {
        let mut d = *self;
        for _ in 0..days {
            d.d += 1;
            if d.d > 28 {
                d.d = 1;
                d.m += 1;
                if d.m > 12 {
                    d.m = 1;
                    d.y += 1;
                }
            }
        }
        d
    }
    /// Written in a style of the country (numeric styles only where the
    /// country reads them that way).
    fn styled(&self, country: Country, rng: &mut Rng) -> String {
        let month = MONTHS[self.m as usize - 1];
        let (y, m, d) = (self.y, self.m, self.d);
        let common = [
            self.iso(),
            format!("{month} {d}, {y}"),
            format!("{} {d}, {y}", &month[..3]),
            format!("{d} {month} {y}"),
            format!("{d} {} {y}", &month[..3]),
            format!("{}, {month} {d}, {y}", self.weekday()),
            format!("{}, {d} {} {y}", &self.weekday()[..3], &month[..3]),
        ];
        let local = match country {
            Us => vec![
                format!("{m:02}/{d:02}/{y}"),
                format!("{m}/{d}/{y}"),
                format!("{m:02}-{d:02}-{y}"),
                format!("{m}/{d}/{}", y % 100),
            ],
            Ca => vec![self.iso()],
            Uk | Au | Es | Nl => {
                vec![format!("{d:02}/{m:02}/{y}"), format!("{d}/{m}/{y}"), format!("{d:02}-{m:02}-{y}")]
            }
            De => vec![
                format!("{d:02}.{m:02}.{y}"),
                format!("{d}. {} {y}", MONTHS_DE[m as usize - 1]),
                format!("{d:02}.{m:02}.{}", y % 100),
            ],
            Fr => vec![format!("{d:02}/{m:02}/{y}"), format!("{d} {} {y}", MONTHS_FR[m as usize - 1])],
        };
        if rng.chance(50) { rng.pick(&local).clone() } else { rng.pick(&common).clone() }
    }
}

fn currency(c: Country) -> &'static str {
    match c {
        Us => "USD",
        Uk => "GBP",
        De | Fr | Es | Nl => "EUR",
        Ca => "CAD",
        Au => "AUD",
    }
}

/// An amount as the country prints it.
fn money(c: Country, value: f64, rng: &mut Rng, marker: bool) -> String {
    let cents = (value * 100.0).round() as i64;
    let (whole, frac) = (cents / 100, cents % 100);
    let group = |sep: &str| {
        let s = whole.to_string();
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push_str(sep);
            }
            out.push(ch);
        }
        out
    };
    match c {
        Us | Ca | Au => {
            let n = format!("{}.{frac:02}", group(","));
            if !marker {
                n
            } else if c == Ca && rng.chance(30) {
                format!("CA${n}")
            } else if c == Au && rng.chance(30) {
                format!("A${n}")
            } else if rng.chance(15) {
                format!("{n} {}", currency(c))
            } else {
                format!("${n}")
            }
        }
        Uk => {
            let n = format!("{}.{frac:02}", group(","));
            if !marker {
                n
            } else if rng.chance(15) {
                format!("GBP {n}")
            } else {
                format!("£{n}")
            }
        }
        De | Fr | Es | Nl => {
            let n = format!("{},{frac:02}", group("."));
            if !marker {
                n
            } else {
                match rng.below(4) {
                    0 => format!("EUR {n}"),
                    1 => format!("€{n}"),
                    2 => format!("{n} EUR"),
                    _ => format!("{n} €"),
                }
            }
        }
    }
}

/// Prices and the lines that surround a total.
struct Bill {
    items: Vec<(String, f64)>,
    subtotal: f64,
    /// Label and amount of each line between the subtotal and the total.
    extras: Vec<(String, f64)>,
    total: f64,
    /// Lines after the total (tip, then a new total; payment; change).
    after: Vec<(String, f64)>,
    paid: f64,
    total_label: String,
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn bill(vendor: &Vendor, rng: &mut Rng) -> Bill {
    let scale = match vendor.category {
        "travel" => 120.0,
        "office" => 40.0,
        "software" | "utilities" => 25.0,
        _ => 6.0,
    };
    let n = 1 + rng.below(vendor.items.len());
    let mut items = Vec::new();
    for item in vendor.items.iter().take(n) {
        let price = round2(scale * (0.5 + (rng.below(400) as f64) / 100.0));
        items.push((item.to_string(), price));
    }
    // Now and then a big purchase, for thousands separators.
    if rng.chance(8) {
        items[0].1 = round2(1000.0 + rng.below(2000) as f64 + rng.below(100) as f64 / 100.0);
    }
    let subtotal = round2(items.iter().map(|(_, p)| p).sum());
    let mut extras = Vec::new();
    let mut total = subtotal;
    let lang = vendor.country;
    match lang {
        Us | Ca => {
            let rate = if lang == Ca { 0.13 } else { 0.0875 };
            let tax = round2(subtotal * rate);
            let label = if lang == Ca { "HST 13%" } else { *rng.pick(&["Sales Tax", "Tax", "TAX 8.75%"]) };
            extras.push((label.to_string(), tax));
            total = round2(subtotal + tax);
        }
        Au => {
            let gst = round2(subtotal / 11.0);
            extras.push(("GST included".to_string(), gst));
        }
        _ => {
            let vat = round2(subtotal - subtotal / 1.2);
            let label = match lang {
                De => "MwSt 19%",
                Fr => "TVA 20%",
                Es => "IVA 21%",
                Nl => "BTW 21%",
                _ => "VAT 20% (included)",
            };
            extras.push((label.to_string(), vat));
        }
    }
    if vendor.category == "groceries" && rng.chance(40) {
        let saved = round2(subtotal * 0.05);
        extras.push(((*rng.pick(&["You saved", "Total savings", "Member discount"])).to_string(), saved));
    }
    let mut after = Vec::new();
    let mut paid = total;
    let en = matches!(lang, Us | Uk | Ca | Au);
    let total_label = match lang {
        De => (*rng.pick(&["Summe", "SUMME", "Gesamtbetrag", "Zu zahlen", "Total"])).to_string(),
        Fr => (*rng.pick(&["Total TTC", "TOTAL TTC", "Montant total", "Net à payer"])).to_string(),
        Es => (*rng.pick(&["Importe total", "TOTAL", "Total a pagar"])).to_string(),
        Nl => (*rng.pick(&["Totaal", "Te betalen", "TOTAAL"])).to_string(),
        _ => (*rng.pick(&[
            "Total",
            "TOTAL",
            "Grand Total",
            "Amount Paid",
            "Total Paid",
            "Balance Due",
            "Order Total",
            "Amount charged",
            "Total (incl. VAT)",
            "TOTAL DUE",
        ]))
        .to_string(),
    };
    if vendor.category == "dining" && en && rng.chance(50) {
        let tip = round2(total * 0.18);
        after.push(("Tip".to_string(), tip));
        paid = round2(total + tip);
        after.push(((*rng.pick(&["Total", "Total with tip", "Amount Paid", "Grand Total"])).to_string(), paid));
    }
    if rng.chance(30) && vendor.category == "groceries" {
        let cash = (paid / 10.0).ceil() * 10.0 + 10.0;
        after.push((
            if en {
                "Cash"
            } else if lang == De {
                "Gegeben Bar"
            } else {
                "Espèces"
            }
            .to_string(),
            cash,
        ));
        after.push((
            if en {
                "Change"
            } else if lang == De {
                "Rückgeld"
            } else {
                "Rendu"
            }
            .to_string(),
            round2(cash - paid),
        ));
    } else if rng.chance(60) {
        after.push((format!("VISA **** {}", 1000 + rng.below(9000)), paid));
    }
    Bill { items, subtotal, extras, total, after, paid, total_label }
}

fn subtotal_label(c: Country) -> &'static str {
    match c {
        De => "Zwischensumme",
        Fr => "Sous-total",
        Es => "Subtotal",
        Nl => "Subtotaal",
        _ => "Subtotal",
    }
}

fn thanks(v: &Vendor, rng: &mut Rng) -> String {
    match v.country {
        De => format!("Vielen Dank für Ihren Einkauf bei {}!", v.name),
        Fr => format!("Merci de votre visite chez {} !", v.name),
        Es => format!("Gracias por su compra en {}.", v.name),
        Nl => format!("Bedankt voor uw aankoop bij {}!", v.name),
        _ => match rng.below(4) {
            0 => format!("Thank you for shopping at {}!", v.name),
            1 => format!("Thanks for your order with {}.", v.name),
            2 => "Thank you for your purchase!".to_string(),
            _ => format!("Thanks for choosing {}.", v.name),
        },
    }
}

fn date_label(c: Country) -> &'static str {
    match c {
        De | Nl => "Datum",
        Fr => "Date",
        Es => "Fecha",
        _ => "Date",
    }
}

/// The receipt as lines of text: `(label, amount)` pairs with amounts as
/// printed, for text, HTML and images alike.
struct Printed {
    header: Vec<String>,
    rows: Vec<(String, String)>,
    footer: Vec<String>,
}

fn printed(v: &Vendor, b: &Bill, date: &str, rng: &mut Rng, with_name: bool) -> Printed {
    let mut header = Vec::new();
    if with_name {
        header.push(if rng.chance(50) { v.name.to_uppercase() } else { v.name.to_string() });
    }
    header.push(v.address.to_string());
    let time = format!("{:02}:{:02}", 8 + rng.below(12), rng.below(60));
    header.push(match rng.below(3) {
        0 => format!("{}: {date}  {time}", date_label(v.country)),
        1 => format!("{date} {time}"),
        _ => format!("{}: {date}", date_label(v.country)),
    });
    if rng.chance(50) {
        header.push(format!("Receipt #{}", 10000 + rng.below(90000)));
    }
    let c = v.country;
    let mut rows = Vec::new();
    let mark_items = rng.chance(40);
    for (name, p) in &b.items {
        rows.push((name.clone(), money(c, *p, rng, mark_items)));
    }
    let mark = rng.chance(50);
    rows.push((subtotal_label(c).to_string(), money(c, b.subtotal, rng, mark)));
    for (l, a) in &b.extras {
        rows.push((l.clone(), money(c, *a, rng, false)));
    }
    rows.push((b.total_label.clone(), money(c, b.total, rng, true)));
    for (l, a) in &b.after {
        rows.push((l.clone(), money(c, *a, rng, l.contains("Total") || l.contains("Paid"))));
    }
    let footer = vec![thanks(v, rng)];
    Printed { header, rows, footer }
}

fn as_text(p: &Printed, width: usize) -> String {
    let mut out = String::new();
    for h in &p.header {
        out.push_str(h);
        out.push('\n');
    }
    out.push('\n');
    for (l, a) in &p.rows {
        let pad = width.saturating_sub(l.chars().count() + a.chars().count()).max(2);
        out.push_str(&format!("{l}{}{a}\n", " ".repeat(pad)));
    }
    out.push('\n');
    for f in &p.footer {
        out.push_str(f);
        out.push('\n');
    }
    out
}

fn as_html(p: &Printed, v: &Vendor, rng: &mut Rng) -> String {
    let mut h =
        String::from("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>td{padding:4px}</style></head><body>");
    if rng.chance(30) {
        h.push_str(
            "<p style=\"font-size:10px\"><a href=\"https://example.com/view\">View this email in your browser</a></p>",
        );
    }
    if rng.chance(50) {
        h.push_str(&format!("<img src=\"https://{}/logo.png\" alt=\"{}\">", v.domain, v.name));
    }
    h.push_str(&format!("<h1>{}</h1>", p.header.first().cloned().unwrap_or_default()));
    for line in p.header.iter().skip(1) {
        h.push_str(&format!("<p>{line}</p>"));
    }
    h.push_str("<table>");
    for (l, a) in &p.rows {
        let strong = l == p.rows.last().map(|r| &r.0).unwrap_or(l);
        if strong {
            h.push_str(&format!("<tr><td><b>{l}</b></td><td align=\"right\"><b>{a}</b></td></tr>"));
        } else {
            h.push_str(&format!("<tr><td>{l}</td><td align=\"right\">{a}</td></tr>"));
        }
    }
    h.push_str("</table>");
    for f in &p.footer {
        h.push_str(&format!("<p>{f}</p>"));
    }
    if rng.chance(40) {
        h.push_str("<p style=\"font-size:9px\">You are receiving this email because you made a purchase. <a href=\"#\">Manage preferences</a></p>");
    }
    h.push_str("</body></html>");
    h
}

fn image_of(p: &Printed, rng: &mut Rng, seed: u64) -> GrayImage {
    let mut rows = Vec::new();
    for (i, h) in p.header.iter().enumerate() {
        rows.push(if i == 0 { Row::title(h) } else { Row::text(h) });
    }
    for (l, a) in &p.rows {
        rows.push(Row::amount(l, a));
    }
    for f in &p.footer {
        rows.push(Row::text(f));
    }
    let font = *rng.pick(&["DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSerif.ttf", "DejaVuSansCondensed.ttf"]);
    let print = Print {
        font,
        px: 26.0 + rng.below(8) as f32,
        width: 760 + rng.below(3) as u32 * 60,
        noise: rng.below(40) as u8,
        degrees: (rng.below(5) as f32 - 2.0) * 0.6,
        seed,
    };
    docs::render(&rows, &print)
}

fn encode(img: &GrayImage, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn b64_lines(data: &[u8]) -> String {
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    s.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n")
}

/// Quoted-printable for a body (RFC 2045), soft breaks at 76.
fn quoted_printable(s: &[u8]) -> String {
    let mut out = String::new();
    let mut col = 0;
    for &b in s {
        let piece = match b {
            b'\n' => {
                out.push_str("\r\n");
                col = 0;
                continue;
            }
            b'\r' => continue,
            b'=' => "=3D".to_string(),
            33..=126 | b' ' => (b as char).to_string(),
            _ => format!("={b:02X}"),
        };
        if col + piece.len() > 75 {
            out.push_str("=\r\n");
            col = 0;
        }
        col += piece.len();
        out.push_str(&piece);
    }
    out
}

fn from_header(v: &Vendor, rng: &mut Rng) -> String {
    let local = *rng.pick(&["receipts", "no-reply", "noreply", "orders", "billing", "hello"]);
    let sub = if rng.chance(40) { "email." } else { "" };
    match (v.sender, rng.below(3)) {
        ("", _) | (_, 0) => format!("{local}@{sub}{}", v.domain),
        (s, 1) => format!("\"{s}\" <{local}@{sub}{}>", v.domain),
        (s, _) => format!("{s} <{local}@{sub}{}>", v.domain),
    }
}

fn subject(v: &Vendor, rng: &mut Rng) -> String {
    match v.country {
        De => format!("Ihr Kassenbon von {}", v.name),
        Fr => format!("Votre reçu {}", v.name),
        Es => format!("Su recibo de {}", v.name),
        Nl => format!("Uw kassabon van {}", v.name),
        _ => match rng.below(6) {
            0 => format!("Your receipt from {}", v.name),
            1 => format!("Your {} order", v.name),
            2 => format!("Receipt for your purchase at {}", v.name),
            3 => format!("[{}] Payment receipt", v.name),
            4 => "Your receipt".to_string(),
            _ => format!("Thanks for your order at {}", v.name),
        },
    }
}

/// A whole message: headers, then a body built by `body` (which returns the
/// content type and encoded body, or a multipart body with its boundary).
fn message(
    from: &str,
    subject: &str,
    date: &str,
    id: &str,
    content_type: &str,
    body: &str,
    cte: Option<&str>,
) -> Vec<u8> {
    let mut m = format!(
        "From: {from}\r\nTo: Sam Doe <sam@example.org>\r\nSubject: {subject}\r\nDate: {date}\r\nMessage-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n"
    );
    if let Some(cte) = cte {
        m.push_str(&format!("Content-Transfer-Encoding: {cte}\r\n"));
    }
    m.push_str("\r\n");
    m.push_str(body);
    m.push_str("\r\n");
    m.into_bytes()
}

/// Encodes a subject with RFC 2047 when it is not ASCII.
fn subject_header(s: &str) -> String {
    if s.is_ascii() {
        s.to_string()
    } else {
        format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(s))
    }
}

/// Formats of the receipts, in the order the corpus cycles through them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Format {
    EmlText,
    EmlHtml,
    EmlQuotedPrintableLatin1,
    EmlBase64,
    EmlPdfAttachment,
    EmlImageAttachment,
    PdfText,
    PdfScan,
    Png,
    Jpeg,
    Tiff,
    Webp,
    Html,
    Txt,
}

/// One receipt in one format.
fn receipt(i: usize, format: Format) -> (String, Vec<u8>, Expected, Option<String>) {
    let mut rng = Rng::new(1000 + i as u64);
    let vendor = &VENDORS[(i * 7 + i / VENDORS.len()) % VENDORS.len()];
    let day = Day::random(&mut rng);
    let date_text = day.styled(vendor.country, &mut rng);
    let b = bill(vendor, &mut rng);
    let expected = Expected {
        vendor: vendor.name.to_string(),
        date: day.iso(),
        total: b.paid,
        currency: currency(vendor.country).to_string(),
        category: vendor.category.to_string(),
    };
    let id = format!("{}.{}@{}", 100000 + i, rng.below(1 << 20), vendor.domain);
    // An email sent the day of the purchase, or a day or two later.
    let sent = day.plus(rng.below(3) as u32).rfc2822(9 + rng.below(10) as u32);
    let stem = format!("r{i:03}-{}", vendor.domain.split('.').next().unwrap_or("x"));
    let from = from_header(vendor, &mut rng);
    let subj = subject(vendor, &mut rng);
    let with_name = !matches!(format, Format::EmlText | Format::EmlHtml) || rng.chance(50);
    let p = printed(vendor, &b, &date_text, &mut rng, with_name);
    let intro = format!("Hi Sam,\n\n{}\n\n", thanks(vendor, &mut rng));
    let (file, bytes, msg_id) = match format {
        Format::EmlText => {
            let body = format!("{intro}{}", as_text(&p, 44));
            (
                format!("{stem}.eml"),
                message(&from, &subject_header(&subj), &sent, &id, "text/plain; charset=utf-8", &body, Some("8bit")),
                Some(id),
            )
        }
        Format::EmlHtml => {
            let html = as_html(&p, vendor, &mut rng);
            (
                format!("{stem}.eml"),
                message(
                    &from,
                    &subject_header(&subj),
                    &sent,
                    &id,
                    "text/html; charset=utf-8",
                    &quoted_printable(html.as_bytes()),
                    Some("quoted-printable"),
                ),
                Some(id),
            )
        }
        Format::EmlQuotedPrintableLatin1 => {
            let text = format!("{intro}{}", as_text(&p, 40));
            // Latin-1 where it can be, so é, ü, £ and € (not in Latin-1:
            // written as EUR) become single bytes.
            let latin: Vec<u8> =
                text.replace('€', "EUR").chars().map(|c| if (c as u32) < 256 { c as u8 } else { b'?' }).collect();
            (
                format!("{stem}.eml"),
                message(
                    &from,
                    &subject_header(&subj),
                    &sent,
                    &id,
                    "text/plain; charset=ISO-8859-1",
                    &quoted_printable(&latin),
                    Some("quoted-printable"),
                ),
                Some(id),
            )
        }
        Format::EmlBase64 => {
            let text = format!("{intro}{}", as_text(&p, 44));
            let boundary = format!("b{}", rng.next());
            let html = as_html(&p, vendor, &mut rng);
            let body = format!(
                "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--{boundary}--",
                b64_lines(text.as_bytes()),
                b64_lines(html.as_bytes())
            );
            (
                format!("{stem}.eml"),
                message(
                    &from,
                    &subject_header(&subj),
                    &sent,
                    &id,
                    &format!("multipart/alternative; boundary=\"{boundary}\""),
                    &body,
                    None,
                ),
                Some(id),
            )
        }
        Format::EmlPdfAttachment | Format::EmlImageAttachment => {
            let (name, ctype, data) = if format == Format::EmlPdfAttachment {
                let mut lines: Vec<String> = p.header.clone();
                lines.push(String::new());
                lines.extend(p.rows.iter().map(|(l, a)| format!("{l}    {a}")));
                lines.extend(p.footer.clone());
                ("receipt.pdf", "application/pdf", docs::pdf_with_text(&[lines]))
            } else {
                ("receipt.png", "image/png", docs::png(&image_of(&p, &mut rng, i as u64)))
            };
            let boundary = format!("b{}", rng.next());
            let note = *rng.pick(&[
                "Please find your receipt attached.",
                "Your receipt is attached to this email.",
                "Attached is your receipt. Thank you!",
            ]);
            let body = format!(
                "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello,\r\n\r\n{note}\r\n\r\n--{boundary}\r\nContent-Type: {ctype}; name=\"{name}\"\r\nContent-Disposition: attachment; filename=\"{name}\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--{boundary}--",
                b64_lines(&data)
            );
            (
                format!("{stem}.eml"),
                message(
                    &from,
                    &subject_header(&subj),
                    &sent,
                    &id,
                    &format!("multipart/mixed; boundary=\"{boundary}\""),
                    &body,
                    None,
                ),
                Some(id),
            )
        }
        Format::PdfText => {
            let mut lines: Vec<String> = p.header.clone();
            lines.push(String::new());
            lines.extend(p.rows.iter().map(|(l, a)| format!("{l}    {a}")));
            lines.extend(p.footer.clone());
            (format!("{stem}.pdf"), docs::pdf_with_text(&[lines]), None)
        }
        Format::PdfScan => (format!("{stem}.pdf"), docs::pdf_with_image(&image_of(&p, &mut rng, i as u64)), None),
        Format::Png => (format!("{stem}.png"), docs::png(&image_of(&p, &mut rng, i as u64)), None),
        Format::Jpeg => (format!("{stem}.jpg"), docs::jpeg(&image_of(&p, &mut rng, i as u64)), None),
        Format::Tiff => {
            (format!("{stem}.tiff"), encode(&image_of(&p, &mut rng, i as u64), image::ImageFormat::Tiff), None)
        }
        Format::Webp => {
            (format!("{stem}.webp"), encode(&image_of(&p, &mut rng, i as u64), image::ImageFormat::WebP), None)
        }
        Format::Html => (format!("{stem}.html"), as_html(&p, vendor, &mut rng).into_bytes(), None),
        Format::Txt => (format!("{stem}.txt"), as_text(&p, 42).into_bytes(), None),
    };
    (file, bytes, expected, msg_id)
}

/// Emails that are not receipts, each with a subject, a sender and a body
/// that mention money or orders the way such mail does.
fn non_receipt(i: usize) -> (String, Vec<u8>, String) {
    let id = format!("nr{i}.{}@mail.example.com", 7000 + i);
    let date = Day { y: 2026, m: 1 + (i % 12) as u32, d: 3 + (i % 20) as u32 }.rfc2822(10);
    let (from, subject, body, html) = match i % 12 {
        0 => (
            "Blue Bottle Coffee <news@bluebottlecoffee.com>",
            "Spring sale: 30% off whole beans",
            "This week only: Hayes Valley Espresso $18.00 now $12.60. Giant Steps $22.00.\nShop now at bluebottlecoffee.com\n\nUnsubscribe | View in browser",
            false,
        ),
        1 => (
            "Amazon.com <shipment-tracking@amazon.com>",
            "Your package is on its way",
            "Hello Sam,\n\nYour order #112-4455 has shipped and is on its way.\nTracking number: 1Z999AA10123456784\nOrder total: $45.20\nArriving Thursday.\n\nTrack your package",
            false,
        ),
        2 => (
            "Air France <checkin@airfrance.fr>",
            "Time to check in for your flight to Paris",
            "Check in now for flight AF 023 New York JFK - Paris CDG.\nDeparture 14 Mar 2026 19:30.\nOnline check-in is open 30 hours before departure.\nDownload your boarding pass in the app.",
            false,
        ),
        3 => (
            "Jamie Lee <jamie.lee@gmail.com>",
            "Saturday",
            "Hey Sam,\n\nDinner was great! I owe you $20 for the pizza, I'll send it tomorrow.\nSee you next week.\n\nJamie",
            false,
        ),
        4 => (
            "Best Buy <deals@bestbuy.com>",
            "Price drop on an item in your wishlist",
            "<html><body><h1>Good news!</h1><p>Sony WH-1000XM5 is now <b>$299.99</b> (was $399.99).</p><p>Limited time offer. <a href='#'>Shop now</a></p><p><a href='#'>Unsubscribe</a></p></body></html>",
            true,
        ),
        5 => (
            "GitHub <noreply@github.com>",
            "[GitHub] Please reset your password",
            "We heard that you lost your GitHub password. Sorry about that!\nUse the following link within the next 3 hours to reset your password.",
            false,
        ),
        6 => (
            "Alex Kim <alex@example.org>",
            "Invitation: Budget review @ Tue Mar 10, 2026 2pm",
            "You have been invited to: Budget review\nWhen: Tue Mar 10, 2026 2pm - 3pm\nWe will go through the Q1 numbers ($12,400 spent so far).",
            false,
        ),
        7 => (
            "UPS <mcinfo@ups.com>",
            "Your UPS package was delivered",
            "Your package was delivered today at 2:14 PM.\nShipment total value: $89.00\nTracking number 1Z12345E0205271688\nTrack package",
            false,
        ),
        8 => (
            "Netflix <info@mailer.netflix.com>",
            "New arrivals this week",
            "<html><body><p>New arrivals on Netflix this week.</p><p>Plans start at $6.99/month.</p><p>Don't miss out. <a href='#'>Unsubscribe</a> · <a href='#'>View in browser</a></p></body></html>",
            true,
        ),
        9 => (
            "Mum <mum@hotmail.co.uk>",
            "Re: visiting in May",
            "Lovely to hear from you. The train tickets were about £45 each way last time, so book early!\nLove, Mum",
            false,
        ),
        10 => (
            "Uber <uber@uber.com>",
            "Uber One: save on your next trips",
            "Members save up to 6% on rides. Try Uber One free for 4 weeks, then $9.99/mo.\nTerms apply. Unsubscribe",
            false,
        ),
        _ => (
            "Ticketmaster <events@ticketmaster.com>",
            "Reminder: your event is tomorrow",
            "Your event Coldplay - Music of the Spheres starts tomorrow at 7:00 PM.\nDoors open at 6:00 PM. Have your tickets ready on your phone.\nNeed help? Visit our help centre.",
            false,
        ),
    };
    let ctype = if html { "text/html; charset=utf-8" } else { "text/plain; charset=utf-8" };
    (format!("n{i:03}.eml"), message(from, subject, &date, &id, ctype, &body.replace('\n', "\r\n"), None), id)
}

/// The whole corpus: `n` receipts cycling through every format, twelve
/// non-receipt emails, and an mbox holding more receipts and non-receipts.
pub fn corpus(n: usize) -> Vec<Case> {
    let formats = [
        Format::EmlText,
        Format::EmlHtml,
        Format::Png,
        Format::PdfText,
        Format::EmlQuotedPrintableLatin1,
        Format::Txt,
        Format::Jpeg,
        Format::EmlBase64,
        Format::Html,
        Format::EmlPdfAttachment,
        Format::Tiff,
        Format::EmlText,
        Format::Webp,
        Format::EmlHtml,
        Format::EmlImageAttachment,
        Format::PdfScan,
    ];
    let mut cases = Vec::new();
    for i in 0..n {
        let (file, bytes, expected, id) = receipt(i, formats[i % formats.len()]);
        cases.push(Case { file, bytes, expected: vec![Some(expected)], message_ids: id.into_iter().collect() });
    }
    for i in 0..12 {
        let (file, bytes, id) = non_receipt(i);
        cases.push(Case { file, bytes, expected: vec![None], message_ids: vec![id] });
    }
    // A Takeout-style mbox: receipts and non-receipts, a `From ` line in a
    // body quoted as `>From `.
    let mut mbox = Vec::new();
    let mut expected = Vec::new();
    let mut ids = Vec::new();
    for k in 0..10 {
        let (raw, exp, id) = if k % 4 == 3 {
            let (_, raw, id) = non_receipt(100 + k);
            (raw, None, id)
        } else {
            let fmt = if k % 2 == 0 { Format::EmlText } else { Format::EmlHtml };
            let (_, raw, exp, id) = receipt(500 + k, fmt);
            (raw, Some(exp), id.unwrap_or_default())
        };
        mbox.extend_from_slice(b"From 1234567890@xxx Thu Jan  1 00:00:00 +0000 2026\n");
        let text = String::from_utf8_lossy(&raw).replace("\r\n", "\n").replace("\nFrom ", "\n>From ");
        mbox.extend_from_slice(text.as_bytes());
        mbox.extend_from_slice(b"\n");
        expected.push(exp);
        ids.push(id);
    }
    cases.push(Case {
        file: "takeout/All mail Including Spam and Trash.mbox".into(),
        bytes: mbox,
        expected,
        message_ids: ids,
    });
    cases
}

/// Writes the corpus under `dir`.
pub fn write(dir: &Path, cases: &[Case]) {
    for c in cases {
        let path = dir.join(&c.file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &c.bytes).unwrap();
    }
}

/// Letters and digits, lowercase: how vendors are compared.
pub fn squash(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

/// Receipt number `i` in one format (for benchmarks that want one kind).
pub fn one(i: usize, format: Format) -> Case {
    let (file, bytes, expected, id) = receipt(i, format);
    Case { file, bytes, expected: vec![Some(expected)], message_ids: id.into_iter().collect() }
}
