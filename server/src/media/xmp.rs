//! Capture time from an XMP packet, for files whose EXIF has none (edited files, some phone
//! apps and exports keep only XMP): `exif:DateTimeOriginal`, then `photoshop:DateCreated`,
//! then `xmp:CreateDate` — as element or attribute, ISO 8601 with an optional zone.

use chrono::NaiveDateTime;

/// Properties tried in order: the moment the picture was taken comes first.
const KEYS: [&str; 3] = [
    "exif:DateTimeOriginal",
    "photoshop:DateCreated",
    "xmp:CreateDate",
];

/// The capture time (camera local time) and its zone (`+02:00`, `+00:00` for `Z`) when given.
pub fn capture_time(bytes: &[u8]) -> Option<(NaiveDateTime, Option<String>)> {
    let start = find(bytes, b"<x:xmpmeta").or_else(|| find(bytes, b"<rdf:RDF"))?;
    let packet = String::from_utf8_lossy(&bytes[start..bytes.len().min(start + 512 * 1024)]);
    KEYS.iter()
        .filter_map(|key| value_of(&packet, key))
        .find_map(|v| parse(v.trim()))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// `<key>value</key>` or `key="value"`.
fn value_of<'a>(packet: &'a str, key: &str) -> Option<&'a str> {
    let element = format!("<{key}>");
    if let Some(i) = packet.find(&element) {
        let rest = &packet[i + element.len()..];
        let end = rest.find('<')?;
        return Some(&rest[..end]);
    }
    let attribute = format!("{key}=\"");
    let i = packet.find(&attribute)?;
    let rest = &packet[i + attribute.len()..];
    Some(&rest[..rest.find('"')?])
}

/// `YYYY-MM-DDThh:mm[:ss[.fff]][Z|±hh:mm]`.
fn parse(v: &str) -> Option<(NaiveDateTime, Option<String>)> {
    let (local, zone) = match v
        .char_indices()
        .skip(10)
        .find(|(_, c)| matches!(c, 'Z' | '+' | '-'))
    {
        Some((i, 'Z')) => (&v[..i], Some("+00:00".to_owned())),
        Some((i, _)) => (&v[..i], Some(v[i..].to_owned())),
        None => (v, None),
    };
    let time = [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(local, f).ok())?;
    let zone = zone.filter(|z| z.parse::<chrono::FixedOffset>().is_ok());
    Some((time, zone))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_attribute_and_zones() {
        let p = br#"junk<x:xmpmeta><rdf:RDF><xmp:CreateDate>2010-04-13T09:37:22+02:00</xmp:CreateDate></rdf:RDF></x:xmpmeta>"#;
        let (t, z) = capture_time(p).unwrap();
        assert_eq!(t.to_string(), "2010-04-13 09:37:22");
        assert_eq!(z.as_deref(), Some("+02:00"));
        let p = br#"<x:xmpmeta><rdf:Description xmp:CreateDate="2011-09-23T11:42:46Z" exif:DateTimeOriginal="2011-09-23T10:00"/></x:xmpmeta>"#;
        let (t, z) = capture_time(p).unwrap();
        assert_eq!(t.to_string(), "2011-09-23 10:00:00");
        assert_eq!(z, None);
        assert!(capture_time(b"<x:xmpmeta><xmp:CreateDate></xmp:CreateDate>").is_none());
        assert!(capture_time(b"no packet").is_none());
    }
}
