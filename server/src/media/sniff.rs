//! The real format from magic bytes (never from the file name or the client's Content-Type).

use std::io::{Read, Seek, SeekFrom};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
    /// HEIC/HEIF (ISO base media file with an image brand).
    Heif,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Heif => "heif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Heif => "image/heic",
        }
    }
}

const HEIF_BRANDS: &[&[u8; 4]] = &[
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1",
];

/// The format of a file from its first bytes (at least 32 give a certain answer).
pub fn sniff(head: &[u8]) -> Option<Format> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(Format::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(Format::Png);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(Format::Webp);
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let end = size.min(head.len());
        // major brand at 8..12, then minor version, then compatible brands.
        let major = &head[8..12];
        if major == b"avif" || major == b"avis" {
            return None; // AV1 images: not decodable here and not what phones send us
        }
        let mut brands = vec![major];
        let mut i = 16;
        while i + 4 <= end {
            brands.push(&head[i..i + 4]);
            i += 4;
        }
        if brands
            .iter()
            .any(|b| HEIF_BRANDS.iter().any(|h| &h[..] == *b))
        {
            return Some(Format::Heif);
        }
    }
    None
}

/// Width and height from a PNG's IHDR (the first chunk, always within the first 24 bytes).
pub fn png_dimensions(head: &[u8]) -> Option<(u32, u32)> {
    if head.len() < 24 || &head[12..16] != b"IHDR" {
        return None;
    }
    let w = u32::from_be_bytes([head[16], head[17], head[18], head[19]]);
    let h = u32::from_be_bytes([head[20], head[21], head[22], head[23]]);
    Some((w, h))
}

/// The largest `ispe` (image spatial extent) property in a HEIF file's metadata: the primary
/// image's size (tiles and thumbnails are smaller). Reads at most the first 256 KiB.
pub fn heif_dimensions<R: Read + Seek>(r: &mut R) -> std::io::Result<Option<(u32, u32)>> {
    r.seek(SeekFrom::Start(0))?;
    let mut buf = Vec::with_capacity(256 * 1024);
    r.take(256 * 1024).read_to_end(&mut buf)?;
    let mut best: Option<(u32, u32)> = None;
    let mut i = 0;
    while i + 16 <= buf.len() {
        if &buf[i..i + 4] == b"ispe" {
            // 'ispe', version+flags (4), width (4), height (4)
            let w = u32::from_be_bytes([buf[i + 8], buf[i + 9], buf[i + 10], buf[i + 11]]);
            let h = u32::from_be_bytes([buf[i + 12], buf[i + 13], buf[i + 14], buf[i + 15]]);
            if best
                .is_none_or(|(bw, bh)| u64::from(w) * u64::from(h) > u64::from(bw) * u64::from(bh))
            {
                best = Some((w, h));
            }
            i += 16;
        } else {
            i += 1;
        }
    }
    Ok(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE1]), Some(Format::Jpeg));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some(Format::Png));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(Format::Webp));
        assert_eq!(
            sniff(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic"),
            Some(Format::Heif)
        );
        assert_eq!(sniff(b"\0\0\0\x18ftypavif\0\0\0\0mif1avif"), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
        assert_eq!(sniff(b""), None);
    }
}
