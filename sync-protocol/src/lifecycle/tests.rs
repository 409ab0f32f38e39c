//! Every state × action × role, against a table written out here independently of `RULES`.

use super::*;
use chrono::NaiveDate;

/// (action, roles allowed, states allowed from, state after) — DOMAIN.md's lifecycle as a table.
const SPEC: &[(&str, &str, &str, &str)] = &[
    ("assign", "supervisor", "reported assigned", "assigned"),
    ("acknowledge", "responsible", "assigned", "rectifying"),
    ("progress", "responsible", "rectifying", "="),
    ("submit", "responsible", "rectifying", "submitted"),
    ("approve", "supervisor", "submitted", "closed"),
    ("return", "supervisor", "submitted", "rectifying"),
    ("reopen", "supervisor inspector", "closed", "assigned"),
    (
        "request_extension",
        "responsible",
        "assigned rectifying",
        "=",
    ),
    (
        "decide_extension",
        "supervisor",
        "assigned rectifying submitted",
        "=",
    ),
    ("reject", "supervisor", "reported assigned", "rejected"),
    (
        "mark_duplicate",
        "supervisor",
        "reported assigned",
        "duplicate",
    ),
    ("escalate", "supervisor", "assigned rectifying", "="),
    (
        "comment",
        "grid_worker inspector responsible supervisor admin",
        "reported assigned rectifying submitted closed rejected duplicate",
        "=",
    ),
];

/// The smallest request that satisfies the action's requirements.
fn minimal(action: ActionKind) -> TransitionRequest {
    let mut r = TransitionRequest::new(action);
    for field in rule(action).requires {
        match field {
            Field::ResponsibleUnit => r.responsible_unit_id = Some("unit".into()),
            Field::ResponsibleUser => r.responsible_user_id = Some("user".into()),
            Field::Target => r.target = Some("清理完毕".into()),
            Field::Deadline => r.deadline = NaiveDate::from_ymd_opt(2026, 12, 31),
            Field::Reason => r.reason = Some("理由".into()),
            Field::Comment => r.comment = Some("备注".into()),
            Field::Photos => r.photos = vec!["ab".repeat(32)],
            Field::RequestedDeadline => r.requested_deadline = NaiveDate::from_ymd_opt(2027, 1, 31),
            Field::Granted => r.granted = Some(true),
            Field::DuplicateOf => r.duplicate_of = Some("other".into()),
            Field::Stage => r.stage = Some(ProgressStage::Initial),
            Field::OverrideReason => r.override_reason = Some("现场核实".into()),
        }
    }
    r
}

#[test]
fn the_rules_table_is_in_action_order() {
    for (i, action) in ActionKind::ALL.iter().enumerate() {
        assert_eq!(RULES[i].action, *action);
    }
}

#[test]
fn every_state_action_and_role() {
    let mut checked = 0;
    for (name, roles, from, to) in SPEC {
        let action = ActionKind::parse(name).unwrap();
        for state in IssueState::ALL {
            for role in Role::ALL {
                let facts = Facts {
                    state,
                    extension_pending: action == ActionKind::DecideExtension,
                    escalation_level: 0,
                };
                let got = decide(&facts, &minimal(action), &[role]);
                let role_ok = roles.split(' ').any(|r| r == role.as_str());
                let state_ok = from.split(' ').any(|s| s == state.as_str());
                match got {
                    Ok(d) => {
                        assert!(
                            role_ok && state_ok,
                            "{name} by {role} from {state} was allowed"
                        );
                        let expected = if *to == "=" {
                            state
                        } else {
                            IssueState::parse(to).unwrap()
                        };
                        assert_eq!(d.to, expected, "{name} from {state}");
                        assert_eq!(d.role, role);
                    }
                    Err(Refusal::RoleNotAllowed { .. }) => {
                        assert!(!role_ok, "{name} by {role} refused for role")
                    }
                    Err(Refusal::StateNotAllowed { .. }) => {
                        assert!(
                            role_ok && !state_ok,
                            "{name} by {role} from {state} refused for state"
                        )
                    }
                    Err(other) => panic!("{name} by {role} from {state}: unexpected {other:?}"),
                }
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 13 * 7 * 5);
}

#[test]
fn required_fields_are_named_when_missing_and_foreign_fields_refused() {
    let facts = |state| Facts {
        state,
        extension_pending: false,
        escalation_level: 0,
    };
    let mut assign = minimal(ActionKind::Assign);
    assign.target = Some("  ".into());
    assert_eq!(
        decide(&facts(IssueState::Reported), &assign, &[Role::Supervisor]),
        Err(Refusal::MissingField {
            action: ActionKind::Assign,
            field: Field::Target
        })
    );
    let mut submit = minimal(ActionKind::Submit);
    submit.photos.clear();
    assert!(matches!(
        decide(
            &facts(IssueState::Rectifying),
            &submit,
            &[Role::Responsible]
        ),
        Err(Refusal::MissingField {
            field: Field::Photos,
            ..
        })
    ));
    let mut ret = minimal(ActionKind::Return);
    ret.reason = None;
    assert!(matches!(
        decide(&facts(IssueState::Submitted), &ret, &[Role::Supervisor]),
        Err(Refusal::MissingField {
            field: Field::Reason,
            ..
        })
    ));
    let mut ack = minimal(ActionKind::Acknowledge);
    ack.deadline = NaiveDate::from_ymd_opt(2030, 1, 1);
    assert!(matches!(
        decide(&facts(IssueState::Assigned), &ack, &[Role::Responsible]),
        Err(Refusal::FieldNotApplicable {
            field: Field::Deadline,
            ..
        })
    ));
    // Comment and photos may go with anything.
    let mut ack = minimal(ActionKind::Acknowledge);
    ack.comment = Some("已签收".into());
    ack.photos = vec!["cd".repeat(32)];
    assert!(decide(&facts(IssueState::Assigned), &ack, &[Role::Responsible]).is_ok());
    assert_eq!(
        decide(
            &facts(IssueState::Assigned),
            &TransitionRequest::default(),
            &[Role::Admin]
        ),
        Err(Refusal::NoAction)
    );
}

#[test]
fn extensions_and_escalation_depend_on_facts() {
    let pending = Facts {
        state: IssueState::Rectifying,
        extension_pending: true,
        escalation_level: 0,
    };
    assert_eq!(
        decide(
            &pending,
            &minimal(ActionKind::RequestExtension),
            &[Role::Responsible]
        ),
        Err(Refusal::ExtensionAlreadyPending)
    );
    let none = Facts {
        extension_pending: false,
        ..pending
    };
    assert_eq!(
        decide(
            &none,
            &minimal(ActionKind::DecideExtension),
            &[Role::Supervisor]
        ),
        Err(Refusal::NoPendingExtension)
    );
    let top = Facts {
        escalation_level: MAX_ESCALATION,
        ..none
    };
    assert_eq!(
        decide(&top, &minimal(ActionKind::Escalate), &[Role::Supervisor]),
        Err(Refusal::EscalationAtTop)
    );
}

#[test]
fn a_person_with_several_roles_acts_in_the_one_the_rule_accepts() {
    let facts = Facts {
        state: IssueState::Closed,
        extension_pending: false,
        escalation_level: 0,
    };
    let d = decide(
        &facts,
        &minimal(ActionKind::Reopen),
        &[Role::GridWorker, Role::Inspector],
    )
    .unwrap();
    assert_eq!(d.role, Role::Inspector);
}

#[test]
fn the_whole_life_of_an_issue() {
    use ActionKind as A;
    let steps = [
        (A::Assign, Role::Supervisor, IssueState::Assigned),
        (A::Acknowledge, Role::Responsible, IssueState::Rectifying),
        (A::Progress, Role::Responsible, IssueState::Rectifying),
        (A::Submit, Role::Responsible, IssueState::Submitted),
        (A::Return, Role::Supervisor, IssueState::Rectifying),
        (A::Submit, Role::Responsible, IssueState::Submitted),
        (A::Approve, Role::Supervisor, IssueState::Closed),
        (A::Reopen, Role::Supervisor, IssueState::Assigned),
        (A::Acknowledge, Role::Responsible, IssueState::Rectifying),
        (A::Submit, Role::Responsible, IssueState::Submitted),
        (A::Approve, Role::Supervisor, IssueState::Closed),
    ];
    let mut state = IssueState::Reported;
    for (action, role, expected) in steps {
        let facts = Facts {
            state,
            extension_pending: false,
            escalation_level: 0,
        };
        state = decide(&facts, &minimal(action), &[role]).unwrap().to;
        assert_eq!(state, expected, "after {action}");
    }
    assert!(!state.is_open());
}

#[test]
fn wire_format_is_flat_json_and_refuses_unknown_fields() {
    let r: TransitionRequest =
        serde_json::from_str(r#"{"action":"assign","responsible_unit_id":"u","responsible_user_id":"p","target":"t","deadline":"2026-12-31"}"#)
            .unwrap();
    assert_eq!(r.action, Some(ActionKind::Assign));
    assert_eq!(r.deadline, NaiveDate::from_ymd_opt(2026, 12, 31));
    assert!(
        serde_json::from_str::<TransitionRequest>(r#"{"action":"approve","colour":"red"}"#)
            .is_err()
    );
    assert!(serde_json::from_str::<TransitionRequest>(r#"{"action":"close"}"#).is_err());
}

#[test]
fn who_may_edit_an_issues_fields() {
    use IssueState as S;
    assert!(may_edit_fields(S::Reported, &[Role::GridWorker], true));
    assert!(
        !may_edit_fields(S::Assigned, &[Role::GridWorker], true),
        "the reporter edits only before assignment"
    );
    assert!(!may_edit_fields(S::Reported, &[Role::GridWorker], false));
    assert!(may_edit_fields(S::Submitted, &[Role::Supervisor], false));
    assert!(
        !may_edit_fields(S::Closed, &[Role::Supervisor], false),
        "a closed issue is a record"
    );
    assert!(!may_edit_fields(
        S::Reported,
        &[Role::Responsible, Role::Inspector],
        false
    ));
}

#[test]
fn available_actions_agree_with_decide_on_role_state_and_facts() {
    use IssueState as S;
    let supervisor = [Role::Supervisor];
    let submitted = Facts {
        state: S::Submitted,
        extension_pending: false,
        escalation_level: 0,
    };
    let offered = available(&submitted, &supervisor);
    assert!(offered.contains(&ActionKind::Approve));
    assert!(offered.contains(&ActionKind::Return));
    assert!(!offered.contains(&ActionKind::Assign));
    assert!(
        !offered.contains(&ActionKind::DecideExtension),
        "nothing pending"
    );
    let pending = Facts {
        extension_pending: true,
        state: S::Rectifying,
        ..submitted
    };
    assert!(available(&pending, &supervisor).contains(&ActionKind::DecideExtension));
    assert!(!available(&pending, &[Role::Responsible]).contains(&ActionKind::RequestExtension));
    let top = Facts {
        escalation_level: MAX_ESCALATION,
        ..pending
    };
    assert!(!available(&top, &supervisor).contains(&ActionKind::Escalate));
    assert!(
        available(&submitted, &[Role::GridWorker])
            .iter()
            .all(|a| { rule(*a).roles.contains(&Role::GridWorker) })
    );
    // Every offered action is one decide() refuses only for missing fields.
    for state in S::ALL {
        let facts = Facts {
            state,
            extension_pending: false,
            escalation_level: 0,
        };
        for action in available(&facts, &supervisor) {
            let refusal = decide(&facts, &TransitionRequest::new(action), &supervisor).err();
            assert!(
                matches!(refusal, None | Some(Refusal::MissingField { .. })),
                "{action:?} from {state:?}: {refusal:?}"
            );
        }
    }
}
