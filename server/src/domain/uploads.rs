//! tus uploads: what a client must declare (`Upload-Metadata`), the limits (photo size, per-person
//! quota of unfinished bytes), who may touch an upload (only its creator), and expiry.
//! Request bodies (streaming, checksums, committing what arrived) in `receive`; completion
//! (checks and storage) in `domain::photos`.

mod receive;
pub use receive::{CHECKSUM_ALGORITHMS, Checksum, ChecksumAlgorithm, receive};

use super::access::Caller;
use crate::db::DbConnection;
use crate::db::photos::{self as q, UploadRow};
use crate::error::{AppError, ErrorCode};
use crate::ids::UploadId;
use base64::Engine;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Limits applied when an upload is created.
#[derive(Debug, Clone, Copy)]
pub struct UploadPolicy {
    pub max_bytes: u64,
    pub user_quota_bytes: u64,
    pub expiry_secs: i64,
    /// A request body that brings no byte for this long ends (what arrived is kept).
    pub body_timeout: std::time::Duration,
}

/// Why a photo is taken (the evidence checks treat each differently).
pub const PURPOSES: &[&str] = &["before", "after", "progress", "inspection"];
/// What a photo belongs to.
pub const OWNER_KINDS: &[&str] = &["issue", "inspection"];

/// The declared facts of an upload, validated.
#[derive(Debug, Clone)]
pub struct Declared {
    pub sha256: String,
    pub purpose: String,
    pub owner_kind: Option<String>,
    pub owner_id: Option<String>,
    pub filename: Option<String>,
    pub all: BTreeMap<String, String>,
}

/// Parses `Upload-Metadata`: comma-separated `key base64value` pairs (a key alone means empty).
pub fn parse_metadata(header: &str) -> Result<BTreeMap<String, String>, AppError> {
    let mut out = BTreeMap::new();
    for pair in header.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once(' ') {
            Some((k, v)) => (k, v.trim()),
            None => (pair, ""),
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(value)
            .map_err(|_| {
                AppError::invalid_field(
                    "Upload-Metadata",
                    format!("the value of `{key}` is not base64"),
                    format!("`{key}` 的值不是 base64"),
                )
            })?;
        let text = String::from_utf8(bytes).map_err(|_| {
            AppError::invalid_field(
                "Upload-Metadata",
                format!("the value of `{key}` is not UTF-8"),
                format!("`{key}` 的值不是 UTF-8"),
            )
        })?;
        out.insert(key.to_owned(), text);
    }
    Ok(out)
}

/// Checks the metadata keys Closeout needs: `sha256` (hex), `purpose`, and optionally
/// `owner_kind` + `owner_id` (together) and `filename`.
pub fn validate(all: BTreeMap<String, String>) -> Result<Declared, AppError> {
    let field = |key: &str, en: &str, zh: &str| AppError::invalid_field(key, en, zh);
    let sha256 = all
        .get("sha256")
        .map(|s| s.trim().to_ascii_lowercase())
        .ok_or_else(|| {
            field(
                "sha256",
                "required: the file's SHA-256 in hex",
                "必填：文件的 SHA-256（十六进制）",
            )
        })?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(field(
            "sha256",
            "must be 64 hex digits",
            "应为 64 位十六进制数",
        ));
    }
    let purpose = all.get("purpose").cloned().ok_or_else(|| {
        field(
            "purpose",
            "required: before, after, progress or inspection",
            "必填：before、after、progress 或 inspection",
        )
    })?;
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(field(
            "purpose",
            "must be before, after, progress or inspection",
            "应为 before、after、progress 或 inspection",
        ));
    }
    let owner_kind = all.get("owner_kind").cloned().filter(|s| !s.is_empty());
    let owner_id = all.get("owner_id").cloned().filter(|s| !s.is_empty());
    match (&owner_kind, &owner_id) {
        (Some(kind), Some(id)) => {
            if !OWNER_KINDS.contains(&kind.as_str()) {
                return Err(field(
                    "owner_kind",
                    "must be issue or inspection",
                    "应为 issue 或 inspection",
                ));
            }
            if uuid::Uuid::parse_str(id).is_err() {
                return Err(field("owner_id", "must be a UUID", "应为 UUID"));
            }
        }
        (None, None) => {}
        _ => {
            return Err(field(
                "owner_kind",
                "owner_kind and owner_id go together",
                "owner_kind 与 owner_id 须同时提供",
            ));
        }
    }
    let owner_id = owner_id
        .and_then(|id| uuid::Uuid::parse_str(&id).ok())
        .map(|u| u.hyphenated().to_string());
    let filename = all
        .get("filename")
        .map(|f| f.chars().take(255).collect::<String>());
    Ok(Declared {
        sha256,
        purpose,
        owner_kind,
        owner_id,
        filename,
        all,
    })
}

/// Creates an upload of `length` bytes for the caller, within the size limit and their quota.
pub fn create(
    conn: &mut DbConnection,
    caller: &Caller,
    policy: UploadPolicy,
    length: u64,
    declared: Declared,
) -> Result<UploadRow, AppError> {
    if length == 0 {
        return Err(AppError::new(
            ErrorCode::UploadEmpty,
            "Upload-Length is 0: a photo has at least one byte",
        )
        .zh("Upload-Length 为 0：照片文件不能为空"));
    }
    if length > policy.max_bytes {
        return Err(AppError::new(
            ErrorCode::PhotoTooLarge,
            format!(
                "the photo is {length} bytes; at most {} are accepted",
                policy.max_bytes
            ),
        )
        .zh(format!(
            "照片为 {length} 字节，最大允许 {} 字节",
            policy.max_bytes
        ))
        .with_extra(serde_json::json!({"max_bytes": policy.max_bytes})));
    }
    let length_i =
        i64::try_from(length).map_err(|_| AppError::new(ErrorCode::PhotoTooLarge, "too large"))?;
    if let (Some(kind), Some(id)) = (&declared.owner_kind, &declared.owner_id) {
        require_owner_visible(conn, caller, kind, id)?;
    }
    crate::db::write_transaction(conn, |conn| {
        let pending = q::unfinished_bytes(conn, &caller.user_id, super::now())?;
        let quota = i64::try_from(policy.user_quota_bytes).unwrap_or(i64::MAX);
        if pending.saturating_add(length_i) > quota {
            return Err(AppError::new(
                ErrorCode::UploadQuotaExceeded,
                format!("{pending} bytes are already in unfinished uploads; the quota is {quota}"),
            )
            .zh(format!(
                "已有 {pending} 字节未完成上传，配额为 {quota} 字节"
            ))
            .with_extra(serde_json::json!({"pending_bytes": pending, "quota_bytes": quota})));
        }
        let now = super::now();
        let row = UploadRow {
            id: UploadId::generate(),
            user_id: caller.user_id.clone(),
            length: length_i,
            upload_offset: 0,
            sha256: declared.sha256,
            filename: declared.filename,
            purpose: declared.purpose,
            owner_kind: declared.owner_kind,
            owner_id: declared.owner_id,
            metadata: serde_json::to_string(&declared.all).map_err(AppError::internal)?,
            created_at: now,
            expires_at: now + chrono::Duration::seconds(policy.expiry_secs),
            completed_at: None,
            photo_sha256: None,
        };
        q::insert_upload(conn, &row)?;
        Ok(row)
    })
}

/// A photo may name as its owner an issue or inspection the uploader can see, or one the server
/// does not know yet (its mutation may still be in the phone's outbox: photos never wait for
/// text). Naming someone else's is refused as if it did not exist, so no one can attach
/// "evidence" to, or raise a reuse flag on, an issue they may not see.
fn require_owner_visible(
    conn: &mut DbConnection,
    caller: &Caller,
    kind: &str,
    id: &str,
) -> Result<(), AppError> {
    let Ok(uuid) = uuid::Uuid::parse_str(id) else {
        return Ok(()); // validate() refused it already
    };
    let visible = match kind {
        "issue" => crate::db::issues::find(conn, &crate::ids::IssueId::from(uuid))?
            .is_none_or(|issue| super::issues::can_see(caller, &issue)),
        _ => crate::db::inspections::find(conn, &crate::ids::InspectionId::from(uuid))?
            .is_none_or(|inspection| super::inspections::can_see(caller, &inspection)),
    };
    if visible {
        Ok(())
    } else {
        Err(AppError::not_found(kind))
    }
}

/// The caller's own upload, or 404 (another person's upload looks like no upload).
pub fn find_own(
    conn: &mut DbConnection,
    caller: &Caller,
    id: &UploadId,
) -> Result<UploadRow, AppError> {
    match q::find_upload(conn, id)? {
        Some(row) if row.user_id == caller.user_id && row.expires_at > super::now() => Ok(row),
        _ => Err(AppError::not_found("upload")),
    }
}

/// The staging file of an upload (partial bytes), under the shared data directory.
pub fn staging_path(staging_dir: &Path, id: &UploadId) -> PathBuf {
    staging_dir.join(format!("{id}.part"))
}

/// Deletes an upload and its partial bytes (tus termination, or a refused photo).
pub fn remove(conn: &mut DbConnection, staging_dir: &Path, id: &UploadId) -> Result<(), AppError> {
    remove_staging(staging_dir, id);
    q::delete_upload(conn, id)?;
    Ok(())
}

fn remove_staging(staging_dir: &Path, id: &UploadId) {
    match std::fs::remove_file(staging_path(staging_dir, id)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(upload = %id, error = %e, "could not delete a staging file"),
    }
}

/// Deletes expired uploads (abandoned ones with their partial bytes, and the rows of finished
/// ones). Safe on several replicas at once: deleting what another already deleted is a no-op.
pub fn cleanup_expired(conn: &mut DbConnection, staging_dir: &Path) -> Result<usize, AppError> {
    let mut removed = 0;
    loop {
        let batch = q::expired_uploads(conn, super::now(), 500)?;
        if batch.is_empty() {
            return Ok(removed);
        }
        for id in &batch {
            remove_staging(staging_dir, id);
            removed += q::delete_upload(conn, id)?;
        }
        if batch.len() < 500 {
            return Ok(removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_pairs_decode() {
        let m = parse_metadata(
            "filename d29ybGRfZG9taW5hdGlvbl9wbGFuLnBkZg==,is_confidential, purpose YWZ0ZXI=",
        )
        .unwrap();
        assert_eq!(m["filename"], "world_domination_plan.pdf");
        assert_eq!(m["is_confidential"], "");
        assert_eq!(m["purpose"], "after");
        assert!(parse_metadata("filename !!!").is_err());
    }

    #[test]
    fn closeout_keys_are_checked() {
        let mut m = BTreeMap::new();
        m.insert("sha256".to_owned(), "AB".repeat(32));
        m.insert("purpose".to_owned(), "after".to_owned());
        let d = validate(m.clone()).unwrap();
        assert_eq!(d.sha256, "ab".repeat(32));
        m.insert("owner_kind".to_owned(), "issue".to_owned());
        assert!(validate(m.clone()).is_err(), "owner_id missing");
        m.insert(
            "owner_id".to_owned(),
            "0193A0B2-7C4D-7000-8000-000000000001".to_owned(),
        );
        assert_eq!(
            validate(m.clone()).unwrap().owner_id.as_deref(),
            Some("0193a0b2-7c4d-7000-8000-000000000001")
        );
        m.insert("purpose".to_owned(), "selfie".to_owned());
        assert!(validate(m).is_err());
    }
}
