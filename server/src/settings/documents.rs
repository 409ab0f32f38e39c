//! Official documents' settings: numbers and issuing office.

use serde::Deserialize;

/// Official documents (公文: 整改通知书, 通报): their numbers and issuing office. See docs/reports.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentSettings {
    /// 机关代字 before `〔2026〕12号` for every issuing office not named in `office_prefixes`
    /// (empty: the number is `〔2026〕12号`).
    pub number_prefix: String,
    /// 机关代字 per issuing office, by the office's 区划代码 (e.g. `"130102" = "长督查"`).
    pub office_prefixes: std::collections::BTreeMap<String, String>,
    /// Appended to the office's place name to name the issuing office: `长安区` + `督查办`.
    pub office_suffix: String,
}

impl Default for DocumentSettings {
    fn default() -> Self {
        Self {
            number_prefix: String::new(),
            office_prefixes: std::collections::BTreeMap::new(),
            office_suffix: "督查办".into(),
        }
    }
}
