//! EXIF facts the evidence checks need, read with kamadak-exif (JPEG, HEIF, PNG, WebP). Broken
//! EXIF never fails a photo: what can be read is kept and the photo is flagged.

use super::Flag;
use chrono::NaiveDateTime;
use exif::{In, Reader, Tag, Value};
use std::io::{BufRead, Seek};

/// The fields we keep. Times are as the camera wrote them (local time, no zone unless
/// `taken_at_offset` says it); GPS in WGS-84 decimal degrees, altitude in metres.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExifFacts {
    pub taken_at: Option<NaiveDateTime>,
    pub taken_at_offset: Option<String>,
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
    pub gps_alt: Option<f64>,
    pub gps_direction: Option<f64>,
    pub make: Option<String>,
    pub model: Option<String>,
    /// 1..=8; None when absent or out of range.
    pub orientation: Option<u8>,
}

/// Reads EXIF from a container; returns the facts and the flags it implies.
pub fn read_exif<R: BufRead + Seek>(reader: &mut R) -> (ExifFacts, Vec<Flag>) {
    let mut flags = Vec::new();
    let exif = match Reader::new()
        .continue_on_error(true)
        .read_from_container(reader)
    {
        Ok(exif) => exif,
        Err(exif::Error::NotFound(_)) => {
            return (ExifFacts::default(), vec![Flag::NoExif, Flag::NoGps]);
        }
        Err(e) => match e.distill_partial_result(|_| ()) {
            Ok(partial) => {
                flags.push(Flag::ExifUnreadable);
                partial
            }
            Err(_) => {
                return (
                    ExifFacts::default(),
                    vec![Flag::ExifUnreadable, Flag::NoGps],
                );
            }
        },
    };
    let facts = facts_of(&exif);
    if facts.gps_lat.is_none() || facts.gps_lon.is_none() {
        flags.push(Flag::NoGps);
    }
    (facts, flags)
}

fn facts_of(exif: &exif::Exif) -> ExifFacts {
    let field = |tag| exif.get_field(tag, In::PRIMARY);
    let ascii = |tag| {
        field(tag).and_then(|f| match &f.value {
            Value::Ascii(parts) => parts.first().map(|p| {
                String::from_utf8_lossy(p)
                    .trim_matches(|c: char| c == '\0' || c.is_whitespace())
                    .to_owned()
            }),
            _ => None,
        })
    };
    let rationals = |tag| {
        field(tag).and_then(|f| match &f.value {
            Value::Rational(v) => Some(v.iter().map(|r| r.to_f64()).collect::<Vec<f64>>()),
            // Non-conforming but seen in the wild (HMD/Nokia phones write signed rationals).
            Value::SRational(v) => Some(v.iter().map(|r| r.to_f64()).collect()),
            Value::Short(v) => Some(v.iter().map(|n| f64::from(*n)).collect()),
            Value::Long(v) => Some(v.iter().map(|n| f64::from(*n)).collect()),
            _ => None,
        })
    };
    let degrees = |value_tag, ref_tag, negative: &[u8]| {
        let parts = rationals(value_tag)?;
        let mut deg = 0.0;
        for (i, p) in parts.iter().take(3).enumerate() {
            deg += p / [1.0, 60.0, 3600.0][i];
        }
        if !deg.is_finite() {
            return None;
        }
        let r = ascii(ref_tag).unwrap_or_default();
        if r.bytes().next().is_some_and(|b| negative.contains(&b)) {
            deg = -deg;
        }
        Some(deg)
    };
    let lat = degrees(Tag::GPSLatitude, Tag::GPSLatitudeRef, b"Ss").filter(|d| d.abs() <= 90.0);
    let lon = degrees(Tag::GPSLongitude, Tag::GPSLongitudeRef, b"Ww").filter(|d| d.abs() <= 180.0);
    let alt = rationals(Tag::GPSAltitude)
        .and_then(|v| v.first().copied())
        .filter(|a| a.is_finite())
        .map(|a| {
            let below = field(Tag::GPSAltitudeRef)
                .and_then(|f| f.value.get_uint(0))
                .is_some_and(|r| r == 1);
            if below { -a } else { a }
        });
    let direction = rationals(Tag::GPSImgDirection)
        .and_then(|v| v.first().copied())
        .filter(|d| d.is_finite());
    let taken_at = ascii(Tag::DateTimeOriginal)
        .and_then(|s| NaiveDateTime::parse_from_str(s.trim(), "%Y:%m:%d %H:%M:%S").ok());
    let orientation = field(Tag::Orientation)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|o| u8::try_from(o).ok())
        .filter(|o| (1..=8).contains(o));
    ExifFacts {
        taken_at,
        taken_at_offset: ascii(Tag::OffsetTimeOriginal).filter(|s| !s.is_empty()),
        gps_lat: lat,
        gps_lon: lon,
        gps_alt: alt,
        gps_direction: direction,
        make: ascii(Tag::Make).filter(|s| !s.is_empty()),
        model: ascii(Tag::Model).filter(|s| !s.is_empty()),
        orientation,
    }
}
