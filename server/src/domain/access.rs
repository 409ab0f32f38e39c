//! Authorization: role + place subtree, checked on every read and write.
//!
//! A place is visible to a caller who holds *any* role on a subtree containing it. Asking for
//! something invisible answers 404, exactly as if it did not exist (no probing of other villages);
//! asking to do something on a visible place without the role for it answers 403.

use crate::error::{AppError, ErrorCode};
use crate::ids::{OrgUnitId, UserId};
use closeout_sync_protocol::Role;

/// One role held on one subtree, with the subtree's path (`/` for the whole system).
#[derive(Debug, Clone)]
pub struct Grant {
    pub role: Role,
    pub org_unit_id: Option<OrgUnitId>,
    pub subtree_path: String,
}

/// The authenticated person behind a request, with every role they hold.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: UserId,
    pub username: String,
    pub device_id: String,
    pub grants: Vec<Grant>,
}

/// What authorization needs to know about a place: its materialized path.
#[derive(Debug, Clone, Copy)]
pub struct Place<'a> {
    pub path: &'a str,
}

/// The path of the whole system: every place path starts with it.
pub const SYSTEM_PATH: &str = "/";

impl Caller {
    /// Holds `role` on a subtree that contains `place`.
    pub fn has_role_at(&self, role: Role, place: Place<'_>) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && place.path.starts_with(&g.subtree_path))
    }

    /// Holds `role` on the whole system.
    pub fn has_system_role(&self, role: Role) -> bool {
        self.grants
            .iter()
            .any(|g| g.role == role && g.subtree_path == SYSTEM_PATH)
    }

    /// Holds any role on a subtree that contains `place`.
    pub fn can_see(&self, place: Place<'_>) -> bool {
        self.grants
            .iter()
            .any(|g| place.path.starts_with(&g.subtree_path))
    }

    /// The subtrees the caller sees, minimal (none inside another), for scoping list queries.
    pub fn visible_subtrees(&self) -> Vec<String> {
        minimal_prefixes(self.grants.iter().map(|g| g.subtree_path.as_str()))
    }

    /// The subtrees on which the caller holds `role`, minimal.
    pub fn subtrees_with(&self, role: Role) -> Vec<String> {
        minimal_prefixes(
            self.grants
                .iter()
                .filter(|g| g.role == role)
                .map(|g| g.subtree_path.as_str()),
        )
    }
}

/// Allows the caller to act as `role` on `place`: Ok, 403 `forbidden` if the place is visible but
/// the role is missing, 404 `not_found` if the place is not visible at all.
pub fn require(caller: &Caller, role: Role, place: Place<'_>, what: &str) -> Result<(), AppError> {
    if caller.has_role_at(role, place) {
        Ok(())
    } else if caller.can_see(place) {
        Err(forbidden(role))
    } else {
        Err(AppError::not_found(what))
    }
}

/// Allows the caller to read something at `place`, or answers 404 as if it did not exist.
pub fn require_visible(caller: &Caller, place: Place<'_>, what: &str) -> Result<(), AppError> {
    if caller.can_see(place) {
        Ok(())
    } else {
        Err(AppError::not_found(what))
    }
}

/// Allows only a holder of `role` on the whole system.
pub fn require_system(caller: &Caller, role: Role) -> Result<(), AppError> {
    if caller.has_system_role(role) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::Forbidden,
            format!("this needs the `{role}` role for the whole system"),
        )
        .zh(format!("此操作需要全系统范围的“{}”角色", role.name_zh())))
    }
}

/// Allows the caller to act as `role` on every one of `places` (None: the whole system).
///
/// An empty list means the whole system, never "nothing to check": an act that names no place
/// (an account created without roles) belongs to no subtree, so only a system-wide holder may do it.
pub fn require_on_all(
    caller: &Caller,
    role: Role,
    places: &[Option<Place<'_>>],
    what: &str,
) -> Result<(), AppError> {
    if places.is_empty() {
        return require_system(caller, role);
    }
    for place in places {
        match place {
            Some(place) => require(caller, role, *place, what)?,
            None => require_system(caller, role)?,
        }
    }
    Ok(())
}

/// Allows a holder of `role` on at least one subtree (the query is then scoped to those subtrees).
pub fn require_any(caller: &Caller, role: Role) -> Result<Vec<String>, AppError> {
    let subtrees = caller.subtrees_with(role);
    if subtrees.is_empty() {
        Err(forbidden(role))
    } else {
        Ok(subtrees)
    }
}

fn forbidden(role: Role) -> AppError {
    AppError::new(
        ErrorCode::Forbidden,
        format!("this needs the `{role}` role for this place"),
    )
    .zh(format!("此操作需要本区域的“{}”角色", role.name_zh()))
}

fn minimal_prefixes<'a>(paths: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut paths: Vec<&str> = paths.collect();
    paths.sort_unstable();
    paths.dedup();
    let mut out: Vec<String> = Vec::new();
    for p in paths {
        // Sorted, so an enclosing prefix always comes before the paths inside it.
        if !out.iter().any(|kept| p.starts_with(kept.as_str())) {
            out.push(p.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller(grants: &[(Role, &str)]) -> Caller {
        Caller {
            user_id: UserId::generate(),
            username: "t".into(),
            device_id: "d".into(),
            grants: grants
                .iter()
                .map(|(role, path)| Grant {
                    role: *role,
                    org_unit_id: None,
                    subtree_path: (*path).to_owned(),
                })
                .collect(),
        }
    }

    const TOWN: &str = "/p/c/t/";
    const VILLAGE_A: &str = "/p/c/t/a/";
    const GRID_A1: &str = "/p/c/t/a/g1/";
    const VILLAGE_B: &str = "/p/c/t/b/";

    #[test]
    fn a_grid_worker_of_village_a_sees_a_and_its_grids_but_not_b() {
        let c = caller(&[(Role::GridWorker, VILLAGE_A)]);
        assert!(c.can_see(Place { path: GRID_A1 }));
        assert!(!c.can_see(Place { path: VILLAGE_B }));
        assert!(
            !c.can_see(Place { path: TOWN }),
            "a subtree does not include its parent"
        );
        let b = require(&c, Role::GridWorker, Place { path: VILLAGE_B }, "issue").unwrap_err();
        assert_eq!(b.code, ErrorCode::NotFound);
        let a = require(&c, Role::Supervisor, Place { path: VILLAGE_A }, "issue").unwrap_err();
        assert_eq!(a.code, ErrorCode::Forbidden);
    }

    #[test]
    fn a_path_prefix_is_a_subtree_not_a_string_prefix() {
        // "/p/c/t/a/" must not cover a sibling "/p/c/t/ab/": paths end with '/'.
        let c = caller(&[(Role::Admin, VILLAGE_A)]);
        assert!(!c.can_see(Place { path: "/p/c/t/ab/" }));
    }

    #[test]
    fn roles_are_per_subtree() {
        let c = caller(&[(Role::Supervisor, TOWN), (Role::GridWorker, VILLAGE_A)]);
        assert!(c.has_role_at(Role::Supervisor, Place { path: VILLAGE_B }));
        assert!(!c.has_role_at(Role::GridWorker, Place { path: VILLAGE_B }));
        assert_eq!(c.visible_subtrees(), vec![TOWN.to_owned()]);
        assert!(require_system(&c, Role::Admin).is_err());
        let sys = caller(&[(Role::Admin, SYSTEM_PATH)]);
        assert!(require_system(&sys, Role::Admin).is_ok());
        assert!(sys.can_see(Place { path: VILLAGE_B }));
    }

    #[test]
    fn a_check_over_no_places_is_a_check_over_the_whole_system() {
        let village_admin = caller(&[(Role::Admin, VILLAGE_A)]);
        let nobody = caller(&[]);
        for c in [&village_admin, &nobody] {
            let e = require_on_all(c, Role::Admin, &[], "user").unwrap_err();
            assert_eq!(e.code, ErrorCode::Forbidden);
        }
        let a = [Some(Place { path: GRID_A1 })];
        assert!(require_on_all(&village_admin, Role::Admin, &a, "user").is_ok());
        let ab = [
            Some(Place { path: GRID_A1 }),
            Some(Place { path: VILLAGE_B }),
        ];
        assert!(require_on_all(&village_admin, Role::Admin, &ab, "user").is_err());
        let sys = caller(&[(Role::Admin, SYSTEM_PATH)]);
        assert!(require_on_all(&sys, Role::Admin, &[], "user").is_ok());
        assert!(require_on_all(&sys, Role::Admin, &[None], "user").is_ok());
    }
}
