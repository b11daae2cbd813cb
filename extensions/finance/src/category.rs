//! The ten spending categories, and how a receipt gets one: a person's
//! choice for its vendor first, then words that leave no doubt, then the
//! host's classifier on the vendor and the lines that say what was bought.

use spacedrive_sdk::{Client, Label, Result};

use crate::extract::contains_word;

/// Every category, `other` last.
pub const CATEGORIES: &[(&str, &str)] = &[
    ("dining", "restaurants, cafés, bars, takeaway, food delivery"),
    ("groceries", "supermarkets, food and household shopping"),
    ("transport", "taxis and ride-hailing, local public transit, fuel, parking, tolls"),
    ("travel", "flights, hotels, trains between cities, car rental, bookings"),
    ("software", "software licences, SaaS and cloud hosting or storage"),
    ("utilities", "electricity, gas, water, internet, phone plans"),
    ("office", "supplies, furniture, equipment"),
    ("health", "pharmacy, prescriptions, doctors, dentists"),
    ("entertainment", "streaming, music, games, cinema, events"),
    ("other", "anything else"),
];

/// Whether `name` is a category.
pub fn is_category(name: &str) -> bool {
    CATEGORIES.iter().any(|(c, _)| *c == name)
}

/// Words and phrases (whole, lowercase) that point to a category, in the
/// languages the extractor reads, and brands so well known that their name
/// says the category. Anything they leave open goes to the classifier.
const CUES: &[(&str, &[&str])] = &[
    (
        "dining",
        &[
            "restaurant",
            "restaurante",
            "ristorante",
            "trattoria",
            "pizzeria",
            "osteria",
            "bistro",
            "brasserie",
            "café",
            "cafe",
            "caffè",
            "coffee",
            "kaffee",
            "espresso",
            "latte",
            "cappuccino",
            "flat white",
            "americano",
            "macchiato",
            "mocha",
            "croissant",
            "bagel",
            "donut",
            "doughnut",
            "muffin",
            "sandwich",
            "panini",
            "burger",
            "fries",
            "sushi",
            "ramen",
            "noodles",
            "taco",
            "tacos",
            "burrito",
            "nachos",
            "kebab",
            "curry",
            "pizza",
            "pub",
            "bar",
            "tavern",
            "brewery",
            "ale",
            "pale ale",
            "lager",
            "pint",
            "beer",
            "bier",
            "wine",
            "vin",
            "vino",
            "cocktail",
            "glass of",
            "verre de",
            "menu",
            "menu du jour",
            "plat du jour",
            "dessert",
            "pudding",
            "starter",
            "main course",
            "entrée",
            "fish & chips",
            "tip",
            "gratuity",
            "pourboire",
            "trinkgeld",
            "propina",
            "server:",
            "table",
            "tisch",
            "dine in",
            "eat in",
            "takeaway",
            "take-away",
            "takeout",
            "food delivery",
            "uber eats",
            "ubereats",
            "doordash",
            "grubhub",
            "deliveroo",
            "just eat",
            "postmates",
            "starbucks",
            "mcdonald's",
            "burger king",
            "kfc",
            "pret a manger",
            "pret",
            "tim hortons",
            "dunkin",
            "chipotle",
            "taco bell",
            "five guys",
            "nando's",
            "costa coffee",
            "blue bottle",
            "domino's",
            "pizza hut",
            "wagamama",
            "timbits",
            "double double",
            "strudel",
            "melange",
        ],
    ),
    (
        "groceries",
        &[
            "supermarket",
            "supermarkt",
            "supermercado",
            "supermarché",
            "grocery",
            "groceries",
            "grocer",
            "épicerie",
            "lebensmittel",
            "hypermarket",
            "milk",
            "melk",
            "milch",
            "vollmilch",
            "lait",
            "leche",
            "eggs",
            "eier",
            "oeufs",
            "bread",
            "brot",
            "roggenbrot",
            "brood",
            "pain",
            "butter",
            "boter",
            "beurre",
            "cheese",
            "kaas",
            "käse",
            "fromage",
            "queso",
            "camembert",
            "cheddar",
            "yogurt",
            "yoghurt",
            "bananas",
            "bananen",
            "apples",
            "appels",
            "äpfel",
            "pommes",
            "manzanas",
            "tomatoes",
            "tomates",
            "tomaten",
            "vegetables",
            "produce",
            "rice",
            "flour",
            "sugar",
            "olive oil",
            "aceite",
            "eau minérale",
            "1kg",
            "500g",
            "/kg",
            "per kg",
            "2l",
            "1l",
            "detergent",
            "toilet paper",
            "you saved",
            "member discount",
            "clubcard",
            "bag fee",
            "trader joe's",
            "whole foods",
            "safeway",
            "kroger",
            "publix",
            "costco",
            "tesco",
            "sainsbury's",
            "waitrose",
            "asda",
            "aldi",
            "lidl",
            "rewe",
            "edeka",
            "carrefour",
            "auchan",
            "leclerc",
            "mercadona",
            "woolworths",
            "coles",
            "albert heijn",
            "jumbo",
            "migros",
            "coop",
            "loblaws",
            "sobeys",
            "vegemite",
            "tim tams",
        ],
    ),
    (
        "transport",
        &[
            "taxi",
            "cab",
            "your ride",
            "ride fare",
            "trip fare",
            "rides",
            "lyft",
            "bolt",
            "free now",
            "uber",
            "grab",
            "parking",
            "car park",
            "parkhaus",
            "toll",
            "tolls",
            "fuel",
            "petrol",
            "gasoline",
            "diesel",
            "unleaded",
            "super e10",
            "benzin",
            "carburant",
            "gallons",
            "gal",
            "litres",
            "liters",
            "pump",
            "car wash",
            "metro",
            "subway",
            "bus",
            "bus fare",
            "tram",
            "transit",
            "public transport",
            "contactless journeys",
            "journey",
            "journeys",
            "daily cap",
            "oyster",
            "e-scooter",
            "scooter",
            "shell",
            "bp",
            "esso",
            "chevron",
            "exxon",
            "mobil",
            "texaco",
            "aral",
            "tfl",
            "transport for london",
            "mta",
            "ratp",
            "bvg",
        ],
    ),
    (
        "travel",
        &[
            "flight",
            "flights",
            "airfare",
            "airline",
            "airlines",
            "airways",
            "air",
            "airport",
            "boarding",
            "itinerary",
            "baggage",
            "hotel",
            "hostel",
            "resort",
            "motel",
            "inn",
            "lodge",
            "room",
            "nights",
            "occupancy tax",
            "city tax",
            "tourist tax",
            "check-in",
            "check-out",
            "booking",
            "reservation",
            "car rental",
            "rental car",
            "rail",
            "railway",
            "train",
            "tgv",
            "intercity",
            "sitzplatzreservierung",
            "seat reservation",
            "billete",
            "amtrak",
            "eurostar",
            "trainline",
            "sncf",
            "deutsche bahn",
            "renfe",
            "trenitalia",
            "via rail",
            "ryanair",
            "easyjet",
            "lufthansa",
            "british airways",
            "air france",
            "klm",
            "united airlines",
            "american airlines",
            "delta",
            "southwest",
            "qantas",
            "air canada",
            "booking.com",
            "expedia",
            "hotels.com",
            "airbnb",
            "marriott",
            "hilton",
            "hyatt",
            "ibis",
            "holiday inn",
            "hertz",
            "avis",
            "sixt",
            "europcar",
        ],
    ),
    (
        "software",
        &[
            "software",
            "saas",
            "license",
            "licence",
            "seats",
            "per seat",
            "per user",
            "cloud",
            "hosting",
            "droplets",
            "droplet",
            "compute",
            "storage",
            "instances",
            "api usage",
            "domain renewal",
            "vps",
            "actions minutes",
            "github",
            "gitlab",
            "aws",
            "amazon web services",
            "google cloud",
            "google workspace",
            "azure",
            "microsoft 365",
            "dropbox",
            "adobe",
            "jetbrains",
            "digitalocean",
            "heroku",
            "vercel",
            "netlify",
            "cloudflare",
            "linode",
            "hetzner",
            "slack",
            "notion",
            "figma",
            "atlassian",
            "zoom",
            "openai",
            "1password",
        ],
    ),
    (
        "utilities",
        &[
            "electricity",
            "electric",
            "energy",
            "kwh",
            "standing charge",
            "natural gas",
            "gas & electric",
            "water",
            "sewer",
            "broadband",
            "internet",
            "wifi",
            "fibre",
            "fiber",
            "mbps",
            "modem",
            "router",
            "mobile plan",
            "phone plan",
            "data add-on",
            "wireless",
            "line rental",
            "utility",
            "utilities",
            "meter",
            "comcast",
            "xfinity",
            "verizon",
            "at&t",
            "t-mobile",
            "vodafone",
            "british gas",
            "octopus energy",
            "edf",
            "e.on",
            "pg&e",
            "con edison",
            "telstra",
            "optus",
            "rogers",
            "telekom",
        ],
    ),
    (
        "office",
        &[
            "office supplies",
            "office",
            "stationery",
            "printer paper",
            "paper",
            "ream",
            "pens",
            "pencils",
            "ballpoint",
            "printer",
            "toner",
            "ink",
            "cartridge",
            "stapler",
            "notebooks",
            "folders",
            "envelopes",
            "desk",
            "chair",
            "office chair",
            "furniture",
            "monitor",
            "keyboard",
            "mouse",
            "cable",
            "kabel",
            "usb",
            "usb-c",
            "laptop",
            "hdmi",
            "organizer",
            "whiteboard",
            "staples",
            "office depot",
            "officeworks",
            "ikea",
            "mediamarkt",
            "best buy",
        ],
    ),
    (
        "health",
        &[
            "pharmacy",
            "pharmacie",
            "apotheke",
            "farmacia",
            "apotheek",
            "chemist",
            "drugstore",
            "prescription",
            "rx",
            "copay",
            "co-pay",
            "clinic",
            "doctor",
            "physician",
            "dentist",
            "dental",
            "hospital",
            "medical",
            "medicine",
            "optician",
            "therapy",
            "physiotherapy",
            "vitamin",
            "vitamins",
            "paracetamol",
            "ibuprofen",
            "aspirin",
            "doliprane",
            "bandages",
            "plasters",
            "tablets",
            "sérum",
            "cvs",
            "walgreens",
            "rite aid",
            "boots",
            "superdrug",
        ],
    ),
    (
        "entertainment",
        &[
            "netflix",
            "spotify",
            "hulu",
            "disney+",
            "hbo",
            "prime video",
            "apple music",
            "youtube premium",
            "steam",
            "playstation",
            "xbox",
            "nintendo",
            "game",
            "games",
            "cinema",
            "kino",
            "cine",
            "movie",
            "movies",
            "film",
            "theatre",
            "theater",
            "theatres",
            "concert",
            "festival",
            "museum",
            "admission",
            "streaming",
            "popcorn",
            "music",
            "bowling",
            "premium family",
            "ticketmaster",
        ],
    ),
];

/// Scores from cue words: the vendor's name counts three times a body line.
fn cue_scores(vendor: &str, text: &str) -> Vec<(&'static str, f32)> {
    let vendor = vendor.to_lowercase();
    let text = text.to_lowercase();
    let mut scores = Vec::new();
    for (category, cues) in CUES {
        let mut s = 0.0;
        for cue in *cues {
            if contains_word(&vendor, cue) {
                s += 3.0;
            } else if contains_word(&text, cue) {
                s += 1.0;
            }
        }
        if s > 0.0 {
            scores.push((*category, s));
        }
    }
    // Food delivery is dining, not transport ("Uber Eats").
    if scores.iter().any(|(c, _)| *c == "dining")
        && ["uber eats", "ubereats", "doordash", "deliveroo", "grubhub", "just eat"]
            .iter()
            .any(|w| text.contains(w) || vendor.contains(w))
    {
        scores.retain(|(c, _)| *c == "dining");
    }
    scores.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    scores
}

/// How a category was chosen.
#[derive(Clone)]
pub struct Choice {
    /// The category.
    pub category: String,
    /// 0 to 1.
    pub confidence: f32,
    /// What decided it.
    pub source: String,
}

/// Chooses a category for a receipt.
pub fn choose(client: &Client, vendor: &str, text: &str, remembered: Option<&str>) -> Result<Choice> {
    if let Some(c) = remembered {
        return Ok(Choice {
            category: c.to_string(),
            confidence: 1.0,
            source: format!("a person filed {vendor} under {c}"),
        });
    }
    let cues = cue_scores(vendor, text);
    let cue_lead = match cues.as_slice() {
        [(c, s)] if *s >= 2.0 => Some((*c, *s)),
        [(c, s), (_, t), ..] if *s >= 2.0 && *s >= 1.5 * t => Some((*c, *s)),
        _ => None,
    };
    if let Some((c, s)) = cue_lead {
        return Ok(Choice {
            category: c.to_string(),
            confidence: (0.7 + s / 20.0).min(0.95),
            source: "words on the receipt".into(),
        });
    }
    // The classifier reads the vendor and what was bought: lines with a
    // price and words, but not the totals, taxes and payments around them.
    let mut prompt = vendor.to_string();
    for line in item_lines(text).into_iter().take(8) {
        prompt.push_str(". ");
        prompt.push_str(&line);
    }
    // The same vendor and items ask the same question: answer from memory.
    if let Some(c) = remembered_answer(&prompt) {
        return Ok(c);
    }
    let choice = classify(client, &prompt, &cues)?;
    remember_answer(prompt, &choice);
    Ok(choice)
}

/// Most classifier answers kept in memory.
const MEMO_SIZE: usize = 4096;

static MEMO: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Choice>>> =
    std::sync::LazyLock::new(Default::default);

fn remembered_answer(prompt: &str) -> Option<Choice> {
    MEMO.lock().ok()?.get(prompt).cloned()
}

fn remember_answer(prompt: String, choice: &Choice) {
    if let Ok(mut map) = MEMO.lock() {
        if map.len() >= MEMO_SIZE {
            map.clear();
        }
        map.insert(prompt, choice.clone());
    }
}

fn classify(client: &Client, prompt: &str, cues: &[(&'static str, f32)]) -> Result<Choice> {
    let labels: Vec<Label> =
        CATEGORIES.iter().filter(|(c, _)| *c != "other").map(|(c, d)| Label::described(c, d)).collect();
    let ranked = client.classify_as(prompt, &labels, "an expense for {}")?;
    let Some(best) = ranked.best() else {
        return Ok(Choice { category: "other".into(), confidence: 0.3, source: "the classifier had no answer".into() });
    };
    // Cue words break a close call.
    let mut category = best.label.clone();
    if let Some((c, _)) = cues.first()
        && ranked.labels.iter().find(|s| s.label == *c).is_some_and(|s| s.score >= best.score * 0.6)
    {
        category = c.to_string();
    }
    let confidence = best.score.clamp(0.0, 1.0) as f32;
    if confidence < 0.15 && cues.is_empty() {
        return Ok(Choice {
            category: "other".into(),
            confidence: 0.3,
            source: format!("the classifier was unsure ({:.2})", best.score),
        });
    }
    Ok(Choice { category, confidence: confidence.max(0.4), source: format!("the {} classifier", ranked.provider) })
}

/// The lines of a receipt that name what was bought.
fn item_lines(text: &str) -> Vec<String> {
    const NOT_ITEMS: &[&str] = &[
        "total",
        "subtotal",
        "sub-total",
        "tax",
        "vat",
        "gst",
        "hst",
        "mwst",
        "tva",
        "iva",
        "btw",
        "visa",
        "mastercard",
        "amex",
        "card",
        "cash",
        "change",
        "tip",
        "paid",
        "due",
        "balance",
        "summe",
        "gesamt",
        "betrag",
        "saved",
        "discount",
        "receipt",
        "order",
        "date",
        "datum",
        "fecha",
        "invoice",
    ];
    text.lines()
        .map(str::trim)
        .filter(|l| {
            let lower = l.to_lowercase();
            l.chars().filter(|c| c.is_alphabetic()).count() >= 3
                && crate::money::amounts(l).iter().any(crate::money::is_price)
                && !NOT_ITEMS.iter().any(|w| contains_word(&lower, w))
        })
        .map(|l| {
            // The words only: amounts add nothing to the meaning.
            l.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).collect::<Vec<_>>().join(" ")
        })
        .collect()
}
