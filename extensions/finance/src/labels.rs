//! Matching the labels printed on receipts (`TOTAL`, `Rückgeld`, `Amount
//! due`) in text that OCR has read: `Tota!`, `TolalAmtRounded`, `SU MME`.

use std::sync::LazyLock;

use regex::Regex;

static WORD: LazyLock<Regex> = LazyLock::new(|| {
    #[allow(clippy::unwrap_used)] // constant pattern
    Regex::new(r"[\p{L}\p{N}&'’!|\[\]]+").unwrap()
});

/// Drops the accents of Latin letters (OCR often loses them).
pub fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'ą' => 'a',
            'è' | 'é' | 'ê' | 'ë' | 'ę' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            'ç' | 'ć' => 'c',
            'ñ' | 'ń' => 'n',
            'ł' => 'l',
            'ś' => 's',
            'ź' | 'ż' => 'z',
            c => c,
        })
        .collect()
}

/// Splits `TolalAmtRounded` where a lowercase letter meets a capital; a
/// word in one case stays whole.
pub(crate) fn split_camel(word: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut prev_lower = false;
    for (i, c) in word.char_indices() {
        if c.is_uppercase() && prev_lower {
            parts.push(&word[start..i]);
            start = i;
        }
        prev_lower = c.is_lowercase();
    }
    parts.push(&word[start..]);
    parts
}

/// Reads characters OCR put for letters inside a word (`Tota!`, `T0TAL`,
/// `5UBTOTAL`) as those letters. A token that is mostly digits is a number
/// and stays as it is.
fn letters_for_lookalikes(word: &str) -> String {
    let letters = word.chars().filter(|c| c.is_alphabetic()).count();
    let digits = word.chars().filter(char::is_ascii_digit).count();
    if letters < 2 || digits * 2 >= letters + digits {
        return word.trim_matches(['!', '|', '[', ']']).to_string();
    }
    let mut out = String::new();
    for (i, c) in word.chars().enumerate() {
        out.push(match c {
            '0' => 'o',
            '1' => 'l',
            '!' | '|' | ']' | '[' if i > 0 => 'l',
            '5' => 's',
            '8' => 'b',
            '!' | '|' | ']' | '[' => continue,
            c => c,
        });
    }
    out
}

/// The words of a line as labels are matched: lowercase, accents dropped,
/// look-alike characters read as letters, glued words split.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for m in WORD.find_iter(line) {
        for part in split_camel(m.as_str()) {
            let w = letters_for_lookalikes(&fold(&part.to_lowercase().replace('’', "'")));
            if !w.is_empty() {
                out.push(w);
            }
        }
    }
    out
}

/// Digits whose strokes thermal print loses, as OCR then reads them, and
/// the digit meant: `98.10.16` for `08.10.16`, `18.05.29` for `18.05.20`,
/// `2618` for `2018`, `34.56` for `34.50`.
pub(crate) const DIGIT_MISREADS: &[(char, char)] =
    &[('9', '0'), ('8', '0'), ('6', '0'), ('3', '8'), ('6', '8'), ('5', '6')];

/// Receipt words close to each other in spelling; each matches only itself.
const VOCABULARY: &[&str] = &[
    "total", "totale", "totalt", "totaal", "totals", "subtotal", "summe", "summa", "sum", "betrag", "netto", "nett",
    "brutto", "amount", "amounts", "paid", "payment", "round", "rounded", "rounding", "change", "charge", "charged",
    "cash", "card", "date", "data", "datum", "dated", "item", "items", "gesamt", "saved", "saving", "savings",
    "balance", "tendered", "payable", "invoice", "invoices", "kaufen",
];

/// Characters OCR confuses with each other; swapping two of one group
/// costs half an edit.
const LOOKALIKES: &[&str] = &["il1t!|jf", "oc0eaq", "s5$", "b8h6", "g9q", "z2", "nmhru", "vwy"];

fn cost(a: char, b: char) -> f32 {
    if a == b {
        0.0
    } else if LOOKALIKES.iter().any(|g| g.contains(a) && g.contains(b)) {
        0.5
    } else {
        1.0
    }
}

/// Pairs of characters OCR reads for one (`Sumnie` for `Summe`); reading
/// one such pair for its letter costs half an edit.
const SPLIT_LETTERS: &[(char, char, char)] =
    &[('r', 'n', 'm'), ('n', 'i', 'm'), ('i', 'n', 'm'), ('n', 'n', 'm'), ('v', 'v', 'w'), ('c', 'l', 'd')];

/// Edit distance where swapping look-alike characters, or reading a split
/// letter, costs half. Written here because the distance crates (`strsim`)
/// have no per-character costs.
pub(crate) fn ocr_distance(a: &str, b: &str) -> f32 {
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<f32> = vec![f32::INFINITY; b.len() + 1];
    let mut prev: Vec<f32> = (0..=b.len()).map(|i| i as f32).collect();
    let mut cur = vec![0.0f32; b.len() + 1];
    let mut last = None;
    for (i, ca) in a.chars().enumerate() {
        cur[0] = (i + 1) as f32;
        for (j, &cb) in b.iter().enumerate() {
            let split = last.is_some_and(|cl| SPLIT_LETTERS.contains(&(cl, ca, cb)));
            cur[j + 1] = (prev[j] + cost(ca, cb)).min(prev[j + 1] + 1.0).min(cur[j] + 1.0).min(if split {
                before[j] + 0.5
            } else {
                f32::INFINITY
            });
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
        last = Some(ca);
    }
    prev[b.len()]
}

/// Whether a word read by OCR is the label word `want`: exactly for short
/// words (`tax`, `net`, `bar`), with one look-alike swap for words of four
/// letters, within one edit for longer ones, one and a half from eight.
pub fn near(read: &str, want: &str) -> bool {
    if read == want {
        return true;
    }
    // A word spelled right is that word, not a misreading of a neighbour
    // (`totale` is not `total`, `netto` not `nett`).
    if VOCABULARY.contains(&read) {
        return false;
    }
    let n = want.chars().count();
    if n < 4 || read.chars().count().abs_diff(n) > 1 {
        return false;
    }
    // Four letters leave room only for one look-alike swap (`Pad` is not
    // `paid`); longer words for one edit, or one and a half from eight.
    let allowed = match n {
        4 if read.chars().count() != 4 => return false,
        4 => 0.5,
        5..=7 => 1.0,
        _ => 1.5,
    };
    ocr_distance(read, want) <= allowed
}

/// Whether a word read by OCR is `want` misread only in its look-alike
/// characters (`TAMAM` for `TAMAN`): once in five to seven letters, twice
/// from eight. Stricter than [`near`], for words that rule a line out:
/// one edit of any kind turns `bandar` into `kandar` and `details` into
/// `retails`, which name businesses.
pub fn lookalike(read: &str, want: &str) -> bool {
    if read == want {
        return true;
    }
    let n = want.chars().count();
    if n < 5 || read.chars().count() != n {
        return false;
    }
    let allowed = if n >= 8 { 1.0 } else { 0.5 };
    ocr_distance(read, want) <= allowed
}

/// Where `phrase` (words separated by spaces) stands in `words`: the index
/// of its first word and how many words it took. A label word may have been
/// split in two by OCR (`SU MME`).
pub fn find_phrase(words: &[String], phrase: &str) -> Option<(usize, usize)> {
    let p: Vec<&str> = phrase.split(' ').collect();
    'start: for i in 0..words.len() {
        let mut at = i;
        for want in &p {
            let Some(w) = words.get(at) else { continue 'start };
            if near(w, want) {
                at += 1;
                continue;
            }
            match words.get(at + 1) {
                Some(next) if want.len() >= 4 && near(&format!("{w}{next}"), want) => at += 2,
                _ => continue 'start,
            }
        }
        return Some((i, at - i));
    }
    None
}

/// Whether one of `words` is spelled exactly as one of `list` (no OCR
/// tolerance: for words that decide little alone).
pub fn has_word(words: &[String], list: &[&str]) -> bool {
    words.iter().any(|w| list.contains(&w.as_str()))
}

/// Whether `phrase` stands in `words`.
pub fn has_phrase(words: &[String], phrase: &str) -> bool {
    find_phrase(words, phrase).is_some()
}

/// The words of `w` without the first occurrence of `phrase`.
pub fn without(w: &[String], phrase: &str) -> Vec<String> {
    match find_phrase(w, phrase) {
        Some((i, n)) => w[..i].iter().chain(&w[i + n..]).cloned().collect(),
        None => w.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(line: &str, phrase: &str) -> bool {
        has_phrase(&words(line), phrase)
    }

    #[test]
    fn ocr_misreadings_of_labels_match() {
        assert!(has("Tota! Incl. of GST 15.90", "total"));
        assert!(has("TolalAmtRounded 15.90", "total"));
        assert!(has("TolalAmtRounded 15.90", "rounded"));
        assert!(has("Subtoiat 12.00", "subtotal"));
        assert!(has("SU MME EUR 12,00", "summe"));
        assert!(has("T0TAL 3.00", "total"));
        assert!(has("Zu zahlen 7,16", "zu zahlen"));
        assert!(has("Gesamtbetrag 7,16", "gesamtbetrag"));
        assert!(has("Sumnie 134,39", "summe"));
        assert!(has("Surnme 134,39", "summe"));
    }

    #[test]
    fn other_words_do_not() {
        assert!(!has("Rounding Adj -0.01", "rounded"));
        assert!(!has("Subtotal 12.00", "total"));
        assert!(!has("Tax 1.00", "tip"));
        assert!(!has("Postal code", "total"));
        assert!(!has("Tote bag 3.00", "total"));
        assert!(!has("Pad Thai 20.82", "paid"));
    }

    #[test]
    fn lookalikes_only() {
        assert!(lookalike("tamam", "taman"));
        assert!(lookalike("persiaran", "persiaran"));
        assert!(lookalike("perslaran", "persiaran"));
        assert!(!lookalike("kandar", "bandar"));
        assert!(!lookalike("retails", "details"));
        assert!(!lookalike("lumber", "number"));
        assert!(!lookalike("flour", "floor"));
        assert!(!lookalike("unlt", "unit"));
    }
}
