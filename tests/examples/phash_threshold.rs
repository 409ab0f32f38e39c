//! How far apart perceptual hashes are for the same picture edited, and for different pictures:
//! the measurement behind `evidence.near_duplicate_bits` (docs/photos.md).
//! `cargo run -p closeout-tests --example phash_threshold`
//!
//! Every distinct sample photo (tests/fixtures/photos) is edited the ways a reused photo arrives:
//! recompressed (JPEG q50), resized (50%), brightened 10%, cropped 5% (95% of each side, centred),
//! screenshotted (scaled to a 1080 px wide screen, a dark status bar over the top 3%, PNG),
//! WeChat-style (long edge 1280, JPEG q70, no EXIF), and the CMYK/YCCK copies in `cmyk/`. Each
//! file goes through the server's own pipeline (`media::process`). Printed per threshold: the
//! share of edited copies found (per edit) and the unrelated pairs that would be flagged.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use closeout::media::{self, Limits, phash};
use image::{DynamicImage, ImageFormat};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const EDITS: &[&str] = &[
    "recompress",
    "resize",
    "brighten",
    "crop",
    "screenshot",
    "wechat",
];

fn main() -> anyhow::Result<()> {
    let root = closeout_tests::photos::samples();
    let mut originals: Vec<PathBuf> = Vec::new();
    for dir in ["", "gps", "invalid"] {
        for e in std::fs::read_dir(root.join(dir))?.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x.eq_ignore_ascii_case("jpg")) {
                originals.push(p);
            }
        }
    }
    // One of each scene in orientation/ (the others are the same pictures rotated).
    originals.push(root.join("orientation/landscape_1.jpg"));
    originals.push(root.join("orientation/portrait_1.jpg"));
    originals.sort();
    let cmyk_of: BTreeMap<&str, &str> = [
        ("jolla.jpg", "cmyk/jolla_cmyk.jpg"),
        ("DSCN0012.jpg", "cmyk/DSCN0012_cmyk.jpg"),
        ("HMD_Nokia_8.3_5G.jpg", "cmyk/nokia_ycck.jpg"),
        ("DSCN0029.jpg", "cmyk/DSCN0029_ycck.jpg"),
    ]
    .into_iter()
    .collect();

    let work = tempfile::tempdir()?;
    let limits = Limits {
        max_pixels: 64_000_000,
    };
    let hash_file = |path: &Path| -> Option<u64> {
        let p = media::process(path, limits, &[1280, 256]).ok()?;
        p.phash.as_deref().and_then(phash::parse)
    };

    let mut rows: Vec<Row> = Vec::new();
    for path in &originals {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(h) = hash_file(path) else {
            println!("# {name}: no hash (too little detail or undecodable)");
            continue;
        };
        // Edits start from the picture at most 2000 px long (fast enough in a debug build; a
        // phone's edited or forwarded copy is no larger), without its EXIF orientation.
        let img = image::open(path).map(|i| {
            if i.width().max(i.height()) > 2000 {
                i.thumbnail(2000, 2000)
            } else {
                i
            }
        });
        let mut edits = Vec::new();
        if let Ok(img) = &img {
            for edit in EDITS {
                let out = work.path().join(format!("{edit}-{name}.img"));
                write_edit(img, edit, &out)?;
                if let Some(e) = hash_file(&out) {
                    edits.push((*edit, e));
                }
            }
        }
        if let Some(c) = cmyk_of.get(name.as_str())
            && let Some(e) = hash_file(&root.join(c))
        {
            edits.push(("cmyk", e));
        }
        println!(
            "# {name}: {:016x} ({} bits set), detail {:.1}",
            h,
            h.count_ones(),
            img.as_ref()
                .map(|i| phash::detail(&i.thumbnail(256, 256)))
                .unwrap_or(f64::NAN)
        );
        rows.push((name, h, edits));
    }

    // Distances of true pairs (original ↔ its edit) and unrelated pairs (original ↔ another
    // original, and an edit ↔ another original).
    let mut truth: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let mut unrelated: Vec<(u32, String, String)> = Vec::new();
    for (i, (name, h, edits)) in rows.iter().enumerate() {
        for (edit, e) in edits {
            truth.entry(edit).or_default().push(phash::distance(*h, *e));
        }
        for (j, (other, oh, other_edits)) in rows.iter().enumerate() {
            if i < j {
                unrelated.push((phash::distance(*h, *oh), name.clone(), other.clone()));
            }
            if i != j {
                for (edit, e) in other_edits {
                    unrelated.push((
                        phash::distance(*h, *e),
                        name.clone(),
                        format!("{edit} of {other}"),
                    ));
                }
            }
        }
    }
    println!(
        "# {} pictures, {} edited copies, {} unrelated pairs",
        rows.len(),
        truth.values().map(Vec::len).sum::<usize>(),
        unrelated.len()
    );
    for (edit, d) in &truth {
        let mut d = d.clone();
        d.sort_unstable();
        println!("# {edit}: distances {d:?}");
    }
    unrelated.sort();
    println!("# closest unrelated pairs:");
    for (d, a, b) in unrelated.iter().take(8) {
        println!("#   {d:2} bits: {a} / {b}");
    }
    print!("threshold");
    for edit in truth.keys() {
        print!(" {edit:>10}");
    }
    println!(" {:>8} {:>14}", "all", "false_pos");
    for t in 0..=16u32 {
        print!("{t:9}");
        let (mut hit, mut total) = (0, 0);
        for d in truth.values() {
            let h = d.iter().filter(|x| **x <= t).count();
            hit += h;
            total += d.len();
            print!(" {:>9.0}%", 100.0 * h as f64 / d.len() as f64);
        }
        let fp = unrelated.iter().filter(|(d, ..)| *d <= t).count();
        println!(
            " {:>7.0}% {:>6}/{} ",
            100.0 * hit as f64 / total as f64,
            fp,
            unrelated.len()
        );
    }
    Ok(())
}

/// A sample photo: its name, its hash, and its edited copies' hashes by edit.
type Row = (String, u64, Vec<(&'static str, u64)>);

fn write_edit(img: &DynamicImage, edit: &str, out: &Path) -> anyhow::Result<()> {
    let (w, h) = (img.width(), img.height());
    let jpeg = |img: &DynamicImage, q: u8| -> anyhow::Result<()> {
        let mut f = std::fs::File::create(out)?;
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut f, q)
            .encode_image(&DynamicImage::ImageRgb8(img.to_rgb8()))?;
        Ok(())
    };
    match edit {
        "recompress" => jpeg(img, 50),
        "resize" => jpeg(
            &img.resize(w / 2, h / 2, image::imageops::FilterType::Triangle),
            85,
        ),
        "brighten" => {
            let mut rgb = img.to_rgb8();
            for p in rgb.pixels_mut() {
                p.0 = p.0.map(|c| (f32::from(c) * 1.1).min(255.0) as u8);
            }
            jpeg(&DynamicImage::ImageRgb8(rgb), 90)
        }
        "crop" => {
            let (cw, ch) = (w * 95 / 100, h * 95 / 100);
            jpeg(&img.crop_imm((w - cw) / 2, (h - ch) / 2, cw, ch), 90)
        }
        "screenshot" => {
            let scaled = img.resize(1080, 10_000, image::imageops::FilterType::Triangle);
            let mut rgb = scaled.to_rgb8();
            let bar = rgb.height() * 3 / 100;
            for y in 0..bar {
                for x in 0..rgb.width() {
                    rgb.put_pixel(x, y, image::Rgb([30, 30, 30]));
                }
            }
            rgb.save_with_format(out, ImageFormat::Png)?;
            Ok(())
        }
        "wechat" => jpeg(
            &img.resize(1280, 1280, image::imageops::FilterType::Triangle),
            70,
        ),
        other => anyhow::bail!("unknown edit {other}"),
    }
}
