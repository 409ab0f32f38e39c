//! The issue lifecycle (整改台账 → 销号): states, actions, which roles may take each action from
//! which states, and what each action requires. The server and every phone client decide with
//! this one table, so an action a phone queues offline is judged by the same rules on arrival.

mod request;

pub use request::{Position, ProgressStage, TransitionRequest};

use crate::Role;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Where an issue stands. Overdue is not a state: it is derived from the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum IssueState {
    /// 上报 — found and reported, not yet handed to anyone.
    Reported,
    /// 交办 — a responsible unit and person, a target and a deadline.
    Assigned,
    /// 整改中 — the unit has signed for it and is rectifying.
    Rectifying,
    /// 办结反馈 — the unit says it is done, with after-photos.
    Submitted,
    /// 销号 — verified and struck off the ledger.
    Closed,
    /// 不予受理 — not a real issue.
    Rejected,
    /// 重复 — the same as another issue (linked).
    Duplicate,
}

impl IssueState {
    pub const ALL: [IssueState; 7] = [
        Self::Reported,
        Self::Assigned,
        Self::Rectifying,
        Self::Submitted,
        Self::Closed,
        Self::Rejected,
        Self::Duplicate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reported => "reported",
            Self::Assigned => "assigned",
            Self::Rectifying => "rectifying",
            Self::Submitted => "submitted",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Duplicate => "duplicate",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Reported => "已上报",
            Self::Assigned => "已交办",
            Self::Rectifying => "整改中",
            Self::Submitted => "待验收",
            Self::Closed => "已销号",
            Self::Rejected => "不予受理",
            Self::Duplicate => "重复",
        }
    }

    /// Still on the open backlog (动态清零 drives these to zero).
    pub fn is_open(self) -> bool {
        !matches!(self, Self::Closed | Self::Rejected | Self::Duplicate)
    }

    /// Waiting on the responsible unit: the states in which a passed deadline is the unit's delay
    /// and the escalation ladder applies.
    pub fn awaits_unit(self) -> bool {
        matches!(self, Self::Assigned | Self::Rectifying)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for IssueState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything that can be done to an issue after it is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// 交办: hand to a responsible unit and person with a target and deadline (again: reassign).
    Assign,
    /// 签收: the unit signs for the issue and starts rectifying.
    Acknowledge,
    /// 初报/续报/终报: a progress report.
    Progress,
    /// 办结反馈: the unit reports it done, with at least one after-photo.
    Submit,
    /// 销号: verified and closed. Only a supervisor of the issue's place.
    Approve,
    /// 退回: verification failed; back to rectifying, with a reason.
    Return,
    /// 反弹: found again after close-out; back to assigned, the reopen count kept.
    Reopen,
    /// 申请延期: the unit asks for a later deadline.
    RequestExtension,
    /// 延期审批: the supervisor grants or refuses the pending request.
    DecideExtension,
    /// 不予受理: not a real issue.
    Reject,
    /// 重复: the same as another issue, which it links to.
    MarkDuplicate,
    /// 升级: one step up the ladder 催办 → 通报 → 约谈 → 问责 (the scheduler does this too).
    Escalate,
    /// A remark; changes nothing.
    Comment,
    /// 领导批示: an instruction from a supervisor or leader, shown above the history and on the
    /// notice, and sent to the unit's phones like any change. Changes no state.
    Instruct,
}

impl ActionKind {
    pub const ALL: [ActionKind; 14] = [
        Self::Assign,
        Self::Acknowledge,
        Self::Progress,
        Self::Submit,
        Self::Approve,
        Self::Return,
        Self::Reopen,
        Self::RequestExtension,
        Self::DecideExtension,
        Self::Reject,
        Self::MarkDuplicate,
        Self::Escalate,
        Self::Comment,
        Self::Instruct,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assign => "assign",
            Self::Acknowledge => "acknowledge",
            Self::Progress => "progress",
            Self::Submit => "submit",
            Self::Approve => "approve",
            Self::Return => "return",
            Self::Reopen => "reopen",
            Self::RequestExtension => "request_extension",
            Self::DecideExtension => "decide_extension",
            Self::Reject => "reject",
            Self::MarkDuplicate => "mark_duplicate",
            Self::Escalate => "escalate",
            Self::Comment => "comment",
            Self::Instruct => "instruct",
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Self::Assign => "交办",
            Self::Acknowledge => "签收",
            Self::Progress => "进展报告",
            Self::Submit => "办结反馈",
            Self::Approve => "验收销号",
            Self::Return => "退回整改",
            Self::Reopen => "反弹重办",
            Self::RequestExtension => "申请延期",
            Self::DecideExtension => "延期审批",
            Self::Reject => "不予受理",
            Self::MarkDuplicate => "标记重复",
            Self::Escalate => "升级督办",
            Self::Comment => "备注",
            Self::Instruct => "领导批示",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl fmt::Display for ActionKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A request field an action may need.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    ResponsibleUnit,
    ResponsibleUser,
    Target,
    Deadline,
    Reason,
    Comment,
    Photos,
    RequestedDeadline,
    Granted,
    DuplicateOf,
    Stage,
    OverrideReason,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ResponsibleUnit => "responsible_unit_id",
            Self::ResponsibleUser => "responsible_user_id",
            Self::Target => "target",
            Self::Deadline => "deadline",
            Self::Reason => "reason",
            Self::Comment => "comment",
            Self::Photos => "photos",
            Self::RequestedDeadline => "requested_deadline",
            Self::Granted => "granted",
            Self::DuplicateOf => "duplicate_of",
            Self::Stage => "stage",
            Self::OverrideReason => "override_reason",
        }
    }
}

/// One row of the table: who may take an action, from where, to where, needing what.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub action: ActionKind,
    pub roles: &'static [Role],
    pub from: &'static [IssueState],
    /// None: the state does not change.
    pub to: Option<IssueState>,
    /// Fields that must be present.
    pub requires: &'static [Field],
    /// Fields that may be present besides the required ones (comment, photos, location and
    /// device time may accompany any action and are not listed).
    pub allows: &'static [Field],
}

use IssueState as S;
use Role as R;

const ANY: &[IssueState] = &IssueState::ALL;
const OPEN: &[IssueState] = &[S::Reported, S::Assigned, S::Rectifying, S::Submitted];

/// The table. Exhaustively tested below; documented in docs/ledger.md.
pub const RULES: [Rule; 14] = [
    Rule {
        action: ActionKind::Assign,
        roles: &[R::Supervisor],
        from: &[S::Reported, S::Assigned],
        to: Some(S::Assigned),
        requires: &[
            Field::ResponsibleUnit,
            Field::ResponsibleUser,
            Field::Target,
            Field::Deadline,
        ],
        allows: &[],
    },
    Rule {
        action: ActionKind::Acknowledge,
        roles: &[R::Responsible],
        from: &[S::Assigned],
        to: Some(S::Rectifying),
        requires: &[],
        allows: &[],
    },
    Rule {
        action: ActionKind::Progress,
        roles: &[R::Responsible],
        from: &[S::Rectifying],
        to: None,
        requires: &[Field::Comment],
        allows: &[Field::Stage],
    },
    Rule {
        action: ActionKind::Submit,
        roles: &[R::Responsible],
        from: &[S::Rectifying],
        to: Some(S::Submitted),
        requires: &[Field::Photos],
        allows: &[],
    },
    Rule {
        action: ActionKind::Approve,
        roles: &[R::Supervisor],
        from: &[S::Submitted],
        to: Some(S::Closed),
        requires: &[],
        allows: &[Field::OverrideReason],
    },
    Rule {
        action: ActionKind::Return,
        roles: &[R::Supervisor],
        from: &[S::Submitted],
        to: Some(S::Rectifying),
        requires: &[Field::Reason],
        allows: &[Field::Deadline],
    },
    Rule {
        action: ActionKind::Reopen,
        roles: &[R::Supervisor, R::Inspector],
        from: &[S::Closed],
        to: Some(S::Assigned),
        requires: &[Field::Reason],
        allows: &[Field::Deadline],
    },
    Rule {
        action: ActionKind::RequestExtension,
        roles: &[R::Responsible],
        from: &[S::Assigned, S::Rectifying],
        to: None,
        requires: &[Field::RequestedDeadline, Field::Reason],
        allows: &[],
    },
    Rule {
        action: ActionKind::DecideExtension,
        roles: &[R::Supervisor],
        from: &[S::Assigned, S::Rectifying, S::Submitted],
        to: None,
        requires: &[Field::Granted],
        allows: &[Field::Deadline],
    },
    Rule {
        action: ActionKind::Reject,
        roles: &[R::Supervisor],
        from: &[S::Reported, S::Assigned],
        to: Some(S::Rejected),
        requires: &[Field::Reason],
        allows: &[],
    },
    Rule {
        action: ActionKind::MarkDuplicate,
        roles: &[R::Supervisor],
        from: &[S::Reported, S::Assigned],
        to: Some(S::Duplicate),
        requires: &[Field::DuplicateOf],
        allows: &[],
    },
    Rule {
        action: ActionKind::Escalate,
        roles: &[R::Supervisor],
        from: &[S::Assigned, S::Rectifying],
        to: None,
        requires: &[Field::Reason],
        allows: &[],
    },
    Rule {
        action: ActionKind::Comment,
        roles: &[
            R::GridWorker,
            R::Inspector,
            R::Responsible,
            R::Supervisor,
            R::Admin,
        ],
        from: ANY,
        to: None,
        requires: &[Field::Comment],
        allows: &[],
    },
    Rule {
        action: ActionKind::Instruct,
        roles: &[R::Supervisor],
        from: OPEN,
        to: None,
        requires: &[Field::Comment],
        allows: &[],
    },
];

/// The roles that may report a new issue on a place.
pub const REPORTERS: &[Role] = &[R::GridWorker, R::Inspector, R::Supervisor];

/// Who may edit an issue's own fields (title, description, category, severity, location): its
/// reporter while it is still `reported`, and a supervisor of its place while it is open.
pub fn may_edit_fields(state: IssueState, roles: &[Role], is_reporter: bool) -> bool {
    (roles.contains(&Role::Supervisor) && state.is_open())
        || (is_reporter && state == IssueState::Reported)
}

/// The top of the escalation ladder: 1 催办, 2 通报, 3 约谈, 4 问责.
pub const MAX_ESCALATION: i32 = 4;

pub fn rule(action: ActionKind) -> &'static Rule {
    // RULES is in ActionKind::ALL order (checked by a test).
    &RULES[ActionKind::ALL
        .iter()
        .position(|a| *a == action)
        .unwrap_or(0)]
}

/// What the rules need to know about the issue besides its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    pub state: IssueState,
    pub extension_pending: bool,
    pub escalation_level: i32,
}

/// The outcome of an allowed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub action: ActionKind,
    /// The role the caller acts in (the first of the caller's roles the rule accepts).
    pub role: Role,
    pub from: IssueState,
    pub to: IssueState,
}

/// Why an action is refused. Checked in this order: missing action, role, state, fields, facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    NoAction,
    RoleNotAllowed {
        action: ActionKind,
        needs: &'static [Role],
    },
    StateNotAllowed {
        action: ActionKind,
        state: IssueState,
    },
    MissingField {
        action: ActionKind,
        field: Field,
    },
    FieldNotApplicable {
        action: ActionKind,
        field: Field,
    },
    NoPendingExtension,
    ExtensionAlreadyPending,
    EscalationAtTop,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoAction => write!(f, "`action` is required"),
            Self::RoleNotAllowed { action, needs } => {
                let names: Vec<&str> = needs.iter().map(|r| r.as_str()).collect();
                write!(
                    f,
                    "`{action}` needs the role {} for this issue",
                    names.join(" or ")
                )
            }
            Self::StateNotAllowed { action, state } => {
                write!(f, "`{action}` is not possible while the issue is {state}")
            }
            Self::MissingField { action, field } => {
                write!(f, "`{action}` requires `{}`", field.as_str())
            }
            Self::FieldNotApplicable { action, field } => {
                write!(f, "`{}` does not apply to `{action}`", field.as_str())
            }
            Self::NoPendingExtension => {
                write!(f, "there is no pending extension request to decide")
            }
            Self::ExtensionAlreadyPending => write!(f, "an extension request is already pending"),
            Self::EscalationAtTop => write!(
                f,
                "the issue is already at the top of the escalation ladder"
            ),
        }
    }
}

impl Refusal {
    /// The Chinese message for the same refusal.
    pub fn message_zh(&self) -> String {
        match self {
            Self::NoAction => "缺少 action 字段".into(),
            Self::RoleNotAllowed { action, needs } => {
                let names: Vec<&str> = needs.iter().map(|r| r.name_zh()).collect();
                format!("“{}”需要本问题的{}角色", action.name_zh(), names.join("或"))
            }
            Self::StateNotAllowed { action, state } => {
                format!(
                    "问题当前为“{}”，不能执行“{}”",
                    state.name_zh(),
                    action.name_zh()
                )
            }
            Self::MissingField { action, field } => {
                format!("“{}”需要填写 {}", action.name_zh(), field.as_str())
            }
            Self::FieldNotApplicable { action, field } => {
                format!("{} 不适用于“{}”", field.as_str(), action.name_zh())
            }
            Self::NoPendingExtension => "没有待审批的延期申请".into(),
            Self::ExtensionAlreadyPending => "已有待审批的延期申请".into(),
            Self::EscalationAtTop => "已升级至最高等级（问责）".into(),
        }
    }
}

const ALL_FIELDS: [Field; 12] = [
    Field::ResponsibleUnit,
    Field::ResponsibleUser,
    Field::Target,
    Field::Deadline,
    Field::Reason,
    Field::Comment,
    Field::Photos,
    Field::RequestedDeadline,
    Field::Granted,
    Field::DuplicateOf,
    Field::Stage,
    Field::OverrideReason,
];

/// Judges an action: may a caller holding `roles` (on this issue) take it, from the issue's
/// current state, with these fields? Pure; the same answer on the phone and on the server.
pub fn decide(
    facts: &Facts,
    request: &TransitionRequest,
    roles: &[Role],
) -> Result<Decision, Refusal> {
    let action = request.action.ok_or(Refusal::NoAction)?;
    let rule = rule(action);
    let role = rule
        .roles
        .iter()
        .copied()
        .find(|r| roles.contains(r))
        .ok_or(Refusal::RoleNotAllowed {
            action,
            needs: rule.roles,
        })?;
    if !rule.from.contains(&facts.state) {
        return Err(Refusal::StateNotAllowed {
            action,
            state: facts.state,
        });
    }
    for field in rule.requires {
        if !request.has(*field) {
            return Err(Refusal::MissingField {
                action,
                field: *field,
            });
        }
    }
    // Comment and photos may accompany any action; anything else must be the action's own.
    for field in ALL_FIELDS {
        let own = rule.requires.contains(&field) || rule.allows.contains(&field);
        if !own && !matches!(field, Field::Comment | Field::Photos) && request.has(field) {
            return Err(Refusal::FieldNotApplicable { action, field });
        }
    }
    match action {
        ActionKind::RequestExtension if facts.extension_pending => {
            return Err(Refusal::ExtensionAlreadyPending);
        }
        ActionKind::DecideExtension if !facts.extension_pending => {
            return Err(Refusal::NoPendingExtension);
        }
        ActionKind::Escalate if facts.escalation_level >= MAX_ESCALATION => {
            return Err(Refusal::EscalationAtTop);
        }
        _ => {}
    }
    Ok(Decision {
        action,
        role,
        from: facts.state,
        to: rule.to.unwrap_or(facts.state),
    })
}

/// The actions a caller holding `roles` may take on an issue with these facts, whatever fields
/// they would then fill in: what a screen offers (the console's buttons, a phone's menu). Judged
/// by the same table and fact checks as [`decide`].
pub fn available(facts: &Facts, roles: &[Role]) -> Vec<ActionKind> {
    ActionKind::ALL
        .into_iter()
        .filter(|action| {
            let rule = rule(*action);
            rule.roles.iter().any(|r| roles.contains(r))
                && rule.from.contains(&facts.state)
                && match action {
                    ActionKind::RequestExtension => !facts.extension_pending,
                    ActionKind::DecideExtension => facts.extension_pending,
                    ActionKind::Escalate => facts.escalation_level < MAX_ESCALATION,
                    _ => true,
                }
        })
        .collect()
}

#[cfg(test)]
mod tests;
