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
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LedgerSettings {
    /// The offices' time zone as an offset from UTC in hours (China: 8): decides what "today" is
    /// for deadlines and ledger years.
    pub utc_offset_hours: i32,
    /// Days overdue at which an issue reaches 催办, 通报, 约谈 and 问责 (ascending).
    pub escalation_days: Vec<i64>,
    /// How often the escalation scheduler runs, in seconds (0: never).
    pub escalation_interval_secs: u64,
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self {
            utc_offset_hours: 8,
            escalation_days: vec![1, 7, 15, 30],
            escalation_interval_secs: 300,
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
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_picks_the_backend() {
        assert!(matches!(
            DatabaseTarget::from_url("postgres://u@h/db"),
            DatabaseTarget::Postgres(_)
        ));
        assert!(matches!(
            DatabaseTarget::from_url("postgresql://u@h/db"),
            DatabaseTarget::Postgres(_)
        ));
        match DatabaseTarget::from_url("sqlite://data/x.db") {
            DatabaseTarget::Sqlite(p) => assert_eq!(p, PathBuf::from("data/x.db")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn passwords_never_reach_the_log() {
        let target = DatabaseTarget::from_url("postgres://closeout:hunter2@db:5432/closeout");
        assert_eq!(
            target.describe(),
            "postgres postgres://closeout:***@db:5432/closeout"
        );
        let settings = Settings {
            database_url: Some(SecretString::from("postgres://a:hunter2@h/d".to_owned())),
            ..Settings::default()
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's test jail dictates the closure's error type
    fn photo_storage_is_configured_from_the_environment_and_keys_stay_secret() {
        figment::Jail::expect_with(|jail| {
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert!(matches!(
                s.photos.storage,
                PhotoStorage::Local { path: None }
            ));
            assert_eq!(s.photos.thumbnail_sizes, vec![256, 1280]);
            jail.set_env("CLOSEOUT_PHOTOS__STORAGE__BACKEND", "s3");
            jail.set_env(
                "CLOSEOUT_PHOTOS__STORAGE__ENDPOINT",
                "http://127.0.0.1:9000",
            );
            jail.set_env("CLOSEOUT_PHOTOS__STORAGE__BUCKET", "photos");
            jail.set_env("CLOSEOUT_PHOTOS__STORAGE__ACCESS_KEY_ID", "AKIDEXAMPLE");
            jail.set_env(
                "CLOSEOUT_PHOTOS__STORAGE__SECRET_ACCESS_KEY",
                "hunter2-secret",
            );
            jail.set_env("CLOSEOUT_PHOTOS__STORAGE__ALLOW_HTTP", "true");
            jail.set_env("CLOSEOUT_PHOTOS__MAX_BYTES", "1048576");
            jail.set_env("CLOSEOUT_TEST_TOOLS", "/somewhere"); // the test harness's, not ours
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.photos.max_bytes, 1_048_576);
            match &s.photos.storage {
                PhotoStorage::S3 {
                    bucket,
                    region,
                    allow_http,
                    ..
                } => {
                    assert_eq!(bucket, "photos");
                    assert_eq!(region, "us-east-1");
                    assert!(*allow_http);
                }
                other => panic!("{other:?}"),
            }
            let shown = format!("{s:?}");
            assert!(!shown.contains("hunter2") && !shown.contains("AKIDEXAMPLE"));
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's test jail dictates the closure's error type
    fn environment_overrides_file_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "closeout.toml",
                "listen = \"0.0.0.0:9000\"\n[auth]\naccess_ttl_secs = 60\n",
            )?;
            jail.set_env("CLOSEOUT_LISTEN", "127.0.0.1:7000");
            jail.set_env("CLOSEOUT_DATA_DIR", "/srv/closeout");
            jail.set_env("CLOSEOUT_TEST_BACKEND", "postgres"); // the harness's, not ours
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "127.0.0.1:7000");
            assert_eq!(s.auth.access_ttl_secs, 60);
            assert_eq!(s.data_dir, PathBuf::from("/srv/closeout"));
            assert_eq!(s.auth.refresh_ttl_days, 90);
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's test jail dictates the closure's error type
    fn kubernetes_service_links_are_ignored_and_typos_still_refused() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("CLOSEOUT_PORT", "tcp://10.96.0.7:8080");
            jail.set_env("CLOSEOUT_PORT_8080_TCP", "tcp://10.96.0.7:8080");
            jail.set_env("CLOSEOUT_PORT_8080_TCP_PROTO", "tcp");
            jail.set_env("CLOSEOUT_PORT_8080_TCP_PORT", "8080");
            jail.set_env("CLOSEOUT_PORT_8080_TCP_ADDR", "10.96.0.7");
            jail.set_env("CLOSEOUT_SERVICE_HOST", "10.96.0.7");
            jail.set_env("CLOSEOUT_SERVICE_PORT", "8080");
            jail.set_env("CLOSEOUT_SERVICE_PORT_HTTP", "8080");
            jail.set_env("CLOSEOUT_LISTEN", "0.0.0.0:8080");
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "0.0.0.0:8080");
            // Someone meaning the port, not a service link: still refused.
            jail.set_env("CLOSEOUT_PORT", "8080");
            let err = Settings::load(None).err().map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.contains("port")),
                "CLOSEOUT_PORT=8080 accepted"
            );
            jail.set_env("CLOSEOUT_PORT", "tcp://10.96.0.7:8080");
            jail.set_env("CLOSEOUT_LISTNE", "0.0.0.0:8080");
            let err = Settings::load(None).err().map(|e| e.to_string());
            assert!(
                err.is_some_and(|e| e.contains("listne")),
                "a typo was accepted"
            );
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn the_close_out_policy_is_set_by_flag_name_and_typos_are_refused() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "closeout.toml",
                "[evidence]\nblock_approve = [\"no_exif\", \"reused\"]\n",
            )?;
            let s = Settings::load(None).map_err(|e| e.to_string())?;
            assert_eq!(s.evidence.block_approve, ["no_exif", "reused"]);
            jail.create_file(
                "closeout.toml",
                "[evidence]\nblock_approve = [\"far_from_isue\"]\n",
            )?;
            let err = Settings::load(None).err().map(|e| e.to_string());
            assert!(err.is_some_and(|e| e.contains("far_from_isue")));
            jail.create_file(
                "closeout.toml",
                "[evidence]\nblock_approve = [\"pending\"]\n",
            )?;
            assert!(
                Settings::load(None).is_err(),
                "pending always blocks; not a policy"
            );
            Ok(())
        });
    }
}
