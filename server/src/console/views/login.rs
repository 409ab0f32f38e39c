//! `/login` and `/logout`: the console's session begins and ends here.

use crate::api::extract::client_ip;
use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::page::{Head, html, see_other};
use crate::console::session::ConsoleUser;
use crate::console::{cookies, csrf};
use crate::domain::console_sessions::{self, ConsolePolicy};
use crate::error::ErrorCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    head: Head,
    csrf: String,
    next: String,
    error: Option<String>,
    username: String,
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only paths inside the console may be returned to (no open redirect to another site).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.contains("//") && !n.contains('\\') => {
            n.to_owned()
        }
        _ => "/console/".to_owned(),
    }
}

fn login_page(
    req: &HttpRequest,
    next: String,
    error: Option<String>,
    username: String,
    status: actix_web::http::StatusCode,
) -> Result<HttpResponse, ConsoleError> {
    let token = csrf::generate();
    let page = LoginPage {
        head: Head::new(),
        csrf: token.clone(),
        next,
        error,
        username,
    };
    let mut response = html(&page)?;
    *response.status_mut() = status;
    response
        .add_cookie(&cookies::login_csrf(token, cookies::is_tls(req)))
        .map_err(|e| ConsoleError::App(crate::AppError::internal(anyhow::anyhow!("{e}"))))?;
    Ok(response)
}

/// `GET /login`
pub async fn form(
    req: HttpRequest,
    q: web::Query<NextQuery>,
) -> Result<HttpResponse, ConsoleError> {
    let next = safe_next(q.next.as_deref());
    login_page(
        &req,
        next,
        None,
        String::new(),
        actix_web::http::StatusCode::OK,
    )
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: Option<String>,
    next: Option<String>,
}

/// `POST /login`: a session cookie and on to `next`, or the form again with the reason.
pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, ConsoleError> {
    let form = form.into_inner();
    let expected = req
        .cookie(cookies::LOGIN_CSRF)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    csrf::check(&expected, form.csrf.as_deref())?;
    let next = safe_next(form.next.as_deref());
    let retry = |message: &str| {
        login_page(
            &req,
            next.clone(),
            Some(message.to_owned()),
            form.username.clone(),
            actix_web::http::StatusCode::UNAUTHORIZED,
        )
    };
    if state
        .login_limiter
        .check(&form.username, client_ip(&req))
        .is_err()
    {
        let mut page = retry("登录尝试过于频繁，请稍后再试。")?;
        *page.status_mut() = actix_web::http::StatusCode::TOO_MANY_REQUESTS;
        return Ok(page);
    }
    let decoy = state.decoy_hash.clone();
    let (username, password) = (form.username.clone(), form.password.clone());
    let now = crate::domain::now();
    let opened = state
        .db
        .run(move |conn| {
            console_sessions::open(
                conn,
                ConsolePolicy::default(),
                &username,
                &password,
                &decoy,
                now,
            )
        })
        .await;
    let opened = match opened {
        Ok(o) => o,
        Err(e) if e.code == ErrorCode::InvalidCredentials => {
            return retry("用户名或密码错误。");
        }
        Err(e) if e.code == ErrorCode::AccountDisabled => {
            return retry("此账号已停用。");
        }
        Err(e) => return Err(e.into()),
    };
    let secure = cookies::is_tls(&req);
    let mut response = see_other(&next);
    let set = |r: &mut HttpResponse, c| {
        r.add_cookie(&c)
            .map_err(|e| ConsoleError::App(crate::AppError::internal(anyhow::anyhow!("{e}"))))
    };
    set(&mut response, cookies::session(opened.cookie_token, secure))?;
    set(&mut response, cookies::removal(cookies::LOGIN_CSRF, secure))?;
    Ok(response)
}

#[derive(Debug, Deserialize)]
pub struct LogoutForm {
    csrf: Option<String>,
}

/// `POST /logout`: ends the session row and clears the cookie.
pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ConsoleUser,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, ConsoleError> {
    user.check_csrf(form.csrf.as_deref())?;
    let id = user.0.id.clone();
    let now = crate::domain::now();
    state
        .db
        .run(move |conn| console_sessions::close(conn, &id, now))
        .await?;
    let mut response = see_other("/login");
    response
        .add_cookie(&cookies::removal(cookies::SESSION, cookies::is_tls(&req)))
        .map_err(|e| ConsoleError::App(crate::AppError::internal(anyhow::anyhow!("{e}"))))?;
    Ok(response)
}
