//! 督办单: the printable supervision sheet of one issue, in the colour of its light (蓝/黄/红督办单:
//! titles and colours are the office's settings `lights.*_sheet`). The colours reach the page as
//! a small stylesheet made from the settings (`/console/sheet.css`): the CSP allows no inline style.

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, html};
use crate::console::session::ConsoleUser;
use crate::console::views::facts::{self, Fact};
use crate::domain::issues::queries;
use crate::domain::issues::view::IssueDetail;
use crate::domain::reports::names::Names;
use crate::error::AppError;
use crate::ids::IssueId;
use crate::settings::LightSettings;
use actix_web::{HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::Light;

#[derive(Template)]
#[template(path = "sheet.html")]
struct SheetPage {
    head: Head,
    id: String,
    /// `green` / `yellow` / `red`; `none` once the issue is closed (no colour, no sheet title).
    light: &'static str,
    title: String,
    ledger_no: String,
    issue_title: String,
    description: String,
    why: String,
    lines: Vec<Fact>,
    instructions: Vec<(String, String, String)>,
    issued_on: String,
}

/// `GET /console/issues/{id}/sheet`.
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let id = uuid::Uuid::parse_str(&id)
        .map(IssueId::from)
        .map_err(|_| AppError::not_found("issue"))?;
    let clock = state.clock();
    let caller = user.caller().clone();
    let lights = state.settings.lights.clone();
    let page = state
        .db
        .run(move |conn| {
            let IssueDetail {
                issue,
                instructions,
                ..
            } = queries::detail(conn, &caller, &id, clock)?;
            let mut names = Names::new(conn)?;
            let mut lines = facts::place_and_category(conn, &mut names, &issue)?;
            lines.push(Fact {
                label: "当前状态",
                value: issue.state.name_zh().to_owned(),
            });
            lines.extend(facts::assignment(conn, &mut names, &issue, "%Y年%m月%d日")?);
            lines.push(facts::escalation(&issue));
            let zone = clock.zone;
            Ok::<_, AppError>(SheetPage {
                head: Head::new(),
                id: issue.id.to_string(),
                light: issue.light.map_or("none", Light::as_str),
                title: issue
                    .light
                    .map_or_else(|| "督办单".to_owned(), |l| lights.sheet(l).title.clone()),
                ledger_no: issue.ledger_no,
                issue_title: issue.title,
                description: issue.description,
                why: issue
                    .light_cause
                    .map(|c| {
                        format!(
                            "{}（{}）",
                            issue.light.map_or("", Light::name_zh),
                            c.explain_zh()
                        )
                    })
                    .unwrap_or_else(|| "已办结".to_owned()),
                lines,
                instructions: instructions
                    .into_iter()
                    .map(|i| {
                        (
                            zone.local(i.at.naive_utc()).format("%Y-%m-%d").to_string(),
                            i.author_name,
                            i.text,
                        )
                    })
                    .collect(),
                issued_on: clock.today.format("%Y年%m月%d日").to_string(),
            })
        })
        .await?;
    html(&page)
}

/// The sheet colours as CSS custom properties, from settings checked at start-up (`#rrggbb`).
pub fn colours_css(lights: &LightSettings) -> String {
    let mut css = String::from("/* 督办单 colours: settings lights.*_sheet */\n");
    for light in Light::ALL {
        css.push_str(&format!(
            ".sheet.{} {{ --sheet: {}; }}\n",
            light.as_str(),
            lights.sheet(light).colour
        ));
    }
    css.push_str(".sheet.none { --sheet: #555555; }\n");
    css
}

/// `GET /console/sheet.css`.
pub async fn colours(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .body(colours_css(&state.settings.lights))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_colours_come_from_the_settings() {
        let mut lights = LightSettings::default();
        lights.red_sheet.colour = "#ab0000".into();
        let css = colours_css(&lights);
        assert!(css.contains(".sheet.red { --sheet: #ab0000; }"), "{css}");
        assert!(css.contains(".sheet.green { --sheet: #1f5fbf; }"), "{css}");
    }
}
