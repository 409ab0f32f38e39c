//! The body of a tus request: bytes stream from the request to the upload's staging file, and
//! the new offset is committed however the request ends — whole, cut by the client (FIN or RST),
//! or silent for longer than the body timeout — so the next attempt resumes from there and the
//! upload is never left locked. A request that carried `Upload-Checksum` counts whole or not at
//! all: its digest covers the whole body, so a part of it cannot be verified.

use super::UploadPolicy;
use crate::db::Db;
use crate::db::photos::{self as q, UploadRow};
use crate::error::{AppError, ErrorCode};
use base64::Engine;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use std::io::SeekFrom;
use std::path::Path;
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

/// What `Tus-Checksum-Algorithm` advertises.
pub const CHECKSUM_ALGORITHMS: &str = "sha1,md5,sha256";
/// Write buffer between the request body and the staging file.
const WRITE_BUFFER: usize = 256 * 1024;

/// The checksum algorithms of the tus checksum extension that Closeout accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlgorithm {
    Sha1,
    Md5,
    Sha256,
}

impl ChecksumAlgorithm {
    fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "sha1" => Some(Self::Sha1),
            "md5" => Some(Self::Md5),
            "sha256" => Some(Self::Sha256),
            _ => None,
        }
    }

    fn digest_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Md5 => 16,
            Self::Sha256 => 32,
        }
    }

    fn hasher(self) -> Hasher {
        match self {
            Self::Sha1 => Hasher::Sha1(<sha1::Sha1 as sha1::Digest>::new()),
            Self::Md5 => Hasher::Md5(<md5::Md5 as md5::Digest>::new()),
            Self::Sha256 => Hasher::Sha256(<sha2::Sha256 as sha2::Digest>::new()),
        }
    }
}

/// `Upload-Checksum: <algorithm> <base64 digest>`: the digest of one request's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: ChecksumAlgorithm,
    pub digest: Vec<u8>,
}

impl Checksum {
    pub fn parse(value: &str) -> Result<Self, AppError> {
        let value = value.trim();
        let (name, digest) = value.split_once(' ').unwrap_or((value, ""));
        let algorithm = ChecksumAlgorithm::parse(name).ok_or_else(|| {
            AppError::new(
                ErrorCode::ChecksumAlgorithmUnsupported,
                format!(
                    "checksum algorithm `{name}` is not supported; use one of {CHECKSUM_ALGORITHMS}"
                ),
            )
            .zh(format!(
                "不支持校验算法 `{name}`，请使用 {CHECKSUM_ALGORITHMS} 之一"
            ))
        })?;
        let digest = base64::engine::general_purpose::STANDARD
            .decode(digest.trim())
            .map_err(|_| {
                AppError::new(
                    ErrorCode::BadRequest,
                    "Upload-Checksum: the digest is not base64",
                )
                .zh("Upload-Checksum：摘要不是 base64")
            })?;
        if digest.len() != algorithm.digest_len() {
            return Err(AppError::new(
                ErrorCode::BadRequest,
                format!(
                    "Upload-Checksum: a {name} digest is {} bytes",
                    algorithm.digest_len()
                ),
            )
            .zh(format!(
                "Upload-Checksum：{name} 摘要应为 {} 字节",
                algorithm.digest_len()
            )));
        }
        Ok(Self { algorithm, digest })
    }
}

enum Hasher {
    Sha1(sha1::Sha1),
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Sha1(h) => sha1::Digest::update(h, bytes),
            Self::Md5(h) => md5::Digest::update(h, bytes),
            Self::Sha256(h) => sha2::Digest::update(h, bytes),
        }
    }

    fn finalize(self) -> Vec<u8> {
        match self {
            Self::Sha1(h) => sha1::Digest::finalize(h).to_vec(),
            Self::Md5(h) => md5::Digest::finalize(h).to_vec(),
            Self::Sha256(h) => sha2::Digest::finalize(h).to_vec(),
        }
    }
}

/// How a request body ended.
enum Ending {
    /// The client sent all it announced.
    Whole,
    /// The connection closed or reset part-way.
    Cut(String),
    /// No byte for `body_timeout`.
    Silent,
}

/// Streams `body` into the upload's staging file at its offset and commits the new offset; returns
/// it. Bytes beyond the committed offset (left by a request whose commit was lost) are cut first.
/// The caller holds the upload's write lock and has checked the client's `Upload-Offset`.
pub async fn receive<S, E>(
    db: &Db,
    staging: &Path,
    upload: &UploadRow,
    mut body: S,
    checksum: Option<Checksum>,
    policy: UploadPolicy,
) -> Result<i64, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let start = upload.upload_offset;
    let start_u = u64::try_from(start).map_err(AppError::internal)?;
    let remaining = upload.length - start;
    let file = tokio::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(staging)
        .await
        .map_err(AppError::internal)?;
    file.set_len(start_u).await.map_err(AppError::internal)?;
    let mut file = tokio::io::BufWriter::with_capacity(WRITE_BUFFER, file);
    file.seek(SeekFrom::Start(start_u))
        .await
        .map_err(AppError::internal)?;
    let mut hasher = checksum.as_ref().map(|c| c.algorithm.hasher());
    let mut received: i64 = 0;
    let ending = loop {
        let next = match tokio::time::timeout(policy.body_timeout, body.next()).await {
            Ok(next) => next,
            Err(_) => break Ending::Silent,
        };
        let bytes = match next {
            None => break Ending::Whole,
            Some(Err(e)) => break Ending::Cut(e.to_string()),
            Some(Ok(bytes)) => bytes,
        };
        let n = i64::try_from(bytes.len()).map_err(AppError::internal)?;
        if received + n > remaining {
            drop(file);
            truncate(staging, start_u).await;
            return Err(AppError::new(
                ErrorCode::UploadLengthExceeded,
                format!(
                    "the upload is {} bytes; this body goes past it",
                    upload.length
                ),
            ));
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&bytes);
        }
        file.write_all(&bytes).await.map_err(AppError::internal)?;
        received += n;
    };
    file.flush().await.map_err(AppError::internal)?;
    drop(file);
    if let (Some(expected), Some(h)) = (checksum, hasher) {
        let whole = matches!(ending, Ending::Whole);
        if !whole || h.finalize() != expected.digest {
            truncate(staging, start_u).await;
            return Err(AppError::new(
                ErrorCode::ChecksumMismatch,
                "the body does not match Upload-Checksum; its bytes were dropped",
            ));
        }
    }
    let end = start + received;
    if received > 0 {
        let id = upload.id.clone();
        let moved = db
            .run(move |conn| Ok(q::advance_offset(conn, &id, start, end)?))
            .await?;
        if !moved {
            return Err(AppError::new(
                ErrorCode::UploadOffsetMismatch,
                "another request wrote to this upload at the same time; ask HEAD for the offset",
            ));
        }
    }
    match ending {
        Ending::Whole => Ok(end),
        Ending::Cut(e) => Err(AppError::new(
            ErrorCode::BadRequest,
            format!("the body ended early ({e}); {received} bytes were kept, resume from {end}"),
        )),
        Ending::Silent => Err(AppError::new(
            ErrorCode::UploadBodyTimeout,
            format!(
                "no byte arrived for {} ms; {received} bytes were kept, resume from {end}",
                policy.body_timeout.as_millis()
            ),
        )
        .zh(format!(
            "{} 毫秒未收到数据；已保存 {received} 字节，请从 {end} 续传",
            policy.body_timeout.as_millis()
        ))
        .with_extra(serde_json::json!({"offset": end}))),
    }
}

async fn truncate(path: &Path, len: u64) {
    if let Ok(f) = tokio::fs::OpenOptions::new().write(true).open(path).await
        && let Err(e) = f.set_len(len).await
    {
        tracing::warn!(path = %path.display(), error = %e, "could not cut a staging file back");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_headers_name_an_algorithm_and_a_digest_of_its_length() {
        let c = Checksum::parse("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=").unwrap();
        assert_eq!(c.algorithm, ChecksumAlgorithm::Sha1);
        assert_eq!(c.digest.len(), 20);
        let c = Checksum::parse("MD5 XUFAKrxLKna5cZ2REBfFkg==").unwrap();
        assert_eq!(c.algorithm, ChecksumAlgorithm::Md5);
        assert!(Checksum::parse("sha256 XUFAKrxLKna5cZ2REBfFkg==").is_err());
        let e = Checksum::parse("crc32 AAAA").unwrap_err();
        assert_eq!(e.code, ErrorCode::ChecksumAlgorithmUnsupported);
    }

    #[test]
    fn each_algorithm_hashes_as_its_reference() {
        let mut h = ChecksumAlgorithm::Sha1.hasher();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(
            hex::encode(h.finalize()),
            "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed"
        );
        let mut h = ChecksumAlgorithm::Md5.hasher();
        h.update(b"hello world");
        assert_eq!(
            hex::encode(h.finalize()),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
    }
}
