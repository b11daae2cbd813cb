//! Straightening a page whose text lines slope: a receipt laid crooked on
//! the scanner or photographed at a slant.
//!
//! Tesseract follows lines that slope a little, but its reading of each
//! line suffers as the slope grows, and a sloping line's characters run
//! into the lines above and below. The slope is found by projection, as
//! Leptonica's `pixFindSkew` does it: when the ink's rows are counted along
//! the lines' own angle, each line's pixels stack into few rows and the
//! counts change sharply from row to row, so the angle with the largest sum
//! of squared changes is the lines' slope. Leptonica is not among the crates
//! we can link without a C build, and the method is a few lines.

use image::{GrayImage, Luma};
use imageproc::drawing::flood_fill_mut;
use imageproc::geometric_transformations::{Border, Interpolation, Projection, warp_into};

/// The steepest slope looked for, in degrees. A receipt turned further is
/// rare, and Tesseract's orientation detection handles quarter turns.
const MAX_DEGREES: f32 = 8.0;
/// Slopes under this are left to Tesseract, which reads them as well as
/// straight lines, and straightening would only blur the print.
const MIN_DEGREES: f32 = 0.8;
/// At most this many ink pixels are sampled: enough to find lines, few
/// enough to try every angle in a few milliseconds.
const MAX_POINTS: usize = 120_000;

/// How a page was turned to level its lines.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deskew {
    /// The lines' slope that was taken out, in degrees; positive for lines
    /// falling to the right.
    pub degrees: f32,
    /// Width and height of the image before turning.
    pub before: (u32, u32),
    /// Width and height after: the canvas grows so no corner is lost.
    pub after: (u32, u32),
}

impl Deskew {
    /// A point of the straightened image in the pixels of the image before.
    pub fn back(&self, x: f32, y: f32) -> (f32, f32) {
        let (s, c) = self.degrees.to_radians().sin_cos();
        let (dx, dy) = (x - self.after.0 as f32 / 2.0, y - self.after.1 as f32 / 2.0);
        (self.before.0 as f32 / 2.0 + dx * c - dy * s, self.before.1 as f32 / 2.0 + dx * s + dy * c)
    }

    /// A box `(x, y, width, height)` of the straightened image, as the box
    /// around its corners in the image before.
    pub fn back_box(&self, b: (f32, f32, f32, f32)) -> (f32, f32, f32, f32) {
        let (x, y, w, h) = b;
        let corners = [(x, y), (x + w, y), (x, y + h), (x + w, y + h)].map(|(px, py)| self.back(px, py));
        let (x0, y0) = corners.iter().fold((f32::MAX, f32::MAX), |(a, b), &(px, py)| (a.min(px), b.min(py)));
        let (x1, y1) = corners.iter().fold((f32::MIN, f32::MIN), |(a, b), &(px, py)| (a.max(px), b.max(py)));
        let (bw, bh) = self.before;
        let (x0, y0) = (x0.clamp(0.0, bw as f32), y0.clamp(0.0, bh as f32));
        (x0, y0, x1.clamp(x0, bw as f32) - x0, y1.clamp(y0, bh as f32) - y0)
    }
}

/// The slope of the text lines in degrees (positive: falling to the
/// right), or `None` when they are level within `MIN_DEGREES`, or the
/// page holds too little print, or no angle stands out. `ink` is the tone
/// below which a pixel is print.
pub fn find(img: &GrayImage, ink: u8) -> Option<f32> {
    let (w, h) = img.dimensions();
    let pixels = w as u64 * h as u64;
    if w < 64 || h < 64 {
        return None;
    }
    // Ink on a grid: every `step`-th pixel each way, then every k-th of
    // those when there are still too many.
    let step = ((pixels as f64 / 2_000_000.0).sqrt().ceil() as u32).max(1);
    let mut dark = GrayImage::from_fn(w.div_ceil(step), h.div_ceil(step), |x, y| {
        Luma([if img.get_pixel(x * step, y * step).0[0] < ink { 255 } else { 0 }])
    });
    clear_surround(&mut dark);
    let points: Vec<(f32, f32)> = dark
        .enumerate_pixels()
        .filter(|(_, _, p)| p.0[0] == 255)
        .map(|(x, y, _)| ((x * step) as f32, (y * step) as f32))
        .collect();
    if points.len() < 500 {
        return None;
    }
    let thin = points.len().div_ceil(MAX_POINTS);
    let points: Vec<(f32, f32)> = points.into_iter().step_by(thin).collect();
    // Rows of `step` pixels, over every offset a turned line can reach:
    // `y cos a - x sin a` lies within `-w..h + w`, shifted by `w`.
    let rows = ((h + 2 * w) / step + 2) as usize;
    let mut counts = vec![0u32; rows];
    let mut score = |degrees: f32| -> f64 {
        let (s, c) = degrees.to_radians().sin_cos();
        counts.iter_mut().for_each(|n| *n = 0);
        for &(x, y) in &points {
            let r = ((y * c - x * s + w as f32) / step as f32) as usize;
            counts[r.min(rows - 1)] += 1;
        }
        counts.windows(2).map(|p| (p[1] as f64 - p[0] as f64).powi(2)).sum()
    };
    let level = score(0.0);
    let mut sweep = |from: f32, to: f32, by: f32| -> (f32, f64) {
        let n = ((to - from) / by).round() as i32;
        (0..=n)
            .map(|i| from + i as f32 * by)
            .map(|d| (d, score(d)))
            .fold((0.0, f64::MIN), |a, b| if b.1 > a.1 { b } else { a })
    };
    let (coarse, _) = sweep(-MAX_DEGREES, MAX_DEGREES, 0.25);
    let (best, top) = sweep(coarse - 0.25, coarse + 0.25, 0.05);
    // The slope must stand out: text lines that are level already score
    // within a few percent of their best angle.
    (best.abs() >= MIN_DEGREES && top > level * 1.1).then_some(best)
}

/// Clears the dark cells (255) of the sampled grid connected to its edge:
/// the scanner's lid or table around the paper, and the wedges a page laid
/// crooked leaves in the corners of its bounding box. Their straight edges
/// would otherwise outweigh the text lines (a lid's edge is level whatever
/// the paper's slope). Print stands on paper, apart from the edge.
fn clear_surround(dark: &mut GrayImage) {
    let (gw, gh) = dark.dimensions();
    let edge: Vec<(u32, u32)> =
        (0..gw).flat_map(|x| [(x, 0), (x, gh - 1)]).chain((0..gh).flat_map(|y| [(0, y), (gw - 1, y)])).collect();
    for (x, y) in edge {
        if dark.get_pixel(x, y).0[0] == 255 {
            flood_fill_mut(dark, x, y, Luma([0]));
        }
    }
}

/// Turns `img` so that lines sloping by `degrees` become level, on a canvas
/// large enough to keep every corner, the new parts filled with `paper`.
pub fn straighten(img: &GrayImage, degrees: f32, paper: u8) -> (GrayImage, Deskew) {
    let (w, h) = img.dimensions();
    let (s, c) = degrees.to_radians().sin_cos();
    let (s, c) = (s.abs(), c.abs());
    let after = ((w as f32 * c + h as f32 * s).ceil() as u32, (w as f32 * s + h as f32 * c).ceil() as u32);
    // Centre on the origin, turn the lines level (anticlockwise by their
    // slope), centre on the new canvas.
    let projection = Projection::translate(after.0 as f32 / 2.0, after.1 as f32 / 2.0)
        * Projection::rotate(-degrees.to_radians())
        * Projection::translate(-(w as f32) / 2.0, -(h as f32) / 2.0);
    let mut out = GrayImage::new(after.0, after.1);
    warp_into(img, projection, Interpolation::Bilinear, Border::Constant(Luma([paper])), &mut out);
    (out, Deskew { degrees, before: (w, h), after })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page of lines of dashes, like words, `lines` rows apart, each
    /// falling by `degrees` to the right.
    fn page(w: u32, h: u32, degrees: f32) -> GrayImage {
        let mut img = GrayImage::from_pixel(w, h, Luma([240]));
        let slope = degrees.to_radians().tan();
        for row in (40..h - 40).step_by(36) {
            for x in 20..w - 20 {
                // Words of 60 pixels with gaps of 20.
                if x % 80 >= 60 {
                    continue;
                }
                let y0 = row as f32 + x as f32 * slope;
                for dy in 0..14 {
                    let y = (y0 + dy as f32) as i64;
                    if (0..h as i64).contains(&y) && (x + dy) % 5 != 0 {
                        img.put_pixel(x, y as u32, Luma([30]));
                    }
                }
            }
        }
        img
    }

    #[test]
    fn the_slope_of_text_lines_is_found_and_taken_out() {
        for degrees in [-4.0f32, -2.0, 1.5, 3.0, 6.0] {
            let img = page(800, 1200, degrees);
            let found = find(&img, 128).unwrap_or_else(|| panic!("no slope found for {degrees}"));
            assert!((found - degrees).abs() <= 0.15, "{degrees}: found {found}");
            let (level, turned) = straighten(&img, found, 240);
            assert!(level.width() > 800 && level.height() > 1200);
            // Straightened, the page reads as level.
            assert_eq!(find(&level, 128), None, "{degrees}");
            // A point maps back where it was: the page's centre stays put,
            // and a corner of the new canvas lies outside the old one.
            let (cx, cy) = turned.back(level.width() as f32 / 2.0, level.height() as f32 / 2.0);
            assert!((cx - 400.0).abs() < 1.0 && (cy - 600.0).abs() < 1.0, "{cx} {cy}");
            let (x, y, bw, bh) = turned.back_box((0.0, 0.0, level.width() as f32, level.height() as f32));
            assert_eq!((x, y), (0.0, 0.0));
            assert!((bw - 800.0).abs() < 1.0 && (bh - 1200.0).abs() < 1.0, "{bw} {bh}");
        }
    }

    #[test]
    fn a_dark_surround_does_not_hide_the_slope() {
        // A receipt's few sloping lines in a corner of a page cut out of a
        // dark lid: the lid runs along the top, the bottom and the left.
        // The image's own level edges cut through it, and counted as ink
        // they outweigh the lines.
        let mut img = GrayImage::from_pixel(1600, 1600, Luma([235]));
        let lines = page(600, 420, 2.5);
        image::imageops::replace(&mut img, &lines, 900, 400);
        for (x, y, p) in img.enumerate_pixels_mut() {
            if !(100..1500).contains(&y) || x < 500 {
                *p = Luma([35]);
            }
        }
        let found = find(&img, 128).expect("a slope");
        assert!((found - 2.5).abs() <= 0.15, "found {found}");
    }

    #[test]
    fn level_lines_a_small_slope_and_a_blank_page_are_left_alone() {
        assert_eq!(find(&page(800, 1200, 0.0), 128), None);
        assert_eq!(find(&page(800, 1200, 0.4), 128), None);
        assert_eq!(find(&GrayImage::from_pixel(800, 1200, Luma([240])), 128), None);
        assert_eq!(find(&GrayImage::from_pixel(10, 10, Luma([0])), 128), None);
    }

    #[test]
    fn a_word_box_maps_back_onto_the_turned_word() {
        let img = page(800, 1200, 3.0);
        let (_, turned) = straighten(&img, 3.0, 240);
        // The first word of the fifth line, level in the straightened image:
        // mapped back, its box lies where the sloping word was drawn.
        let (sx, sy) = (20.0f32, 40.0 + 4.0 * 36.0 + 20.0 * 3.0f32.to_radians().tan());
        let (s, c) = 3.0f32.to_radians().sin_cos();
        let (dx, dy) = (sx - 400.0, sy - 600.0);
        let (lx, ly) = (turned.after.0 as f32 / 2.0 + dx * c + dy * s, turned.after.1 as f32 / 2.0 - dx * s + dy * c);
        let (x, y, w, h) = turned.back_box((lx, ly, 60.0, 14.0));
        assert!((x - sx).abs() < 2.0, "{x} vs {sx}");
        assert!((y - sy).abs() < 2.0, "{y} vs {sy}");
        assert!((55.0..70.0).contains(&w) && (14.0..20.0).contains(&h), "{w} {h}");
    }
}
