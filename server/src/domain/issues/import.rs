//! Reading a handed-down list (交办清单) from XLSX or CSV into checked rows: every row resolved
//! against places, categories, units and people, every bad row named with its spreadsheet row
//! number and reason. Rows naming a responsible unit, person, target and deadline are assigned on
//! import (交办), as the list hands them down. What is then written is planned in `import_plan`.

use super::Clock;
use super::report::{self, NewIssue, validate_position};
use crate::db::models::OrgUnitRow;
use crate::db::{DbConnection, categories, org_units, users};
use crate::domain::access::{Caller, Place};
use crate::domain::accounts;
use crate::domain::places_import::RowError;
use crate::domain::sheet::{self, find_header, parse_day};
use crate::error::{AppError, ErrorCode};
use crate::ids::{OrgUnitId, UserId};
use closeout_sync_protocol::{IssueSource, Role, Severity};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The row's stable number within its list (序号): a corrected re-send is matched by it.
const KEY: &[&str] = &["序号", "编号", "no"];
/// A village or community by name, as county lists give it instead of a code: resolved among the
/// places the importer supervises or administers.
const PLACE_NAME: &[&str] = &[
    "所属村（社区）",
    "所属村(社区)",
    "村（社区）",
    "村(社区)",
    "所属村",
    "所属社区",
    "村居",
    "村名",
    "place_name",
];

/// Column names as offices write them (the first matching header wins).
const TITLE: &[&str] = &["问题标题", "问题名称", "标题", "问题", "title"];
const DESCRIPTION: &[&str] = &[
    "问题描述",
    "具体问题",
    "存在问题",
    "问题情况",
    "description",
];
const CATEGORY: &[&str] = &["问题类别", "问题类型", "类别", "category"];
const PLACE: &[&str] = &[
    "区划代码",
    "行政区划代码",
    "所属区域代码",
    "村居代码",
    "place_code",
];
const UNIT: &[&str] = &["责任单位", "责任单位代码", "responsible_unit"];
const PERSON: &[&str] = &["责任人", "责任人账号", "responsible_person"];
const TARGET: &[&str] = &["整改目标", "整改要求", "整改措施", "target"];
const DEADLINE: &[&str] = &["完成时限", "整改时限", "办结时限", "deadline"];
const SEVERITY: &[&str] = &["严重程度", "severity"];
const SOURCE: &[&str] = &["问题来源", "来源", "source"];
const ADDRESS: &[&str] = &["具体位置", "地址", "address"];
const LAT: &[&str] = &["纬度", "lat", "latitude"];
const LON: &[&str] = &["经度", "lon", "longitude"];

pub(super) struct Assignment {
    pub unit: OrgUnitRow,
    pub person: UserId,
    pub target: String,
    pub deadline: chrono::NaiveDate,
}

/// One checked row of the list.
pub(super) struct Row {
    pub row: usize,
    /// 序号 as written, when the list has that column and the row fills it.
    pub key: Option<String>,
    /// SHA-256 of the row's cells: a re-sent row with the same hash is unchanged.
    pub content_sha256: String,
    pub issue: NewIssue,
    pub place: OrgUnitRow,
    pub role: Role,
    pub assignment: Option<Assignment>,
}

/// The list as read: its title line (if any), its rows and the problems found.
pub(super) struct ParsedList {
    pub title: Option<String>,
    pub data_rows: usize,
    pub rows: Vec<Row>,
    pub errors: Vec<RowError>,
}

/// Reads and checks the list as `caller`; writes nothing. A file that is no list at all (no
/// header row) is an error; bad rows are returned in `errors`.
pub(super) fn parse(
    conn: &mut DbConnection,
    caller: &Caller,
    bytes: &[u8],
    clock: Clock,
) -> Result<ParsedList, AppError> {
    let table = sheet::read(bytes)?;
    let columns = [
        TITLE,
        DESCRIPTION,
        CATEGORY,
        PLACE,
        UNIT,
        PERSON,
        TARGET,
        DEADLINE,
        SEVERITY,
        SOURCE,
        ADDRESS,
        LAT,
        LON,
        KEY,
        PLACE_NAME,
    ];
    let Some((header_row, cols)) = find_header(&table, columns, 3) else {
        return Err(missing_header());
    };
    let [
        title,
        description,
        category,
        place,
        unit,
        person,
        target,
        deadline,
        severity,
        source,
        address,
        lat,
        lon,
        key,
        place_name,
    ] = cols;
    // A title column, or a description to derive titles from; a place code or a place name.
    let (Some(category), true, true) = (
        category,
        title.is_some() || description.is_some(),
        place.is_some() || place_name.is_some(),
    ) else {
        return Err(missing_header());
    };

    let title_line = table
        .iter()
        .take(header_row)
        .flat_map(|r| r.iter())
        .map(|c| c.trim())
        .find(|c| !c.is_empty())
        .map(str::to_owned);
    let mut lookup = Lookup::load(conn)?;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut data_rows = 0;
    let mut keys_seen: HashMap<String, usize> = HashMap::new();
    for (i, cells) in table.iter().enumerate().skip(header_row + 1) {
        let row_no = i + 1;
        let cell = |c: Option<usize>| c.and_then(|c| cells.get(c)).map(|s| s.trim()).unwrap_or("");
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        data_rows += 1;
        let parsed = (|| -> Result<Row, (String, String)> {
            let row_key = Some(cell(key).to_owned()).filter(|k| !k.is_empty());
            if let Some(k) = &row_key
                && let Some(first) = keys_seen.insert(k.clone(), row_no)
            {
                return Err((
                    format!("序号 `{k}` was already used on row {first}"),
                    format!("序号“{k}”与第 {first} 行重复"),
                ));
            }
            if cell(title).is_empty() && cell(description).is_empty() {
                return Err((
                    "no title and no description: say what the problem is".into(),
                    "问题标题和问题描述均为空".into(),
                ));
            }
            let place = match (cell(place), cell(place_name)) {
                ("", "") => {
                    return Err((
                        "no place code or village/community name".into(),
                        "缺少区划代码或所属村（社区）".into(),
                    ));
                }
                ("", name) => lookup.place_by_name(caller, name)?,
                (code, _) => lookup.by_code.get(code).cloned().ok_or_else(|| {
                    (
                        format!("unknown place code `{code}`"),
                        format!("区划代码“{code}”不存在"),
                    )
                })?,
            };
            let at = Place { path: &place.path };
            let role = [Role::Supervisor, Role::Admin]
                .into_iter()
                .find(|r| caller.has_role_at(*r, at))
                .ok_or_else(|| {
                    (
                        "you are not a supervisor or admin of this place".to_owned(),
                        "您不是该区域的督查办或管理员".to_owned(),
                    )
                })?;
            let category = lookup.category(cell(Some(category)), &place.path)?;
            let severity = match cell(severity) {
                "" => Severity::Minor,
                s => Severity::parse(s).ok_or_else(|| {
                    (
                        format!("unknown severity `{s}`"),
                        format!("严重程度“{s}”无法识别（一般/较重/严重/重大）"),
                    )
                })?,
            };
            let source = match cell(source) {
                "" => IssueSource::HandedDown,
                s => IssueSource::parse(s).ok_or_else(|| {
                    (
                        format!("unknown source `{s}`"),
                        format!("问题来源“{s}”无法识别"),
                    )
                })?,
            };
            let location = match (cell(lat), cell(lon)) {
                ("", "") => None,
                (la, lo) => {
                    let (Ok(la), Ok(lo)) = (la.parse::<f64>(), lo.parse::<f64>()) else {
                        return Err((
                            "latitude and longitude must both be numbers".into(),
                            "经纬度须同时填写数字".into(),
                        ));
                    };
                    validate_position(la, lo, None).map_err(split)?;
                    Some(super::view::Location {
                        lat: la,
                        lon: lo,
                        accuracy_m: None,
                        address: None,
                    })
                }
            };
            let location = match (location, cell(address)) {
                (Some(mut l), a) => {
                    l.address = Some(a.to_owned()).filter(|a| !a.is_empty());
                    Some(l)
                }
                (None, _) => None,
            };
            let issue = NewIssue {
                id: None,
                title: match cell(title) {
                    "" => derive_title(cell(description)),
                    t => t.to_owned(),
                },
                description: [cell(description), cell(address)]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .copied()
                    .collect::<Vec<_>>()
                    .join("\n"),
                category,
                severity,
                source,
                place_id: place.id.clone(),
                location,
                device_time: None,
                photos: Vec::new(),
            };
            report::validate(&issue).map_err(split)?;
            let parts = [cell(unit), cell(person), cell(target), cell(deadline)];
            let assignment = match parts.iter().filter(|p| !p.is_empty()).count() {
                0 => None,
                4 => {
                    if !caller.has_role_at(Role::Supervisor, at) {
                        return Err((
                            "assigning needs the supervisor role for this place".into(),
                            "交办需要该区域的督查办角色".into(),
                        ));
                    }
                    let unit = lookup.unit(parts[0])?;
                    let person = lookup.person(conn, parts[1], &unit)?;
                    let deadline = parse_day(parts[3]).ok_or_else(|| {
                        (
                            format!("`{}` is not a date", parts[3]),
                            format!("完成时限“{}”不是日期", parts[3]),
                        )
                    })?;
                    if deadline < clock.today {
                        return Err((
                            "the deadline has already passed".into(),
                            "完成时限早于今天".into(),
                        ));
                    }
                    Some(Assignment {
                        unit,
                        person,
                        target: parts[2].to_owned(),
                        deadline,
                    })
                }
                _ => {
                    return Err((
                        "assigning needs the responsible unit, person, target and deadline together".into(),
                        "交办须同时填写责任单位、责任人、整改目标和完成时限".into(),
                    ));
                }
            };
            let mut hasher = Sha256::new();
            for c in cells {
                hasher.update(c.trim().as_bytes());
                hasher.update([0x1f]);
            }
            Ok(Row {
                row: row_no,
                key: row_key,
                content_sha256: hex::encode(hasher.finalize()),
                issue,
                place,
                role,
                assignment,
            })
        })();
        match parsed {
            Ok(row) => rows.push(row),
            Err((reason, reason_zh)) => errors.push(RowError {
                row: row_no,
                reason,
                reason_zh,
            }),
        }
    }
    Ok(ParsedList {
        title: title_line,
        data_rows,
        rows,
        errors,
    })
}

fn split(e: AppError) -> (String, String) {
    let zh = e.detail_zh.clone().unwrap_or_else(|| e.detail.clone());
    (e.detail, zh)
}

/// A title from a description, for lists without a title column: its first sentence or clause,
/// at most 30 characters.
fn derive_title(description: &str) -> String {
    let first = description
        .split(['。', '；', ';', '\n', '，', ','])
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("");
    first.chars().take(30).collect()
}

pub(super) fn missing_header() -> AppError {
    AppError::new(
        ErrorCode::ImportRejected,
        "no header row with 问题类别 (category), 问题标题 or 问题描述 (title or description) and 区划代码 or 所属村（社区） (place code or village name) in the first 10 rows",
    )
    .zh("前 10 行中找不到含“问题类别”、“问题标题”或“问题描述”、“区划代码”或“所属村（社区）”的表头")
}

/// Everything rows are resolved against, loaded once.
struct Lookup {
    by_code: HashMap<String, OrgUnitRow>,
    by_name: HashMap<String, Vec<OrgUnitRow>>,
    categories: Vec<(String, String)>,
    /// (wording, category code, county path — None for a shipped default).
    aliases: Vec<(String, String, Option<String>)>,
    people: HashMap<(String, OrgUnitId), UserId>,
}

impl Lookup {
    fn load(conn: &mut DbConnection) -> Result<Self, AppError> {
        let mut by_code = HashMap::new();
        let mut by_name: HashMap<String, Vec<OrgUnitRow>> = HashMap::new();
        for unit in org_units::all(conn)? {
            if let Some(code) = &unit.code {
                by_code.insert(code.clone(), unit.clone());
            }
            by_name.entry(unit.name.clone()).or_default().push(unit);
        }
        let categories = categories::list(conn)?
            .into_iter()
            .filter(|c| c.active)
            .map(|c| (c.code, c.name_zh))
            .collect();
        let aliases = crate::db::category_aliases::all(conn)?
            .into_iter()
            .map(|(a, path)| (a.alias, a.category_code, path))
            .collect();
        Ok(Self {
            by_code,
            by_name,
            categories,
            aliases,
            people: HashMap::new(),
        })
    }

    /// A category by an alias in effect at the row's place (its county's first, then the shipped
    /// defaults: `category_aliases`), by code, by its Chinese name, or by the name's short form
    /// before the bracket (`三堆` for `三堆（垃圾堆、柴草堆、粪土堆）`).
    fn category(&self, text: &str, place_path: &str) -> Result<String, (String, String)> {
        let text = self
            .aliases
            .iter()
            .filter(|(alias, _, county)| {
                alias == text && county.as_deref().is_none_or(|c| place_path.starts_with(c))
            })
            .max_by_key(|(_, _, county)| county.as_ref().map_or(0, String::len))
            .map_or(text, |(_, code, _)| code.as_str());
        self.categories
            .iter()
            .find(|(code, name)| {
                code == text || name == text || name.split('（').next() == Some(text)
            })
            .map(|(code, _)| code.clone())
            .ok_or_else(|| {
                (
                    format!("unknown category `{text}`"),
                    format!("问题类别“{text}”不存在"),
                )
            })
    }

    /// A village or community by name, among the places the caller supervises or administers
    /// (a name that two of them share must be given by code).
    fn place_by_name(&self, caller: &Caller, name: &str) -> Result<OrgUnitRow, (String, String)> {
        let within: Vec<&OrgUnitRow> = self
            .by_name
            .get(name)
            .map(|v| {
                v.iter()
                    .filter(|p| {
                        [Role::Supervisor, Role::Admin]
                            .into_iter()
                            .any(|r| caller.has_role_at(r, Place { path: &p.path }))
                    })
                    .collect()
            })
            .unwrap_or_default();
        match within.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err((
                format!("no village or community named `{name}` in your places"),
                format!("您的辖区内没有名为“{name}”的村（社区）"),
            )),
            _ => Err((
                format!("several places in your area are named `{name}`; use 区划代码"),
                format!("辖区内有多个名为“{name}”的地方，请填写区划代码"),
            )),
        }
    }

    /// A responsible unit by code, or by a name no other place has.
    fn unit(&self, text: &str) -> Result<OrgUnitRow, (String, String)> {
        if let Some(u) = self.by_code.get(text) {
            return Ok(u.clone());
        }
        match self.by_name.get(text).map(Vec::as_slice) {
            Some([one]) => Ok(one.clone()),
            Some([_, _, ..]) => Err((
                format!("several units are named `{text}`; use its code"),
                format!("有多个名为“{text}”的单位，请填写代码"),
            )),
            _ => Err((
                format!("unknown responsible unit `{text}`"),
                format!("责任单位“{text}”不存在"),
            )),
        }
    }

    /// The responsible person by username, or by a display name that only one of the unit's
    /// responsible people has.
    fn person(
        &mut self,
        conn: &mut DbConnection,
        text: &str,
        unit: &OrgUnitRow,
    ) -> Result<UserId, (String, String)> {
        let key = (text.to_owned(), unit.id.clone());
        if let Some(id) = self.people.get(&key) {
            return Ok(id.clone());
        }
        let db = |e: diesel::result::Error| (e.to_string(), "数据库错误".to_owned());
        let mut candidates = Vec::new();
        if let Some(u) = users::find_by_username(conn, text).map_err(db)? {
            candidates.push(u);
        } else {
            candidates = users::find_by_display_name(conn, text).map_err(db)?;
        }
        let mut responsible = Vec::new();
        for user in candidates.into_iter().filter(|u| u.active) {
            let holds = accounts::roles_of(conn, &user.id)
                .map_err(|e| (e.detail, "数据库错误".to_owned()))?
                .into_iter()
                .any(|(g, _)| {
                    g.role == Role::Responsible && unit.path.starts_with(&g.subtree_path)
                });
            if holds {
                responsible.push(user.id);
            }
        }
        match responsible.as_slice() {
            [one] => {
                self.people.insert(key, one.clone());
                Ok(one.clone())
            }
            [] => Err((
                format!("`{text}` is not a responsible person of {}", unit.name),
                format!("“{text}”不是{}的责任人", unit.name),
            )),
            _ => Err((
                format!("several responsible people are named `{text}`; use the username"),
                format!("有多个名为“{text}”的责任人，请填写账号"),
            )),
        }
    }
}
