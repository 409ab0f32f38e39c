//! Photo processing without I/O beyond reading one local file: sniff the real format, read the
//! header's dimensions before decoding (decompression bombs never get decoded), read EXIF, make
//! upright thumbnails and a perceptual hash. CPU-heavy: call it on the blocking pool.

mod exif;
pub mod phash;
pub mod pool;
mod sniff;
mod thumbs;
mod xmp;

pub use exif::{ExifFacts, read_exif};
pub use sniff::{Format, sniff};
pub use thumbs::Thumbnail;

use std::fs::File;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

/// What may be decoded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Width × height read from the header; more is refused before any pixel is decoded.
    pub max_pixels: u64,
}

/// A deliberate note on a photo, shown to supervisors (stable snake_case names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flag {
    /// The EXIF block is present but broken: what could be read is kept.
    ExifUnreadable,
    /// No EXIF at all (typical of a picture picked from the gallery or edited).
    NoExif,
    /// No GPS position in the EXIF.
    NoGps,
    /// The compressed stream is damaged; a lenient decoder still rendered it.
    Damaged,
    /// No thumbnail could be made (HEIC/HEIF: no decoder in this build).
    NoThumbnail,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::ExifUnreadable => "exif_unreadable",
            Flag::NoExif => "no_exif",
            Flag::NoGps => "no_gps",
            Flag::Damaged => "damaged",
            Flag::NoThumbnail => "no_thumbnail",
        }
    }
}

/// Everything learnt from a photo's bytes.
#[derive(Debug, Clone)]
pub struct Processed {
    pub format: Format,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub exif: ExifFacts,
    pub flags: Vec<Flag>,
    /// Upright JPEG thumbnails, largest first.
    pub thumbnails: Vec<Thumbnail>,
    /// Perceptual hash (DCT, 64 bits) of the upright picture, hex.
    pub phash: Option<String>,
}

/// Why a file is refused.
#[derive(Debug, thiserror::Error)]
pub enum Rejection {
    #[error("the bytes are not a JPEG, PNG, WebP or HEIC/HEIF image")]
    NotAnImage,
    #[error("the image is {width}×{height} pixels; at most {max} pixels are accepted")]
    TooLarge { width: u32, height: u32, max: u64 },
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
    #[error("reading the file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Processes the photo in `path`: sniff, size check, EXIF, thumbnails (`sizes`, long edge), phash.
pub fn process(path: &Path, limits: Limits, sizes: &[u32]) -> Result<Processed, Rejection> {
    let mut file = BufReader::new(File::open(path)?);
    let mut head = [0u8; 64];
    let n = read_up_to(&mut file, &mut head)?;
    let format = sniff(&head[..n]).ok_or(Rejection::NotAnImage)?;
    if format == Format::Png {
        // The PNG decoder wants to see image data before it reports a size; IHDR is enough.
        let (w, h) = sniff::png_dimensions(&head[..n])
            .ok_or_else(|| Rejection::Undecodable("no IHDR chunk".into()))?;
        check_pixels(w, h, limits)?;
    }
    file.rewind()?;

    let (mut exif, mut flags) = read_exif(&mut file);
    file.rewind()?;
    if exif.taken_at.is_none() {
        // No EXIF capture time: an XMP packet (edited files, some apps) may still carry one.
        let mut head = Vec::with_capacity(1 << 20);
        (&mut file).take(1 << 20).read_to_end(&mut head)?;
        if let Some((taken, zone)) = xmp::capture_time(&head) {
            exif.taken_at = Some(taken);
            exif.taken_at_offset = exif.taken_at_offset.or(zone);
        }
        file.rewind()?;
    }

    let mut phash = None;
    let (width, height, thumbnails) = match format {
        Format::Heif => {
            // No HEVC decoder without libheif (a system library we chose not to require):
            // stored with its EXIF and the size from its `ispe` property, flagged.
            let dims = sniff::heif_dimensions(&mut file)?;
            if let Some((w, h)) = dims {
                check_pixels(w, h, limits)?;
            }
            flags.push(Flag::NoThumbnail);
            (dims.map(|d| d.0), dims.map(|d| d.1), Vec::new())
        }
        _ => {
            let made = thumbs::make(&mut file, format, limits, sizes, exif.orientation)?;
            if made.damaged {
                flags.push(Flag::Damaged);
            }
            phash = made.phash;
            (Some(made.width), Some(made.height), made.thumbnails)
        }
    };
    flags.sort_unstable();
    flags.dedup();
    Ok(Processed {
        format,
        width,
        height,
        exif,
        flags,
        thumbnails,
        phash,
    })
}

fn check_pixels(width: u32, height: u32, limits: Limits) -> Result<(), Rejection> {
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(Rejection::TooLarge {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
