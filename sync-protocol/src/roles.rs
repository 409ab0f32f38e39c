//! The roles a person can hold, each on a subtree of the place tree (DOMAIN.md, "People and places").

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a person does on a subtree of places. One person can hold several roles on several subtrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 网格员 — daily patrols in a grid; first to find, first to report.
    GridWorker,
    /// 督查组成员 — scheduled, special and unannounced inspections; on-site re-checks.
    Inspector,
    /// 责任单位/责任人 — receives assigned issues, rectifies, reports progress.
    Responsible,
    /// 督查办 — assigns, approves extensions, verifies and closes out. Only this role closes.
    Supervisor,
    /// The place tree, users and checklist templates.
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::GridWorker,
        Role::Inspector,
        Role::Responsible,
        Role::Supervisor,
        Role::Admin,
    ];

    /// The stable wire name (`grid_worker`, `inspector`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::GridWorker => "grid_worker",
            Role::Inspector => "inspector",
            Role::Responsible => "responsible",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }

    /// The name offices use (网格员, 督查组成员, …).
    pub fn name_zh(self) -> &'static str {
        match self {
            Role::GridWorker => "网格员",
            Role::Inspector => "督查组成员",
            Role::Responsible => "责任人",
            Role::Supervisor => "督查办",
            Role::Admin => "管理员",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of the five role names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRole(pub String);

impl fmt::Display for UnknownRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown role `{}` (expected one of grid_worker, inspector, responsible, supervisor, admin)",
            self.0
        )
    }
}

impl std::error::Error for UnknownRole {}

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRole(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip_through_serde_and_from_str() {
        for role in Role::ALL {
            let json = serde_json::to_string(&role).unwrap();
            assert_eq!(json, format!("\"{}\"", role.as_str()));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), role);
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
    }

    #[test]
    fn unknown_role_is_refused() {
        assert!("root".parse::<Role>().is_err());
        assert!(serde_json::from_str::<Role>("\"GridWorker\"").is_err());
    }
}
