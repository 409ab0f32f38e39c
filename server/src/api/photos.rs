//! `/api/v1/photos/{sha256}`: a photo's bytes, thumbnails and facts. Content never changes under
//! a SHA-256, so responses are cacheable forever (`immutable`, `ETag` = the hash), but only by the
//! reader's own browser (`private`): a shared cache would hand them to anyone with the URL.

use super::extract::Authenticated;
use super::state::AppState;
use crate::domain::photos::{self, Crs, PhotoMeta};
use crate::error::{AppError, ErrorCode};
use crate::storage::PhotoStore;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::TryStreamExt;
use serde::Deserialize;

const IMMUTABLE: &str = "private, max-age=31536000, immutable";

pub(crate) fn check_sha(sha256: &str) -> Result<String, AppError> {
    let sha = sha256.to_ascii_lowercase();
    if sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(sha)
    } else {
        Err(AppError::new(
            ErrorCode::InvalidId,
            "a photo is named by its SHA-256 (64 hex digits)",
        )
        .zh("照片以其 SHA-256（64 位十六进制）标识"))
    }
}

/// A signed link's query (`auth::photo_links`): what printed pages put in their `<img>` tags.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct LinkQuery {
    /// Signed links only: when the link stops working (Unix seconds).
    pub expires: Option<i64>,
    /// Signed links only: HMAC-SHA-256 (hex) over the photo, the size and `expires`; stands
    /// for the bearer token.
    pub sig: Option<String>,
}

/// The photo if the caller may read it: by a signed link (`sig` + `expires`, no token needed)
/// when the query has `sig`, else by the bearer token.
async fn readable(
    req: &HttpRequest,
    state: &AppState,
    sha: &str,
    variant: &str,
    expires: Option<i64>,
    sig: Option<&str>,
) -> Result<crate::db::photos::PhotoRow, AppError> {
    let sha = sha.to_owned();
    if let Some(sig) = sig {
        let now = chrono::Utc::now().timestamp();
        state
            .keys
            .photo_links()
            .verify(&sha, variant, expires, sig, now)?;
        return state
            .db
            .run(move |conn| photos::find_linked(conn, &sha))
            .await;
    }
    let caller = Authenticated::from_request(req, &mut actix_web::dev::Payload::None).await?;
    state
        .db
        .run(move |conn| photos::find_readable(conn, &caller.0, &sha))
        .await
}

/// For printed pages: the `src` of a photo's largest thumbnail as a signed link, valid for
/// `photos.signed_url_ttl_secs` (≤ 1 h). Call it only after the caller's right to see the
/// photos was checked (the page's own read check).
pub(crate) fn signed_thumbnail_src(state: &AppState) -> impl Fn(&str) -> String + use<> {
    let key = state.keys.photo_links().clone();
    let ttl = state.photos.signed_url_ttl_secs;
    let size = state
        .photos
        .thumbnail_sizes
        .iter()
        .copied()
        .max()
        .unwrap_or(1280);
    let now = chrono::Utc::now().timestamp();
    move |sha: &str| {
        let query = key.query(sha, &size.to_string(), now, ttl);
        format!("/api/v1/photos/{sha}/thumbnail?size={size}&{query}")
    }
}

/// The original bytes, with the Content-Type sniffed from them.
#[utoipa::path(
    get,
    path = "/api/v1/photos/{sha256}",
    tag = "photos",
    params(("sha256" = String, Path), LinkQuery),
    responses((status = 200, content_type = "image/*", body = Vec<u8>), (status = 304), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn original(
    req: HttpRequest,
    state: web::Data<AppState>,
    sha256: web::Path<String>,
    link: web::Query<LinkQuery>,
) -> Result<HttpResponse, AppError> {
    let sha = check_sha(&sha256)?;
    let photo = readable(
        &req,
        &state,
        &sha,
        crate::auth::photo_links::ORIGINAL,
        link.expires,
        link.sig.as_deref(),
    )
    .await?;
    serve(
        &req,
        &state,
        &PhotoStore::blob_key(&sha),
        &sha,
        &photo.content_type,
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ThumbnailQuery {
    /// Long edge in pixels: one of the configured sizes (256 or 1280 by default).
    pub size: Option<u32>,
    /// Signed links only (see the original's `expires`).
    pub expires: Option<i64>,
    /// Signed links only (see the original's `sig`).
    pub sig: Option<String>,
}

/// An upright JPEG thumbnail.
#[utoipa::path(
    get,
    path = "/api/v1/photos/{sha256}/thumbnail",
    tag = "photos",
    params(("sha256" = String, Path), ThumbnailQuery),
    responses((status = 200, content_type = "image/jpeg", body = Vec<u8>), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn thumbnail(
    req: HttpRequest,
    state: web::Data<AppState>,
    sha256: web::Path<String>,
    query: web::Query<ThumbnailQuery>,
) -> Result<HttpResponse, AppError> {
    let sha = check_sha(&sha256)?;
    let sizes = &state.photos.thumbnail_sizes;
    let size = query
        .size
        .unwrap_or_else(|| sizes.iter().copied().min().unwrap_or(256));
    if !sizes.contains(&size) {
        return Err(AppError::new(
            ErrorCode::InvalidQuery,
            format!("size must be one of {sizes:?}"),
        )
        .zh(format!("size 应为 {sizes:?} 之一")));
    }
    let photo = readable(
        &req,
        &state,
        &sha,
        &size.to_string(),
        query.expires,
        query.sig.as_deref(),
    )
    .await?;
    let stored: Vec<u32> = serde_json::from_str(&photo.thumbnails).map_err(AppError::internal)?;
    if !stored.contains(&size) {
        return Err(AppError::new(
            ErrorCode::NotFound,
            "this photo has no thumbnail (see the no_thumbnail flag in /meta)",
        )
        .zh("此照片没有缩略图"));
    }
    let etag = format!("{sha}-{size}");
    serve(
        &req,
        &state,
        &PhotoStore::thumbnail_key(&sha, size),
        &etag,
        "image/jpeg",
    )
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct MetaQuery {
    /// Coordinate system of `gps`: `wgs84` (default, as stored), `gcj02` (AMap/Tencent) or `bd09` (Baidu).
    #[param(inline)]
    pub crs: Option<Crs>,
}

/// Format, size, EXIF facts, flags, perceptual hash, and the uploads of these bytes the caller may see.
#[utoipa::path(
    get,
    path = "/api/v1/photos/{sha256}/meta",
    tag = "photos",
    params(("sha256" = String, Path), MetaQuery),
    responses((status = 200, body = PhotoMeta), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn meta(
    state: web::Data<AppState>,
    caller: Authenticated,
    sha256: web::Path<String>,
    query: web::Query<MetaQuery>,
) -> Result<web::Json<PhotoMeta>, AppError> {
    let sha = check_sha(&sha256)?;
    let crs = query.crs.unwrap_or_default();
    let meta = state
        .db
        .run(move |conn| {
            let photo = photos::find_readable(conn, &caller.0, &sha)?;
            photos::meta(conn, &caller.0, photo, crs)
        })
        .await?;
    Ok(web::Json(meta))
}

pub(crate) async fn serve(
    req: &HttpRequest,
    state: &AppState,
    key: &object_store::path::Path,
    etag: &str,
    content_type: &str,
) -> Result<HttpResponse, AppError> {
    let quoted = format!("\"{etag}\"");
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == quoted || t.trim() == "*"));
    if matches {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, quoted))
            .insert_header((header::CACHE_CONTROL, IMMUTABLE))
            .finish());
    }
    let got = state.photos.store.get(key).await.map_err(|e| {
        let mut err = AppError::new(ErrorCode::StorageUnavailable, "photo storage failed");
        err.source = Some(e.into());
        err
    })?;
    let Some(got) = got else {
        tracing::error!(key = %key, "a photo row points at a missing object");
        return Err(AppError::not_found("photo bytes"));
    };
    let size = got.meta.size;
    let stream = got
        .into_stream()
        .map_err(|e| actix_web::error::ErrorInternalServerError(e.to_string()));
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::ETAG, quoted))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .no_chunking(size)
        .streaming(stream))
}
