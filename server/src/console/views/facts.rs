//! The labelled facts of an issue that the issue page and the 督办单 both show, built once.

use crate::db::DbConnection;
use crate::domain::issues::view::{ESCALATION_NAMES_ZH, Issue};
use crate::domain::reports::names::Names;
use crate::error::AppError;

/// One labelled fact of an issue.
pub struct Fact {
    pub label: &'static str,
    pub value: String,
}

/// 所属区划 and 问题类别.
pub fn place_and_category(
    conn: &mut DbConnection,
    names: &mut Names,
    issue: &Issue,
) -> Result<Vec<Fact>, AppError> {
    Ok(vec![
        Fact {
            label: "所属区划",
            value: names.place_label(conn, &issue.place_id)?,
        },
        Fact {
            label: "问题类别",
            value: names.category(&issue.category),
        },
    ])
}

/// Who answers for the issue and by when — 责任单位, 责任人, 整改目标, 完成时限 — those that are
/// set, the deadline written with `date_format` (chrono's `format`).
pub fn assignment(
    conn: &mut DbConnection,
    names: &mut Names,
    issue: &Issue,
    date_format: &str,
) -> Result<Vec<Fact>, AppError> {
    let mut facts = Vec::new();
    if let Some(unit) = &issue.responsible_unit_id {
        facts.push(Fact {
            label: "责任单位",
            value: names.unit_name(conn, unit)?,
        });
    }
    if let Some(person) = &issue.responsible_user_id {
        facts.push(Fact {
            label: "责任人",
            value: names.person(conn, person)?,
        });
    }
    if let Some(target) = &issue.target {
        facts.push(Fact {
            label: "整改目标",
            value: target.clone(),
        });
    }
    if let Some(deadline) = issue.deadline {
        facts.push(Fact {
            label: "完成时限",
            value: deadline.format(date_format).to_string(),
        });
    }
    Ok(facts)
}

/// 督办等级, in words.
pub fn escalation(issue: &Issue) -> Fact {
    Fact {
        label: "督办等级",
        value: ESCALATION_NAMES_ZH
            .get(issue.escalation_level.clamp(0, 4) as usize)
            .copied()
            .unwrap_or("")
            .to_owned(),
    }
}
