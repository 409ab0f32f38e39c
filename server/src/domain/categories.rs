//! The issue taxonomy: seeded with DOMAIN.md's categories, extended by system admins.

use super::access::{self, Caller};
use crate::db::models::CategoryRow;
use crate::db::{DbConnection, categories, write_transaction};
use crate::error::{AppError, ErrorCode};
use closeout_sync_protocol::Role;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub parent_code: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategory {
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub parent_code: Option<String>,
}

fn view(row: CategoryRow) -> Category {
    Category {
        code: row.code,
        name_zh: row.name_zh,
        name_en: row.name_en,
        parent_code: row.parent_code,
        active: row.active,
    }
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Category>, AppError> {
    Ok(categories::list(conn)?.into_iter().map(view).collect())
}

pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    input: NewCategory,
) -> Result<Category, AppError> {
    access::require_system(caller, Role::Admin)?;
    let code_ok = (1..=40).contains(&input.code.len())
        && input
            .code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !code_ok {
        return Err(AppError::invalid_field(
            "code",
            "1–40 of a-z, 0-9, _",
            "须为 1–40 位小写字母、数字或下划线",
        ));
    }
    super::issues::report::validate_text("name_zh", &input.name_zh, 1, 60)?;
    super::issues::report::validate_text("name_en", &input.name_en, 1, 100)?;
    write_transaction(conn, |conn| {
        if categories::find(conn, &input.code)?.is_some() {
            return Err(AppError::new(
                ErrorCode::Conflict,
                format!("category {} exists", input.code),
            )
            .zh("类别代码已存在"));
        }
        if let Some(parent) = &input.parent_code
            && categories::find(conn, parent)?.is_none()
        {
            return Err(AppError::invalid_field(
                "parent_code",
                "no such category",
                "上级类别不存在",
            ));
        }
        let existing = categories::list(conn)?;
        let row = CategoryRow {
            code: input.code.clone(),
            name_zh: input.name_zh.trim().to_owned(),
            name_en: input.name_en.trim().to_owned(),
            parent_code: input.parent_code.clone(),
            sort_order: existing.iter().map(|c| c.sort_order).max().unwrap_or(0) + 10,
            active: true,
        };
        categories::insert(conn, &row)?;
        Ok(view(row))
    })
}
