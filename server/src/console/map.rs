//! The map: points (the location, where each photo was taken) in an SVG box with
//! a scale bar. With no tile server they are projected from WGS-84 onto a plain canvas; with a
//! configured tile URL (`console.tile_url`, e.g. 天地图) the box is a Web-Mercator view of those
//! tiles, the points shifted to GCJ-02 first when the tiles are drawn in it (`console.tile_crs`,
//! by `closeout_sync_protocol::geo`, tested against eviltransform's published values there).

use crate::settings::{ConsoleSettings, TileCrs};
use closeout_sync_protocol::geo::{LatLon, wgs84_to_gcj02};

/// One point to draw.
pub struct Point {
    pub lat: f64,
    pub lon: f64,
    pub label: String,
    /// `issue`, `before`, `after`, `progress`: the marker's class.
    pub kind: &'static str,
}

/// A point placed in the SVG box.
pub struct Placed {
    pub x: String,
    pub y: String,
    pub label: String,
    pub kind: &'static str,
}

/// One map tile placed in the SVG box.
pub struct TileImage {
    pub href: String,
    pub x: String,
    pub y: String,
}

pub struct Sketch {
    pub width: u32,
    pub height: u32,
    /// Empty without a tile server.
    pub tiles: Vec<TileImage>,
    pub attribution: Option<String>,
    pub points: Vec<Placed>,
    /// Length of the scale bar in px and what it stands for.
    pub scale_px: String,
    pub scale_label: String,
}

const W: f64 = 320.0;
const H: f64 = 220.0;
const MARGIN: f64 = 24.0;
const METRES_PER_DEGREE: f64 = 111_320.0;

/// Fits the points into the box (at least 100 m across, so one point is not a blank zoom).
pub fn sketch(points: Vec<Point>) -> Option<Sketch> {
    let first = points.first()?;
    let lat0 = first.lat.to_radians().cos();
    let xy = |p: &Point| (p.lon * METRES_PER_DEGREE * lat0, p.lat * METRES_PER_DEGREE);
    let (mut min_x, mut max_x, mut min_y, mut max_y) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for p in &points {
        let (x, y) = xy(p);
        min_x = min_x.min(x);
        max_x = max_x.max(x);
        min_y = min_y.min(y);
        max_y = max_y.max(y);
    }
    let span = (max_x - min_x).max(max_y - min_y).max(100.0);
    let scale = ((W - 2.0 * MARGIN).min(H - 2.0 * MARGIN)) / span; // px per metre
    let (cx, cy) = ((min_x + max_x) / 2.0, (min_y + max_y) / 2.0);
    let placed = points
        .iter()
        .map(|p| {
            let (x, y) = xy(p);
            Placed {
                x: format!("{:.1}", W / 2.0 + (x - cx) * scale),
                y: format!("{:.1}", H / 2.0 - (y - cy) * scale),
                label: p.label.clone(),
                kind: p.kind,
            }
        })
        .collect();
    // A round length near a quarter of the width.
    let target = (W / 4.0) / scale;
    let magnitude = 10f64.powf(target.log10().floor());
    let metres = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .rfind(|m| *m <= target)
        .unwrap_or(magnitude);
    Some(Sketch {
        width: W as u32,
        height: H as u32,
        tiles: Vec::new(),
        attribution: None,
        points: placed,
        scale_px: format!("{:.1}", metres * scale),
        scale_label: round_label(metres),
    })
}

/// A round length near a quarter of the box, for `metres_per_px`: (metres, label).
fn scale_bar(metres_per_px: f64) -> (f64, String) {
    let target = (W / 4.0) * metres_per_px;
    let magnitude = 10f64.powf(target.log10().floor());
    let metres = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .rfind(|m| *m <= target)
        .unwrap_or(magnitude);
    (metres, round_label(metres))
}

fn round_label(metres: f64) -> String {
    if metres >= 1000.0 {
        format!("{} 公里", metres / 1000.0)
    } else {
        format!("{metres} 米")
    }
}

const TILE: f64 = 256.0;

/// Web-Mercator world pixel of a point at zoom `z`.
fn world_px(lat: f64, lon: f64, z: u8) -> (f64, f64) {
    let size = TILE * f64::from(1u32 << z);
    let lat = lat.clamp(-85.051_128, 85.051_128).to_radians();
    let x = (lon + 180.0) / 360.0 * size;
    let y = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0 * size;
    (x, y)
}

/// The map as the office configured it: on its tiles when it has a tile URL, else [`sketch`].
pub fn map(points: Vec<Point>, settings: &ConsoleSettings) -> Option<Sketch> {
    let Some(template) = settings.tile_url.as_deref() else {
        return sketch(points);
    };
    points.first()?;
    // Points in the tiles' datum.
    let points: Vec<Point> = points
        .into_iter()
        .map(|p| match settings.tile_crs {
            TileCrs::Wgs84 => p,
            TileCrs::Gcj02 => {
                let g = wgs84_to_gcj02(LatLon {
                    lat: p.lat,
                    lon: p.lon,
                });
                Point {
                    lat: g.lat,
                    lon: g.lon,
                    ..p
                }
            }
        })
        .collect();
    // The closest zoom (at most 18) at which every point fits inside the margins.
    let fits = |z: u8| {
        let (mut lo_x, mut hi_x, mut lo_y, mut hi_y) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for p in &points {
            let (x, y) = world_px(p.lat, p.lon, z);
            (lo_x, hi_x, lo_y, hi_y) = (lo_x.min(x), hi_x.max(x), lo_y.min(y), hi_y.max(y));
        }
        (hi_x - lo_x <= W - 2.0 * MARGIN && hi_y - lo_y <= H - 2.0 * MARGIN)
            .then_some(((lo_x + hi_x) / 2.0, (lo_y + hi_y) / 2.0))
    };
    let (z, (cx, cy)) = (1..=18u8)
        .rev()
        .find_map(|z| fits(z).map(|c| (z, c)))
        .unwrap_or((1, (TILE, TILE)));
    let (ox, oy) = (cx - W / 2.0, cy - H / 2.0);
    let last = (1i64 << z) - 1;
    let mut tiles = Vec::new();
    for ty in ((oy / TILE).floor() as i64)..=(((oy + H) / TILE).floor() as i64) {
        for tx in ((ox / TILE).floor() as i64)..=(((ox + W) / TILE).floor() as i64) {
            if !(0..=last).contains(&ty) {
                continue;
            }
            let wrapped = tx.rem_euclid(last + 1);
            let mut href = template
                .replace("{z}", &z.to_string())
                .replace("{x}", &wrapped.to_string())
                .replace("{y}", &ty.to_string());
            if let Some(s) = settings.tile_subdomains.get(
                usize::try_from((tx + ty).rem_euclid(settings.tile_subdomains.len().max(1) as i64))
                    .unwrap_or(0),
            ) {
                href = href.replace("{s}", s);
            }
            tiles.push(TileImage {
                href,
                x: format!("{:.1}", tx as f64 * TILE - ox),
                y: format!("{:.1}", ty as f64 * TILE - oy),
            });
        }
    }
    let placed = points
        .iter()
        .map(|p| {
            let (x, y) = world_px(p.lat, p.lon, z);
            Placed {
                x: format!("{:.1}", x - ox),
                y: format!("{:.1}", y - oy),
                label: p.label.clone(),
                kind: p.kind,
            }
        })
        .collect();
    let lat = points.first().map_or(0.0, |p| p.lat).to_radians();
    let metres_per_px = 156_543.033_92 * lat.cos() / f64::from(1u32 << z);
    let (metres, scale_label) = scale_bar(metres_per_px);
    Some(Sketch {
        width: W as u32,
        height: H as u32,
        tiles,
        attribution: settings.tile_attribution.clone(),
        points: placed,
        scale_px: format!("{:.1}", metres / metres_per_px),
        scale_label,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(lat: f64, lon: f64) -> Point {
        Point {
            lat,
            lon,
            label: String::new(),
            kind: "issue",
        }
    }

    #[test]
    fn on_tiles_the_points_sit_where_the_tiles_put_them() {
        // Tiananmen (WGS-84) on GCJ-02 tiles: drawn at its GCJ-02 position.
        let settings = ConsoleSettings {
            tile_url: Some("https://t{s}.example.cn/{z}/{x}/{y}.png".into()),
            tile_crs: TileCrs::Gcj02,
            tile_subdomains: vec!["0".into(), "1".into()],
            tile_attribution: Some("© 测试".into()),
        };
        let s = map(vec![p(39.907333, 116.391226)], &settings).unwrap();
        assert!(
            !s.tiles.is_empty() && s.tiles.len() <= 4,
            "{}",
            s.tiles.len()
        );
        // The single point is in the centre of the box, at zoom 18.
        assert_eq!(
            (s.points[0].x.as_str(), s.points[0].y.as_str()),
            ("160.0", "110.0")
        );
        let g = wgs84_to_gcj02(LatLon {
            lat: 39.907333,
            lon: 116.391226,
        });
        let (x, y) = world_px(g.lat, g.lon, 18);
        let (tx, ty) = ((x / TILE).floor(), (y / TILE).floor());
        let holding = s
            .tiles
            .iter()
            .find(|t| t.href.ends_with(&format!("/18/{tx}/{ty}.png")))
            .expect("the tile under the point");
        // That tile's top-left corner is where the point's pixel within it says.
        let left: f64 = holding.x.parse().unwrap();
        let top: f64 = holding.y.parse().unwrap();
        assert!((160.0 - left - (x - tx * TILE)).abs() < 0.11);
        assert!((110.0 - top - (y - ty * TILE)).abs() < 0.11);
        assert!(holding.href.starts_with("https://t0.") || holding.href.starts_with("https://t1."));
        // WGS-84 tiles place the unshifted point: a different tile pixel (the shift is ~600 m).
        let wgs = ConsoleSettings {
            tile_crs: TileCrs::Wgs84,
            ..settings
        };
        let w = map(vec![p(39.907333, 116.391226)], &wgs).unwrap();
        assert_ne!(w.tiles[0].x, s.tiles[0].x);
    }

    #[test]
    fn without_a_tile_url_the_plain_canvas() {
        let s = map(vec![p(30.0, 120.0)], &ConsoleSettings::default()).unwrap();
        assert!(s.tiles.is_empty() && s.attribution.is_none());
    }

    #[test]
    fn no_points_no_map() {
        assert!(sketch(vec![]).is_none());
    }

    #[test]
    fn points_fit_the_box_and_north_is_up() {
        let s = sketch(vec![p(30.0, 120.0), p(30.01, 120.01)]).unwrap();
        let ys: Vec<f64> = s.points.iter().map(|q| q.y.parse().unwrap()).collect();
        let xs: Vec<f64> = s.points.iter().map(|q| q.x.parse().unwrap()).collect();
        assert!(ys[1] < ys[0], "the northern point is drawn higher");
        assert!(xs[1] > xs[0], "the eastern point is drawn to the right");
        for (x, y) in xs.iter().zip(&ys) {
            assert!((0.0..=W).contains(x) && (0.0..=H).contains(y));
        }
        assert!(s.scale_label.ends_with('米') || s.scale_label.ends_with("公里"));
    }
}
