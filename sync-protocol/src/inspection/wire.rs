//! Inspections on the wire: the `record_inspection` mutation a phone pushes (the inspection's
//! header, the items it recorded, and optionally that it is finished) and the snapshot it pulls.

use super::ItemResult;
use crate::sync::Location;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How the inspection came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InspectionMode {
    /// 例行督查 (weekly, daily patrol: usually from a schedule)
    Scheduled,
    /// 专项检查
    Special,
    /// 暗访 (四不两直)
    Unannounced,
    /// 随机抽查
    SpotCheck,
}

impl InspectionMode {
    pub const ALL: [InspectionMode; 4] = [
        Self::Scheduled,
        Self::Special,
        Self::Unannounced,
        Self::SpotCheck,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Special => "special",
            Self::Unannounced => "unannounced",
            Self::SpotCheck => "spot_check",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Scheduled => "例行督查",
            Self::Special => "专项检查",
            Self::Unannounced => "暗访",
            Self::SpotCheck => "随机抽查",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum InspectionState {
    InProgress,
    Finished,
}

/// Who, where, what, when: the same on every phone of the team. The first to reach the server
/// stands; a differing field from another phone is kept as a conflict (the team is merged).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct InspectionHeader {
    pub template_id: String,
    /// The template version the checklist on the phone is (the inspection keeps it for good).
    pub template_version: i32,
    pub place_id: String,
    pub mode: InspectionMode,
    /// The site within the place (村东桥下, 某某项目工地).
    #[serde(default)]
    pub site: String,
    pub location: Option<Location>,
    /// User ids of the team (督查组); whoever records a result joins it.
    #[serde(default)]
    pub team: Vec<String>,
    /// Who rectifies what this inspection finds (for templates that assign on failure).
    #[serde(default)]
    pub responsible_unit_id: Option<String>,
    #[serde(default)]
    pub responsible_user_id: Option<String>,
    /// The schedule this inspection fulfils, if any.
    #[serde(default)]
    pub schedule_id: Option<String>,
    pub started_at: DateTime<Utc>,
}

/// One recorded item, against the item's revision the phone last saw (0: it saw none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemEntry {
    pub key: String,
    #[serde(default)]
    pub base_rev: i32,
    pub result: ItemResult,
}

/// The `record_inspection` mutation (and the body of `POST /api/v1/inspections`): creates the
/// inspection if it does not exist yet, records items, and finishes it when `finished_at` is set.
/// Safe to send again: the same content changes nothing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RecordInspectionBody {
    /// Made on the phone (UUIDv7), shared by the team (e.g. by QR code).
    pub inspection_id: String,
    pub header: InspectionHeader,
    #[serde(default)]
    pub items: Vec<ItemEntry>,
    /// Set to finish: scores are final and failed items become issues.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    /// The team's overall remarks (督查意见), taken with the finish.
    #[serde(default)]
    pub summary: Option<String>,
}

/// One item of a pulled inspection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ItemSnapshot {
    /// Send it back as `base_rev` when editing this item.
    pub rev: i32,
    pub result: ItemResult,
    pub score: f64,
    pub max: f64,
    pub failed: bool,
    pub recorded_by: Option<String>,
    /// The issue this failure raised.
    pub issue_id: Option<String>,
}

/// An inspection as a phone stores it (pull `upsert_inspection`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InspectionSnapshot {
    pub id: String,
    pub template_id: String,
    pub template_version: i32,
    pub place_id: String,
    pub mode: InspectionMode,
    pub site: String,
    pub location: Option<Location>,
    pub team: Vec<String>,
    pub responsible_unit_id: Option<String>,
    pub responsible_user_id: Option<String>,
    pub schedule_id: Option<String>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub summary: Option<String>,
    pub state: InspectionState,
    pub items: BTreeMap<String, ItemSnapshot>,
    pub score: f64,
    pub max_score: f64,
    pub percent: Option<f64>,
    /// +1 on every change.
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}
