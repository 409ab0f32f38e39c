//! Decoding and thumbnails. JPEGs are decoded at a reduced DCT scale (1/2, 1/4, 1/8) just large
//! enough for the biggest thumbnail — a 12-megapixel photo is never decoded at full size. The
//! EXIF orientation is applied once, to the largest thumbnail, so every thumbnail is upright.

use super::{Format, Limits, Rejection, check_pixels};
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, GrayImage, ImageFormat, ImageReader, RgbImage};
use std::io::{BufRead, Seek};

/// One stored thumbnail: its long-edge size and its JPEG bytes.
#[derive(Debug, Clone)]
pub struct Thumbnail {
    pub size: u32,
    pub jpeg: Vec<u8>,
}

pub(super) struct Made {
    pub width: u32,
    pub height: u32,
    pub damaged: bool,
    pub thumbnails: Vec<Thumbnail>,
    pub phash: Option<String>,
}

const JPEG_QUALITY: u8 = 82;

pub(super) fn make<R: BufRead + Seek>(
    r: &mut R,
    format: Format,
    limits: Limits,
    sizes: &[u32],
    orientation: Option<u8>,
) -> Result<Made, Rejection> {
    let mut sizes: Vec<u32> = sizes.iter().copied().filter(|s| *s > 0).collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes.dedup();
    let largest = sizes.first().copied().unwrap_or(1280);
    let decoded = match format {
        Format::Jpeg => decode_jpeg(r, limits, largest)?,
        Format::Png => decode_generic(r, ImageFormat::Png, limits)?,
        Format::Webp => decode_generic(r, ImageFormat::WebP, limits)?,
        Format::Heif => decode_heif(r, limits)?,
    };
    // libheif applies the HEIF transforms (`irot`, `imir`, crop) itself, so the picture it gives
    // is upright already; the EXIF orientation of a HEIC only repeats them and must not be
    // applied a second time.
    let orientation = if format == Format::Heif {
        None
    } else {
        orientation
    };
    let mut current = decoded.image;
    let mut oriented = false;
    let mut thumbnails = Vec::with_capacity(sizes.len());
    for size in sizes {
        if current.width().max(current.height()) > size {
            current = current.thumbnail(size, size);
        }
        if !oriented {
            if let Some(o) = orientation.and_then(image::metadata::Orientation::from_exif) {
                current.apply_orientation(o);
            }
            oriented = true;
        }
        thumbnails.push(Thumbnail {
            size,
            jpeg: encode_jpeg(&current)?,
        });
    }
    // The hash of the smallest upright picture: rotated copies of one photo hash alike. A
    // picture with too little detail (black, blank) gets none, so it never "matches" another.
    let phash = if thumbnails.is_empty() {
        None
    } else {
        super::phash::hash(&current)
    };
    Ok(Made {
        width: decoded.width,
        height: decoded.height,
        damaged: decoded.damaged,
        thumbnails,
        phash,
    })
}

struct Decoded {
    image: DynamicImage,
    /// Full size, from the header.
    width: u32,
    height: u32,
    damaged: bool,
}

fn decode_jpeg<R: BufRead + Seek>(
    r: &mut R,
    limits: Limits,
    target: u32,
) -> Result<Decoded, Rejection> {
    let (width, height, first_try) = {
        let mut decoder = jpeg_decoder::Decoder::new(&mut *r);
        decoder
            .read_info()
            .map_err(|e| Rejection::Undecodable(e.to_string()))?;
        let info = decoder
            .info()
            .ok_or_else(|| Rejection::Undecodable("no frame header".into()))?;
        let (width, height) = (u32::from(info.width), u32::from(info.height));
        check_pixels(width, height, limits)?;
        let long = width.max(height);
        if long > target {
            let f = f64::from(target) / f64::from(long);
            let want = |d: u32| (f64::from(d) * f).ceil().clamp(1.0, f64::from(u16::MAX)) as u16;
            decoder
                .scale(want(width), want(height))
                .map_err(|e| Rejection::Undecodable(e.to_string()))?;
        }
        let pixels = decoder.decode();
        let info = decoder.info();
        (width, height, pixels.map(|p| (p, info)))
    };
    if let Ok((pixels, Some(info))) = first_try
        && let Some(image) = to_image(pixels, info)
    {
        return Ok(Decoded {
            image,
            width,
            height,
            damaged: false,
        });
    }
    // The strict decoder gave up: the stream is damaged. A lenient decoder (zune-jpeg, through
    // `image`) renders what it can; if it does, the photo is kept and flagged `damaged`.
    r.rewind()?;
    let image = lenient_decode(r, ImageFormat::Jpeg, limits)
        .map_err(|e| Rejection::Undecodable(e.to_string()))?;
    Ok(Decoded {
        image,
        width,
        height,
        damaged: true,
    })
}

fn to_image(pixels: Vec<u8>, info: jpeg_decoder::ImageInfo) -> Option<DynamicImage> {
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => RgbImage::from_raw(w, h, pixels).map(Into::into),
        jpeg_decoder::PixelFormat::L8 => GrayImage::from_raw(w, h, pixels).map(Into::into),
        jpeg_decoder::PixelFormat::L16 => {
            let gray: Vec<u8> = pixels.chunks_exact(2).map(|p| p[0]).collect();
            GrayImage::from_raw(w, h, gray).map(Into::into)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // jpeg-decoder hands out ink amounts (0 = no ink) for both Adobe CMYK and YCCK
            // files: it undoes Adobe's inverted storage and the YCC transform itself. Paper is
            // white, so light = (1 - ink) × (1 - black). Reading the values as light instead
            // turned every CMYK photo black (and all of them hashed to 0000000000000000).
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = 255 - u32::from(p[3]);
                    [p[0], p[1], p[2]].map(|c| ((255 - u32::from(c)) * k / 255) as u8)
                })
                .collect();
            RgbImage::from_raw(w, h, rgb).map(Into::into)
        }
    }
}

/// HEIC/HEIF through libheif (HEVC via libde265 in Debian's build): the primary image, upright
/// (libheif applies its rotation and mirroring), as 8-bit RGB.
fn decode_heif<R: BufRead + Seek>(r: &mut R, limits: Limits) -> Result<Decoded, Rejection> {
    use libheif_rs::{ColorSpace, HeifContext, LibHeif, RgbChroma};
    let undecodable = |e: libheif_rs::HeifError| Rejection::Undecodable(e.to_string());
    r.rewind()?;
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes)?;
    let context = HeifContext::read_from_bytes(&bytes).map_err(undecodable)?;
    let handle = context.primary_image_handle().map_err(undecodable)?;
    let (width, height) = (handle.width(), handle.height());
    check_pixels(width, height, limits)?;
    let image = LibHeif::new()
        .decode(&handle, ColorSpace::Rgb(RgbChroma::Rgb), None)
        .map_err(undecodable)?;
    let planes = image.planes();
    let plane = planes
        .interleaved
        .ok_or_else(|| Rejection::Undecodable("libheif gave no interleaved RGB plane".into()))?;
    let row = plane.width as usize * 3;
    let mut rgb = Vec::with_capacity(row * plane.height as usize);
    for y in 0..plane.height as usize {
        let start = y * plane.stride;
        let line = plane
            .data
            .get(start..start + row)
            .ok_or_else(|| Rejection::Undecodable("libheif plane shorter than its size".into()))?;
        rgb.extend_from_slice(line);
    }
    let image = RgbImage::from_raw(plane.width, plane.height, rgb)
        .ok_or_else(|| Rejection::Undecodable("libheif plane of the wrong size".into()))?;
    Ok(Decoded {
        image: image.into(),
        width,
        height,
        damaged: false,
    })
}

fn decode_generic<R: BufRead + Seek>(
    r: &mut R,
    format: ImageFormat,
    limits: Limits,
) -> Result<Decoded, Rejection> {
    let (width, height) = ImageReader::with_format(&mut *r, format)
        .into_dimensions()
        .map_err(|e| Rejection::Undecodable(e.to_string()))?;
    check_pixels(width, height, limits)?;
    r.rewind()?;
    match lenient_decode(r, format, limits) {
        Ok(image) => Ok(Decoded {
            image,
            width,
            height,
            damaged: false,
        }),
        Err(e) => Err(Rejection::Undecodable(e.to_string())),
    }
}

fn lenient_decode<R: BufRead + Seek>(
    r: &mut R,
    format: ImageFormat,
    limits: Limits,
) -> image::ImageResult<DynamicImage> {
    let mut reader = ImageReader::with_format(r, format);
    let mut l = image::Limits::default();
    // 4 bytes a pixel (RGBA8) plus slack: the header check already bounded the size.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(4).saturating_add(64 << 20));
    reader.limits(l);
    reader.decode()
}

fn encode_jpeg(image: &DynamicImage) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::new();
    let rgb = match image {
        DynamicImage::ImageLuma8(g) => DynamicImage::ImageLuma8(g.clone()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    };
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&rgb)
        .map_err(|e| Rejection::Undecodable(format!("encoding a thumbnail: {e}")))?;
    Ok(out)
}
