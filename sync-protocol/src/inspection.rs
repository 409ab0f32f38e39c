//! Inspections (督查) as phones and the server both see them: checklist items and their kinds,
//! what a recorded result must look like, its score and whether it is a failure, an inspection's
//! total, and the per-item merge of results recorded on several phones. The wire shapes (the
//! `record_inspection` mutation, the pulled snapshot) are in [`wire`].

pub mod validate;
pub mod wire;

pub use validate::{Invalid, is_sha256, kind_name, normalize_result, validate_template};

use crate::issue::Severity;
use crate::sync::merge_fields;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What kind of answer an item takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// 合格 / 不合格: `true` passes and earns `points`; `false` fails.
    PassFail,
    /// A score from 0 to `points`; below `fail_below` (if set) is a failure.
    Score,
    /// A measured number; outside `min`..`max` (if set) is a failure, inside earns `points`.
    Number,
    /// Free text (e.g. 本周进展); never scored, never a failure.
    Text,
    /// One of `options`; the chosen option gives the score and says whether it fails.
    SingleChoice,
}

impl ItemKind {
    pub fn name_zh(self) -> &'static str {
        match self {
            Self::PassFail => "是否合格",
            Self::Score => "评分",
            Self::Number => "数值",
            Self::Text => "文字",
            Self::SingleChoice => "单选",
        }
    }
}

/// One answer of a `single_choice` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    pub value: String,
    pub label: String,
    #[serde(default)]
    pub score: f64,
    /// Choosing this option is a failure (an issue is raised).
    #[serde(default)]
    pub fails: bool,
}

/// One line of a checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChecklistItem {
    /// Stable within the template across versions: results and issues are keyed by it.
    pub key: String,
    pub title: String,
    /// The heading the item sits under on the form (e.g. 本周进展).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    pub kind: ItemKind,
    /// The most the item earns (`pass_fail`, `score`, `number`); 0 for `text` and
    /// `single_choice` (whose best option's score is its maximum).
    #[serde(default)]
    pub points: f64,
    /// `score`: a score below this is a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_below: Option<f64>,
    /// `number`: the lowest acceptable value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// `number`: the highest acceptable value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// `number`: the unit shown beside the value (%, 米, 户).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ChoiceOption>,
    /// Of the issue a failure raises.
    pub severity: Severity,
    /// Issue category code of a failure (default: the template's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// A failed result must carry at least one photo.
    #[serde(default)]
    pub photo_required_on_failure: bool,
    /// What to look at and how to judge (检查要点).
    #[serde(default)]
    pub guidance: String,
}

/// Failures are assigned on the spot (交办) instead of waiting in `reported`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AutoAssign {
    /// The deadline: this many days after the inspection is finished.
    pub deadline_days: u32,
    /// 整改目标 written on each assignment (default: the item's guidance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

/// The content of one version of a checklist template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TemplateContent {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Issue category code for items that name none.
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign_on_failure: Option<AutoAssign>,
    pub items: Vec<ChecklistItem>,
}

/// What a person recorded for one item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ItemResult {
    /// `true`/`false` (pass_fail), a number (score, number), text (text), an option's `value`
    /// (single_choice); `null` only when `not_applicable`.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub value: serde_json::Value,
    /// 不适用: left out of the score altogether.
    #[serde(default)]
    pub not_applicable: bool,
    #[serde(default)]
    pub note: String,
    /// SHA-256 (hex) of photos taken for this item; a failure's become the issue's before-photos.
    #[serde(default)]
    pub photos: Vec<String>,
}

/// The most an item can earn.
pub fn max_points(item: &ChecklistItem) -> f64 {
    match item.kind {
        ItemKind::PassFail | ItemKind::Score | ItemKind::Number => item.points,
        ItemKind::Text => 0.0,
        ItemKind::SingleChoice => item.options.iter().map(|o| o.score).fold(0.0, f64::max),
    }
}

/// What one result is worth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    pub score: f64,
    /// The most it could have earned (0 when not applicable).
    pub max: f64,
    /// A failure: an issue is raised for it.
    pub failed: bool,
}

/// Scores one (normalized) result. A value of the wrong shape scores 0 and does not fail; the
/// server never stores one (`normalize_result` refuses it).
pub fn evaluate(item: &ChecklistItem, r: &ItemResult) -> Evaluation {
    let max = max_points(item);
    if r.not_applicable {
        return Evaluation {
            score: 0.0,
            max: 0.0,
            failed: false,
        };
    }
    let (score, failed) = match item.kind {
        ItemKind::PassFail => match r.value.as_bool() {
            Some(true) => (item.points, false),
            Some(false) => (0.0, true),
            None => (0.0, false),
        },
        ItemKind::Score => match r.value.as_f64() {
            Some(v) => (v, item.fail_below.is_some_and(|t| v < t)),
            None => (0.0, false),
        },
        ItemKind::Number => match r.value.as_f64() {
            Some(v) => {
                let inside = item.min.is_none_or(|lo| v >= lo) && item.max.is_none_or(|hi| v <= hi);
                (if inside { item.points } else { 0.0 }, !inside)
            }
            None => (0.0, false),
        },
        ItemKind::Text => (0.0, false),
        ItemKind::SingleChoice => {
            match item
                .options
                .iter()
                .find(|o| Some(o.value.as_str()) == r.value.as_str())
            {
                Some(o) => (o.score, o.fails),
                None => (0.0, false),
            }
        }
    };
    Evaluation { score, max, failed }
}

/// An inspection's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Total {
    pub score: f64,
    /// Sum of the applicable items' maximum (an item left blank counts with 0 of its points).
    pub max_score: f64,
    /// score / max_score × 100, one decimal; null when max_score is 0.
    pub percent: Option<f64>,
    /// Keys of the failed items, in template order.
    pub failed: Vec<String>,
}

/// Rounds to one decimal, as every figure of the reports is.
pub fn one_decimal(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// The total over the template's items. Results for keys the template does not have are ignored.
pub fn total(template: &TemplateContent, results: &BTreeMap<String, ItemResult>) -> Total {
    let mut t = Total {
        score: 0.0,
        max_score: 0.0,
        percent: None,
        failed: Vec::new(),
    };
    for item in &template.items {
        match results.get(&item.key) {
            Some(r) => {
                let e = evaluate(item, r);
                t.score += e.score;
                t.max_score += e.max;
                if e.failed {
                    t.failed.push(item.key.clone());
                }
            }
            None => t.max_score += max_points(item),
        }
    }
    t.score = one_decimal(t.score);
    t.max_score = one_decimal(t.max_score);
    t.percent = (t.max_score > 0.0).then(|| one_decimal(t.score * 100.0 / t.max_score));
    t
}

/// A result as stored, with its revision (1 for the first recording, +1 per change).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResult {
    pub rev: i32,
    pub result: ItemResult,
}

/// An incoming result, recorded against the revision the phone last saw (0: none).
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingResult {
    pub key: String,
    pub base_rev: i32,
    pub result: ItemResult,
}

/// What to do with incoming results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultMerge {
    /// Keys whose incoming result is written (a new revision).
    pub apply: Vec<String>,
    /// Keys where the stored result changed after the phone's `base_rev` to something else:
    /// the stored result stays (first to arrive wins) and the incoming one is kept in a conflict.
    pub conflicts: Vec<String>,
}

/// The per-item merge: exactly `sync::merge_fields` with one "field" per item, and "changed on the
/// server since the base" meaning a stored revision above the phone's `base_rev`. Results of
/// different items never clash; the same answer twice is neither applied nor a conflict.
pub fn merge_results(
    incoming: &[IncomingResult],
    stored: &BTreeMap<String, StoredResult>,
) -> ResultMerge {
    let as_json = |r: &ItemResult| serde_json::to_value(r).unwrap_or(serde_json::Value::Null);
    let mut wanted = BTreeMap::new();
    let mut changed = Vec::new();
    // The last entry for a key wins within one mutation.
    for i in incoming {
        wanted.insert(i.key.clone(), as_json(&i.result));
        if stored.get(&i.key).is_some_and(|s| s.rev > i.base_rev) {
            changed.push(i.key.clone());
        } else {
            changed.retain(|k| k != &i.key);
        }
    }
    let current = stored
        .iter()
        .map(|(k, s)| (k.clone(), as_json(&s.result)))
        .collect();
    let merge = merge_fields(&wanted, &current, &changed);
    ResultMerge {
        apply: merge.apply.into_keys().collect(),
        conflicts: merge.conflicts.into_iter().map(|(k, _, _)| k).collect(),
    }
}

#[cfg(test)]
mod tests;
