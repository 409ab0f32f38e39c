//! An inspection's header (who, where, what, when) as phones send it: checked against the
//! database (people, units, schedules exist), and merged field by field like an issue's fields —
//! the first to arrive stands, an empty field is filled in, a different value is a conflict.

use super::parse_uuid;
use crate::db::inspections::InspectionRow;
use crate::db::{DbConnection, org_units, schedules, users};
use crate::domain::issues::report::{validate_position, validate_text};
use crate::error::AppError;
use crate::ids::{OrgUnitId, ScheduleId, TemplateId, UserId};
use closeout_sync_protocol::inspection::wire::InspectionHeader;
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub fn check_header(conn: &mut DbConnection, h: &InspectionHeader) -> Result<(), AppError> {
    validate_text("header.site", &h.site, 0, 200)?;
    if let Some(l) = &h.location {
        validate_position(l.lat, l.lon, l.accuracy_m)?;
        if let Some(a) = &l.address {
            validate_text("header.location.address", a, 0, 300)?;
        }
    }
    if h.team.len() > 20 {
        return Err(AppError::invalid_field(
            "header.team",
            "at most 20 people",
            "最多 20 人",
        ));
    }
    for member in &h.team {
        let id = UserId::from(parse_uuid("header.team", member)?);
        if users::find(conn, &id)?.is_none_or(|u| !u.active) {
            return Err(AppError::invalid_field(
                "header.team",
                format!("no active user {member}"),
                format!("用户 {member} 不存在或已停用"),
            ));
        }
    }
    if let Some(unit) = &h.responsible_unit_id {
        let id = OrgUnitId::from(parse_uuid("header.responsible_unit_id", unit)?);
        if org_units::find(conn, &id)?.is_none() {
            return Err(AppError::invalid_field(
                "header.responsible_unit_id",
                "no such unit",
                "责任单位不存在",
            ));
        }
    }
    if let Some(user) = &h.responsible_user_id {
        let id = UserId::from(parse_uuid("header.responsible_user_id", user)?);
        if users::find(conn, &id)?.is_none_or(|u| !u.active) {
            return Err(AppError::invalid_field(
                "header.responsible_user_id",
                "no such active user",
                "责任人不存在或已停用",
            ));
        }
    }
    if let Some(schedule) = &h.schedule_id {
        let id = ScheduleId::from(parse_uuid("header.schedule_id", schedule)?);
        // Compared as UUIDs: a phone may spell them in upper case.
        let place = OrgUnitId::from(parse_uuid("header.place_id", &h.place_id)?);
        let template = TemplateId::from(parse_uuid("header.template_id", &h.template_id)?);
        let fits = schedules::find(conn, &id)?
            .is_some_and(|s| s.place_id == place && s.template_id == template);
        if !fits {
            return Err(AppError::invalid_field(
                "header.schedule_id",
                "no schedule of this template at this place",
                "该地点没有此模板的督查计划",
            ));
        }
    }
    Ok(())
}

/// The header fields that merge like an issue's fields (first to arrive stands; an empty field
/// is filled in; a different value is a conflict). `team` is merged as a union instead, and
/// `started_at` takes the earliest.
pub fn header_map(
    site: &str,
    location: Option<Value>,
    mode: &str,
    unit: Option<&str>,
    user: Option<&str>,
    schedule: Option<&str>,
    summary: Option<&str>,
) -> BTreeMap<String, Value> {
    let text = |s: Option<&str>| s.map(str::trim).filter(|s| !s.is_empty()).map(|s| json!(s));
    [
        ("site", text(Some(site))),
        ("location", location),
        ("mode", Some(json!(mode))),
        ("responsible_unit_id", text(unit)),
        ("responsible_user_id", text(user)),
        ("schedule_id", text(schedule)),
        ("summary", text(summary)),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
    .collect()
}

pub fn row_location(row: &InspectionRow) -> Option<Value> {
    match (row.lat, row.lon) {
        (Some(lat), Some(lon)) => Some(
            json!({"lat": lat, "lon": lon, "accuracy_m": row.accuracy_m, "address": row.address}),
        ),
        _ => None,
    }
}

pub fn set_header_field(
    row: &mut InspectionRow,
    field: &str,
    value: &Value,
) -> Result<(), AppError> {
    let text = || value.as_str().map(str::to_owned);
    match field {
        "site" => row.site = text().unwrap_or_default(),
        "location" => {
            let l: closeout_sync_protocol::sync::Location =
                serde_json::from_value(value.clone()).map_err(AppError::internal)?;
            (row.lat, row.lon, row.accuracy_m, row.address) =
                (Some(l.lat), Some(l.lon), l.accuracy_m, l.address);
        }
        "mode" => row.mode = text().unwrap_or_default(),
        "responsible_unit_id" => row.responsible_unit_id = text().map(|s| unit_id(&s)),
        "responsible_user_id" => row.responsible_user_id = text().map(|s| user_id(&s)),
        "schedule_id" => row.schedule_id = text(),
        "summary" => row.summary = text(),
        _ => {}
    }
    Ok(())
}

// Ids here were checked by `check_header` before they are stored.
pub fn unit_id(s: &str) -> OrgUnitId {
    OrgUnitId::from(uuid::Uuid::parse_str(s.trim()).unwrap_or(uuid::Uuid::nil()))
}

pub fn user_id(s: &str) -> UserId {
    UserId::from(uuid::Uuid::parse_str(s.trim()).unwrap_or(uuid::Uuid::nil()))
}

/// A UUID in the one spelling stored (lower case, hyphenated), so comparisons are identity.
pub fn canonical(s: &str) -> String {
    uuid::Uuid::parse_str(s.trim())
        .map_or_else(|_| s.trim().to_owned(), |u| u.hyphenated().to_string())
}
