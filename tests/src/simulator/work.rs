//! What the simulated phones do: the seeded random source, what the network does to a phone in a
//! round, and the work a phone's person queues, judged from what the phone shows.

use super::Phone;
use crate::Cast;
use chrono::{Duration, Utc};
use closeout_sync_protocol::lifecycle::{ActionKind, TransitionRequest};
use closeout_sync_protocol::sync::{
    IssueFields, MutationBody, NewIssueBody, TransitionBody, UpdateIssueBody,
};
use closeout_sync_protocol::{IssueSource, IssueState, Role, Severity};

/// xorshift64*: deterministic runs from a seed.
pub(super) struct Rng(pub(super) u64);

impl Rng {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub(super) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What the network does to one phone in one round, drawn in turn (so a seed replays a run)
/// before the phones go online together.
pub(super) struct Plan {
    pub(super) batch: usize,
    pub(super) reorder: bool,
    pub(super) resend: bool,
    /// Per send, in order: whether its response is lost after the server committed.
    pub(super) lose: [bool; 3],
    pub(super) upload: bool,
    pub(super) pull: Option<u64>,
}

impl Plan {
    pub(super) fn draw(rng: &mut Rng) -> Option<Self> {
        if rng.chance(35) {
            return None; // no signal this round
        }
        Some(Self {
            batch: 1 + rng.below(15) as usize,
            reorder: rng.chance(15),
            resend: rng.chance(10),
            lose: [rng.chance(20), rng.chance(20), rng.chance(20)],
            upload: rng.chance(50),
            pull: rng.chance(60).then(|| 1 + rng.below(100)),
        })
    }
}

/// Something this phone's person would do now, judged from what the phone shows.
pub(super) fn work(rng: &mut Rng, phone: &Phone, cast: &Cast, n: usize) -> MutationBody {
    let view = phone.engine.view();
    let pick = |state: IssueState, rng: &mut Rng| {
        let ids: Vec<&String> = view
            .iter()
            .filter(|(_, i)| i.state == state)
            .map(|(id, _)| id)
            .collect();
        (!ids.is_empty()).then(|| ids[rng.below(ids.len() as u64) as usize].clone())
    };
    let transition = |id: String, request: TransitionRequest| {
        MutationBody::Transition(TransitionBody {
            issue_id: id,
            request,
        })
    };
    match phone.role {
        Role::Supervisor => {
            if let (true, Some(id)) = (rng.chance(50), pick(IssueState::Reported, rng)) {
                let mut r = TransitionRequest::new(ActionKind::Assign);
                r.responsible_unit_id = Some(cast.bureau.clone());
                r.responsible_user_id = Some(cast.responsible.id.clone());
                r.target = Some("整改到位".into());
                r.deadline = Some((Utc::now() + Duration::days(10)).date_naive());
                return transition(id, r);
            }
            if let Some(id) = pick(IssueState::Submitted, rng) {
                return transition(id, TransitionRequest::new(ActionKind::Approve));
            }
            if let Some((id, issue)) = view
                .iter()
                .find(|(_, i)| i.state.is_open() && i.version > 0)
            {
                return MutationBody::UpdateIssue(UpdateIssueBody {
                    issue_id: id.clone(),
                    base_version: issue.version,
                    fields: IssueFields {
                        title: Some(format!("督查办核定{n}")),
                        ..IssueFields::default()
                    },
                });
            }
        }
        Role::Responsible => {
            let submit_first = rng.chance(50);
            if let (false, Some(id)) = (submit_first, pick(IssueState::Assigned, rng)) {
                return transition(id, TransitionRequest::new(ActionKind::Acknowledge));
            }
            if let Some(id) = pick(IssueState::Rectifying, rng) {
                let mut r = TransitionRequest::new(ActionKind::Submit);
                r.photos = vec![format!("{:064x}", rng.next())];
                return transition(id, r);
            }
            if let Some(id) = pick(IssueState::Assigned, rng) {
                return transition(id, TransitionRequest::new(ActionKind::Acknowledge));
            }
        }
        _ => {
            if rng.chance(25) {
                let mine: Vec<(&String, i32)> = view
                    .iter()
                    .filter(|(_, i)| i.state == IssueState::Reported && i.version > 0)
                    .map(|(id, i)| (id, i.version))
                    .collect();
                if !mine.is_empty() {
                    let (id, version) = mine[rng.below(mine.len() as u64) as usize];
                    return MutationBody::UpdateIssue(UpdateIssueBody {
                        issue_id: id.clone(),
                        base_version: version,
                        fields: IssueFields {
                            description: Some(format!("补充说明{n}")),
                            title: rng.chance(50).then(|| format!("网格员更正{n}")),
                            ..IssueFields::default()
                        },
                    });
                }
            }
        }
    }
    MutationBody::CreateIssue(NewIssueBody {
        issue_id: uuid::Uuid::now_v7().to_string(),
        title: format!("巡查发现{n}"),
        description: String::new(),
        category: "three_piles".into(),
        severity: Severity::Minor,
        source: IssueSource::GridPatrol,
        place_id: phone.place.clone(),
        location: None,
        photos: Vec::new(),
    })
}
