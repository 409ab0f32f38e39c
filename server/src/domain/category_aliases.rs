//! Category aliases: how counties word categories in their 交办清单 (污水直排 → `ditch_sewage`),
//! used by the importer and its preview. Shipped defaults (no county) apply everywhere and are
//! edited by a system admin; a county's admins add and remove their county's aliases, which win
//! over a default with the same wording for rows at places in that county.
//!
//! `actor` None is the operator at the console (CLI), trusted.

use super::access::{self, Caller, Place};
use super::issues::report::validate_text;
use crate::db::category_aliases::{self, CategoryAliasRow};
use crate::db::{DbConnection, categories, org_units, write_transaction};
use crate::error::{AppError, ErrorCode};
use crate::ids::OrgUnitId;
use closeout_sync_protocol::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CategoryAlias {
    pub id: String,
    /// The wording as a county's lists write it.
    pub alias: String,
    /// The category code it means.
    pub category: String,
    /// The county whose lists use it; None: a shipped default, for every county.
    pub county_id: Option<OrgUnitId>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryAlias {
    pub alias: String,
    /// A category code (`GET /issue-categories`).
    pub category: String,
    /// A county-level place; omitted: a default for every county (system admin only).
    pub county_id: Option<OrgUnitId>,
}

fn view(row: CategoryAliasRow) -> CategoryAlias {
    CategoryAlias {
        id: row.id,
        alias: row.alias,
        category: row.category_code,
        county_id: row.county_id,
        created_at: row.created_at.and_utc(),
    }
}

/// Aliases in effect where the caller works: the defaults and those of every county the caller
/// sees or works inside. With `place`, those in effect at that place (it must be visible).
pub fn list(
    conn: &mut DbConnection,
    caller: &Caller,
    place: Option<&OrgUnitId>,
) -> Result<Vec<CategoryAlias>, AppError> {
    let at = match place {
        Some(id) => {
            let row = org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("org unit"))?;
            access::require_visible(caller, Place { path: &row.path }, "org unit")?;
            Some(row.path)
        }
        None => None,
    };
    let subtrees = caller.visible_subtrees();
    Ok(category_aliases::all(conn)?
        .into_iter()
        .filter(|(_, county)| match (county, &at) {
            (None, _) => true,
            (Some(c), Some(at)) => at.starts_with(c.as_str()),
            (Some(c), None) => subtrees
                .iter()
                .any(|s| s.starts_with(c.as_str()) || c.starts_with(s.as_str())),
        })
        .map(|(row, _)| view(row))
        .collect())
}

/// The county an alias belongs to, checked: a county-level place the actor administers (a system
/// admin for the defaults).
fn county_scope(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    county: Option<&OrgUnitId>,
) -> Result<(), AppError> {
    let row = match county {
        Some(id) => {
            Some(org_units::find(conn, id)?.ok_or_else(|| AppError::not_found("org unit"))?)
        }
        None => None,
    };
    if let Some(actor) = actor {
        match &row {
            Some(r) => access::require(actor, Role::Admin, Place { path: &r.path }, "org unit")?,
            None => access::require_system(actor, Role::Admin)?,
        }
    }
    if let Some(r) = row.filter(|r| r.level != "county") {
        return Err(AppError::invalid_field(
            "county_id",
            format!(
                "{} is a {}, not a county: aliases are kept per county",
                r.name, r.level
            ),
            format!("{}不是县（区）级区划：问题类别别名按县（区）设置", r.name),
        ));
    }
    Ok(())
}

/// Adds an alias (409 `category_alias_taken` if the county, or the defaults, word it already).
pub fn add(
    conn: &mut DbConnection,
    actor: Option<&Caller>,
    input: NewCategoryAlias,
) -> Result<CategoryAlias, AppError> {
    let alias = input.alias.trim().to_owned();
    validate_text("alias", &alias, 1, 40)?;
    write_transaction(conn, |conn| {
        county_scope(conn, actor, input.county_id.as_ref())?;
        if !categories::find(conn, &input.category)?.is_some_and(|c| c.active) {
            return Err(AppError::invalid_field(
                "category",
                format!("no active category `{}`", input.category),
                format!("问题类别“{}”不存在或已停用", input.category),
            ));
        }
        if let Some(taken) = category_aliases::find_wording(conn, input.county_id.as_ref(), &alias)?
        {
            return Err(AppError::new(
                ErrorCode::CategoryAliasTaken,
                format!("`{alias}` already means {} here", taken.category_code),
            )
            .zh(format!(
                "“{alias}”在此已对应问题类别 {}",
                taken.category_code
            ))
            .with_extra(serde_json::json!({"existing": taken.id})));
        }
        let row = CategoryAliasRow {
            id: uuid::Uuid::now_v7().to_string(),
            county_id: input.county_id.clone(),
            alias: alias.clone(),
            category_code: input.category.clone(),
            created_by: actor.map(|a| a.user_id.clone()),
            created_at: super::now(),
        };
        category_aliases::insert(conn, &row)?;
        Ok(view(row))
    })
}

/// Removes an alias (its county's admin; a system admin for a default).
pub fn remove(conn: &mut DbConnection, actor: Option<&Caller>, id: &str) -> Result<(), AppError> {
    write_transaction(conn, |conn| {
        let row = category_aliases::find(conn, id)?
            .ok_or_else(|| AppError::not_found("category alias"))?;
        if let (Some(actor), Some(county)) = (actor, &row.county_id) {
            // An alias of a county the actor cannot see answers 404, as if it did not exist.
            let place = org_units::find(conn, county)?
                .ok_or_else(|| AppError::not_found("category alias"))?;
            access::require_visible(actor, Place { path: &place.path }, "category alias")?;
        }
        county_scope(conn, actor, row.county_id.as_ref())?;
        category_aliases::delete(conn, id)?;
        Ok(())
    })
}

/// The alias with this wording in this county (None: the defaults), for the CLI.
pub fn find_wording(
    conn: &mut DbConnection,
    county: Option<&OrgUnitId>,
    alias: &str,
) -> Result<Option<CategoryAlias>, AppError> {
    Ok(category_aliases::find_wording(conn, county, alias)?.map(view))
}
