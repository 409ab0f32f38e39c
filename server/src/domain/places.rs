//! The place tree (province → city → county → township → village → grid/building): levels,
//! division codes, creating and listing places within what the caller may see.

use super::access::{self, Caller, Place, SYSTEM_PATH};
use crate::db::models::OrgUnitRow;
use crate::db::{DbConnection, org_units, write_transaction};
use crate::error::{AppError, ErrorCode};
use crate::ids::OrgUnitId;
use closeout_sync_protocol::Role;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OrgLevel {
    Province,
    City,
    County,
    Township,
    Village,
    Grid,
    Building,
    /// A responsible unit (a bureau, a company) that rectifies issues; may sit under any place.
    Department,
}

impl OrgLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Province => "province",
            Self::City => "city",
            Self::County => "county",
            Self::Township => "township",
            Self::Village => "village",
            Self::Grid => "grid",
            Self::Building => "building",
            Self::Department => "department",
        }
    }

    /// A child must sit strictly below its parent; levels may be skipped (a county directly under
    /// a municipality, a building directly under a village).
    pub fn can_hold(self, child: OrgLevel) -> bool {
        child > self
    }

    /// The level a 12-digit division code denotes (2+2+2+3+3 digits), if it is one.
    pub fn of_division_code(code: &str) -> Option<OrgLevel> {
        if code.len() != 12 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let zeros_from = |i: usize| code[i..].bytes().all(|b| b == b'0');
        Some(if zeros_from(2) {
            Self::Province
        } else if zeros_from(4) {
            Self::City
        } else if zeros_from(6) {
            Self::County
        } else if zeros_from(9) {
            Self::Township
        } else {
            Self::Village
        })
    }
}

impl FromStr for OrgLevel {
    type Err = AppError;

    /// English names, and the Chinese words offices write in spreadsheets.
    fn from_str(s: &str) -> Result<Self, AppError> {
        Ok(match s.trim() {
            "province" | "省" => Self::Province,
            "city" | "市" | "地市" => Self::City,
            "county" | "县" | "区" | "县区" | "县/区" => Self::County,
            "township" | "乡" | "镇" | "乡镇" | "街道" | "乡/镇/街道" => Self::Township,
            "village" | "村" | "社区" | "村/社区" => Self::Village,
            "grid" | "网格" => Self::Grid,
            "building" | "楼栋" => Self::Building,
            "department" | "部门" | "单位" | "责任单位" => Self::Department,
            other => {
                return Err(AppError::invalid_field(
                    "level",
                    format!(
                        "unknown level `{other}` (province, city, county, township, village, grid, building, department)"
                    ),
                    format!(
                        "未知层级“{other}”（省、市、县/区、乡镇/街道、村/社区、网格、楼栋、部门）"
                    ),
                ));
            }
        })
    }
}

/// The division codes of the ancestors a 12-digit code implies, nearest first
/// (`130102001001` → township `130102001000`, county `130102000000`, …).
pub fn ancestor_division_codes(code: &str) -> Vec<String> {
    let Some(level) = OrgLevel::of_division_code(code) else {
        return Vec::new();
    };
    let cuts: &[usize] = match level {
        OrgLevel::Village => &[9, 6, 4, 2],
        OrgLevel::Township => &[6, 4, 2],
        OrgLevel::County => &[4, 2],
        OrgLevel::City => &[2],
        _ => &[],
    };
    cuts.iter()
        .map(|&n| format!("{:0<12}", &code[..n]))
        .collect()
}

/// A place code: a 12-digit division code, or for grids and buildings any short code of
/// letters, digits and `-`/`_`.
pub fn validate_code(code: &str) -> Result<(), AppError> {
    let ok = !code.is_empty()
        && code.len() <= 32
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "code",
            format!("`{code}` is not a place code (1–32 letters, digits, - or _)"),
            format!("“{code}”不是有效的区划代码（1–32 位字母、数字、- 或 _）"),
        ))
    }
}

pub fn validate_name(name: &str) -> Result<(), AppError> {
    let n = name.trim().chars().count();
    if (1..=100).contains(&n) {
        Ok(())
    } else {
        Err(AppError::invalid_field(
            "name",
            "must be 1–100 characters",
            "须为 1–100 个字符",
        ))
    }
}

/// A place as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrgUnit {
    pub id: OrgUnitId,
    pub code: Option<String>,
    pub name: String,
    pub level: OrgLevel,
    pub parent_id: Option<OrgUnitId>,
    pub depth: i32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// Retired in a 区划调整: it and its subtree take no new issues.
    pub retired: bool,
    /// Merged into this place (which took over its issues, roles and schedules).
    pub merged_into: Option<OrgUnitId>,
}

impl TryFrom<OrgUnitRow> for OrgUnit {
    type Error = AppError;

    fn try_from(row: OrgUnitRow) -> Result<Self, AppError> {
        Ok(Self {
            level: row.level.parse().map_err(|_| {
                AppError::internal(anyhow::anyhow!(
                    "stored org unit {} has level {}",
                    row.id,
                    row.level
                ))
            })?,
            id: row.id,
            code: row.code,
            name: row.name,
            parent_id: row.parent_id,
            depth: row.depth,
            created_at: row.created_at.and_utc(),
            retired: false,
            merged_into: None,
        })
    }
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgUnit {
    pub code: Option<String>,
    pub name: String,
    pub level: OrgLevel,
    /// None: a root (only a system admin may create one).
    pub parent_id: Option<OrgUnitId>,
}

/// Builds the row for a new place under `parent` (already checked to exist).
pub fn new_row(input: &NewOrgUnit, parent: Option<&OrgUnitRow>) -> Result<OrgUnitRow, AppError> {
    validate_name(&input.name)?;
    if let Some(code) = &input.code {
        validate_code(code)?;
    }
    if let Some(parent) = parent {
        let parent_level: OrgLevel = parent.level.parse()?;
        if !parent_level.can_hold(input.level) {
            return Err(AppError::new(
                ErrorCode::InvalidOrgLevel,
                format!(
                    "a {} cannot be placed under a {}",
                    input.level.as_str(),
                    parent_level.as_str()
                ),
            ));
        }
    }
    let id = OrgUnitId::generate();
    let (path, depth) = match parent {
        Some(p) => (format!("{}{}/", p.path, id), p.depth + 1),
        None => (format!("{SYSTEM_PATH}{id}/"), 0),
    };
    Ok(OrgUnitRow {
        id,
        code: input.code.clone(),
        name: input.name.trim().to_owned(),
        level: input.level.as_str().to_owned(),
        parent_id: parent.map(|p| p.id.clone()),
        path,
        depth,
        created_at: super::now(),
    })
}

/// Creates a place. An admin of the parent's subtree may add under it; roots need a system admin.
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    input: NewOrgUnit,
) -> Result<OrgUnit, AppError> {
    write_transaction(conn, |conn| {
        let parent = match &input.parent_id {
            Some(id) => {
                let parent = org_units::find(conn, id)?
                    .ok_or_else(|| AppError::not_found("parent org unit"))?;
                access::require(
                    caller,
                    Role::Admin,
                    Place { path: &parent.path },
                    "parent org unit",
                )?;
                Some(parent)
            }
            None => {
                access::require_system(caller, Role::Admin)?;
                None
            }
        };
        if let Some(code) = &input.code
            && org_units::find_by_code(conn, code)?.is_some()
        {
            return Err(code_taken(code));
        }
        let row = new_row(&input, parent.as_ref())?;
        org_units::insert(conn, &row)?;
        OrgUnit::try_from(row)
    })
}

pub fn code_taken(code: &str) -> AppError {
    AppError::new(
        ErrorCode::OrgUnitCodeTaken,
        format!("place code {code} is already used"),
    )
    .zh(format!("区划代码 {code} 已被使用"))
}

/// One place, if the caller can see it (else 404).
pub fn get(conn: &mut DbConnection, caller: &Caller, id: &OrgUnitId) -> Result<OrgUnit, AppError> {
    let row = org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("org unit"))?;
    access::require_visible(caller, Place { path: &row.path }, "org unit")?;
    let mut one = annotate(conn, vec![OrgUnit::try_from(row)?])?;
    one.pop().ok_or_else(|| AppError::not_found("org unit"))
}

/// Fills in `retired` and `merged_into` from `place_changes` (one query).
pub fn annotate(
    conn: &mut DbConnection,
    mut units: Vec<OrgUnit>,
) -> Result<Vec<OrgUnit>, AppError> {
    let ids: Vec<OrgUnitId> = units.iter().map(|u| u.id.clone()).collect();
    let retired = crate::db::place_changes::retirements_among(conn, &ids)?;
    for unit in &mut units {
        if let Some(r) = retired.iter().find(|r| r.org_unit_id == unit.id) {
            unit.retired = true;
            unit.merged_into = serde_json::from_str::<serde_json::Value>(&r.data)
                .ok()
                .and_then(|d| {
                    d["merged_into"]
                        .as_str()
                        .and_then(|s| uuid::Uuid::parse_str(s).ok())
                })
                .map(OrgUnitId::from);
        }
    }
    Ok(units)
}

/// Places the caller can see (the subtrees of all their roles), optionally children of one parent.
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    parent: Option<&OrgUnitId>,
    after: Option<&OrgUnitId>,
    limit: i64,
) -> Result<Vec<OrgUnit>, AppError> {
    if let Some(parent) = parent {
        get(conn, caller, parent)?;
    }
    // The keyset: the place the previous page ended with, which the caller must see.
    let last = match after {
        Some(id) => Some(
            org_units::find(conn, id)?
                .filter(|row| caller.can_see(Place { path: &row.path }))
                .ok_or_else(|| {
                    AppError::new(
                        ErrorCode::InvalidQuery,
                        "after: not a place of this list (give the id of the last place of the previous page)",
                    )
                    .zh("after 参数须为上一页最后一个区划的 ID")
                })?,
        ),
        None => None,
    };
    let units = org_units::list_in_subtrees(
        conn,
        &caller.visible_subtrees(),
        parent,
        last.as_ref(),
        limit,
    )?
    .into_iter()
    .map(OrgUnit::try_from)
    .collect::<Result<Vec<_>, _>>()?;
    annotate(conn, units)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_codes_give_their_level() {
        assert_eq!(
            OrgLevel::of_division_code("130000000000"),
            Some(OrgLevel::Province)
        );
        assert_eq!(
            OrgLevel::of_division_code("130100000000"),
            Some(OrgLevel::City)
        );
        assert_eq!(
            OrgLevel::of_division_code("130102000000"),
            Some(OrgLevel::County)
        );
        assert_eq!(
            OrgLevel::of_division_code("130102001000"),
            Some(OrgLevel::Township)
        );
        assert_eq!(
            OrgLevel::of_division_code("130102001201"),
            Some(OrgLevel::Village)
        );
        assert_eq!(OrgLevel::of_division_code("1301020012"), None);
        assert_eq!(OrgLevel::of_division_code("13010200120x"), None);
    }

    #[test]
    fn ancestors_of_a_village_code() {
        assert_eq!(
            ancestor_division_codes("130102001201"),
            vec![
                "130102001000",
                "130102000000",
                "130100000000",
                "130000000000"
            ]
        );
        assert!(ancestor_division_codes("130000000000").is_empty());
    }

    #[test]
    fn levels_nest_downwards_only() {
        assert!(OrgLevel::Township.can_hold(OrgLevel::Village));
        assert!(OrgLevel::Village.can_hold(OrgLevel::Building));
        assert!(!OrgLevel::Village.can_hold(OrgLevel::Township));
        assert!(!OrgLevel::Village.can_hold(OrgLevel::Village));
        assert_eq!("街道".parse::<OrgLevel>().unwrap(), OrgLevel::Township);
        assert_eq!("社区".parse::<OrgLevel>().unwrap(), OrgLevel::Village);
        assert!("大队".parse::<OrgLevel>().is_err());
    }
}
