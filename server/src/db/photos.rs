//! Rows and queries for tus uploads, stored photos and their attachments. No rules here.

use super::connection::DbConnection;
use super::schema::{photo_attachments, photos, uploads};
use crate::ids::{UploadId, UserId};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = uploads)]
pub struct UploadRow {
    pub id: UploadId,
    pub user_id: UserId,
    pub length: i64,
    pub upload_offset: i64,
    pub sha256: String,
    pub filename: Option<String>,
    pub purpose: String,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub metadata: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub completed_at: Option<NaiveDateTime>,
    pub photo_sha256: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photos)]
pub struct PhotoRow {
    pub sha256: String,
    pub format: String,
    pub content_type: String,
    pub bytes: i64,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub taken_at: Option<NaiveDateTime>,
    pub taken_at_offset: Option<String>,
    pub gps_lat: Option<f64>,
    pub gps_lon: Option<f64>,
    pub gps_alt: Option<f64>,
    pub gps_direction: Option<f64>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub orientation: Option<i32>,
    pub phash: Option<String>,
    /// JSON array of flag names.
    pub flags: String,
    /// JSON array of the thumbnail sizes stored.
    pub thumbnails: String,
    pub uploaded_by: UserId,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = photo_attachments)]
pub struct AttachmentRow {
    pub id: UploadId,
    pub photo_sha256: String,
    pub uploaded_by: UserId,
    pub purpose: String,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub filename: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn insert_upload(conn: &mut DbConnection, row: &UploadRow) -> QueryResult<()> {
    diesel::insert_into(uploads::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find_upload(conn: &mut DbConnection, id: &UploadId) -> QueryResult<Option<UploadRow>> {
    uploads::table
        .find(id)
        .select(UploadRow::as_select())
        .first(conn)
        .optional()
}

/// Moves the offset forward only from where the writer found it: false when another request
/// (on this or another replica) moved it first.
pub fn advance_offset(
    conn: &mut DbConnection,
    id: &UploadId,
    from: i64,
    to: i64,
) -> QueryResult<bool> {
    let n = diesel::update(
        uploads::table
            .find(id)
            .filter(uploads::upload_offset.eq(from))
            .filter(uploads::completed_at.is_null()),
    )
    .set(uploads::upload_offset.eq(to))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn mark_completed(
    conn: &mut DbConnection,
    id: &UploadId,
    sha256: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(uploads::table.find(id))
        .set((
            uploads::completed_at.eq(now),
            uploads::photo_sha256.eq(sha256),
        ))
        .execute(conn)
}

pub fn delete_upload(conn: &mut DbConnection, id: &UploadId) -> QueryResult<usize> {
    diesel::delete(uploads::table.find(id)).execute(conn)
}

/// Declared bytes of a person's unfinished, unexpired uploads.
pub fn unfinished_bytes(
    conn: &mut DbConnection,
    user: &UserId,
    now: NaiveDateTime,
) -> QueryResult<i64> {
    let lengths: Vec<i64> = uploads::table
        .filter(uploads::user_id.eq(user))
        .filter(uploads::completed_at.is_null())
        .filter(uploads::expires_at.gt(now))
        .select(uploads::length)
        .load(conn)?;
    Ok(lengths.iter().sum())
}

/// Uploads past their expiry (finished ones too: their rows are only kept so a client that
/// resumes a finished upload is told it is complete).
pub fn expired_uploads(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<UploadId>> {
    uploads::table
        .filter(uploads::expires_at.lt(now))
        .select(uploads::id)
        .limit(limit)
        .load(conn)
}

pub fn find_photo(conn: &mut DbConnection, sha256: &str) -> QueryResult<Option<PhotoRow>> {
    photos::table
        .find(sha256)
        .select(PhotoRow::as_select())
        .first(conn)
        .optional()
}

/// Inserts a photo unless one with the same SHA-256 exists (two replicas finishing the same
/// bytes at once): returns false then. The bytes are identical, so either row is right.
pub fn insert_photo_if_absent(conn: &mut DbConnection, row: &PhotoRow) -> QueryResult<bool> {
    use diesel::result::{DatabaseErrorKind, Error};
    match diesel::insert_into(photos::table).values(row).execute(conn) {
        Ok(_) => Ok(true),
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub fn insert_attachment(conn: &mut DbConnection, row: &AttachmentRow) -> QueryResult<()> {
    diesel::insert_into(photo_attachments::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn attachments_of(conn: &mut DbConnection, sha256: &str) -> QueryResult<Vec<AttachmentRow>> {
    photo_attachments::table
        .filter(photo_attachments::photo_sha256.eq(sha256))
        .order(photo_attachments::created_at.asc())
        .select(AttachmentRow::as_select())
        .load(conn)
}

/// Whether `user` uploaded these bytes (any attachment of theirs).
pub fn is_uploader(conn: &mut DbConnection, sha256: &str, user: &UserId) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        photo_attachments::table
            .filter(photo_attachments::photo_sha256.eq(sha256))
            .filter(photo_attachments::uploaded_by.eq(user)),
    ))
    .get_result(conn)
}

/// Stores what the near-duplicate search reads for a photo with hash `h`: its four 16-bit bands
/// (`media::phash::bands`) and the hash as a number (`media::phash::stored`), the indexed columns.
pub fn set_phash_index(conn: &mut DbConnection, sha256: &str, h: u64) -> QueryResult<()> {
    let bands = crate::media::phash::bands(h);
    diesel::update(photos::table.find(sha256))
        .set((
            photos::phash_band0.eq(bands[0]),
            photos::phash_band1.eq(bands[1]),
            photos::phash_band2.eq(bands[2]),
            photos::phash_band3.eq(bands[3]),
            photos::phash_bits.eq(crate::media::phash::stored(h)),
        ))
        .execute(conn)
        .map(|_| ())
}

/// The stored hashes (`photos.phash_bits`) with at least one band among `candidates` (one list
/// per band, from `media::phash::band_candidates`; an empty list is not searched): a superset of
/// the near-duplicates, read from the band indexes alone (each also holds the hash), never by
/// scanning photos. The caller checks the full distance, then asks [`photos_with_phashes`] for
/// the few that match. A hash found through two bands is returned twice.
pub fn phashes_sharing_a_band(
    conn: &mut DbConnection,
    candidates: &[Vec<i32>; 4],
) -> QueryResult<Vec<i64>> {
    let mut found = Vec::new();
    for (band, values) in candidates.iter().enumerate() {
        if values.is_empty() {
            continue;
        }
        // One query per band: each is an index-only range scan on both backends.
        let query = photos::table.select(photos::phash_bits.assume_not_null());
        let rows: Vec<i64> = match band {
            0 => query
                .filter(photos::phash_band0.eq_any(values))
                .load(conn)?,
            1 => query
                .filter(photos::phash_band1.eq_any(values))
                .load(conn)?,
            2 => query
                .filter(photos::phash_band2.eq_any(values))
                .load(conn)?,
            _ => query
                .filter(photos::phash_band3.eq_any(values))
                .load(conn)?,
        };
        found.extend(rows);
    }
    Ok(found)
}

/// SHA-256 of the photos whose hash is one of `phashes`.
pub fn photos_with_phashes(
    conn: &mut DbConnection,
    phashes: &[String],
) -> QueryResult<Vec<String>> {
    if phashes.is_empty() {
        return Ok(Vec::new());
    }
    photos::table
        .filter(photos::phash.eq_any(phashes))
        .select(photos::sha256)
        .load(conn)
}

/// For the metrics scrape: uploads begun and not completed (abandoned ones count until the
/// clean-up deletes them).
pub fn uploads_in_progress(conn: &mut DbConnection) -> QueryResult<i64> {
    super::schema::uploads::table
        .filter(super::schema::uploads::completed_at.is_null())
        .count()
        .get_result(conn)
}
