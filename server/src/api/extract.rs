//! Request extractors: the authenticated [`Caller`] (every protected handler takes one) and the
//! client's IP for rate limits.

use super::state::AppState;
use crate::domain::access::Caller;
use crate::domain::sessions;
use crate::error::{AppError, ErrorCode};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use std::future::Future;
use std::pin::Pin;

/// The caller, authenticated from `Authorization: Bearer <access token>`; 401 with a precise code
/// otherwise. Roles are loaded fresh for each request.
pub struct Authenticated(pub Caller);

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let bearer = bearer_token(req);
        Box::pin(async move {
            let state =
                state.ok_or_else(|| AppError::internal(anyhow::anyhow!("AppState missing")))?;
            let token = bearer?;
            let keys = state.keys.clone();
            let caller = state
                .db
                .run(move |conn| sessions::authenticate(conn, &keys, &token))
                .await?;
            Ok(Authenticated(caller))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, AppError> {
    let value = req.headers().get(header::AUTHORIZATION).ok_or_else(|| {
        AppError::new(
            ErrorCode::Unauthenticated,
            "send `Authorization: Bearer <access token>`",
        )
    })?;
    let value = value.to_str().map_err(|_| {
        AppError::new(
            ErrorCode::TokenMalformed,
            "the Authorization header is not text",
        )
    })?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim().to_owned())
        }
        _ => Err(AppError::new(
            ErrorCode::Unauthenticated,
            "the Authorization header must be `Bearer <access token>`",
        )),
    }
}

/// The peer's IP address (the TCP peer; a proxy in front should be given its own limits).
pub fn client_ip(req: &HttpRequest) -> Option<std::net::IpAddr> {
    req.peer_addr().map(|a| a.ip())
}
