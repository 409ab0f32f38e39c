//! Refresh-token material: 256 random bits shown to the client once, stored only as SHA-256.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new opaque refresh token (URL-safe, 64 hex characters).
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps: a leaked table does not yield usable tokens.
pub fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
