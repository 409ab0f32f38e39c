//! Perceptual hashes: the 64-bit DCT hash of an upright picture, whether a picture carries enough
//! detail for its hash to mean anything, Hamming distance, and the four 16-bit bands the database
//! indexes so that near-duplicates are found without scanning every photo (multi-index hashing:
//! if two hashes are within `r` bits, at least one band of theirs is within `r / 4` bits).

use image::DynamicImage;
use image_hasher::HasherConfig;

/// Pictures whose grey levels (32×32, 0–255) vary less than this carry no usable hash: blank,
/// flat, black (a photo taken in a pocket) or white. Their DCT hash is noise or all zeros, so two
/// unrelated black photos would "match". Measured by `phash_threshold` (tests/examples): the
/// sample photos that get a hash range from 25.3 to 73.5.
pub const MIN_DETAIL: f64 = 4.0;

/// Hashes with fewer than this many bits set, or more than `64 - MIN_BITS`, are treated as
/// carrying too little information and never matched (for rows stored before the detail check,
/// e.g. the `0000000000000000` every CMYK photo used to get). The sample photos have 26–36.
pub const MIN_BITS: u32 = 8;

/// The perceptual hash (hex, 16 digits) of `picture`, or `None` when it has too little detail.
pub fn hash(picture: &DynamicImage) -> Option<String> {
    if detail(picture) < MIN_DETAIL {
        return None;
    }
    let hasher = HasherConfig::new()
        .hash_size(8, 8)
        .preproc_dct()
        .to_hasher();
    let hex = hex::encode(hasher.hash_image(picture).as_bytes());
    informative(&hex).then_some(hex)
}

/// Standard deviation of the grey levels of `picture` shrunk to 32×32.
pub fn detail(picture: &DynamicImage) -> f64 {
    let small = picture
        .resize_exact(32, 32, image::imageops::FilterType::Triangle)
        .to_luma8();
    let n = f64::from(small.width() * small.height()).max(1.0);
    let mean = small.pixels().map(|p| f64::from(p.0[0])).sum::<f64>() / n;
    let var = small
        .pixels()
        .map(|p| (f64::from(p.0[0]) - mean).powi(2))
        .sum::<f64>()
        / n;
    var.sqrt()
}

/// A stored hash as a number (`None` if it is not 16 hex digits).
pub fn parse(hex: &str) -> Option<u64> {
    (hex.len() == 16)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

/// Whether a hash may be matched at all (see [`MIN_BITS`]).
pub fn informative(hex: &str) -> bool {
    parse(hex).is_some_and(|h| {
        let ones = h.count_ones();
        (MIN_BITS..=64 - MIN_BITS).contains(&ones)
    })
}

/// Bits in which two hashes differ.
pub fn distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

/// The four 16-bit bands, most significant first (as stored in `photos.phash_band0..3`).
pub fn bands(h: u64) -> [i32; 4] {
    [48, 32, 16, 0].map(|shift| i32::from((h >> shift) as u16))
}

/// For each band, every value within `max_bits / 4` bits of the query's band: a stored hash
/// within `max_bits` of the query has at least one band among these (pigeonhole).
pub fn band_candidates(h: u64, max_bits: u32) -> [Vec<i32>; 4] {
    let radius = max_bits / 4;
    bands(h).map(|band| {
        let band = band as u16;
        let mut out = vec![band];
        let mut frontier = vec![(band, 0u32)];
        // Flip bits in increasing positions only, so each value is produced once.
        for _ in 0..radius {
            let mut next = Vec::new();
            for (value, from) in &frontier {
                for bit in *from..16 {
                    let flipped = value ^ (1u16 << bit);
                    out.push(flipped);
                    next.push((flipped, bit + 1));
                }
            }
            frontier = next;
        }
        out.into_iter().map(i32::from).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_pictures_have_no_hash() {
        let black = DynamicImage::ImageRgb8(image::RgbImage::new(300, 200));
        assert_eq!(hash(&black), None);
        let grey = DynamicImage::ImageRgb8(image::RgbImage::from_pixel(
            300,
            200,
            image::Rgb([128, 128, 128]),
        ));
        assert_eq!(hash(&grey), None);
        assert!(!informative("0000000000000000"));
        assert!(!informative("ffffffffffffffff"));
        assert!(informative("a5a5a5a5a5a5a5a5"));
        assert!(!informative("not hex at all!!"));
    }

    #[test]
    fn band_candidates_cover_every_hash_within_the_radius() {
        let q: u64 = 0x0123_4567_89ab_cdef;
        for max_bits in [3u32, 7, 8, 11] {
            let cands = band_candidates(q, max_bits);
            let r = max_bits / 4;
            let expect: usize = (0..=r).map(|k| binomial(16, k)).sum();
            assert!(cands.iter().all(|c| c.len() == expect), "{max_bits}");
            // A hash `max_bits` away, its flips spread over all bands, is still found.
            let mut other = q;
            for i in 0..max_bits {
                other ^= 1 << ((i * 17) % 64);
            }
            assert!(distance(q, other) <= max_bits);
            let found = bands(other).iter().zip(&cands).any(|(b, c)| c.contains(b));
            assert!(found, "{max_bits}");
        }
    }

    fn binomial(n: u32, k: u32) -> usize {
        (0..k).fold(1usize, |acc, i| acc * (n - i) as usize / (i + 1) as usize)
    }
}
