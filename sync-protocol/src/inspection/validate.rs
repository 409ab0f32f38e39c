//! What a template and a recorded result must look like: the checks phones make before they
//! queue a mutation and the server makes again, with the field and a message in both languages.

use super::{ChecklistItem, ItemKind, ItemResult, TemplateContent, evaluate};
use std::collections::BTreeSet;

/// Why a template or a result is not acceptable: the field and a message in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub field: String,
    pub message: String,
    pub message_zh: String,
}

pub(crate) fn invalid(
    field: impl Into<String>,
    message: impl Into<String>,
    zh: impl Into<String>,
) -> Invalid {
    Invalid {
        field: field.into(),
        message: message.into(),
        message_zh: zh.into(),
    }
}

fn chars(s: &str) -> usize {
    s.trim().chars().count()
}

fn is_key(key: &str) -> bool {
    (1..=64).contains(&key.len())
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Checks a template's content (category codes are checked by the server against its taxonomy).
pub fn validate_template(t: &TemplateContent) -> Result<(), Invalid> {
    if !(1..=100).contains(&chars(&t.name)) {
        return Err(invalid(
            "name",
            "must be 1–100 characters",
            "须为 1–100 个字符",
        ));
    }
    if chars(&t.description) > 2000 {
        return Err(invalid(
            "description",
            "at most 2000 characters",
            "最多 2000 个字符",
        ));
    }
    if let Some(a) = &t.assign_on_failure
        && !(1..=365).contains(&a.deadline_days)
    {
        return Err(invalid(
            "assign_on_failure.deadline_days",
            "must be 1–365",
            "须为 1–365",
        ));
    }
    if !(1..=200).contains(&t.items.len()) {
        return Err(invalid("items", "1–200 items", "须有 1–200 个检查项"));
    }
    let mut keys = BTreeSet::new();
    for (i, item) in t.items.iter().enumerate() {
        let at = |f: &str| format!("items[{i}].{f}");
        if !is_key(&item.key) {
            return Err(invalid(
                at("key"),
                "1–64 lower-case letters, digits or _",
                "须为 1–64 个小写字母、数字或下划线",
            ));
        }
        if !keys.insert(item.key.as_str()) {
            return Err(invalid(
                at("key"),
                format!("`{}` is used twice", item.key),
                format!("“{}”重复", item.key),
            ));
        }
        if !(1..=200).contains(&chars(&item.title)) {
            return Err(invalid(
                at("title"),
                "must be 1–200 characters",
                "须为 1–200 个字符",
            ));
        }
        if chars(&item.guidance) > 2000 {
            return Err(invalid(
                at("guidance"),
                "at most 2000 characters",
                "最多 2000 个字符",
            ));
        }
        let finite = |v: f64| (0.0..=1000.0).contains(&v);
        if !finite(item.points) {
            return Err(invalid(at("points"), "must be 0–1000", "须为 0–1000"));
        }
        let unused = |f: &str, set: bool| {
            if set {
                Err(invalid(
                    at(f),
                    format!("does not apply to `{}` items", kind_name(item.kind)),
                    format!("不适用于“{}”类检查项", item.kind.name_zh()),
                ))
            } else {
                Ok(())
            }
        };
        match item.kind {
            ItemKind::PassFail => {
                unused("fail_below", item.fail_below.is_some())?;
                unused("min", item.min.is_some() || item.max.is_some())?;
                unused("options", !item.options.is_empty())?;
            }
            ItemKind::Score => {
                if item.points <= 0.0 {
                    return Err(invalid(
                        at("points"),
                        "a score item needs points > 0",
                        "评分项的分值须大于 0",
                    ));
                }
                if item
                    .fail_below
                    .is_some_and(|t| !(t > 0.0 && t <= item.points))
                {
                    return Err(invalid(
                        at("fail_below"),
                        "must be above 0 and at most points",
                        "须大于 0 且不超过分值",
                    ));
                }
                unused("min", item.min.is_some() || item.max.is_some())?;
                unused("options", !item.options.is_empty())?;
            }
            ItemKind::Number => {
                unused("fail_below", item.fail_below.is_some())?;
                unused("options", !item.options.is_empty())?;
                if [item.min, item.max]
                    .iter()
                    .flatten()
                    .any(|v| !v.is_finite())
                {
                    return Err(invalid(at("min"), "must be a number", "须为数字"));
                }
                if let (Some(lo), Some(hi)) = (item.min, item.max)
                    && lo > hi
                {
                    return Err(invalid(at("min"), "must not exceed max", "不得大于 max"));
                }
            }
            ItemKind::Text => {
                unused("points", item.points != 0.0)?;
                unused("fail_below", item.fail_below.is_some())?;
                unused("min", item.min.is_some() || item.max.is_some())?;
                unused("options", !item.options.is_empty())?;
                unused("photo_required_on_failure", item.photo_required_on_failure)?;
            }
            ItemKind::SingleChoice => {
                unused("points", item.points != 0.0)?;
                unused("fail_below", item.fail_below.is_some())?;
                unused("min", item.min.is_some() || item.max.is_some())?;
                if !(2..=20).contains(&item.options.len()) {
                    return Err(invalid(at("options"), "2–20 options", "须有 2–20 个选项"));
                }
                let mut values = BTreeSet::new();
                for o in &item.options {
                    if !values.insert(o.value.as_str()) || !(1..=64).contains(&chars(&o.value)) {
                        return Err(invalid(
                            at("options"),
                            "option values must be 1–64 characters and distinct",
                            "选项值须为 1–64 个字符且不重复",
                        ));
                    }
                    if !(1..=100).contains(&chars(&o.label)) || !finite(o.score) {
                        return Err(invalid(
                            at("options"),
                            "each option needs a label (1–100 characters) and a score of 0–1000",
                            "每个选项须有名称（1–100 个字符）和 0–1000 的分值",
                        ));
                    }
                }
            }
        }
    }
    Ok(())
}

pub fn kind_name(kind: ItemKind) -> &'static str {
    match kind {
        ItemKind::PassFail => "pass_fail",
        ItemKind::Score => "score",
        ItemKind::Number => "number",
        ItemKind::Text => "text",
        ItemKind::SingleChoice => "single_choice",
    }
}

/// Whether `s` is a lower-case hex SHA-256.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Checks a result against its item and returns it in canonical form (note trimmed, numbers as
/// floating point), so that the same answer compares equal whichever phone sent it.
pub fn normalize_result(item: &ChecklistItem, r: &ItemResult) -> Result<ItemResult, Invalid> {
    let field = |f: &str| format!("items.{}.{f}", item.key);
    if chars(&r.note) > 2000 {
        return Err(invalid(
            field("note"),
            "at most 2000 characters",
            "最多 2000 个字符",
        ));
    }
    if r.photos.len() > 20 || !r.photos.iter().all(|p| is_sha256(p)) {
        return Err(invalid(
            field("photos"),
            "at most 20, each a lower-case hex SHA-256",
            "最多 20 张，每张为小写十六进制 SHA-256",
        ));
    }
    let mut out = ItemResult {
        value: r.value.clone(),
        not_applicable: r.not_applicable,
        note: r.note.trim().to_owned(),
        photos: r.photos.clone(),
    };
    if r.not_applicable {
        if !r.value.is_null() {
            return Err(invalid(
                field("value"),
                "must be null when not applicable",
                "不适用时须为空",
            ));
        }
        return Ok(out);
    }
    let number = || {
        r.value
            .as_f64()
            .filter(|v| v.is_finite())
            .and_then(serde_json::Number::from_f64)
            .ok_or_else(|| invalid(field("value"), "must be a number", "须为数字"))
    };
    match item.kind {
        ItemKind::PassFail => {
            if !r.value.is_boolean() {
                return Err(invalid(
                    field("value"),
                    "must be true (pass) or false (fail)",
                    "须为 true（合格）或 false（不合格）",
                ));
            }
        }
        ItemKind::Score => {
            let n = number()?;
            let v = n.as_f64().unwrap_or(-1.0);
            if !(0.0..=item.points).contains(&v) {
                return Err(invalid(
                    field("value"),
                    format!("must be 0–{}", item.points),
                    format!("须为 0–{}", item.points),
                ));
            }
            out.value = serde_json::Value::Number(n);
        }
        ItemKind::Number => out.value = serde_json::Value::Number(number()?),
        ItemKind::Text => match r.value.as_str() {
            Some(s) if chars(s) <= 5000 => {
                out.value = serde_json::Value::String(s.trim().to_owned())
            }
            _ => {
                return Err(invalid(
                    field("value"),
                    "must be text of at most 5000 characters",
                    "须为不超过 5000 个字符的文字",
                ));
            }
        },
        ItemKind::SingleChoice => {
            let known = r
                .value
                .as_str()
                .is_some_and(|v| item.options.iter().any(|o| o.value == v));
            if !known {
                return Err(invalid(
                    field("value"),
                    "must be one of the item's option values",
                    "须为该项的选项之一",
                ));
            }
        }
    }
    if item.photo_required_on_failure && out.photos.is_empty() && evaluate(item, &out).failed {
        return Err(invalid(
            field("photos"),
            "a failed result of this item needs at least one photo",
            "该项不合格时须附照片",
        ));
    }
    Ok(out)
}
