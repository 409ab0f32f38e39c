//! Failed items → issues on the ledger. Each failed item of a finished inspection raises one issue
//! (state `reported`, or `assigned` through the ordinary `assign` transition when the template
//! says so), linked both ways, with the item's photos as before-photos. The issue id is derived
//! from the inspection id and the item key, and the link is written in the same transaction, so
//! a resend, a second phone finishing the same inspection or a retry after a lost response never
//! raises a second issue.

use crate::db::DbConnection;
use crate::db::inspections::{self as db, InspectionRow, IssueLinkRow};
use crate::domain::access::{Caller, Place};
use crate::domain::issues::report::{self, NewIssue};
use crate::domain::issues::view::Location;
use crate::domain::issues::{Clock, transitions};
use crate::error::AppError;
use crate::ids::{InspectionId, IssueId};
use closeout_sync_protocol::inspection::wire::InspectionMode;
use closeout_sync_protocol::inspection::{
    ChecklistItem, ItemKind, ItemResult, TemplateContent, evaluate,
};
use closeout_sync_protocol::lifecycle::TransitionRequest;
use closeout_sync_protocol::{ActionKind, IssueSource, Role};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The issue a failed item raises: a UUID (version 8) made from the first 16 bytes of
/// SHA-256(`closeout:inspection-issue:<inspection id>:<item key>`), so a phone can compute it too.
pub fn issue_id_for(inspection: &InspectionId, item_key: &str) -> IssueId {
    let digest =
        Sha256::digest(format!("closeout:inspection-issue:{inspection}:{item_key}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    IssueId::from(uuid::Builder::from_custom_bytes(bytes).into_uuid())
}

/// How a recorded value reads in an issue's description.
fn shown(item: &ChecklistItem, r: &ItemResult) -> String {
    let number = |v: &serde_json::Value| v.as_f64().map(|n| format!("{n}")).unwrap_or_default();
    match item.kind {
        ItemKind::PassFail => "不合格".into(),
        ItemKind::Score => format!(
            "{} 分（满分 {}，低于 {} 分为不合格）",
            number(&r.value),
            item.points,
            item.fail_below.unwrap_or(0.0)
        ),
        ItemKind::Number => format!("{}{}", number(&r.value), item.unit.as_deref().unwrap_or("")),
        ItemKind::Text => r.value.as_str().unwrap_or("").to_owned(),
        ItemKind::SingleChoice => item
            .options
            .iter()
            .find(|o| Some(o.value.as_str()) == r.value.as_str())
            .map_or_else(String::new, |o| o.label.clone()),
    }
}

fn clip(s: &str, max: usize) -> String {
    s.trim().chars().take(max).collect()
}

/// Raises the issues still missing for the failed items; returns how many were raised now.
pub fn raise(
    conn: &mut DbConnection,
    caller: &Caller,
    row: &InspectionRow,
    template: &TemplateContent,
    results: &BTreeMap<String, ItemResult>,
    clock: Clock,
) -> Result<usize, AppError> {
    let linked: Vec<String> = db::links_of(conn, &row.id)?
        .into_iter()
        .map(|l| l.item_key)
        .collect();
    let mode = InspectionMode::parse(&row.mode).unwrap_or(InspectionMode::Scheduled);
    let mut raised = 0;
    for item in &template.items {
        let Some(result) = results.get(&item.key) else {
            continue;
        };
        if !evaluate(item, result).failed || linked.contains(&item.key) {
            continue;
        }
        let issue_id = issue_id_for(&row.id, &item.key);
        let mut description = format!(
            "督查发现（{}）：{} / {}\n检查结果：{}",
            mode.name_zh(),
            template.name,
            item.title,
            shown(item, result)
        );
        if !row.site.is_empty() {
            description.push_str(&format!("\n检查地点：{}", row.site));
        }
        if !result.note.is_empty() {
            description.push_str(&format!("\n备注：{}", result.note));
        }
        let input = NewIssue {
            id: Some(uuid::Uuid::parse_str(issue_id.as_str()).map_err(AppError::internal)?),
            title: clip(&format!("{}：{}", template.name, item.title), 200),
            description: clip(&description, 5000),
            category: item
                .category
                .clone()
                .unwrap_or_else(|| template.category.clone()),
            severity: item.severity,
            source: if mode == InspectionMode::Unannounced {
                IssueSource::UnannouncedVisit
            } else {
                IssueSource::Inspection
            },
            place_id: row.place_id.clone(),
            location: match (row.lat, row.lon) {
                (Some(lat), Some(lon)) => Some(Location {
                    lat,
                    lon,
                    accuracy_m: row.accuracy_m,
                    address: row.address.clone(),
                }),
                _ => None,
            },
            device_time: row.finished_at.map(|t| t.and_utc()),
            photos: result.photos.clone(),
        };
        report::report_within(conn, caller, &issue_id, &input, clock)?;
        let assignment = assign(conn, caller, row, template, item, &issue_id, clock)?;
        db::insert_link(
            conn,
            &IssueLinkRow {
                inspection_id: row.id.clone(),
                item_key: item.key.clone(),
                issue_id,
                assignment,
                created_at: clock.now,
            },
        )?;
        raised += 1;
    }
    Ok(raised)
}

/// 交办 on the spot when the template says so, through the ledger's own `assign` transition
/// (so its rules and history hold: the caller must be a supervisor of the place, the person
/// responsible for the unit, the deadline today or later). What happened is recorded on the link.
fn assign(
    conn: &mut DbConnection,
    caller: &Caller,
    row: &InspectionRow,
    template: &TemplateContent,
    item: &ChecklistItem,
    issue: &IssueId,
    clock: Clock,
) -> Result<Option<String>, AppError> {
    let Some(rule) = &template.assign_on_failure else {
        return Ok(None);
    };
    let (Some(unit), Some(person)) = (&row.responsible_unit_id, &row.responsible_user_id) else {
        return Ok(Some(
            "reported: the inspection names no responsible unit and person".into(),
        ));
    };
    if !caller.has_role_at(
        Role::Supervisor,
        Place {
            path: &row.place_path,
        },
    ) {
        return Ok(Some(
            "reported: assigning needs a supervisor of the place".into(),
        ));
    }
    let target = rule
        .target
        .clone()
        .or_else(|| Some(item.guidance.clone()).filter(|g| !g.trim().is_empty()));
    let request = TransitionRequest {
        responsible_unit_id: Some(unit.to_string()),
        responsible_user_id: Some(person.to_string()),
        target,
        deadline: Some(clock.today + chrono::Duration::days(i64::from(rule.deadline_days))),
        comment: Some(format!("督查交办：{}", template.name)),
        device_time: row.finished_at.map(|t| t.and_utc()),
        ..TransitionRequest::new(ActionKind::Assign)
    };
    // In a savepoint: a refusal leaves the issue reported, with the reason on the link.
    let outcome = diesel::Connection::transaction(conn, |conn| {
        // Assigning consults no evidence policy: the defaults do.
        transitions::apply_within(
            conn,
            caller,
            issue,
            &request,
            clock,
            crate::domain::evidence::EvidencePolicy::default(),
        )
    });
    match outcome {
        Ok(()) => Ok(Some("assigned".into())),
        Err(e) if e.code.status() >= 500 => Err(e),
        Err(e) => Ok(Some(format!("reported: {}", e.detail))),
    }
}
