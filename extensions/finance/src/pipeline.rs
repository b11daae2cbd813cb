//! One document to one expense: read it (email body, attachments, OCR,
//! HTML, text), extract and categorise, refuse what is not a receipt, and
//! store it once.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use spacedrive_sdk::{Client, Entry, Error, NewEntry, OcrSource, Result, Uuid};

use crate::category;
use crate::dates::Date;
use crate::einvoice;
use crate::extract::{self, Doc, Extracted, Verdict};
use crate::mime::{self, Message};
use crate::opinion;
use crate::store::{self, ANALYSIS_SIDECAR, RECEIPT, Settings, TEXT_SIDECAR};

/// Largest email or text file read whole.
pub const MAX_MESSAGE_BYTES: u64 = 30 * 1024 * 1024;
/// Longest extracted text kept as a sidecar.
const MAX_TEXT_SIDECAR: usize = 512 * 1024;

/// The five fields and what identifies the receipt.
#[derive(Debug, Clone)]
pub struct Fields {
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
    /// What chose the category.
    pub category_source: String,
    /// File path, and for a message its Message-ID.
    pub source: String,
    /// Deduplication key: `message-id:…` or `blake3:…`.
    pub key: String,
    /// Lowest confidence of the five fields.
    pub confidence: f64,
}

/// What became of one document.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Stored as a new expense.
    Imported,
    /// The same receipt is already stored.
    Duplicate,
    /// Read, and not a receipt (why).
    NotReceipt(String),
}

/// A read document: its text and, for email, the message around it.
struct Reading {
    fields: Option<(Extracted, Verdict, String)>,
    text: String,
}

/// Where a receipt is stored.
pub enum Target<'a> {
    /// On an indexed file's own entry.
    File(&'a Entry),
    /// On a new virtual entry (a message in a mailbox or from Gmail).
    Virtual {
        /// Parent entry (the mailbox file), if any.
        parent: Option<Uuid>,
    },
}

/// Decodes text that may not be UTF-8 (Latin-1 then).
pub fn decode_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

/// The day a file was last written: no purchase on it is later.
fn file_day(entry: &Entry) -> Option<Date> {
    entry.modified_at.as_deref().and_then(Date::parse_iso)
}

fn doc_of<'a>(text: &'a str, msg: Option<&'a Message>, latest: Option<Date>, ocr: bool) -> Doc<'a> {
    match msg {
        Some(m) => Doc {
            text,
            from_name: &m.from_name,
            from_address: &m.from_address,
            subject: &m.subject,
            email_date: m.date,
            latest: m.date.or(latest),
            ocr,
        },
        None => Doc { text, latest, ocr, ..Default::default() },
    }
}

/// Whether an OCR reading's digits came from OCR rather than a PDF's text
/// layer.
fn read_by_ocr(engine: &str) -> bool {
    engine != "pdf-text-layer"
}

/// Reads a text and decides whether it is a receipt. `latest` is the day
/// the file was last written, when it is a file; `ocr`, whether OCR read it.
fn read_text(
    text: &str,
    msg: Option<&Message>,
    latest: Option<Date>,
    origin: &str,
    ocr: bool,
) -> Option<(Extracted, Verdict, String)> {
    let doc = doc_of(text, msg, latest, ocr);
    let extracted = extract::extract(&doc);
    let verdict = extract::verdict(&doc, &extracted);
    Some((extracted, verdict, origin.to_string()))
}

/// Reads a message: its body, then its attachments when the body is not a
/// receipt by itself.
fn read_message(client: &Client, msg: &Message, warnings: &mut Vec<String>) -> Reading {
    let mut text = format!("Subject: {}\nFrom: {} <{}>\n\n{}", msg.subject, msg.from_name, msg.from_address, msg.text);
    let body = read_text(&text, Some(msg), None, "the email body", false);
    if body.as_ref().is_some_and(|(_, v, _)| v.receipt) {
        return Reading { fields: body, text };
    }
    let mut best = body;
    for att in &msg.attachments {
        let lower = att.filename.to_lowercase();
        let xml_file = lower.ends_with(".xml") || att.content_type.ends_with("/xml");
        let (att_text, att_ocr, invoice) = if att.content_type == "text/html" || lower.ends_with(".html") {
            (mime::html_to_text(&att.data), false, None)
        } else if xml_file {
            let (invoice, text) = einvoice::parse_with_text(&decode_text(&att.data));
            (text, false, invoice)
        } else {
            match client.ocr(OcrSource::Bytes(&att.data), &[]) {
                Ok(r) => (r.text, read_by_ocr(&r.engine), r.embedded_xml.as_deref().and_then(einvoice::parse)),
                Err(e) => {
                    warnings.push(format!("attachment {} could not be read: {}", att.filename, e.message));
                    continue;
                }
            }
        };
        text.push_str(&format!("\n\n--- {} ---\n{att_text}", att.filename));
        // The attachment carries the receipt; the message adds the sender,
        // subject and date.
        let combined = format!("Subject: {}\n{att_text}", msg.subject);
        let mut reading = read_text(&combined, Some(msg), None, &format!("attachment {}", att.filename), att_ocr);
        if let Some(e) = invoice {
            // An XML attachment is the invoice itself, with no printed side.
            let printed = if xml_file { "" } else { att_text.as_str() };
            let name = format!("the e-invoice in attachment {}", att.filename);
            let (with_xml, warning) = einvoice::reading(&e, reading, printed, &name);
            reading = with_xml;
            warnings.extend(warning);
        }
        if reading.as_ref().is_some_and(|(_, v, _)| v.receipt) {
            return Reading { fields: reading, text };
        }
        if best.as_ref().is_none_or(|(e, _, _)| e.total.is_none()) {
            best = reading;
        }
    }
    Reading { fields: best, text }
}

/// Extracts, categorises and stores one read document.
#[allow(clippy::too_many_arguments)]
fn finish(
    client: &Client,
    settings: &Settings,
    reading: Reading,
    key: String,
    source: String,
    message: Option<&Message>,
    target: Target<'_>,
    entry_name: &str,
    key_checked: bool,
    warnings: &mut Vec<String>,
) -> Result<Outcome> {
    let Some((mut extracted, mut verdict, origin)) = reading.fields else {
        return Ok(Outcome::NotReceipt("no text".into()));
    };
    // The person's language model, for what extraction is unsure of, with
    // the same latest date extraction had.
    if settings.second_opinion && opinion::wanted(&extracted) {
        let file_day = match &target {
            Target::File(e) => file_day(e),
            Target::Virtual { .. } => None,
        };
        // Extraction is done: the verdict and the opinion read neither the
        // digits again nor `ocr`.
        let doc = doc_of(&reading.text, message, file_day, false);
        match opinion::apply(client, &reading.text, doc.latest, &mut extracted) {
            Ok(replaced) if !replaced.is_empty() => verdict = extract::verdict(&doc, &extracted),
            Ok(_) => {}
            Err(e) => warnings.push(format!("{source}: no second opinion ({})", e.message)),
        }
    }
    if !verdict.receipt {
        return Ok(Outcome::NotReceipt(verdict.reason));
    }
    // The same receipt again (the same file, or a copy, or the same
    // message), unless the caller has just looked.
    if !key_checked && store::find_by_key(client, &key)?.is_some() {
        return Ok(Outcome::Duplicate);
    }
    let Some(total) = &extracted.total else { return Ok(Outcome::NotReceipt("no total".into())) };
    let vendor = extracted.vendor.clone().map(|v| v.value).unwrap_or_else(|| "Unknown".into());
    // A receipt without a date is dated by its email, else by its file.
    let file_date = match &target {
        Target::File(e) => e.modified_at.as_deref().and_then(|t| t.get(..10)).map(str::to_string),
        Target::Virtual { .. } => None,
    };
    let (date, date_field) = match (&extracted.date, message.and_then(|m| m.date), file_date) {
        (Some(d), _, _) => (d.value.clone(), None),
        (None, Some(d), _) => {
            (d.iso(), Some(json!({ "value": d.iso(), "confidence": 0.6, "source": "the email's Date header" })))
        }
        (None, None, Some(d)) => {
            (d.clone(), Some(json!({ "value": d, "confidence": 0.3, "source": "the file's modification time" })))
        }
        (None, None, None) => (String::new(), None),
    };
    let currency = extracted.currency.clone().map(|c| c.value).unwrap_or_else(|| "USD".into());
    let choice = category::choose(client, &vendor, &reading.text, settings.remembered(&vendor))?;
    let confidences = [
        extracted.vendor.as_ref().map_or(0.2, |f| f.confidence),
        extracted.date.as_ref().map_or(0.2, |f| f.confidence),
        total.confidence,
        extracted.currency.as_ref().map_or(0.3, |f| f.confidence),
        choice.confidence,
    ];
    let confidence = confidences.iter().copied().fold(1.0f32, f32::min);
    let fields = Fields {
        vendor,
        date,
        total: total.value,
        currency,
        category: choice.category.clone(),
        category_source: choice.source.clone(),
        source,
        key,
        confidence: (f64::from(confidence) * 100.0).round() / 100.0,
    };
    let analysis = json!({
        "read_from": origin,
        "verdict": verdict,
        "fields": {
            "vendor": extracted.vendor,
            "date": date_field.unwrap_or_else(|| json!(extracted.date)),
            "total": extracted.total,
            "currency": extracted.currency,
            "category": { "value": choice.category, "confidence": choice.confidence, "source": choice.source },
        },
    });
    let metadata = store::metadata_of(&fields);
    let entry_id = match target {
        Target::File(entry) => {
            client.update_entry(entry.id, &metadata, &[], Some(RECEIPT))?;
            entry.id
        }
        Target::Virtual { parent } => {
            client
                .create_entry(&NewEntry { name: entry_name.to_string(), kind: Some(RECEIPT.into()), parent, metadata })?
                .id
        }
    };
    let mut text = reading.text;
    if text.len() > MAX_TEXT_SIDECAR {
        let mut cut = MAX_TEXT_SIDECAR;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    client.write_sidecar_text(entry_id, TEXT_SIDECAR, &text)?;
    client.write_sidecar_bytes(
        entry_id,
        ANALYSIS_SIDECAR,
        "application/json",
        &serde_json::to_vec_pretty(&analysis)?,
    )?;
    Ok(Outcome::Imported)
}

/// A name for a message's entry: one path component.
fn entry_name(msg: &Message) -> String {
    let base = if msg.subject.trim().is_empty() { "Receipt".to_string() } else { msg.subject.trim().to_string() };
    let clean: String = base.chars().map(|c| if c == '/' || c == '\0' || c.is_control() { ' ' } else { c }).collect();
    let clean: String = clean.chars().take(120).collect();
    match clean.trim() {
        "" | "." | ".." => "Receipt".into(),
        s => s.to_string(),
    }
}

/// The key of a message: its Message-ID, else a hash of its bytes.
pub fn message_key(msg: &Message, raw: &[u8]) -> String {
    match &msg.message_id {
        Some(id) => format!("message-id:{id}"),
        None => format!("blake3:{}", blake3::hash(raw).to_hex()),
    }
}

/// Imports one message (from an mbox or Gmail) as a virtual entry.
pub fn import_message(
    client: &Client,
    settings: &Settings,
    raw: &[u8],
    source: &str,
    parent: Option<Uuid>,
    warnings: &mut Vec<String>,
) -> Result<Outcome> {
    let msg = mime::parse(raw).map_err(Error::invalid)?;
    let key = message_key(&msg, raw);
    if store::find_by_key(client, &key)?.is_some() {
        return Ok(Outcome::Duplicate);
    }
    warnings.extend(msg.problems.iter().cloned());
    let reading = read_message(client, &msg, warnings);
    let source = match &msg.message_id {
        Some(id) => format!("{source} <{id}>"),
        None => source.to_string(),
    };
    let name = entry_name(&msg);
    finish(client, settings, reading, key, source, Some(&msg), Target::Virtual { parent }, &name, true, warnings)
}

/// The file types `import` reads, by extension.
pub fn supported(name: &str) -> Option<&'static str> {
    let lower = name.to_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "eml" => "eml",
        "mbox" => "mbox",
        "pdf" | "png" | "jpg" | "jpeg" | "jfif" | "jpe" | "tif" | "tiff" | "webp" | "bmp" | "gif" => "ocr",
        "html" | "htm" => "html",
        "txt" => "txt",
        "xml" => "xml",
        _ => return None,
    })
}

/// Imports one indexed file (not an mbox: those go message by message).
/// `ahead` names the scans the caller will import next, for the host to
/// start reading them on idle cores.
pub fn import_file(
    client: &Client,
    settings: &Settings,
    entry: &Entry,
    ahead: &[Uuid],
    warnings: &mut Vec<String>,
) -> Result<Outcome> {
    let path = entry.path.clone().unwrap_or_else(|| entry.name.clone());
    let kind = supported(&entry.name).ok_or_else(|| Error::invalid(format!("{path}: not a receipt format")))?;
    let content_key = entry.content_hash.as_ref().map(|h| format!("blake3:{h}"));
    // Unchanged since it was imported: nothing to do. (An email is known
    // by its Message-ID instead, looked up once it is parsed.)
    if kind != "eml"
        && let Some(key) = &content_key
        && store::find_by_key(client, key)?.is_some()
    {
        return Ok(Outcome::Duplicate);
    }
    let latest = file_day(entry);
    let (reading, key, message) = match kind {
        "eml" => {
            // An email's headers and text come first: a huge attachment at
            // its end need not be read to find its receipt.
            let (raw, size, _) = client.read_file_span(entry.id, 0, MAX_MESSAGE_BYTES)?;
            if size > MAX_MESSAGE_BYTES {
                warnings.push(format!(
                    "{path}: the email is {} MB; only its first {} MB were read, so attachments past them are skipped",
                    size / 1_000_000,
                    MAX_MESSAGE_BYTES / 1_000_000
                ));
            }
            let msg = mime::parse(&raw).map_err(Error::invalid)?;
            let key = match &msg.message_id {
                Some(_) => message_key(&msg, &raw),
                None => content_key.clone().unwrap_or_else(|| message_key(&msg, &raw)),
            };
            warnings.extend(msg.problems.iter().map(|p| format!("{path}: {p}")));
            let mut att_warnings = Vec::new();
            let reading = read_message(client, &msg, &mut att_warnings);
            warnings.extend(att_warnings.into_iter().map(|w| format!("{path}: {w}")));
            (reading, key, Some(msg))
        }
        "ocr" => {
            let ocr = client.ocr_reading_ahead(entry.id, &[], ahead)?;
            let mut fields =
                read_text(&ocr.text, None, latest, &format!("{} of the file", ocr.engine), read_by_ocr(&ocr.engine));
            if let Some(e) = ocr.embedded_xml.as_deref().and_then(einvoice::parse) {
                let (with_xml, warning) = einvoice::reading(&e, fields, &ocr.text, "the e-invoice inside the PDF");
                fields = with_xml;
                warnings.extend(warning.map(|w| format!("{path}: {w}")));
            }
            (Reading { fields, text: ocr.text }, content_key.clone().unwrap_or_default(), None)
        }
        "xml" => {
            let raw = client.read_file(entry.id, einvoice::MAX_XML_BYTES as u64)?;
            let xml = decode_text(&raw);
            let (invoice, text) = einvoice::parse_with_text(&xml);
            let fields = match invoice {
                Some(e) => einvoice::reading(&e, None, "", "the e-invoice").0,
                None => {
                    let why = "XML, but no e-invoice (Cross Industry Invoice or UBL)".to_string();
                    Some((Extracted::default(), Verdict { receipt: false, reason: why }, "the XML file".into()))
                }
            };
            (Reading { fields, text }, content_key.clone().unwrap_or_else(|| hash_key(&raw)), None)
        }
        "html" => {
            let raw = client.read_file(entry.id, MAX_MESSAGE_BYTES)?;
            let text = mime::html_to_text(&raw);
            let fields = read_text(&text, None, latest, "the HTML file", false);
            (Reading { fields, text }, content_key.clone().unwrap_or_else(|| hash_key(&raw)), None)
        }
        _ => {
            let raw = client.read_file(entry.id, MAX_MESSAGE_BYTES)?;
            let text = decode_text(&raw);
            let fields = read_text(&text, None, latest, "the text file", false);
            (Reading { fields, text }, content_key.clone().unwrap_or_else(|| hash_key(&raw)), None)
        }
    };
    let key = if key.is_empty() { format!("entry:{}", entry.id) } else { key };
    let source = match message.as_ref().and_then(|m| m.message_id.as_ref()) {
        Some(id) => format!("{path} <{id}>"),
        None => path,
    };
    let checked = kind != "eml" && content_key.as_deref() == Some(key.as_str());
    finish(
        client,
        settings,
        reading,
        key,
        source,
        message.as_ref(),
        Target::File(entry),
        &entry.name,
        checked,
        warnings,
    )
}

fn hash_key(raw: &[u8]) -> String {
    format!("blake3:{}", blake3::hash(raw).to_hex())
}

/// Metadata to set when a person recategorises.
pub fn recategorized(category: &str) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    m.insert("category".into(), json!(category));
    m.insert("category_source".into(), json!("person"));
    m
}
