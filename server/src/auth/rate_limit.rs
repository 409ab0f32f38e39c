//! Login rate limits per username and per client IP (GCRA via `governor`). In-process: with several
//! replicas each enforces its own share, which bounds guessing without any shared state.

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

pub struct LoginLimiter {
    per_username: Option<DefaultKeyedRateLimiter<String>>,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

/// Keys kept before stale ones are swept (each is a few dozen bytes).
const SWEEP_ABOVE: usize = 10_000;

impl LoginLimiter {
    /// Zero disables a limit.
    pub fn new(per_username_per_minute: u32, per_ip_per_minute: u32) -> Self {
        let quota = |n: u32| NonZeroU32::new(n).map(Quota::per_minute);
        Self {
            per_username: quota(per_username_per_minute).map(RateLimiter::keyed),
            per_ip: quota(per_ip_per_minute).map(RateLimiter::keyed),
        }
    }

    /// Ok, or how long to wait before the next attempt is allowed.
    pub fn check(&self, username: &str, ip: Option<IpAddr>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            if limiter.len() > SWEEP_ABOVE {
                limiter.retain_recent();
            }
            limiter
                .check_key(&ip)
                .map_err(|not_until| not_until.wait_time_from(now))?;
        }
        if let Some(limiter) = &self.per_username {
            if limiter.len() > SWEEP_ABOVE {
                limiter.retain_recent();
            }
            let key = username.trim().to_lowercase();
            limiter
                .check_key(&key)
                .map_err(|not_until| not_until.wait_time_from(now))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn username_limit_applies_across_ips_and_other_users_are_unaffected() {
        let limiter = LoginLimiter::new(3, 0);
        let ip = |n| Some(IpAddr::from([10, 0, 0, n]));
        for n in 0..3 {
            assert!(limiter.check("wang", ip(n)).is_ok());
        }
        assert!(limiter.check("wang", ip(9)).is_err());
        assert!(
            limiter.check("WANG ", ip(9)).is_err(),
            "case and spaces do not dodge the limit"
        );
        assert!(limiter.check("li", ip(9)).is_ok());
    }

    #[test]
    fn ip_limit_applies_across_usernames() {
        let limiter = LoginLimiter::new(0, 2);
        let ip = Some(IpAddr::from([10, 0, 0, 1]));
        assert!(limiter.check("a", ip).is_ok());
        assert!(limiter.check("b", ip).is_ok());
        let wait = limiter.check("c", ip).unwrap_err();
        assert!(wait > Duration::ZERO);
    }
}
