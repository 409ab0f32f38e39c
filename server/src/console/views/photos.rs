//! Photos for the console's pages, authorised by the session cookie (an `<img>` cannot send a
//! bearer token): the same visibility check and the same streaming as `/api/v1/photos/*`.

use crate::api::photos::{check_sha, serve};
use crate::api::state::AppState;
use crate::console::errors::ConsoleError;
use crate::console::session::ConsoleUser;
use crate::domain::photos;
use crate::error::AppError;
use crate::storage::PhotoStore;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

/// `GET /console/photos/{sha256}`: the original.
pub async fn original(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ConsoleUser,
    sha256: web::Path<String>,
) -> Result<HttpResponse, ConsoleError> {
    let sha = check_sha(&sha256)?;
    let caller = user.caller().clone();
    let s = sha.clone();
    let photo = state
        .db
        .run(move |conn| photos::find_readable(conn, &caller, &s))
        .await?;
    Ok(serve(
        &req,
        &state,
        &PhotoStore::blob_key(&sha),
        &sha,
        &photo.content_type,
    )
    .await?)
}

#[derive(Debug, Deserialize)]
pub struct Size {
    size: Option<u32>,
}

/// `GET /console/photos/{sha256}/thumbnail?size=N`: a stored thumbnail (the original when the
/// photo has none, so a page always shows something).
pub async fn thumbnail(
    req: HttpRequest,
    state: web::Data<AppState>,
    user: ConsoleUser,
    sha256: web::Path<String>,
    q: web::Query<Size>,
) -> Result<HttpResponse, ConsoleError> {
    let sha = check_sha(&sha256)?;
    let caller = user.caller().clone();
    let s = sha.clone();
    let photo = state
        .db
        .run(move |conn| photos::find_readable(conn, &caller, &s))
        .await?;
    let stored: Vec<u32> = serde_json::from_str(&photo.thumbnails).map_err(AppError::internal)?;
    let wanted = q.size.unwrap_or(0);
    let size = stored
        .iter()
        .copied()
        .filter(|s| *s >= wanted)
        .min()
        .or_else(|| stored.iter().copied().max());
    Ok(match size {
        Some(size) => {
            serve(
                &req,
                &state,
                &PhotoStore::thumbnail_key(&sha, size),
                &format!("{sha}-{size}"),
                "image/jpeg",
            )
            .await?
        }
        None => {
            serve(
                &req,
                &state,
                &PhotoStore::blob_key(&sha),
                &sha,
                &photo.content_type,
            )
            .await?
        }
    })
}
