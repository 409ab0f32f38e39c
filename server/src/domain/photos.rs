//! Photos: what happens when an upload completes (SHA-256 check, dedup by content, processing,
//! storage), who may read a photo, and the facts the evidence checks query.

use super::access::Caller;
use super::uploads::{self, UploadPolicy};
use crate::db::photos::{self as q, AttachmentRow, PhotoRow, UploadRow};
use crate::db::{Db, DbConnection, write_transaction};
use crate::error::{AppError, ErrorCode};
use crate::ids::{UploadId, UserId};
use crate::media::pool::ProcessingPool;
use crate::media::{self, Limits, Rejection};
use crate::settings::{PhotoSettings, Settings};
use crate::storage::PhotoStore;
use chrono::NaiveDateTime;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Everything photo handling needs, built once at start-up.
pub struct PhotoService {
    pub store: PhotoStore,
    pub staging_dir: PathBuf,
    pub limits: Limits,
    pub thumbnail_sizes: Vec<u32>,
    pub policy: UploadPolicy,
    busy: Mutex<HashSet<UploadId>>,
    processing: ProcessingPool,
    storing: tokio::sync::Semaphore,
    /// `photos.decode_pixel_budget` as permits (one per pixel, at most `u32::MAX`).
    decoding: tokio::sync::Semaphore,
    decode_budget: u32,
    /// `photos.signed_url_ttl_secs` (1 to 3600).
    pub signed_url_ttl_secs: i64,
}

/// Held while a request writes to an upload; other requests for it get 423 meanwhile.
pub struct UploadLock<'a> {
    service: &'a PhotoService,
    id: UploadId,
}

impl Drop for UploadLock<'_> {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.service.busy.lock() {
            busy.remove(&self.id);
        }
    }
}

impl PhotoService {
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let p: &PhotoSettings = &settings.photos;
        let staging_dir = PhotoSettings::staging_dir(&settings.data_dir);
        std::fs::create_dir_all(&staging_dir)?;
        let workers = p
            .processing_concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        anyhow::ensure!(
            (1..=crate::auth::photo_links::MAX_TTL_SECS).contains(&p.signed_url_ttl_secs),
            "photos.signed_url_ttl_secs must be between 1 and 3600"
        );
        let decode_budget = u32::try_from(p.decode_pixel_budget.max(1)).unwrap_or(u32::MAX);
        Ok(Self {
            store: PhotoStore::from_settings(settings)?,
            staging_dir,
            limits: Limits {
                max_pixels: p.max_pixels,
            },
            thumbnail_sizes: p.thumbnail_sizes.clone(),
            policy: UploadPolicy {
                max_bytes: p.max_bytes,
                user_quota_bytes: p.user_quota_bytes,
                expiry_secs: p.upload_expiry_secs,
                body_timeout: std::time::Duration::from_millis(p.upload_body_timeout_ms),
            },
            busy: Mutex::new(HashSet::new()),
            processing: ProcessingPool::new(workers)?,
            storing: tokio::sync::Semaphore::new(4 * workers.max(1)),
            decoding: tokio::sync::Semaphore::new(decode_budget as usize),
            decode_budget,
            signed_url_ttl_secs: p.signed_url_ttl_secs,
        })
    }

    /// Takes the in-process write lock of an upload (another replica is excluded by the
    /// conditional offset update instead); `upload_busy` when someone holds it.
    pub fn lock(&self, id: &UploadId) -> Result<UploadLock<'_>, AppError> {
        let mut busy = self
            .busy
            .lock()
            .map_err(|_| AppError::internal(anyhow::anyhow!("upload lock poisoned")))?;
        if !busy.insert(id.clone()) {
            return Err(AppError::new(
                ErrorCode::UploadBusy,
                "another request is writing to this upload; retry shortly",
            ));
        }
        Ok(UploadLock {
            service: self,
            id: id.clone(),
        })
    }

    pub fn staging_path(&self, id: &UploadId) -> PathBuf {
        uploads::staging_path(&self.staging_dir, id)
    }

    /// Turns a fully received upload into a stored photo. Refusals delete the upload (nothing is
    /// stored); a storage failure keeps it, so the client can retry the last PATCH.
    pub async fn complete(&self, db: &Db, upload: UploadRow) -> Result<PhotoRow, AppError> {
        let staging = self.staging_path(&upload.id);
        let actual = {
            let path = staging.clone();
            tokio::task::spawn_blocking(move || sha256_of_file(&path))
                .await
                .map_err(AppError::internal)?
                .map_err(AppError::internal)?
        };
        if actual != upload.sha256 {
            self.discard(db, &upload.id).await;
            return Err(AppError::new(
                ErrorCode::Sha256Mismatch,
                format!(
                    "declared sha256 {} but the bytes hash to {actual}",
                    upload.sha256
                ),
            )
            .with_extra(serde_json::json!({"declared": upload.sha256, "actual": actual})));
        }

        let sha = actual.clone();
        let existing = db.run(move |conn| Ok(q::find_photo(conn, &sha)?)).await?;
        let photo = match existing {
            // Same bytes as a stored photo: nothing is processed or written again.
            Some(photo) => photo,
            None => {
                self.process_and_store(db, &upload, &staging, actual)
                    .await?
            }
        };

        let attachment = AttachmentRow {
            id: upload.id.clone(),
            photo_sha256: photo.sha256.clone(),
            uploaded_by: upload.user_id.clone(),
            purpose: upload.purpose.clone(),
            owner_kind: upload.owner_kind.clone(),
            owner_id: upload.owner_id.clone(),
            filename: upload.filename.clone(),
            created_at: super::now(),
        };
        db.run(move |conn| {
            write_transaction(conn, |conn| {
                if q::find_upload(conn, &attachment.id)?.is_some_and(|u| u.completed_at.is_none()) {
                    q::insert_attachment(conn, &attachment)?;
                    q::mark_completed(
                        conn,
                        &attachment.id,
                        &attachment.photo_sha256,
                        super::now(),
                    )?;
                }
                Ok::<_, AppError>(())
            })
        })
        .await?;
        remove_file_quietly(&staging);
        Ok(photo)
    }

    async fn process_and_store(
        &self,
        db: &Db,
        upload: &UploadRow,
        staging: &Path,
        sha256: String,
    ) -> Result<PhotoRow, AppError> {
        let processed = match self.decode_admission(staging).await {
            Err(rejection) => Err(rejection),
            Ok((preview, _pixels_held)) => {
                // Decoding is CPU and memory: at most `processing_concurrency` at once, on the
                // pool's own threads, and at most `decode_pixel_budget` pixels at once (the
                // permit `_pixels_held` lives until the decode is over).
                let path = staging.to_path_buf();
                let (limits, sizes) = (self.limits, self.thumbnail_sizes.clone());
                self.processing
                    .run(move || media::process_with(&path, limits, &sizes, preview))
                    .await
                    .ok_or_else(|| {
                        AppError::internal(anyhow::anyhow!("photo processing stopped"))
                    })?
            }
        };
        let processed = match processed {
            Ok(p) => p,
            Err(rejection) => {
                self.discard(db, &upload.id).await;
                return Err(rejection_error(rejection));
            }
        };

        // Bytes first, then the row: a row never points at missing bytes.
        let storage_err = |e: anyhow::Error| {
            let mut err = AppError::new(
                ErrorCode::StorageUnavailable,
                "the photo could not be written to storage; retry the last PATCH",
            );
            err.source = Some(e);
            err
        };
        {
            // A multipart put to S3 holds up to three 8 MiB parts: bounded too.
            let _permit = self.storing.acquire().await.map_err(AppError::internal)?;
            self.store
                .put_file(&PhotoStore::blob_key(&sha256), staging)
                .await
                .map_err(storage_err)?;
        }
        for t in &processed.thumbnails {
            self.store
                .put_bytes(&PhotoStore::thumbnail_key(&sha256, t.size), t.jpeg.clone())
                .await
                .map_err(|e| storage_err(e.into()))?;
        }

        let to_i32 = |v: Option<u32>| v.and_then(|v| i32::try_from(v).ok());
        let flags: Vec<&str> = processed.flags.iter().map(|f| f.as_str()).collect();
        let sizes: Vec<u32> = processed.thumbnails.iter().map(|t| t.size).collect();
        let row = PhotoRow {
            sha256: sha256.clone(),
            format: processed.format.as_str().to_owned(),
            content_type: processed.format.content_type().to_owned(),
            bytes: upload.length,
            width: to_i32(processed.width),
            height: to_i32(processed.height),
            taken_at: processed.exif.taken_at,
            taken_at_offset: processed.exif.taken_at_offset,
            gps_lat: processed.exif.gps_lat,
            gps_lon: processed.exif.gps_lon,
            gps_alt: processed.exif.gps_alt,
            gps_direction: processed.exif.gps_direction,
            make: processed.exif.make,
            model: processed.exif.model,
            orientation: processed.exif.orientation.map(i32::from),
            phash: processed.phash,
            flags: serde_json::to_string(&flags).map_err(AppError::internal)?,
            thumbnails: serde_json::to_string(&sizes).map_err(AppError::internal)?,
            uploaded_by: upload.user_id.clone(),
            created_at: super::now(),
        };
        let hash = row.phash.as_deref().and_then(media::phash::parse);
        db.run(move |conn| {
            write_transaction(conn, |conn| {
                if q::insert_photo_if_absent(conn, &row)?
                    && let Some(hash) = hash
                {
                    q::set_phash_index(conn, &sha256, hash)?;
                }
                // The row that won (ours, or an identical one finished at the same moment).
                q::find_photo(conn, &sha256)?.ok_or_else(|| AppError::not_found("photo"))
            })
        })
        .await
    }

    /// Reads the header's size (no pixel decoded) and waits until that many pixels fit in the
    /// decode budget. A photo larger than the whole budget is not decoded at all
    /// ([`media::Preview::TooLarge`]); one over `max_pixels` is left for `process` to refuse.
    /// The decode may allocate up to width × height pixels (a damaged JPEG is decoded at full
    /// size by the lenient decoder, PNG and WebP always are), so that is what it is charged.
    async fn decode_admission(
        &self,
        staging: &Path,
    ) -> Result<(media::Preview, Option<tokio::sync::SemaphorePermit<'_>>), Rejection> {
        let path = staging.to_path_buf();
        let (_, dims) = tokio::task::spawn_blocking(move || media::header(&path))
            .await
            .map_err(|e| Rejection::Io(std::io::Error::other(e)))??;
        let pixels = dims.map(|(w, h)| u64::from(w) * u64::from(h));
        if pixels.is_some_and(|p| p > self.limits.max_pixels) {
            return Ok((media::Preview::Make, None)); // refused by `process` before decoding
        }
        let cost = match pixels {
            Some(p) if p > u64::from(self.decode_budget) => {
                return Ok((media::Preview::TooLarge, None));
            }
            Some(p) => u32::try_from(p).unwrap_or(u32::MAX).max(1),
            // No size in the header (a HEIF without `ispe`): charged the whole budget.
            None => self.decode_budget,
        };
        let permit = self
            .decoding
            .acquire_many(cost)
            .await
            .map_err(|e| Rejection::Io(std::io::Error::other(e)))?;
        Ok((media::Preview::Make, Some(permit)))
    }

    async fn discard(&self, db: &Db, id: &UploadId) {
        let (dir, id) = (self.staging_dir.clone(), id.clone());
        if let Err(e) = db.run(move |conn| uploads::remove(conn, &dir, &id)).await {
            tracing::warn!(error = %e, "could not discard a refused upload");
        }
    }
}

fn rejection_error(rejection: Rejection) -> AppError {
    match rejection {
        Rejection::NotAnImage => AppError::new(ErrorCode::NotAnImage, rejection.to_string()),
        Rejection::TooLarge { width, height, max } => {
            AppError::new(ErrorCode::ImageTooLarge, rejection.to_string())
                .zh(format!("图片为 {width}×{height} 像素，最多允许 {max} 像素"))
                .with_extra(
                    serde_json::json!({"width": width, "height": height, "max_pixels": max}),
                )
        }
        Rejection::Undecodable(_) => {
            AppError::new(ErrorCode::ImageUndecodable, rejection.to_string())
        }
        Rejection::Io(e) => AppError::internal(e),
    }
}

fn sha256_of_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

fn remove_file_quietly(path: &Path) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "could not delete a staging file");
    }
}

/// May the caller read this photo? The ONE place this is decided.
///
/// Whoever uploaded these bytes; whoever may see an issue whose history names the photo (its
/// report, a submission, any step), or an issue or inspection it was uploaded for. Everyone else
/// gets 404, as if the photo did not exist.
pub fn can_read(
    conn: &mut DbConnection,
    caller: &Caller,
    photo: &PhotoRow,
) -> Result<(), AppError> {
    if q::is_uploader(conn, &photo.sha256, &caller.user_id)? {
        return Ok(());
    }
    // An issue that names the photo: whoever sees the issue sees its photos, however the photo
    // was uploaded (without an owner, or for an issue still in a phone's outbox).
    for issue in crate::db::issues::issues_naming_photo(conn, &photo.sha256)? {
        if issue_visible(conn, caller, issue.as_str())? {
            return Ok(());
        }
    }
    for attachment in q::attachments_of(conn, &photo.sha256)? {
        if owner_visible(conn, caller, &attachment)? {
            return Ok(());
        }
    }
    Err(AppError::not_found("photo"))
}

/// Whether the caller may see the issue `id` (false for an unknown or malformed id).
fn issue_visible(conn: &mut DbConnection, caller: &Caller, id: &str) -> Result<bool, AppError> {
    let Ok(id) = uuid::Uuid::parse_str(id) else {
        return Ok(false);
    };
    Ok(
        crate::db::issues::find(conn, &crate::ids::IssueId::from(id))?
            .is_some_and(|issue| super::issues::can_see(caller, &issue)),
    )
}

/// Whether the caller may see the issue or inspection an upload was made for (false when the
/// upload named no owner, or one the server does not know).
fn owner_visible(
    conn: &mut DbConnection,
    caller: &Caller,
    attachment: &AttachmentRow,
) -> Result<bool, AppError> {
    let Some(owner) = attachment.owner_id.as_deref() else {
        return Ok(false);
    };
    match attachment.owner_kind.as_deref() {
        Some("issue") => issue_visible(conn, caller, owner),
        Some("inspection") => {
            let Ok(id) = uuid::Uuid::parse_str(owner) else {
                return Ok(false);
            };
            Ok(
                crate::db::inspections::find(conn, &crate::ids::InspectionId::from(id))?
                    .is_some_and(|inspection| super::inspections::can_see(caller, &inspection)),
            )
        }
        _ => Ok(false),
    }
}

/// Finds a photo the caller may read, or 404.
pub fn find_readable(
    conn: &mut DbConnection,
    caller: &Caller,
    sha256: &str,
) -> Result<PhotoRow, AppError> {
    let photo = q::find_photo(conn, &sha256.to_ascii_lowercase())?
        .ok_or_else(|| AppError::not_found("photo"))?;
    can_read(conn, caller, &photo)?;
    Ok(photo)
}

/// A photo opened by a signed link (`auth::photo_links`): the link was verified by the caller
/// and stands for the read check made when the page that carries it was rendered.
pub fn find_linked(conn: &mut DbConnection, sha256: &str) -> Result<PhotoRow, AppError> {
    q::find_photo(conn, &sha256.to_ascii_lowercase())?.ok_or_else(|| AppError::not_found("photo"))
}

/// GPS position as the EXIF said (WGS-84), or converted for a Chinese map SDK.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoGps {
    pub lat: f64,
    pub lon: f64,
    /// `wgs84`, `gcj02` or `bd09`: the system `lat`/`lon` are in.
    pub crs: &'static str,
    /// Metres above sea level.
    pub alt: Option<f64>,
    /// Direction the camera faced, degrees from north (GPSImgDirection).
    pub direction: Option<f64>,
}

/// One completed upload of these bytes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoAttachment {
    #[schema(value_type = String, format = Uuid)]
    pub upload_id: UploadId,
    #[schema(value_type = String, format = Uuid)]
    pub uploaded_by: UserId,
    pub purpose: String,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub filename: Option<String>,
    pub uploaded_at: NaiveDateTime,
}

/// What `/photos/{sha256}/meta` answers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PhotoMeta {
    pub sha256: String,
    /// `jpeg`, `png`, `webp` or `heif` — sniffed from the bytes.
    pub format: String,
    pub content_type: String,
    pub bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// EXIF DateTimeOriginal, camera local time as written.
    pub taken_at: Option<NaiveDateTime>,
    /// EXIF OffsetTimeOriginal (e.g. `+08:00`) when the camera wrote one.
    pub taken_at_offset: Option<String>,
    pub gps: Option<PhotoGps>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub orientation: Option<i32>,
    /// 64-bit perceptual hash (hex); near-identical photos differ in few bits.
    pub phash: Option<String>,
    /// `exif_unreadable`, `no_exif`, `no_gps`, `damaged`, `no_thumbnail`, `too_large_to_preview`.
    pub flags: Vec<String>,
    /// Thumbnail sizes available (long edge, px).
    pub thumbnails: Vec<u32>,
    /// Who made the first of the uploads listed in `attachments` (null when the caller may see
    /// none of them, e.g. a photo uploaded without an owner and named by an issue).
    #[schema(value_type = Option<String>, format = Uuid)]
    pub uploaded_by: Option<UserId>,
    pub created_at: NaiveDateTime,
    /// The uploads of these bytes the caller may see: their own, and those made for an issue or
    /// inspection they may see.
    pub attachments: Vec<PhotoAttachment>,
}

/// Coordinate systems a response can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Crs {
    #[default]
    Wgs84,
    Gcj02,
    Bd09,
}

/// What `/meta` answers to `caller` (who may read the photo). Of the uploads of these bytes it
/// lists only the caller's own and those made for an issue or inspection the caller may see:
/// another village's uploads (their issue ids, uploaders, file names) stay hidden.
pub fn meta(
    conn: &mut DbConnection,
    caller: &Caller,
    photo: PhotoRow,
    crs: Crs,
) -> Result<PhotoMeta, AppError> {
    use closeout_sync_protocol::geo;
    let mut visible = Vec::new();
    for a in q::attachments_of(conn, &photo.sha256)? {
        if a.uploaded_by == caller.user_id || owner_visible(conn, caller, &a)? {
            visible.push(a);
        }
    }
    let uploaded_by = visible.first().map(|a| a.uploaded_by.clone());
    let attachments = visible
        .into_iter()
        .map(|a| PhotoAttachment {
            upload_id: a.id,
            uploaded_by: a.uploaded_by,
            purpose: a.purpose,
            owner_kind: a.owner_kind,
            owner_id: a.owner_id,
            filename: a.filename,
            uploaded_at: a.created_at,
        })
        .collect();
    let gps = match (photo.gps_lat, photo.gps_lon) {
        (Some(lat), Some(lon)) => {
            let p = geo::LatLon { lat, lon };
            let (p, name) = match crs {
                Crs::Wgs84 => (p, "wgs84"),
                Crs::Gcj02 => (geo::wgs84_to_gcj02(p), "gcj02"),
                Crs::Bd09 => (geo::wgs84_to_bd09(p), "bd09"),
            };
            Some(PhotoGps {
                lat: p.lat,
                lon: p.lon,
                crs: name,
                alt: photo.gps_alt,
                direction: photo.gps_direction,
            })
        }
        _ => None,
    };
    Ok(PhotoMeta {
        flags: serde_json::from_str(&photo.flags).map_err(AppError::internal)?,
        thumbnails: serde_json::from_str(&photo.thumbnails).map_err(AppError::internal)?,
        sha256: photo.sha256,
        format: photo.format,
        content_type: photo.content_type,
        bytes: photo.bytes,
        width: photo.width,
        height: photo.height,
        taken_at: photo.taken_at,
        taken_at_offset: photo.taken_at_offset,
        gps,
        make: photo.make,
        model: photo.model,
        orientation: photo.orientation,
        phash: photo.phash,
        uploaded_by,
        created_at: photo.created_at,
        attachments,
    })
}

/// Runs the clean-up of abandoned uploads every `interval`, forever (spawned at start-up).
pub async fn cleanup_loop(db: Db, staging_dir: PathBuf, interval: std::time::Duration) {
    let mut ticker = tokio::time::interval(interval);
    loop {
        ticker.tick().await;
        let dir = staging_dir.clone();
        match db
            .run(move |conn| uploads::cleanup_expired(conn, &dir))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "expired uploads deleted"),
            Err(e) => tracing::warn!(error = %e, "upload clean-up failed"),
        }
    }
}

/// Shared handle (the API state holds one).
pub type Photos = Arc<PhotoService>;
