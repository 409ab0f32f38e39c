//! 问题详情: one issue — its facts, before/after photos side by side, every evidence flag in words,
//! a map, the history, and a form for each action the caller may take from this state. Actions go
//! through `transitions::apply`, exactly as `POST /api/v1/issues/{id}/transitions`.

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::map::{self, Point, Sketch};
use crate::console::page::{Head, Nav, html, see_other};
use crate::console::session::ConsoleUser;
use crate::console::views::facts::{self, Fact};
use crate::db::DbConnection;
use crate::domain::access::Caller;
use crate::domain::evidence::{self, EvidencePolicy};
use crate::domain::issues::view::IssueDetail;
use crate::domain::issues::{Clock, actions, queries, transitions};
use crate::domain::reports::names::Names;
use crate::error::{AppError, ErrorCode};
use crate::ids::IssueId;
use actix_web::{HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::lifecycle::TransitionRequest;
use closeout_sync_protocol::{ActionKind, IssueState, Light};
use serde::Deserialize;

/// The actions an office takes in the console (progress reports and submissions come from the
/// responsible unit's phone, with photos).
const OFFICE_ACTIONS: [ActionKind; 11] = [
    ActionKind::Assign,
    ActionKind::Acknowledge,
    ActionKind::Approve,
    ActionKind::Return,
    ActionKind::Reopen,
    ActionKind::DecideExtension,
    ActionKind::Reject,
    ActionKind::MarkDuplicate,
    ActionKind::Escalate,
    ActionKind::Comment,
    ActionKind::Instruct,
];

pub struct Photo {
    pub sha256: String,
    pub thumb: String,
    pub full: String,
    pub arrived: bool,
    /// Each flag in words, with its figures.
    pub flags: Vec<String>,
    pub blocking: bool,
}

pub struct Step {
    pub seq: i32,
    pub at: String,
    pub action: String,
    pub actor: String,
    pub role: String,
    pub from: String,
    pub to: String,
    pub comment: String,
    /// What the step set, as `field: value` or `field: old → new`.
    pub changes: Vec<String>,
    pub photos: usize,
}

/// 领导批示 as the page shows it.
pub struct InstructionLine {
    pub at: String,
    pub author: String,
    pub text: String,
}

pub struct View {
    pub id: String,
    /// `green` / `yellow` / `red`, empty once closed.
    pub light: &'static str,
    pub light_zh: &'static str,
    pub light_why: String,
    pub instructions: Vec<InstructionLine>,
    pub ledger_no: String,
    pub title: String,
    pub description: String,
    pub state: &'static str,
    pub state_code: &'static str,
    pub overdue_days: i64,
    pub facts: Vec<Fact>,
    pub before: Vec<Photo>,
    pub after: Vec<Photo>,
    pub history: Vec<Step>,
    pub actions: Vec<&'static str>,
    pub map: Option<Sketch>,
    pub needs_override: bool,
}

#[derive(Template)]
#[template(path = "issue.html")]
struct IssuePage {
    head: Head,
    nav: Nav,
    v: View,
    error: Option<String>,
    /// Where to go after an action (the acceptance queue sends its own).
    next: String,
}

impl IssuePage {
    fn offers(&self, action: &str) -> bool {
        self.v.actions.contains(&action)
    }
}

fn words(flag: &evidence::EvidenceFlag) -> String {
    let figures = match &flag.figures {
        serde_json::Value::Object(map) if !map.is_empty() => {
            let parts: Vec<String> = map
                .iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k}={s}"),
                    other => format!("{k}={other}"),
                })
                .collect();
            format!("（{}）", parts.join("，"))
        }
        _ => String::new(),
    };
    format!("{}{}", flag.message_zh, figures)
}

fn gather(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &IssueId,
    clock: Clock,
    policy: EvidencePolicy,
    thumb_size: u32,
    tiles: &crate::settings::ConsoleSettings,
) -> Result<View, AppError> {
    let IssueDetail {
        issue,
        history,
        instructions,
        ..
    } = queries::detail(conn, caller, id, clock)?;
    let offered = actions::available(conn, caller, id)?;
    let evidence = evidence::evaluate(conn, caller, id, policy)?;
    let mut names = Names::new(conn)?;
    let mut facts = facts::place_and_category(conn, &mut names, &issue)?;
    facts.push(Fact {
        label: "来源",
        value: issue.source.as_str().to_owned(),
    });
    facts.extend(facts::assignment(conn, &mut names, &issue, "%Y-%m-%d")?);
    if let Some(ext) = &issue.extension_request {
        facts.push(Fact {
            label: "申请延期至",
            value: format!(
                "{}（{}）",
                ext.deadline,
                ext.reason.clone().unwrap_or_default()
            ),
        });
    }
    facts.push(facts::escalation(&issue));
    if issue.reopen_count > 0 {
        facts.push(Fact {
            label: "反弹次数",
            value: issue.reopen_count.to_string(),
        });
    }
    let blocking = policy.blocking;
    let mut before = Vec::new();
    let mut after = Vec::new();
    let mut points = Vec::new();
    if let Some(loc) = &issue.location {
        points.push(Point {
            lat: loc.lat,
            lon: loc.lon,
            label: "问题位置".into(),
            kind: "issue",
        });
    }
    for check in &evidence.photos {
        let photo = Photo {
            sha256: check.sha256.clone(),
            thumb: format!(
                "/console/photos/{}/thumbnail?size={thumb_size}",
                check.sha256
            ),
            full: format!("/console/photos/{}", check.sha256),
            arrived: check.arrived,
            flags: check.flags.iter().map(words).collect(),
            blocking: check.role == "after"
                && check.flags.iter().any(|f| blocking.contains(f.code)),
        };
        if check.arrived
            && let Ok(row) = crate::domain::photos::find_readable(conn, caller, &check.sha256)
            && let Ok(meta) = crate::domain::photos::meta(conn, caller, row, Default::default())
            && let Some(gps) = meta.gps
        {
            points.push(Point {
                lat: gps.lat,
                lon: gps.lon,
                label: if check.role == "after" {
                    "整改后"
                } else {
                    "整改前"
                }
                .into(),
                kind: if check.role == "after" {
                    "after"
                } else {
                    "before"
                },
            });
        }
        match check.role {
            "after" => after.push(photo),
            "before" => before.push(photo),
            _ => {}
        }
    }
    let needs_override = issue.state == IssueState::Submitted && after.iter().any(|p| p.blocking);
    let mut last: std::collections::HashMap<String, String> = Default::default();
    let mut steps = Vec::new();
    for event in history {
        let mut changes = Vec::new();
        if let serde_json::Value::Object(map) = &event.data {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("changed", serde_json::Value::Object(fields)) => {
                        for (field, new) in fields {
                            let new = plain(new);
                            match last.insert(field.clone(), new.clone()) {
                                Some(old) => changes.push(format!("{field}: {old} → {new}")),
                                None => changes.push(format!("{field}: → {new}")),
                            }
                        }
                    }
                    (_, serde_json::Value::Null) => {}
                    _ => changes.push(format!("{key}: {}", plain(value))),
                }
            }
        }
        steps.push(Step {
            seq: event.seq,
            at: event.server_time.format("%Y-%m-%d %H:%M").to_string(),
            action: ActionKind::parse(&event.action)
                .map(|a| a.name_zh().to_owned())
                .unwrap_or_else(|| match event.action.as_str() {
                    "report" => "上报".to_owned(),
                    "import" => "清单导入".to_owned(),
                    "update" => "修改".to_owned(),
                    other => other.to_owned(),
                }),
            actor: match &event.actor_id {
                Some(id) => names.person(conn, id)?,
                None => "系统".to_owned(),
            },
            role: event.actor_role.clone(),
            from: event
                .from_state
                .map(|s| s.name_zh())
                .unwrap_or("")
                .to_owned(),
            to: event.to_state.name_zh().to_owned(),
            comment: event.comment.clone().unwrap_or_default(),
            changes,
            photos: event.photos.len(),
        });
    }
    Ok(View {
        id: issue.id.to_string(),
        light: issue.light.map_or("", Light::as_str),
        light_zh: issue.light.map_or("", Light::name_zh),
        light_why: issue
            .light_cause
            .map(|c| c.explain_zh())
            .unwrap_or_default(),
        instructions: instructions
            .into_iter()
            .map(|i| InstructionLine {
                at: clock
                    .zone
                    .local(i.at.naive_utc())
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                author: i.author_name,
                text: i.text,
            })
            .collect(),
        ledger_no: issue.ledger_no,
        title: issue.title,
        description: issue.description,
        state: issue.state.name_zh(),
        state_code: issue.state.as_str(),
        overdue_days: issue.days_overdue,
        facts,
        before,
        after,
        history: steps,
        actions: offered
            .into_iter()
            .filter(|a| OFFICE_ACTIONS.contains(a))
            .map(|a| a.as_str())
            .collect(),
        map: map::map(points, tiles),
        needs_override,
    })
}

fn plain(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "（空）".to_owned(),
        other => other.to_string(),
    }
}

fn parse_id(raw: &str) -> Result<IssueId, AppError> {
    uuid::Uuid::parse_str(raw)
        .map(IssueId::from)
        .map_err(|_| AppError::not_found("issue"))
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    id: IssueId,
    error: Option<(u16, String)>,
    next: String,
) -> Result<HttpResponse, ConsoleError> {
    let clock = state.clock();
    let policy = state.evidence();
    let sizes = &state.photos.thumbnail_sizes;
    let thumb = sizes
        .iter()
        .copied()
        .filter(|s| *s >= 400)
        .min()
        .or_else(|| sizes.iter().copied().max())
        .unwrap_or(256);
    let caller = user.caller().clone();
    let tiles = state.settings.console.clone();
    let v = state
        .db
        .run(move |conn| gather(conn, &caller, &id, clock, policy, thumb, &tiles))
        .await?;
    let status = error.as_ref().map(|(s, _)| *s);
    let mut response = html(&IssuePage {
        head: Head::new(),
        nav: Nav::of(user, "ledger"),
        v,
        error: error.map(|(_, m)| m),
        next,
    })?;
    if let Some(code) = status.and_then(|s| actix_web::http::StatusCode::from_u16(s).ok()) {
        *response.status_mut() = code;
    }
    // The configured tile server is the one other origin this page may load images from.
    if let Some(origin) = state.settings.console.tile_origin()
        && let Ok(value) = actix_web::http::header::HeaderValue::from_str(
            &crate::console::CONTENT_SECURITY_POLICY.replace(
                "img-src 'self' data:",
                &format!("img-src 'self' data: {origin}"),
            ),
        )
    {
        response
            .headers_mut()
            .insert(actix_web::http::header::CONTENT_SECURITY_POLICY, value);
    }
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    next: Option<String>,
}

/// `GET /console/issues/{id}` (404 page when the caller may not see it).
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    q: web::Query<PageQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let id = parse_id(&id)?;
    let next = safe_next(q.next.as_deref(), &id);
    render(&state, &user, id, None, next).await
}

fn safe_next(next: Option<&str>, id: &IssueId) -> String {
    match next {
        Some(n) if n.starts_with("/console/") && !n.contains("//") => n.to_owned(),
        _ => format!("/console/issues/{id}"),
    }
}

/// An action form's fields; empty fields are absent.
#[derive(Debug, Deserialize)]
pub struct ActForm {
    csrf: Option<String>,
    action: String,
    next: Option<String>,
    comment: Option<String>,
    reason: Option<String>,
    override_reason: Option<String>,
    responsible_unit_id: Option<String>,
    responsible_user_id: Option<String>,
    target: Option<String>,
    deadline: Option<String>,
    granted: Option<String>,
    duplicate_of: Option<String>,
}

fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl ActForm {
    fn request(self) -> Result<TransitionRequest, AppError> {
        let action = ActionKind::parse(&self.action)
            .ok_or_else(|| AppError::invalid_field("action", "unknown action", "未知的操作"))?;
        let deadline = match given(self.deadline) {
            Some(d) => Some(
                chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d").map_err(|_| {
                    AppError::invalid_field(
                        "deadline",
                        "not a date (YYYY-MM-DD)",
                        "日期格式应为 YYYY-MM-DD",
                    )
                })?,
            ),
            None => None,
        };
        let mut request = TransitionRequest::new(action);
        request.comment = given(self.comment);
        request.reason = given(self.reason);
        request.override_reason = given(self.override_reason);
        request.responsible_unit_id = given(self.responsible_unit_id);
        request.responsible_user_id = given(self.responsible_user_id);
        request.target = given(self.target);
        request.duplicate_of = given(self.duplicate_of);
        request.granted = given(self.granted).map(|g| g == "true");
        request.device_time = Some(chrono::Utc::now());
        if action == ActionKind::DecideExtension {
            request.deadline = None;
        } else {
            request.deadline = deadline;
        }
        Ok(request)
    }
}

/// `POST /console/issues/{id}/act`: one action, then back to the page (or to `next`); a refused
/// action shows the page again with the reason in Chinese and English.
pub async fn act(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    form: web::Form<ActForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    user.check_csrf(form.csrf.as_deref())?;
    let id = parse_id(&id)?;
    let next = safe_next(form.next.as_deref(), &id);
    let request = match form.request() {
        Ok(r) => r,
        Err(e) => return refused(&state, &user, id, e, next).await,
    };
    let clock = state.clock();
    let policy = state.evidence();
    let caller = user.caller().clone();
    let issue = id.clone();
    let outcome = state
        .db
        .run(move |conn| transitions::apply(conn, &caller, &issue, request, clock, policy))
        .await;
    match outcome {
        Ok(_) => Ok(see_other(&next)),
        Err(e) if e.code == ErrorCode::NotFound => Err(e.into()),
        Err(e) if e.code.status() < 500 => refused(&state, &user, id, e, next).await,
        Err(e) => Err(e.into()),
    }
}

async fn refused(
    state: &AppState,
    user: &ConsoleUser,
    id: IssueId,
    e: AppError,
    next: String,
) -> Result<HttpResponse, ConsoleError> {
    let zh = e
        .detail_zh
        .clone()
        .unwrap_or_else(|| e.code.message_zh().to_owned());
    let message = format!("{zh}（{}: {}）", e.code.as_str(), e.detail);
    render(state, user, id, Some((e.code.status(), message)), next).await
}
