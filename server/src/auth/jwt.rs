//! Access tokens: short-lived HS256 JWTs naming the user and the device. Roles are not in the token;
//! they are read on every request, so a revoked role takes effect at once.
//!
//! Verification tells apart what went wrong, each with its own error code: a token that is not a
//! JWT, one with another algorithm (`none` included), one signed with a key we do not have, one
//! whose signature does not match (tampered), and one that has expired.

use crate::error::{AppError, ErrorCode};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

const ISSUER: &str = "closeout";
/// File in the data directory holding the generated secret when none is configured.
pub const KEY_FILE: &str = "jwt-signing.key";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    /// The device the session belongs to.
    pub did: String,
    /// The session (refresh-token family) the token was issued for.
    pub sid: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
}

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    photo_links: super::photo_links::PhotoLinkKey,
}

impl JwtKeys {
    pub fn from_secret(secret: &[u8]) -> Self {
        let kid = hex::encode(&Sha256::digest(secret)[..8]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            kid,
            photo_links: super::photo_links::PhotoLinkKey::derive(secret),
        }
    }

    /// The configured secret, else the one kept in `data_dir` (generated on first start).
    pub fn load_or_create(
        configured: Option<&SecretString>,
        data_dir: &Path,
    ) -> anyhow::Result<Self> {
        if let Some(secret) = configured {
            anyhow::ensure!(
                secret.expose_secret().len() >= 32,
                "auth.jwt_secret must be at least 32 characters"
            );
            return Ok(Self::from_secret(secret.expose_secret().as_bytes()));
        }
        let path = data_dir.join(KEY_FILE);
        if path.exists() {
            let secret = std::fs::read_to_string(&path)?;
            let secret = secret.trim();
            anyhow::ensure!(secret.len() >= 32, "{} is too short", path.display());
            return Ok(Self::from_secret(secret.as_bytes()));
        }
        std::fs::create_dir_all(data_dir)?;
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let secret = hex::encode(bytes);
        write_private(&path, &secret)?;
        tracing::info!(path = %path.display(), "generated a new token signing key");
        Ok(Self::from_secret(secret.as_bytes()))
    }

    /// The key of signed photo URLs, derived from this secret.
    pub fn photo_links(&self) -> &super::photo_links::PhotoLinkKey {
        &self.photo_links
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn issue(
        &self,
        session: SessionRef<'_>,
        now: i64,
        ttl_secs: i64,
    ) -> anyhow::Result<String> {
        let claims = Claims {
            sub: session.user_id.to_owned(),
            did: session.device_id.to_owned(),
            sid: session.session_id.to_owned(),
            iat: now,
            exp: now + ttl_secs,
            iss: ISSUER.to_owned(),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        Ok(jsonwebtoken::encode(&header, &claims, &self.encoding)?)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, AppError> {
        let header = peek_header(token)?;
        if header.alg != "HS256" {
            return Err(AppError::new(
                ErrorCode::TokenAlgorithmNotAllowed,
                format!(
                    "algorithm `{}` is not accepted; tokens are HS256",
                    header.alg
                ),
            ));
        }
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(AppError::new(
                ErrorCode::TokenUnknownKey,
                "the token was not signed with this server's key",
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 30;
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => AppError::new(
                    ErrorCode::TokenExpired,
                    "the access token has expired; refresh it",
                ),
                ErrorKind::InvalidSignature => AppError::new(
                    ErrorCode::TokenSignatureInvalid,
                    "the token's signature does not match its content",
                ),
                _ => AppError::new(
                    ErrorCode::TokenMalformed,
                    format!("the token is not valid: {e}"),
                ),
            })
    }
}

/// Who a token is for: user, device and session (refresh-token family).
#[derive(Debug, Clone, Copy)]
pub struct SessionRef<'a> {
    pub user_id: &'a str,
    pub device_id: &'a str,
    pub session_id: &'a str,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
}

/// Reads the header without trusting it, so that `alg: none` is named as such rather than failing
/// as an unknown algorithm deep inside the JWT library.
fn peek_header(token: &str) -> Result<RawHeader, AppError> {
    let malformed = || {
        AppError::new(
            ErrorCode::TokenMalformed,
            "the token is not a JWT (header.payload.signature)",
        )
    };
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| malformed())?;
    serde_json::from_slice(&bytes).map_err(|_| malformed())
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: SessionRef<'static> = SessionRef {
        user_id: "u1",
        device_id: "phone-1",
        session_id: "s1",
    };

    fn keys() -> JwtKeys {
        JwtKeys::from_secret(b"0123456789abcdef0123456789abcdef")
    }

    #[test]
    fn issued_token_verifies() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let t = k.issue(S, now, 60).unwrap();
        let c = k.verify(&t).unwrap();
        assert_eq!((c.sub.as_str(), c.did.as_str()), ("u1", "phone-1"));
    }

    #[test]
    fn each_kind_of_bad_token_has_its_own_code() {
        let k = keys();
        let now = chrono::Utc::now().timestamp();
        let expired = k.issue(S, now - 3600, 60).unwrap();
        assert_eq!(
            k.verify(&expired).unwrap_err().code,
            ErrorCode::TokenExpired
        );
        assert_eq!(k.verify("abc").unwrap_err().code, ErrorCode::TokenMalformed);
        let good = k.issue(S, now, 60).unwrap();
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD.encode(
            br#"{"sub":"admin","did":"d","sid":"s1","iat":0,"exp":9999999999,"iss":"closeout"}"#,
        );
        assert_eq!(
            k.verify(&parts.join(".")).unwrap_err().code,
            ErrorCode::TokenSignatureInvalid
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            parts[1]
        );
        assert_eq!(
            k.verify(&none).unwrap_err().code,
            ErrorCode::TokenAlgorithmNotAllowed
        );
        let other = JwtKeys::from_secret(b"another secret that is long enough!!");
        let foreign = other.issue(S, now, 60).unwrap();
        assert_eq!(
            k.verify(&foreign).unwrap_err().code,
            ErrorCode::TokenUnknownKey
        );
    }

    #[test]
    fn generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let a = JwtKeys::load_or_create(None, dir.path()).unwrap();
        let b = JwtKeys::load_or_create(None, dir.path()).unwrap();
        assert_eq!(a.kid(), b.kid());
        let t = a.issue(S, chrono::Utc::now().timestamp(), 60).unwrap();
        assert!(b.verify(&t).is_ok());
    }
}
