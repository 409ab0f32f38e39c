//! Short-lived signed photo URLs (issue 14.14). A printed page (the 整改通知书, the before/after
//! album) embeds `<img>` tags, which a browser fetches without the bearer header. The page
//! handler — which has just checked that the caller may see the issue and hence its photos —
//! signs each photo URL instead: `?expires=<unix seconds>&sig=<hex>`, where `sig` is
//! HMAC-SHA-256 over the photo's SHA-256, the size variant (`256`, `1280`, … or `original`) and
//! the expiry, with a key derived from the server's token signing key. Every replica holding that
//! key verifies them; nothing is stored. A link is valid for at most one hour.

use crate::error::{AppError, ErrorCode};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The longest a signed link may live (and `photos.signed_url_ttl_secs`'s ceiling).
pub const MAX_TTL_SECS: i64 = 3600;

/// The variant for the original bytes (thumbnails use their size).
pub const ORIGINAL: &str = "original";

#[derive(Clone)]
pub struct PhotoLinkKey([u8; 32]);

impl PhotoLinkKey {
    /// Derived from the token signing secret, so that the two keys never coincide.
    pub fn derive(secret: &[u8]) -> Self {
        let mut key = [0u8; 32];
        if let Ok(mut mac) = HmacSha256::new_from_slice(secret) {
            mac.update(b"closeout signed photo links v1");
            key.copy_from_slice(&mac.finalize().into_bytes());
        }
        Self(key)
    }

    fn mac(&self, sha256: &str, variant: &str, expires: i64) -> HmacSha256 {
        // HMAC accepts keys of any length; this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!());
        mac.update(format!("{sha256}\n{variant}\n{expires}").as_bytes());
        mac
    }

    /// The query (`expires=…&sig=…`) that opens `variant` of photo `sha256` until `now + ttl`.
    pub fn query(&self, sha256: &str, variant: &str, now: i64, ttl_secs: i64) -> String {
        let expires = now + ttl_secs.clamp(1, MAX_TTL_SECS);
        let sig = hex::encode(self.mac(sha256, variant, expires).finalize().into_bytes());
        format!("expires={expires}&sig={sig}")
    }

    /// Checks a link: the signature first (an altered photo, size or expiry fails it), then the
    /// expiry. A link claiming to live longer than [`MAX_TTL_SECS`] is not one of ours.
    pub fn verify(
        &self,
        sha256: &str,
        variant: &str,
        expires: Option<i64>,
        sig: &str,
        now: i64,
    ) -> Result<(), AppError> {
        let invalid = || {
            AppError::new(
                ErrorCode::PhotoLinkInvalid,
                "this photo link is not valid: it was altered or not signed by this server",
            )
        };
        let expires = expires.ok_or_else(invalid)?;
        let sig = hex::decode(sig).map_err(|_| invalid())?;
        self.mac(sha256, variant, expires)
            .verify_slice(&sig)
            .map_err(|_| invalid())?;
        if expires > now + MAX_TTL_SECS {
            return Err(invalid());
        }
        if expires < now {
            return Err(AppError::new(
                ErrorCode::PhotoLinkExpired,
                "this photo link has expired; reload the page for new links",
            )
            .with_extra(serde_json::json!({"expired_at": expires})));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_opens_its_photo_and_size_until_it_expires_and_nothing_else() {
        let key = PhotoLinkKey::derive(b"0123456789abcdef0123456789abcdef");
        let sha = "ab".repeat(32);
        let q = key.query(&sha, "1280", 1000, 600);
        let (exp, sig) = q.split_once("&sig=").unwrap();
        let exp: i64 = exp.trim_start_matches("expires=").parse().unwrap();
        assert_eq!(exp, 1600);
        assert!(key.verify(&sha, "1280", Some(exp), sig, 1000).is_ok());
        let code = |r: Result<(), AppError>| r.unwrap_err().code;
        assert_eq!(
            code(key.verify(&sha, "1280", Some(exp), sig, 1601)),
            ErrorCode::PhotoLinkExpired
        );
        assert_eq!(
            code(key.verify(&sha, "256", Some(exp), sig, 1000)),
            ErrorCode::PhotoLinkInvalid
        );
        assert_eq!(
            code(key.verify(&sha, ORIGINAL, Some(exp), sig, 1000)),
            ErrorCode::PhotoLinkInvalid
        );
        assert_eq!(
            code(key.verify(&"cd".repeat(32), "1280", Some(exp), sig, 1000)),
            ErrorCode::PhotoLinkInvalid
        );
        assert_eq!(
            code(key.verify(&sha, "1280", Some(exp + 1), sig, 1000)),
            ErrorCode::PhotoLinkInvalid
        );
        assert_eq!(
            code(key.verify(&sha, "1280", None, sig, 1000)),
            ErrorCode::PhotoLinkInvalid
        );
        assert_eq!(
            code(key.verify(&sha, "1280", Some(exp), "zz", 1000)),
            ErrorCode::PhotoLinkInvalid
        );
        let other = PhotoLinkKey::derive(b"another secret that is long enough!!");
        assert_eq!(
            code(other.verify(&sha, "1280", Some(exp), sig, 1000)),
            ErrorCode::PhotoLinkInvalid
        );
        // The ttl is capped at an hour.
        let q = key.query(&sha, "1280", 0, 86_400);
        assert!(q.starts_with("expires=3600&"), "{q}");
    }
}
