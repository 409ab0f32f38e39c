//! Prints what photo processing makes of files (format, size, EXIF, flags, phash) and, with
//! `--out DIR`, writes their thumbnails there: `cargo run --example photo_probe -- [--out DIR] FILE...`

use closeout::media::{self, Limits};
use std::path::PathBuf;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out: Option<PathBuf> = None;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        if a == "--out" {
            out = args.next().map(PathBuf::from);
        } else {
            files.push(PathBuf::from(a));
        }
    }
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir)?;
    }
    for file in files {
        let t = std::time::Instant::now();
        let result = media::process(
            &file,
            Limits {
                max_pixels: 64_000_000,
            },
            &[1280, 256],
        );
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        match result {
            Ok(p) => {
                println!(
                    "{}: {} {:?}x{:?} flags={:?} phash={:?} {:.1} ms\n    {:?}",
                    file.display(),
                    p.format.as_str(),
                    p.width,
                    p.height,
                    p.flags.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
                    p.phash,
                    ms,
                    p.exif
                );
                if let Some(dir) = &out {
                    let stem = file
                        .file_stem()
                        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
                    for t in &p.thumbnails {
                        std::fs::write(dir.join(format!("{stem}_{}.jpg", t.size)), &t.jpeg)?;
                    }
                }
            }
            Err(e) => println!("{}: REFUSED {e} ({ms:.1} ms)", file.display()),
        }
    }
    Ok(())
}
