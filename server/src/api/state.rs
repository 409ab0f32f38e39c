//! What every handler can reach: the pool, keys, limits and metrics, built once at start-up.

use crate::auth::jwt::JwtKeys;
use crate::auth::password::PasswordPolicy;
use crate::auth::rate_limit::LoginLimiter;
use crate::db::Db;
use crate::domain::issues::Clock;
use crate::domain::photos::Photos;
use crate::domain::sessions::SessionPolicy;
use crate::settings::Settings;
use crate::telemetry::Metrics;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub keys: Arc<JwtKeys>,
    pub login_limiter: Arc<LoginLimiter>,
    pub metrics: Arc<Metrics>,
    /// Verified against when a login names an unknown user (equal timing).
    pub decoy_hash: Arc<String>,
    /// Photo storage, upload staging and processing limits.
    pub photos: Photos,
}

impl AppState {
    pub fn password_policy(&self) -> PasswordPolicy {
        password_policy(&self.settings)
    }

    /// Now, and today in the offices' time zone.
    pub fn clock(&self) -> Clock {
        self.settings.clock()
    }

    /// The evidence thresholds and the close-out policy.
    pub fn evidence(&self) -> crate::domain::evidence::EvidencePolicy {
        crate::domain::evidence::EvidencePolicy::from_settings(&self.settings)
    }

    pub fn session_policy(&self) -> SessionPolicy {
        SessionPolicy {
            access_ttl_secs: self.settings.auth.access_ttl_secs,
            refresh_ttl_days: self.settings.auth.refresh_ttl_days,
        }
    }
}

pub fn password_policy(settings: &Settings) -> PasswordPolicy {
    PasswordPolicy {
        memory_kib: settings.auth.argon2_memory_kib,
        iterations: settings.auth.argon2_iterations,
    }
}
