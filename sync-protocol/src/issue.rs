//! What an issue is, on the wire: its source, its severity.

use serde::{Deserialize, Serialize};

/// How the problem came to light.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IssueSource {
    /// 网格巡查
    GridPatrol,
    /// 督查检查
    Inspection,
    /// 暗访
    UnannouncedVisit,
    /// 群众投诉
    Complaint,
    /// 上级交办 (a handed-down list)
    HandedDown,
}

impl IssueSource {
    pub const ALL: [IssueSource; 5] = [
        Self::GridPatrol,
        Self::Inspection,
        Self::UnannouncedVisit,
        Self::Complaint,
        Self::HandedDown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::GridPatrol => "grid_patrol",
            Self::Inspection => "inspection",
            Self::UnannouncedVisit => "unannounced_visit",
            Self::Complaint => "complaint",
            Self::HandedDown => "handed_down",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::GridPatrol => "网格巡查",
            Self::Inspection => "督查检查",
            Self::UnannouncedVisit => "暗访",
            Self::Complaint => "群众投诉",
            Self::HandedDown => "上级交办",
        }
    }

    /// The wire name or the Chinese name.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s || x.name_zh() == s)
    }
}

/// How serious the problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// 一般
    Minor,
    /// 较重
    Moderate,
    /// 严重
    Serious,
    /// 重大
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Minor, Self::Moderate, Self::Serious, Self::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minor => "minor",
            Self::Moderate => "moderate",
            Self::Serious => "serious",
            Self::Critical => "critical",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Minor => "一般",
            Self::Moderate => "较重",
            Self::Serious => "严重",
            Self::Critical => "重大",
        }
    }

    /// The wire name or the Chinese name.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s || x.name_zh() == s)
    }
}

/// 领导批示: an instruction a supervisor or leader attached to an issue (action `instruct`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Instruction {
    pub text: String,
    pub author_id: String,
    pub author_name: String,
    pub at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_in_both_languages() {
        for s in IssueSource::ALL {
            assert_eq!(IssueSource::parse(s.as_str()), Some(s));
            assert_eq!(IssueSource::parse(s.name_zh()), Some(s));
        }
        for s in Severity::ALL {
            assert_eq!(Severity::parse(s.name_zh()), Some(s));
        }
        assert_eq!(IssueSource::parse("rumour"), None);
    }
}
