//! Documents made at test time: receipt images rendered with a Debian font
//! (sizes, noise, slight rotation, right-aligned amounts), and minimal PDFs
//! with or without a text layer.
#![allow(dead_code, clippy::unwrap_used)]

use ab_glyph::{FontVec, PxScale};
use image::{GrayImage, Luma};
use imageproc::drawing::{draw_text_mut, text_size};
use imageproc::geometric_transformations::{Border, Interpolation, rotate_about_center};

/// A font from `fonts-dejavu-core` (installed by `scripts/bootstrap.sh`).
pub fn font(name: &str) -> FontVec {
    let path = format!("/usr/share/fonts/truetype/dejavu/{name}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}; run scripts/bootstrap.sh"));
    FontVec::try_from_vec(bytes).unwrap()
}

/// One printed row: text at the left, and an amount flush right.
pub struct Row {
    pub left: String,
    pub right: Option<String>,
    pub centered: bool,
}

impl Row {
    pub fn text(s: &str) -> Row {
        Row { left: s.to_string(), right: None, centered: false }
    }
    pub fn title(s: &str) -> Row {
        Row { left: s.to_string(), right: None, centered: true }
    }
    pub fn amount(label: &str, amount: &str) -> Row {
        Row { left: label.to_string(), right: Some(amount.to_string()), centered: false }
    }
}

/// How a receipt is printed and scanned.
pub struct Print {
    pub font: &'static str,
    pub px: f32,
    pub width: u32,
    /// Largest change of a pixel by noise, 0 to 255.
    pub noise: u8,
    /// Rotation in degrees.
    pub degrees: f32,
    pub seed: u64,
}

/// Renders rows onto white paper, amounts flush right.
pub fn render(rows: &[Row], p: &Print) -> GrayImage {
    let f = font(p.font);
    let scale = PxScale::from(p.px);
    let line = (p.px * 1.5) as u32;
    let margin = (p.px * 1.5) as i32;
    let height = line * rows.len() as u32 + 2 * margin as u32;
    let mut img = GrayImage::from_pixel(p.width, height, Luma([255]));
    for (i, row) in rows.iter().enumerate() {
        let y = margin + (i as u32 * line) as i32;
        let x = if row.centered {
            let (w, _) = text_size(scale, &f, &row.left);
            ((p.width as i32 - w as i32) / 2).max(margin)
        } else {
            margin
        };
        draw_text_mut(&mut img, Luma([20]), x, y, scale, &f, &row.left);
        if let Some(right) = &row.right {
            let (w, _) = text_size(scale, &f, right);
            draw_text_mut(&mut img, Luma([20]), p.width as i32 - margin - w as i32, y, scale, &f, right);
        }
    }
    if p.degrees != 0.0 {
        img = rotate_about_center(&img, p.degrees.to_radians(), Interpolation::Bilinear, Border::Constant(Luma([255])));
    }
    // Scanner noise from a small deterministic generator.
    let mut state = p.seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    if p.noise > 0 {
        for px in img.pixels_mut() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let delta = ((state >> 33) % (2 * p.noise as u64 + 1)) as i32 - p.noise as i32;
            px.0[0] = (px.0[0] as i32 + delta).clamp(0, 255) as u8;
        }
    }
    img
}

pub fn png(img: &GrayImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub fn jpeg(img: &GrayImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// `img` as a JPEG whose EXIF says to show it turned (`orientation` as EXIF
/// numbers it: 6 is a quarter turn clockwise), as phones store photos.
pub fn jpeg_with_orientation(img: &GrayImage, orientation: u16) -> Vec<u8> {
    let plain = jpeg(img);
    // An APP1 segment: `Exif`, a big-endian TIFF header, and one IFD entry
    // (tag 0x0112, SHORT, one value).
    let mut exif = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01".to_vec();
    exif.extend_from_slice(&orientation.to_be_bytes());
    exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut out = plain[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&(exif.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&plain[2..]);
    out
}

/// Assembles a PDF from its objects (each without `N 0 obj`), computing the
/// cross-reference table. Object 1 must be the catalog.
fn assemble(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n", objects.len() + 1).as_bytes(),
    );
    out
}

fn stream(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut v = format!("<< {dict} /Length {} >>\nstream\n", data.len()).into_bytes();
    v.extend_from_slice(data);
    v.extend_from_slice(b"\nendstream");
    v
}

/// A PDF whose pages carry text (a real text layer, Helvetica): each page
/// is a list of lines.
pub fn pdf_with_text(pages: &[Vec<String>]) -> Vec<u8> {
    assemble(&text_objects(pages, ""))
}

/// A PDF of one page of text carrying a file, as a ZUGFeRD or Factur-X
/// invoice carries its XML: `name` in the catalog's embedded files, its
/// content compressed (`FlateDecode`) as writers store it.
pub fn pdf_with_attachment(lines: &[String], name: &str, data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    // Objects 1 to 5 are the text page's; the file spec and the file follow.
    let names = format!("/Names << /EmbeddedFiles << /Names [({name}) 6 0 R] >> >>");
    let mut objects = text_objects(&[lines.to_vec()], &names);
    objects.push(format!("<< /Type /Filespec /F ({name}) /UF ({name}) /EF << /F 7 0 R >> >>").into_bytes());
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(data).unwrap();
    objects.push(stream("/Type /EmbeddedFile /Filter /FlateDecode", &z.finish().unwrap()));
    assemble(&objects)
}

/// The objects of [`pdf_with_text`]; `catalog` adds entries to the catalog.
fn text_objects(pages: &[Vec<String>], catalog: &str) -> Vec<Vec<u8>> {
    let n = pages.len();
    // 1 catalog, 2 pages, 3 font, then per page: page object, content stream.
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 4 + 2 * i)).collect();
    let mut objects = vec![
        format!("<< /Type /Catalog /Pages 2 0 R {catalog} >>").into_bytes(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>".to_vec(),
    ];
    for (i, lines) in pages.iter().enumerate() {
        let mut content = b"BT /F1 11 Tf 50 780 Td 14 TL\n".to_vec();
        for l in lines {
            let escaped = l.replace('\\', "\\\\").replace('(', "\\(").replace(')', "\\)");
            content.push(b'(');
            content.extend(win_ansi(&escaped));
            content.extend_from_slice(b") Tj T*\n");
        }
        content.extend_from_slice(b"ET");
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> /Contents {} 0 R >>",
                5 + 2 * i
            )
            .into_bytes(),
        );
        objects.push(stream("", &content));
    }
    objects
}

/// Text in WinAnsiEncoding, the encoding the text PDFs declare: Latin-1
/// with the euro sign at 0x80; anything else becomes `?`.
fn win_ansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            '€' => 0x80,
            c if (c as u32) < 0x80 || (0xa0..=0xff).contains(&(c as u32)) => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// A PDF of one page holding only an image: no text layer, like a scan.
pub fn pdf_with_image(img: &GrayImage) -> Vec<u8> {
    pdf_with_image_and_glyphs(img, &[])
}

/// A PDF of one page holding an image and, over it, invisible text (render
/// mode 3, as scanners lay their OCR over a scan) in a font with no map
/// from its glyphs to Unicode, as subset fonts are sometimes embedded:
/// each of `glyphs` is one line's glyph numbers.
pub fn pdf_with_image_and_glyphs(img: &GrayImage, glyphs: &[Vec<u16>]) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let jpg = jpeg(img);
    // Page size in points at 150 dpi.
    let (pw, ph) = (w as f32 * 72.0 / 150.0, h as f32 * 72.0 / 150.0);
    let mut content = format!("q {pw:.2} 0 0 {ph:.2} 0 0 cm /Im1 Do Q\n").into_bytes();
    if !glyphs.is_empty() {
        content.extend_from_slice(format!("BT 3 Tr /F1 10 Tf 20 {:.2} Td 12 TL\n", ph - 30.0).as_bytes());
        for line in glyphs {
            let hex: String = line.iter().map(|g| format!("{g:04x}")).collect();
            content.extend_from_slice(format!("<{hex}> Tj T*\n").as_bytes());
        }
        content.extend_from_slice(b"ET");
    }
    assemble(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        format!(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {pw:.2} {ph:.2}] /Resources << /XObject << /Im1 4 0 R >> /Font << /F1 6 0 R >> >> /Contents 5 0 R >>"
        )
        .into_bytes(),
        stream(
            &format!("/Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode"),
            &jpg,
        ),
        stream("", &content),
        b"<< /Type /Font /Subtype /Type0 /BaseFont /Subset /Encoding /Identity-H /DescendantFonts [7 0 R] >>".to_vec(),
        b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /Subset /CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> /DW 500 >>".to_vec(),
    ])
}

/// A PDF of `n` empty pages (no text, nothing to OCR quickly).
pub fn pdf_blank(n: usize) -> Vec<u8> {
    let kids: Vec<String> = (0..n).map(|i| format!("{} 0 R", 3 + i)).collect();
    let mut objects = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        format!("<< /Type /Pages /Kids [{}] /Count {n} >>", kids.join(" ")).into_bytes(),
    ];
    for _ in 0..n {
        objects.push(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>".to_vec());
    }
    assemble(&objects)
}
