//! Text from images and PDFs.
//!
//! Images go through the `tesseract` command of Debian's `tesseract-ocr`
//! rather than a binding crate: the command needs no libtesseract headers or
//! clang at build time, a crash or hang inside Tesseract cannot take the
//! daemon with it, and a run past its deadline is killed. PDFs go through
//! poppler-utils (`pdfinfo`, `pdftotext`, `pdftoppm`) for the same reasons:
//! the text layer when a page has a usable one, otherwise the page is
//! rasterised at 300 dpi and read by Tesseract. A text layer is unusable
//! when it is nearly empty or when it is the font's glyph numbers rather
//! than text, as `pdftotext` gives for a font embedded without a Unicode
//! map (`7RWDO\u{3}(85` for `Total EUR`).
//!
//! Before Tesseract, an image is prepared (see [`prepare`]): cut to its paper
//! and, when its text is small, enlarged. A page read badly is checked with
//! Tesseract's orientation detection and, when turned, read again upright.
//!
//! A PDF e-invoice (ZUGFeRD, Factur-X) carries its data as an XML file
//! embedded in the PDF; `pdfdetach` takes it out, and it is returned beside
//! the text for the caller to read.
//!
//! Receipts put amounts in a right-aligned column. Tesseract runs with page
//! segmentation mode 4 (one column of text of variable sizes), which reads a
//! row across the page; lines Tesseract still splits into separate blocks are
//! joined back when they share the same band of the page, so an amount stays
//! on its label's line.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::prepare;
use crate::error::{OpError, OpResult};

/// Largest input read for OCR, in bytes.
pub const MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;
/// Largest image, in pixels (about 8000 × 5000).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Most PDF pages without a text layer OCR'd in one call.
pub const MAX_OCR_PAGES: u32 = 20;
/// Most PDF pages read from a text layer in one call.
pub const MAX_TEXT_PAGES: u32 = 2000;
/// Deadline of one Tesseract run (one image or page).
const PAGE_TIMEOUT: Duration = Duration::from_secs(120);
/// Largest XML file taken out of a PDF, in bytes: e-invoices are tens of
/// kilobytes, and a compressed stream can unpack to far more than its PDF.
pub const MAX_EMBEDDED_XML: usize = 4 * 1024 * 1024;
/// Names under which the e-invoice standards embed their XML (ZUGFeRD 1 and
/// 2, Factur-X, XRechnung), preferred over any other XML attachment.
const E_INVOICE_NAMES: [&str; 3] = ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"];
/// Deadline of one poppler command.
const PDF_TIMEOUT: Duration = Duration::from_secs(60);
/// Most of a child's stderr kept for its error message.
const MAX_STDERR: usize = 64 * 1024;
/// Most output read from a child process.
const MAX_CHILD_OUTPUT: usize = 64 * 1024 * 1024;
/// A PDF page with fewer non-blank characters has no usable text layer.
const MIN_PAGE_TEXT: usize = 16;
/// A PDF page whose text layer has at least this many characters no text
/// holds (control characters, U+FFFD), and at least one in a hundred of
/// its characters, reads its glyph numbers. Private-use code points are
/// not counted: symbol fonts map their bullets and ticks there.
const MIN_GARBLED_CHARS: usize = 3;
/// Latin letters a text layer needs before its share of vowels is judged.
const MIN_LETTERS_FOR_VOWELS: usize = 60;
/// Tesseract's page segmentation mode (see the module comment).
const PSM: &str = "4";
/// A reading with fewer well-read words is checked for a turned page.
const POOR_READING: usize = 10;
/// Orientation detection below this confidence is not acted on (Tesseract
/// reports about 1 for a guess and well over 2 for a clear page).
const MIN_ORIENTATION_CONFIDENCE: f32 = 1.5;

/// A bounding box in pixels of the page image as a viewer shows it (its
/// EXIF orientation applied; PDF pages: at 300 dpi).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BBox {
    /// Left edge.
    pub x: u32,
    /// Top edge.
    pub y: u32,
    /// Width.
    pub width: u32,
    /// Height.
    pub height: u32,
}

/// One line of recognised text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OcrLine {
    /// The line's words, separated by single spaces; in a PDF's text layer,
    /// columns of words are separated by three.
    pub text: String,
    /// Mean word confidence, 0 to 100 (100 for a PDF text layer).
    pub confidence: f32,
    /// Where the line is; absent for text read from a PDF text layer.
    pub bbox: Option<BBox>,
    /// Page number, from 1.
    pub page: u32,
}

/// What OCR produced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct OcrOutput {
    /// All text, one line per line, pages separated by a blank line.
    pub text: String,
    /// The lines with their boxes and confidence.
    pub lines: Vec<OcrLine>,
    /// Number of pages read.
    pub pages: u32,
    /// Which path produced the text: `tesseract` (an image),
    /// `pdf-text-layer`, `pdf-ocr`, or `pdf-text-layer+ocr` (mixed pages).
    pub engine: String,
    /// Whether the result came from the cache.
    pub cached: bool,
    /// The XML file a PDF carries inside it, when it has one: the
    /// machine-readable half of a ZUGFeRD or Factur-X e-invoice (UTF-8, at
    /// most [`MAX_EMBEDDED_XML`] bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub embedded_xml: Option<String>,
}

/// What kind of document some bytes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Png,
    Jpeg,
    Tiff,
    Webp,
    /// Read by converting to PNG first: Tesseract's Leptonica may be built
    /// without them, and `prepare` then works on every image alike.
    Bmp,
    Gif,
    Pdf,
}

fn sniff(data: &[u8]) -> OpResult<Format> {
    let starts = |p: &[u8]| data.starts_with(p);
    Ok(if starts(b"\x89PNG\r\n\x1a\n") {
        Format::Png
    } else if starts(&[0xFF, 0xD8, 0xFF]) {
        Format::Jpeg
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        Format::Tiff
    } else if data.len() >= 12 && starts(b"RIFF") && &data[8..12] == b"WEBP" {
        Format::Webp
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        Format::Gif
    } else if data.len() >= 18
        && starts(b"BM")
        && [12, 40, 52, 56, 64, 108, 124].contains(&data[14])
        && data[15..18] == [0, 0, 0]
    {
        // `BM` alone starts too much text; the info header's size follows.
        Format::Bmp
    } else if data.len() >= 5 && data[..1024.min(data.len())].windows(5).any(|w| w == b"%PDF-") {
        Format::Pdf
    } else {
        return Err(OpError::invalid(
            "the data is not an image or PDF that OCR reads: send PNG, JPEG, TIFF, WebP, BMP, GIF or PDF bytes",
        ));
    })
}

/// Checks a language list (`eng`, `deu+fra`, ...) against what Tesseract
/// has installed, and joins it for `-l`.
async fn language_arg(languages: &[String]) -> OpResult<String> {
    if languages.is_empty() {
        return Ok("eng".to_string());
    }
    if languages.len() > 8 {
        return Err(OpError::invalid("at most 8 OCR languages may be combined"));
    }
    let installed = installed_languages().await?;
    for l in languages {
        let ok = (1..=16).contains(&l.len()) && l.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if !ok {
            return Err(OpError::invalid(format!("`{l}` is not a Tesseract language code such as `eng` or `deu`")));
        }
        if !installed.iter().any(|i| i == l) {
            return Err(OpError::invalid(format!(
                "OCR language `{l}` is not installed (installed: {}); install it with `apt-get install tesseract-ocr-{}`",
                installed.join(", "),
                l.replace('_', "-")
            )));
        }
    }
    Ok(languages.join("+"))
}

async fn installed_languages() -> OpResult<Vec<String>> {
    static LANGS: tokio::sync::OnceCell<Vec<String>> = tokio::sync::OnceCell::const_new();
    LANGS
        .get_or_try_init(|| async {
            let out = run("tesseract", &["--list-langs"], None, PDF_TIMEOUT).await?;
            Ok(String::from_utf8_lossy(&out)
                .lines()
                .skip(1)
                .map(|l| l.trim().to_string())
                .filter(|l| !l.is_empty())
                .collect())
        })
        .await
        .cloned()
}

fn missing_tool(program: &str) -> OpError {
    let package = if program == "tesseract" { "tesseract-ocr tesseract-ocr-eng" } else { "poppler-utils" };
    OpError::unavailable(format!(
        "`{program}` is not installed; install it with `apt-get install {package}` (or run `bash scripts/bootstrap.sh`)"
    ))
}

/// Runs a helper program with a deadline, feeding `stdin`, and returns its
/// standard output. A program that is missing, fails, or overruns is an
/// error naming it; on a deadline the child is killed.
async fn run(program: &str, args: &[&str], stdin: Option<&[u8]>, timeout: Duration) -> OpResult<Vec<u8>> {
    run_capped(program, args, stdin, timeout, MAX_CHILD_OUTPUT).await
}

/// [`run`] with at most `max_out` bytes of output: a program that writes
/// more is killed as soon as it passes the limit.
async fn run_capped(
    program: &str,
    args: &[&str],
    stdin: Option<&[u8]>,
    timeout: Duration,
    max_out: usize,
) -> OpResult<Vec<u8>> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => missing_tool(program),
            _ => OpError::unavailable(format!("cannot start `{program}`: {e}")),
        })?;
    let mut out_pipe = child.stdout.take().ok_or_else(|| OpError::internal("child has no stdout"))?;
    let mut err_pipe = child.stderr.take().ok_or_else(|| OpError::internal("child has no stderr"))?;
    let input = stdin.map(<[u8]>::to_vec);
    let mut in_pipe = child.stdin.take();
    let work = async {
        let feed = async {
            if let (Some(pipe), Some(data)) = (in_pipe.as_mut(), input.as_deref()) {
                // A program that stops reading early closes the pipe; its exit
                // status then says what went wrong.
                let _ = pipe.write_all(data).await;
            }
            drop(in_pipe.take());
            Ok::<(), std::io::Error>(())
        };
        let mut out = Vec::new();
        let mut err = Vec::new();
        let mut out_limited = (&mut out_pipe).take(max_out as u64 + 1);
        // Past the limit, the reading stops at once (as an error, which ends
        // the join): the program, writing on into a full pipe, would keep
        // its pipes open, and this wait going, until the deadline. It is
        // killed on drop.
        let over = || std::io::Error::other("over the output limit");
        let read_out = async {
            out_limited.read_to_end(&mut out).await?;
            if out.len() > max_out { Err(over()) } else { Ok(()) }
        };
        // All of stderr is read, and its start kept: a program that says
        // much must not block on a full pipe.
        let read_err = async {
            let mut chunk = [0u8; 8192];
            loop {
                match err_pipe.read(&mut chunk).await {
                    Ok(0) => break Ok(()),
                    Ok(n) => err.extend_from_slice(&chunk[..n.min(MAX_STDERR.saturating_sub(err.len()))]),
                    Err(e) => break Err(e),
                }
            }
        };
        let read = tokio::try_join!(feed, read_out, read_err);
        if out.len() > max_out {
            return Err(OpError::exhausted(format!("`{program}` produced more than {max_out} bytes of output")));
        }
        read.map_err(|e| OpError::internal(format!("reading `{program}` output: {e}")))?;
        let status = child.wait().await.map_err(|e| OpError::internal(format!("waiting for `{program}`: {e}")))?;
        Ok::<_, OpError>((status, out, err))
    };
    let (status, out, err) = tokio::time::timeout(timeout, work).await.map_err(|_| {
        OpError::unavailable(format!("`{program}` did not finish within {} s and was stopped", timeout.as_secs()))
    })??;
    if !status.success() {
        let msg = String::from_utf8_lossy(&err);
        let msg: String = msg.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(300).collect();
        return Err(OpError::invalid(format!("`{program}` could not read the input ({status}): {msg}")));
    }
    Ok(out)
}

/// Reads text from an image or PDF.
pub async fn recognize(data: &[u8], languages: &[String]) -> OpResult<OcrOutput> {
    if data.is_empty() {
        return Err(OpError::invalid("the data is empty; send the bytes of an image or PDF"));
    }
    if data.len() > MAX_INPUT_BYTES {
        return Err(OpError::exhausted(format!(
            "the input is {} bytes, over the {MAX_INPUT_BYTES}-byte limit for OCR",
            data.len()
        )));
    }
    let format = sniff(data)?;
    let lang = language_arg(languages).await?;
    if format == Format::Pdf {
        return pdf(data, &lang).await;
    }
    check_image_size(data, format)?;
    let data = match format {
        Format::Bmp | Format::Gif => as_png(data.to_vec()).await?,
        _ => data.to_vec(),
    };
    let lines = read_image(data, &lang, 1).await?;
    Ok(output(lines, 1, "tesseract"))
}

/// Prepares an image (see `prepare`) and reads it; boxes are given in the
/// pixels of the image as it came, turned as its EXIF orientation says.
async fn read_image(data: Vec<u8>, lang: &str, page: u32) -> OpResult<Vec<OcrLine>> {
    let started = std::time::Instant::now();
    let (prepared, data, done) = tokio::task::spawn_blocking(move || {
        let (prepared, done) = prepare::prepare(&data, MAX_PIXELS);
        (prepared, data, done)
    })
    .await
    .map_err(|e| OpError::internal(format!("preparing the image for OCR failed: {e}")))?;
    let prepare_ms = started.elapsed().as_millis() as u64;
    let input = prepared.as_deref().unwrap_or(&data);
    let started = std::time::Instant::now();
    let mut lines = image_lines(input, lang, page).await?;
    tracing::debug!(
        cropped = done.cropped,
        flattened = done.flattened,
        deskewed = ?done.deskew.map(|d| d.degrees),
        oriented = done.oriented,
        scale = done.scale,
        line_height = ?done.line_height,
        quality = reading_quality(&lines),
        badly = read_badly(&lines),
        prepare_ms,
        ms = started.elapsed().as_millis() as u64,
        "OCR read a page"
    );
    // Little read well: perhaps the page is turned (a phone photo, a scan
    // fed sideways). Tesseract's orientation detection costs a fraction of
    // a reading, and only images read badly pay it.
    if read_badly(&lines)
        && let Some(turned) = upright(input, lang, page).await
    {
        let quality = reading_quality(&turned);
        let better = quality > reading_quality(&lines);
        tracing::debug!(quality, better, "OCR read the page turned upright");
        if better {
            lines = turned;
        }
    }
    if prepared.is_some() {
        // Undo the steps in reverse: enlarging, turning level, cutting.
        let (ox, oy) = (done.offset.0 as f32, done.offset.1 as f32);
        for l in &mut lines {
            if let Some(b) = &mut l.bbox {
                let mut r = [b.x, b.y, b.width, b.height].map(|v| v as f32 / done.scale);
                if let Some(turned) = done.deskew {
                    let (x, y, w, h) = turned.back_box((r[0], r[1], r[2], r[3]));
                    r = [x, y, w, h];
                }
                let [x, y, width, height] = [r[0] + ox, r[1] + oy, r[2], r[3]].map(|v| v.round() as u32);
                *b = BBox { x, y, width, height };
            }
        }
    }
    Ok(lines)
}

/// Words on lines read with a confidence of 60 or more: how well a page
/// was read.
fn reading_quality(lines: &[OcrLine]) -> usize {
    lines.iter().filter(|l| l.confidence >= 60.0).map(|l| l.text.split_whitespace().count()).sum()
}

/// Whether a page was read so badly it may be turned: few words read well,
/// or under 30% of them. Upright receipt scans, even poor ones, read 40 to
/// 70% of their words well; turned ones under 30%, often none.
fn read_badly(lines: &[OcrLine]) -> bool {
    let good = reading_quality(lines);
    let all: usize = lines.iter().map(|l| l.text.split_whitespace().count()).sum();
    good < POOR_READING || good * 10 < all * 3
}

/// The lines of `data` turned upright, when Tesseract's orientation
/// detection says it is turned (boxes in the pixels of `data`); `None` when
/// it is upright, or undecided, or anything fails (the first reading
/// stands then).
async fn upright(data: &[u8], lang: &str, page: u32) -> Option<Vec<OcrLine>> {
    let osd = run("tesseract", &["stdin", "stdout", "--psm", "0"], Some(data), PAGE_TIMEOUT).await.ok()?;
    let osd = String::from_utf8_lossy(&osd);
    let field = |name: &str| osd.lines().find_map(|l| l.strip_prefix(name)).map(str::trim);
    let degrees: u32 = field("Rotate:")?.parse().ok()?;
    let confidence: f32 = field("Orientation confidence:")?.parse().ok()?;
    tracing::debug!(degrees, confidence, "OCR orientation check");
    if degrees == 0 || confidence < MIN_ORIENTATION_CONFIDENCE {
        return None;
    }
    let owned = data.to_vec();
    let (turned, w, h) = tokio::task::spawn_blocking(move || prepare::rotate(&owned, degrees)).await.ok()??;
    let mut lines = image_lines(&turned, lang, page).await.ok()?;
    for l in &mut lines {
        if let Some(b) = &mut l.bbox {
            let (x, y, width, height) = prepare::unrotate((b.x, b.y, b.width, b.height), degrees, w, h);
            *b = BBox { x, y, width, height };
        }
    }
    Some(lines)
}

/// A BMP or GIF image (its first frame) as PNG, for Tesseract.
async fn as_png(data: Vec<u8>) -> OpResult<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        let img = image::load_from_memory(&data)
            .map_err(|e| OpError::invalid(format!("the image cannot be decoded ({e}); is the file damaged?")))?;
        prepare::png(&img.to_luma8()).ok_or_else(|| OpError::internal("cannot write the image as PNG"))
    })
    .await
    .map_err(|e| OpError::internal(format!("converting the image for OCR failed: {e}")))?
}

fn check_image_size(data: &[u8], format: Format) -> OpResult<()> {
    // Multi-page TIFFs and odd headers are left to Tesseract; the header
    // check is for the dimensions it can read.
    match imagesize::blob_size(data) {
        Ok(size) => {
            let pixels = size.width as u64 * size.height as u64;
            if pixels == 0 {
                return Err(OpError::invalid("the image has no pixels"));
            }
            if pixels > MAX_PIXELS {
                return Err(OpError::exhausted(format!(
                    "the image is {} × {} pixels, over the OCR limit of {MAX_PIXELS} pixels; scale it down first",
                    size.width, size.height
                )));
            }
            Ok(())
        }
        Err(_) if format == Format::Tiff => Ok(()),
        Err(e) => Err(OpError::invalid(format!("the image header cannot be read ({e}); is the file truncated?"))),
    }
}

/// One word from Tesseract's TSV output.
struct Word {
    key: (u32, u32, u32),
    bbox: BBox,
    conf: f32,
    text: String,
}

async fn image_lines(data: &[u8], lang: &str, page: u32) -> OpResult<Vec<OcrLine>> {
    let tsv = run("tesseract", &["stdin", "stdout", "-l", lang, "--psm", PSM, "tsv"], Some(data), PAGE_TIMEOUT).await?;
    Ok(parse_tsv(&String::from_utf8_lossy(&tsv), page))
}

/// Builds lines from Tesseract's TSV (level 5 rows are words), then joins
/// lines of different blocks that share a band of the page.
fn parse_tsv(tsv: &str, page: u32) -> Vec<OcrLine> {
    let mut words: Vec<Word> = Vec::new();
    for row in tsv.lines().skip(1) {
        let cols: Vec<&str> = row.splitn(12, '\t').collect();
        if cols.len() < 12 || cols[0] != "5" {
            continue;
        }
        let num = |i: usize| cols[i].trim().parse::<i64>().unwrap_or(0).max(0) as u32;
        let text = cols[11].trim();
        if text.is_empty() {
            continue;
        }
        words.push(Word {
            key: (num(2), num(3), num(4)),
            bbox: BBox { x: num(6), y: num(7), width: num(8), height: num(9) },
            conf: cols[10].trim().parse::<f32>().unwrap_or(0.0).clamp(0.0, 100.0),
            text: text.to_string(),
        });
    }
    // Tesseract's own lines.
    let mut order: Vec<(u32, u32, u32)> = Vec::new();
    let mut groups: HashMap<(u32, u32, u32), Vec<Word>> = HashMap::new();
    for w in words {
        if !groups.contains_key(&w.key) {
            order.push(w.key);
        }
        groups.entry(w.key).or_default().push(w);
    }
    let mut rows: Vec<Vec<Word>> = order.into_iter().filter_map(|k| groups.remove(&k)).collect();
    rows.sort_by_key(|r| r.iter().map(|w| w.bbox.y).min().unwrap_or(0));
    // Join rows whose vertical spans overlap by more than half the shorter
    // one and whose words do not overlap horizontally.
    let span = |r: &[Word]| {
        let top = r.iter().map(|w| w.bbox.y).min().unwrap_or(0);
        let bottom = r.iter().map(|w| w.bbox.y + w.bbox.height).max().unwrap_or(0);
        (top, bottom)
    };
    let mut merged: Vec<Vec<Word>> = Vec::new();
    for row in rows {
        let (top, bottom) = span(&row);
        let target = merged.iter_mut().find(|m| {
            let (mt, mb) = span(m);
            let overlap = bottom.min(mb).saturating_sub(top.max(mt));
            let shorter = (bottom - top).min(mb - mt).max(1);
            let clash = m
                .iter()
                .any(|a| row.iter().any(|b| a.bbox.x < b.bbox.x + b.bbox.width && b.bbox.x < a.bbox.x + a.bbox.width));
            overlap * 2 > shorter && !clash
        });
        match target {
            Some(m) => m.extend(row),
            None => merged.push(row),
        }
    }
    merged
        .into_iter()
        .map(|mut ws| {
            ws.sort_by_key(|w| w.bbox.x);
            let x = ws.iter().map(|w| w.bbox.x).min().unwrap_or(0);
            let (y, bottom) = span(&ws);
            let right = ws.iter().map(|w| w.bbox.x + w.bbox.width).max().unwrap_or(0);
            let confidence = ws.iter().map(|w| w.conf).sum::<f32>() / ws.len().max(1) as f32;
            OcrLine {
                text: ws.iter().map(|w| w.text.as_str()).collect::<Vec<_>>().join(" "),
                confidence: (confidence * 10.0).round() / 10.0,
                bbox: Some(BBox { x, y, width: right - x, height: bottom - y }),
                page,
            }
        })
        .collect()
}

fn output(lines: Vec<OcrLine>, pages: u32, engine: &str) -> OcrOutput {
    let mut text = String::new();
    let mut last_page = lines.first().map_or(1, |l| l.page);
    for l in &lines {
        if l.page != last_page {
            text.push('\n');
            last_page = l.page;
        }
        text.push_str(&l.text);
        text.push('\n');
    }
    OcrOutput { text, lines, pages, engine: engine.to_string(), cached: false, embedded_xml: None }
}

/// Pages and whether the PDF is encrypted, from `pdfinfo`.
async fn pdf_pages(path: &Path) -> OpResult<u32> {
    let path_s = path.to_string_lossy();
    let info = run("pdfinfo", &[&path_s], None, PDF_TIMEOUT).await.map_err(|e| {
        if e.message.contains("Incorrect password") || e.message.contains("ncrypt") {
            OpError::invalid("the PDF is password-protected; remove the password and try again")
        } else if e.code == crate::ErrorCode::InvalidInput {
            OpError::invalid(format!("the PDF is damaged or truncated: {}", e.message))
        } else {
            e
        }
    })?;
    let info = String::from_utf8_lossy(&info);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:").and_then(|n| n.trim().parse().ok()))
        .filter(|&n: &u32| n > 0)
        .ok_or_else(|| OpError::invalid("the PDF has no pages, or is damaged"))
}

/// Whether a page's text layer, as `pdftotext` gives it, is text: enough
/// of it, and not glyph numbers. A font embedded without a map from its
/// glyphs to Unicode gives the glyph numbers. For a subset font those are
/// letters shifted down the alphabet with control characters for spaces:
/// no real text holds control characters, so a few of them mark the page.
/// A simple font gives shifted letters alone, and these are mostly
/// consonants: Latin-script text is a third or more vowels (invoices full of
/// codes and numbers included), such shifts under a fifth.
fn usable_text_layer(text: &str) -> bool {
    let chars = text.chars().filter(|c| !c.is_whitespace()).count();
    let garbled =
        text.chars().filter(|&c| (c.is_control() && !c.is_whitespace()) || c == char::REPLACEMENT_CHARACTER).count();
    let letters = text.chars().filter(char::is_ascii_alphabetic).count();
    let vowels = text.chars().filter(|c| matches!(c.to_ascii_lowercase(), 'a' | 'e' | 'i' | 'o' | 'u' | 'y')).count();
    chars >= MIN_PAGE_TEXT
        && (garbled < MIN_GARBLED_CHARS || garbled * 100 < chars)
        && (letters < MIN_LETTERS_FOR_VOWELS || vowels * 5 >= letters)
}

/// A line of `pdftotext -layout`: words joined by one space, except where a
/// wide gap separates two columns of words (a letterhead beside an
/// invoice's heading), which stays three spaces wide so a reader can tell
/// the columns apart. A gap before a number (a label and its amount) is a
/// single space.
fn layout_line(line: &str) -> String {
    let mut out = String::new();
    let mut gap = 0;
    let mut prev_word = "";
    for piece in line.split(' ') {
        if piece.trim().is_empty() {
            gap += 1;
            continue;
        }
        if !out.is_empty() {
            let letters = |w: &str| w.chars().filter(|c| c.is_alphabetic()).count() >= 2;
            out.push_str(if gap >= 3 && letters(prev_word) && letters(piece) { "   " } else { " " });
        }
        out.push_str(piece.trim());
        prev_word = piece;
        gap = 0;
    }
    out
}

/// The XML file embedded in a PDF (see [`E_INVOICE_NAMES`]), when it has
/// one that is UTF-8 and within [`MAX_EMBEDDED_XML`]. A PDF whose
/// attachments cannot be listed or taken out is still read for its text.
async fn embedded_xml(file: &str) -> Option<String> {
    let list = run("pdfdetach", &["-list", "-enc", "UTF-8", file], None, PDF_TIMEOUT)
        .await
        .map_err(|e| tracing::debug!(error = %e.message, "no attachments listed"))
        .ok()?;
    // `N: name`, one per attachment, after a count line.
    let list = String::from_utf8_lossy(&list);
    let attachments: Vec<(u32, String)> = list
        .lines()
        .filter_map(|l| {
            let (n, name) = l.split_once(": ")?;
            Some((n.trim().parse().ok()?, name.trim().to_lowercase()))
        })
        .collect();
    let (n, _) = attachments
        .iter()
        .find(|(_, name)| E_INVOICE_NAMES.contains(&name.as_str()))
        .or_else(|| attachments.iter().find(|(_, name)| name.ends_with(".xml")))?;
    let n = n.to_string();
    let args = ["-save", &n, "-o", "/dev/stdout", file];
    let xml = run_capped("pdfdetach", &args, None, PDF_TIMEOUT, MAX_EMBEDDED_XML)
        .await
        .map_err(|e| tracing::debug!(error = %e.message, "embedded XML not taken out"))
        .ok()?;
    String::from_utf8(xml).ok()
}

async fn pdf(data: &[u8], lang: &str) -> OpResult<OcrOutput> {
    let dir = tempfile::tempdir().map_err(|e| OpError::internal(format!("cannot make a temporary folder: {e}")))?;
    let file = dir.path().join("in.pdf");
    tokio::fs::write(&file, data).await?;
    let pages = pdf_pages(&file).await?;
    if pages > MAX_TEXT_PAGES {
        return Err(OpError::exhausted(format!(
            "the PDF has {pages} pages; at most {MAX_TEXT_PAGES} are read in one call: split it"
        )));
    }
    let file_s = file.to_string_lossy().to_string();
    let text = run("pdftotext", &["-layout", "-enc", "UTF-8", &file_s, "-"], None, PDF_TIMEOUT).await?;
    let text = String::from_utf8_lossy(&text);
    // pdftotext ends every page with a form feed.
    let page_texts: Vec<&str> = text.split('\u{c}').take(pages as usize).collect();
    let needs_ocr: Vec<u32> =
        (1..=pages).filter(|&p| !usable_text_layer(page_texts.get(p as usize - 1).copied().unwrap_or(""))).collect();
    if needs_ocr.len() as u32 > MAX_OCR_PAGES {
        return Err(OpError::exhausted(format!(
            "the PDF has {} pages without a text layer; OCR reads at most {MAX_OCR_PAGES} such pages in one call: split it",
            needs_ocr.len()
        )));
    }
    let mut lines = Vec::new();
    for p in 1..=pages {
        if needs_ocr.contains(&p) {
            let p_s = p.to_string();
            let prefix = dir.path().join(format!("page{p}"));
            let prefix_s = prefix.to_string_lossy().to_string();
            let args = ["-r", "300", "-gray", "-png", "-singlefile", "-f", &p_s, "-l", &p_s, &file_s, &prefix_s];
            run("pdftoppm", &args, None, PDF_TIMEOUT).await?;
            let png = tokio::fs::read(prefix.with_extension("png")).await?;
            lines.extend(read_image(png, lang, p).await?);
        } else {
            let t = page_texts.get(p as usize - 1).copied().unwrap_or("");
            lines.extend(t.lines().filter(|l| !l.trim().is_empty()).map(|l| OcrLine {
                text: layout_line(l),
                confidence: 100.0,
                bbox: None,
                page: p,
            }));
        }
    }
    let engine = match (needs_ocr.is_empty(), needs_ocr.len() as u32 == pages) {
        (true, _) => "pdf-text-layer",
        (false, true) => "pdf-ocr",
        (false, false) => "pdf-text-layer+ocr",
    };
    let mut out = output(lines, pages, engine);
    out.embedded_xml = embedded_xml(&file_s).await;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_layer_of_glyph_numbers_is_not_text() {
        let invoice = "Northwind Hosting B.V.\nKeizersgracht 100, 1015 AA Amsterdam\nInvoice INV-2023-0042\n\
                       Invoice date: 14 March 2023\nDedicated server EUR 49.00\nVAT 21% EUR 10.29\nTotal EUR 59.29\n";
        assert!(usable_text_layer(invoice));
        // A subset font's glyph numbers: letters shifted by 29, spaces 3.
        let subset: String = invoice
            .chars()
            .map(|c| {
                if c == ' ' {
                    '\u{3}'
                } else if c == '\n' {
                    c
                } else {
                    char::from(c as u8 - 29)
                }
            })
            .collect();
        assert!(!usable_text_layer(&subset), "{subset:?}");
        // A simple font's shifted letters, all else kept: consonants, mostly.
        let shift = |c: char| match c {
            'a'..='z' => char::from(b'a' + (c as u8 - b'a' + 3) % 26),
            'A'..='Z' => char::from(b'A' + (c as u8 - b'A' + 3) % 26),
            c => c,
        };
        let simple: String = invoice.chars().map(shift).collect();
        assert!(!usable_text_layer(&simple), "{simple:?}");
        // A stray control character, and a symbol font's bullets, in real text.
        assert!(usable_text_layer(&format!("{invoice}\u{f0b7} Paid by card\u{7}")));
        assert!(usable_text_layer(&format!("{invoice}{}", "\u{f0b7} Item\n".repeat(20))));
        assert!(usable_text_layer("DE89 3704 0044 0532 0130 00 COBADEFFXXX 2026-05-01 49.00 EUR 12 x 4.00"));
        assert!(!usable_text_layer("Page 1"));
    }

    #[tokio::test]
    async fn a_child_that_writes_too_much_is_stopped_at_once_and_a_chatty_one_is_not_blocked() {
        let deadline = Duration::from_secs(20);
        // Endless output: cut at the limit, killed, and said so, well before
        // the deadline, which would say "did not finish" instead.
        let e = run_capped("sh", &["-c", "yes"], None, deadline, 1000).await.unwrap_err();
        assert_eq!(e.code, crate::ErrorCode::ResourceExhausted, "{e}");
        // Much on stderr, beyond what is kept of it: read to the end, so the
        // child finishes and its output comes back.
        let out = run("sh", &["-c", "yes 2>/dev/null | head -c 1000000 >&2; echo done"], None, deadline).await.unwrap();
        assert_eq!(out, b"done\n");
    }

    #[test]
    fn layout_lines_keep_columns_of_words_apart() {
        assert_eq!(layout_line("Acme Hosting          INVOICE"), "Acme Hosting   INVOICE");
        assert_eq!(layout_line("Total                 $49.00"), "Total $49.00");
        assert_eq!(layout_line("  Pro plan  (monthly)     49.00 USD"), "Pro plan (monthly) 49.00 USD");
    }

    #[test]
    fn formats_are_recognised_by_their_magic() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest").unwrap(), Format::Png);
        assert_eq!(sniff(b"%PDF-1.7\n").unwrap(), Format::Pdf);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), Format::Webp);
        assert_eq!(sniff(b"GIF89a\x10\0").unwrap(), Format::Gif);
        assert_eq!(sniff(b"BM\x36\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0").unwrap(), Format::Bmp);
        assert!(sniff(b"BMW 320d, service invoice").is_err());
        let e = sniff(b"hello, world").unwrap_err();
        assert!(e.message.contains("PNG, JPEG, TIFF, WebP, BMP, GIF or PDF"), "{e}");
    }

    #[test]
    fn split_blocks_on_one_band_become_one_line() {
        let tsv = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n\
            5\t1\t1\t1\t1\t1\t10\t100\t80\t20\t95\tTOTAL\n\
            5\t1\t2\t1\t1\t1\t500\t102\t60\t20\t90\t12.50\n\
            5\t1\t1\t1\t2\t1\t10\t140\t50\t20\t80\tTAX\n";
        let lines = parse_tsv(tsv, 1);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].text, "TOTAL 12.50");
        assert_eq!(lines[0].confidence, 92.5);
        assert_eq!(lines[1].text, "TAX");
    }
}
