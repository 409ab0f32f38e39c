use super::*;
use serde_json::json;

fn item(key: &str, kind: ItemKind) -> ChecklistItem {
    ChecklistItem {
        key: key.into(),
        title: format!("检查项 {key}"),
        section: None,
        kind,
        points: 0.0,
        fail_below: None,
        min: None,
        max: None,
        unit: None,
        options: Vec::new(),
        severity: Severity::Minor,
        category: None,
        photo_required_on_failure: false,
        guidance: String::new(),
    }
}

fn result(value: serde_json::Value) -> ItemResult {
    ItemResult {
        value,
        ..ItemResult::default()
    }
}

/// pass_fail 10, score 0..20 failing below 12, number 80..=100 worth 10, text, and a choice whose
/// options score 5 / 2 (fails) / 0 (fails).
fn template() -> TemplateContent {
    let mut pass = item("clean", ItemKind::PassFail);
    pass.points = 10.0;
    pass.photo_required_on_failure = true;
    let mut score = item("tidy", ItemKind::Score);
    score.points = 20.0;
    score.fail_below = Some(12.0);
    let mut number = item("progress", ItemKind::Number);
    number.points = 10.0;
    number.min = Some(80.0);
    number.max = Some(100.0);
    let text = item("notes", ItemKind::Text);
    let mut choice = item("signs", ItemKind::SingleChoice);
    choice.options = vec![
        ChoiceOption {
            value: "good".into(),
            label: "规范".into(),
            score: 5.0,
            fails: false,
        },
        ChoiceOption {
            value: "some".into(),
            label: "部分不规范".into(),
            score: 2.0,
            fails: true,
        },
        ChoiceOption {
            value: "bad".into(),
            label: "严重不规范".into(),
            score: 0.0,
            fails: true,
        },
    ];
    TemplateContent {
        name: "测试模板".into(),
        description: String::new(),
        category: "other".into(),
        assign_on_failure: None,
        items: vec![pass, score, number, text, choice],
    }
}

#[test]
fn each_kind_scores_and_fails_by_its_rule() {
    let t = template();
    let e = |i: usize, v: serde_json::Value| evaluate(&t.items[i], &result(v));
    assert_eq!(
        e(0, json!(true)),
        Evaluation {
            score: 10.0,
            max: 10.0,
            failed: false
        }
    );
    assert_eq!(
        e(0, json!(false)),
        Evaluation {
            score: 0.0,
            max: 10.0,
            failed: true
        }
    );
    assert_eq!(
        e(1, json!(12.0)),
        Evaluation {
            score: 12.0,
            max: 20.0,
            failed: false
        }
    );
    assert_eq!(
        e(1, json!(11.5)),
        Evaluation {
            score: 11.5,
            max: 20.0,
            failed: true
        }
    );
    assert_eq!(
        e(2, json!(80.0)),
        Evaluation {
            score: 10.0,
            max: 10.0,
            failed: false
        }
    );
    assert_eq!(
        e(2, json!(79.9)),
        Evaluation {
            score: 0.0,
            max: 10.0,
            failed: true
        }
    );
    assert_eq!(
        e(3, json!("本周完成主体结构")),
        Evaluation {
            score: 0.0,
            max: 0.0,
            failed: false
        }
    );
    assert_eq!(
        e(4, json!("good")),
        Evaluation {
            score: 5.0,
            max: 5.0,
            failed: false
        }
    );
    assert_eq!(
        e(4, json!("some")),
        Evaluation {
            score: 2.0,
            max: 5.0,
            failed: true
        }
    );
    let na = ItemResult {
        not_applicable: true,
        ..ItemResult::default()
    };
    assert_eq!(
        evaluate(&t.items[1], &na),
        Evaluation {
            score: 0.0,
            max: 0.0,
            failed: false
        }
    );
}

#[test]
fn the_total_counts_blank_items_as_zero_and_leaves_out_not_applicable_ones() {
    let t = template();
    let mut results = BTreeMap::new();
    results.insert("clean".to_owned(), result(json!(false)));
    results.insert("tidy".to_owned(), result(json!(15.0)));
    results.insert(
        "signs".to_owned(),
        ItemResult {
            not_applicable: true,
            ..ItemResult::default()
        },
    );
    results.insert("unknown".to_owned(), result(json!(true)));
    // clean 0/10 (failed), tidy 15/20, progress blank 0/10, notes 0/0, signs n/a 0/0:
    // 15 of 40 = 37.5 %.
    let total = total(&t, &results);
    assert_eq!(total.score, 15.0);
    assert_eq!(total.max_score, 40.0);
    assert_eq!(total.percent, Some(37.5));
    assert_eq!(total.failed, vec!["clean".to_owned()]);
}

#[test]
fn results_are_checked_against_their_item_and_normalized() {
    let t = template();
    let bad = |i: usize, v: serde_json::Value| {
        normalize_result(&t.items[i], &result(v)).unwrap_err().field
    };
    assert_eq!(bad(0, json!("yes")), "items.clean.value");
    assert_eq!(bad(1, json!(21)), "items.tidy.value");
    assert_eq!(bad(4, json!("maybe")), "items.signs.value");
    // A failed `clean` without a photo is refused; with one it is fine.
    assert_eq!(bad(0, json!(false)), "items.clean.photos");
    let with_photo = ItemResult {
        value: json!(false),
        photos: vec!["a".repeat(64)],
        ..ItemResult::default()
    };
    assert!(normalize_result(&t.items[0], &with_photo).is_ok());
    // 15 and 15.0 are the same answer after normalizing.
    let a = normalize_result(&t.items[1], &result(json!(15))).unwrap();
    let b = normalize_result(&t.items[1], &result(json!(15.0))).unwrap();
    assert_eq!(a, b);
    let na_with_value = ItemResult {
        value: json!(true),
        not_applicable: true,
        ..ItemResult::default()
    };
    assert!(normalize_result(&t.items[0], &na_with_value).is_err());
}

#[test]
fn templates_are_validated() {
    assert_eq!(validate_template(&template()), Ok(()));
    let mut t = template();
    t.items[1].key = "clean".into();
    assert_eq!(validate_template(&t).unwrap_err().field, "items[1].key");
    let mut t = template();
    t.items[3].points = 5.0;
    assert_eq!(validate_template(&t).unwrap_err().field, "items[3].points");
    let mut t = template();
    t.items[1].fail_below = Some(25.0);
    assert_eq!(
        validate_template(&t).unwrap_err().field,
        "items[1].fail_below"
    );
    let mut t = template();
    t.items[4].options.truncate(1);
    assert_eq!(validate_template(&t).unwrap_err().field, "items[4].options");
    let mut t = template();
    t.items.clear();
    assert_eq!(validate_template(&t).unwrap_err().field, "items");
}

fn stored(rev: i32, v: serde_json::Value) -> StoredResult {
    StoredResult {
        rev,
        result: result(v),
    }
}

fn incoming(key: &str, base_rev: i32, v: serde_json::Value) -> IncomingResult {
    IncomingResult {
        key: key.into(),
        base_rev,
        result: result(v),
    }
}

#[test]
fn different_items_both_land_and_the_same_item_from_the_same_base_conflicts() {
    // Phone A recorded `clean` (rev 1); phone B, which never saw it, records `tidy` and `clean`.
    let mut server = BTreeMap::new();
    server.insert("clean".to_owned(), stored(1, json!(true)));
    let m = merge_results(
        &[
            incoming("tidy", 0, json!(15.0)),
            incoming("clean", 0, json!(false)),
        ],
        &server,
    );
    assert_eq!(m.apply, vec!["tidy".to_owned()]);
    assert_eq!(
        m.conflicts,
        vec!["clean".to_owned()],
        "server's answer stands"
    );
    // The same answer from both phones is no conflict; an edit from the current rev applies.
    let m = merge_results(&[incoming("clean", 0, json!(true))], &server);
    assert_eq!(m, ResultMerge::default());
    let m = merge_results(&[incoming("clean", 1, json!(false))], &server);
    assert_eq!(m.apply, vec!["clean".to_owned()]);
}

#[test]
fn the_mutation_round_trips_as_record_inspection() {
    let body = crate::sync::MutationBody::RecordInspection(wire::RecordInspectionBody {
        inspection_id: "i".into(),
        header: wire::InspectionHeader {
            template_id: "t".into(),
            template_version: 2,
            place_id: "p".into(),
            mode: wire::InspectionMode::Unannounced,
            site: String::new(),
            location: None,
            team: vec![],
            responsible_unit_id: None,
            responsible_user_id: None,
            schedule_id: None,
            started_at: "2026-11-20T08:00:00Z".parse().unwrap(),
        },
        items: vec![wire::ItemEntry {
            key: "clean".into(),
            base_rev: 0,
            result: result(json!(true)),
        }],
        finished_at: None,
        summary: None,
    });
    let text = serde_json::to_string(&body).unwrap();
    assert!(text.contains(r#""type":"record_inspection""#), "{text}");
    assert_eq!(
        serde_json::from_str::<crate::sync::MutationBody>(&text).unwrap(),
        body
    );
}
