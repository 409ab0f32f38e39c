//! Coordinate systems used in China: WGS-84 (GPS, what we store), GCJ-02 (the national obfuscated
//! system of AMap/Tencent maps) and BD-09 (Baidu). Forward conversions are the standard published
//! formulas; inverses are solved by fixed-point iteration to better than 1e-9°. Outside mainland
//! China GCJ-02 equals WGS-84 (the usual bounding box). Pure functions, no I/O.

use std::f64::consts::PI;

/// A position in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
}

/// Krasovsky 1940 ellipsoid, as the GCJ-02 formulas use it.
const A: f64 = 6_378_245.0;
#[allow(clippy::excessive_precision)] // the published constant, as published
const EE: f64 = 0.006_693_421_622_965_943_23;
const X_PI: f64 = PI * 3000.0 / 180.0;
/// Mean Earth radius (IUGG), metres.
const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Outside the box GCJ-02 does not shift (the published `out_of_china` test).
pub fn out_of_china(p: LatLon) -> bool {
    !(72.004..=137.8347).contains(&p.lon) || !(0.8293..=55.8271).contains(&p.lat)
}

fn transform_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn transform_lon(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// The GCJ-02 offset at a WGS-84 position (inside China).
fn gcj_delta(p: LatLon) -> LatLon {
    let dlat = transform_lat(p.lon - 105.0, p.lat - 35.0);
    let dlon = transform_lon(p.lon - 105.0, p.lat - 35.0);
    let rad_lat = p.lat / 180.0 * PI;
    let magic = 1.0 - EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    LatLon {
        lat: (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI),
        lon: (dlon * 180.0) / (A / sqrt_magic * rad_lat.cos() * PI),
    }
}

pub fn wgs84_to_gcj02(p: LatLon) -> LatLon {
    if out_of_china(p) {
        return p;
    }
    let d = gcj_delta(p);
    LatLon {
        lat: p.lat + d.lat,
        lon: p.lon + d.lon,
    }
}

/// Solves `forward(x) = target` for x, starting from `target` (the shifts are small and smooth).
fn invert(target: LatLon, forward: impl Fn(LatLon) -> LatLon) -> LatLon {
    let mut x = target;
    for _ in 0..30 {
        let y = forward(x);
        let (elat, elon) = (target.lat - y.lat, target.lon - y.lon);
        x = LatLon {
            lat: x.lat + elat,
            lon: x.lon + elon,
        };
        if elat.abs() < 1e-12 && elon.abs() < 1e-12 {
            break;
        }
    }
    x
}

pub fn gcj02_to_wgs84(p: LatLon) -> LatLon {
    if out_of_china(p) {
        return p;
    }
    invert(p, wgs84_to_gcj02)
}

pub fn gcj02_to_bd09(p: LatLon) -> LatLon {
    let (x, y) = (p.lon, p.lat);
    let z = (x * x + y * y).sqrt() + 0.000_02 * (y * X_PI).sin();
    let theta = y.atan2(x) + 0.000_003 * (x * X_PI).cos();
    LatLon {
        lat: z * theta.sin() + 0.006,
        lon: z * theta.cos() + 0.0065,
    }
}

pub fn bd09_to_gcj02(p: LatLon) -> LatLon {
    invert(p, gcj02_to_bd09)
}

pub fn wgs84_to_bd09(p: LatLon) -> LatLon {
    gcj02_to_bd09(wgs84_to_gcj02(p))
}

pub fn bd09_to_wgs84(p: LatLon) -> LatLon {
    gcj02_to_wgs84(bd09_to_gcj02(p))
}

/// Great-circle distance in metres (haversine, mean Earth radius).
pub fn haversine_m(a: LatLon, b: LatLon) -> f64 {
    let (p1, p2) = (a.lat.to_radians(), b.lat.to_radians());
    let dp = p2 - p1;
    let dl = (b.lon - a.lon).to_radians();
    let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ll(lat: f64, lon: f64) -> LatLon {
        LatLon { lat, lon }
    }

    #[track_caller]
    fn close(a: LatLon, b: LatLon, tol: f64) {
        assert!(
            (a.lat - b.lat).abs() < tol && (a.lon - b.lon).abs() < tol,
            "{a:?} vs {b:?} (tolerance {tol})"
        );
    }

    // Reference outputs published with the widely used coordtransform implementations for the
    // Beijing point (39.915 N, 116.404 E) near Tiananmen.
    const BEIJING: LatLon = ll(39.915, 116.404);

    #[test]
    fn forward_conversions_match_published_reference_values() {
        close(
            wgs84_to_gcj02(BEIJING),
            ll(39.91640428150164, 116.41024449916938),
            1e-9,
        );
        close(
            gcj02_to_bd09(BEIJING),
            ll(39.92133699351021, 116.41036949371029),
            1e-9,
        );
        close(
            wgs84_to_bd09(BEIJING),
            ll(39.922699552216216, 116.41662724378733),
            1e-9,
        );
    }

    #[test]
    fn inverses_are_exact_to_a_micro_degree_and_near_the_published_approximations() {
        // The published inverses are one-step approximations (errors of a few 1e-6 degrees);
        // ours iterate, so a round trip returns the start.
        close(
            gcj02_to_wgs84(BEIJING),
            ll(39.91359571849836, 116.39775550083061),
            2e-5,
        );
        close(
            bd09_to_gcj02(BEIJING),
            ll(39.90865673957631, 116.39762729119315),
            2e-5,
        );
        for p in [
            BEIJING,
            ll(22.5431, 114.0579),
            ll(31.2304, 121.4737),
            ll(43.8256, 87.6168),
        ] {
            close(gcj02_to_wgs84(wgs84_to_gcj02(p)), p, 1e-6);
            close(bd09_to_gcj02(gcj02_to_bd09(p)), p, 1e-6);
            close(bd09_to_wgs84(wgs84_to_bd09(p)), p, 1e-6);
            close(wgs84_to_gcj02(gcj02_to_wgs84(p)), p, 1e-6);
        }
    }

    #[test]
    fn outside_china_gcj02_is_wgs84() {
        for p in [
            ll(51.5007, -0.1246),
            ll(43.4674, 11.8851),
            ll(35.6586, 139.7454),
        ] {
            assert_eq!(wgs84_to_gcj02(p), p);
            assert_eq!(gcj02_to_wgs84(p), p);
        }
        assert!(!out_of_china(BEIJING));
    }

    #[test]
    fn haversine_distances() {
        assert_eq!(haversine_m(BEIJING, BEIJING), 0.0);
        // One degree of latitude is about 111.195 km on the mean sphere.
        let d = haversine_m(ll(0.0, 0.0), ll(1.0, 0.0));
        assert!((d - 111_195.08).abs() < 1.0, "{d}");
        // Beijing to Shanghai: about 1,067 km.
        let d = haversine_m(BEIJING, ll(31.2304, 121.4737));
        assert!((d - 1_067_000.0).abs() < 5_000.0, "{d}");
        // The GCJ-02 shift near Tiananmen is a few hundred metres.
        let shift = haversine_m(BEIJING, wgs84_to_gcj02(BEIJING));
        assert!((300.0..800.0).contains(&shift), "{shift}");
    }
}
