//! Names as people read them in reports — places (建北街道 甲社区), units, people, categories —
//! looked up once each and cached for the length of one report.

use crate::db::{DbConnection, categories, org_units, users};
use crate::domain::places::OrgLevel;
use crate::error::AppError;
use crate::ids::{OrgUnitId, UserId};
use std::collections::HashMap;

#[derive(Default)]
pub struct Names {
    units: HashMap<String, Option<(String, OrgLevel, String)>>,
    labels: HashMap<String, String>,
    people: HashMap<String, String>,
    categories: HashMap<String, String>,
}

impl Names {
    pub fn new(conn: &mut DbConnection) -> Result<Self, AppError> {
        let categories = categories::list(conn)?
            .into_iter()
            .map(|c| (c.code, c.name_zh))
            .collect();
        Ok(Self {
            categories,
            ..Self::default()
        })
    }

    /// (name, level, path) of a place, or None if it does not exist.
    fn unit(
        &mut self,
        conn: &mut DbConnection,
        id: &str,
    ) -> Result<Option<(String, OrgLevel, String)>, AppError> {
        if let Some(hit) = self.units.get(id) {
            return Ok(hit.clone());
        }
        let found = match uuid::Uuid::parse_str(id) {
            Ok(uuid) => match org_units::find(conn, &OrgUnitId::from(uuid))? {
                Some(row) => Some((row.name, row.level.parse()?, row.path)),
                None => None,
            },
            Err(_) => None,
        };
        self.units.insert(id.to_owned(), found.clone());
        Ok(found)
    }

    /// The place's own name.
    pub fn unit_name(
        &mut self,
        conn: &mut DbConnection,
        id: &OrgUnitId,
    ) -> Result<String, AppError> {
        Ok(self
            .unit(conn, id.as_str())?
            .map(|(name, _, _)| name)
            .unwrap_or_default())
    }

    /// The place as a chain of names below the county, as offices write it: `建北街道 甲社区`
    /// (a county or higher place is named by itself).
    pub fn place_label(
        &mut self,
        conn: &mut DbConnection,
        id: &OrgUnitId,
    ) -> Result<String, AppError> {
        if let Some(hit) = self.labels.get(id.as_str()) {
            return Ok(hit.clone());
        }
        let Some((own, _, path)) = self.unit(conn, id.as_str())? else {
            return Ok(String::new());
        };
        let mut names = Vec::new();
        for part in path.trim_matches('/').split('/') {
            if let Some((name, level, _)) = self.unit(conn, part)?
                && level > OrgLevel::County
            {
                names.push(name);
            }
        }
        let label = if names.is_empty() {
            own
        } else {
            names.join(" ")
        };
        self.labels.insert(id.as_str().to_owned(), label.clone());
        Ok(label)
    }

    pub fn person(&mut self, conn: &mut DbConnection, id: &UserId) -> Result<String, AppError> {
        if let Some(hit) = self.people.get(id.as_str()) {
            return Ok(hit.clone());
        }
        let name = users::find(conn, id)?
            .map(|u| u.display_name)
            .unwrap_or_default();
        self.people.insert(id.as_str().to_owned(), name.clone());
        Ok(name)
    }

    /// The category's Chinese name (the code itself if unknown).
    pub fn category(&self, code: &str) -> String {
        self.categories
            .get(code)
            .cloned()
            .unwrap_or_else(|| code.to_owned())
    }

    /// Category codes in the taxonomy's order.
    pub fn category_codes(conn: &mut DbConnection) -> Result<Vec<(String, String)>, AppError> {
        Ok(categories::list(conn)?
            .into_iter()
            .map(|c| (c.code, c.name_zh))
            .collect())
    }
}
