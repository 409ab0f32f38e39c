//! Perceptual hashes: the 64-bit DCT hash of an upright picture, whether a picture carries enough
//! detail for its hash to mean anything, Hamming distance, and the four 16-bit bands the database
//! indexes so that near-duplicates are found without scanning every photo (multi-index hashing,
//! [`band_radii`]).

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

/// The hash as the database stores it beside the bands (`photos.phash_bits`, a signed 64-bit
/// integer with the same bits), so that the band indexes carry it and a search reads numbers.
pub fn stored(h: u64) -> i64 {
    i64::from_be_bytes(h.to_be_bytes())
}

/// The hash from `photos.phash_bits`.
pub fn from_stored(bits: i64) -> u64 {
    u64::from_be_bytes(bits.to_be_bytes())
}

/// How far each band is searched for a threshold of `max_bits` (`None`: that band is not
/// searched at all). Multi-index hashing with the pigeonhole principle generalised: if each band
/// `i` of a stored hash were more than `r_i` bits from the query's, the hashes would differ in at
/// least `sum(r_i + 1)` bits; so when `sum(r_i + 1) > max_bits`, every hash within `max_bits`
/// has some band within its `r_i`. The radii are the smallest that satisfy it, spread evenly:
/// 10 bits (the default) gives 2, 2, 2, 1 (137 + 137 + 137 + 17 values of 65,536 looked up).
pub fn band_radii(max_bits: u32) -> [Option<u32>; 4] {
    let needed = max_bits + 1; // sum of (r_i + 1)
    let (each, extra) = (needed / 4, needed % 4);
    let mut i = 0;
    [(); 4].map(|()| {
        let width = each + u32::from(i < extra); // r_i + 1
        i += 1;
        width.checked_sub(1)
    })
}

/// For each band, every value within its radius ([`band_radii`]) of the query's band (empty for
/// a band not searched): a stored hash within `max_bits` of the query has at least one band
/// among these.
pub fn band_candidates(h: u64, max_bits: u32) -> [Vec<i32>; 4] {
    let radii = band_radii(max_bits);
    let mut i = 0;
    bands(h).map(|band| {
        let radius = radii[i];
        i += 1;
        let Some(radius) = radius else {
            return Vec::new();
        };
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
        out.sort_unstable();
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
    fn band_radii_are_the_smallest_the_pigeonhole_allows() {
        assert_eq!(band_radii(10), [Some(2), Some(2), Some(2), Some(1)]);
        assert_eq!(band_radii(7), [Some(1); 4]);
        assert_eq!(band_radii(15), [Some(3); 4]);
        assert_eq!(band_radii(0), [Some(0), None, None, None]);
        for max_bits in 0..=15u32 {
            let covered: u32 = band_radii(max_bits).iter().flatten().map(|r| r + 1).sum();
            assert_eq!(covered, max_bits + 1, "{max_bits}");
        }
    }

    #[test]
    fn band_candidates_cover_every_hash_within_the_threshold() {
        let q: u64 = 0x0123_4567_89ab_cdef;
        for max_bits in 0..=15u32 {
            let cands = band_candidates(q, max_bits);
            for (c, r) in cands.iter().zip(band_radii(max_bits)) {
                let expect: usize = r.map_or(0, |r| (0..=r).map(|k| binomial(16, k)).sum());
                assert_eq!(c.len(), expect, "{max_bits}");
            }
            // Every split of `max_bits` flipped bits over the four bands is found; one more bit
            // in the worst split is not (by the bands alone: the distance check does the rest).
            for split in splits(max_bits) {
                let other = flip(q, split);
                assert_eq!(distance(q, other), max_bits);
                let found = bands(other).iter().zip(&cands).any(|(b, c)| c.contains(b));
                assert!(found, "{max_bits} {split:?}");
            }
            let worst = band_radii(max_bits).map(|r| r.map_or(0, |r| r + 1));
            let beyond = flip(q, worst);
            let found = bands(beyond).iter().zip(&cands).any(|(b, c)| c.contains(b));
            assert!(!found, "{max_bits} {worst:?}");
        }
    }

    #[test]
    fn stored_bits_round_trip() {
        for h in [
            0u64,
            1,
            0x8000_0000_0000_0000,
            u64::MAX,
            0x0123_4567_89ab_cdef,
        ] {
            assert_eq!(from_stored(stored(h)), h);
        }
        assert_eq!(stored(u64::MAX), -1);
    }

    /// Every way of spreading `bits` flipped bits over four 16-bit bands.
    fn splits(bits: u32) -> Vec<[u32; 4]> {
        let mut out = Vec::new();
        for a in 0..=bits.min(16) {
            for b in 0..=(bits - a).min(16) {
                for c in 0..=(bits - a - b).min(16) {
                    let d = bits - a - b - c;
                    if d <= 16 {
                        out.push([a, b, c, d]);
                    }
                }
            }
        }
        out
    }

    /// `h` with the lowest `n[i]` bits of band `i` flipped.
    fn flip(h: u64, n: [u32; 4]) -> u64 {
        let mut out = h;
        for (i, k) in n.into_iter().enumerate() {
            let shift = 48 - 16 * i as u32;
            for bit in 0..k {
                out ^= 1 << (shift + bit);
            }
        }
        out
    }

    fn binomial(n: u32, k: u32) -> usize {
        (0..k).fold(1usize, |acc, i| acc * (n - i) as usize / (i + 1) as usize)
    }
}
