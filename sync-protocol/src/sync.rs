//! The sync wire format (version 1): what a phone pushes, what it pulls, and the per-field merge
//! rule. See docs/sync-protocol.md for the full contract.

use crate::inspection::wire::{InspectionSnapshot, RecordInspectionBody};
use crate::issue::{IssueSource, Severity};
use crate::lifecycle::{IssueState, Position, TransitionRequest};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const PROTOCOL_VERSION: u32 = 1;

/// A batch of mutations from one device, in sequence order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushRequest {
    pub protocol: u32,
    /// The device's clock when it sent this batch: the server measures clock skew from it.
    pub sent_at: DateTime<Utc>,
    pub mutations: Vec<Mutation>,
}

/// One change made on a phone. `id` is a UUIDv7 made on the phone; `seq` numbers the device's
/// mutations 1, 2, 3, … without gaps, forever (it survives app restarts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Mutation {
    pub id: String,
    pub seq: u64,
    /// When the person did it, by the phone's clock (recorded, never used for ordering).
    pub device_time: DateTime<Utc>,
    pub body: MutationBody,
}

/// What a mutation does. Tagged by `type`; an unknown type is rejected (`malformed_mutation`, field
/// `body.type`) and the queue moves on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MutationBody {
    /// Report a new issue (the phone chose its id).
    CreateIssue(NewIssueBody),
    /// Edit an issue's fields, relative to the version the phone last saw.
    UpdateIssue(UpdateIssueBody),
    /// An action on an issue (assign, submit, comment, …): the lifecycle's `TransitionRequest`.
    Transition(TransitionBody),
    /// Create, fill in (per item) and finish an inspection (`crate::inspection`).
    RecordInspection(RecordInspectionBody),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewIssueBody {
    pub issue_id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub category: String,
    pub severity: Severity,
    pub source: IssueSource,
    pub place_id: String,
    pub location: Option<Location>,
    #[serde(default)]
    pub photos: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateIssueBody {
    pub issue_id: String,
    /// The issue's `version` the edit was made against.
    pub base_version: i32,
    pub fields: IssueFields,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TransitionBody {
    pub issue_id: String,
    pub request: TransitionRequest,
}

/// WGS-84 position with an optional address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Location {
    pub lat: f64,
    pub lon: f64,
    pub accuracy_m: Option<f64>,
    pub address: Option<String>,
}

/// The fields of an issue a phone may edit. Absent: unchanged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct IssueFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

impl IssueFields {
    /// The fields as name → JSON value, for merging and for the history.
    pub fn to_map(&self) -> BTreeMap<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    }

    pub fn from_map(map: &BTreeMap<String, serde_json::Value>) -> Result<Self, serde_json::Error> {
        serde_json::from_value(serde_json::Value::Object(map.clone().into_iter().collect()))
    }

    pub fn is_empty(&self) -> bool {
        self.to_map().is_empty()
    }
}

/// The outcome of one mutation. Every mutation ends in one of the first four; `held` is temporary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MutationStatus {
    /// Done.
    Applied,
    /// Received before; `original` is the first result.
    Duplicate,
    /// Kept, but part or all of it clashed with what the server has; a supervisor resolves it.
    Conflict,
    /// Refused for good (`code`, `message`, `message_zh`); the device's queue moves on.
    Rejected,
    /// Waiting: an earlier sequence number has not arrived. Resend later; it is not lost.
    Held,
}

impl MutationStatus {
    /// The phone may drop the mutation from its outbox.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Held)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "applied",
            Self::Duplicate => "duplicate",
            Self::Conflict => "conflict",
            Self::Rejected => "rejected",
            Self::Held => "held",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MutationResult {
    pub id: String,
    pub seq: u64,
    pub status: MutationStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
    /// For a mutation rejected because of one field: its path in the mutation, e.g. `device_time`,
    /// `body.title`, `body.fields.location.lat`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The issue's version after this mutation (applied or conflict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict_ids: Option<Vec<String>>,
    /// For `duplicate`: the result the mutation got the first time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(no_recursion))]
    pub original: Option<Box<MutationResult>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushResponse {
    pub results: Vec<MutationResult>,
    /// The highest sequence number the server has processed for this device, with no gap below.
    pub acknowledged_seq: u64,
    /// Server clock minus the device's `sent_at`, in milliseconds.
    pub clock_skew_ms: i64,
    pub server_time: DateTime<Utc>,
}

/// An issue as a phone stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IssueSnapshot {
    pub id: String,
    pub ledger_no: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub severity: Severity,
    pub source: IssueSource,
    pub state: IssueState,
    pub place_id: String,
    pub location: Option<Location>,
    pub reporter_id: Option<String>,
    pub responsible_unit_id: Option<String>,
    pub responsible_user_id: Option<String>,
    pub target: Option<String>,
    pub deadline: Option<NaiveDate>,
    pub extension_deadline: Option<NaiveDate>,
    pub escalation_level: i32,
    pub reopen_count: i32,
    pub duplicate_of: Option<String>,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
    /// The office day the progress clock last started: with `deadline` and the office's
    /// [`crate::LightPolicy`], the phone computes the issue's light ([`crate::light::light`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_on: Option<NaiveDate>,
    /// 领导批示, oldest first (absent when there are none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub instructions: Vec<crate::issue::Instruction>,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Change {
    /// Store this (replacing what the phone had).
    Upsert { seq: i64, issue: Box<IssueSnapshot> },
    /// Store this inspection (replacing what the phone had).
    UpsertInspection {
        seq: i64,
        inspection: Box<InspectionSnapshot>,
    },
    /// Drop it: it left the user's scope (or was deleted).
    Delete {
        seq: i64,
        entity: String,
        id: String,
    },
}

impl Change {
    /// Its place in the change feed.
    pub fn seq(&self) -> i64 {
        match self {
            Self::Upsert { seq, .. }
            | Self::UpsertInspection { seq, .. }
            | Self::Delete { seq, .. } => *seq,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PullResponse {
    /// In server order; at most one entry per entity per page (its latest).
    pub changes: Vec<Change>,
    /// Send back as `cursor` next time. Opaque.
    pub cursor: String,
    pub has_more: bool,
    /// The user's scope changed (or the cursor is from before it did): drop every stored entity,
    /// then apply `changes`, which start from the beginning.
    pub reset: bool,
    /// As in the push response: the device's processed sequence number.
    pub acknowledged_seq: u64,
    pub server_time: DateTime<Utc>,
}

/// Which incoming field edits to apply and which clash with the server.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldMerge {
    pub apply: BTreeMap<String, serde_json::Value>,
    /// (field, incoming value, the server's value, which stays).
    pub conflicts: Vec<(String, serde_json::Value, serde_json::Value)>,
}

/// The per-field merge rule. An incoming edit of a field nobody else changed since `base_version`
/// applies; an edit of a field the server changed since then, to a different value, is a conflict:
/// the value already on the server stays (first to arrive wins, deterministic whatever the device
/// clocks say) and the incoming value is kept in the conflict. Setting a field to the value it
/// already has is neither.
pub fn merge_fields(
    incoming: &BTreeMap<String, serde_json::Value>,
    current: &BTreeMap<String, serde_json::Value>,
    changed_since_base: &[String],
) -> FieldMerge {
    let mut merge = FieldMerge::default();
    for (field, value) in incoming {
        let now = current
            .get(field)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        if now == *value {
            continue;
        }
        if changed_since_base.iter().any(|f| f == field) {
            merge.conflicts.push((field.clone(), value.clone(), now));
        } else {
            merge.apply.insert(field.clone(), value.clone());
        }
    }
    merge
}

/// What the server does with a mutation, given the device's progress. The one rule for
/// exactly-once, in-order processing (the server applies it; the simulator and the property
/// tests check it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    /// Seen before (by id): answer with the original result.
    Duplicate,
    /// The next in sequence, or a skipped one arriving late: apply it.
    Apply,
    /// After a gap: keep it until the gap fills.
    Hold,
    /// A number already used by another mutation: refuse it.
    SequenceReused,
}

/// `last_seq`: processed with no gap below; `seen`: this mutation id was processed before;
/// `skipped`: a supervisor released the gap this number was in.
pub fn classify(seq: u64, last_seq: u64, seen: bool, skipped: bool) -> Disposition {
    if seen {
        Disposition::Duplicate
    } else if seq <= last_seq {
        if skipped {
            Disposition::Apply
        } else {
            Disposition::SequenceReused
        }
    } else if seq == last_seq + 1 {
        Disposition::Apply
    } else {
        Disposition::Hold
    }
}

/// Position type re-exported for clients that attach a location to a transition.
pub type TransitionPosition = Position;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: serde_json::Value) -> BTreeMap<String, serde_json::Value> {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn different_fields_both_win_and_the_same_field_conflicts() {
        let current =
            map(json!({"title": "server title", "description": "d", "severity": "minor"}));
        let incoming = map(json!({"description": "phone description", "title": "phone title"}));
        let m = merge_fields(&incoming, &current, &["title".into()]);
        assert_eq!(m.apply, map(json!({"description": "phone description"})));
        assert_eq!(
            m.conflicts,
            vec![("title".into(), json!("phone title"), json!("server title"))]
        );
    }

    #[test]
    fn an_edit_to_the_value_already_there_is_no_conflict() {
        let current = map(json!({"title": "same"}));
        let m = merge_fields(&map(json!({"title": "same"})), &current, &["title".into()]);
        assert_eq!(m, FieldMerge::default());
    }

    #[test]
    fn mutations_round_trip_and_unknown_types_fail_to_parse() {
        let m = Mutation {
            id: "0193".into(),
            seq: 7,
            device_time: "2026-11-20T08:00:00Z".parse().unwrap(),
            body: MutationBody::UpdateIssue(UpdateIssueBody {
                issue_id: "i".into(),
                base_version: 3,
                fields: IssueFields {
                    title: Some("t".into()),
                    ..IssueFields::default()
                },
            }),
        };
        let text = serde_json::to_string(&m).unwrap();
        assert!(text.contains(r#""type":"update_issue""#), "{text}");
        assert_eq!(serde_json::from_str::<Mutation>(&text).unwrap(), m);
        let unknown = text.replace("update_issue", "launch_rocket");
        assert!(serde_json::from_str::<Mutation>(&unknown).is_err());
    }
}
