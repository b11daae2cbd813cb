//! Emails and mailboxes: RFC 5322 messages (any charset and transfer
//! encoding, through `mailparse`), mbox files split into messages, and HTML
//! bodies turned into text.

use crate::dates::{self, Date};

/// Largest attachment read for receipts; larger ones are skipped with a
/// warning.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
/// Deepest MIME nesting followed.
const MAX_DEPTH: usize = 8;
/// Most parts read from one message.
const MAX_PARTS: usize = 64;

/// A file attached to a message.
#[derive(Debug, Clone)]
pub struct Attachment {
    /// File name, when it has one.
    pub filename: String,
    /// MIME type, lowercase.
    pub content_type: String,
    /// Decoded content.
    pub data: Vec<u8>,
}

/// What a receipt reader needs of a message.
#[derive(Debug, Clone, Default)]
pub struct Message {
    /// `Message-ID`, without angle brackets.
    pub message_id: Option<String>,
    /// The sender's display name.
    pub from_name: String,
    /// The sender's address, lowercase.
    pub from_address: String,
    /// Subject.
    pub subject: String,
    /// The `Date:` header.
    pub date: Option<Date>,
    /// The text body, or the HTML body as text.
    pub text: String,
    /// Attachments that may hold a receipt (PDFs and images).
    pub attachments: Vec<Attachment>,
    /// Problems met that did not stop the parse (a part too large, a part
    /// that failed to decode).
    pub problems: Vec<String>,
}

impl Message {
    /// The domain of the sender's address.
    pub fn from_domain(&self) -> &str {
        self.from_address.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

/// HTML as plain text, tables laid out as rows so a label and its amount
/// stay on one line.
pub fn html_to_text(html: &[u8]) -> String {
    // The renderer recurses per nested element: a hostile document nested
    // thousands deep would overflow the stack, so such pages lose their
    // layout instead.
    if nesting_depth(html) > MAX_HTML_DEPTH {
        return strip_tags(&String::from_utf8_lossy(html));
    }
    match html2text::config::plain_no_decorate().no_table_borders().string_from_read(html, 160) {
        Ok(text) => text,
        // Malformed beyond what the parser recovers from: strip tags instead.
        Err(_) => strip_tags(&String::from_utf8_lossy(html)),
    }
}

/// Deepest HTML nesting rendered with its layout.
const MAX_HTML_DEPTH: usize = 256;

/// How deep tags nest, roughly: opening tags minus closing tags, never
/// counting void elements' lack of a closing tag against the page (the
/// estimate only has to err high on pathological input).
fn nesting_depth(html: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut i = 0;
    while i + 1 < html.len() {
        if html[i] == b'<' {
            match html[i + 1] {
                b'/' => depth = depth.saturating_sub(1),
                c if c.is_ascii_alphabetic() => {
                    let tag: Vec<u8> = html[i + 1..]
                        .iter()
                        .take_while(|b| b.is_ascii_alphanumeric())
                        .map(u8::to_ascii_lowercase)
                        .collect();
                    let void = [
                        &b"br"[..],
                        b"img",
                        b"hr",
                        b"meta",
                        b"link",
                        b"input",
                        b"wbr",
                        b"col",
                        b"area",
                        b"base",
                        b"source",
                    ]
                    .contains(&tag.as_slice());
                    if !void {
                        depth += 1;
                        max = max.max(depth);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    max
}

fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

fn header(mail: &mailparse::ParsedMail<'_>, name: &str) -> Option<String> {
    use mailparse::MailHeaderMap;
    mail.headers.get_first_value(name).map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Parses one message. Fails only when there are no headers at all.
pub fn parse(raw: &[u8]) -> Result<Message, String> {
    let mail = mailparse::parse_mail(raw).map_err(|e| format!("not an email: {e}"))?;
    if mail.headers.is_empty() {
        return Err("not an email: no headers".into());
    }
    let has_any = ["from", "subject", "date", "message-id", "content-type"].iter().any(|h| header(&mail, h).is_some());
    if !has_any {
        return Err("not an email: none of From, Subject, Date, Message-ID or Content-Type".into());
    }
    let mut msg = Message {
        message_id: header(&mail, "Message-ID")
            .map(|id| id.trim_matches(|c: char| c == '<' || c == '>' || c.is_whitespace()).to_string())
            .filter(|id| !id.is_empty()),
        subject: header(&mail, "Subject").unwrap_or_default(),
        date: header(&mail, "Date").and_then(|d| dates::email_date(&d)),
        ..Default::default()
    };
    if let Some(from) = header(&mail, "From") {
        match mailparse::addrparse(&from).ok().and_then(|list| list.extract_single_info()) {
            Some(info) => {
                msg.from_name = info.display_name.unwrap_or_default();
                msg.from_address = info.addr.to_lowercase();
            }
            None => msg.from_name = from,
        }
    }
    let mut plain = Vec::new();
    let mut html = Vec::new();
    let mut parts = 0;
    walk(&mail, 0, &mut parts, &mut plain, &mut html, &mut msg);
    // A text body is what the sender wrote for people without HTML; when it
    // is a stub ("view this email in a browser") the HTML says more.
    let plain_text = plain.join("\n");
    let html_text = html.iter().map(|h| html_to_text(h.as_bytes())).collect::<Vec<_>>().join("\n");
    msg.text = if plain_is_the_body(&plain_text, &html_text) { plain_text } else { html_text };
    Ok(msg)
}

/// Phrases of a text part that only points at the HTML one.
const STUB_PHRASES: &[&str] = &[
    "in a browser",
    "in your browser",
    "in a web browser",
    "html version",
    "html-version",
    "view this email",
    "view this receipt",
    "view your receipt",
    "view it online",
    "does not support html",
    "doesn't support html",
    "enable html",
    "im browser",
    "dans votre navigateur",
];

/// Whether the text part is the body: it is not empty, not a stub pointing
/// at the HTML, and not missing the amounts the HTML part has.
fn plain_is_the_body(plain: &str, html: &str) -> bool {
    let p = plain.trim();
    if p.is_empty() {
        return false;
    }
    if html.trim().is_empty() {
        return true;
    }
    let has_price = |t: &str| t.lines().any(|l| crate::money::amounts(l).iter().any(crate::money::is_price));
    let lower = p.to_lowercase();
    let stub = STUB_PHRASES.iter().any(|s| lower.contains(s)) && p.len() < 2000;
    !stub && (has_price(p) || !has_price(html)) && p.len() >= html.trim().len() / 3
}

fn walk(
    part: &mailparse::ParsedMail<'_>,
    depth: usize,
    count: &mut usize,
    plain: &mut Vec<String>,
    html: &mut Vec<String>,
    msg: &mut Message,
) {
    *count += 1;
    if depth > MAX_DEPTH || *count > MAX_PARTS {
        return;
    }
    let ctype = part.ctype.mimetype.to_lowercase();
    if ctype.starts_with("multipart/") {
        for sub in &part.subparts {
            walk(sub, depth + 1, count, plain, html, msg);
        }
        return;
    }
    let disposition = part.get_content_disposition();
    let filename =
        disposition.params.get("filename").or_else(|| part.ctype.params.get("name")).cloned().unwrap_or_default();
    let is_attachment = disposition.disposition == mailparse::DispositionType::Attachment || !filename.is_empty();
    if ctype == "message/rfc822" {
        match part.get_body_raw().ok().map(|raw| parse(&raw)) {
            Some(Ok(inner)) => {
                plain.push(inner.text);
                msg.attachments.extend(inner.attachments);
            }
            _ => msg.problems.push("a forwarded message could not be read".into()),
        }
        return;
    }
    if !is_attachment && (ctype == "text/plain" || ctype == "text/html") {
        match part.get_body() {
            Ok(body) if ctype == "text/plain" => plain.push(body),
            Ok(body) => html.push(body),
            Err(e) => msg.problems.push(format!("a {ctype} part could not be decoded: {e}")),
        }
        return;
    }
    let lower = filename.to_lowercase();
    // XML: an e-invoice (XRechnung, Peppol) sent as a file.
    let wanted = ctype == "application/pdf"
        || ctype.starts_with("image/")
        || ctype == "text/html"
        || ctype.ends_with("/xml")
        || [
            ".pdf", ".png", ".jpg", ".jpeg", ".jfif", ".tif", ".tiff", ".webp", ".bmp", ".gif", ".html", ".htm", ".xml",
        ]
        .iter()
        .any(|e| lower.ends_with(e));
    if !wanted {
        return;
    }
    // The encoded size bounds the decoded one; check it before decoding.
    let encoded = match part.get_body_encoded() {
        mailparse::body::Body::Base64(b) | mailparse::body::Body::QuotedPrintable(b) => b.get_raw().len(),
        mailparse::body::Body::SevenBit(b) | mailparse::body::Body::EightBit(b) => b.get_raw().len(),
        mailparse::body::Body::Binary(b) => b.get_raw().len(),
    };
    let shown = if filename.is_empty() { ctype.clone() } else { filename.clone() };
    if encoded / 4 * 3 > MAX_ATTACHMENT_BYTES {
        msg.problems.push(format!(
            "attachment {shown} is about {} MB, over the {} MB limit: skipped",
            encoded / 4 * 3 / 1_000_000,
            MAX_ATTACHMENT_BYTES / 1_000_000
        ));
        return;
    }
    match part.get_body_raw() {
        Ok(data) => msg.attachments.push(Attachment { filename, content_type: ctype, data }),
        Err(e) => msg.problems.push(format!("attachment {shown} could not be decoded: {e}")),
    }
}

/// Splits an mbox file into its messages (mboxo and mboxrd: `>From ` lines
/// are unquoted). Each message comes with its 1-based position.
pub fn split_mbox(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    for line in data.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"From ") {
            if let Some(m) = current.take() {
                out.push(m);
            }
            current = Some(Vec::new());
            continue;
        }
        let Some(m) = current.as_mut() else { continue };
        let quoted = line.iter().position(|&b| b != b'>').is_some_and(|i| i > 0 && line[i..].starts_with(b"From "));
        m.extend_from_slice(if quoted { &line[1..] } else { line });
    }
    if let Some(m) = current {
        out.push(m);
    }
    out
}

/// Whether bytes look like an mbox file rather than a single message.
pub fn looks_like_mbox(data: &[u8]) -> bool {
    data.starts_with(b"From ")
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_text_part_that_points_at_the_html_is_not_the_body() {
        let html = "Acme Coffee\nLatte $4.50\nTotal $4.50";
        assert!(!plain_is_the_body("View this receipt in your browser: https://acme.example/r/1", html));
        assert!(!plain_is_the_body("Thanks for your order!", html));
        assert!(plain_is_the_body("Acme Coffee\nLatte $4.50\nTotal $4.50\n", html));
    }

    use super::*;

    #[test]
    fn deep_html_is_read_without_recursion() {
        let deep = format!("{}Total $5.00{}", "<div>".repeat(100_000), "</div>".repeat(100_000));
        assert!(html_to_text(deep.as_bytes()).contains("Total $5.00"));
        let table = "<table><tr><td>Total</td><td>$5.00</td></tr></table>";
        assert!(html_to_text(table.as_bytes()).contains("Total"));
    }

    #[test]
    fn mbox_splits_and_unquotes() {
        let mbox = b"From a\nSubject: one\n\n>From here\nFrom b\nSubject: two\n\nbody\n";
        let msgs = split_mbox(mbox);
        assert_eq!(msgs.len(), 2);
        assert!(String::from_utf8_lossy(&msgs[0]).contains("\nFrom here"));
    }
}
