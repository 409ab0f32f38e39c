//! 验收: the acceptance queue. It opens the first submitted issue's page with `next` pointing
//! back here, so approving or returning it (keys `a` and `r`, see static/console.js) loads the
//! next one at once; with nothing to accept it says so and polls for new submissions.

use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, Nav, html, see_other};
use crate::console::session::ConsoleUser;
use crate::domain::issues::queries::{self, ListRequest};
use actix_web::{HttpResponse, web};
use askama::Template;
use closeout_sync_protocol::IssueState;

#[derive(Template)]
#[template(path = "queue_empty.html")]
struct EmptyQueue {
    head: Head,
    nav: Nav,
}

/// `GET /console/queue`
pub async fn page(
    req: actix_web::HttpRequest,
    state: web::Data<AppState>,
    user: ConsoleUser,
) -> Result<HttpResponse, ConsoleError> {
    let clock = state.clock();
    let caller = user.caller().clone();
    let request = ListRequest {
        states: vec![IssueState::Submitted],
        limit: 1,
        ..ListRequest::default()
    };
    let page = state
        .db
        .run(move |conn| queries::list(conn, &caller, request, clock))
        .await?;
    let polled = crate::console::page::is_htmx(&req);
    match page.items.first() {
        // The empty page polls: htmx is told to go to the new submission, or that nothing changed.
        Some(issue) if polled => Ok(HttpResponse::Ok()
            .insert_header((
                "HX-Redirect",
                format!("/console/issues/{}?next=/console/queue", issue.id),
            ))
            .finish()),
        None if polled => Ok(HttpResponse::NoContent().finish()),
        Some(issue) => Ok(see_other(&format!(
            "/console/issues/{}?next=/console/queue",
            issue.id
        ))),
        None => html(&EmptyQueue {
            head: Head::new(),
            nav: Nav::of(&user, "queue"),
        }),
    }
}
