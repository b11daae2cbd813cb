//! An image made ready for Tesseract: turned as its EXIF orientation says
//! a viewer shows it (a phone stores the sensor's picture and records the
//! turn, which Tesseract ignores), cut to the document when it was
//! scanned or photographed on a darker background, turned level when its
//! lines slope (see `skew`), and enlarged when its text is too small to
//! read.
//!
//! Tesseract reads best with text lines about 30 pixels high and nothing
//! but the page in view: a receipt scanned on a whole flatbed page leaves
//! most of the image dark, and its layout analysis then finds "text" in the
//! scanner lid's texture; a phone photo or a low-resolution scan gives text
//! 10 to 15 pixels high, where thermal print's broken strokes are lost.
//! Paper lit unevenly (a photo's shadow, a scan's curl, print faded on one
//! side) is evened out first, by dividing by the local mean brightness, so
//! one threshold serves the whole page; the threshold itself is left to
//! Tesseract: its Otsu on an evened page did better on the development
//! scans than its local methods (LeptonicaOtsu, Sauvola), which read paper
//! texture as print.

use image::codecs::png::{CompressionType, FilterType as PngFilter, PngEncoder};
use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{DynamicImage, GrayImage, ImageDecoder, ImageEncoder};

use super::skew::{self, Deskew};

/// Median text line height, in pixels, below which an image is enlarged.
const SMALL_TEXT: u32 = 20;
/// The line height enlarging aims at.
const TARGET_TEXT: u32 = 30;
/// The most an image is enlarged.
const MAX_SCALE: f32 = 3.0;
/// Only images up to this many pixels are enlarged: a larger one is a
/// scan at a resolution that already serves, and a misjudged line height
/// there would cost minutes of OCR.
const ENLARGE_UP_TO: u64 = 4_000_000;
/// The most pixels enlarging may produce.
const ENLARGED_MAX: u64 = 12_000_000;
/// Brightness (0 to 255) above which a pixel is paper rather than
/// background when finding the document.
const PAPER: u8 = 150;
/// On a grey surround, paper is within this many tones of the brightest.
const GREY_MARGIN: u8 = 40;
/// The document must leave at least this share of the image outside it
/// before the image is cut.
const CROP_WORTH: f32 = 0.2;

/// What preparing did, for the OCR output and the benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prepared {
    /// Whether the image was cut to the document.
    pub cropped: bool,
    /// How much it was enlarged (1 when not).
    pub scale: f32,
    /// The median text line height found, in pixels of the input.
    pub line_height: Option<u32>,
    /// Where the cut image's top left corner was in the input.
    pub offset: (u32, u32),
    /// Whether the paper's brightness was evened out.
    pub flattened: bool,
    /// How the page was turned to level its lines, if it was.
    pub deskew: Option<Deskew>,
    /// Whether it was turned as its EXIF orientation says; the other steps
    /// and their boxes are in the picture so turned.
    pub oriented: bool,
}

/// Returns the image to give Tesseract, as PNG, or `None` when the original
/// bytes are as good (nothing to cut or enlarge, or a format `image` cannot
/// decode, which Tesseract may still read).
pub fn prepare(data: &[u8], max_pixels: u64) -> (Option<Vec<u8>>, Prepared) {
    let Some((mut gray, oriented)) = decode(data) else {
        return (None, Prepared { scale: 1.0, ..Default::default() });
    };
    let mut done = Prepared { scale: 1.0, oriented, ..Default::default() };
    if let Some((x, y, w, h)) = document_bounds(&gray) {
        gray = imageops::crop_imm(&gray, x, y, w, h).to_image();
        done.cropped = true;
        done.offset = (x, y);
    }
    if let Some(degrees) = ink_tone(&gray).and_then(|ink| skew::find(&gray, ink)) {
        let (level, turned) = skew::straighten(&gray, degrees, percentile(&gray, 0.9));
        gray = level;
        done.deskew = Some(turned);
    }
    done.line_height = line_height(&gray);
    done.flattened = flatten(&mut gray, done.line_height);
    let pixels = gray.width() as u64 * gray.height() as u64;
    if let Some(lh) = done.line_height.filter(|&lh| lh < SMALL_TEXT && pixels <= ENLARGE_UP_TO) {
        let room = ((max_pixels.min(ENLARGED_MAX) as f64 / pixels.max(1) as f64).sqrt() as f32).max(1.0);
        let scale = (TARGET_TEXT as f32 / lh as f32).min(MAX_SCALE).min(room);
        if scale > 1.2 {
            let (w, h) = ((gray.width() as f32 * scale) as u32, (gray.height() as f32 * scale) as u32);
            gray = imageops::resize(&gray, w, h, FilterType::CatmullRom);
            done.scale = scale;
        }
    }
    if !done.oriented && !done.cropped && done.scale == 1.0 && !done.flattened && done.deskew.is_none() {
        return (None, done);
    }
    match png(&gray) {
        Some(png) => (Some(png), done),
        None => (None, Prepared { scale: 1.0, ..Default::default() }),
    }
}

/// An image decoded as grey and turned as its EXIF orientation says, and
/// whether it was turned; `None` when `image` cannot decode it.
fn decode(data: &[u8]) -> Option<(GrayImage, bool)> {
    let mut decoder =
        image::ImageReader::new(std::io::Cursor::new(data)).with_guessed_format().ok()?.into_decoder().ok()?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).ok()?;
    img.apply_orientation(orientation);
    Some((img.to_luma8(), orientation != Orientation::NoTransforms))
}

/// A grey image as PNG, written fast (Tesseract reads it once).
pub fn png(img: &GrayImage) -> Option<Vec<u8>> {
    let mut png = Vec::new();
    let encoder = PngEncoder::new_with_quality(&mut png, CompressionType::Fast, PngFilter::NoFilter);
    encoder.write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8).ok()?;
    Some(png)
}

/// Turns an image clockwise by `degrees` (90, 180 or 270), as Tesseract's
/// orientation detection asks (`Rotate: 90`); returns it as PNG with its
/// width and height before turning, or `None` when it cannot be decoded.
pub fn rotate(data: &[u8], degrees: u32) -> Option<(Vec<u8>, u32, u32)> {
    let gray = image::load_from_memory(data).ok()?.to_luma8();
    let (w, h) = gray.dimensions();
    let turned = match degrees {
        90 => imageops::rotate90(&gray),
        180 => imageops::rotate180(&gray),
        270 => imageops::rotate270(&gray),
        _ => return None,
    };
    Some((png(&turned)?, w, h))
}

/// A box `(x, y, width, height)` found in an image turned clockwise by
/// `degrees`, in the pixels of the image before it was turned (`w` × `h`).
pub fn unrotate(b: (u32, u32, u32, u32), degrees: u32, w: u32, h: u32) -> (u32, u32, u32, u32) {
    let (x, y, bw, bh) = b;
    match degrees {
        90 => (y, h.saturating_sub(x + bw), bh, bw),
        180 => (w.saturating_sub(x + bw), h.saturating_sub(y + bh), bw, bh),
        270 => (w.saturating_sub(y + bh), x, bh, bw),
        _ => b,
    }
}

/// The longest run of entries above `threshold`, bridging gaps of up to
/// `gap` entries (a line of bold print across a receipt): (start, end).
fn longest_run(values: &[f32], threshold: f32, gap: usize) -> (usize, usize) {
    let mut best = (0, 0);
    let mut run: Option<(usize, usize)> = None;
    for (i, &v) in values.iter().enumerate() {
        if v <= threshold {
            continue;
        }
        run = match run {
            Some((s, e)) if i - e <= gap => Some((s, i + 1)),
            _ => Some((i, i + 1)),
        };
        if let Some((s, e)) = run
            && e - s > best.1 - best.0
        {
            best = (s, e);
        }
    }
    best
}

/// The paper's bounding box (x, y, width, height) when the image has a
/// darker surround worth cutting off: a dark scanner lid, or a grey one
/// (then the paper is what is near the brightest tone, and the part cut
/// off must hold no print, so a shadow across a photographed receipt is
/// never cut away).
fn document_bounds(img: &GrayImage) -> Option<(u32, u32, u32, u32)> {
    let cols = paper_columns(img, PAPER)?;
    if let Some(b) = bounds_in(img, PAPER, &cols, 0.4) {
        return Some(b);
    }
    // A short receipt in a corner of a whole dark page: paper fills less
    // than half of any column, so its columns are those over 40% of the
    // most any column holds (at least 10%). Cut only when what is cut holds
    // no print (a bright reflection is not the document).
    let most = cols.iter().copied().fold(0.0, f32::max);
    if let Some(b) = bounds_in(img, PAPER, &cols, (0.4 * most).max(0.1)).filter(|&b| !ink_outside(img, b)) {
        return Some(b);
    }
    let brightest = percentile(img, 0.97);
    let paper = brightest.saturating_sub(GREY_MARGIN);
    if paper <= PAPER {
        return None;
    }
    let b = bounds_in(img, paper, &paper_columns(img, paper)?, 0.4)?;
    (!ink_outside(img, b)).then_some(b)
}

/// The `q` quantile of an image's tones, sampled.
fn percentile(img: &GrayImage, q: f64) -> u8 {
    let mut hist = [0u64; 256];
    for p in img.pixels().step_by(7) {
        hist[p.0[0] as usize] += 1;
    }
    let total: u64 = hist.iter().sum();
    let mut seen = 0;
    for (v, n) in hist.iter().enumerate() {
        seen += n;
        if seen as f64 >= q * total as f64 {
            return v as u8;
        }
    }
    255
}

/// Whether the image outside box `b` holds print: three or more tiles
/// there with over 10% of their pixels on a sharp edge (two pixels apart
/// differing by over 60 tones). Lines of letters fill a tile with edges; a
/// dark scanner border, the paper's own edge or the fibres of a grey
/// cardboard lid stay under 5% in every tile, though over the whole lid
/// they add up to more than a few letters would.
fn ink_outside(img: &GrayImage, b: (u32, u32, u32, u32)) -> bool {
    let (bx, by, bw, bh) = b;
    let (w, h) = img.dimensions();
    const MAX_TILE: u32 = 128;
    let tile = (w.min(h) / 24).clamp(32, MAX_TILE);
    let mut printed = 0;
    for ty in (0..h).step_by(tile as usize) {
        for tx in (0..w.saturating_sub(2)).step_by(tile as usize) {
            let (tx1, ty1) = ((tx + tile).min(w - 2), (ty + tile).min(h));
            let inside = tx < bx + bw && bx < tx1 && ty < by + bh && by < ty1;
            if inside {
                continue;
            }
            // Edges per sampled column: letters spread across the tile; a
            // border or the paper's edge stays in a column or two, which
            // are left out.
            let mut columns = [0u32; MAX_TILE.div_ceil(3) as usize];
            let (mut seen, mut edges) = (0u32, 0u32);
            for y in (ty..ty1).step_by(3) {
                for (i, x) in (tx..tx1).step_by(3).enumerate() {
                    seen += 1;
                    let (a, c) = (img.get_pixel(x, y).0[0], img.get_pixel(x + 2, y).0[0]);
                    if a.abs_diff(c) > 60 {
                        edges += 1;
                        columns[i.min(columns.len() - 1)] += 1;
                    }
                }
            }
            columns.sort_unstable();
            let off_edge = edges - columns[columns.len() - 2..].iter().sum::<u32>();
            printed += u32::from(seen >= 16 && off_edge * 10 > seen);
        }
    }
    printed >= 3
}

/// Pixels sampled along each column and row when finding the paper: every
/// 4th, which is plenty for a bounding box.
const BOUNDS_STEP: usize = 4;

/// The share of each column's pixels brighter than `paper`; `None` for an
/// image too small to cut.
fn paper_columns(img: &GrayImage, paper: u8) -> Option<Vec<f32>> {
    let (w, h) = img.dimensions();
    if w < 64 || h < 64 {
        return None;
    }
    let n = h.div_ceil(BOUNDS_STEP as u32) as f32;
    Some(
        (0..w)
            .map(|x| (0..h).step_by(BOUNDS_STEP).filter(|&y| img.get_pixel(x, y).0[0] > paper).count() as f32 / n)
            .collect(),
    )
}

/// The bounding box of the pixels brighter than `paper`, when cutting to it
/// is worth it: the run of columns (`cols`, from `paper_columns`) over
/// `share` paper, then the rows over 40% paper within them.
fn bounds_in(img: &GrayImage, paper: u8, cols: &[f32], share: f32) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = img.dimensions();
    let step = BOUNDS_STEP;
    let is_paper = |x: u32, y: u32| img.get_pixel(x, y).0[0] > paper;
    let (x0, x1) = longest_run(cols, share, w as usize / 50);
    if x1 <= x0 {
        return None;
    }
    let rows: Vec<f32> = (0..h)
        .map(|y| {
            (x0 as u32..x1 as u32).step_by(step).filter(|&x| is_paper(x, y)).count() as f32
                / ((x1 - x0) as u32).div_ceil(step as u32) as f32
        })
        .collect();
    let (y0, y1) = longest_run(&rows, 0.4, h as usize / 20);
    let (cw, ch) = ((x1 - x0) as u32, (y1.saturating_sub(y0)) as u32);
    if cw < 32 || ch < 32 || (cw as f32 * ch as f32) > (1.0 - CROP_WORTH) * w as f32 * h as f32 {
        return None;
    }
    // A small margin keeps characters at the paper's edge whole.
    let m = 8;
    let (x, y) = ((x0 as u32).saturating_sub(m), (y0 as u32).saturating_sub(m));
    Some((x, y, (cw + 2 * m).min(w - x), (ch + 2 * m).min(h - y)))
}

/// How many times smaller the paper's brightness is estimated at.
const PAPER_SCALE: u32 = 8;
/// Paper whose brightness varies by more than this many tones across the
/// page (5th to 95th percentile) is evened out.
const UNEVEN: u8 = 24;

/// Evens out paper lit unevenly (a photo's shadow, a curl, print faded on
/// one side): divides the image by its mean brightness around each point,
/// over about two text lines, so print on a darker part stands as far from
/// its paper as print elsewhere and one threshold serves the whole page.
/// Paper lit evenly is left alone: there the division would only raise
/// print showing through from the back. Estimated on an image
/// `PAPER_SCALE` times smaller, so it costs a fraction of a reading.
/// Returns whether it evened the page.
fn flatten(gray: &mut GrayImage, line_height: Option<u32>) -> bool {
    let (w, h) = gray.dimensions();
    let (sw, sh) = (w / PAPER_SCALE, h / PAPER_SCALE);
    if sw < 8 || sh < 8 {
        return false;
    }
    let r = (line_height.unwrap_or(24) * 2 / PAPER_SCALE).clamp(2, 8);
    let small = imageops::resize(gray, sw, sh, FilterType::Triangle);
    if paper_spread(&small, r as usize) <= UNEVEN {
        return false;
    }
    let mean = imageops::resize(&imageops::blur(&small, r as f32), w, h, FilterType::Triangle);
    for (p, m) in gray.pixels_mut().zip(mean.pixels()) {
        p.0[0] = (u32::from(p.0[0]) * 255 / u32::from(m.0[0].max(32))).min(255) as u8;
    }
    true
}

/// How much the paper's brightness varies across a (small) image: the
/// brightest tone within `r` pixels of each point is the paper there, print
/// being darker; the spread is its 5th to 95th percentile.
fn paper_spread(small: &GrayImage, r: usize) -> u8 {
    let (w, h) = (small.width() as usize, small.height() as usize);
    let src = small.as_raw();
    let window = |i: usize, n: usize| i.saturating_sub(r)..(i + r + 1).min(n);
    // A square window's maximum: over rows, then over columns.
    let mut rows = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            rows[y * w + x] = window(x, w).map(|i| src[y * w + i]).max().unwrap_or(0);
        }
    }
    let mut paper: Vec<u8> = (0..h)
        .flat_map(|y| (0..w).map(move |x| (y, x)))
        .map(|(y, x)| window(y, h).map(|i| rows[i * w + x]).max().unwrap_or(0))
        .collect();
    paper.sort_unstable();
    let at = |q: f64| paper[((paper.len() - 1) as f64 * q) as usize];
    at(0.95).saturating_sub(at(0.05))
}

/// The tone below which a pixel is print: halfway between the darkest
/// print and the paper. `None` for a page with too little contrast to
/// hold print.
fn ink_tone(img: &GrayImage) -> Option<u8> {
    let (dark, light) = (percentile(img, 0.01), percentile(img, 0.6));
    (light.saturating_sub(dark) >= 40).then_some(dark / 2 + light / 2)
}

/// The median height of the image's text lines: runs of rows holding ink,
/// where ink is darker than halfway between the paper and the darkest tone.
fn line_height(img: &GrayImage) -> Option<u32> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return None;
    }
    let ink = ink_tone(img)?;
    // A row holds text when over 1% of it is ink (specks and noise stay
    // under that).
    let inked: Vec<f32> =
        (0..h).map(|y| (0..w).filter(|&x| img.get_pixel(x, y).0[0] < ink).count() as f32 / w as f32).collect();
    let mut heights: Vec<u32> = Vec::new();
    let mut start = None;
    for (y, &share) in inked.iter().chain(std::iter::once(&0.0)).enumerate() {
        match (share > 0.01, start) {
            (true, None) => start = Some(y),
            (false, Some(s)) => {
                let run = (y - s) as u32;
                // Shorter runs are rules, dots or noise; a run taller than a
                // tenth of the image is a logo, a photo or a barcode.
                if run >= 5 && run <= h / 10 + 5 {
                    heights.push(run);
                }
                start = None;
            }
            _ => {}
        }
    }
    if heights.len() < 3 {
        return None;
    }
    heights.sort_unstable();
    Some(heights[heights.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A white page with `lines` black bars `text` pixels high.
    fn page(w: u32, h: u32, lines: u32, text: u32) -> GrayImage {
        let mut img = GrayImage::from_pixel(w, h, image::Luma([240]));
        for i in 0..lines {
            let top = 20 + i * text * 2;
            for y in top..(top + text).min(h) {
                for x in 10..w - 10 {
                    img.put_pixel(x, y, image::Luma([20]));
                }
            }
        }
        img
    }

    #[test]
    fn boxes_are_turned_back() {
        // A 100 × 50 image with a box at (10, 5) of 20 × 4.
        let mut img = GrayImage::from_pixel(100, 50, image::Luma([255]));
        for y in 5..9 {
            for x in 10..30 {
                img.put_pixel(x, y, image::Luma([0]));
            }
        }
        for (deg, turned) in
            [(90, imageops::rotate90(&img)), (180, imageops::rotate180(&img)), (270, imageops::rotate270(&img))]
        {
            let dark: Vec<(u32, u32)> =
                turned.enumerate_pixels().filter(|(_, _, p)| p.0[0] == 0).map(|(x, y, _)| (x, y)).collect();
            let (x0, y0) = (dark.iter().map(|p| p.0).min().unwrap(), dark.iter().map(|p| p.1).min().unwrap());
            let (x1, y1) = (dark.iter().map(|p| p.0).max().unwrap(), dark.iter().map(|p| p.1).max().unwrap());
            let found = (x0, y0, x1 - x0 + 1, y1 - y0 + 1);
            assert_eq!(unrotate(found, deg, 100, 50), (10, 5, 20, 4), "{deg}");
        }
    }

    #[test]
    fn paper_in_shadow_is_evened_out_and_even_paper_left_alone() {
        // Print (tone 110 on paper 230) with the left half in shadow (paper
        // 150, print 70): the shadow's paper is darker than print elsewhere,
        // so no one threshold separates them.
        let mut img = page(800, 800, 12, 20);
        for y in 0..800 {
            for x in 0..800 {
                let ink = img.get_pixel(x, y).0[0] < 100;
                let tone = match (x < 400, ink) {
                    (true, true) => 70,
                    (true, false) => 150,
                    (false, true) => 110,
                    (false, false) => 230,
                };
                img.put_pixel(x, y, image::Luma([tone]));
            }
        }
        let lh = line_height(&img);
        assert!(flatten(&mut img, lh));
        // Away from the edge of the shadow, paper is paper and print is
        // print on both sides.
        let tone = |x: u32, y: u32| img.get_pixel(x, y).0[0];
        let (print_shade, print_lit) = (tone(200, 30), tone(600, 30));
        let (paper_shade, paper_lit) = (tone(200, 780), tone(600, 780));
        assert!(
            print_shade.max(print_lit) < paper_shade.min(paper_lit),
            "{print_shade} {print_lit} {paper_shade} {paper_lit}"
        );
        // An evenly lit page is not touched.
        let mut even = page(800, 800, 12, 20);
        let before = even.clone();
        assert!(!flatten(&mut even, line_height(&before)));
        assert_eq!(even, before);
    }

    #[test]
    fn line_height_is_found() {
        assert_eq!(line_height(&page(400, 600, 10, 12)), Some(12));
        assert_eq!(line_height(&GrayImage::from_pixel(100, 100, image::Luma([255]))), None);
    }

    #[test]
    fn a_page_on_a_dark_background_is_cut_out() {
        let mut img = GrayImage::from_pixel(1000, 1000, image::Luma([40]));
        imageops::replace(&mut img, &page(300, 800, 10, 30), 600, 100);
        let (x, y, w, h) = document_bounds(&img).unwrap();
        assert!((590..=600).contains(&x) && (90..=100).contains(&y), "{x} {y}");
        assert!((300..=316).contains(&w) && (800..=816).contains(&h), "{w} {h}");
        // A page filling the image is left alone.
        assert_eq!(document_bounds(&page(300, 800, 10, 30)), None);
        // A short receipt in a corner of a tall dark page: paper fills a
        // third of its columns.
        let mut img = GrayImage::from_pixel(1400, 1800, image::Luma([45]));
        imageops::replace(&mut img, &page(500, 600, 8, 30), 850, 20);
        let (x, y, w, h) = document_bounds(&img).unwrap();
        assert!((840..=850).contains(&x) && (10..=20).contains(&y), "{x} {y}");
        assert!((500..=516).contains(&w) && (600..=616).contains(&h), "{w} {h}");
        // A bright patch on a dark photo of a dimly lit receipt is not
        // the document.
        let mut img = GrayImage::from_pixel(1400, 1800, image::Luma([45]));
        imageops::replace(&mut img, &GrayImage::from_pixel(300, 500, image::Luma([250])), 100, 100);
        imageops::replace(&mut img, &GrayImage::from_pixel(1000, 800, image::Luma([130])), 200, 850);
        for row in 0..12 {
            for y in 900 + row * 60..920 + row * 60 {
                for x in (250..1150).filter(|x| x % 9 < 5) {
                    img.put_pixel(x, y, image::Luma([40]));
                }
            }
        }
        assert_eq!(document_bounds(&img), None);
        // On a grey lid, too.
        let mut img = GrayImage::from_pixel(1000, 1000, image::Luma([166]));
        imageops::replace(&mut img, &page(300, 800, 10, 30), 600, 100);
        let (x, _, w, _) = document_bounds(&img).unwrap();
        assert!((590..=600).contains(&x) && (300..=316).contains(&w), "{x} {w}");
        // A cardboard lid: grey with dark fibres everywhere (2% of pixels),
        // a page on it, and the scanner's black border along one side.
        let mut img = GrayImage::from_pixel(1000, 1000, image::Luma([166]));
        let mut seed = 0x9e37_79b9u32;
        for y in 0..1000 {
            for x in 0..1000 {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                if seed.is_multiple_of(50) || x < 20 {
                    img.put_pixel(x, y, image::Luma([90]));
                }
            }
        }
        imageops::replace(&mut img, &page(300, 800, 10, 30), 600, 100);
        let (x, _, w, _) = document_bounds(&img).unwrap();
        assert!((590..=600).contains(&x) && (300..=316).contains(&w), "{x} {w}");
        // But print in the part that would be cut off (a shadow over a
        // photographed page) keeps the page whole.
        let mut img = page(1000, 1000, 14, 30);
        for y in 0..1000 {
            for x in 0..1000 {
                // Bars broken into letters; the left half in shadow.
                let p = if x % 14 < 6 { 240 } else { img.get_pixel(x, y).0[0] };
                img.put_pixel(x, y, image::Luma([if x < 500 { p.saturating_sub(70) } else { p }]));
            }
        }
        assert_eq!(document_bounds(&img), None);
    }
}
