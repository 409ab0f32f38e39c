//! The web console's settings: its map.

use serde::Deserialize;

/// The web console's map (docs/console.md#map).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConsoleSettings {
    /// A tile URL template with `{z}`, `{x}`, `{y}` (and optionally `{s}` → `tile_subdomains`),
    /// e.g. 天地图's `https://t{s}.tianditu.gov.cn/vec_w/wmts?...&TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY`.
    /// Unset: the map draws points on a plain canvas with no tiles.
    pub tile_url: Option<String>,
    /// Which datum the tiles are drawn in: `wgs84` (天地图, OpenStreetMap) or `gcj02` (高德,
    /// 腾讯): points stored in WGS-84 are shifted to GCJ-02 before they are placed on such tiles.
    pub tile_crs: TileCrs,
    /// Values for `{s}`, one picked per tile.
    pub tile_subdomains: Vec<String>,
    /// Shown under the map, e.g. `© 天地图`.
    pub tile_attribution: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TileCrs {
    #[default]
    Wgs84,
    Gcj02,
}

impl ConsoleSettings {
    /// The origin the tiles come from, for the page's Content-Security-Policy `img-src`
    /// (`https://t{s}.tianditu.gov.cn/…` → `https://*.tianditu.gov.cn`).
    pub fn tile_origin(&self) -> Option<String> {
        let url = self.tile_url.as_deref()?;
        let (scheme, rest) = url.split_once("://")?;
        let authority = rest.split(['/', '?']).next()?;
        let (first, others) = authority.split_once('.')?;
        let host = if first.contains("{s}") {
            format!("*.{others}")
        } else {
            authority.to_owned()
        };
        let clean = host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '*'));
        (clean && !host.contains('{')).then(|| format!("{scheme}://{host}"))
    }

    pub(super) fn check(&self) -> anyhow::Result<()> {
        if let Some(url) = &self.tile_url {
            anyhow::ensure!(
                (url.starts_with("https://") || url.starts_with("http://"))
                    && ["{z}", "{x}", "{y}"].iter().all(|p| url.contains(p)),
                "console.tile_url: an http(s) URL with {{z}}, {{x}} and {{y}}"
            );
            anyhow::ensure!(
                !url.contains("{s}") || !self.tile_subdomains.is_empty(),
                "console.tile_url uses {{s}}: set console.tile_subdomains"
            );
            anyhow::ensure!(
                self.tile_origin().is_some(),
                "console.tile_url: not a URL with a host"
            );
        }
        Ok(())
    }
}
