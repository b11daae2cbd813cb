//! Prints what Finance extracts from a text on standard input (an OCR
//! reading, a text or HTML receipt), with where each field came from: for looking
//! into a document it gets wrong.
//!
//! `tesseract receipt.jpg - --psm 4 | cargo run -p finance --example extract --target "$(rustc -vV | sed -n 's/^host: //p')"`

use std::io::Read;

use finance::extract::{self, Doc};

fn main() {
    let mut text = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut text) {
        eprintln!("cannot read standard input: {e}");
        std::process::exit(2);
    }
    // An HTML receipt is read as Finance reads one.
    if text.trim_start().starts_with('<') {
        text = finance::mime::html_to_text(text.as_bytes());
    }
    // Text piped in here is usually Tesseract's.
    let doc = Doc { text: &text, ocr: true, ..Default::default() };
    let e = extract::extract(&doc);
    let v = extract::verdict(&doc, &e);
    match serde_json::to_string_pretty(&serde_json::json!({ "fields": e, "verdict": v })) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("{e}"),
    }
}
