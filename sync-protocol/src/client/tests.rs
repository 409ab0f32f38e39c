//! The engine against a small in-memory server that follows the same sequence rule
//! (`sync::classify`), under random loss, duplication and reordering.

use super::*;
use crate::issue::{IssueSource, Severity};
use crate::sync::{Disposition, MutationStatus, NewIssueBody, classify};
use proptest::prelude::*;
use std::collections::{BTreeSet, HashMap};

/// A model server: per-device progress, held mutations, results by id, a change log.
#[derive(Default)]
struct ModelServer {
    last_seq: HashMap<usize, u64>,
    held: HashMap<(usize, u64), Mutation>,
    results: HashMap<String, MutationResult>,
    issues: BTreeMap<String, IssueSnapshot>,
    log: Vec<String>,
    applied: Vec<String>,
}

fn snapshot(b: &NewIssueBody, version: i32) -> IssueSnapshot {
    IssueSnapshot {
        id: b.issue_id.clone(),
        ledger_no: "2026-0000001".into(),
        title: b.title.clone(),
        description: String::new(),
        category: b.category.clone(),
        severity: b.severity,
        source: b.source,
        state: IssueState::Reported,
        place_id: b.place_id.clone(),
        location: None,
        reporter_id: None,
        responsible_unit_id: None,
        responsible_user_id: None,
        target: None,
        deadline: None,
        extension_deadline: None,
        escalation_level: 0,
        reopen_count: 0,
        duplicate_of: None,
        version,
        updated_at: DateTime::UNIX_EPOCH,
        progress_on: None,
        instructions: Vec::new(),
    }
}

impl ModelServer {
    fn result(m: &Mutation, status: MutationStatus) -> MutationResult {
        MutationResult {
            id: m.id.clone(),
            seq: m.seq,
            status,
            code: None,
            message: None,
            message_zh: None,
            field: None,
            version: None,
            conflict_ids: None,
            original: None,
        }
    }

    fn apply(&mut self, m: &Mutation) -> MutationResult {
        if let MutationBody::CreateIssue(b) = &m.body {
            self.issues.insert(b.issue_id.clone(), snapshot(b, 1));
            self.log.push(b.issue_id.clone());
        }
        self.applied.push(m.id.clone());
        Self::result(m, MutationStatus::Applied)
    }

    fn push(&mut self, device: usize, req: &PushRequest) -> PushResponse {
        let mut mutations = req.mutations.clone();
        mutations.sort_by_key(|m| m.seq);
        let mut results = Vec::new();
        for m in mutations {
            let last = *self.last_seq.get(&device).unwrap_or(&0);
            match classify(m.seq, last, self.results.contains_key(&m.id), false) {
                Disposition::Duplicate => {
                    let original = self.results[&m.id].clone();
                    results.push(MutationResult {
                        original: Some(Box::new(original)),
                        ..Self::result(&m, MutationStatus::Duplicate)
                    });
                }
                Disposition::Hold => {
                    self.held.entry((device, m.seq)).or_insert(m.clone());
                    results.push(Self::result(&m, MutationStatus::Held));
                }
                Disposition::SequenceReused => unreachable!("the engine never reuses a number"),
                Disposition::Apply => {
                    let r = self.apply(&m);
                    self.results.insert(m.id.clone(), r.clone());
                    results.push(r);
                    let mut next = m.seq;
                    while let Some(h) = self.held.remove(&(device, next + 1)) {
                        let r = self.apply(&h);
                        self.results.insert(h.id.clone(), r);
                        next += 1;
                    }
                    self.last_seq.insert(device, next);
                }
            }
        }
        PushResponse {
            results,
            acknowledged_seq: self.last_seq.get(&device).copied().unwrap_or(0),
            clock_skew_ms: 0,
            server_time: DateTime::UNIX_EPOCH,
        }
    }

    fn pull(&self, device: usize, cursor: Option<&str>, limit: usize) -> PullResponse {
        let from: usize = cursor.map_or(0, |c| c.parse().unwrap_or(0));
        let to = (from + limit).min(self.log.len());
        let changes = self.log[from..to]
            .iter()
            .enumerate()
            .map(|(i, id)| Change::Upsert {
                seq: (from + i + 1) as i64,
                issue: Box::new(self.issues[id].clone()),
            })
            .collect();
        PullResponse {
            changes,
            cursor: to.to_string(),
            has_more: to < self.log.len(),
            reset: false,
            acknowledged_seq: self.last_seq.get(&device).copied().unwrap_or(0),
            server_time: DateTime::UNIX_EPOCH,
        }
    }
}

fn create(n: usize) -> MutationBody {
    MutationBody::CreateIssue(NewIssueBody {
        issue_id: format!("issue-{n}"),
        title: format!("问题{n}"),
        description: String::new(),
        category: "other".into(),
        severity: Severity::Minor,
        source: IssueSource::GridPatrol,
        place_id: "place".into(),
        location: None,
        photos: Vec::new(),
    })
}

/// One step of the network's behaviour for one device.
#[derive(Debug, Clone)]
enum Step {
    Work(usize),
    /// Push a batch (max size), and whether the response is lost.
    Push {
        max: usize,
        lose_response: bool,
        reverse: bool,
    },
    Pull {
        limit: usize,
    },
}

fn step() -> impl Strategy<Value = (usize, Step)> {
    (
        0usize..3,
        prop_oneof![
            (1usize..4).prop_map(Step::Work),
            (1usize..6, any::<bool>(), any::<bool>()).prop_map(|(max, lose_response, reverse)| {
                Step::Push {
                    max,
                    lose_response,
                    reverse,
                }
            }),
            (1usize..5).prop_map(|limit| Step::Pull { limit }),
        ],
    )
}

proptest! {
    /// Whatever the network does, each mutation is applied exactly once, in each device's order,
    /// every mutation ends with a final result, and every device converges to the server.
    #[test]
    fn engines_converge_and_apply_everything_exactly_once(steps in proptest::collection::vec(step(), 1..80)) {
        let mut server = ModelServer::default();
        let mut phones = vec![ClientEngine::new(), ClientEngine::new(), ClientEngine::new()];
        let mut made = 0;
        for (d, s) in steps {
            match s {
                Step::Work(n) => for _ in 0..n {
                    made += 1;
                    phones[d].enqueue(format!("m-{made}"), DateTime::UNIX_EPOCH, create(made));
                },
                Step::Push { max, lose_response, reverse } => {
                    let mut req = phones[d].next_batch(max, DateTime::UNIX_EPOCH);
                    if reverse { req.mutations.reverse(); }
                    let resp = server.push(d, &req);
                    if !lose_response { phones[d].on_push(&resp); }
                }
                Step::Pull { limit } => {
                    let cursor = phones[d].cursor().map(str::to_owned);
                    let page = server.pull(d, cursor.as_deref(), limit);
                    phones[d].on_pull(&page);
                }
            }
        }
        // Back online for good: everything drains and everyone catches up.
        for (d, phone) in phones.iter_mut().enumerate() {
            while !phone.pending().is_empty() {
                let resp = server.push(d, &phone.next_batch(5, DateTime::UNIX_EPOCH));
                phone.on_push(&resp);
            }
        }
        for (d, phone) in phones.iter_mut().enumerate() {
            loop {
                let cursor = phone.cursor().map(str::to_owned);
                let page = server.pull(d, cursor.as_deref(), 4);
                phone.on_pull(&page);
                if !page.has_more { break; }
            }
        }
        let applied: BTreeSet<&String> = server.applied.iter().collect();
        prop_assert_eq!(applied.len(), server.applied.len(), "applied exactly once");
        prop_assert_eq!(server.applied.len(), made, "nothing lost");
        let accounted: usize = phones.iter().map(|p| p.results().len()).sum();
        prop_assert_eq!(accounted, made, "every mutation has a final result on its phone");
        for phone in &phones {
            prop_assert_eq!(phone.store(), &server.issues);
            prop_assert_eq!(&phone.view(), &server.issues, "nothing pending: the view is the server");
        }
        // Each device's mutations were applied in its own order.
        for phone in &phones {
            let mine: Vec<u64> = server.applied.iter().filter_map(|id| phone.results().get(id)).map(|r| r.seq).collect();
            let mut sorted = mine.clone();
            sorted.sort_unstable();
            prop_assert_eq!(mine, sorted);
        }
    }

    /// Taking the same push response or pull page twice changes nothing.
    #[test]
    fn responses_are_idempotent_on_the_phone(n in 1usize..10, limit in 1usize..5) {
        let mut server = ModelServer::default();
        let mut phone = ClientEngine::new();
        for i in 0..n { phone.enqueue(format!("m-{i}"), DateTime::UNIX_EPOCH, create(i)); }
        let resp = server.push(0, &phone.next_batch(n, DateTime::UNIX_EPOCH));
        phone.on_push(&resp);
        let once = phone.clone();
        phone.on_push(&resp);
        prop_assert_eq!(&phone, &once);
        let page = server.pull(0, None, limit);
        phone.on_pull(&page);
        let once = phone.clone();
        phone.on_pull(&page);
        prop_assert_eq!(&phone, &once);
    }
}

#[test]
fn the_view_replays_pending_work_on_top_of_the_server_state() {
    use crate::lifecycle::{ActionKind, TransitionRequest};
    use crate::sync::TransitionBody;
    let mut phone = ClientEngine::new();
    phone.enqueue("m1".into(), DateTime::UNIX_EPOCH, create(1));
    phone.enqueue(
        "m2".into(),
        DateTime::UNIX_EPOCH,
        MutationBody::Transition(TransitionBody {
            issue_id: "issue-1".into(),
            request: TransitionRequest::new(ActionKind::Approve),
        }),
    );
    let view = phone.view();
    assert_eq!(
        view["issue-1"].state,
        IssueState::Reported,
        "approve does not fit a reported issue"
    );
    assert!(phone.store().is_empty());
}

#[test]
fn classify_covers_every_case() {
    assert_eq!(classify(5, 9, true, false), Disposition::Duplicate);
    assert_eq!(classify(10, 9, false, false), Disposition::Apply);
    assert_eq!(classify(12, 9, false, false), Disposition::Hold);
    assert_eq!(classify(3, 9, false, false), Disposition::SequenceReused);
    assert_eq!(classify(3, 9, false, true), Disposition::Apply);
}

#[test]
fn inspections_are_stored_from_pulls_dropped_by_tombstones_and_pending_results_shown() {
    use crate::inspection::ItemResult;
    use crate::inspection::wire::*;
    let snapshot = InspectionSnapshot {
        id: "insp-1".into(),
        template_id: "t".into(),
        template_version: 1,
        place_id: "p".into(),
        mode: InspectionMode::Scheduled,
        site: String::new(),
        location: None,
        team: vec![],
        responsible_unit_id: None,
        responsible_user_id: None,
        schedule_id: None,
        started_at: DateTime::UNIX_EPOCH,
        finished_at: None,
        summary: None,
        state: InspectionState::InProgress,
        items: BTreeMap::new(),
        score: 0.0,
        max_score: 40.0,
        percent: Some(0.0),
        version: 1,
        updated_at: DateTime::UNIX_EPOCH,
    };
    let page = |changes: Vec<Change>| PullResponse {
        changes,
        cursor: "c".into(),
        has_more: false,
        reset: false,
        acknowledged_seq: 0,
        server_time: DateTime::UNIX_EPOCH,
    };
    let mut engine = ClientEngine::new();
    engine.on_pull(&page(vec![Change::UpsertInspection {
        seq: 1,
        inspection: Box::new(snapshot.clone()),
    }]));
    assert_eq!(engine.inspections().get("insp-1"), Some(&snapshot));
    assert!(engine.store().is_empty(), "an inspection is not an issue");
    engine.enqueue(
        "m1".into(),
        DateTime::UNIX_EPOCH,
        MutationBody::RecordInspection(RecordInspectionBody {
            inspection_id: "insp-1".into(),
            header: InspectionHeader {
                template_id: "t".into(),
                template_version: 1,
                place_id: "p".into(),
                mode: InspectionMode::Scheduled,
                site: String::new(),
                location: None,
                team: vec![],
                responsible_unit_id: None,
                responsible_user_id: None,
                schedule_id: None,
                started_at: DateTime::UNIX_EPOCH,
            },
            items: vec![ItemEntry {
                key: "clean".into(),
                base_rev: 0,
                result: ItemResult {
                    value: serde_json::json!(true),
                    ..ItemResult::default()
                },
            }],
            finished_at: None,
            summary: None,
        }),
    );
    let pending = engine.pending_results();
    assert_eq!(
        pending[&("insp-1".to_owned(), "clean".to_owned())].value,
        serde_json::json!(true)
    );
    assert_eq!(engine.view().len(), 0, "the issue view ignores inspections");
    engine.on_pull(&page(vec![Change::Delete {
        seq: 2,
        entity: "inspection".into(),
        id: "insp-1".into(),
    }]));
    assert!(engine.inspections().is_empty());
}

proptest! {
    /// Adaptive batching on a link that drops: after each failed attempt the batch halves and the
    /// same mutations go again in other groupings (re-split), some attempts reaching the server
    /// with the answer lost. Every mutation is applied exactly once, in order, and settles.
    #[test]
    fn re_splitting_batches_after_failures_is_safe(
        n in 1usize..60,
        start in 1usize..40,
        attempts in proptest::collection::vec((any::<bool>(), any::<bool>()), 1..120),
    ) {
        let mut server = ModelServer::default();
        let mut phone = ClientEngine::new();
        phone.set_batch_start(start);
        for i in 0..n { phone.enqueue(format!("m-{i}"), DateTime::UNIX_EPOCH, create(i)); }
        let mut sizes = Vec::new();
        for (reaches_server, answered) in attempts {
            let req = phone.next_adaptive_batch(DateTime::UNIX_EPOCH);
            sizes.push(req.mutations.len());
            let before = phone.batch_size();
            if reaches_server && answered {
                let resp = server.push(0, &req);
                phone.on_push(&resp);
            } else {
                if reaches_server { server.push(0, &req); }
                phone.on_push_failed();
                prop_assert_eq!(phone.batch_size(), (before / 2).max(1), "halved after a failure");
            }
        }
        while !phone.pending().is_empty() {
            let resp = server.push(0, &phone.next_adaptive_batch(DateTime::UNIX_EPOCH));
            phone.on_push(&resp);
        }
        let applied: BTreeSet<&String> = server.applied.iter().collect();
        prop_assert_eq!(applied.len(), server.applied.len(), "applied exactly once");
        prop_assert_eq!(server.applied.len(), n, "nothing lost");
        prop_assert_eq!(phone.results().len(), n, "every mutation settled");
        let order: Vec<u64> = server.applied.iter().map(|id| phone.results()[id].seq).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        prop_assert_eq!(order, sorted, "in the device's order");
        prop_assert!(sizes.iter().all(|s| *s <= MAX_BATCH));
    }
}
