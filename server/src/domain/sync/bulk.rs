//! New issues of one push, written together. A phone back from a week in the villages pushes
//! hundreds of `create_issue` mutations; checking and writing each one alone costs a dozen
//! statements. Here the places, categories and ledger scopes they need are read once per batch,
//! each create is checked in memory, and the rows (issues, first events, feed entries, mutation
//! records) are written in multi-row statements when the batch ends or before any other mutation
//! runs — so everything after a create sees it, in the same order as one-by-one processing, with
//! the same ledger and feed numbers.
//!
//! Only fresh creates take this path. One whose issue id exists already (a replay from another
//! device, or a clash) goes the ordinary way, which knows how to answer it.

use super::push::{Context, RawMutation};
use crate::db::models::{IssueEventRow, IssueRow, OrgUnitRow, SyncMutationRow};
use crate::db::{DbConnection, categories, issues, ledger_numbers, org_units, sync};
use crate::domain::issues::report::{self, NewIssue, Origin};
use crate::domain::issues::view::Location;
use crate::error::AppError;
use crate::ids::{IssueId, OrgUnitId};
use closeout_sync_protocol::sync::{MutationResult, NewIssueBody};
use std::collections::{HashMap, HashSet};

/// Creates waiting to be written, and what the batch has read once.
#[derive(Default)]
pub struct PendingCreates {
    places: HashMap<OrgUnitId, Option<OrgUnitRow>>,
    scopes: HashMap<OrgUnitId, OrgUnitId>,
    /// Place → retired (区划调整), itself or an ancestor; read once per place.
    retired: HashMap<OrgUnitId, bool>,
    /// Category code → active; read on first use.
    categories: Option<HashMap<String, bool>>,
    /// Issue ids that exist already (read for the whole batch at the start).
    existing: HashSet<IssueId>,
    issues: Vec<IssueRow>,
    events: Vec<IssueEventRow>,
    records: Vec<SyncMutationRow>,
    buffered: HashSet<IssueId>,
}

impl PendingCreates {
    /// Reads which of the batch's new issue ids exist already.
    pub fn for_batch(conn: &mut DbConnection, ids: &[IssueId]) -> Result<Self, AppError> {
        let mut existing = HashSet::new();
        for chunk in ids.chunks(crate::db::INSERT_CHUNK) {
            existing.extend(issues::existing(conn, chunk)?);
        }
        Ok(Self {
            existing,
            ..Self::default()
        })
    }

    /// Takes a fresh create: `Some(result)` when it was checked here (applied, to be written at
    /// the next flush, or rejected), `None` when the ordinary path must handle it.
    pub fn try_create(
        &mut self,
        conn: &mut DbConnection,
        cx: Context<'_>,
        m: &RawMutation,
        body: &NewIssueBody,
    ) -> Result<Option<Result<IssueId, AppError>>, AppError> {
        let Ok(uuid) = uuid::Uuid::parse_str(&body.issue_id) else {
            return Ok(None);
        };
        let id = IssueId::from(uuid);
        if self.existing.contains(&id) || self.buffered.contains(&id) {
            return Ok(None);
        }
        match self.check(conn, cx, m, body, &id)? {
            Ok(()) => {
                self.buffered.insert(id.clone());
                Ok(Some(Ok(id)))
            }
            Err(refusal) => Ok(Some(Err(refusal))),
        }
    }

    /// Checks a create as `report::report_within` does and, if it passes, queues its rows.
    /// Outer `Err`: the server failed; inner: the create is refused.
    fn check(
        &mut self,
        conn: &mut DbConnection,
        cx: Context<'_>,
        m: &RawMutation,
        body: &NewIssueBody,
        id: &IssueId,
    ) -> Result<Result<(), AppError>, AppError> {
        let place_id = match uuid::Uuid::parse_str(&body.place_id) {
            Ok(p) => OrgUnitId::from(p),
            Err(_) => {
                return Ok(Err(AppError::invalid_field(
                    "place_id",
                    "must be a UUID",
                    "须为 UUID",
                )));
            }
        };
        let input = NewIssue {
            id: uuid::Uuid::parse_str(id.as_str()).ok(),
            title: body.title.clone(),
            description: body.description.clone(),
            category: body.category.clone(),
            severity: body.severity,
            source: body.source,
            place_id: place_id.clone(),
            location: body.location.as_ref().map(|l| Location {
                lat: l.lat,
                lon: l.lon,
                accuracy_m: l.accuracy_m,
                address: l.address.clone(),
            }),
            device_time: Some(m.device_time),
            photos: body.photos.clone(),
        };
        if let Err(e) = report::validate(&input) {
            return Ok(Err(e));
        }
        let Some(place) = self.place(conn, &place_id)? else {
            return Ok(Err(AppError::not_found("place")));
        };
        let role = match report::reporter_role(cx.caller, &place) {
            Ok(role) => role,
            Err(e) => return Ok(Err(e)),
        };
        if self.retired(conn, &place)?
            && let Some(e) = crate::domain::place_changes::refusal(conn, &place)?
        {
            return Ok(Err(e));
        }
        let active = self
            .categories(conn)?
            .get(&input.category)
            .copied()
            .unwrap_or(false);
        if let Err(e) = report::require_category(active, &input.category) {
            return Ok(Err(e));
        }
        let scope = self.scope(conn, &place)?;
        let origin = Origin {
            reporter: Some(&cx.caller.user_id),
            role: report::role_name(role),
            action: "report",
            import: None,
        };
        // Numbered at the flush, when the batch's count per scope is known.
        let (row, event) =
            report::new_rows(id.clone(), &input, &place, scope, 0, &origin, cx.clock)?;
        self.issues.push(row);
        self.events.push(event);
        Ok(Ok(()))
    }

    /// Queues the mutation's record (written with the rows, at the flush).
    pub fn record(&mut self, row: SyncMutationRow) {
        self.records.push(row);
    }

    /// Writes what is queued: ledger numbers reserved per scope in queue order, then multi-row
    /// inserts of issues, events, feed entries and mutation records.
    pub fn flush(&mut self, conn: &mut DbConnection, cx: Context<'_>) -> Result<(), AppError> {
        if !self.issues.is_empty() {
            let mut counts: Vec<(OrgUnitId, i32)> = Vec::new();
            for row in &self.issues {
                match counts.iter_mut().find(|(s, _)| *s == row.ledger_scope_id) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((row.ledger_scope_id.clone(), 1)),
                }
            }
            let year = chrono::Datelike::year(&cx.clock.today);
            let mut next: HashMap<OrgUnitId, i32> = HashMap::new();
            for (scope, n) in counts {
                let last = ledger_numbers::reserve(conn, &scope, year, n)?;
                next.insert(scope, last - n + 1);
            }
            for (row, event) in self.issues.iter_mut().zip(self.events.iter_mut()) {
                let number = next.get_mut(&row.ledger_scope_id).ok_or_else(|| {
                    AppError::internal(anyhow::anyhow!("no numbers reserved for a scope"))
                })?;
                report::renumber(row, event, *number, cx.clock);
                *number += 1;
            }
            issues::insert_many(conn, &self.issues, &self.events)?;
            self.existing.extend(self.buffered.drain());
            self.issues.clear();
            self.events.clear();
        }
        if !self.records.is_empty() {
            sync::insert_mutations(conn, &self.records)?;
            self.records.clear();
        }
        Ok(())
    }

    fn place(
        &mut self,
        conn: &mut DbConnection,
        id: &OrgUnitId,
    ) -> Result<Option<OrgUnitRow>, AppError> {
        if let Some(found) = self.places.get(id) {
            return Ok(found.clone());
        }
        let found = org_units::find(conn, id)?;
        self.places.insert(id.clone(), found.clone());
        Ok(found)
    }

    /// Whether a place is retired (the refusal itself is read again when it is: rare).
    fn retired(&mut self, conn: &mut DbConnection, place: &OrgUnitRow) -> Result<bool, AppError> {
        if let Some(retired) = self.retired.get(&place.id) {
            return Ok(*retired);
        }
        let retired = crate::domain::place_changes::refusal(conn, place)?.is_some();
        self.retired.insert(place.id.clone(), retired);
        Ok(retired)
    }

    fn scope(
        &mut self,
        conn: &mut DbConnection,
        place: &OrgUnitRow,
    ) -> Result<OrgUnitId, AppError> {
        if let Some(scope) = self.scopes.get(&place.id) {
            return Ok(scope.clone());
        }
        let scope = report::ledger_scope(conn, place)?;
        self.scopes.insert(place.id.clone(), scope.clone());
        Ok(scope)
    }

    fn categories(&mut self, conn: &mut DbConnection) -> Result<&HashMap<String, bool>, AppError> {
        if self.categories.is_none() {
            let all = categories::list(conn)?
                .into_iter()
                .map(|c| (c.code, c.active))
                .collect();
            self.categories = Some(all);
        }
        Ok(self.categories.get_or_insert_with(HashMap::new))
    }
}

/// The result of a create taken here.
pub fn applied(m: &RawMutation) -> MutationResult {
    MutationResult {
        version: Some(1),
        ..super::apply::result(m, closeout_sync_protocol::sync::MutationStatus::Applied)
    }
}
