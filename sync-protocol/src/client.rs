//! The reference client engine: what a phone app keeps and does, without any I/O. An outbox of
//! numbered mutations, the server state as last pulled, and the local view (server state with the
//! pending mutations replayed on top). Phone teams port this; the device simulator runs it.
//!
//! The app's loop: `enqueue` changes as the person works; when online, `next_batch` → POST
//! `/sync/push` → `on_push`; GET `/sync/pull?cursor=` → `on_pull` until `has_more` is false. Persist
//! the whole engine (serde) after every step: the sequence counter and outbox must survive restarts.
//! On a weak link, size batches with `next_adaptive_batch` and report each attempt with `on_push`
//! or `on_push_failed` (`batching`: halve after a failure, grow after successes).

use crate::inspection::wire::InspectionSnapshot;
use crate::lifecycle::{IssueState, rule};
use crate::sync::{
    Change, IssueSnapshot, Mutation, MutationBody, MutationResult, PROTOCOL_VERSION, PullResponse,
    PushRequest, PushResponse,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod batching;
pub use batching::{BatchSizer, GOOD_LINK_START, GROW_AFTER, MAX_BATCH, WEAK_LINK_START};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientEngine {
    /// The last sequence number given out (the next is this + 1).
    last_seq: u64,
    /// Mutations without a final result yet, in sequence order.
    outbox: Vec<Mutation>,
    /// Final results by mutation id.
    results: BTreeMap<String, MutationResult>,
    /// The server's state of every issue the user may see, as last pulled.
    store: BTreeMap<String, IssueSnapshot>,
    cursor: Option<String>,
    acknowledged_seq: u64,
    /// The server's state of every inspection the user may see, as last pulled.
    #[serde(default)]
    inspections: BTreeMap<String, InspectionSnapshot>,
    /// How many mutations the next adaptive push carries.
    #[serde(default)]
    batch: BatchSizer,
}

impl ClientEngine {
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues a change. `id` must be fresh (a UUIDv7 made by the app: the engine has no clock or
    /// randomness of its own). Returns the queued mutation.
    pub fn enqueue(
        &mut self,
        id: String,
        device_time: DateTime<Utc>,
        body: MutationBody,
    ) -> &Mutation {
        self.last_seq += 1;
        self.outbox.push(Mutation {
            id,
            seq: self.last_seq,
            device_time,
            body,
        });
        &self.outbox[self.outbox.len() - 1]
    }

    /// The oldest `max` pending mutations as a push request.
    pub fn next_batch(&self, max: usize, sent_at: DateTime<Utc>) -> PushRequest {
        PushRequest {
            protocol: PROTOCOL_VERSION,
            sent_at,
            mutations: self.outbox.iter().take(max).cloned().collect(),
        }
    }

    /// The oldest pending mutations, as many as the adaptive batch size allows.
    pub fn next_adaptive_batch(&self, sent_at: DateTime<Utc>) -> PushRequest {
        self.next_batch(self.batch.size(), sent_at)
    }

    /// Starts the adaptive batch size afresh (the link changed: `WEAK_LINK_START` on 2G/3G,
    /// `GOOD_LINK_START` on Wi-Fi/4G).
    pub fn set_batch_start(&mut self, size: usize) {
        self.batch = BatchSizer::starting_at(size);
    }

    pub fn batch_size(&self) -> usize {
        self.batch.size()
    }

    /// A push got no answer (no response, timeout, 5xx, 413): nothing leaves the outbox, and the
    /// next adaptive batch is half as large. Resending the same mutations in smaller batches is
    /// safe: the server judges each by its own `id` and `seq`.
    pub fn on_push_failed(&mut self) {
        self.batch.failed();
    }

    /// Takes a push response: mutations with a final result leave the outbox (their results are
    /// kept); held ones stay, to be sent again. A response that moved the queue on counts as a
    /// success for the adaptive batch size (the same response again moves nothing: idempotent).
    pub fn on_push(&mut self, response: &PushResponse) {
        let before = (self.outbox.len(), self.acknowledged_seq);
        for r in &response.results {
            if r.status.is_final() {
                let settled = match (&r.original, r.status) {
                    (Some(original), crate::sync::MutationStatus::Duplicate) => {
                        (**original).clone()
                    }
                    _ => r.clone(),
                };
                self.results.entry(r.id.clone()).or_insert(settled);
                self.outbox.retain(|m| m.id != r.id);
            }
        }
        self.acknowledged_seq = self.acknowledged_seq.max(response.acknowledged_seq);
        if (self.outbox.len(), self.acknowledged_seq) != before {
            self.batch.succeeded();
        }
    }

    /// Takes one page of a pull.
    pub fn on_pull(&mut self, page: &PullResponse) {
        if page.reset {
            self.store.clear();
            self.inspections.clear();
        }
        for change in &page.changes {
            match change {
                Change::Upsert { issue, .. } => {
                    self.store.insert(issue.id.clone(), (**issue).clone());
                }
                Change::UpsertInspection { inspection, .. } => {
                    self.inspections
                        .insert(inspection.id.clone(), (**inspection).clone());
                }
                Change::Delete { entity, id, .. } if entity == "inspection" => {
                    self.inspections.remove(id);
                }
                Change::Delete { id, .. } => {
                    self.store.remove(id);
                }
            }
        }
        self.cursor = Some(page.cursor.clone());
        self.acknowledged_seq = self.acknowledged_seq.max(page.acknowledged_seq);
    }

    pub fn cursor(&self) -> Option<&str> {
        self.cursor.as_deref()
    }

    pub fn pending(&self) -> &[Mutation] {
        &self.outbox
    }

    pub fn results(&self) -> &BTreeMap<String, MutationResult> {
        &self.results
    }

    /// The server's state as last pulled.
    pub fn store(&self) -> &BTreeMap<String, IssueSnapshot> {
        &self.store
    }

    /// The inspections as last pulled.
    pub fn inspections(&self) -> &BTreeMap<String, InspectionSnapshot> {
        &self.inspections
    }

    /// Pending item results the person recorded, newest last, over the pulled inspections:
    /// (inspection id, item key) → the result the phone shows until the server answers.
    pub fn pending_results(&self) -> BTreeMap<(String, String), crate::inspection::ItemResult> {
        let mut out = BTreeMap::new();
        for m in &self.outbox {
            if let MutationBody::RecordInspection(b) = &m.body {
                for item in &b.items {
                    out.insert(
                        (b.inspection_id.clone(), item.key.clone()),
                        item.result.clone(),
                    );
                }
            }
        }
        out
    }

    pub fn acknowledged_seq(&self) -> u64 {
        self.acknowledged_seq
    }

    /// What the person sees: the server's state with pending mutations replayed on top, by the
    /// shared rules (a transition moves the state only if the rule allows it from where it is).
    pub fn view(&self) -> BTreeMap<String, IssueSnapshot> {
        let mut view = self.store.clone();
        for m in &self.outbox {
            match &m.body {
                MutationBody::CreateIssue(b) => {
                    view.entry(b.issue_id.clone())
                        .or_insert_with(|| IssueSnapshot {
                            id: b.issue_id.clone(),
                            ledger_no: String::new(),
                            title: b.title.clone(),
                            description: b.description.clone(),
                            category: b.category.clone(),
                            severity: b.severity,
                            source: b.source,
                            state: IssueState::Reported,
                            place_id: b.place_id.clone(),
                            location: b.location.clone(),
                            reporter_id: None,
                            responsible_unit_id: None,
                            responsible_user_id: None,
                            target: None,
                            deadline: None,
                            extension_deadline: None,
                            escalation_level: 0,
                            reopen_count: 0,
                            duplicate_of: None,
                            version: 0,
                            updated_at: m.device_time,
                            progress_on: None,
                            instructions: Vec::new(),
                        });
                }
                MutationBody::UpdateIssue(b) => {
                    if let Some(issue) = view.get_mut(&b.issue_id) {
                        let f = &b.fields;
                        if let Some(t) = &f.title {
                            issue.title = t.clone();
                        }
                        if let Some(d) = &f.description {
                            issue.description = d.clone();
                        }
                        if let Some(c) = &f.category {
                            issue.category = c.clone();
                        }
                        if let Some(s) = f.severity {
                            issue.severity = s;
                        }
                        if let Some(l) = &f.location {
                            issue.location = Some(l.clone());
                        }
                    }
                }
                MutationBody::Transition(t) => {
                    if let (Some(issue), Some(action)) =
                        (view.get_mut(&t.issue_id), t.request.action)
                    {
                        let r = rule(action);
                        if r.from.contains(&issue.state) {
                            issue.state = r.to.unwrap_or(issue.state);
                        }
                    }
                }
                // Inspections are not issues: see `pending_results`.
                MutationBody::RecordInspection(_) => {}
            }
        }
        view
    }
}

#[cfg(test)]
mod tests;
