//! 上报: a new issue on the ledger, with its ledger number and its first history event.
//! A phone may choose the id (UUIDv7) offline; sending the same report again returns the issue
//! already made instead of a second one.

use super::view::{self, IssueDetail, Location};
use super::{Clock, queries};
use crate::db::models::{IssueEventRow, IssueRow, OrgUnitRow};
use crate::db::{DbConnection, categories, issues, ledger_numbers, org_units, write_transaction};
use crate::domain::access::{self, Caller, Place};
use crate::error::{AppError, ErrorCode};
use crate::ids::{IssueId, OrgUnitId, UserId};
use chrono::{DateTime, Datelike, Utc};
use closeout_sync_protocol::lifecycle::REPORTERS;
use closeout_sync_protocol::{IssueSource, IssueState, Role, Severity};
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewIssue {
    /// Optional: a UUID the phone made (UUIDv7 recommended). Resending the same report is safe.
    pub id: Option<uuid::Uuid>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// A category code from `GET /api/v1/issue-categories`.
    pub category: String,
    #[serde(default = "default_severity")]
    pub severity: Severity,
    pub source: IssueSource,
    pub place_id: OrgUnitId,
    pub location: Option<Location>,
    /// The phone's clock when the problem was reported.
    pub device_time: Option<DateTime<Utc>>,
    /// SHA-256 (hex) of the before-photos.
    #[serde(default)]
    pub photos: Vec<String>,
}

fn default_severity() -> Severity {
    Severity::Minor
}

pub fn validate_text(field: &str, value: &str, min: usize, max: usize) -> Result<(), AppError> {
    let n = value.trim().chars().count();
    if (min..=max).contains(&n) {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            field,
            format!("must be {min}–{max} characters"),
            format!("须为 {min}–{max} 个字符"),
        ))
    }
}

pub fn validate_photos(photos: &[String]) -> Result<(), AppError> {
    for p in photos {
        if p.len() != 64
            || !p
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        {
            return Err(AppError::invalid_field(
                "photos",
                format!("`{p}` is not a lower-case hex SHA-256"),
                format!("“{p}”不是小写十六进制 SHA-256"),
            ));
        }
    }
    if photos.len() > 50 {
        return Err(AppError::invalid_field(
            "photos",
            "at most 50 per step",
            "每步最多 50 张",
        ));
    }
    Ok(())
}

pub fn validate_position(lat: f64, lon: f64, accuracy: Option<f64>) -> Result<(), AppError> {
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(AppError::invalid_field(
            "location",
            "latitude must be within ±90 and longitude within ±180",
            "纬度须在 ±90、经度须在 ±180 以内",
        ));
    }
    if accuracy.is_some_and(|a| !(0.0..=100_000.0).contains(&a)) {
        return Err(AppError::invalid_field(
            "location.accuracy_m",
            "must be 0–100000",
            "须为 0–100000",
        ));
    }
    Ok(())
}

/// The scope ledger numbers count within: the county above the place, else its root.
pub fn ledger_scope(conn: &mut DbConnection, place: &OrgUnitRow) -> Result<OrgUnitId, AppError> {
    let ids: Vec<OrgUnitId> = place
        .path
        .trim_matches('/')
        .split('/')
        .map(|id| uuid::Uuid::parse_str(id).map(OrgUnitId::from))
        .collect::<Result<_, _>>()
        .map_err(AppError::internal)?;
    if let Some(county) = org_units::county_among(conn, &ids)? {
        return Ok(county);
    }
    ids.first()
        .cloned()
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("place {} has an empty path", place.id)))
}

/// Everything a new issue row needs besides what the reporter sent.
pub struct Origin<'a> {
    pub reporter: Option<&'a UserId>,
    pub role: &'a str,
    /// `report`, or `import` for a handed-down list.
    pub action: &'a str,
    /// For imports: the batch, file and row the issue came from.
    pub import: Option<serde_json::Value>,
}

/// Writes a new issue (state `reported`) and its first event. Caller checks permissions.
pub fn insert_new(
    conn: &mut DbConnection,
    id: IssueId,
    input: &NewIssue,
    place: &OrgUnitRow,
    scope: OrgUnitId,
    origin: &Origin<'_>,
    clock: Clock,
) -> Result<IssueRow, AppError> {
    crate::domain::place_changes::require_open(conn, place)?;
    let year = clock.today.year();
    let number = ledger_numbers::next(conn, &scope, year)?;
    let (row, event) = new_rows(id, input, place, scope, number, origin, clock)?;
    issues::insert(conn, &row)?;
    issues::insert_event(conn, &event)?;
    Ok(row)
}

/// The row of a new issue numbered `number` in its ledger scope and year, and its first event.
pub fn new_rows(
    id: IssueId,
    input: &NewIssue,
    place: &OrgUnitRow,
    scope: OrgUnitId,
    number: i32,
    origin: &Origin<'_>,
    clock: Clock,
) -> Result<(IssueRow, IssueEventRow), AppError> {
    let year = clock.today.year();
    let loc = input.location.as_ref();
    let row = IssueRow {
        id: id.clone(),
        ledger_scope_id: scope,
        ledger_no: format!("{year}-{number:07}"),
        title: input.title.trim().to_owned(),
        description: input.description.trim().to_owned(),
        category: input.category.clone(),
        severity: input.severity.as_str().to_owned(),
        source: input.source.as_str().to_owned(),
        place_id: place.id.clone(),
        place_path: place.path.clone(),
        lat: loc.map(|l| l.lat),
        lon: loc.map(|l| l.lon),
        accuracy_m: loc.and_then(|l| l.accuracy_m),
        address: loc.and_then(|l| l.address.clone()),
        reporter_id: origin.reporter.cloned(),
        responsible_unit_id: None,
        responsible_unit_path: None,
        responsible_user_id: None,
        target: None,
        deadline: None,
        extension_deadline: None,
        extension_reason: None,
        escalation_level: 0,
        reopen_count: 0,
        state: IssueState::Reported.as_str().to_owned(),
        duplicate_of: None,
        version: 1,
        assigned_at: None,
        closed_at: None,
        created_at: clock.now.into(),
        updated_at: clock.now.into(),
        progress_on: None,
    };
    let event = IssueEventRow {
        device_time: input.device_time.map(|t| t.naive_utc().into()),
        lat: row.lat,
        lon: row.lon,
        accuracy_m: row.accuracy_m,
        photos: serde_json::to_string(&input.photos).map_err(AppError::internal)?,
        data: first_event_data(&row, origin.import.as_ref()),
        ..IssueEventRow::new(
            &id,
            1,
            origin.action,
            None,
            IssueState::Reported.as_str(),
            origin.reporter,
            origin.role,
            clock.now,
        )
    };
    Ok((row, event))
}

/// The ledger number of a new issue in the office's current year, once numbers are known.
pub fn renumber(row: &mut IssueRow, event: &mut IssueEventRow, number: i32, clock: Clock) {
    row.ledger_no = format!("{}-{number:07}", clock.today.year());
    event.data = first_event_data(row, None);
}

/// What the first history event of an issue records: its ledger number, the complete content as
/// first reported (`original`, which later edits never touch), and, for an import, where it came
/// from. See docs/ledger.md "History".
pub fn first_event_data(row: &IssueRow, import: Option<&serde_json::Value>) -> String {
    let location = match (row.lat, row.lon) {
        (Some(lat), Some(lon)) => serde_json::json!({
            "lat": lat, "lon": lon, "accuracy_m": row.accuracy_m, "address": row.address,
        }),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "ledger_no": row.ledger_no,
        "import": import,
        "original": {
            "title": row.title,
            "description": row.description,
            "category": row.category,
            "severity": row.severity,
            "source": row.source,
            "place_id": row.place_id,
            "location": location,
        },
    })
    .to_string()
}

pub fn validate(input: &NewIssue) -> Result<(), AppError> {
    validate_text("title", &input.title, 1, 200)?;
    validate_text("description", &input.description, 0, 5000)?;
    validate_photos(&input.photos)?;
    if let Some(l) = &input.location {
        validate_position(l.lat, l.lon, l.accuracy_m)?;
        if let Some(address) = &l.address {
            validate_text("location.address", address, 0, 300)?;
        }
    }
    Ok(())
}

/// Reports an issue as `caller`. Returns the issue and whether it was created now (false: the
/// same report was received before and this is a replay).
pub fn report(
    conn: &mut DbConnection,
    caller: &Caller,
    input: NewIssue,
    clock: Clock,
) -> Result<(IssueDetail, bool), AppError> {
    validate(&input)?;
    let id = input.id.map_or_else(IssueId::generate, IssueId::from);
    let created = write_transaction(conn, |conn| report_within(conn, caller, &id, &input, clock))?;
    let detail = queries::detail(conn, caller, &id, clock)?;
    Ok((detail, created))
}

/// The body of [`report`] inside the caller's transaction (sync pushes report this way). Returns
/// false when the same report was received before.
pub fn report_within(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &IssueId,
    input: &NewIssue,
    clock: Clock,
) -> Result<bool, AppError> {
    validate(input)?;
    let place =
        org_units::find(conn, &input.place_id)?.ok_or_else(|| AppError::not_found("place"))?;
    let role = reporter_role(caller, &place)?;
    if let Some(existing) = issues::find(conn, id)? {
        return if is_replay(&existing, input, &caller.user_id) {
            Ok(false)
        } else {
            Err(AppError::new(
                ErrorCode::IssueIdTaken,
                format!("issue {id} already exists with other content"),
            ))
        };
    }
    let active = categories::find(conn, &input.category)?.is_some_and(|c| c.active);
    require_category(active, &input.category)?;
    let origin = Origin {
        reporter: Some(&caller.user_id),
        role: role_name(role),
        action: "report",
        import: None,
    };
    let scope = ledger_scope(conn, &place)?;
    insert_new(conn, id.clone(), input, &place, scope, &origin, clock)?;
    Ok(true)
}

/// The role `caller` reports in at `place` (404 if the place is invisible, 403 without one).
pub fn reporter_role(caller: &Caller, place: &OrgUnitRow) -> Result<Role, AppError> {
    let role = REPORTERS
        .iter()
        .copied()
        .find(|r| caller.has_role_at(*r, Place { path: &place.path }));
    match role {
        Some(role) => Ok(role),
        None => {
            access::require_visible(caller, Place { path: &place.path }, "place")?;
            Err(AppError::new(
                ErrorCode::Forbidden,
                "reporting needs the grid_worker, inspector or supervisor role for this place",
            )
            .zh("上报问题需要本区域的网格员、督查组成员或督查办角色"))
        }
    }
}

/// A new issue's category must exist and be active.
pub fn require_category(active: bool, code: &str) -> Result<(), AppError> {
    if active {
        return Ok(());
    }
    Err(AppError::invalid_field(
        "category",
        format!("unknown category `{code}` (see GET /api/v1/issue-categories)"),
        format!("未知类别“{code}”"),
    ))
}

pub fn role_name(role: Role) -> &'static str {
    role.as_str()
}

fn is_replay(existing: &IssueRow, input: &NewIssue, reporter: &UserId) -> bool {
    existing.reporter_id.as_ref() == Some(reporter)
        && existing.title == input.title.trim()
        && existing.place_id == input.place_id
        && existing.category == input.category
}

pub use view::Issue;
