//! The checklist templates Closeout ships (DOMAIN.md: village environment, street appearance,
//! roads under the 路长 system, rivers and reservoirs, markets and small businesses, pest-vector
//! control, key-project progress, household clean-heating acceptance), in Chinese, editable.
//!
//! Seeded at start-up after the migrations, keyed by fixed ids with `ON CONFLICT DO NOTHING`:
//! several servers starting at once seed each template once, and a template an admin has edited
//! or archived is never touched again.

use super::templates::{NewTemplate, validate};
use crate::db::templates::{self as db, TemplateRow, TemplateVersionRow};
use crate::db::{DbConnection, write_transaction};
use crate::error::AppError;
use crate::ids::TemplateId;

pub const FILES: [(&str, &str); 8] = [
    (
        "village_environment",
        include_str!("defaults/village_environment.json"),
    ),
    (
        "street_appearance",
        include_str!("defaults/street_appearance.json"),
    ),
    ("road_chief", include_str!("defaults/road_chief.json")),
    (
        "river_reservoir",
        include_str!("defaults/river_reservoir.json"),
    ),
    (
        "market_business",
        include_str!("defaults/market_business.json"),
    ),
    ("pest_vector", include_str!("defaults/pest_vector.json")),
    ("key_project", include_str!("defaults/key_project.json")),
    ("clean_heating", include_str!("defaults/clean_heating.json")),
];

/// The shipped templates, parsed.
pub fn shipped() -> Result<Vec<NewTemplate>, AppError> {
    FILES
        .iter()
        .map(|(name, text)| {
            serde_json::from_str(text)
                .map_err(|e| AppError::internal(anyhow::anyhow!("defaults/{name}.json: {e}")))
        })
        .collect()
}

/// Seeds the shipped templates that are not there yet; returns how many were added.
pub fn seed(conn: &mut DbConnection, now: chrono::NaiveDateTime) -> Result<usize, AppError> {
    let templates = shipped()?;
    write_transaction(conn, |conn| {
        let mut added = 0;
        for t in &templates {
            validate(conn, &t.content)?;
            let id =
                t.id.map(TemplateId::from)
                    .ok_or_else(|| AppError::internal(anyhow::anyhow!("{} has no id", t.code)))?;
            let row = TemplateRow {
                id: id.clone(),
                code: t.code.clone(),
                current_version: 1,
                archived_at: None,
                created_at: now,
                updated_at: now,
            };
            let version = TemplateVersionRow {
                template_id: id,
                version: 1,
                name: t.content.name.clone(),
                content: serde_json::to_string(&t.content).map_err(AppError::internal)?,
                created_by: None,
                created_at: now,
            };
            if db::insert_if_absent(conn, &row, &version)? {
                added += 1;
            }
        }
        Ok(added)
    })
}
