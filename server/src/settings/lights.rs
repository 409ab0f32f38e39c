//! 亮灯 (traffic-light) settings and the 督办单 each light prints as.

use serde::Deserialize;

/// 亮灯 thresholds and the 督办单 (supervision sheet) each light prints as (docs/ledger.md#lights).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LightSettings {
    /// Yellow from this many days before the deadline.
    pub warn_days: u32,
    /// A rectifying unit reports progress (续报) at least every this many days; 0: not required.
    pub progress_interval_days: u32,
    /// The sheet printed for a green, yellow and red issue: its title and colour.
    pub green_sheet: SheetStyle,
    pub yellow_sheet: SheetStyle,
    pub red_sheet: SheetStyle,
}

/// How one colour of 督办单 looks: offices name them differently (蓝/黄/红督办单, 提示单/督办单/催办单).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SheetStyle {
    pub title: String,
    /// `#rrggbb`.
    pub colour: String,
}

impl Default for LightSettings {
    fn default() -> Self {
        let sheet = |title: &str, colour: &str| SheetStyle {
            title: title.to_owned(),
            colour: colour.to_owned(),
        };
        let policy = closeout_sync_protocol::LightPolicy::default();
        Self {
            warn_days: policy.warn_days,
            progress_interval_days: policy.progress_interval_days,
            green_sheet: sheet("蓝色督办单", "#1f5fbf"),
            yellow_sheet: sheet("黄色督办单", "#c98a00"),
            red_sheet: sheet("红色督办单", "#c0262d"),
        }
    }
}

impl LightSettings {
    pub fn policy(&self) -> closeout_sync_protocol::LightPolicy {
        closeout_sync_protocol::LightPolicy {
            warn_days: self.warn_days,
            progress_interval_days: self.progress_interval_days,
        }
    }

    pub fn sheet(&self, light: closeout_sync_protocol::Light) -> &SheetStyle {
        match light {
            closeout_sync_protocol::Light::Green => &self.green_sheet,
            closeout_sync_protocol::Light::Yellow => &self.yellow_sheet,
            closeout_sync_protocol::Light::Red => &self.red_sheet,
        }
    }

    pub(super) fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.warn_days <= 365, "lights.warn_days: at most 365");
        anyhow::ensure!(
            self.progress_interval_days <= 365,
            "lights.progress_interval_days: at most 365"
        );
        for (name, sheet) in [
            ("green_sheet", &self.green_sheet),
            ("yellow_sheet", &self.yellow_sheet),
            ("red_sheet", &self.red_sheet),
        ] {
            let hex = sheet.colour.strip_prefix('#').unwrap_or("");
            anyhow::ensure!(
                hex.len() == 6 && hex.chars().all(|c| c.is_ascii_hexdigit()),
                "lights.{name}.colour: `#rrggbb`, not `{}`",
                sheet.colour
            );
            let chars = sheet.title.trim().chars().count();
            anyhow::ensure!(
                (1..=40).contains(&chars),
                "lights.{name}.title: 1 to 40 characters"
            );
        }
        Ok(())
    }
}
