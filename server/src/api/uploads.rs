//! `/api/v1/uploads`: tus 1.0 resumable uploads (core, creation, creation-with-upload,
//! termination, checksum with sha1, md5 and sha256). Bytes stream from the request body to a
//! staging file under the data directory (`domain::uploads::receive`); the offset is committed in
//! the database, so any replica that shares the data directory and database can resume an upload.
//! See docs/photos.md.

use super::extract::Authenticated;
use super::state::AppState;
use crate::db::photos::UploadRow;
use crate::domain::sync::waiting;
use crate::domain::uploads;
use crate::error::{AppError, ErrorCode};
use crate::ids::UploadId;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, ResponseError, web};

pub const TUS_VERSION: &str = "1.0.0";
const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum";
const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";
/// Headers a browser client must be allowed to read (CORS).
const EXPOSE: &str = "Tus-Resumable, Tus-Version, Tus-Extension, Tus-Max-Size, \
    Tus-Checksum-Algorithm, Location, Upload-Offset, Upload-Length, Upload-Metadata, \
    Closeout-Photo";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, Tus-Resumable, Upload-Length, \
    Upload-Metadata, Upload-Offset, Upload-Checksum";

/// tus discovery: versions, extensions, the largest upload, checksum algorithms. No token needed
/// (browsers send OPTIONS without one).
#[utoipa::path(
    options,
    path = "/api/v1/uploads",
    tag = "photos",
    responses((status = 204, description = "Tus-Version, Tus-Extension, Tus-Max-Size, Tus-Checksum-Algorithm"))
)]
pub async fn options(state: web::Data<AppState>) -> HttpResponse {
    let mut res = tus_response(StatusCode::NO_CONTENT);
    res.insert_header(("Tus-Version", TUS_VERSION))
        .insert_header(("Tus-Extension", TUS_EXTENSIONS))
        .insert_header(("Tus-Max-Size", state.photos.policy.max_bytes.to_string()))
        .insert_header(("Tus-Checksum-Algorithm", uploads::CHECKSUM_ALGORITHMS))
        .insert_header((
            "Access-Control-Allow-Methods",
            "POST, HEAD, PATCH, DELETE, OPTIONS",
        ))
        .insert_header(("Access-Control-Allow-Headers", ALLOW_HEADERS))
        .insert_header(("Access-Control-Max-Age", "86400"));
    res.finish()
}

/// Create an upload (tus creation; with `Content-Type: application/offset+octet-stream` the
/// body is its first bytes). `Upload-Metadata` must carry `sha256` and `purpose`.
#[utoipa::path(
    post,
    path = "/api/v1/uploads",
    tag = "photos",
    params(
        ("Tus-Resumable" = String, Header, description = "1.0.0"),
        ("Upload-Length" = u64, Header, description = "total bytes"),
        ("Upload-Metadata" = String, Header, description = "sha256, purpose, filename, owner_kind, owner_id (base64 values)"),
    ),
    responses(
        (status = 201, description = "Location of the upload; Upload-Offset"),
        (status = 413, description = "photo_too_large, upload_quota_exceeded", body = super::problem::Problem),
        (status = 422, description = "invalid_field (metadata)", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Result<Authenticated, AppError>,
    payload: web::Payload,
) -> Result<HttpResponse, TusError> {
    detached(create_inner(req, state, caller, payload)).await
}

async fn create_inner(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Result<Authenticated, AppError>,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    check_tus_resumable(req.headers())?;
    let caller = caller?.0;
    let headers = req.headers();
    if headers.contains_key("Upload-Defer-Length") {
        return Err(AppError::new(
            ErrorCode::BadRequest,
            "Upload-Defer-Length is not supported: send Upload-Length",
        ));
    }
    let length: u64 = header_str(headers, "Upload-Length")?
        .ok_or_else(|| AppError::invalid_field("Upload-Length", "required", "必填：文件总字节数"))?
        .parse()
        .map_err(|_| {
            AppError::invalid_field(
                "Upload-Length",
                "must be a non-negative integer",
                "应为非负整数",
            )
        })?;
    let metadata = uploads::parse_metadata(header_str(headers, "Upload-Metadata")?.unwrap_or(""))?;
    let declared = uploads::validate(metadata)?;
    let with_body = is_offset_stream(headers);
    let checksum = parse_checksum(headers)?;
    let policy = state.photos.policy;
    let upload = state
        .db
        .run(move |conn| uploads::create(conn, &caller, policy, length, declared))
        .await?;
    let location = format!("/api/v1/uploads/{}", upload.id);

    let mut offset = 0;
    let mut photo = None;
    if with_body {
        let _lock = state.photos.lock(&upload.id)?;
        match uploads::receive(
            &state.db,
            &state.photos.staging_path(&upload.id),
            &upload,
            payload,
            checksum,
            state.photos.policy,
        )
        .await
        {
            Ok(end) => {
                offset = end;
                state
                    .metrics
                    .upload_bytes_received
                    .inc_by(u64::try_from(end).unwrap_or(0));
            }
            // The upload exists: the client learns its location and resumes with PATCH.
            Err(e) if e.code == ErrorCode::ChecksumMismatch => {}
            Err(e) => return Err(e),
        }
        if offset == upload.length {
            let done = UploadRow {
                upload_offset: offset,
                ..upload.clone()
            };
            let sha = state.photos.complete(&state.db, done).await?.sha256;
            photo_arrived(&state, &sha).await;
            photo = Some(sha);
        }
    }
    let mut res = tus_response(StatusCode::CREATED);
    res.insert_header((header::LOCATION, location))
        .insert_header(("Upload-Offset", offset.to_string()));
    if let Some(sha) = photo {
        res.insert_header(("Closeout-Photo", sha));
    }
    Ok(res.finish())
}

/// How far an upload has come (`Upload-Offset`) and how long it is.
#[utoipa::path(
    head,
    path = "/api/v1/uploads/{id}",
    tag = "photos",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 200, description = "Upload-Offset, Upload-Length"), (status = 404)),
    security(("bearer" = []))
)]
pub async fn head(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Result<Authenticated, AppError>,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, TusError> {
    Ok(head_inner(req, state, caller, id.into_inner()).await?)
}

async fn head_inner(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Result<Authenticated, AppError>,
    id: uuid::Uuid,
) -> Result<HttpResponse, AppError> {
    check_tus_resumable(req.headers())?;
    let caller = caller?.0;
    let id = UploadId::from(id);
    let upload = state
        .db
        .run(move |conn| uploads::find_own(conn, &caller, &id))
        .await?;
    let mut res = tus_response(StatusCode::OK);
    res.insert_header(("Upload-Offset", upload.upload_offset.to_string()))
        .insert_header(("Upload-Length", upload.length.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(sha) = upload.photo_sha256 {
        res.insert_header(("Closeout-Photo", sha));
    }
    Ok(res.finish())
}

/// Append bytes at `Upload-Offset` (which must equal the bytes already received). An optional
/// `Upload-Checksum: sha256 <base64>` covers this request's bytes; on a mismatch they are dropped
/// (460). The request that brings the last byte also completes the photo (checks, storage).
#[utoipa::path(
    patch,
    path = "/api/v1/uploads/{id}",
    tag = "photos",
    params(
        ("id" = String, Path, format = Uuid),
        ("Upload-Offset" = u64, Header),
        ("Upload-Checksum" = Option<String>, Header, description = "sha256 <base64 digest of this request's body>"),
    ),
    request_body(content = Vec<u8>, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Upload-Offset; on the last chunk, Closeout-Photo: the photo's sha256"),
        (status = 409, description = "upload_offset_mismatch", body = super::problem::Problem),
        (status = 415, description = "not_an_image (on completion)", body = super::problem::Problem),
        (status = 422, description = "sha256_mismatch, image_too_large, image_undecodable", body = super::problem::Problem),
        (status = 423, description = "upload_busy", body = super::problem::Problem),
        (status = 460, description = "checksum_mismatch", body = super::problem::Problem),
    ),
    security(("bearer" = []))
)]
pub async fn patch(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Result<Authenticated, AppError>,
    id: web::Path<uuid::Uuid>,
    payload: web::Payload,
) -> Result<HttpResponse, TusError> {
    detached(patch_inner(req, state, caller, id.into_inner(), payload)).await
}

async fn patch_inner(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Result<Authenticated, AppError>,
    id: uuid::Uuid,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let headers = req.headers();
    check_tus_resumable(headers)?;
    let caller = caller?.0;
    if !is_offset_stream(headers) {
        return Err(AppError::new(
            ErrorCode::UnsupportedMediaType,
            format!("PATCH bodies must be `Content-Type: {OFFSET_CONTENT_TYPE}`"),
        ));
    }
    let offset: i64 = header_str(headers, "Upload-Offset")?
        .and_then(|v| v.parse().ok())
        .filter(|v: &i64| *v >= 0)
        .ok_or_else(|| {
            AppError::invalid_field(
                "Upload-Offset",
                "required, a non-negative integer",
                "必填，非负整数",
            )
        })?;
    let checksum = parse_checksum(headers)?;
    let id = UploadId::from(id);
    let _lock = state.photos.lock(&id)?;
    let upload = {
        let id = id.clone();
        state
            .db
            .run(move |conn| uploads::find_own(conn, &caller, &id))
            .await?
    };
    if upload.completed_at.is_some() {
        // Already a photo: a client retrying its last chunk is told so.
        if offset == upload.length {
            let mut res = tus_response(StatusCode::NO_CONTENT);
            res.insert_header(("Upload-Offset", upload.length.to_string()));
            if let Some(sha) = upload.photo_sha256 {
                res.insert_header(("Closeout-Photo", sha));
            }
            return Ok(res.finish());
        }
        return Err(offset_mismatch(offset, upload.length));
    }
    if offset != upload.upload_offset {
        return Err(offset_mismatch(offset, upload.upload_offset));
    }
    let end = if offset < upload.length {
        uploads::receive(
            &state.db,
            &state.photos.staging_path(&upload.id),
            &upload,
            payload,
            checksum,
            state.photos.policy,
        )
        .await?
    } else {
        offset // every byte is here already: a retry after a failed completion
    };
    state
        .metrics
        .upload_bytes_received
        .inc_by(u64::try_from(end - offset).unwrap_or(0));
    let mut res = tus_response(StatusCode::NO_CONTENT);
    res.insert_header(("Upload-Offset", end.to_string()));
    if end == upload.length {
        let done = UploadRow {
            upload_offset: end,
            ..upload
        };
        let photo = state.photos.complete(&state.db, done).await?;
        photo_arrived(&state, &photo.sha256).await;
        res.insert_header(("Closeout-Photo", photo.sha256));
    }
    Ok(res.finish())
}

/// tus termination: the upload and its partial bytes are deleted.
#[utoipa::path(
    delete,
    path = "/api/v1/uploads/{id}",
    tag = "photos",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204), (status = 404, body = super::problem::Problem)),
    security(("bearer" = []))
)]
pub async fn terminate(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Result<Authenticated, AppError>,
    id: web::Path<uuid::Uuid>,
) -> Result<HttpResponse, TusError> {
    Ok(terminate_inner(req, state, caller, id.into_inner()).await?)
}

async fn terminate_inner(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Result<Authenticated, AppError>,
    id: uuid::Uuid,
) -> Result<HttpResponse, AppError> {
    check_tus_resumable(req.headers())?;
    let caller = caller?.0;
    let id = UploadId::from(id);
    let _lock = state.photos.lock(&id)?;
    let dir = state.photos.staging_dir.clone();
    state
        .db
        .run(move |conn| {
            let upload = uploads::find_own(conn, &caller, &id)?;
            uploads::remove(conn, &dir, &upload.id)
        })
        .await?;
    Ok(tus_response(StatusCode::NO_CONTENT).finish())
}

fn offset_mismatch(sent: i64, current: i64) -> AppError {
    AppError::new(
        ErrorCode::UploadOffsetMismatch,
        format!(
            "Upload-Offset is {sent} but the server has {current} bytes; resume from {current}"
        ),
    )
    .zh(format!(
        "Upload-Offset 为 {sent}，服务器已有 {current} 字节，请从 {current} 续传"
    ))
    .with_extra(serde_json::json!({"offset": current}))
}

fn check_tus_resumable(headers: &HeaderMap) -> Result<(), AppError> {
    match headers.get("Tus-Resumable").and_then(|v| v.to_str().ok()) {
        Some(TUS_VERSION) => Ok(()),
        Some(other) => Err(AppError::new(
            ErrorCode::TusVersionUnsupported,
            format!("Tus-Resumable {other} is not supported; this server speaks {TUS_VERSION}"),
        )),
        None => Err(AppError::new(
            ErrorCode::TusVersionUnsupported,
            format!("send `Tus-Resumable: {TUS_VERSION}`"),
        )),
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, AppError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| AppError::new(ErrorCode::BadRequest, format!("{name} is not text")))
        })
        .transpose()
}

fn is_offset_stream(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(OFFSET_CONTENT_TYPE))
}

fn parse_checksum(headers: &HeaderMap) -> Result<Option<uploads::Checksum>, AppError> {
    header_str(headers, "Upload-Checksum")?
        .map(uploads::Checksum::parse)
        .transpose()
}

fn tus_response(status: StatusCode) -> HttpResponseBuilder {
    let mut res = HttpResponse::build(status);
    res.insert_header(("Tus-Resumable", TUS_VERSION))
        .insert_header(("Access-Control-Expose-Headers", EXPOSE));
    res
}

/// An error of the tus endpoints: a problem+json answer that also carries `Tus-Resumable` (and
/// the tus version on 412), as the protocol asks.
#[derive(Debug)]
pub struct TusError(AppError);

impl From<AppError> for TusError {
    fn from(e: AppError) -> Self {
        Self(e)
    }
}

impl std::fmt::Display for TusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl ResponseError for TusError {
    fn status_code(&self) -> StatusCode {
        self.0.status_code()
    }

    fn error_response(&self) -> HttpResponse {
        let mut res = self.0.error_response();
        let h = res.headers_mut();
        h.insert(
            header::HeaderName::from_static("tus-resumable"),
            HeaderValue::from_static(TUS_VERSION),
        );
        h.insert(
            header::HeaderName::from_static("access-control-expose-headers"),
            HeaderValue::from_static(EXPOSE),
        );
        if self.0.code == ErrorCode::TusVersionUnsupported {
            h.insert(
                header::HeaderName::from_static("tus-version"),
                HeaderValue::from_static(TUS_VERSION),
            );
        }
        res
    }
}

/// Runs a request that writes to an upload as a task of its own, so it ends the same way however
/// the connection ends: a client that resets mid-body drops this handler, not the write, and the
/// bytes that arrived are committed and the upload's lock released.
async fn detached<F>(work: F) -> Result<HttpResponse, TusError>
where
    F: std::future::Future<Output = Result<HttpResponse, AppError>> + 'static,
{
    actix_web::rt::spawn(work)
        .await
        .map_err(AppError::internal)?
        .map_err(TusError)
}

/// A photo is stored: synced actions that were waiting for it go ahead now. The upload itself has
/// succeeded whatever happens here; a failure is logged and the phone's resend retries.
async fn photo_arrived(state: &AppState, sha256: &str) {
    let (sha, clock, evidence) = (sha256.to_owned(), state.clock(), state.evidence());
    let released = state
        .db
        .run(move |conn| waiting::release_waiting_for(conn, &sha, clock, evidence))
        .await;
    match released {
        Ok(0) => {}
        Ok(n) => tracing::info!(
            sha256,
            released = n,
            "synced actions waiting for this photo applied"
        ),
        Err(e) => tracing::warn!(sha256, error = %e.detail, "waiting actions not released"),
    }
}
