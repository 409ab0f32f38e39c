//! Helpers for the photo tests: where the sample photos and the third-party tools are, a raw tus
//! client over reqwest (for protocol details), the real tus-js-client driven through node, and an
//! S3-compatible server (s3s-fs) on a free port. Missing tools fail loudly, naming the script that
//! installs them: a photo test never skips.

use crate::TestApp;
use base64::Engine;
use reqwest::{Method, StatusCode};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The tus chunk size docs/photos.md recommends for phones on 2G/3G links (256 KiB: about ten
/// seconds on EDGE, two on 3G), so a cut costs at most that much; the weak-link tests use it.
pub const WEAK_LINK_CHUNK: usize = 256 * 1024;

/// A small JPEG of random noise, different every call (so a different SHA-256 and perceptual
/// hash): a photo that no check links to any other. It has no EXIF, which is flagged (`no_exif`)
/// but does not block close-out under the default policy.
pub fn fresh_jpeg() -> Vec<u8> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut state = NEXT.fetch_add(1, Ordering::Relaxed)
        ^ (std::process::id() as u64) << 32
        ^ uuid::Uuid::now_v7().as_u128() as u64;
    let img = image::RgbImage::from_fn(96, 64, |_, _| {
        // xorshift64*: noise is enough; no need for a random crate
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let v = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg)
        .expect("encode a JPEG");
    out.into_inner()
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The sample photos kept in the repository (`tests/fixtures/photos`, see its ATTRIBUTION.md), or
/// `CLOSEOUT_TEST_PHOTOS` when set.
pub fn samples() -> PathBuf {
    let dir = std::env::var_os("CLOSEOUT_TEST_PHOTOS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("tests/fixtures/photos"));
    assert!(
        dir.join("exiftool.json").is_file(),
        "sample photos not found at {} (set CLOSEOUT_TEST_PHOTOS)",
        dir.display()
    );
    dir
}

/// Where `scripts/ensure-test-tools` installed the tools (`CLOSEOUT_TEST_TOOLS`, else
/// `~/.cache/closeout-test-tools`).
pub fn tools_dir() -> PathBuf {
    std::env::var_os("CLOSEOUT_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into()))
                .join(".cache/closeout-test-tools")
        })
}

#[track_caller]
fn require_tool(path: &Path, what: &str) -> PathBuf {
    assert!(
        path.exists(),
        "{what} is not installed at {}: run scripts/ensure-test-tools (scripts/test does)",
        path.display()
    );
    path.to_path_buf()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&hmac_sha256::Hash::hash(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn b64(s: &str) -> String {
    b64_bytes(s.as_bytes())
}

pub fn b64_bytes(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// `Upload-Metadata` for `bytes` with purpose `after` and any `extra` pairs.
pub fn metadata_for(bytes: &[u8], extra: &[(&str, &str)]) -> String {
    let sha = sha256_hex(bytes);
    let mut pairs = vec![
        format!("sha256 {}", b64(&sha)),
        format!("purpose {}", b64("after")),
        format!("filename {}", b64("photo.jpg")),
    ];
    for (k, v) in extra {
        pairs.retain(|p| !p.starts_with(&format!("{k} ")));
        pairs.push(format!("{k} {}", b64(v)));
    }
    pairs.join(",")
}

/// What a raw tus request answered.
#[derive(Debug)]
pub struct TusResponse {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
}

impl TusResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// One raw tus request with `Tus-Resumable: 1.0.0` and the token.
    pub async fn tus(
        &self,
        method: Method,
        path: &str,
        token: &str,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> TusResponse {
        let mut req = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token)
            .header("Tus-Resumable", "1.0.0");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(body) = body {
            req = req
                .header("Content-Type", "application/offset+octet-stream")
                .body(body);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        TusResponse {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
        }
    }

    /// Creates an upload with all of `bytes` in the creation request (creation-with-upload).
    pub async fn upload_bytes(&self, token: &str, bytes: &[u8], metadata: &str) -> TusResponse {
        self.tus(
            Method::POST,
            "/api/v1/uploads",
            token,
            &[
                ("Upload-Length", bytes.len().to_string()),
                ("Upload-Metadata", metadata.to_owned()),
            ],
            Some(bytes.to_vec()),
        )
        .await
    }

    /// Uploads `bytes` and returns the photo's SHA-256; panics unless it becomes a photo.
    pub async fn upload_photo(&self, token: &str, bytes: &[u8]) -> String {
        let res = self
            .upload_bytes(token, bytes, &metadata_for(bytes, &[]))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
        let sha = res.header("Closeout-Photo").unwrap().to_owned();
        assert_eq!(sha, sha256_hex(bytes));
        sha
    }

    /// Uploads `bytes` as a photo of `purpose` (before, after, progress) for an issue; returns its
    /// SHA-256. Panics unless it becomes a photo.
    pub async fn upload_for(
        &self,
        token: &str,
        bytes: &[u8],
        purpose: &str,
        issue: &str,
    ) -> String {
        let metadata = metadata_for(
            bytes,
            &[
                ("purpose", purpose),
                ("owner_kind", "issue"),
                ("owner_id", issue),
            ],
        );
        let res = self.upload_bytes(token, bytes, &metadata).await;
        assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
        sha256_hex(bytes)
    }

    /// Uploads a photo no one has taken before (see [`fresh_jpeg`]) for an issue: evidence that
    /// raises no blocking flag under the default policy.
    pub async fn fresh_photo(&self, token: &str, purpose: &str, issue: &str) -> String {
        self.upload_for(token, &fresh_jpeg(), purpose, issue).await
    }

    /// Uploads `bytes` in PATCHes of `chunk` bytes, as phone clients do; returns the SHA-256.
    pub async fn upload_in_chunks(&self, token: &str, bytes: &[u8], chunk: usize) -> String {
        let res = self
            .tus(
                Method::POST,
                "/api/v1/uploads",
                token,
                &[
                    ("Upload-Length", bytes.len().to_string()),
                    ("Upload-Metadata", metadata_for(bytes, &[])),
                ],
                None,
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{:?}", res.body);
        let location = res.header("Location").unwrap().to_owned();
        let mut photo = None;
        for (i, part) in bytes.chunks(chunk).enumerate() {
            let res = self
                .tus(
                    Method::PATCH,
                    &location,
                    token,
                    &[("Upload-Offset", (i * chunk).to_string())],
                    Some(part.to_vec()),
                )
                .await;
            assert_eq!(res.status, StatusCode::NO_CONTENT, "{:?}", res.body);
            photo = res.header("Closeout-Photo").map(str::to_owned);
        }
        let sha = photo.expect("the last PATCH names the photo");
        assert_eq!(sha, sha256_hex(bytes));
        sha
    }

    /// GET returning status, headers and raw bytes.
    pub async fn get_bytes(
        &self,
        path: &str,
        token: &str,
    ) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
        let res = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        (status, headers, res.bytes().await.unwrap().to_vec())
    }
}

/// One line printed by tests/tus/client.cjs.
pub type TusEvent = serde_json::Value;

/// The tus-js-client driver as a command (node with NODE_PATH set), not yet started.
pub fn tus_js_client(app: &TestApp, token: &str, args: &[&str]) -> Command {
    tus_js_client_at(&app.url("/api/v1/uploads"), token, args)
}

/// The tus-js-client driver against any tus endpoint (e.g. through a proxy), not yet started.
pub fn tus_js_client_at(endpoint: &str, token: &str, args: &[&str]) -> Command {
    let tools = tools_dir();
    let modules = require_tool(
        &tools.join("node/node_modules/tus-js-client"),
        "tus-js-client",
    );
    let mut cmd = Command::new("node");
    cmd.env("NODE_PATH", modules.parent().unwrap())
        .arg(repo_root().join("tests/tus/client.cjs"))
        .arg(endpoint)
        .arg(token)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Runs the tus-js-client driver to the end; returns its events and whether it succeeded.
pub async fn run_tus_js_client(app: &TestApp, token: &str, args: &[&str]) -> (bool, Vec<TusEvent>) {
    run_tus_js_client_at(&app.url("/api/v1/uploads"), token, args).await
}

/// Runs the tus-js-client driver against `endpoint` to the end (see [`run_tus_js_client`]).
pub async fn run_tus_js_client_at(
    endpoint: &str,
    token: &str,
    args: &[&str],
) -> (bool, Vec<TusEvent>) {
    let cmd = tus_js_client_at(endpoint, token, args);
    let output = tokio::process::Command::from(cmd)
        .kill_on_drop(true)
        .output()
        .await
        .expect("node runs");
    let events = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    if !output.status.success() {
        eprintln!(
            "tus-js-client stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    (output.status.success(), events)
}

/// An s3s-fs server on a free port over a temporary directory holding one bucket.
pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    pub data: tempfile::TempDir,
    child: Child,
}

pub const S3_ACCESS_KEY: &str = "closeout-test";
pub const S3_SECRET_KEY: &str = "closeout-test-secret";

impl S3Server {
    pub async fn start() -> Self {
        let bin = require_tool(&tools_dir().join("cargo/bin/s3s-fs"), "s3s-fs");
        let data = tempfile::tempdir().unwrap();
        let bucket = "closeout-photos".to_owned();
        std::fs::create_dir(data.path().join(&bucket)).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", S3_ACCESS_KEY, "--secret-key", S3_SECRET_KEY])
            .arg(data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Owned at once, so the process is killed (and waited for) however this ends.
        let server = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket,
            data,
            child,
        };
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("s3s-fs did not start on port {port}");
    }

    /// Files stored under the bucket (s3s-fs keeps objects as files).
    pub fn object_files(&self) -> Vec<PathBuf> {
        files_under(&self.data.path().join(&self.bucket))
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every regular file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A PNG that declares `width` × `height` RGB pixels (all black) in a few hundred KB: the
/// decompression-bomb shape of issue 14.15 (7999 × 7999 is 192 MB of pixels from ~250 KB).
/// `tag` goes into a `tEXt` chunk so that each call can give different bytes (another SHA-256).
/// Built without compressing the whole picture: the deflate stream repeats one fully flushed
/// block of zero rows, and the Adler-32 of n zero bytes is known (a = 1, b = n mod 65521).
pub fn huge_png(width: u32, height: u32, tag: &str) -> Vec<u8> {
    use flate2::{Compress, Compression, FlushCompress};
    let row = 1 + 3 * width as usize; // filter byte 0 + RGB
    let deflate_rows = |rows: usize| -> Vec<u8> {
        let raw = vec![0u8; row * rows];
        let mut c = Compress::new(Compression::best(), false);
        let mut out = Vec::with_capacity(raw.len() / 100 + 1024);
        c.compress_vec(&raw, &mut out, FlushCompress::Full).unwrap();
        assert_eq!(
            c.total_in() as usize,
            raw.len(),
            "deflate output buffer too small"
        );
        out
    };
    const ROWS: usize = 400;
    let block = deflate_rows(ROWS);
    let mut idat = vec![0x78, 0x01]; // zlib header, no dictionary
    for _ in 0..height as usize / ROWS {
        idat.extend_from_slice(&block);
    }
    if !(height as usize).is_multiple_of(ROWS) {
        idat.extend_from_slice(&deflate_rows(height as usize % ROWS));
    }
    idat.extend_from_slice(&[0x01, 0x00, 0x00, 0xFF, 0xFF]); // final, empty stored block
    let total = (row as u64) * u64::from(height);
    let adler = (((total % 65521) as u32) << 16) | 1;
    idat.extend_from_slice(&adler.to_be_bytes());

    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, no filter method, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    png_chunk(&mut png, b"tEXt", format!("Comment\0{tag}").as_bytes());
    png_chunk(&mut png, b"IDAT", &idat);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = 0xFFFF_FFFFu32;
    for &b in kind.iter().chain(data) {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    out.extend_from_slice(&(!crc).to_be_bytes());
}

/// A stored photo's row with only what the near-duplicate lookup reads set: its SHA-256, its
/// perceptual hash `h` and its uploader (the near-duplicate test and the lookup bench write
/// these straight into the database).
pub fn hashed_photo_row(sha: &str, h: u64, uploaded_by: &str) -> closeout::db::photos::PhotoRow {
    closeout::db::photos::PhotoRow {
        sha256: sha.to_owned(),
        format: "jpeg".into(),
        content_type: "image/jpeg".into(),
        bytes: 1000,
        width: None,
        height: None,
        taken_at: None,
        taken_at_offset: None,
        gps_lat: None,
        gps_lon: None,
        gps_alt: None,
        gps_direction: None,
        make: None,
        model: None,
        orientation: None,
        phash: Some(format!("{h:016x}")),
        flags: "[]".into(),
        thumbnails: "[]".into(),
        uploaded_by: closeout::ids::UserId::from(uuid::Uuid::parse_str(uploaded_by).unwrap()),
        created_at: chrono::NaiveDate::from_ymd_opt(2026, 12, 2)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    }
}
