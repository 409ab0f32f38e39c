//! What a rectification notice (整改通知书) says: gathered from the issue, its places, people and
//! history. Rendering is `reports::notice`.

use super::{Clock, can_see};
use crate::db::{DbConnection, categories, issues, org_units, users};
use crate::domain::places::OrgLevel;
use crate::error::{AppError, ErrorCode};
use crate::ids::{IssueId, OrgUnitId};
use chrono::NaiveDate;

pub struct NoticeData {
    pub ledger_no: String,
    pub title: String,
    pub description: String,
    pub category: String,
    pub place: String,
    pub address: Option<String>,
    pub reported_on: NaiveDate,
    pub responsible_unit: String,
    pub responsible_person: String,
    pub target: String,
    pub deadline: NaiveDate,
    /// The office that issued it (the county, or the highest place, of the issue), its 文号 and
    /// 成文日期 (the day of assignment).
    pub official: crate::domain::documents::Official,
    pub before_photos: Vec<String>,
    pub reopen_count: i32,
}

/// The notice of an assigned issue; 404 if invisible, 409 `not_assigned` before assignment.
pub fn gather(
    conn: &mut DbConnection,
    caller: &crate::domain::access::Caller,
    id: &IssueId,
    clock: Clock,
    settings: &crate::settings::DocumentSettings,
) -> Result<NoticeData, AppError> {
    let issue = issues::find(conn, id)?
        .filter(|i| can_see(caller, i))
        .ok_or_else(|| AppError::not_found("issue"))?;
    let (Some(unit_id), Some(person_id), Some(target), Some(deadline)) = (
        &issue.responsible_unit_id,
        &issue.responsible_user_id,
        &issue.target,
        issue.deadline,
    ) else {
        return Err(AppError::new(
            ErrorCode::NotAssigned,
            "a rectification notice exists once the issue is assigned",
        )
        .zh("问题交办后才能生成整改通知书"));
    };
    let unit = org_units::find(conn, unit_id)?
        .map(|u| u.name)
        .unwrap_or_default();
    let person = users::find(conn, person_id)?
        .map(|u| u.display_name)
        .unwrap_or_default();
    // The place as a chain of names below the county: 建北街道 甲社区 第一网格.
    let mut names = Vec::new();
    let mut issuer = None;
    for part in issue.place_path.trim_matches('/').split('/') {
        let Ok(uuid) = uuid::Uuid::parse_str(part) else {
            continue;
        };
        if let Some(row) = org_units::find(conn, &OrgUnitId::from(uuid))? {
            let level: OrgLevel = row.level.parse()?;
            if level <= OrgLevel::County {
                issuer = Some(row.clone());
            }
            if level >= OrgLevel::County {
                names.push(row.name);
            }
        }
    }
    let category =
        categories::find(conn, &issue.category)?.map_or(issue.category.clone(), |c| c.name_zh);
    let history = issues::events_of(conn, id)?;
    let before_photos = history
        .first()
        .map(|e| serde_json::from_str::<Vec<String>>(&e.photos))
        .transpose()
        .map_err(AppError::internal)?
        .unwrap_or_default();
    let issued_on = issue.assigned_at.map_or(clock.today, |t| clock.day_of(t.0));
    let Some(issuer) = issuer else {
        return Err(AppError::internal(std::io::Error::other(format!(
            "issue {id} has no place at county level or above to issue its notice"
        ))));
    };
    let official = crate::domain::documents::issue(
        conn,
        settings,
        "notice",
        id.as_str(),
        &issuer,
        issued_on,
        &caller.user_id,
        clock.now,
    )?;
    Ok(NoticeData {
        ledger_no: issue.ledger_no,
        title: issue.title,
        description: issue.description,
        category,
        place: names.join(" "),
        address: issue.address,
        reported_on: clock.day_of(issue.created_at.0),
        responsible_unit: unit,
        responsible_person: person,
        target: target.clone(),
        deadline,
        official,
        before_photos,
        reopen_count: issue.reopen_count,
    })
}
