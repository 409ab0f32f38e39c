//! What every console page needs: the asset links for `<head>`, the navigation bar's context, and
//! rendering a template into a response (the whole page, or only its fragment for htmx).

use super::assets::{HTMX, SCRIPT, STYLE};
use super::errors::ConsoleError;
use super::session::ConsoleUser;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

/// The `<head>` links, with their hashed URLs and integrity.
pub struct Head {
    pub css: String,
    pub css_sri: String,
    pub htmx: String,
    pub htmx_sri: String,
    pub js: String,
    pub js_sri: String,
}

impl Head {
    pub fn new() -> Self {
        Self {
            css: STYLE.url(),
            css_sri: STYLE.integrity.clone(),
            htmx: HTMX.url(),
            htmx_sri: HTMX.integrity.clone(),
            js: SCRIPT.url(),
            js_sri: SCRIPT.integrity.clone(),
        }
    }
}

impl Default for Head {
    fn default() -> Self {
        Self::new()
    }
}

/// The navigation bar: who is logged in, which page is current, and the token the logout form
/// (and every other form on the page) carries.
pub struct Nav {
    pub username: String,
    pub csrf: String,
    pub active: &'static str,
    /// Whether to offer 人员与区划 (the caller is an admin somewhere; the pages check again).
    pub admin: bool,
}

impl Nav {
    pub fn of(user: &ConsoleUser, active: &'static str) -> Self {
        Self {
            username: user.caller().username.clone(),
            csrf: user.0.csrf_token.clone(),
            active,
            admin: !user
                .caller()
                .subtrees_with(closeout_sync_protocol::Role::Admin)
                .is_empty(),
        }
    }

    /// The class of a navigation link: `on` for the current page.
    pub fn class(&self, page: &str) -> &'static str {
        if self.active == page { "on" } else { "" }
    }
}

/// Whether htmx made the request (it then wants only the fragment it swaps in).
pub fn is_htmx(req: &HttpRequest) -> bool {
    req.headers().contains_key("HX-Request") && !req.headers().contains_key("HX-Boosted")
}

/// A rendered template as a 200 HTML response.
pub fn html(template: &impl Template) -> Result<HttpResponse, ConsoleError> {
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(template.render()?))
}

/// 303 to `to` (after a form post), also understood by htmx.
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, to.to_owned()))
        .finish()
}
