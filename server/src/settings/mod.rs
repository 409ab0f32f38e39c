//! Configuration, layered: built-in defaults → an optional TOML file → `CLOSEOUT_*` environment
//! variables (`CLOSEOUT_LISTEN`, `CLOSEOUT_AUTH__ACCESS_TTL_SECS`: a double underscore nests).
//! The resulting [`Settings`] is passed into the application; nothing reads configuration globally.

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub listen: String,
    /// Where the SQLite file, the signing key and local photos live.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; a path (or `sqlite://path`) for SQLite. Unset: SQLite in `data_dir`.
    pub database_url: Option<SecretString>,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub http: HttpSettings,
    pub log: LogSettings,
    pub photos: PhotoSettings,
    pub ledger: LedgerSettings,
    pub evidence: EvidenceSettings,
    pub sync: SyncSettings,
    pub documents: DocumentSettings,
    pub lights: LightSettings,
    pub console: ConsoleSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseSettings {
    pub pool_size: u32,
    /// How long SQLite waits for a lock before giving up.
    pub busy_timeout_ms: u32,
    /// How long a request waits for a free connection.
    pub acquire_timeout_ms: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 signing secret for access tokens. Unset: generated once and kept in `data_dir`.
    /// Several replicas must share it (set it here or share the key file).
    pub jwt_secret: Option<SecretString>,
    pub access_ttl_secs: i64,
    /// Refresh tokens live this long after their last use: a phone offline for a month still refreshes.
    pub refresh_ttl_days: i64,
    /// Login attempts allowed per username per minute (0: no limit).
    pub login_per_username_per_minute: u32,
    /// Login attempts allowed per client IP per minute (0: no limit).
    pub login_per_ip_per_minute: u32,
    /// argon2id memory cost in KiB (OWASP: 19456) and passes.
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Largest JSON body accepted, in bytes.
    pub json_limit_bytes: usize,
    /// Worker threads (unset: one per core).
    pub workers: Option<usize>,
    /// Seconds in-flight requests get to finish on SIGTERM/SIGINT.
    pub shutdown_timeout_secs: u64,
}

/// Thresholds of the photo evidence checks (docs/photos.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EvidenceSettings {
    pub max_distance_m: f64,
    pub before_report_hours: i64,
    pub clock_hours: i64,
    /// Flags on a submission's after-photos that block `approve` unless the supervisor gives an
    /// `override_reason` (any of `closeout_sync_protocol::evidence::FLAGS` but `pending`, which
    /// always blocks).
    pub block_approve: Vec<String>,
    /// Perceptual hashes at most this many bits apart (of 64) are the same picture for `reused`
    /// and `before_equals_after` (chosen from measured rates, docs/photos.md). At most 15.
    pub near_duplicate_bits: u32,
}

impl EvidenceSettings {
    /// `block_approve` as a set; unknown names (and `pending`, which always blocks) refused.
    pub fn blocking(&self) -> anyhow::Result<closeout_sync_protocol::evidence::FlagSet> {
        use closeout_sync_protocol::evidence::{FLAGS, FlagSet};
        let refuse = |flag: &str| {
            anyhow::anyhow!(
                "evidence.block_approve: unknown flag `{flag}` (known: {})",
                FLAGS[1..].join(", ")
            )
        };
        if let Some(p) = self.block_approve.iter().find(|f| *f == "pending") {
            return Err(refuse(p));
        }
        FlagSet::from_names(&self.block_approve).map_err(|f| refuse(&f))
    }
}

impl Default for EvidenceSettings {
    fn default() -> Self {
        Self {
            max_distance_m: 200.0,
            before_report_hours: 72,
            clock_hours: 48,
            block_approve: closeout_sync_protocol::evidence::DEFAULT_BLOCKING
                .iter()
                .map(|f| (*f).to_owned())
                .collect(),
            near_duplicate_bits: NEAR_DUPLICATE_BITS,
        }
    }
}

/// Default of `evidence.near_duplicate_bits` (docs/photos.md says how it was chosen).
pub const NEAR_DUPLICATE_BITS: u32 = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerSettings {
    /// The offices' time zone, an IANA name (default `Asia/Shanghai`): decides what "today" is
    /// for deadlines and ledger years, and every date a person reads (pages, exports, captions).
    pub time_zone: crate::zone::OfficeZone,
    /// Older configurations: a fixed offset from UTC in hours. When set it wins over
    /// `time_zone` (and knows no daylight saving); leave unset.
    pub utc_offset_hours: Option<i32>,
    /// Days overdue at which an issue reaches 催办, 通报, 约谈 and 问责 (ascending).
    pub escalation_days: Vec<i64>,
    /// How often the escalation scheduler runs, in seconds (0: never).
    pub escalation_interval_secs: u64,
}

impl LedgerSettings {
    /// The offices' zone: `utc_offset_hours` if an older configuration sets it, else `time_zone`.
    pub fn zone(&self) -> crate::zone::OfficeZone {
        self.utc_offset_hours
            .map_or(self.time_zone, crate::zone::OfficeZone::from)
    }
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self {
            time_zone: crate::zone::OfficeZone::default(),
            utc_offset_hours: None,
            escalation_days: vec![1, 7, 15, 30],
            escalation_interval_secs: 300,
        }
    }
}

/// Limits of `POST /sync/push` (docs/sync-protocol.md, "Limits and retries").
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncSettings {
    /// How far a mutation's `seq` may run ahead of the device's acknowledged sequence number;
    /// further is `rejected` with `sequence_gap_too_large` (it would be held behind a gap no phone
    /// makes by losing batches).
    pub max_sequence_gap: u64,
    /// How often a push is run again, whole, after losing a write race (PostgreSQL: a
    /// serialization failure, deadlock or unique-key race) before the client gets a 503.
    pub write_race_attempts: u32,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            max_sequence_gap: 10_000,
            write_race_attempts: 8,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogSettings {
    /// `pretty` for people, `json` for log collectors.
    pub format: LogFormat,
    /// A tracing filter, e.g. `info,closeout=debug`. `RUST_LOG` wins when set.
    pub filter: String,
    /// Log lines held in memory while the sink (stderr: a file, a pipe, a journal) is slow or
    /// blocked; past this, lines are dropped and counted (`closeout_log_lines_dropped_total`)
    /// rather than making a request wait.
    pub buffer_lines: usize,
}

/// Photo uploads (tus), their processing and where the bytes live. See docs/photos.md.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhotoSettings {
    /// Where photo bytes and thumbnails are kept (content-addressed by SHA-256).
    pub storage: PhotoStorage,
    /// The largest photo accepted, in bytes (`Tus-Max-Size`).
    pub max_bytes: u64,
    /// The most pixels (width × height, read from the header before decoding) a photo may have.
    pub max_pixels: u64,
    /// Bytes a person may have in unfinished uploads at once (declared lengths added up).
    pub user_quota_bytes: u64,
    /// An unfinished upload is abandoned, and its partial bytes deleted, this long after creation.
    pub upload_expiry_secs: i64,
    /// How often the clean-up of abandoned uploads runs (0: never, e.g. in tests).
    pub cleanup_interval_secs: u64,
    /// Long-edge sizes of the thumbnails made for every photo, in pixels.
    pub thumbnail_sizes: Vec<u32>,
    /// Photos processed at once (decoding is CPU- and memory-heavy); unset: one per core.
    pub processing_concurrency: Option<usize>,
    /// A tus request body that brings no byte for this long ends: the bytes that arrived are kept,
    /// the upload is free to resume (a phone that lost signal sends neither FIN nor RST).
    pub upload_body_timeout_ms: u64,
    /// Pixels (width × height from each header, summed) decoded at once across all photos:
    /// decodes wait until their pixels fit; a photo larger than the whole budget is stored
    /// without thumbnails (flag `too_large_to_preview`). 64000000 ≈ 256 MiB of pixel buffers.
    pub decode_pixel_budget: u64,
    /// How long a signed photo URL (printed notice, album) opens its photo; at most 3600.
    pub signed_url_ttl_secs: i64,
}

/// `local` (a directory, default `data_dir/photos`) or `s3` (any S3-compatible server).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "backend", rename_all = "snake_case", deny_unknown_fields)]
pub enum PhotoStorage {
    Local {
        /// Unset: `data_dir/photos`.
        #[serde(default)]
        path: Option<PathBuf>,
    },
    S3 {
        /// e.g. `https://s3.cn-north-1.amazonaws.com.cn` or `http://127.0.0.1:9000`.
        endpoint: String,
        bucket: String,
        #[serde(default = "default_region")]
        region: String,
        access_key_id: SecretString,
        secret_access_key: SecretString,
        /// Needed for plain-http endpoints (a server on the same host).
        #[serde(default)]
        allow_http: bool,
        /// `bucket.host` addressing instead of `host/bucket`.
        #[serde(default)]
        virtual_hosted_style: bool,
    },
}

fn default_region() -> String {
    "us-east-1".into()
}

impl Default for PhotoSettings {
    fn default() -> Self {
        Self {
            storage: PhotoStorage::Local { path: None },
            max_bytes: 30 * 1024 * 1024,
            max_pixels: 64_000_000,
            user_quota_bytes: 500 * 1024 * 1024,
            upload_expiry_secs: 7 * 24 * 3600,
            cleanup_interval_secs: 3600,
            thumbnail_sizes: vec![256, 1280],
            processing_concurrency: None,
            upload_body_timeout_ms: 30_000,
            decode_pixel_budget: 64_000_000,
            signed_url_ttl_secs: 3600,
        }
    }
}

impl PhotoSettings {
    /// Where partial uploads are staged: under `data_dir`, so every replica that shares the data
    /// directory (a shared volume) can resume any upload.
    pub fn staging_dir(data_dir: &Path) -> PathBuf {
        data_dir.join("uploads")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./closeout-data"),
            database_url: None,
            database: DatabaseSettings::default(),
            auth: AuthSettings::default(),
            http: HttpSettings::default(),
            log: LogSettings::default(),
            photos: PhotoSettings::default(),
            ledger: LedgerSettings::default(),
            evidence: EvidenceSettings::default(),
            sync: SyncSettings::default(),
            documents: DocumentSettings::default(),
            lights: LightSettings::default(),
            console: ConsoleSettings::default(),
        }
    }
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        Self {
            pool_size: 8,
            busy_timeout_ms: 5_000,
            acquire_timeout_ms: 5_000,
        }
    }
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: None,
            access_ttl_secs: 15 * 60,
            refresh_ttl_days: 90,
            login_per_username_per_minute: 10,
            login_per_ip_per_minute: 120,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
        }
    }
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            json_limit_bytes: 1024 * 1024,
            workers: None,
            shutdown_timeout_secs: 30,
        }
    }
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            format: LogFormat::Pretty,
            filter: "info".into(),
            buffer_lines: 10_000,
        }
    }
}

/// Kubernetes (and Docker links) set these for a Service named `closeout` in every pod:
/// `CLOSEOUT_PORT=tcp://10.0.0.7:8080`, `CLOSEOUT_PORT_8080_TCP{,_PROTO,_PORT,_ADDR}`,
/// `CLOSEOUT_SERVICE_HOST`, `CLOSEOUT_SERVICE_PORT{,_<name>}`. They are not settings; any other
/// unknown `CLOSEOUT_*` still stops the server. `key` is lowercase, without the prefix.
fn is_service_link(key: &str) -> bool {
    let link_value = |name: &str| {
        std::env::var(format!("CLOSEOUT_{}", name.to_ascii_uppercase())).is_ok_and(|v| {
            ["tcp://", "udp://", "sctp://"]
                .iter()
                .any(|p| v.starts_with(p))
        })
    };
    let port_protocol = key.strip_prefix("port_").is_some_and(|rest| {
        let mut parts = rest.split('_');
        parts.next().is_some_and(|n| n.parse::<u16>().is_ok())
            && parts
                .next()
                .is_some_and(|p| matches!(p, "tcp" | "udp" | "sctp"))
    });
    (key == "port" && link_value(key))
        || port_protocol
        || key == "service_host"
        || key == "service_port"
        || key.starts_with("service_port_")
}

impl Settings {
    /// Defaults, then `file` (or `./closeout.toml` if it exists), then `CLOSEOUT_*` variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let mut figment = Figment::new();
        match file {
            Some(path) => {
                anyhow::ensure!(
                    path.exists(),
                    "configuration file {} not found",
                    path.display()
                );
                figment = figment.merge(Toml::file(path));
            }
            None => figment = figment.merge(Toml::file("closeout.toml")),
        }
        // CLOSEOUT_CONFIG names the file; CLOSEOUT_TEST_* belong to the test harness.
        let env = Env::prefixed("CLOSEOUT_")
            .filter(|key| {
                let key = key.as_str().to_ascii_lowercase();
                key != "config" && !key.starts_with("test_") && !is_service_link(&key)
            })
            .split("__");
        figment = figment.merge(env);
        let settings: Self = figment.extract()?;
        settings.check()?;
        Ok(settings)
    }

    /// Values that parse but make no sense.
    fn check(&self) -> anyhow::Result<()> {
        self.evidence.blocking()?;
        if self.evidence.near_duplicate_bits > 15 {
            anyhow::bail!("evidence.near_duplicate_bits: at most 15 (of 64 bits)");
        }
        if let Some(h) = self.ledger.utc_offset_hours
            && !(-23..=23).contains(&h)
        {
            anyhow::bail!(
                "ledger.utc_offset_hours: {h} is not an offset (-23..=23); prefer ledger.time_zone"
            );
        }
        self.lights.check()?;
        self.console.check()?;
        Ok(())
    }

    /// Now, today in the offices' time zone, and the office's light thresholds.
    pub fn clock(&self) -> crate::domain::issues::Clock {
        crate::domain::issues::Clock::system(self.ledger.zone()).with_lights(self.lights.policy())
    }

    /// The database to use: `database_url` if set, else `closeout.db` inside `data_dir`.
    pub fn database_target(&self) -> DatabaseTarget {
        match &self.database_url {
            Some(url) => DatabaseTarget::from_url(url.expose_secret()),
            None => DatabaseTarget::Sqlite(self.data_dir.join("closeout.db")),
        }
    }
}

/// Which backend, chosen by the URL scheme (SQLite would accept any string as a file name, so the
/// scheme decides, never a connection attempt).
#[derive(Clone)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(SecretString),
}

impl DatabaseTarget {
    pub fn from_url(url: &str) -> Self {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(SecretString::from(url.to_owned()))
        } else {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            Self::Sqlite(PathBuf::from(path))
        }
    }

    /// For logs: the backend and, for PostgreSQL, the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite {}", path.display()),
            Self::Postgres(url) => format!("postgres {}", redact_password(url.expose_secret())),
        }
    }
}

impl std::fmt::Debug for DatabaseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((userinfo, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match userinfo.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => url.to_owned(),
    }
}

mod console;
mod documents;
mod lights;
#[cfg(test)]
mod tests;

pub use console::{ConsoleSettings, TileCrs};
pub use documents::DocumentSettings;
pub use lights::{LightSettings, SheetStyle};
