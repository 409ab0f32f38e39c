//! The console's request extractor: the session cookie turned into the same [`Caller`] the bearer
//! extractor yields (through `domain::console_sessions`, which ends in the one function that
//! builds a Caller from any credential). No cookie, or an ended session: the login page.

use super::cookies;
use super::errors::ConsoleError;
use crate::api::state::AppState;
use crate::domain::access::Caller;
use crate::domain::console_sessions::{self, ConsolePolicy, ConsoleSession};
use crate::error::{AppError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::Future;
use std::pin::Pin;

/// A logged-in console user.
pub struct ConsoleUser(pub ConsoleSession);

impl ConsoleUser {
    pub fn caller(&self) -> &Caller {
        &self.0.caller
    }

    /// Refuses a form whose CSRF token is not this session's.
    pub fn check_csrf(&self, presented: Option<&str>) -> Result<(), ConsoleError> {
        super::csrf::check(&self.0.csrf_token, presented)
    }
}

impl FromRequest for ConsoleUser {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = req.cookie(cookies::SESSION).map(|c| c.value().to_owned());
        let next = if req.method() == actix_web::http::Method::GET {
            req.uri()
                .path_and_query()
                .map_or("/console/", |p| p.as_str())
                .to_owned()
        } else {
            "/console/".to_owned()
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| {
                ConsoleError::App(AppError::internal(anyhow::anyhow!("AppState missing")))
            })?;
            let Some(token) = token.filter(|t| !t.is_empty()) else {
                return Err(ConsoleError::NotLoggedIn { next });
            };
            let now = crate::domain::now();
            let session = state
                .db
                .run(move |conn| {
                    console_sessions::authenticate(conn, ConsolePolicy::default(), &token, now)
                })
                .await;
            match session {
                Ok(session) => Ok(ConsoleUser(session)),
                Err(e)
                    if matches!(
                        e.code,
                        ErrorCode::SessionRevoked | ErrorCode::AccountDisabled
                    ) =>
                {
                    Err(ConsoleError::NotLoggedIn { next })
                }
                Err(e) => Err(e.into()),
            }
        })
    }
}
