//! Cross-site request forgery protection for the console's forms. Every form carries a `csrf`
//! field; after login it must equal the token stored with the session (synchronizer token), on the
//! login form itself it must equal the login cookie (double submit). SameSite=Strict cookies are
//! a second wall, not the only one. The JSON API is bearer-only, so it needs none of this.

use super::errors::ConsoleError;

/// The form field every console form carries.
pub const FIELD: &str = "csrf";

/// A new random token (256 bits, hex).
pub fn generate() -> String {
    crate::auth::refresh::generate()
}

/// Equal, compared in time that does not depend on where they differ. An empty expected token
/// never matches.
pub fn matches(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    if a.is_empty() || a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Ok when the presented token is the expected one; a 403 page otherwise.
pub fn check(expected: &str, presented: Option<&str>) -> Result<(), ConsoleError> {
    match presented {
        Some(p) if matches(expected, p) => Ok(()),
        _ => Err(ConsoleError::Csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_token_matches() {
        let t = generate();
        assert_eq!(t.len(), 64);
        assert!(matches(&t, &t.clone()));
    }

    #[test]
    fn different_or_missing_tokens_do_not_match() {
        let t = generate();
        assert!(!matches(&t, &generate()));
        assert!(!matches(&t, ""));
        assert!(!matches(&t, &t[..63]));
        assert!(!matches("", ""));
        assert!(check(&t, None).is_err());
        assert!(check(&t, Some("x")).is_err());
        assert!(check(&t, Some(&t)).is_ok());
    }

    #[test]
    fn tokens_are_random() {
        assert_ne!(generate(), generate());
    }
}
