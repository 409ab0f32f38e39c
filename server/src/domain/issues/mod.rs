//! The rectification ledger (整改台账): reporting issues, moving them through their lifecycle
//! (the rules themselves are `closeout_sync_protocol::lifecycle`), reading them, escalating
//! overdue ones, and importing handed-down lists.

pub mod actions;
pub mod edit;
pub mod escalation;
pub mod import;
pub mod import_plan;
pub mod import_record;
pub mod instructions;
pub mod notice;
pub mod queries;
pub mod report;
pub mod sort;
pub mod transitions;
pub mod view;

use super::access::{Caller, Place};
use crate::db::models::IssueRow;
use crate::zone::OfficeZone;
use chrono::{NaiveDate, NaiveDateTime, Utc};
use closeout_sync_protocol::{LightPolicy, Role};

/// "Now" for the ledger: the server's UTC time, and the office's calendar day (deadlines are days
/// in the office's time zone, not UTC).
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: NaiveDateTime,
    pub today: NaiveDate,
    /// The office's time zone, to put other moments on its calendar.
    pub zone: OfficeZone,
    /// The office's 亮灯 thresholds (settings `lights`): the light is a function of the day.
    pub lights: LightPolicy,
}

impl Clock {
    pub fn at(now: NaiveDateTime, zone: impl Into<OfficeZone>) -> Self {
        let zone = zone.into();
        Self {
            now,
            today: zone.day_of(now),
            zone,
            lights: LightPolicy::default(),
        }
    }

    /// The same moment with the office's light thresholds.
    pub fn with_lights(self, lights: LightPolicy) -> Self {
        Self { lights, ..self }
    }

    /// The office's calendar day of a moment (UTC).
    pub fn day_of(&self, t: NaiveDateTime) -> NaiveDate {
        self.zone.day_of(t)
    }

    pub fn system(zone: impl Into<OfficeZone>) -> Self {
        Self::at(Utc::now().naive_utc(), zone)
    }
}

/// The roles the caller holds *for this issue*: field and office roles by the issue's place;
/// `responsible` only through the unit the issue is assigned to.
pub fn roles_for(caller: &Caller, issue: &IssueRow) -> Vec<Role> {
    let mut roles = Vec::new();
    for grant in &caller.grants {
        let covers = |path: &str| path.starts_with(&grant.subtree_path);
        let holds = match grant.role {
            Role::Responsible => issue.responsible_unit_path.as_deref().is_some_and(covers),
            _ => covers(&issue.place_path),
        };
        if holds && !roles.contains(&grant.role) {
            roles.push(grant.role);
        }
    }
    roles
}

/// Whether the caller may see the issue at all (by its place, or as its responsible unit).
pub fn can_see(caller: &Caller, issue: &IssueRow) -> bool {
    caller.can_see(Place {
        path: &issue.place_path,
    }) || !roles_for(caller, issue).is_empty()
}
