//! The inspection record (督查记录单) as an office files it: the template, the team, the place
//! and site, when, every item with its result, note, score and photos, the total, and lines for
//! the signatures. Gathered from the inspection the caller may see (404 otherwise); rendered by
//! `reports::inspection_record` (HTML) and `reports::docx::inspection_record`.

use super::queries;
use super::templates::content_of;
use crate::db::{DbConnection, inspections as db, users};
use crate::domain::access::Caller;
use crate::domain::issues::Clock;
use crate::error::AppError;
use crate::ids::{InspectionId, UserId};
use closeout_sync_protocol::inspection::ItemKind;

pub struct SheetItem {
    pub section: Option<String>,
    pub title: String,
    /// 合格 / 不合格 / the score / the number with its unit / the text / the option's label;
    /// 不适用; or 未检查 when nothing was recorded.
    pub result: String,
    pub score: Option<f64>,
    pub max: Option<f64>,
    pub failed: bool,
    pub note: String,
    pub photos: Vec<String>,
    /// The ledger number of the issue a failure raised.
    pub issue: Option<String>,
}

pub struct RecordSheet {
    pub template: String,
    pub place: String,
    pub site: String,
    pub team: Vec<String>,
    /// Office wall-clock times: `2026-11-20 09:00`.
    pub started: String,
    pub finished: Option<String>,
    pub items: Vec<SheetItem>,
    pub score: f64,
    pub max_score: f64,
    pub percent: Option<f64>,
    pub summary: String,
}

pub fn gather(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &InspectionId,
    clock: Clock,
) -> Result<RecordSheet, AppError> {
    let detail = queries::detail(conn, caller, id)?;
    let row = db::find(conn, id)?.ok_or_else(|| AppError::not_found("inspection"))?;
    let (_, template) = content_of(conn, &row.template_id, row.template_version)?;
    let i = &detail.inspection;
    let local = |t: chrono::DateTime<chrono::Utc>| {
        clock
            .zone
            .local(t.naive_utc())
            .format("%Y-%m-%d %H:%M")
            .to_string()
    };
    let mut team = Vec::new();
    for member in &i.team {
        let name = match uuid::Uuid::parse_str(member) {
            Ok(u) => users::find(conn, &UserId::from(u))?.map(|u| u.display_name),
            Err(_) => None,
        };
        team.push(name.unwrap_or_else(|| member.clone()));
    }
    let mut items = Vec::new();
    for item in &template.items {
        let recorded = i.items.get(&item.key);
        let issue = detail
            .issues
            .iter()
            .find(|r| r.item_key == item.key)
            .map(|r| r.ledger_no.clone());
        let Some(s) = recorded else {
            items.push(SheetItem {
                section: item.section.clone(),
                title: item.title.clone(),
                result: "未检查".into(),
                score: None,
                max: None,
                failed: false,
                note: String::new(),
                photos: Vec::new(),
                issue,
            });
            continue;
        };
        let v = &s.result.value;
        let result = if s.result.not_applicable {
            "不适用".to_owned()
        } else {
            match item.kind {
                ItemKind::PassFail => match v.as_bool() {
                    Some(true) => "合格".to_owned(),
                    Some(false) => "不合格".to_owned(),
                    None => v.to_string(),
                },
                ItemKind::SingleChoice => v
                    .as_str()
                    .and_then(|val| item.options.iter().find(|o| o.value == val))
                    .map_or_else(|| v.to_string(), |o| o.label.clone()),
                ItemKind::Text => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                _ => match (v.as_f64(), &item.unit) {
                    (Some(n), Some(unit)) => format!("{n}{unit}"),
                    (Some(n), None) => format!("{n}"),
                    _ => v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                },
            }
        };
        let scored = !matches!(item.kind, ItemKind::Text);
        items.push(SheetItem {
            section: item.section.clone(),
            title: item.title.clone(),
            result,
            score: scored.then_some(s.score),
            max: scored.then_some(s.max),
            failed: s.failed,
            note: s.result.note.clone(),
            photos: s.result.photos.clone(),
            issue,
        });
    }
    Ok(RecordSheet {
        template: detail.template_name.clone(),
        place: detail.place_name.clone(),
        site: i.site.clone(),
        team,
        started: local(i.started_at),
        finished: i.finished_at.map(local),
        items,
        score: i.score,
        max_score: i.max_score,
        percent: i.percent,
        summary: i.summary.clone().unwrap_or_default(),
    })
}
