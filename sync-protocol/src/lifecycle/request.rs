//! An action on an issue as a client sends it: one flat JSON object, the action plus its fields.

use super::{ActionKind, Field};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// 初报 / 续报 / 终报.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProgressStage {
    Initial,
    FollowUp,
    Final,
}

/// Where the phone was (WGS-84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
    /// Horizontal accuracy in metres, as the phone reports it.
    pub accuracy_m: Option<f64>,
}

/// An action on an issue, as a client sends it. Flat on purpose: one JSON object, `action` plus
/// the fields that action takes; any other field is refused.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionRequest {
    #[cfg_attr(feature = "openapi", schema(value_type = ActionKind))]
    pub action: Option<ActionKind>,
    pub comment: Option<String>,
    pub reason: Option<String>,
    /// SHA-256 (hex) of photos attached to this step (after-photos for `submit`).
    #[serde(default)]
    pub photos: Vec<String>,
    pub location: Option<Position>,
    /// The phone's clock when the action was taken: recorded, never trusted for ordering.
    pub device_time: Option<DateTime<Utc>>,
    pub responsible_unit_id: Option<String>,
    pub responsible_user_id: Option<String>,
    pub target: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub requested_deadline: Option<NaiveDate>,
    pub granted: Option<bool>,
    pub duplicate_of: Option<String>,
    pub stage: Option<ProgressStage>,
    pub override_reason: Option<String>,
}

impl TransitionRequest {
    pub fn new(action: ActionKind) -> Self {
        Self {
            action: Some(action),
            ..Self::default()
        }
    }

    pub(super) fn has(&self, field: Field) -> bool {
        let text = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        match field {
            Field::ResponsibleUnit => text(&self.responsible_unit_id),
            Field::ResponsibleUser => text(&self.responsible_user_id),
            Field::Target => text(&self.target),
            Field::Deadline => self.deadline.is_some(),
            Field::Reason => text(&self.reason),
            Field::Comment => text(&self.comment),
            Field::Photos => !self.photos.is_empty(),
            Field::RequestedDeadline => self.requested_deadline.is_some(),
            Field::Granted => self.granted.is_some(),
            Field::DuplicateOf => text(&self.duplicate_of),
            Field::Stage => self.stage.is_some(),
            Field::OverrideReason => text(&self.override_reason),
        }
    }
}
