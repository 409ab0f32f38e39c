//! argon2id password hashes in PHC string form (parameters travel inside the hash, so raising
//! the cost later still verifies old hashes).

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

#[derive(Debug, Clone, Copy)]
pub struct PasswordPolicy {
    pub memory_kib: u32,
    pub iterations: u32,
}

/// Shortest password accepted; field staff type on phones, so length beats character classes.
pub const MIN_PASSWORD_CHARS: usize = 8;

pub fn hash(password: &str, policy: PasswordPolicy) -> anyhow::Result<String> {
    let params = Params::new(policy.memory_kib, policy.iterations, 1, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    let hasher = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let salt = SaltString::generate(&mut OsRng);
    hasher
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// True when `password` matches `phc_hash`. A malformed stored hash never matches.
pub fn verify(password: &str, phc_hash: &str) -> bool {
    match PasswordHash::new(phc_hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A hash to verify against when the username does not exist, so that the response takes as long
/// as for a wrong password and does not reveal which usernames exist.
pub fn decoy_hash(policy: PasswordPolicy) -> String {
    hash("decoy password never used", policy).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHEAP: PasswordPolicy = PasswordPolicy {
        memory_kib: 256,
        iterations: 1,
    };

    #[test]
    fn right_password_verifies_and_wrong_does_not() {
        let h = hash("correct horse", CHEAP).unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("correct horsf", &h));
        assert!(!verify("correct horse", "not a hash"));
    }

    #[test]
    fn same_password_gets_different_salts() {
        assert_ne!(hash("pw", CHEAP).unwrap(), hash("pw", CHEAP).unwrap());
    }
}
