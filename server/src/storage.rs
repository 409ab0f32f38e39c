//! Content-addressed photo storage over `object_store`: a local directory by default, any
//! S3-compatible server by configuration. Keys derive from the SHA-256 of the bytes
//! (`photos/ab/cd/abcd…`), so the same bytes are one object however often they are uploaded.

use crate::settings::{PhotoStorage, Settings};
use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{GetResult, ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use secrecy::ExposeSecret;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncReadExt;

/// Parts of a multipart put (S3's minimum part size is 5 MiB).
const PART_BYTES: usize = 8 * 1024 * 1024;

#[derive(Clone)]
pub struct PhotoStore {
    inner: Arc<dyn ObjectStore>,
    /// The directory of the local backend: files are copied into it by the kernel
    /// (copy_file_range), never through memory.
    local_root: Option<PathBuf>,
    describe: String,
}

impl std::fmt::Debug for PhotoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl PhotoStore {
    pub fn from_settings(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.photos.storage {
            PhotoStorage::Local { path } => {
                let dir = path
                    .clone()
                    .unwrap_or_else(|| settings.data_dir.join("photos"));
                std::fs::create_dir_all(&dir)?;
                let store = LocalFileSystem::new_with_prefix(&dir)?;
                Ok(Self {
                    inner: Arc::new(store),
                    describe: format!("local {}", dir.display()),
                    local_root: Some(dir),
                })
            }
            PhotoStorage::S3 {
                endpoint,
                bucket,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
                virtual_hosted_style,
            } => {
                let store = AmazonS3Builder::new()
                    .with_endpoint(endpoint)
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id.expose_secret())
                    .with_secret_access_key(secret_access_key.expose_secret())
                    .with_allow_http(*allow_http)
                    .with_virtual_hosted_style_request(*virtual_hosted_style)
                    .build()?;
                Ok(Self {
                    inner: Arc::new(store),
                    describe: format!("s3 {endpoint}/{bucket}"),
                    local_root: None,
                })
            }
        }
    }

    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// The original bytes of a photo.
    pub fn blob_key(sha256: &str) -> ObjectPath {
        ObjectPath::from(format!(
            "photos/{}/{}/{sha256}",
            &sha256[..2.min(sha256.len())],
            &sha256[2.min(sha256.len())..4.min(sha256.len())]
        ))
    }

    /// A thumbnail (JPEG) of a photo at a long-edge size.
    pub fn thumbnail_key(sha256: &str, size: u32) -> ObjectPath {
        ObjectPath::from(format!(
            "thumbnails/{size}/{}/{sha256}.jpg",
            &sha256[..2.min(sha256.len())]
        ))
    }

    pub async fn exists(&self, key: &ObjectPath) -> object_store::Result<bool> {
        match self.inner.head(key).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn put_bytes(&self, key: &ObjectPath, bytes: Vec<u8>) -> object_store::Result<()> {
        self.inner
            .put(key, PutPayload::from(Bytes::from(bytes)))
            .await
            .map(|_| ())
    }

    /// Copies a local file into the store chunk by chunk: one put when it is small, a multipart
    /// upload otherwise. Never holds more than two parts in memory.
    pub async fn put_file(&self, key: &ObjectPath, file: &Path) -> anyhow::Result<()> {
        if let Some(root) = &self.local_root {
            // Copy beside the target, then rename: readers never see a partial object.
            let target = root.join(key.as_ref());
            if let Some(dir) = target.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            let tmp = target.with_extension(format!("part-{}", uuid::Uuid::new_v4().simple()));
            tokio::fs::copy(file, &tmp).await?;
            if let Err(e) = tokio::fs::rename(&tmp, &target).await {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e.into());
            }
            return Ok(());
        }
        let mut f = tokio::fs::File::open(file).await?;
        let len = f.metadata().await?.len();
        if len <= PART_BYTES as u64 {
            let mut buf = Vec::with_capacity(len as usize);
            f.read_to_end(&mut buf).await?;
            self.put_bytes(key, buf).await?;
            return Ok(());
        }
        let upload = self.inner.put_multipart(key).await?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_BYTES);
        let mut buf = vec![0u8; 1024 * 1024];
        loop {
            let n = match f.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(e.into());
                }
            };
            if n == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(2).await {
                let _ = writer.abort().await;
                return Err(e.into());
            }
            writer.write(&buf[..n]);
        }
        writer.finish().await?;
        Ok(())
    }

    /// The object, to stream to a client; None when it does not exist.
    pub async fn get(&self, key: &ObjectPath) -> object_store::Result<Option<GetResult>> {
        match self.inner.get(key).await {
            Ok(r) => Ok(Some(r)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
}
