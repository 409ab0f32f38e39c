//! A map that needs no tile server: points (the location, where each photo was taken)
//! projected into an SVG box from their WGS-84 coordinates, with a scale bar. Coordinates stay
//! WGS-84 here; a configured tile layer would need GCJ-02 (`sync-protocol`'s `geo`).

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

pub struct Sketch {
    pub width: u32,
    pub height: u32,
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
    let scale_label = if metres >= 1000.0 {
        format!("{} 公里", metres / 1000.0)
    } else {
        format!("{metres} 米")
    };
    Some(Sketch {
        width: W as u32,
        height: H as u32,
        points: placed,
        scale_px: format!("{:.1}", metres * scale),
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
