//! The device simulator: N phones running the reference client engine against a real server,
//! through a network that goes offline, loses responses after the server committed, delivers
//! batches twice and out of order, on phones whose clocks are days off, while the server restarts.
//! At the end every phone comes online and syncs; the report proves that every mutation has a
//! final result, that no issue was created twice, and that every phone holds what the server has.

mod work;

use crate::{TestApp, TestUser};
use chrono::{Duration, Utc};
use closeout_sync_protocol::client::ClientEngine;
use closeout_sync_protocol::lifecycle::ActionKind;
use closeout_sync_protocol::sync::{MutationBody, MutationStatus, PullResponse, PushResponse};
use closeout_sync_protocol::{IssueState, Role};
use std::collections::BTreeMap;
use work::{Plan, Rng, work};

#[derive(Debug, Clone)]
pub struct Config {
    pub devices: usize,
    pub mutations_per_device: usize,
    pub seed: u64,
    /// Restart the server halfway through.
    pub restart: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub devices: usize,
    pub mutations: usize,
    pub applied: usize,
    pub conflicts: usize,
    pub rejected: usize,
    /// Rejections the phone's own model expected (it queued something invalid on purpose), with
    /// the code it expected.
    pub expected_rejections: usize,
    /// Rejections the model did not expect, or expected ones that did not come: each a failure.
    pub unexpected: Vec<String>,
    /// Grid workers' edits of their own reports that came back `conflict`: made offline while
    /// the report was `reported`, arriving after a supervisor assigned it (kept for a supervisor,
    /// not refused; a `forbidden` for them is an unexpected rejection).
    pub grid_worker_edit_conflicts: usize,
    /// Edits refused `forbidden` because the issue was closed (approved, rejected, marked a
    /// duplicate) before the edit arrived — checked against the server's history (`closed_before`).
    /// Any other `forbidden` edit is unexpected.
    pub edits_after_close: usize,
    /// Approvals refused `evidence_flagged` because the server found the issue's after-photo a
    /// near-duplicate of another issue's (`reused`: the random test pictures come within the
    /// threshold by chance) — checked against the issue's evidence. Any other refusal of an
    /// approval is unexpected.
    pub approvals_over_reused: usize,
    pub unaccounted: usize,
    pub issues_created: usize,
    pub duplicate_issues: usize,
    pub lost_responses: usize,
    pub resent_batches: usize,
    pub reordered_batches: usize,
    pub held_answers: usize,
    /// `held` answers of a submit whose after-photo had not been uploaded yet.
    pub photo_waits: usize,
    pub photos_uploaded: usize,
    pub restarts: usize,
    pub devices_converged: usize,
    pub max_clock_skew_hours: i64,
    pub seconds: f64,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.unaccounted == 0
            && self.unexpected.is_empty()
            && self.duplicate_issues == 0
            && self.devices_converged == self.devices
    }

    pub fn print(&self) {
        println!(
            "simulator: {} devices, {} mutations in {:.1} s",
            self.devices, self.mutations, self.seconds
        );
        println!(
            "  outcomes: {} applied, {} conflict, {} rejected ({} expected by the phones' model, {} not), {} unaccounted",
            self.applied,
            self.conflicts,
            self.rejected,
            self.expected_rejections,
            self.unexpected.len(),
            self.unaccounted
        );
        println!(
            "  grid workers' offline edits kept as conflicts (the issue moved on meanwhile): {}",
            self.grid_worker_edit_conflicts
        );
        println!(
            "  offline edits refused because the issue was closed meanwhile (checked in the history): {}",
            self.edits_after_close
        );
        println!(
            "  approvals refused over a `reused` after-photo (checked in the evidence): {}",
            self.approvals_over_reused
        );
        for u in self.unexpected.iter().take(20) {
            println!("  unexpected: {u}");
        }
        println!(
            "  issues created: {} (duplicates: {})",
            self.issues_created, self.duplicate_issues
        );
        println!(
            "  network: {} responses lost after commit, {} batches sent twice, {} reordered, {} held answers, {} server restarts",
            self.lost_responses,
            self.resent_batches,
            self.reordered_batches,
            self.held_answers,
            self.restarts
        );
        println!(
            "  photos: {} after-photos uploaded, {} submits waited for theirs",
            self.photos_uploaded, self.photo_waits
        );
        println!(
            "  clocks: up to {} h off; converged devices: {}/{}",
            self.max_clock_skew_hours, self.devices_converged, self.devices
        );
        println!("  result: {}", if self.passed() { "PASS" } else { "FAIL" });
    }
}

struct Phone {
    user: TestUser,
    role: Role,
    place: String,
    engine: ClientEngine,
    skew: Duration,
    budget: usize,
    /// After-photos taken but not uploaded yet: (bytes, issue id).
    photos: Vec<(Vec<u8>, String)>,
    /// Mutations this phone queued knowing they are invalid, with the code they must get.
    expected: BTreeMap<String, &'static str>,
    /// This phone's `update_issue` mutations: mutation id → issue id.
    edits: BTreeMap<String, String>,
    /// This phone's `approve` transitions: mutation id → issue id.
    approvals: BTreeMap<String, String>,
}

/// One phone's turn online: push its batch (reordered, sent twice, answers lost as planned),
/// upload photos, pull. Phones take their turns at the same time.
async fn go_online(app: &TestApp, phone: &mut Phone, plan: Plan) -> Report {
    let mut report = Report::default();
    let sent_at = Utc::now() + phone.skew;
    let batch = phone.engine.next_batch(plan.batch, sent_at);
    if batch.mutations.is_empty() {
        upload_photos(app, phone, &mut report).await;
        pull_to_end(app, phone, plan.pull.unwrap_or(50)).await;
        return report;
    }
    let mut sends = vec![serde_json::to_value(&batch).unwrap()];
    if batch.mutations.len() > 1 && plan.reorder {
        // Reordered: the second half travels first.
        let mid = batch.mutations.len() / 2;
        let mut late = batch.clone();
        late.mutations.drain(..mid);
        let mut early = batch.clone();
        early.mutations.truncate(mid);
        sends = vec![
            serde_json::to_value(&late).unwrap(),
            serde_json::to_value(&early).unwrap(),
        ];
        report.reordered_batches += 1;
    }
    if plan.resend {
        sends.push(sends[0].clone());
        report.resent_batches += 1;
    }
    for (body, lose) in sends.iter().zip(plan.lose) {
        let response = push(app, phone, body).await;
        if lose {
            report.lost_responses += 1; // committed on the server; the phone never hears
            continue;
        }
        if let Some(r) = response {
            report.held_answers += r
                .results
                .iter()
                .filter(|x| x.status == MutationStatus::Held)
                .count();
            report.photo_waits += r
                .results
                .iter()
                .filter(|x| x.code.as_deref() == Some("photos_pending"))
                .count();
            phone.engine.on_push(&r);
        }
    }
    // The photo queue runs after the text, sometimes only on a later round with signal:
    // a submit then waits on the server for its photo.
    if plan.upload {
        upload_photos(app, phone, &mut report).await;
    }
    if let Some(limit) = plan.pull {
        pull_to_end(app, phone, limit).await;
    }
    report
}

/// Uploads the phone's waiting after-photos (tus, one request each).
async fn upload_photos(app: &TestApp, phone: &mut Phone, report: &mut Report) {
    for (bytes, issue) in std::mem::take(&mut phone.photos) {
        app.upload_for(&phone.user.access, &bytes, "after", &issue)
            .await;
        report.photos_uploaded += 1;
    }
}

async fn push(app: &TestApp, phone: &Phone, body: &serde_json::Value) -> Option<PushResponse> {
    let res = app
        .client
        .post(app.url("/api/v1/sync/push"))
        .bearer_auth(&phone.user.access)
        .json(body)
        .send()
        .await
        .ok()?;
    assert!(
        res.status().is_success(),
        "push refused: {} {}",
        res.status(),
        res.text().await.unwrap_or_default()
    );
    res.json().await.ok()
}

async fn pull(app: &TestApp, user: &TestUser, cursor: Option<&str>, limit: u64) -> PullResponse {
    let path = match cursor {
        Some(c) => format!("/api/v1/sync/pull?limit={limit}&cursor={c}"),
        None => format!("/api/v1/sync/pull?limit={limit}"),
    };
    let res = app
        .client
        .get(app.url(&path))
        .bearer_auth(&user.access)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "pull refused: {}", res.status());
    res.json().await.unwrap()
}

async fn pull_to_end(app: &TestApp, phone: &mut Phone, limit: u64) {
    loop {
        let page = pull(app, &phone.user, phone.engine.cursor(), limit).await;
        phone.engine.on_pull(&page);
        if !page.has_more {
            break;
        }
    }
}

/// Runs the simulation on `app` (a fresh server with `app.cast()` not yet called).
pub async fn run(app: &mut TestApp, config: &Config) -> Report {
    let started = std::time::Instant::now();
    let mut rng = Rng(config.seed.max(1));
    let cast = app.cast().await;
    let mut phones = Vec::new();
    for d in 0..config.devices {
        // Mostly grid workers of both villages; some supervisors' tablets and bureau phones.
        let (user, role, place) = match d % 10 {
            0 => (&cast.supervisor, Role::Supervisor, cast.places.town.clone()),
            1 => (&cast.responsible, Role::Responsible, cast.bureau.clone()),
            n if n % 2 == 0 => (
                &cast.worker_a,
                Role::GridWorker,
                cast.places.village_a.clone(),
            ),
            _ => (
                &cast.worker_b,
                Role::GridWorker,
                cast.places.village_b.clone(),
            ),
        };
        let device = app
            .login(&user.username, &user.password, &format!("sim-{d}"))
            .await;
        let skew = Duration::minutes(rng.below(6 * 24 * 60) as i64 - 3 * 24 * 60);
        phones.push(Phone {
            user: device,
            role,
            place,
            engine: ClientEngine::new(),
            skew,
            budget: config.mutations_per_device,
            photos: Vec::new(),
            expected: BTreeMap::new(),
            edits: BTreeMap::new(),
            approvals: BTreeMap::new(),
        });
    }
    let mut report = Report {
        devices: config.devices,
        ..Report::default()
    };
    report.max_clock_skew_hours = phones
        .iter()
        .map(|p| p.skew.num_hours().abs())
        .max()
        .unwrap_or(0);
    // (phone, mutation id, issue id) of every create_issue made.
    let mut created: Vec<(usize, String, String)> = Vec::new();
    let mut counter = 0;
    let mut round = 0;
    while phones.iter().any(|p| p.budget > 0) {
        round += 1;
        if config.restart
            && report.restarts == 0
            && phones.iter().map(|p| p.budget).sum::<usize>() * 2
                < config.devices * config.mutations_per_device
        {
            app.restart().await;
            report.restarts += 1;
        }
        let mut plans = Vec::with_capacity(phones.len());
        #[allow(clippy::needless_range_loop)] // phones[d] is used beside other phones' data
        for d in 0..phones.len() {
            // Work offline.
            let n = (rng.below(4) as usize).min(phones[d].budget);
            for _ in 0..n {
                counter += 1;
                let mut body = work(&mut rng, &phones[d], &cast, counter);
                if let MutationBody::Transition(t) = &mut body
                    && t.request.action == Some(ActionKind::Submit)
                {
                    // A real after-photo, uploaded when the phone next has signal.
                    let bytes = crate::photos::fresh_jpeg();
                    t.request.photos = vec![crate::photos::sha256_hex(&bytes)];
                    phones[d].photos.push((bytes, t.issue_id.clone()));
                }
                let mutation_id = uuid::Uuid::now_v7().to_string();
                if let MutationBody::UpdateIssue(u) = &body {
                    phones[d]
                        .edits
                        .insert(mutation_id.clone(), u.issue_id.clone());
                }
                if let MutationBody::Transition(t) = &body
                    && t.request.action == Some(ActionKind::Approve)
                {
                    phones[d]
                        .approvals
                        .insert(mutation_id.clone(), t.issue_id.clone());
                }
                if let MutationBody::CreateIssue(b) = &mut body {
                    if phones[d].role == Role::Responsible {
                        // A bureau's phone with nothing to do reports anyway; its role cannot.
                        phones[d].expected.insert(mutation_id.clone(), "forbidden");
                    } else if rng.chance(3) {
                        // A title pasted with a NUL in it: the phone's model knows the server
                        // refuses it, and with which code.
                        b.title.push('\u{0}');
                        phones[d]
                            .expected
                            .insert(mutation_id.clone(), "control_character");
                    } else {
                        created.push((d, mutation_id.clone(), b.issue_id.clone()));
                    }
                }
                let at = Utc::now() + phones[d].skew;
                phones[d].engine.enqueue(mutation_id, at, body);
                phones[d].budget -= 1;
                report.mutations += 1;
            }
            plans.push(Plan::draw(&mut rng));
        }
        // Online: every phone with signal pushes, uploads and pulls at the same time.
        let turns = phones
            .iter_mut()
            .zip(plans)
            .filter_map(|(phone, plan)| plan.map(|plan| go_online(app, phone, plan)));
        for part in futures_util::future::join_all(turns).await {
            report.lost_responses += part.lost_responses;
            report.resent_batches += part.resent_batches;
            report.reordered_batches += part.reordered_batches;
            report.held_answers += part.held_answers;
            report.photo_waits += part.photo_waits;
            report.photos_uploaded += part.photos_uploaded;
        }
        assert!(round < 10_000, "the simulation does not end");
    }
    // Everyone comes online for good and syncs until nothing is pending.
    for phone in phones.iter_mut() {
        upload_photos(app, phone, &mut report).await;
    }
    for _ in 0..50 {
        if phones.iter().all(|p| p.engine.pending().is_empty()) {
            break;
        }
        for phone in phones.iter_mut() {
            if phone.engine.pending().is_empty() {
                continue;
            }
            let batch = phone.engine.next_batch(200, Utc::now() + phone.skew);
            if let Some(r) = push(app, phone, &serde_json::to_value(&batch).unwrap()).await {
                phone.engine.on_push(&r);
            }
        }
    }
    for phone in phones.iter_mut() {
        pull_to_end(app, phone, 500).await;
    }

    // Every mutation accounted for; a rejection only if the phone's model expected it.
    for phone in &phones {
        report.unaccounted += phone.engine.pending().len();
        for (id, r) in phone.engine.results() {
            let expected = phone.expected.get(id).copied();
            let over_reused = r.status == MutationStatus::Rejected
                && r.code.as_deref() == Some("evidence_flagged")
                && match phone.approvals.get(id) {
                    Some(issue) => flagged_reused(app, issue).await,
                    None => false,
                };
            match r.status {
                MutationStatus::Applied => report.applied += 1,
                MutationStatus::Conflict => report.conflicts += 1,
                MutationStatus::Rejected => report.rejected += 1,
                MutationStatus::Duplicate | MutationStatus::Held => report.unaccounted += 1,
            }
            match (r.status, expected) {
                (MutationStatus::Rejected, Some(code)) if r.code.as_deref() == Some(code) => {
                    report.expected_rejections += 1
                }
                (MutationStatus::Conflict, None)
                    if phone.role == Role::GridWorker && phone.edits.contains_key(id) =>
                {
                    report.grid_worker_edit_conflicts += 1
                }
                (MutationStatus::Rejected, None)
                    if r.code.as_deref() == Some("forbidden")
                        && phone.edits.contains_key(id)
                        && closed_before(app, &phone.edits[id], id) =>
                {
                    report.edits_after_close += 1
                }
                (MutationStatus::Rejected, None) if over_reused => {
                    report.approvals_over_reused += 1
                }
                (MutationStatus::Rejected, _) | (_, Some(_)) => report.unexpected.push(format!(
                    "{id} (seq {}): {:?} {:?} {:?}, the model expected {expected:?}",
                    r.seq, r.status, r.code, r.message
                )),
                _ => {}
            }
        }
    }
    // No issue twice, none lost: the server holds exactly the issues whose create_issue was
    // applied (each once: ids are the primary key), and nothing else.
    let mut admin_phone = Phone {
        user: app.admin.clone(),
        role: Role::Admin,
        place: String::new(),
        engine: ClientEngine::new(),
        skew: Duration::zero(),
        budget: 0,
        photos: Vec::new(),
        expected: BTreeMap::new(),
        edits: BTreeMap::new(),
        approvals: BTreeMap::new(),
    };
    pull_to_end(app, &mut admin_phone, 10_000).await;
    let server: &BTreeMap<_, _> = admin_phone.engine.store();
    report.issues_created = server.len();
    // Each phone holds exactly what a fresh full pull gives its user.
    for phone in &phones {
        let mut fresh = Phone {
            user: phone.user.clone(),
            role: phone.role,
            place: String::new(),
            engine: ClientEngine::new(),
            skew: Duration::zero(),
            budget: 0,
            photos: Vec::new(),
            expected: BTreeMap::new(),
            edits: BTreeMap::new(),
            approvals: BTreeMap::new(),
        };
        pull_to_end(app, &mut fresh, 10_000).await;
        if fresh.engine.store() == phone.engine.store() {
            report.devices_converged += 1;
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    report
}

/// Whether the server's history closed `issue` (moved it to a state that is no longer open) — the
/// one reason an edit from a phone that saw the issue open is refused `forbidden`. Nothing in the
/// simulation reopens an issue, so a close in the history means the issue stayed closed from then
/// on; an edit refused while the issue never closed is a server fault. (The close's time is not
/// compared with the mutation's receipt: both are taken when a request starts, and a request
/// waiting for the write lock can start before a close that commits ahead of it.)
/// Whether the server's evidence of `issue` flags an after-photo `reused` (a near-duplicate of
/// another issue's photo).
async fn flagged_reused(app: &TestApp, issue: &str) -> bool {
    let (status, evidence) = app
        .get(
            &format!("/api/v1/issues/{issue}/evidence"),
            &app.admin.access,
        )
        .await;
    status == reqwest::StatusCode::OK
        && evidence["flag_counts"]["reused"]
            .as_u64()
            .is_some_and(|n| n > 0)
}

fn closed_before(app: &TestApp, issue: &str, mutation_id: &str) -> bool {
    use closeout::db::schema::{issue_events, sync_mutations};
    use diesel::prelude::*;
    let db = app.db();
    let mut conn = db.get().expect("a connection");
    let recorded: i64 = sync_mutations::table
        .filter(sync_mutations::id.eq(mutation_id))
        .count()
        .get_result(&mut *conn)
        .expect("the mutation's record");
    let states: Vec<String> = issue_events::table
        .filter(issue_events::issue_id.eq(issue))
        .select(issue_events::to_state)
        .load(&mut *conn)
        .expect("the issue's history");
    recorded == 1
        && states
            .iter()
            .any(|s| IssueState::parse(s).is_some_and(|s| !s.is_open()))
}
