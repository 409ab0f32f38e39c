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
    /// No thumbnail could be made (a HEIC/HEIF libheif cannot decode, or too large to preview).
    NoThumbnail,
    /// More pixels than the whole decode budget (`photos.decode_pixel_budget`): stored with its
    /// EXIF and size, never decoded, so no thumbnail and no perceptual hash.
    TooLargeToPreview,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::ExifUnreadable => "exif_unreadable",
            Flag::NoExif => "no_exif",
            Flag::NoGps => "no_gps",
            Flag::Damaged => "damaged",
            Flag::NoThumbnail => "no_thumbnail",
            Flag::TooLargeToPreview => "too_large_to_preview",
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

/// Whether [`process_with`] decodes the picture (thumbnails, perceptual hash) or only reads its
/// header and metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    Make,
    /// Larger than the decode budget: nothing is decoded, the photo is flagged.
    TooLarge,
}

/// The real format and the size from the header, without decoding any pixel (cheap: reads at
/// most the first 256 KiB). `None` for the size when the header does not give one.
pub fn header(path: &Path) -> Result<(Format, Option<(u32, u32)>), Rejection> {
    header_of(&mut BufReader::new(File::open(path)?))
}

fn header_of<R: Read + Seek>(
    file: &mut BufReader<R>,
) -> Result<(Format, Option<(u32, u32)>), Rejection> {
    let mut head = [0u8; 64];
    let n = read_up_to(file, &mut head)?;
    let format = sniff(&head[..n]).ok_or(Rejection::NotAnImage)?;
    let dims = match format {
        Format::Png => sniff::png_dimensions(&head[..n]),
        Format::Heif => sniff::heif_dimensions(file)?,
        Format::Jpeg => {
            // The frame header (SOF), read up to the first scan. Not `image`'s JPEG decoder: it
            // reads the whole file into memory first (a 100 MiB upload held 100 MiB here).
            file.rewind()?;
            let mut decoder = jpeg_decoder::Decoder::new(&mut *file);
            decoder
                .read_info()
                .ok()
                .and_then(|()| decoder.info())
                .map(|i| (u32::from(i.width), u32::from(i.height)))
        }
        Format::Webp => {
            file.rewind()?;
            image::ImageReader::with_format(&mut *file, image::ImageFormat::WebP)
                .into_dimensions()
                .ok()
        }
    };
    Ok((format, dims))
}

/// Processes the photo in `path`: sniff, size check, EXIF, thumbnails (`sizes`, long edge), phash.
pub fn process(path: &Path, limits: Limits, sizes: &[u32]) -> Result<Processed, Rejection> {
    process_with(path, limits, sizes, Preview::Make)
}

/// [`process`], or with [`Preview::TooLarge`] everything but the decoding.
pub fn process_with(
    path: &Path,
    limits: Limits,
    sizes: &[u32],
    preview: Preview,
) -> Result<Processed, Rejection> {
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
        _ if preview == Preview::TooLarge => {
            // Never decoded: the size comes from the header alone (and must still pass the limit).
            let dims = header(path)?.1;
            if let Some((w, h)) = dims {
                check_pixels(w, h, limits)?;
            }
            flags.push(Flag::TooLargeToPreview);
            flags.push(Flag::NoThumbnail);
            (dims.map(|d| d.0), dims.map(|d| d.1), Vec::new())
        }
        _ => match thumbs::make(&mut file, format, limits, sizes, exif.orientation) {
            Ok(made) => {
                if made.damaged {
                    flags.push(Flag::Damaged);
                }
                phash = made.phash;
                (Some(made.width), Some(made.height), made.thumbnails)
            }
            Err(Rejection::Undecodable(why)) if format == Format::Heif => {
                // libheif could not decode it (a codec missing from this libheif build, or a
                // broken stream): stored with its EXIF and the size from `ispe`, flagged.
                tracing::warn!(error = %why, "HEIF not decoded; stored without thumbnails");
                let dims = sniff::heif_dimensions(&mut file)?;
                if let Some((w, h)) = dims {
                    check_pixels(w, h, limits)?;
                }
                flags.push(Flag::NoThumbnail);
                (dims.map(|d| d.0), dims.map(|d| d.1), Vec::new())
            }
            Err(e) => return Err(e),
        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// Counts the bytes read through it.
    struct Counting<R> {
        inner: R,
        read: u64,
    }

    impl<R: Read> Read for Counting<R> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.inner.read(buf)?;
            self.read += n as u64;
            Ok(n)
        }
    }

    impl<R: Seek> Seek for Counting<R> {
        fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
            self.inner.seek(pos)
        }
    }

    #[test]
    fn a_jpeg_size_is_read_from_its_header_not_the_whole_file() {
        let picture = image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let mut bytes = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 80)
            .encode_image(&picture)
            .unwrap();
        let jpeg_len = bytes.len() as u64;
        // Padded after its end marker, as the upload benchmark does (and as a phone may send).
        bytes.resize(bytes.len() + (16 << 20), 0);
        let mut r = BufReader::new(Counting {
            inner: Cursor::new(bytes),
            read: 0,
        });
        let (format, dims) = header_of(&mut r).unwrap();
        assert_eq!(format, Format::Jpeg);
        assert_eq!(dims, Some((640, 480)));
        let read = r.get_ref().read;
        assert!(
            read <= jpeg_len + (256 << 10),
            "read {read} bytes of a {jpeg_len}-byte JPEG"
        );
    }
}
